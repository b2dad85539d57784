//! `ct`: an inspector for the Linux conntrack table.
//!
//! The data takes one path, and each stage is one module:
//! command line ([`cli`]) → resolved plan ([`config`]) → netlink request and dump
//! ([`netlink`], with what the kernel can filter from [`filter::kernel`]) → decoded entry
//! ([`decode`] into the model of [`entry`]) → [`filter`] → printer ([`output`]) → stdout.
//! Kernel numbers live in [`kernel`], label names in [`labelmap`]. This file is the only
//! place the stages meet.

pub mod cli;
pub mod config;
pub mod decode;
pub mod entry;
pub mod filter;
pub mod kernel;
pub mod labelmap;
pub mod netlink;
pub mod output;

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, Command, ManPage};
use crate::config::{Format, LabelSource, ListPlan};
use crate::filter::Filter;
use crate::labelmap::LabelMap;
use crate::netlink::{Conntrack, CtMessage, DumpStats};
use crate::output::Printer;
use crate::output::classic::ClassicPrinter;
use crate::output::json::JsonPrinter;
use crate::output::table::TablePrinter;
use crate::output::xml::XmlPrinter;

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::List(args) => list(&ListPlan::from_args(&args)?),
        Command::Completions { shell } => {
            let mut out = io::stdout().lock();
            clap_complete::generate(shell, &mut Cli::command(), "ct", &mut out);
            out.flush()?;
            Ok(())
        }
        Command::Man { page } => {
            let mut ct = Cli::command();
            ct.build();
            let command = match page {
                None => ct,
                Some(ManPage::List) => ct
                    .find_subcommand("list")
                    .cloned()
                    .expect("ct has a list subcommand")
                    .name("ct-list"),
            };
            let mut out = io::stdout().lock();
            clap_mangen::Man::new(command).render(&mut out)?;
            out.flush()?;
            Ok(())
        }
    }
}

/// `ct list`: dumps the table and prints every entry as it arrives.
pub fn list(plan: &ListPlan) -> Result<()> {
    if let Some(netns) = &plan.netns {
        netlink::netns::enter(netns)?;
    }
    let mut conntrack = Conntrack::open(plan.socket_buffer)?;
    let labels = load_labels(&plan.labels);

    let stdout = io::stdout();
    let line_buffered = stdout.is_terminal();
    let out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let now = unix_now();
    let labels = labels.as_ref();
    let printer = match &plan.format {
        Format::Classic(options) => Printer::Classic(ClassicPrinter::new(*options, labels, now)),
        Format::Json => Printer::Json(JsonPrinter::new(labels)),
        Format::Xml { ktimestamp } => Printer::Xml(XmlPrinter::new(*ktimestamp, labels, now)),
        Format::Table { columns, color } => {
            let no_color = std::env::var("NO_COLOR").ok();
            let color = color.resolve(line_buffered, no_color.as_deref());
            Printer::Table(TablePrinter::new(columns.clone(), color, labels))
        }
    };
    let mut lister = Lister::new(&plan.filter, printer, out, io::stderr(), line_buffered);
    let (stats, _) =
        conntrack.dump_first_accepted(&plan.requests, |message| lister.on_message(message))?;
    let shown = lister.finish()?;
    report(stats, shown, plan.quiet, &mut io::stderr())?;
    Ok(())
}

/// What `ct list` says on stderr after the entries: a warning when the kernel flagged the
/// dump as interrupted, and the summary line unless `--quiet`.
fn report<E: Write>(stats: DumpStats, shown: u64, quiet: bool, errors: &mut E) -> Result<()> {
    if stats.interrupted {
        writeln!(
            errors,
            "ct: warning: the table changed during the dump (NLM_F_DUMP_INTR); \
             entries may be missing or shown twice"
        )?;
    }
    if !quiet {
        writeln!(errors, "ct: {shown} flow entries have been shown.")?;
    }
    Ok(())
}

/// The per-entry path of `ct list`: decode, filter, print, count. An entry that cannot
/// be decoded is reported on `errors` and the dump goes on.
pub struct Lister<'m, W: Write, E: Write> {
    filter: &'m Filter,
    printer: Printer<'m>,
    out: W,
    errors: E,
    /// Flush after every entry, as a terminal expects.
    line_buffered: bool,
    shown: u64,
}

