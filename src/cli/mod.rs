//! The command line as the user typed it: clap types whose doc comments are the help.
//!
//! One arguments type per command, each flattening the shared groups of [`groups`]
//! (where, which, how). Nothing here opens a socket or reads a file; [`crate::plan`]
//! turns these values into checked parts first, so no work starts on half-checked input.

pub mod groups;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

use crate::filter::MarkMatch;
use crate::filter::values::{self, AddrMatch, NatMatch, StatusMatch};
use crate::model::group::{KeyField, SortBy};
use crate::model::table::Table;

pub use groups::{
    AllNetnsArgs, FamilyArg, FilterArgs, InputArgs, OutputArgs, OutputOption, TargetArgs, TupleArgs,
};

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
    /// Without CAP_NET_ADMIN the kernel refuses ctnetlink; then ct count, ct stats and
    /// ct stats expect read the same numbers from /proc, in every format, as conntrack
    /// falls back: the entry count and limit from /proc/sys/net/netfilter
    /// (nf_conntrack_count, nf_conntrack_max), the per-CPU counters (of connections and
    /// expectations alike) from /proc/net/stat/nf_conntrack, the expectation count from
    /// /proc/net/nf_conntrack_expect (which only root can read). They say so in one note
    /// on stderr and exit 0; a number /proc does not give (a filtered count, or the
    /// expectations for a user who is not root) is an error, exit 1.
    ///
    /// Example: ct count -p tcp --state ESTABLISHED
    #[command(visible_alias = "C")]
    Count(Box<CountArgs>),

    /// Show the kernel's conntrack statistics (as `conntrack -S`): one line per CPU, or
    /// with -o table or json the table's fill level and the totals.
    ///
    /// Without CAP_NET_ADMIN the kernel refuses ctnetlink; then ct count, ct stats and
    /// ct stats expect read the same numbers from /proc, in every format, as conntrack
    /// falls back: the entry count and limit from /proc/sys/net/netfilter
    /// (nf_conntrack_count, nf_conntrack_max), the per-CPU counters (of connections and
    /// expectations alike) from /proc/net/stat/nf_conntrack, the expectation count from
    /// /proc/net/nf_conntrack_expect (which only root can read). They say so in one note
    /// on stderr and exit 0; a number /proc does not give (a filtered count, or the
    /// expectations for a user who is not root) is an error, exit 1.
    ///
    /// Example: ct stats -o table
    #[command(visible_alias = "S")]
    Stats(Box<StatsArgs>),

    /// Show the one entry a tuple names (as `conntrack -G`), or with `ct get expect` the
    /// one expectation a connection of the tuple would match (as `conntrack -G expect`).
    ///
    /// The tuple is whole: -s, -d, -p and the protocol's ports (ICMP's type, code and id,
    /// or GRE's keys). An entry is named by its original tuple (-s, -d) or its reply tuple
    /// (-r, -q). An expectation is named by the connection it expects, as `ct list
    /// expect` shows it first (src, dst, sport, dport), and -w its zone; the kernel
    /// compares the tuple under each expectation's mask, so a source port the mask
    /// leaves out (an ftp or tftp expectation's) may be any. When none matches, ct says
    /// so and exits 1.
    ///
    /// Example: ct get -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 40000 --dport 443
    ///
    /// Example: ct get expect -p udp -s 10.0.0.2 -d 10.0.0.1 --sport 0 --dport 5000
    #[command(visible_alias = "G")]
    Get(Box<GetArgs>),

    /// Create one entry (as `conntrack -I`, or `-A` with --exist-ok) from a whole
    /// original tuple: -s, -d, -p and the protocol's ports (ICMP's type, code and id, or
    /// GRE's keys), and a -t timeout. The reply tuple is the original turned around,
    /// which --src-nat and --dst-nat then rewrite in the kernel, as a packet through a
    /// NAT rule would. Nothing goes to stdout; "ct: 1 flow entries have been created."
    /// goes to stderr. An entry with the same tuple that exists already is an error
    /// (exit 1) unless --exist-ok keeps it as it is ("0 flow entries have been created
    /// (one with this tuple exists and was kept).", exit 0). An incomplete tuple, an
    /// unknown label or a bad address exits 2 and sends nothing. `ct create expect` (as
    /// `conntrack -I expect`) creates an expectation on the master the tuple names, which
    /// must exist and have a helper (--helper): the expected tuple in --tuple-src,
    /// --tuple-dst and their ports, its mask in --mask-*.
    ///
    /// Example: ct create -p tcp -s 10.0.0.1 -d 10.0.0.2 --sport 40000 --dport 443 --state ESTABLISHED -t 300
    #[command(visible_alias = "I")]
    Create(Box<CreateArgs>),

    /// Create the entries of saved `-o save` lines (as `conntrack -R`): what `ct list -o
    /// save` or `conntrack -L -o save` wrote, from FILE or `-` for standard input.
    ///
    /// Every line is read first: one that cannot be read exits 2, naming its number,
    /// and nothing is created. Then the lines are applied in order, many to a datagram:
    /// `-I` lines create, `-A` lines create or keep an existing entry, `-D` lines delete
    /// the entry of their tuple. A line the kernel refuses is reported with its number
    /// and why, and the rest go on; the end says how many entries were created, kept
    /// and deleted and how many lines failed, and the exit status is 1 if any did.
    /// Blank lines and lines starting with `#` are skipped.
    ///
    /// Example: ct list -o save > table.save; ct restore --netns blue table.save
    Restore(Box<RestoreArgs>),

    /// Delete the entries `ct list` shows with the same filters (as `conntrack -D`), or
    /// expectations with `ct delete expect`.
    ///
    /// ct dumps what matches and deletes it entry by entry, many to a datagram; each
    /// entry is printed (in any format of ct list) once the kernel has deleted it, and
    /// "N flow entries have been deleted." goes to stderr, N being exactly the lines,
    /// however the table changes meanwhile. The exit status is 0 when every matching
    /// entry was deleted, 1 when nothing matched or anything failed.
    ///
    /// The deletion is the command and the lines are its report: if the reader of
    /// stdout goes away (ct delete ... | head -1), the deletion still goes to its end,
    /// the count on stderr says what went, and the exit status is 0; any other failure to
    /// write stdout (a full disk) exits 1 after the deletion. A --dry-run only reads,
    /// and ends at a closed pipe as ct list does.
    ///
    /// --one-request trades the exact report for one flush request where the kernel can
    /// apply the whole filter (the mark and mask, the status, exact IPv4 addresses, one
    /// protocol and TCP/UDP ports, the family): it deletes every match in one walk of the
    /// table.
    ///
    /// Example: ct delete -p udp -s 10.1.0.0/16 --dry-run
    #[command(visible_alias = "D")]
    Delete(Box<DeleteArgs>),

    /// Change the entries `ct list` shows with the same filters (as `conntrack -U`): their
    /// mark, labels, timeout or status.
    ///
    /// The filter flags select, as in ct delete (-m and -u select too); the changes are
    /// the --set-* and --*-label flags, at least one. ct dumps what matches and updates
    /// each entry by its tuple and zone, many to a datagram, then reads it back by tuple,
    /// zone and id and prints it as the kernel has it now (in any format of ct list);
    /// "N flow entries have been updated." goes to stderr, N being exactly the lines. An
    /// entry that went meanwhile is skipped and not counted; one the kernel refuses is
    /// reported on stderr with why and not counted. The exit status is 0 when every
    /// matching entry was updated, 1 when nothing matched or the kernel refused any.
    ///
    /// The update is the command and the lines are its report: if the reader of stdout
    /// goes away, the updates still go to their end and the count says what changed,
    /// exit 0. A --dry-run only reads, and ends at a closed pipe as ct list does.
    ///
    /// NAT cannot be changed on an existing entry (the kernel refuses it): -n, -g and -j
    /// only select.
    ///
    /// Example: ct update -p tcp --dport 443 --set-mark 0x20/0xf0 --dry-run
    #[command(visible_alias = "U")]
    Update(Box<UpdateArgs>),

    /// Empty the conntrack table (as `conntrack -F`), or with -f only that family's
    /// entries, or the expectation table with `ct flush expect`.
    ///
    /// A flush prints nothing on stdout and "ct: connection tracking table has been
    /// emptied." on stderr (nothing with --quiet). --dry-run lists what it would delete
    /// instead, in any format of ct list; without --dry-run, -o, --columns and --color
    /// are refused (exit 2), as conntrack -F refuses -o.
    ///
    /// Example: ct flush -f ipv6
    #[command(visible_alias = "F")]
    Flush(Box<FlushArgs>),

    /// Print conntrack events as they happen (as `conntrack -E`): entries made, changed
    /// and destroyed, or expectations with `ct watch expect`.
    ///
    /// Every filter of `ct list` applies; the kernel drops most events that cannot match
    /// before they are queued (a BPF program on the socket), and ct checks each one
    /// again. A DESTROY event carries the flow's final counters and, with
    /// net.netfilter.nf_conntrack_timestamp=1, its start and stop: a flow log. It ends
    /// on Ctrl-C or SIGTERM (exit 0, "N flow events have been shown." on stderr), after
    /// --count events or --duration seconds.
    ///
    /// Since Linux 5.19 (net.netfilter.nf_conntrack_events=2, the default), entries
    /// made while no program listened for events send no UPDATE or DESTROY events later:
    /// start ct watch before the traffic, or set nf_conntrack_events=1.
    ///
    /// Example: ct watch -e DESTROY -o json --netns blue
    #[command(visible_aliases = ["events", "E"])]
    Watch(Box<WatchArgs>),

    /// Show who fills the table: the entries grouped by source, destination, port,
    /// protocol, state, zone, mark, NAT address, helper, label, status flag or address
    /// prefix, the largest groups first, under the table's fill level and drop counters.
    ///
    /// On a terminal it is a live view, refreshed every --interval seconds, with each
    /// group's new entries a second (keys: b grouping, s sort, f filter, space pause,
    /// Enter open a group, q quit). Otherwise, or with --once, it prints the groups once:
    /// -o table (default), json (one object per group) or plain (key=value lines). Memory
    /// grows with the number of groups, not with the table.
    ///
    /// Example: ct top --by src/24,dport -p tcp -n 10
    Top(Box<TopArgs>),

    /// Serve the table's size, limit, per-CPU counters and entries by state, zone and
    /// status as Prometheus metrics on /metrics.
    ///
    /// Each scrape reads the kernel once per namespace (one dump, counted as it streams:
    /// memory does not grow with the table); scrapes that arrive while a reading is under
    /// way share it. It listens on 127.0.0.1:9447 by default, because the table reveals
    /// who talks to whom (and --top-sources names them): expose it wider only behind a
    /// firewall or NetworkPolicy. Needs CAP_NET_ADMIN; --netns and --all-netns also
    /// CAP_SYS_ADMIN (setns), and --all-netns CAP_SYS_PTRACE to see other processes'
    /// namespaces.
    ///
    /// Example: ct exporter --listen 127.0.0.1:9447 --all-netns
    Exporter(Box<ExporterArgs>),

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
        /// Print the name of every page ct man can print besides ct(1), one a line, in
        /// the form PAGE takes: `ct man PAGE` prints each, and its header names its
        /// section (1, or 8 for conntrack).
        #[arg(long, conflicts_with = "page")]
        list: bool,
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
            Command::Create(_) => "create",
            Command::Restore(_) => "restore",
            Command::Delete(_) => "delete",
            Command::Update(_) => "update",
            Command::Flush(_) => "flush",
            Command::Watch(_) => "watch",
            Command::Top(_) => "top",
            Command::Exporter(_) => "exporter",
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
    Create,
    Restore,
    Delete,
    Update,
    Flush,
    Watch,
    Top,
    Exporter,
    Completions,
    Man,
    /// ct run as `conntrack`: conntrack 1.4.7's command line, and how ct differs.
    Conntrack,
}

