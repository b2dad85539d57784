//! From what the user typed, and the environment ct runs in, to one plan per command,
//! before any socket opens.
//!
//! clap checks each value on its own; this module checks how they fit together (an
//! IPv6 address with `-f ipv4`, a `--state` no selected protocol has, a label the label
//! map does not name, a flag the chosen table or format has no use for) and reports a
//! misfit as a [`UsageError`], which exits 2 like a bad value does. It also reads what
//! the environment decides (whether stdout is a terminal, NO_COLOR), once. Each argument
//! group of [`crate::cli::groups`] resolves to one part: [`Source`] (where: a saved
//! dump, or the kernel of one namespace or of all), the filter ([`filter`]: which),
//! [`Output`] (how); each command's plan ([`List`], [`Count`], [`Stats`], [`Get`],
//! [`Delete`], [`Flush`], [`Watch`], [`Top`], [`Exporter`]) combines the parts it needs
//! with its own options, so that a command file only carries it out. The stages after
//! this one only meet the kernel's and the system's errors.

mod filter;
mod output;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::cli::{
    ChangeArgs, CountArgs, CreateArgs, DeleteArgs, DeleteModeArgs, EventArg, ExporterArgs,
    FamilyArg, FlushArgs, GetArgs, ListArgs, RestoreArgs, SortArg, StatsArgs, StatsFormatArg,
    TargetArgs, TopArgs, TopFormatArg, UpdateArgs, WatchArgs,
};
use crate::filter::Filter;
use crate::filter::flush::{Flush as FlushRequest, KernelRelease, Zeroing};
use crate::labelmap::LabelMap;
use crate::model::create::{Existing, HelperName, NatTarget, NewEntry};
use crate::model::entry::{Family, L4, LabelBits, ProtoState, Tuple};
use crate::model::event::EventSet;
use crate::model::expect::NewExpectation;
use crate::model::group::KeyField;
use crate::model::table::Table;
use crate::model::update::{Changes, LabelChange, MarkChange, SETTABLE_STATUS};
use crate::netlink::netns::Scope;
use crate::output::Format;
use crate::output::stats::StatsFormat;
use crate::output::top::TopFormat;

pub use filter::{Lookup, filter, filter_with_labels, label_bits, lookup, whole_tuple};
pub use output::{Environment, LabelSource, Output};

/// A command line whose values are each fine but do not fit together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// Where to talk to the kernel: which namespaces, and the socket's buffer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// ct's own namespace, the one `--netns` names, or every one (`--all-netns`).
    pub scope: Scope,
    /// SO_RCVBUF for the netlink socket, when the user chose one.
    pub socket_buffer: Option<usize>,
}

impl Target {
    pub fn from_args(args: &TargetArgs, all_netns: bool) -> Result<Target, UsageError> {
        Ok(Target {
            scope: scope(args.netns.as_deref(), all_netns)?,
            socket_buffer: args.buffer_size.map(|size| size as usize),
        })
    }

    /// True with `--all-netns`.
    pub fn all(&self) -> bool {
        self.scope == Scope::All
    }
}

/// The namespaces `--netns` and `--all-netns` name (clap refuses both at once).
fn scope(netns: Option<&str>, all_netns: bool) -> Result<Scope, UsageError> {
    Ok(match netns {
        Some("") => {
            return Err(usage(
                "--netns needs a namespace: a name from `ip netns list`, a path or a pid",
            ));
        }
        Some(netns) => Scope::Named(netns.to_string()),
        None if all_netns => Scope::All,
        None => Scope::Own,
    })
}

/// Where a command reads entries from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A saved dump (`--input`).
    Saved(Saved),
    /// The kernel.
    Kernel(Target),
}

/// A saved dump to read: where it is, and where the names of its `labels=` come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// A path, or `-` for standard input.
    pub path: String,
    pub labels: LabelSource,
}

impl Source {
    /// The source `--input` names, else the kernel of `target` (checked even for a saved
    /// dump); `label_map` is the map `-l` read, if it did.
    fn new(input: &Option<String>, target: Target, label_map: &Option<LabelMap>) -> Source {
        match input {
            Some(path) => Source::Saved(Saved {
                path: path.clone(),
                labels: LabelSource::names(label_map.clone()),
            }),
            None => Source::Kernel(target),
        }
    }
}

/// `--input` reads connections only: the other tables are refused before anything is read.
fn saved_dumps_hold_connections(what: &str) -> UsageError {
    usage(format!(
        "--input reads saved connection tables; {what} cannot come from a file"
    ))
}

/// XML and `-o save` have no place to say which namespace an entry is in.
fn check_taggable(format: &Format) -> Result<(), UsageError> {
    match format {
        Format::Xml { .. } | Format::Save => Err(usage(
            "--all-netns cannot mark the namespace in -o xml or -o save; use the classic \
             line, json or table",
        )),
        _ => Ok(()),
    }
}

/// conntrack's `-o save` has no line for an expectation.
fn check_expect_format(format: &Format) -> Result<(), UsageError> {
    match format {
        Format::Save => Err(usage(
            "-o save writes entries as conntrack commands; it has no form for expectations",
        )),
        _ => Ok(()),
    }
}

/// ct's table of expectations has its own columns, which `--columns` does not pick.
fn check_expect_columns(format: &Format) -> Result<(), UsageError> {
    match format {
        Format::Table {
            columns: Some(_), ..
        } => Err(usage(
            "--columns picks the columns of entries; the expectation table has its own",
        )),
        _ => Ok(()),
    }
}

