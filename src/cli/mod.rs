//! The command line as the user typed it: clap types whose doc comments are the help.
//!
//! One arguments type per command, each flattening the shared groups of [`groups`]
//! (where, which, how). Nothing here opens a socket or reads a file; [`crate::plan`]
//! turns these values into checked parts first, so no work starts on half-checked input.

pub mod groups;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use groups::{FamilyArg, FilterArgs, OutputArgs, OutputOption, TargetArgs, TupleArgs};

/// Inspect the Linux connection-tracking (conntrack) table.
///
/// ct reads the kernel's conntrack table over ctnetlink. Reading it needs root or
/// CAP_NET_ADMIN.
#[derive(Debug, Parser)]
#[command(
    name = "ct",
    version,
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the conntrack table (as `conntrack -L`), or the expectation, dying or
    /// unconfirmed table: as conntrack prints it, or as JSON, a table or XML.
    ///
    /// Example: ct list -o extended,id --netns blue
    #[command(visible_alias = "L")]
    List(Box<ListArgs>),

    /// Count the entries (as `conntrack -C`): the kernel's own counter, or with filters
    /// the entries `ct list` would show.
    ///
    /// Example: ct count -p tcp --state ESTABLISHED
    #[command(visible_alias = "C")]
    Count(Box<CountArgs>),

    /// Show the kernel's conntrack statistics (as `conntrack -S`): one line per CPU, or
    /// with -o table or json the table's fill level and the totals.
    ///
    /// Example: ct stats -o table
    #[command(visible_alias = "S")]
    Stats(Box<StatsArgs>),

    /// Show the one entry a tuple names (as `conntrack -G`).
    ///
    /// Example: ct get -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 40000 --dport 443
    #[command(visible_alias = "G")]
    Get(Box<GetArgs>),

    /// Print a shell completion script for ct.
    ///
    /// Example: ct completions bash > /etc/bash_completion.d/ct
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },

    /// Print a manual page (roff), generated from this help: ct(1), or with a command's
    /// name, that command's page, such as ct-list(1).
    ///
    /// Example: ct man list > /usr/local/share/man/man1/ct-list.1
    Man {
        /// The command whose page to print.
        #[arg(value_enum)]
        page: Option<ManPage>,
    },
}

impl Command {
    /// The command's name, as typed after `ct` (without aliases).
    pub fn name(&self) -> &'static str {
        match self {
            Command::List(_) => "list",
            Command::Count(_) => "count",
            Command::Stats(_) => "stats",
            Command::Get(_) => "get",
            Command::Completions { .. } => "completions",
            Command::Man { .. } => "man",
        }
    }
}

/// The pages `ct man` prints besides ct(1): one per command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ManPage {
    List,
    Count,
    Stats,
    Get,
    Completions,
    Man,
}

impl ManPage {
    /// The page's name: `ct-list` for `list`.
    pub fn page_name(self) -> &'static str {
        match self {
            ManPage::List => "ct-list",
            ManPage::Count => "ct-count",
            ManPage::Stats => "ct-stats",
            ManPage::Get => "ct-get",
            ManPage::Completions => "ct-completions",
            ManPage::Man => "ct-man",
        }
    }

    /// The command's name, as typed after `ct`.
    pub fn command(self) -> &'static str {
        match self {
            ManPage::List => "list",
            ManPage::Count => "count",
            ManPage::Stats => "stats",
            ManPage::Get => "get",
            ManPage::Completions => "completions",
            ManPage::Man => "man",
        }
    }
}

/// The kernel's tables `ct list` reads, as conntrack's `-L` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum TableArg {
    /// The connections (the default).
    #[default]
    Conntrack,
    /// The expectations: connections a helper (ftp, tftp, sip...) announced.
    Expect,
    /// Entries being destroyed. Since Linux 5.19 it holds only entries whose destroy
    /// event could not be delivered to a listener yet.
    Dying,
    /// Entries not yet confirmed. Since Linux 5.19 the kernel keeps no such list and it
    /// is always empty.
    Unconfirmed,
}

/// `ct count` counts entries or expectations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum CountTableArg {
    /// The connections (the default).
    #[default]
    Conntrack,
    /// The expectations.
    Expect,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct ListArgs {
    /// Which table: conntrack (the default), expect, dying or unconfirmed.
    #[arg(value_enum, value_name = "TABLE", default_value = "conntrack")]
    pub table: TableArg,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct CountArgs {
    /// Which table: conntrack (the default) or expect.
    #[arg(value_enum, value_name = "TABLE", default_value = "conntrack")]
    pub table: CountTableArg,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct StatsArgs {
    /// Which statistics: conntrack (the default) or expect.
    #[arg(value_enum, value_name = "TABLE", default_value = "conntrack")]
    pub table: CountTableArg,

    /// The format: conntrack's per-CPU lines (default), table (the table's fill level,
    /// totals and per-CPU counters, for people) or json (one object: global, totals,
    /// per-CPU list). Example: -o table
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        value_name = "FORMAT",
        help_heading = "Output"
    )]
    pub output: Option<StatsFormatArg>,

    #[command(flatten)]
    pub target: TargetArgs,
}

/// The formats of `ct stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormatArg {
    /// An aligned table for people.
    Table,
    /// One JSON object.
    Json,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct GetArgs {
    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten, next_help_heading = "Tuple")]
    pub tuple: TupleArgs,

    #[command(flatten)]
    pub target: TargetArgs,
}