impl ManPage {
    /// The page's name: `ct-list` for `list`.
    pub fn page_name(self) -> &'static str {
        match self {
            ManPage::List => "ct-list",
            ManPage::Count => "ct-count",
            ManPage::Stats => "ct-stats",
            ManPage::Get => "ct-get",
            ManPage::Create => "ct-create",
            ManPage::Restore => "ct-restore",
            ManPage::Delete => "ct-delete",
            ManPage::Update => "ct-update",
            ManPage::Flush => "ct-flush",
            ManPage::Watch => "ct-watch",
            ManPage::Top => "ct-top",
            ManPage::Exporter => "ct-exporter",
            ManPage::Completions => "ct-completions",
            ManPage::Man => "ct-man",
            ManPage::Conntrack => "ct-conntrack",
        }
    }

    /// The command's name, as typed after `ct`.
    pub fn command(self) -> &'static str {
        match self {
            ManPage::List => "list",
            ManPage::Count => "count",
            ManPage::Stats => "stats",
            ManPage::Get => "get",
            ManPage::Create => "create",
            ManPage::Restore => "restore",
            ManPage::Delete => "delete",
            ManPage::Update => "update",
            ManPage::Flush => "flush",
            ManPage::Watch => "watch",
            ManPage::Top => "top",
            ManPage::Exporter => "exporter",
            ManPage::Completions => "completions",
            ManPage::Man => "man",
            ManPage::Conntrack => "conntrack",
        }
    }
}