/// Filters that say nothing about expectations are a usage error, not a silent no-op.
fn check_expect_filter(filter: &Filter) -> Result<(), UsageError> {
    match filter.not_for_expectations() {
        Some(flag) => Err(usage(format!(
            "{flag} does not apply to expectations; they can be filtered by -f, -p, -s, \
             -d, --sport, --dport, --addr, --port and --helper"
        ))),
        None => Ok(()),
    }
}

/// `ct list`.
#[derive(Debug)]
pub struct List {
    pub source: Source,
    pub table: Table,
    pub filter: Filter,
    pub output: Output,
    /// `--zero`: the dumps that zero the counters of exactly the entries listed.
    pub zero: Option<Zeroing>,
}

impl List {
    pub fn from_args(args: &ListArgs, env: &Environment) -> Result<List, UsageError> {
        let target = Target::from_args(&args.target, args.all.all_netns)?;
        let (filter, label_map) = filter(&args.filter)?;
        let source = Source::new(&args.input.input, target, &label_map);
        let output = Output::from_args(&args.output, label_map, env)?;
        let all = matches!(&source, Source::Kernel(target) if target.all());
        if matches!(source, Source::Saved(_)) && args.table != Table::Conntrack {
            return Err(saved_dumps_hold_connections("the other tables"));
        }
        if all {
            if args.table != Table::Conntrack {
                return Err(usage(
                    "--all-netns lists the conntrack table of each namespace; list the other \
                     tables of one namespace at a time with --netns",
                ));
            }
            check_taggable(&output.format)?;
        }
        if args.table == Table::Expect {
            check_expect_filter(&filter)?;
            check_expect_format(&output.format)?;
            check_expect_columns(&output.format)?;
        }
        let zero = if args.zero {
            Some(zeroing(&source, args.table, &filter)?)
        } else {
            None
        };
        Ok(List {
            source,
            table: args.table,
            filter,
            output,
            zero,
        })
    }
}

/// `ct list --zero`: the kernel zeroes the counters of every entry its dump filter lets
/// through, so the filter must be one it applies exactly; zeroing entries that are not
/// listed would be a change nobody sees.
fn zeroing(source: &Source, table: Table, filter: &Filter) -> Result<Zeroing, UsageError> {
    match source {
        Source::Saved(_) => {
            return Err(usage(
                "--zero zeroes the kernel's counters; a saved dump has none to zero",
            ));
        }
        Source::Kernel(target) if target.all() => {
            return Err(usage(
                "--zero zeroes one namespace's counters at a time; use --netns NAME",
            ));
        }
        Source::Kernel(_) => {}
    }
    if table != Table::Conntrack {
        return Err(usage(
            "--zero zeroes the counters of the conntrack table's entries; the other tables \
             have none to zero",
        ));
    }
    KernelRelease::running()
        .and_then(|release| Zeroing::exact(filter, release))
        .ok_or_else(|| {
            usage(
                "--zero: the kernel would zero the counters of entries this filter does not \
                 show (it applies only the family, the mark and mask, the status, exact IPv4 \
                 addresses, one protocol and TCP/UDP ports exactly, each since a release; \
                 prefixes, IPv6 addresses, zones, states, NAT, labels and the rest are \
                 matched in ct alone); narrow by those, or list without --zero",
            )
        })
}

/// `ct count`.
#[derive(Debug)]
pub struct Count {
    pub source: Source,
    pub table: Table,
    pub filter: Filter,
}

impl Count {
    pub fn from_args(args: &CountArgs) -> Result<Count, UsageError> {
        let target = Target::from_args(&args.target, args.all.all_netns)?;
        let (filter, label_map) = filter(&args.filter)?;
        let source = Source::new(&args.input.input, target, &label_map);
        if args.table == Table::Expect {
            check_expect_filter(&filter)?;
            if matches!(source, Source::Saved(_)) {
                return Err(saved_dumps_hold_connections("expectations"));
            }
        }
        Ok(Count {
            source,
            table: args.table,
            filter,
        })
    }
}

/// `ct stats`.
#[derive(Debug)]
pub struct Stats {
    pub target: Target,
    pub table: Table,
    /// `-o json` or `-o table`; conntrack's lines without.
    pub format: StatsFormat,
}

impl Stats {
    pub fn from_args(args: &StatsArgs) -> Result<Stats, UsageError> {
        Ok(Stats {
            target: Target::from_args(&args.target, args.all.all_netns)?,
            table: args.table,
            format: match args.output {
                None => StatsFormat::Classic,
                Some(StatsFormatArg::Json) => StatsFormat::Json,
                Some(StatsFormatArg::Table) => StatsFormat::Table,
            },
        })
    }
}

/// `ct get`.
#[derive(Debug)]
pub struct Get {
    pub target: Target,
    pub lookup: Lookup,
    /// The id the entry must have (`--id`).
    pub id: Option<u32>,
    pub output: Output,
}

impl Get {
    pub fn from_args(args: &GetArgs, env: &Environment) -> Result<Get, UsageError> {
        Ok(Get {
            target: Target::from_args(&args.target, false)?,
            lookup: lookup(&args.tuple)?,
            id: args.id,
            output: Output::from_args(&args.output, None, env)?,
        })
    }
}

/// `ct get expect`: the expected connection's tuple, whole, as `ct get` takes an
/// entry's original tuple, and its zone.
#[derive(Debug)]
pub struct GetExpect {
    pub target: Target,
    pub family: Family,
    /// The tuple of a connection the expectation would match (CTA_EXPECT_TUPLE).
    pub expected: Tuple,
    /// `-w`: the expectation's zone (CTA_EXPECT_ZONE).
    pub zone: Option<u16>,
    pub output: Output,
}

