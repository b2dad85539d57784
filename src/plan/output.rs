//! How: the output flags, the environment (terminal, NO_COLOR) and the label map
//! resolved into an [`Output`] the printers take as it is.

use super::{UsageError, usage};
use crate::cli::{FlushArgs, OutputArgs, OutputOption};
use crate::labelmap::{CONNLABEL_CONF, LabelMap};
use crate::output::Format;
use crate::output::classic::ClassicOptions;
use crate::output::table::ColorChoice;

/// What ct's surroundings decide, read once per run: whether standard output is a
/// terminal (a table is coloured there, lines are flushed one by one) and NO_COLOR.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Environment {
    pub stdout_is_terminal: bool,
    /// The NO_COLOR variable, if set (no-color.org: present and not empty disables
    /// colour).
    pub no_color: Option<String>,
}

impl Environment {
    /// The environment ct runs in now.
    pub fn current() -> Environment {
        use std::io::IsTerminal;
        Environment {
            stdout_is_terminal: std::io::stdout().is_terminal(),
            no_color: std::env::var("NO_COLOR").ok(),
        }
    }
}

/// How to show what a command prints per entry.
#[derive(Debug)]
pub struct Output {
    pub format: Format,
    /// Standard output is a terminal: each line is flushed as soon as it is written.
    pub line_buffered: bool,
    /// `--quiet`: no summary line.
    pub quiet: bool,
    /// `-o timestamp`: nothing for entries (as in conntrack, which stamps only events
    /// and expectations), the time of printing before each expectation.
    pub timestamp: bool,
    /// Label names to print, when `-o labels` or `-l` asked for them.
    pub labels: LabelSource,
}

/// Whether and where to read label names from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelSource {
    /// Labels are not printed.
    None,
    /// Read the map from this file when the dump starts.
    File(&'static str),
    /// The same, but without a word when the file is missing.
    FileIfPresent(&'static str),
    /// A map already read (for `-l`, which needed it to resolve names).
    Map(LabelMap),
}

impl LabelSource {
    /// For what shows label names whatever the format (`ct top`, a saved dump's
    /// `labels=`): `-l`'s map, else connlabel.conf when it is there.
    pub fn names(label_map: Option<LabelMap>) -> LabelSource {
        match label_map {
            Some(map) => LabelSource::Map(map),
            None => LabelSource::FileIfPresent(CONNLABEL_CONF),
        }
    }
}

impl Output {
    /// The output part; `label_map` is the map `-l` already read, if it did.
    pub fn from_args(
        args: &OutputArgs,
        label_map: Option<LabelMap>,
        env: &Environment,
    ) -> Result<Output, UsageError> {
        let format = format(args, env)?;
        let wants_labels = args.output.contains(&OutputOption::Labels);
        // JSON and the table name labels whenever the map is there (else they show bit
        // numbers); conntrack's formats print labels only when asked, as conntrack does.
        let labels = match label_map {
            Some(map) => LabelSource::Map(map),
            None if wants_labels => LabelSource::File(CONNLABEL_CONF),
            None if matches!(format, Format::Json | Format::Table { .. }) => {
                LabelSource::FileIfPresent(CONNLABEL_CONF)
            }
            None => LabelSource::None,
        };
        Ok(Output {
            format,
            line_buffered: env.stdout_is_terminal,
            quiet: args.quiet,
            timestamp: args.output.contains(&OutputOption::Timestamp),
            labels,
        })
    }
}

/// The one format `-o` names (classic when none), with its modifiers.
fn format(args: &OutputArgs, env: &Environment) -> Result<Format, UsageError> {
    let wants = |option| args.output.contains(&option);
    let formats: Vec<&str> = [
        (OutputOption::Xml, "xml"),
        (OutputOption::Json, "json"),
        (OutputOption::Table, "table"),
        (OutputOption::Save, "save"),
    ]
    .into_iter()
    .filter(|(option, _)| wants(*option))
    .map(|(_, name)| name)
    .collect();
    // Options of one format given with another are refused, never silently ignored.
    if args.columns.is_some() && formats != ["table"] {
        return Err(usage("--columns is for -o table"));
    }
    if args.color.is_some() && formats != ["table"] {
        return Err(usage("--color is for -o table"));
    }
    let modifiers: Vec<&str> = [
        (OutputOption::Extended, "extended"),
        (OutputOption::Id, "id"),
        (OutputOption::Ktimestamp, "ktimestamp"),
        (OutputOption::Labels, "labels"),
        (OutputOption::Timestamp, "timestamp"),
    ]
    .into_iter()
    .filter(|(option, _)| wants(*option))
    .map(|(_, name)| name)
    .collect();
    if let (["save"], [modifier, ..]) = (&formats[..], &modifiers[..]) {
        return Err(usage(format!(
            "-o save cannot be combined with -o {modifier}: its lines are commands for \
             conntrack -R"
        )));
    }
    if let (["json" | "table"], [modifier, ..]) = (&formats[..], &modifiers[..]) {
        return Err(usage(format!(
            "-o {modifier} is a modifier of conntrack's formats (the classic line and xml); \
             -o {} always shows what it has",
            formats[0]
        )));
    }
    match formats[..] {
        [] => Ok(Format::Classic(ClassicOptions {
            extended: wants(OutputOption::Extended),
            id: wants(OutputOption::Id),
            ktimestamp: wants(OutputOption::Ktimestamp),
        })),
        ["xml"] => Ok(Format::Xml {
            ktimestamp: wants(OutputOption::Ktimestamp),
        }),
        ["json"] => Ok(Format::Json),
        ["save"] => Ok(Format::Save),
        ["table"] => Ok(Format::Table {
            columns: args.columns.clone(),
            color: args
                .color
                .unwrap_or(ColorChoice::Auto)
                .resolve(env.stdout_is_terminal, env.no_color.as_deref()),
        }),
        _ => Err(usage(format!(
            "-o names more than one format ({}); choose one",
            formats.join(", ")
        ))),
    }
}

/// `ct flush` prints entries only with `--dry-run` (those it would delete); the flush
/// itself prints none, as `conntrack -F`, which refuses `-o`. So the options that shape
/// entries (`-o`, any format or modifier, `--columns`, `--color`) are refused without
/// `--dry-run` rather than ignored; `--quiet` applies to both.
pub fn check_flush_output(args: &FlushArgs) -> Result<(), UsageError> {
    if args.delete.dry_run {
        return Ok(());
    }
    let output = &args.output;
    let given = if !output.output.is_empty() {
        "-o"
    } else if output.columns.is_some() {
        "--columns"
    } else if output.color.is_some() {
        "--color"
    } else {
        return Ok(());
    };
    Err(usage(format!(
        "{given} shapes the entries --dry-run shows; a flush prints none (it says on \
         stderr that the table was emptied): add --dry-run to see what it would delete, \
         or leave {given} out"
    )))
}