/// The kernel's tables `ct list` reads, as conntrack's `-L` names them.
fn any_table() -> impl TypedValueParser<Value = Table> {
    tables([
        (Table::Conntrack, "The connections (the default)"),
        (
            Table::Expect,
            "The expectations: connections a helper (ftp, tftp, sip...) announced",
        ),
        (
            Table::Dying,
            "Entries being destroyed. Since Linux 5.19 it holds only entries whose destroy \
             event could not be delivered to a listener yet",
        ),
        (
            Table::Unconfirmed,
            "Entries not yet confirmed. Since Linux 5.19 the kernel keeps no such list and \
             it is always empty",
        ),
    ])
}

/// The tables of the commands that read entries or expectations: count, stats, watch,
/// delete, flush.
fn entries_or_expectations() -> impl TypedValueParser<Value = Table> {
    tables([
        (Table::Conntrack, "The connections (the default)"),
        (Table::Expect, "The expectations"),
    ])
}

/// A parser of the tables `accepted`, each by its name and with its help.
fn tables<const N: usize>(
    accepted: [(Table, &'static str); N],
) -> impl TypedValueParser<Value = Table> {
    PossibleValuesParser::new(
        accepted.map(|(table, help)| PossibleValue::new(table.name()).help(help)),
    )
    .try_map(|name| Table::from_name(&name).ok_or_else(|| format!("no table is named {name}")))
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct ListArgs {
    /// Which table: conntrack (the default), expect, dying or unconfirmed.
    #[arg(value_parser = any_table(), value_name = "TABLE", default_value = "conntrack")]
    pub table: Table,

    /// Zero the counters of the entries listed, in the same step as the kernel sends
    /// them (as conntrack -L -z): the lines show the counters before. Only with filters
    /// the kernel applies exactly (the family, the mark and mask, the status, exact IPv4
    /// addresses, one protocol and TCP/UDP ports), since it zeroes every entry its own
    /// filter lets through; others exit 2. The counters count with
    /// net.netfilter.nf_conntrack_acct=1.
    #[arg(short = 'z', long = "zero")]
    pub zero: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub all: AllNetnsArgs,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct CountArgs {
    /// Which table: conntrack (the default) or expect.
    #[arg(
        value_parser = entries_or_expectations(),
        value_name = "TABLE",
        default_value = "conntrack"
    )]
    pub table: Table,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub all: AllNetnsArgs,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct StatsArgs {
    /// Which statistics: conntrack (the default) or expect.
    #[arg(
        value_parser = entries_or_expectations(),
        value_name = "TABLE",
        default_value = "conntrack"
    )]
    pub table: Table,

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
    pub all: AllNetnsArgs,

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
    /// Which table: conntrack (an entry, the default) or expect (an expectation, named
    /// by the tuple of the connection it expects).
    #[arg(
        value_parser = entries_or_expectations(),
        value_name = "TABLE",
        default_value = "conntrack"
    )]
    pub table: Table,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten, next_help_heading = "Tuple")]
    pub tuple: TupleArgs,

    /// Only if the entry of the tuple has this id (as `-o id` prints it): an entry
    /// ended and made again with the same tuple has another, and is not shown (exit 1).
    /// Example: --id 4065337923
    #[arg(long = "id", value_name = "ID")]
    pub id: Option<u32>,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct CreateArgs {
    /// Which table: conntrack (an entry, the default) or expect (an expectation, on a
    /// master given by the tuple, which must exist and have a helper).
    #[arg(
        value_parser = entries_or_expectations(),
        value_name = "TABLE",
        default_value = "conntrack"
    )]
    pub table: Table,

    #[command(flatten, next_help_heading = "Tuple")]
    pub tuple: TupleArgs,

    #[command(flatten, next_help_heading = "Expectation")]
    pub expect: ExpectArgs,

    /// Seconds the entry lives (required, as with conntrack -I). Example: -t 300
    #[arg(short = 't', long = "timeout", value_name = "SECONDS", required = true,
          value_parser = values::parse_number::<u32>, help_heading = "Entry")]
    pub timeout: u32,

    /// Status flags to set, comma-separated: ASSURED, SEEN_REPLY, FIXED_TIMEOUT...
    /// Example: -u SEEN_REPLY,ASSURED
    #[arg(short = 'u', long = "status", value_name = "FLAG[,FLAG]", action = ArgAction::Append,
          value_parser = values::Offering::new(values::parse_status, values::status_names),
          help_heading = "Entry")]
    pub status: Vec<StatusMatch>,

    /// The connection mark, in decimal or 0x hex. Example: -m 0x10
    #[arg(short = 'm', long = "mark", value_name = "MARK",
          value_parser = values::parse_number::<u32>, help_heading = "Entry")]
    pub mark: Option<u32>,

    /// Connlabels to attach (names from /etc/xtables/connlabel.conf). The kernel keeps
    /// them only while something in the namespace uses labels (an nft `ct label` rule).
    /// Example: -l blocked
    #[arg(short = 'l', long = "label", visible_alias = "label-add", value_name = "LABEL[,LABEL]",
          value_delimiter = ',', action = ArgAction::Append, help_heading = "Entry")]
    pub label: Vec<String>,

    /// Source NAT: the reply goes back to ADDR (and PORT). Example: --src-nat 192.0.2.1
    #[arg(
        short = 'n',
        long = "src-nat",
        value_name = "ADDR[:PORT]",
        help_heading = "Entry"
    )]
    pub src_nat: Option<NatMatch>,

    /// Destination NAT: the connection goes to ADDR (and PORT) instead.
    /// Example: --dst-nat 10.0.0.7:8080
    #[arg(
        short = 'g',
        long = "dst-nat",
        value_name = "ADDR[:PORT]",
        help_heading = "Entry"
    )]
    pub dst_nat: Option<NatMatch>,

    /// The tracker's state (tcp, sctp, dccp), any case; tcp's LISTEN is SYN_SENT2, as with
    /// conntrack. Example: --state ESTABLISHED
    #[arg(long = "state", value_name = "STATE", help_heading = "Entry")]
    pub state: Option<String>,

    /// SCTP: the original direction's verification tag, decimal or 0x hex, as `ct list
    /// -o json` shows it (conntrack -I and `-o save` write it with its bytes swapped).
    /// The kernel takes it with --state and --reply-vtag. Example: --orig-vtag 0x1a2b3c4d
    #[arg(long = "orig-vtag", value_name = "TAG", value_parser = values::parse_number::<u32>,
          help_heading = "Entry")]
    pub orig_vtag: Option<u32>,

    /// SCTP: the reply direction's verification tag, as --orig-vtag.
    /// Example: --reply-vtag 0x5e6f7a8b
    #[arg(long = "reply-vtag", value_name = "TAG", value_parser = values::parse_number::<u32>,
          help_heading = "Entry")]
    pub reply_vtag: Option<u32>,

    /// DCCP: the role of the original direction's sender, client or server; it goes
    /// with --state, as with conntrack -I. Example: --role client
    #[arg(long = "role", value_name = "ROLE", value_parser = values::parse_dccp_role,
          help_heading = "Entry")]
    pub role: Option<crate::model::entry::DccpRole>,

    /// The conntrack helper to attach (ftp, tftp, sip...: the kernel's names, whose
    /// module must be loaded), which lets expectations be created on the entry. conntrack
    /// -I cannot set it. Example: --helper ftp
    #[arg(long = "helper", value_name = "NAME", help_heading = "Entry")]
    pub helper: Option<String>,

    /// An entry with the same tuple that exists already is kept as it is, and that is no
    /// error (conntrack -A).
    #[arg(long = "exist-ok", help_heading = "Entry")]
    pub exist_ok: bool,

    #[command(flatten)]
    pub target: TargetArgs,
}