impl GetExpect {
    pub fn from_args(args: &GetArgs, env: &Environment) -> Result<GetExpect, UsageError> {
        let target = Target::from_args(&args.target, false)?;
        let tuple = &args.tuple;
        // An expectation has one tuple, the expected connection's original one.
        let other_direction = [
            (tuple.reply_src.is_some(), "-r/--reply-src"),
            (tuple.reply_dst.is_some(), "-q/--reply-dst"),
            (tuple.reply_port_src.is_some(), "--reply-port-src"),
            (tuple.reply_port_dst.is_some(), "--reply-port-dst"),
            (tuple.reply_key_src.is_some(), "--reply-key-src"),
            (tuple.reply_key_dst.is_some(), "--reply-key-dst"),
            (tuple.orig_zone.is_some(), "--orig-zone"),
            (tuple.reply_zone.is_some(), "--reply-zone"),
            (args.id.is_some(), "--id"),
        ];
        if let Some((_, flag)) = other_direction.iter().find(|(given, _)| *given) {
            return Err(usage(format!(
                "{flag} does not fit an expectation: ct get expect takes the tuple of the \
                 expected connection (-s, -d, -p and its ports) and -w its zone"
            )));
        }
        let lookup = whole_tuple("get expect", tuple)?;
        let output = Output::from_args(&args.output, None, env)?;
        check_expect_format(&output.format)?;
        check_expect_columns(&output.format)?;
        Ok(GetExpect {
            target,
            family: lookup.family,
            expected: lookup.tuple,
            zone: lookup.zone,
            output,
        })
    }
}

/// `ct create`: the entry, whole, and what an existing one means.
#[derive(Debug)]
pub struct Create {
    pub target: Target,
    pub entry: NewEntry,
    pub existing: Existing,
}

impl Create {
    pub fn from_args(args: &CreateArgs) -> Result<Create, UsageError> {
        Create::with_labels(args, std::path::Path::new(crate::labelmap::CONNLABEL_CONF))
    }

    /// The plan, reading label names from `label_file`.
    pub fn with_labels(
        args: &CreateArgs,
        label_file: &std::path::Path,
    ) -> Result<Create, UsageError> {
        let target = Target::from_args(&args.target, false)?;
        if let Some(flag) = expect_flags_given(&args.expect).first() {
            return Err(usage(format!(
                "{flag} is for an expectation: ct create expect ... {flag} ..."
            )));
        }
        // The direction given is the tuple; the other one's fields come after.
        let mut given = args.tuple.clone();
        let original_given = given.src.is_some() || given.dst.is_some();
        if original_given {
            given.reply_src = None;
            given.reply_dst = None;
            given.reply_port_src = None;
            given.reply_port_dst = None;
            given.reply_key_src = None;
            given.reply_key_dst = None;
        }
        given.orig_zone = None;
        given.reply_zone = None;
        let lookup = whole_tuple("create", &given)?;
        let (original, mut reply) = if lookup.direction == crate::kernel::CTA_TUPLE_ORIG {
            (lookup.tuple, lookup.tuple.reversed())
        } else {
            (lookup.tuple.reversed(), lookup.tuple)
        };
        if original_given {
            reply = reply_given(&args.tuple, reply)?;
        }
        let mut entry = NewEntry::new(original, args.timeout);
        entry.family = lookup.family;
        entry.original.zone = args.tuple.orig_zone;
        entry.reply = Tuple {
            zone: args.tuple.reply_zone,
            ..reply
        };
        entry.zone = args.tuple.zone;
        entry.mark = args.mark;
        entry.status = create_status(&args.status)?;
        entry.state = create_state(original.protonum, args.state.as_deref())?;
        tracker_extras(original.protonum, args, &mut entry)?;
        entry.source_nat = nat_target("--src-nat", args.src_nat, &entry)?;
        entry.destination_nat = nat_target("--dst-nat", args.dst_nat, &entry)?;
        if !args.label.is_empty() {
            let (_, bits) = label_bits(&args.label, label_file)?;
            let mut labels = LabelBits::new();
            for bit in bits {
                labels.set(bit).map_err(usage)?;
            }
            entry.labels = Some(labels);
        }
        entry.helper = args
            .helper
            .as_deref()
            .map(HelperName::new)
            .transpose()
            .map_err(usage)?;
        let existing = if args.exist_ok {
            Existing::Keep
        } else {
            Existing::Fail
        };
        Ok(Create {
            target,
            entry,
            existing,
        })
    }
}

/// The expectation flags given, by name.
fn expect_flags_given(args: &crate::cli::ExpectArgs) -> Vec<&'static str> {
    let crate::cli::ExpectArgs {
        tuple_src,
        tuple_dst,
        tuple_port_src,
        tuple_port_dst,
        mask_src,
        mask_dst,
        mask_port_src,
        mask_port_dst,
    } = args;
    [
        (tuple_src.is_some(), "--tuple-src"),
        (tuple_dst.is_some(), "--tuple-dst"),
        (tuple_port_src.is_some(), "--tuple-port-src"),
        (tuple_port_dst.is_some(), "--tuple-port-dst"),
        (mask_src.is_some(), "--mask-src"),
        (mask_dst.is_some(), "--mask-dst"),
        (mask_port_src.is_some(), "--mask-port-src"),
        (mask_port_dst.is_some(), "--mask-port-dst"),
    ]
    .into_iter()
    .filter_map(|(given, flag)| given.then_some(flag))
    .collect()
}

/// `ct create expect`: the expectation, whole.
#[derive(Debug)]
pub struct CreateExpect {
    pub target: Target,
    pub expectation: NewExpectation,
}