impl<'m, W: Write, E: Write> Lister<'m, W, E> {
    pub fn new(
        filter: &'m Filter,
        printer: Printer<'m>,
        out: W,
        errors: E,
        line_buffered: bool,
    ) -> Self {
        Lister {
            filter,
            printer,
            out,
            errors,
            line_buffered,
            shown: 0,
        }
    }

    pub fn on_message(&mut self, message: CtMessage<'_>) -> Result<()> {
        match decode::decode_entry(message.family, message.attributes) {
            Ok(entry) if !self.filter.matches(&entry) => {}
            Ok(entry) => {
                self.printer.print(&mut self.out, &entry)?;
                self.shown += 1;
                if self.line_buffered {
                    self.out.flush()?;
                }
            }
            Err(err) => writeln!(self.errors, "ct: skipped an entry the kernel sent: {err}")?,
        }
        Ok(())
    }

    /// Ends the output, flushes it and returns how many entries were shown.
    pub fn finish(mut self) -> Result<u64> {
        self.printer.finish(&mut self.out)?;
        self.out.flush()?;
        Ok(self.shown)
    }
}

/// The label map for `-o labels`. A missing or unreadable file is not fatal: conntrack
/// then prints no labels, and so does ct, after saying why.
fn load_labels(source: &LabelSource) -> Option<LabelMap> {
    match source {
        LabelSource::None => None,
        LabelSource::Map(map) => Some(map.clone()),
        LabelSource::FileIfPresent(path) => LabelMap::load(Path::new(path)).ok(),
        LabelSource::File(path) => match LabelMap::load(Path::new(path)) {
            Ok(map) => Some(map),
            Err(err) => {
                eprintln!("ct: cannot read label names from {path}: {err}; labels are not shown");
                None
            }
        },
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// True when `err` comes from writing to a reader that went away (`ct list | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::{AF_INET, CTA_MARK, CTA_TUPLE_ORIG};
    use crate::output::classic::ClassicOptions;

    #[test]
    fn an_interrupted_dump_is_reported_even_when_quiet() {
        let interrupted = DumpStats {
            interrupted: true,
            ..Default::default()
        };
        let mut said = Vec::new();
        report(interrupted, 3, false, &mut said).unwrap();
        assert_eq!(
            String::from_utf8(said).unwrap(),
            "ct: warning: the table changed during the dump (NLM_F_DUMP_INTR); \
             entries may be missing or shown twice\nct: 3 flow entries have been shown.\n"
        );
        let mut quiet = Vec::new();
        report(interrupted, 3, true, &mut quiet).unwrap();
        assert!(
            String::from_utf8(quiet)
                .unwrap()
                .contains("NLM_F_DUMP_INTR")
        );
        let mut calm = Vec::new();
        report(DumpStats::default(), 0, true, &mut calm).unwrap();
        assert!(calm.is_empty());
    }

    #[test]
    fn a_bad_entry_is_reported_and_the_dump_goes_on() {
        // The smallest entry: an empty original tuple.
        let good: &[u8] = &[4, 0, CTA_TUPLE_ORIG as u8, 0x80];
        let bad: &[u8] = &[6, 0, CTA_MARK as u8, 0, 1, 2, 0, 0];
        let mut out = Vec::new();
        let mut errors = Vec::new();
        let printer = Printer::Classic(ClassicPrinter::new(ClassicOptions::default(), None, 0));
        let filter = Filter::default();
        let mut lister = Lister::new(&filter, printer, &mut out, &mut errors, false);
        for attributes in [good, bad, good] {
            lister
                .on_message(CtMessage {
                    family: AF_INET,
                    attributes,
                })
                .unwrap();
        }
        assert_eq!(lister.finish().unwrap(), 2);
        let line = "unknown  0 src=0.0.0.0 dst=0.0.0.0 src=0.0.0.0 dst=0.0.0.0\n";
        assert_eq!(String::from_utf8(out).unwrap(), line.repeat(2));
        assert_eq!(
            String::from_utf8(errors).unwrap(),
            "ct: skipped an entry the kernel sent: \
             invalid CTA_MARK value: 2 bytes where 4 were expected\n"
        );
    }
}