/// `ct create expect`: the expected tuple and its mask, named as conntrack -I expect
/// names them. The master is the tuple of -s, -d, -p and its ports.
#[derive(Debug, Args, Clone, Default)]
pub struct ExpectArgs {
    /// The expected connection's source address. Example: --tuple-src 10.0.0.2
    #[arg(long = "tuple-src", value_name = "ADDR")]
    pub tuple_src: Option<AddrMatch>,

    /// The expected connection's destination address. Example: --tuple-dst 10.0.0.1
    #[arg(long = "tuple-dst", value_name = "ADDR")]
    pub tuple_dst: Option<AddrMatch>,

    /// The expected connection's source port (0 with --mask-port-src 0: any).
    #[arg(long = "tuple-port-src", value_name = "PORT", value_parser = values::parse_port)]
    pub tuple_port_src: Option<u16>,

    /// The expected connection's destination port. Example: --tuple-port-dst 50001
    #[arg(long = "tuple-port-dst", value_name = "PORT", value_parser = values::parse_port)]
    pub tuple_port_dst: Option<u16>,

    /// Which bits of the expected source address must match. Example: --mask-src 255.255.255.255
    #[arg(long = "mask-src", value_name = "MASK")]
    pub mask_src: Option<std::net::IpAddr>,

    /// The mask of the expected destination address (the kernel keeps the whole address).
    #[arg(long = "mask-dst", value_name = "MASK")]
    pub mask_dst: Option<std::net::IpAddr>,