impl CreateExpect {
    pub fn from_args(args: &CreateArgs) -> Result<CreateExpect, UsageError> {
        let target = Target::from_args(&args.target, false)?;
        let tuple = &args.tuple;
        let entry_only = [
            (!args.status.is_empty(), "-u/--status"),
            (args.mark.is_some(), "-m/--mark"),
            (!args.label.is_empty(), "-l/--label"),
            (args.src_nat.is_some(), "-n/--src-nat"),
            (args.dst_nat.is_some(), "-g/--dst-nat"),
            (args.state.is_some(), "--state"),
            (args.orig_vtag.is_some(), "--orig-vtag"),
            (args.reply_vtag.is_some(), "--reply-vtag"),
            (args.role.is_some(), "--role"),
            (args.helper.is_some(), "--helper"),
            (args.exist_ok, "--exist-ok"),
            (tuple.reply_src.is_some(), "-r/--reply-src"),
            (tuple.reply_dst.is_some(), "-q/--reply-dst"),
            (tuple.reply_port_src.is_some(), "--reply-port-src"),
            (tuple.reply_port_dst.is_some(), "--reply-port-dst"),
            (tuple.orig_zone.is_some(), "--orig-zone"),
            (tuple.reply_zone.is_some(), "--reply-zone"),
        ];
        if let Some((_, flag)) = entry_only.iter().find(|(given, _)| *given) {
            return Err(usage(format!(
                "{flag} does not fit an expectation: ct create expect takes the master's \
                 original tuple (-s, -d, -p and its ports, -w), the expected tuple \
                 (--tuple-*), its mask (--mask-*) and -t"
            )));
        }
        if tuple.src.is_none() && tuple.dst.is_none() {
            return Err(usage(
                "create expect needs the master's original tuple: -s/--src and -d/--dst, \
                 -p/--proto and its ports",
            ));
        }
        let master = whole_tuple("create expect", tuple)?;
        let family = master.family;
        let master = master.tuple;
        let address = |given: Option<crate::filter::AddrMatch>, flag: &str| match given {
            None => Err(usage(format!("create expect needs {flag}"))),
            Some(a) if !a.is_exact() => Err(usage(format!(
                "create expect needs an address for {flag}, not a prefix ({}/{})",
                a.addr, a.mask
            ))),
            Some(a) => Ok(a.addr),
        };
        let of_family = |address: std::net::IpAddr, flag: &str| {
            if Family::of(address) == family {
                Ok(Some(address))
            } else {
                Err(usage(format!(
                    "{flag} {address} is not of the master's family ({})",
                    family.name()
                )))
            }
        };
        let e = &args.expect;
        let expected_src = of_family(address(e.tuple_src, "--tuple-src")?, "--tuple-src")?;
        let expected_dst = of_family(address(e.tuple_dst, "--tuple-dst")?, "--tuple-dst")?;
        let mask_src = e
            .mask_src
            .ok_or_else(|| usage("create expect needs --mask-src"))?;
        let mask_dst = e
            .mask_dst
            .ok_or_else(|| usage("create expect needs --mask-dst"))?;
        let (mask_src, mask_dst) = (
            of_family(mask_src, "--mask-src")?,
            of_family(mask_dst, "--mask-dst")?,
        );
        let port = |given: Option<u16>, flag: &str| {
            given.ok_or_else(|| usage(format!("create expect on a master with ports needs {flag}")))
        };
        let (expected_l4, mask_l4) = match master.l4 {
            L4::Ports { .. } => (
                L4::Ports {
                    sport: port(e.tuple_port_src, "--tuple-port-src")?,
                    dport: port(e.tuple_port_dst, "--tuple-port-dst")?,
                },
                L4::Ports {
                    sport: port(e.mask_port_src, "--mask-port-src")?,
                    dport: port(e.mask_port_dst, "--mask-port-dst")?,
                },
            ),
            L4::None => {
                let ports = [
                    (e.tuple_port_src, "--tuple-port-src"),
                    (e.tuple_port_dst, "--tuple-port-dst"),
                    (e.mask_port_src, "--mask-port-src"),
                    (e.mask_port_dst, "--mask-port-dst"),
                ];
                if let Some((_, flag)) = ports.iter().find(|(given, _)| given.is_some()) {
                    return Err(usage(format!(
                        "{flag} does not fit protocol {}, which has no ports",
                        master.protonum
                    )));
                }
                (L4::None, L4::None)
            }
            L4::Icmp { .. } | L4::Gre { .. } => {
                return Err(usage(
                    "ct create expect takes a master with ports (tcp, udp, udplite, sctp, \
                     dccp) or of a protocol without any; an icmp or gre one it cannot \
                     give an expected tuple",
                ));
            }
        };
        let expected = Tuple {
            src: expected_src,
            dst: expected_dst,
            protonum: master.protonum,
            l4: expected_l4,
            zone: None,
        };
        let mask = Tuple {
            src: mask_src,
            dst: mask_dst,
            protonum: master.protonum,
            l4: mask_l4,
            zone: None,
        };
        Ok(CreateExpect {
            target,
            expectation: NewExpectation {
                family,
                master,
                expected,
                mask,
                timeout: args.timeout,
                zone: tuple.zone,
            },
        })
    }
}