    /// Which bits of the expected source port must match: 0 for any, 65535 for exactly.
    #[arg(long = "mask-port-src", value_name = "MASK", value_parser = values::parse_port)]
    pub mask_port_src: Option<u16>,

    /// The mask of the expected destination port (the kernel keeps the whole port).
    #[arg(long = "mask-port-dst", value_name = "MASK", value_parser = values::parse_port)]
    pub mask_port_dst: Option<u16>,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct RestoreArgs {
    /// The saved lines: a file, or `-` for standard input.
    #[arg(value_name = "FILE|-")]
    pub file: String,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct WatchArgs {
    /// Which events: of connections (conntrack, the default) or of expectations (expect).
    #[arg(
        value_parser = entries_or_expectations(),
        value_name = "TABLE",
        default_value = "conntrack"
    )]
    pub table: Table,

    /// The kinds of event, comma-separated: NEW, UPDATE (or UPDATES), DESTROY, ALL (the
    /// default). Only these are received at all. Example: -e NEW,DESTROY
    #[arg(
        short = 'e',
        long = "event-mask",
        value_enum,
        value_delimiter = ',',
        ignore_case = true,
        value_name = "EVENTS"
    )]
    pub events: Vec<EventArg>,

    /// Stop after showing N events. Example: --count 100
    #[arg(long = "count", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Stop after SECONDS (fractions allowed). Example: --duration 2.5
    #[arg(long = "duration", value_name = "SECONDS", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,

    /// Ask the kernel to deliver every DESTROY event, retrying those a full socket
    /// buffer refused (NETLINK_BROADCAST_ERROR, as conntrackd's NetlinkEventsReliable).
    /// While ct lags, destroyed entries then wait in the kernel's dying list and still
    /// count against the table's limit. Only connections' DESTROY events are sent again
    /// (a lost NEW or UPDATE is folded into the entry's next event), so only -e DESTROY
    /// --reliable loses nothing, and ct warns of lost events otherwise.
    #[arg(long = "reliable", help_heading = "Kernel")]
    pub reliable: bool,

    /// Do not attach the kernel-side filter (a BPF program) to the event socket: every
    /// event is queued and checked in ct. For comparing; the output is the same.
    #[arg(long = "no-kernel-filter", help_heading = "Kernel")]
    pub no_kernel_filter: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub all: AllNetnsArgs,

    #[command(flatten)]
    pub target: TargetArgs,
}

/// The kinds of event `-e` names, as conntrack's -e (any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventArg {
    /// An entry (or expectation) was made.
    New,
    /// An entry changed: its state, mark, labels, status...
    #[value(alias = "updates")]
    Update,
    /// An entry was destroyed: with its final counters.
    Destroy,
    /// All of them.
    All,
}

/// `ct top`'s arguments. Its `-n` is the number of groups, as in `head -n`; the source
/// NAT filter keeps its long form, `--src-nat`.
#[derive(Debug, Args)]
#[command(args_override_self = true, mut_arg("src_nat", |arg| arg.short(None)))]
pub struct TopArgs {
    /// Group by these keys, comma-separated: src, dst, sport, dport, proto, state, zone,
    /// mark, nat, helper, label, family, flag:NAME (a status flag, as flag:ASSURED),
    /// src/LEN and dst/LEN (networks; src/LEN4/LEN6 for each family).
    /// Example: --by src/24,dport
    #[arg(long = "by", value_name = "KEY[,KEY]", value_delimiter = ',',
          default_value = "src", value_parser = parse_key)]
    pub by: Vec<KeyField>,

    /// Show the N largest groups. Example: -n 10
    #[arg(short = 'n', long = "top", value_name = "N", default_value = "20",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub top: u32,

    /// Order: entries (the default), new (new entries a second, in the live view),
    /// packets, bytes (with accounting on), key. Example: --sort bytes
    #[arg(
        long = "sort",
        value_enum,
        value_name = "FIELD",
        default_value = "entries"
    )]
    pub sort: SortArg,

    /// The format: table (the default), json (JSON Lines, one object
    /// per group) or plain (key=value lines for grep). Example: -o json
    #[arg(
        short = 'o',
        long = "output",
        value_enum,
        value_name = "FORMAT",
        help_heading = "Output"
    )]
    pub output: Option<TopFormatArg>,

    /// Insist on the live view: when stdout is not a terminal to draw on, exit 2 rather
    /// than print the groups once.
    #[arg(long = "live", conflicts_with_all = ["once", "output"], help_heading = "Output")]
    pub live: bool,

    /// Print the groups once even on a terminal.
    #[arg(long = "once", help_heading = "Output")]
    pub once: bool,

    /// Seconds between the live view's refreshes (fractions allowed). Example: --interval 5
    #[arg(long = "interval", value_name = "SECONDS", default_value = "2",
          value_parser = parse_duration, help_heading = "Output")]
    pub interval: std::time::Duration,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub input: InputArgs,

    #[command(flatten)]
    pub all: AllNetnsArgs,

    #[command(flatten)]
    pub target: TargetArgs,
}