/// The reply tuple of a create given with both directions: `-r` and `-q` (both, or
/// neither) and the reply's ports, each replacing what the reversal made.
fn reply_given(args: &crate::cli::TupleArgs, reversed: Tuple) -> Result<Tuple, UsageError> {
    let exact = |given: Option<crate::filter::AddrMatch>, flag: &str| match given {
        Some(a) if !a.is_exact() => Err(usage(format!(
            "create needs an address for {flag}, not a prefix ({}/{})",
            a.addr, a.mask
        ))),
        other => Ok(other.map(|a| a.addr)),
    };
    let mut reply = reversed;
    match (
        exact(args.reply_src, "-r/--reply-src")?,
        exact(args.reply_dst, "-q/--reply-dst")?,
    ) {
        (Some(src), Some(dst)) => {
            for address in [src, dst] {
                if reversed.src.map(Family::of) != Some(Family::of(address)) {
                    return Err(usage(format!(
                        "the reply address {address} is not of the original's family"
                    )));
                }
            }
            reply.src = Some(src);
            reply.dst = Some(dst);
        }
        (None, None) => {}
        _ => {
            return Err(usage(
                "create needs both -r/--reply-src and -q/--reply-dst, or neither (the reply \
                 is then the original turned around)",
            ));
        }
    }
    let ports = (args.reply_port_src, args.reply_port_dst);
    let keys = (args.reply_key_src, args.reply_key_dst);
    match (reply.l4, ports, keys) {
        (_, (None, None), (None, None)) => {}
        (L4::Ports { .. }, (Some(sport), Some(dport)), (None, None)) => {
            reply.l4 = L4::Ports { sport, dport };
        }
        (L4::Gre { .. }, (None, None), (Some(srckey), Some(dstkey))) => {
            reply.l4 = L4::Gre { srckey, dstkey };
        }
        _ => {
            return Err(usage(
                "create takes the reply's ports (--reply-port-src and --reply-port-dst) or \
                 GRE keys (--reply-key-src and --reply-key-dst) in pairs, for a protocol \
                 that has them",
            ));
        }
    }
    Ok(reply)
}

/// `-u` of create: the flags to set. `!FLAG` sets nothing and is refused; UNREPLIED is
/// what a new entry is anyway.
fn create_status(given: &[crate::filter::StatusMatch]) -> Result<Option<u32>, UsageError> {
    if given.is_empty() {
        return Ok(None);
    }
    let status = given
        .iter()
        .fold(crate::filter::StatusMatch::default(), |all, one| {
            all.and(*one)
        });
    if status.clear & !(1 << crate::kernel::IPS_SEEN_REPLY_BIT) != 0 {
        return Err(usage(
            "create sets status flags; a !FLAG clears nothing on a new entry, leave it out",
        ));
    }
    Ok(Some(status.set))
}

/// `--state` of create: a state of the protocol's tracker, any case; tcp's LISTEN is
/// SYN_SENT2 (conntrack's word for state 9). tcp needs one, as conntrack -I demands.
fn create_state(protonum: u8, given: Option<&str>) -> Result<Option<ProtoState>, UsageError> {
    use crate::kernel::{IPPROTO_TCP, TCP_CONNTRACK_SYN_SENT2};
    let Some(name) = given else {
        if protonum == IPPROTO_TCP {
            return Err(usage(
                "create needs --state for tcp (the tracker's state, e.g. ESTABLISHED), as \
                 conntrack -I does",
            ));
        }
        return Ok(None);
    };
    let upper = name.to_ascii_uppercase();
    if protonum == IPPROTO_TCP && upper == "LISTEN" {
        return Ok(Some(ProtoState::Tcp(TCP_CONNTRACK_SYN_SENT2)));
    }
    match ProtoState::parse(protonum, &upper) {
        Some(Some(state)) => Ok(Some(state)),
        Some(None) => Err(usage(format!(
            "unknown {} state '{name}'",
            crate::model::entry::protocol_text(protonum)
        ))),
        None => Err(usage(format!(
            "--state: {} has no tracker states ({} have)",
            crate::model::entry::protocol_text(protonum),
            crate::model::entry::stateful_protocols_text()
        ))),
    }
}

/// SCTP's `--orig-vtag` and `--reply-vtag` and DCCP's `--role` of create: each only for
/// its protocol, and given with `--state` (and the other tag), as
/// [`TrackerExtras::check`] says.
fn tracker_extras(protonum: u8, args: &CreateArgs, entry: &mut NewEntry) -> Result<(), UsageError> {
    crate::model::create::TrackerExtras {
        state: args.state.is_some(),
        orig_vtag: args.orig_vtag.is_some(),
        reply_vtag: args.reply_vtag.is_some(),
        role: args.role.is_some(),
    }
    .check(protonum)
    .map_err(|err| usage(format!("create {err}")))?;
    entry.sctp_vtag_original = args.orig_vtag;
    entry.sctp_vtag_reply = args.reply_vtag;
    entry.dccp_role = args.role;
    Ok(())
}

/// `--src-nat` or `--dst-nat` of create: an address of the entry's family, and a port
/// only for a protocol with ports.
fn nat_target(
    flag: &str,
    given: Option<crate::filter::values::NatMatch>,
    entry: &NewEntry,
) -> Result<Option<NatTarget>, UsageError> {
    let Some(given) = given else {
        return Ok(None);
    };
    let address = given
        .addr
        .ok_or_else(|| usage(format!("{flag} needs an address: ADDR or ADDR:PORT")))?;
    if Family::of(address) != entry.family {
        return Err(usage(format!(
            "{flag} {address} is {} but the entry is {}",
            Family::of(address).name(),
            entry.family.name()
        )));
    }
    if given.port.is_some() && !crate::model::entry::has_ports(entry.original.protonum) {
        return Err(usage(format!(
            "{flag}: {} has no ports to map; give the address alone",
            crate::model::entry::protocol_text(entry.original.protonum)
        )));
    }
    Ok(Some(NatTarget {
        address,
        port: given.port,
    }))
}