/// `ct exporter`'s arguments.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct ExporterArgs {
    /// The address and port to serve /metrics on. The default is localhost only: the
    /// table reveals who talks to whom. Example: --listen 0.0.0.0:9447
    #[arg(
        long = "listen",
        value_name = "ADDR:PORT",
        default_value = "127.0.0.1:9447"
    )]
    pub listen: std::net::SocketAddr,

    /// Read another network namespace's table instead of ct's own: a name from `ip netns
    /// list`, a path to a namespace file (/proc/PID/ns/net) or a process id.
    /// Example: --netns blue
    #[arg(
        long = "netns",
        value_name = "NAME|PATH|PID",
        conflicts_with = "all_netns"
    )]
    pub netns: Option<String>,

    /// Read every network namespace of the host, found again at each scrape (named ones
    /// under /run/netns and those of every process), each under its own `netns` label,
    /// from a thread that entered it; /proc fallbacks read each namespace's own files.
    /// One that cannot be read is reported on stderr and in
    /// conntrack_scrape_errors_total, and the exporter goes on.
    #[arg(long = "all-netns")]
    pub all_netns: bool,

    /// One series per CPU (label `cpu`) for the kernel's counters, instead of their sum.
    #[arg(long = "per-cpu")]
    pub per_cpu: bool,

    /// Export only what the kernel counts (conntrack_entries, _limit, conntrack_expectations,
    /// conntrack_stat_*): no dump of any table, so a scrape costs a few requests per
    /// namespace whatever the tables hold. Leaves out conntrack_entries_by_state, _by_zone
    /// and _by_status. Without it, a namespace the kernel counts no entries in is not
    /// dumped either.
    #[arg(long = "no-breakdown", conflicts_with_all = ["top_sources", "top_destinations"])]
    pub no_breakdown: bool,

    /// How long a scrape may read (fractions allowed), below Prometheus' scrape_timeout
    /// (10 s by default). The kernel's counts are read for every namespace; a
    /// namespace whose dump for the breakdown has not finished (or begun) by then is
    /// abandoned, left without breakdown series in that reply, and counted in
    /// conntrack_scrape_timeouts_total. Example: --scrape-timeout 2.5
    #[arg(long = "scrape-timeout", value_name = "SECONDS", default_value = "8",
          value_parser = parse_duration)]
    pub scrape_timeout: std::time::Duration,

    /// Also export the N source addresses with the most entries
    /// (conntrack_top_source_entries). Off by default: addresses are unbounded label
    /// values. Example: --top-sources 10
    #[arg(long = "top-sources", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub top_sources: Option<u32>,

    /// Also export the N destination addresses with the most entries
    /// (conntrack_top_destination_entries). Example: --top-destinations 10
    #[arg(long = "top-destinations", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub top_destinations: Option<u32>,
}

/// The orders of `ct top --sort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SortArg {
    Entries,
    // New entries a second: only the live view counts them.
    New,
    Packets,
    Bytes,
    Key,
}

impl SortArg {
    pub fn order(self) -> SortBy {
        match self {
            SortArg::Entries => SortBy::Entries,
            SortArg::New => SortBy::New,
            SortArg::Packets => SortBy::Packets,
            SortArg::Bytes => SortBy::Bytes,
            SortArg::Key => SortBy::Key,
        }
    }
}

/// The formats of `ct top` printed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TopFormatArg {
    /// The headline and aligned columns, for people.
    Table,
    /// JSON Lines: one object per group.
    Json,
    /// One `key=value` line per group, for grep and awk.
    Plain,
}

fn parse_key(word: &str) -> Result<KeyField, String> {
    KeyField::parse(word)
}

/// A positive number of seconds, fractions allowed.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("'{text}' is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 1e9) {
        return Err(format!(
            "'{text}' is not a duration: give a number of seconds above 0"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(seconds))
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct DeleteArgs {
    /// Which table: conntrack (the default) or expect.
    #[arg(
        value_parser = entries_or_expectations(),
        value_name = "TABLE",
        default_value = "conntrack"
    )]
    pub table: Table,

    #[command(flatten)]
    pub delete: DeleteModeArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub changes: ChangeArgs,

    /// Show what would be updated (as it is now), and change nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub filter: FilterArgs,

    #[command(flatten)]
    pub target: TargetArgs,
}

/// What `ct update` changes on each entry it selects.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Changes")]
pub struct ChangeArgs {
    /// Set the mark; with a mask, only the mask's bits (the others keep theirs), and the
    /// value may have no bit outside the mask. Example: --set-mark 0x20/0xf0
    #[arg(long = "set-mark", value_name = "MARK[/MASK]")]
    pub set_mark: Option<MarkMatch>,

    /// Add these connlabels (names from /etc/xtables/connlabel.conf). The kernel keeps
    /// labels only on entries made while something in the namespace uses labels (an nft
    /// `ct label set` rule). Example: --add-label blocked
    #[arg(long = "add-label", value_name = "LABEL[,LABEL]", value_delimiter = ',',
          action = ArgAction::Append)]
    pub add_label: Vec<String>,

    /// Remove these connlabels. Example: --del-label blocked,audit
    #[arg(long = "del-label", value_name = "LABEL[,LABEL]", value_delimiter = ',',
          action = ArgAction::Append)]
    pub del_label: Vec<String>,

    /// Set the seconds left before the entry expires, above 0 (ct delete ends entries).
    /// The kernel refuses it for an entry with FIXED_TIMEOUT. Example: --set-timeout 3600
    #[arg(long = "set-timeout", value_name = "SECONDS",
          value_parser = crate::filter::values::parse_number::<u32>)]
    pub set_timeout: Option<u32>,

    /// Set status flags: SEEN_REPLY, ASSURED or FIXED_TIMEOUT, the ones the kernel lets
    /// a user set (it never clears a flag on request). Example: --set-status ASSURED
    #[arg(long = "set-status", value_name = "FLAG[,FLAG]", action = ArgAction::Append,
          value_parser = crate::filter::values::parse_status)]
    pub set_status: Vec<StatusMatch>,
}

#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct FlushArgs {
    /// Which table: conntrack (the default) or expect.
    #[arg(
        value_parser = entries_or_expectations(),
        value_name = "TABLE",
        default_value = "conntrack"
    )]
    pub table: Table,

    /// Only this family's entries: ipv4 or ipv6. Example: -f ipv6
    #[arg(short = 'f', long = "family", value_enum, value_name = "FAMILY")]
    pub family: Option<FamilyArg>,

    #[command(flatten)]
    pub delete: DeleteModeArgs,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub target: TargetArgs,
}

/// How `ct delete` and `ct flush` delete.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Deleting")]
pub struct DeleteModeArgs {
    /// Show what would be deleted, and delete nothing.
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// Delete entry by entry: `ct delete`'s default, whose lines and count are exactly
    /// what the kernel deleted, however the table changes meanwhile. `ct flush`, which
    /// otherwise sends one flush request, then dumps and deletes entry by entry too.
    #[arg(long = "per-entry", conflicts_with = "one_request")]
    pub per_entry: bool,

    /// Delete with one flush request (one walk of the table in the kernel, where entry
    /// by entry sends a request per entry; bench/README.md measured both alike at
    /// 64,000 of 250,000 entries), or refuse (exit 2) when the kernel cannot apply this
    /// filter exactly or is not known to honour it. The trade-off, for ct delete: its
    /// lines and count are the entries that matched in a dump just before the request
    /// (held until the kernel has taken it); entries that come to match meanwhile are
    /// deleted too, unreported.
    #[arg(long = "one-request")]
    pub one_request: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table each command parsed, or clap's error.
    fn table(args: &str) -> Result<Table, clap::error::ErrorKind> {
        let argv = std::iter::once("ct").chain(args.split_whitespace());
        let cli = Cli::try_parse_from(argv).map_err(|err| err.kind())?;
        Ok(match cli.command {
            Command::List(args) => args.table,
            Command::Count(args) => args.table,
            Command::Stats(args) => args.table,
            Command::Watch(args) => args.table,
            Command::Delete(args) => args.table,
            Command::Flush(args) => args.table,
            _ => panic!("not a command with a table"),
        })
    }

    #[test]
    fn every_command_parses_its_tables_into_the_model() {
        for table_name in ["conntrack", "expect", "dying", "unconfirmed"] {
            assert_eq!(
                table(&format!("list {table_name}")),
                Ok(Table::from_name(table_name).unwrap())
            );
        }
        for command in ["count", "stats", "watch", "delete", "flush"] {
            assert_eq!(table(command), Ok(Table::Conntrack), "{command}");
            assert_eq!(table(&format!("{command} conntrack")), Ok(Table::Conntrack));
            assert_eq!(table(&format!("{command} expect")), Ok(Table::Expect));
            for other in ["dying", "unconfirmed", "Expect"] {
                assert_eq!(
                    table(&format!("{command} {other}")),
                    Err(clap::error::ErrorKind::InvalidValue),
                    "{command} {other}"
                );
            }
        }
        assert_eq!(table("list"), Ok(Table::Conntrack));
    }

    /// `ct man --list` (which the Debian package's build and the README loop over) names a
    /// page for every command clap knows, each finding its command, and `--list` with a
    /// page is refused.
    #[test]
    fn every_command_has_a_manual_page() {
        use clap::CommandFactory;
        let pages: Vec<ManPage> = ManPage::value_variants().to_vec();
        let ct = Cli::command();
        let commands: Vec<&str> = ct.get_subcommands().map(|c| c.get_name()).collect();
        for command in &commands {
            assert!(
                pages.iter().any(|page| page.command() == *command),
                "ct {command} has no ManPage"
            );
        }
        for page in pages {
            let name = page.to_possible_value().unwrap();
            assert_eq!(name.get_name(), page.command());
            assert_eq!(page.page_name(), format!("ct-{}", page.command()));
            assert!(
                page == ManPage::Conntrack || commands.contains(&page.command()),
                "{page:?}"
            );
        }
        let parse = |args: &[&str]| Cli::try_parse_from(args).map_err(|err| err.kind());
        assert!(matches!(
            parse(&["ct", "man", "--list"]).map(|cli| cli.command),
            Ok(Command::Man {
                page: None,
                list: true
            })
        ));
        assert_eq!(
            parse(&["ct", "man", "--list", "list"]).map(|_| ()),
            Err(clap::error::ErrorKind::ArgumentConflict)
        );
    }
}