/// `ct restore`: where the saved lines come from.
#[derive(Debug)]
pub struct Restore {
    pub target: Target,
    /// A file, or `-` for standard input.
    pub file: String,
}

impl Restore {
    pub fn from_args(args: &RestoreArgs) -> Result<Restore, UsageError> {
        Ok(Restore {
            target: Target::from_args(&args.target, false)?,
            file: args.file.clone(),
        })
    }
}

/// How the user asked to delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DeletePath {
    /// One flush request where it is exact and safe, else entry by entry: `ct flush`'s
    /// default, which reports no entries.
    Auto,
    /// Entry by entry: `ct delete`'s default, whose report is exact.
    PerEntry,
    OneRequest,
}

impl DeletePath {
    fn from_args(args: &DeleteModeArgs, default: DeletePath) -> DeletePath {
        match (args.per_entry, args.one_request) {
            (true, _) => DeletePath::PerEntry,
            (_, true) => DeletePath::OneRequest,
            _ => default,
        }
    }
}

/// How the entries are deleted: one by one, or by one flush request (per family) where
/// the running kernel evaluates the whole filter exactly.
fn one_request(filter: &Filter, path: DeletePath) -> Result<Option<FlushRequest>, UsageError> {
    let one_request = match (path, KernelRelease::running()) {
        (DeletePath::PerEntry, _) | (_, None) => None,
        (_, Some(release)) => FlushRequest::exact(filter, release),
    };
    if path == DeletePath::OneRequest && one_request.is_none() {
        return Err(usage(
            "--one-request: the kernel cannot delete by this filter in one request (it \
             matches prefixes, IPv6 addresses, zones, GRE keys, states, NAT, labels, ids \
             and helpers only in ct, or this kernel is older than the one that honours it); leave it out to \
             delete entry by entry",
        ));
    }
    Ok(one_request)
}

fn refuse_one_request_for_expectations(path: DeletePath) -> Result<(), UsageError> {
    match path {
        DeletePath::OneRequest => Err(usage(
            "--one-request deletes entries by a filter; expectations go one by one",
        )),
        _ => Ok(()),
    }
}

/// `ct delete`.
#[derive(Debug)]
pub struct Delete {
    pub target: Target,
    pub table: Table,
    pub filter: Filter,
    pub output: Output,
    /// For entries: the one flush request that deletes them, where it is exact and was
    /// asked for (`--one-request`); none to delete one by one.
    pub one_request: Option<FlushRequest>,
    pub dry_run: bool,
}

impl Delete {
    pub fn from_args(args: &DeleteArgs, env: &Environment) -> Result<Delete, UsageError> {
        let target = Target::from_args(&args.target, false)?;
        let (filter, label_map) = filter(&args.filter)?;
        let output = Output::from_args(&args.output, label_map, env)?;
        let path = DeletePath::from_args(&args.delete, DeletePath::PerEntry);
        let one_request = if args.table.holds_expectations() {
            check_expect_filter(&filter)?;
            check_expect_format(&output.format)?;
            refuse_one_request_for_expectations(path)?;
            None
        } else {
            one_request(&filter, path)?
        };
        Ok(Delete {
            target,
            table: args.table,
            filter,
            output,
            one_request,
            dry_run: args.delete.dry_run,
        })
    }
}

/// `ct update`.
#[derive(Debug)]
pub struct Update {
    pub target: Target,
    pub filter: Filter,
    pub output: Output,
    pub changes: Changes,
    pub dry_run: bool,
    /// Entries the changes would leave as they are are not sent, and not counted
    /// (conntrack -U's way); `ct update` sends and counts them.
    pub skip_unchanged: bool,
}

/// What conntrack -U changes that `ct update`'s flags cannot say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConntrackChanges {
    /// `-m VALUE/MASK` with bits of VALUE outside MASK: the kernel's `(old & ~MASK) ^
    /// VALUE` flips them, as conntrack does.
    pub mark: Option<MarkChange>,
    /// `--label-del` without a name: every label cleared.
    pub clear_labels: bool,
}

impl Update {
    pub fn from_args(args: &UpdateArgs, env: &Environment) -> Result<Update, UsageError> {
        let mut plan = Update::with_conntrack_changes(args, env, ConntrackChanges::default())?;
        plan.skip_unchanged = false;
        Ok(plan)
    }

    /// The plan of conntrack -U: `args`, with the changes only conntrack's command line
    /// can give, and entries left as they are skipped.
    pub fn with_conntrack_changes(
        args: &UpdateArgs,
        env: &Environment,
        extra: ConntrackChanges,
    ) -> Result<Update, UsageError> {
        let target = Target::from_args(&args.target, false)?;
        let (filter, label_map) = filter(&args.filter)?;
        let given = extra != ConntrackChanges::default();
        let (mut changes, label_map) = changes(
            &args.changes,
            label_map,
            Path::new(crate::labelmap::CONNLABEL_CONF),
            given,
        )?;
        if let Some(mark) = extra.mark {
            changes.mark = Some(mark);
        }
        if extra.clear_labels {
            let add = changes.labels.map_or(0, |labels| labels.add);
            changes.labels = Some(LabelChange { add, delete: !add });
        }
        let output = Output::from_args(&args.output, label_map, env)?;
        Ok(Update {
            target,
            filter,
            output,
            changes,
            dry_run: args.dry_run,
            skip_unchanged: true,
        })
    }
}

/// The changes of `ct update`, checked: at least one, a mark value within its mask,
/// labels the label map names (read from `label_file` unless the filter's `-l` read it
/// already), no label both added and deleted, only status flags the kernel lets a user
/// set. Returns the label map for the output too. `more` says a change comes from
/// elsewhere (conntrack's command line), so none here is no error.
fn changes(
    args: &ChangeArgs,
    label_map: Option<LabelMap>,
    label_file: &Path,
    more: bool,
) -> Result<(Changes, Option<LabelMap>), UsageError> {
    let ChangeArgs {
        set_mark,
        add_label,
        del_label,
        set_timeout,
        set_status,
    } = args;
    if !more
        && set_mark.is_none()
        && add_label.is_empty()
        && del_label.is_empty()
        && set_timeout.is_none()
        && set_status.is_empty()
    {
        return Err(usage(
            "ct update needs a change: --set-mark, --add-label, --del-label, --set-timeout \
             or --set-status (the other flags select the entries)",
        ));
    }
    if *set_timeout == Some(0) {
        return Err(usage(
            "--set-timeout 0 would end the entries at once, so none could be read back; \
             to remove them, use ct delete with the same filters",
        ));
    }
    let mark = match set_mark {
        Some(mark) if mark.value & !mark.mask != 0 => {
            return Err(usage(format!(
                "--set-mark {:#x}/{:#x}: the value has bits outside the mask ({:#x}); give \
                 only bits of the mask",
                mark.value,
                mark.mask,
                mark.value & !mark.mask
            )));
        }
        Some(mark) => Some(MarkChange {
            value: mark.value,
            mask: mark.mask,
        }),
        None => None,
    };
    let status = set_status
        .iter()
        .copied()
        .reduce(crate::filter::StatusMatch::and)
        .unwrap_or_default();
    if status.clear != 0 {
        return Err(usage(
            "--set-status only sets flags: the kernel never clears one on request (give \
             flags without ! and not UNREPLIED)",
        ));
    }
    let settable = SETTABLE_STATUS.iter().fold(0, |bits, bit| bits | 1 << bit);
    if status.set & !settable != 0 {
        return Err(usage(
            "--set-status takes SEEN_REPLY, ASSURED and FIXED_TIMEOUT: the kernel sets and \
             keeps the other flags itself",
        ));
    }
    let mut label_map = label_map;
    let labels = if add_label.is_empty() && del_label.is_empty() {
        None
    } else {
        if label_map.is_none() {
            label_map = Some(filter::load_labels(
                label_file,
                "--add-label and --del-label need",
            )?);
        }
        let Some(map) = label_map.as_ref() else {
            return Err(usage("no label map"));
        };
        let bits = |names: &[String]| -> Result<u128, UsageError> {
            names.iter().try_fold(0u128, |bits, name| {
                let bit = filter::label_bit(map, name, label_file)?;
                if bit >= crate::model::entry::LabelBits::BITS {
                    return Err(usage(format!(
                        "label '{name}' is bit {bit}; the kernel has {} label bits",
                        crate::model::entry::LabelBits::BITS
                    )));
                }
                Ok(bits | 1u128 << bit)
            })
        };
        let change = LabelChange {
            add: bits(add_label)?,
            delete: bits(del_label)?,
        };
        if change.add & change.delete != 0 {
            return Err(usage(
                "a label is both added and deleted; give it to one of --add-label and \
                 --del-label",
            ));
        }
        Some(change)
    };
    Ok((
        Changes {
            mark,
            labels,
            timeout: *set_timeout,
            status: status.set,
        },
        label_map,
    ))
}

/// `ct flush`.
#[derive(Debug)]
pub struct Flush {
    pub target: Target,
    pub table: Table,
    /// `-f`, the one filter a flush takes.
    pub family: Option<Family>,
    /// The family as a filter.
    pub filter: Filter,
    pub output: Output,
    /// For entries: the one flush request, where it is exact (the default, or
    /// `--one-request`); none to delete one by one.
    pub one_request: Option<FlushRequest>,
    /// For expectations: one flush request (neither `-f` nor `--per-entry`).
    pub expectations_at_once: bool,
    pub dry_run: bool,
}

impl Flush {
    pub fn from_args(args: &FlushArgs, env: &Environment) -> Result<Flush, UsageError> {
        output::check_flush_output(args)?;
        let target = Target::from_args(&args.target, false)?;
        let output = Output::from_args(&args.output, None, env)?;
        let path = DeletePath::from_args(&args.delete, DeletePath::Auto);
        let dry_run = args.delete.dry_run;
        let family = args.family.map(FamilyArg::family);
        let filter = Filter {
            family: family.map(Family::raw),
            ..Filter::default()
        };
        let mut one_request = None;
        let expectations_at_once = filter.family.is_none() && path != DeletePath::PerEntry;
        if !args.table.holds_expectations() {
            one_request = self::one_request(&filter, path)?;
        } else if !dry_run && !expectations_at_once {
            refuse_one_request_for_expectations(path)?;
        }
        Ok(Flush {
            target,
            table: args.table,
            family,
            filter,
            output,
            one_request,
            expectations_at_once,
            dry_run,
        })
    }
}

/// `ct top`.
#[derive(Debug)]
pub struct Top {
    pub source: Source,
    pub filter: Filter,
    /// Where the names of the labels shown come from.
    pub labels: LabelSource,
    /// Draw the live view (on a terminal) rather than print the groups once.
    pub live: bool,
    pub by: Vec<KeyField>,
    pub sort: SortArg,
    /// How many groups to show.
    pub limit: usize,
    pub interval: Duration,
    pub format: TopFormat,
}

impl Top {
    pub fn from_args(args: &TopArgs, env: &Environment) -> Result<Top, UsageError> {
        let target = Target::from_args(&args.target, args.all.all_netns)?;
        let (filter, label_map) = filter(&args.filter)?;
        let source = Source::new(&args.input.input, target, &label_map);
        let live = wants_live(args, env.stdout_is_terminal)?;
        if let Source::Kernel(target) = &source {
            if args.by.contains(&KeyField::Netns) && !target.all() {
                return Err(usage(
                    "--by netns groups the entries of every namespace: add --all-netns",
                ));
            }
        }
        Ok(Top {
            source,
            filter,
            labels: LabelSource::names(label_map),
            live,
            by: args.by.clone(),
            sort: args.sort,
            limit: args.top as usize,
            interval: args.interval,
            format: match args.output {
                None | Some(TopFormatArg::Table) => TopFormat::Table,
                Some(TopFormatArg::Json) => TopFormat::Json,
                Some(TopFormatArg::Plain) => TopFormat::Plain,
            },
        })
    }
}

/// Whether `ct top` draws the live view: on a terminal unless `--once` or `-o` asks for
/// the groups printed once, and with `--live`, which fails without a terminal rather
/// than quietly printing once.
fn wants_live(args: &TopArgs, terminal: bool) -> Result<bool, UsageError> {
    if args.live && !terminal {
        return Err(usage(
            "--live needs a terminal to draw on, and standard output is not one; \
             leave --live out to print the groups once",
        ));
    }
    if args.live && args.input.input.is_some() {
        return Err(usage(
            "--live reads the kernel's table again and again; a saved dump (--input) is \
             printed once",
        ));
    }
    let live = args.live
        || (terminal && !args.once && args.output.is_none() && args.input.input.is_none());
    if !live && args.sort == SortArg::New {
        return Err(usage(
            "--sort new needs the live view: new entries are counted between its \
             refreshes, and printed once there is nothing to count against",
        ));
    }
    Ok(live)
}

/// What `ct watch` listens to and when it stops.
#[derive(Debug)]
pub struct Watch {
    pub target: Target,
    pub filter: Filter,
    pub output: Output,
    pub events: EventSet,
    /// Whose events: the connections' or the expectations' (`ct watch expect`).
    pub table: Table,
    /// Stop after this many events shown (`--count`).
    pub count: Option<u64>,
    /// Stop after this long (`--duration`).
    pub duration: Option<Duration>,
    /// NETLINK_BROADCAST_ERROR (`--reliable`).
    pub reliable: bool,
    /// Attach the BPF filter to the socket (not `--no-kernel-filter`).
    pub kernel_filter: bool,
}

impl Watch {
    /// Checks what `ct watch` was asked against the output chosen: a table cannot be
    /// printed before the stream ends, which it never does on its own.
    pub fn from_args(args: &WatchArgs, env: &Environment) -> Result<Watch, UsageError> {
        let target = Target::from_args(&args.target, args.all.all_netns)?;
        let (filter, label_map) = filter(&args.filter)?;
        let output = Output::from_args(&args.output, label_map, env)?;
        if matches!(output.format, Format::Table { .. }) {
            return Err(usage(
                "-o table cannot show events: a table is aligned over all its rows, and a \
                 stream has no last row; use the classic lines, -o json or -o xml",
            ));
        }
        let wants = |kind| {
            args.events
                .iter()
                .any(|e| *e == kind || *e == EventArg::All)
        };
        let events = if args.events.is_empty() {
            EventSet::ALL
        } else {
            EventSet {
                new: wants(EventArg::New),
                update: wants(EventArg::Update),
                destroy: wants(EventArg::Destroy),
            }
        };
        if args.table.holds_expectations() {
            check_expect_filter(&filter)?;
            check_expect_format(&output.format)?;
        }
        if target.all() {
            check_taggable(&output.format)?;
        }
        Ok(Watch {
            target,
            filter,
            output,
            events,
            table: args.table,
            count: args.count,
            duration: args.duration,
            reliable: args.reliable,
            kernel_filter: !args.no_kernel_filter,
        })
    }
}

impl Watch {
    /// True when the kernel sends again every event it could not deliver: with
    /// `--reliable` (NETLINK_BROADCAST_ERROR) ctnetlink keeps a connection's DESTROY
    /// event that did not fit and retries it, but folds a lost NEW or UPDATE into the
    /// connection's next event, and sends expectation events once. So only a watch of
    /// connections' DESTROY events alone loses nothing when the socket's buffer is full.
    pub fn resends_lost_events(&self) -> bool {
        self.reliable && !self.table.holds_expectations() && !self.events.new && !self.events.update
    }
}

/// `ct exporter`.
#[derive(Debug)]
pub struct Exporter {
    pub listen: std::net::SocketAddr,
    /// The namespaces each scrape reads.
    pub scope: Scope,
    /// Dump the namespaces that hold entries for the breakdown metrics.
    pub breakdown: bool,
    /// How long a scrape's reading may dump for the breakdowns (`--scrape-timeout`).
    pub scrape_timeout: Duration,
    /// One series per CPU.
    pub per_cpu: bool,
    pub top_sources: Option<usize>,
    pub top_destinations: Option<usize>,
}

impl Exporter {
    pub fn from_args(args: &ExporterArgs) -> Result<Exporter, UsageError> {
        Ok(Exporter {
            listen: args.listen,
            scope: scope(args.netns.as_deref(), args.all_netns)?,
            breakdown: !args.no_breakdown,
            scrape_timeout: args.scrape_timeout,
            per_cpu: args.per_cpu,
            top_sources: args.top_sources.map(|n| n as usize),
            top_destinations: args.top_destinations.map(|n| n as usize),
        })
    }
}

#[cfg(test)]
mod tests;
