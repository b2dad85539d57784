//! From what the user typed to checked values, before any socket opens.
//!
//! clap checks each value on its own; this module checks how they fit together (an
//! IPv6 address with `-f ipv4`, a `--state` no selected protocol has, a label the label
//! map does not name) and reports a misfit as a [`UsageError`], which exits 2 like a
//! bad value does. Each argument group of [`crate::cli::groups`] resolves to one part
//! here: [`Target`] (where), [`Filter`] (which), [`Output`] (how); a command combines the
//! parts it needs. The stages after this one only meet the kernel's and the system's
//! errors.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use crate::cli::{
    CountTableArg, EventArg, FamilyArg, FilterArgs, FlushArgs, OutputArgs, OutputOption,
    TargetArgs, TupleArgs, WatchArgs,
};
use crate::filter::{AddrMatch, Filter, StatusMatch, family_of, resolve_states};
use crate::kernel::*;
use crate::labelmap::{CONNLABEL_CONF, LabelMap};
use crate::model::entry::{Family, L4, Tuple, has_ports, proto_name};
use crate::model::event::EventSet;
use crate::output::Format;
use crate::output::classic::ClassicOptions;
use crate::output::table::ColorChoice;

/// A command line whose values are each fine but do not fit together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Where to talk to the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Target {
    /// Network namespace to enter first, as the user named it.
    pub netns: Option<String>,
    /// SO_RCVBUF for the netlink socket, when the user chose one.
    pub socket_buffer: Option<usize>,
}

impl Target {
    pub fn from_args(args: &TargetArgs) -> Result<Target, UsageError> {
        if args.netns.as_deref() == Some("") {
            return Err(usage(
                "--netns needs a namespace: a name from `ip netns list`, a path or a pid",
            ));
        }
        Ok(Target {
            netns: args.netns.clone(),
            socket_buffer: args.buffer_size.map(|size| size as usize),
        })
    }
}

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

/// The filter of `args`, reading label names for `-l` from the system's label file.
pub fn filter(args: &FilterArgs) -> Result<(Filter, Option<LabelMap>), UsageError> {
    filter_with_labels(args, Path::new(CONNLABEL_CONF))
}

/// What `ct get` asks the kernel for: one tuple, in the direction the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// AF_INET or AF_INET6, from the addresses.
    pub family: u8,
    /// CTA_TUPLE_ORIG or CTA_TUPLE_REPLY.
    pub direction: u16,
    pub tuple: Tuple,
    /// `-w`: the entry's zone (CTA_ZONE).
    pub zone: Option<u16>,
    /// `--orig-zone` or `--reply-zone`: the zone of the tuple's direction
    /// (CTA_TUPLE_ZONE).
    pub tuple_zone: Option<u16>,
}

/// The tuple `ct get` looks up. The kernel finds an entry only by a whole tuple, so both
/// addresses, the protocol and its layer-4 fields are required (ports; or ICMP type,
/// code and id; or GRE keys), in one direction: `-s -d` or `-r -q`. Layer-4 flags the
/// protocol has no use for are refused, as `ct list` refuses them.
pub fn lookup(args: &TupleArgs) -> Result<Lookup, UsageError> {
    let original = args.src.is_some() || args.dst.is_some();
    let reply = args.reply_src.is_some() || args.reply_dst.is_some();
    let (direction, src, dst, (ports, keys), zone_flag) = match (original, reply) {
        (true, _) => (
            (CTA_TUPLE_ORIG, "-s/--src", "-d/--dst"),
            args.src,
            args.dst,
            (
                (args.sport, args.dport, "--sport", "--dport"),
                (args.srckey, args.dstkey, "--srckey", "--dstkey"),
            ),
            (
                args.orig_zone,
                "--orig-zone",
                args.reply_zone,
                "--reply-zone",
            ),
        ),
        (false, true) => (
            (CTA_TUPLE_REPLY, "-r/--reply-src", "-q/--reply-dst"),
            args.reply_src,
            args.reply_dst,
            (
                (
                    args.reply_port_src,
                    args.reply_port_dst,
                    "--reply-port-src",
                    "--reply-port-dst",
                ),
                (
                    args.reply_key_src,
                    args.reply_key_dst,
                    "--reply-key-src",
                    "--reply-key-dst",
                ),
            ),
            (
                args.reply_zone,
                "--reply-zone",
                args.orig_zone,
                "--orig-zone",
            ),
        ),
        (false, false) => {
            return Err(usage(
                "get needs a tuple: -s/--src and -d/--dst (or -r/--reply-src and \
                 -q/--reply-dst), -p/--proto and its ports, ICMP type, code and id, or GRE \
                 keys",
            ));
        }
    };
    let (kind, src_flag, dst_flag) = direction;
    let address = |given: Option<AddrMatch>, flag: &str| match given {
        None => Err(usage(format!("get needs both {src_flag} and {dst_flag}"))),
        Some(a) if !a.is_exact() => Err(usage(format!(
            "get needs an address for {flag}, not a prefix ({}/{})",
            a.addr, a.mask
        ))),
        Some(a) => Ok(a.addr),
    };
    let (src, dst) = (address(src, src_flag)?, address(dst, dst_flag)?);
    let family = family_of(src);
    if family_of(dst) != family {
        return Err(usage(format!(
            "{src_flag} {src} and {dst_flag} {dst} are of different families"
        )));
    }
    if let Some(wanted) = args.family {
        let wanted = wanted.raw();
        if wanted != family {
            return Err(usage(format!(
                "{src_flag} {src} is {} but -f/--family asks for {}",
                Family::from_raw(family).name(),
                Family::from_raw(wanted).name()
            )));
        }
    }
    let protonum = match args.proto[..] {
        [one] => one,
        [] => return Err(usage("get needs -p/--proto")),
        _ => return Err(usage("get takes one protocol in -p/--proto")),
    };
    check_layer4_flags(args, None, &[protonum])?;
    let other_keys = if kind == CTA_TUPLE_ORIG {
        [
            (args.reply_key_src, "--reply-key-src"),
            (args.reply_key_dst, "--reply-key-dst"),
        ]
    } else {
        [(args.srckey, "--srckey"), (args.dstkey, "--dstkey")]
    };
    if let Some((_, flag)) = other_keys.iter().find(|(key, _)| key.is_some()) {
        return Err(usage(format!(
            "{flag} does not fit a tuple given with {src_flag} and {dst_flag}"
        )));
    }
    let l4 = lookup_l4(args, protonum, ports, keys)?;
    let (tuple_zone, _, other_zone, other_flag) = zone_flag;
    if other_zone.is_some() {
        return Err(usage(format!(
            "{other_flag} does not fit a tuple given with {src_flag} and {dst_flag}"
        )));
    }
    Ok(Lookup {
        family,
        direction: kind,
        tuple: Tuple {
            src: Some(src),
            dst: Some(dst),
            protonum,
            l4,
            zone: None,
        },
        zone: args.zone,
        tuple_zone,
    })
}

/// One direction's pair of layer-4 values (ports or keys) and their flags.
type Pair<'a> = (Option<u16>, Option<u16>, &'a str, &'a str);

/// The layer-4 part of a lookup's tuple: what the protocol's tracker needs.
fn lookup_l4(
    args: &TupleArgs,
    protonum: u8,
    (sport, dport, sport_flag, dport_flag): Pair,
    (srckey, dstkey, srckey_flag, dstkey_flag): Pair,
) -> Result<L4, UsageError> {
    let both_ports = || match (sport, dport) {
        (Some(sport), Some(dport)) => Ok((sport, dport)),
        _ => Err(usage(format!(
            "get needs {sport_flag} and {dport_flag} for this protocol"
        ))),
    };
    let both_keys = || match (srckey, dstkey) {
        (Some(srckey), Some(dstkey)) => Ok(L4::Gre { srckey, dstkey }),
        _ => Err(usage(format!(
            "get needs {srckey_flag} and {dstkey_flag} for gre (its tuple carries keys, in \
             hex or decimal)"
        ))),
    };
    match protonum {
        IPPROTO_ICMP | IPPROTO_ICMPV6 => match (args.icmp_type, args.icmp_code, args.icmp_id) {
            (Some(icmp_type), Some(code), Some(id)) => Ok(L4::Icmp {
                icmp_type,
                code,
                id,
            }),
            _ => Err(usage(
                "get needs --icmp-type, --icmp-code and --icmp-id for icmp and icmpv6",
            )),
        },
        IPPROTO_GRE => both_keys(),
        protonum if has_ports(protonum) => {
            both_ports().map(|(sport, dport)| L4::Ports { sport, dport })
        }
        _ => Ok(L4::None),
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

/// What `ct watch` listens to and when it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    pub events: EventSet,
    /// Expectation events rather than entry events (`ct watch expect`).
    pub expectations: bool,
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
    pub fn from_args(args: &WatchArgs, output: &Output) -> Result<Watch, UsageError> {
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
        Ok(Watch {
            events,
            expectations: args.table == CountTableArg::Expect,
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
        self.reliable && !self.expectations && !self.events.new && !self.events.update
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

fn usage(message: impl Into<String>) -> UsageError {
    UsageError(message.into())
}

/// The filter, and the label map when `-l` had to read it from `label_file`.
pub fn filter_with_labels(
    args: &FilterArgs,
    label_file: &Path,
) -> Result<(Filter, Option<LabelMap>), UsageError> {
    let tuple = &args.tuple;
    let mut filter = Filter {
        family: family(args)?,
        protocols: dedup(&tuple.proto),
        orig_src: with_mask(tuple.src, args.mask_src, "--mask-src", "-s/--src")?,
        orig_dst: with_mask(tuple.dst, args.mask_dst, "--mask-dst", "-d/--dst")?,
        reply_src: tuple.reply_src,
        reply_dst: tuple.reply_dst,
        any_addr: args.addr,
        orig_sport: tuple.sport,
        orig_dport: tuple.dport,
        reply_sport: tuple.reply_port_src,
        reply_dport: tuple.reply_port_dst,
        any_port: args.port,
        orig_key_src: tuple.srckey,
        orig_key_dst: tuple.dstkey,
        reply_key_src: tuple.reply_key_src,
        reply_key_dst: tuple.reply_key_dst,
        icmp_type: tuple.icmp_type,
        icmp_code: tuple.icmp_code,
        icmp_id: tuple.icmp_id,
        states: Vec::new(),
        mark: args.mark,
        zone: tuple.zone,
        orig_zone: tuple.orig_zone,
        reply_zone: tuple.reply_zone,
        status: args.status.iter().copied().reduce(StatusMatch::and),
        src_nat: args.src_nat,
        dst_nat: args.dst_nat,
        any_nat: args.any_nat,
        labels: Vec::new(),
        helper: args.helper.clone(),
    };
    if let Some(status) = filter.status {
        if status.set & status.clear != 0 {
            return Err(usage("-u/--status asks for a flag both set and clear"));
        }
    }
    if !filter.protocols.is_empty() {
        check_layer4_flags(tuple, args.port, &filter.protocols)?;
    }
    check_icmp_has_a_protocol(tuple, &filter.protocols)?;
    filter.states = resolve_states(&args.state, &filter.protocols)
        .map_err(|message| usage(format!("invalid --state: {message}")))?;
    let label_map = if args.label.is_empty() {
        None
    } else {
        let map = LabelMap::load(label_file).map_err(|err| {
            usage(format!(
                "-l/--label needs label names from {}: {err}",
                label_file.display()
            ))
        })?;
        filter.labels = args
            .label
            .iter()
            .map(|name| {
                map.bit(name).ok_or_else(|| {
                    usage(format!(
                        "unknown label '{name}' (not in {})",
                        label_file.display()
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Some(map)
    };
    Ok((filter, label_map))
}

/// The family from `-f` and from every address given, which must agree (conntrack:
/// "mismatched address family"). An address alone narrows the dump to its family.
fn family(args: &FilterArgs) -> Result<Option<u8>, UsageError> {
    let tuple = &args.tuple;
    let mut family = tuple.family.map(FamilyArg::raw);
    let mut source = "-f/--family";
    let nat_addr = |nat: Option<crate::filter::NatMatch>| nat.and_then(|n| n.addr);
    let addresses: [(&str, Option<IpAddr>); 10] = [
        ("-s/--src", tuple.src.map(|a| a.addr)),
        ("-d/--dst", tuple.dst.map(|a| a.addr)),
        ("-r/--reply-src", tuple.reply_src.map(|a| a.addr)),
        ("-q/--reply-dst", tuple.reply_dst.map(|a| a.addr)),
        ("--mask-src", args.mask_src),
        ("--mask-dst", args.mask_dst),
        ("--addr", args.addr.map(|a| a.addr)),
        ("-n/--src-nat", nat_addr(args.src_nat)),
        ("-g/--dst-nat", nat_addr(args.dst_nat)),
        ("-j/--any-nat", nat_addr(args.any_nat)),
    ];
    for (flag, addr) in addresses {
        let Some(addr) = addr else { continue };
        let this = family_of(addr);
        match family {
            Some(known) if known != this => {
                return Err(usage(format!(
                    "{flag} {addr} is {} but {source} asks for {}",
                    Family::from_raw(this).name(),
                    Family::from_raw(known).name()
                )));
            }
            Some(_) => {}
            None => {
                family = Some(this);
                source = flag;
            }
        }
    }
    Ok(family)
}

fn with_mask(
    addr: Option<AddrMatch>,
    mask: Option<IpAddr>,
    mask_flag: &str,
    addr_flag: &str,
) -> Result<Option<AddrMatch>, UsageError> {
    match (addr, mask) {
        (addr, None) => Ok(addr),
        (Some(addr), Some(mask)) => addr
            .with_mask(mask)
            .map(Some)
            .map_err(|message| usage(format!("invalid {mask_flag}: {message}"))),
        (None, Some(_)) => Err(usage(format!("{mask_flag} needs {addr_flag}"))),
    }
}

/// Port flags with `-p` naming only protocols that have no ports select nothing, and so
/// do key flags without gre in `-p`: say so, and where the protocol's tuple carries
/// something else in those fields (GRE keys, ICMP's type, code and id), name the flags
/// that select it (conntrack refuses such options outright). `--sport` never means a
/// GRE key: ct prints keys as keys, and conntrack has no `--sport` for gre.
fn check_layer4_flags(
    tuple: &TupleArgs,
    any_port: Option<u16>,
    protocols: &[u8],
) -> Result<(), UsageError> {
    // Each flag with its counterpart among the keys (ports) or the ports (keys).
    let port_flag = [
        (tuple.sport, "--sport", "--srckey"),
        (tuple.dport, "--dport", "--dstkey"),
        (tuple.reply_port_src, "--reply-port-src", "--reply-key-src"),
        (tuple.reply_port_dst, "--reply-port-dst", "--reply-key-dst"),
        (any_port, "--port", "--srckey/--dstkey"),
    ]
    .into_iter()
    .find_map(|(value, flag, key)| value.map(|_| (flag, key)));
    if let Some((flag, key)) = port_flag {
        if !protocols.iter().any(|&p| has_ports(p)) {
            let icmp = protocols.iter().find(|&&p| is_icmp(p));
            return Err(usage(if protocols.contains(&IPPROTO_GRE) {
                format!("gre has no ports: its tuple carries keys; use {key} instead of {flag}")
            } else if let Some(&icmp) = icmp {
                format!(
                    "{} has no ports: its tuple carries a type, code and id; use \
                     --icmp-type, --icmp-code and --icmp-id instead of {flag}",
                    proto_name(icmp).unwrap_or("icmp")
                )
            } else {
                format!("{flag} needs a protocol with ports (tcp, udp, udplite, sctp, dccp) in -p")
            }));
        }
    }
    let key_flag = [
        (tuple.srckey, "--srckey", "--sport"),
        (tuple.dstkey, "--dstkey", "--dport"),
        (tuple.reply_key_src, "--reply-key-src", "--reply-port-src"),
        (tuple.reply_key_dst, "--reply-key-dst", "--reply-port-dst"),
    ]
    .into_iter()
    .find_map(|(value, flag, port)| value.map(|_| (flag, port)));
    if let Some((flag, port)) = key_flag {
        if !protocols.contains(&IPPROTO_GRE) {
            let with_ports = protocols.iter().find(|&&p| has_ports(p));
            let icmp = protocols.iter().find(|&&p| is_icmp(p));
            return Err(usage(match (with_ports, icmp) {
                (Some(&p), _) => format!(
                    "{} has no keys: {flag} is a GRE key; its tuple carries ports, use {port}",
                    proto_name(p).unwrap_or("this protocol")
                ),
                (None, Some(&p)) => format!(
                    "{} has no keys: {flag} is a GRE key; its tuple carries a type, code and \
                     id, use --icmp-type, --icmp-code and --icmp-id",
                    proto_name(p).unwrap_or("icmp")
                ),
                (None, None) => format!("{flag} is a GRE key: it needs gre in -p"),
            }));
        }
    }
    Ok(())
}

fn is_icmp(protonum: u8) -> bool {
    matches!(protonum, IPPROTO_ICMP | IPPROTO_ICMPV6)
}

/// ICMP flags with `-p` naming neither icmp nor icmpv6 select nothing; say so.
fn check_icmp_has_a_protocol(args: &TupleArgs, protocols: &[u8]) -> Result<(), UsageError> {
    let icmp_flag = [
        (args.icmp_type.is_some(), "--icmp-type"),
        (args.icmp_code.is_some(), "--icmp-code"),
        (args.icmp_id.is_some(), "--icmp-id"),
    ]
    .into_iter()
    .find_map(|(given, flag)| given.then_some(flag));
    let icmp = [IPPROTO_ICMP, IPPROTO_ICMPV6];
    match icmp_flag {
        Some(flag) if !protocols.is_empty() && !protocols.iter().any(|p| icmp.contains(p)) => {
            Err(usage(format!("{flag} needs icmp or icmpv6 in -p")))
        }
        _ => Ok(()),
    }
}

fn dedup(protocols: &[u8]) -> Vec<u8> {
    let mut unique = Vec::new();
    for &p in protocols {
        if !unique.contains(&p) {
            unique.push(p);
        }
    }
    unique
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    /// The parts of a `ct list` command line.
    #[derive(Debug)]
    struct Plan {
        filter: Filter,
    }

    fn plan(args: &str) -> Result<Plan, UsageError> {
        let argv = std::iter::once("ct").chain(args.split_whitespace());
        let Command::List(list) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not a list command");
        };
        let (filter, labels) =
            filter_with_labels(&list.filter, Path::new("/nonexistent/connlabel.conf"))?;
        Output::from_args(&list.output, labels, &Environment::default())?;
        Target::from_args(&list.target)?;
        Ok(Plan { filter })
    }

    #[test]
    fn addresses_set_the_family() {
        assert_eq!(
            plan("list -s 10.0.0.0/8").unwrap().filter.family,
            Some(AF_INET)
        );
        assert_eq!(
            plan("list -q fd00::1").unwrap().filter.family,
            Some(AF_INET6)
        );
        assert_eq!(
            plan("list -n fd00::1").unwrap().filter.family,
            Some(AF_INET6)
        );
    }

    #[test]
    fn mismatched_families_are_a_usage_error() {
        assert_eq!(
            plan("list -f ipv4 -d fd00::1").unwrap_err().0,
            "-d/--dst fd00::1 is ipv6 but -f/--family asks for ipv4"
        );
        assert_eq!(
            plan("list -s 10.0.0.1 -r fd00::2").unwrap_err().0,
            "-r/--reply-src fd00::2 is ipv6 but -s/--src asks for ipv4"
        );
    }

    #[test]
    fn masks_need_their_address() {
        assert_eq!(
            plan("list --mask-src 255.0.0.0").unwrap_err().0,
            "--mask-src needs -s/--src"
        );
        let p = plan("list -s 10.1.0.0 --mask-src 255.255.0.0").unwrap();
        assert_eq!(p.filter.orig_src, Some("10.1.0.0/16".parse().unwrap()));
    }

    #[test]
    fn states_are_resolved_against_protocols() {
        assert_eq!(
            plan("list -p udp --state ESTABLISHED").unwrap_err().0,
            "invalid --state: no state 'ESTABLISHED' in the selected protocols"
        );
        assert_eq!(plan("list --state close").unwrap().filter.states.len(), 1);
    }

    #[test]
    fn ports_need_a_protocol_with_ports() {
        assert_eq!(
            plan("list -p 99 --dport 80").unwrap_err().0,
            "--dport needs a protocol with ports (tcp, udp, udplite, sctp, dccp) in -p"
        );
        assert_eq!(
            plan("list -p icmp --dport 80").unwrap_err().0,
            "icmp has no ports: its tuple carries a type, code and id; use --icmp-type, \
             --icmp-code and --icmp-id instead of --dport"
        );
        assert!(plan("list -p icmp,tcp --dport 80").is_ok());
        assert!(plan("list --dport 80").is_ok());
    }

    /// `--sport` never means a GRE key: gre's tuple carries keys, with flags of their own.
    #[test]
    fn gre_has_keys_not_ports() {
        assert_eq!(
            plan("list -p gre --sport 16").unwrap_err().0,
            "gre has no ports: its tuple carries keys; use --srckey instead of --sport"
        );
        assert_eq!(
            plan("list -p gre,icmp --reply-port-dst 16").unwrap_err().0,
            "gre has no ports: its tuple carries keys; use --reply-key-dst instead of \
             --reply-port-dst"
        );
        assert_eq!(
            plan("list -p gre --port 16").unwrap_err().0,
            "gre has no ports: its tuple carries keys; use --srckey/--dstkey instead of --port"
        );
        assert_eq!(
            plan("list -p tcp --srckey 0x10").unwrap_err().0,
            "tcp has no keys: --srckey is a GRE key; its tuple carries ports, use --sport"
        );
        assert_eq!(
            plan("list -p icmpv6 --reply-key-dst 1").unwrap_err().0,
            "icmpv6 has no keys: --reply-key-dst is a GRE key; its tuple carries a type, \
             code and id, use --icmp-type, --icmp-code and --icmp-id"
        );
        assert_eq!(
            plan("list -p 99 --dstkey 1").unwrap_err().0,
            "--dstkey is a GRE key: it needs gre in -p"
        );
        let p = plan(
            "list -p gre --srckey 0x10 --orig-key-dst 32 --reply-key-src 0x20 \
                      --reply-key-dst 16",
        )
        .unwrap();
        let f = &p.filter;
        assert_eq!(
            (
                f.orig_key_src,
                f.orig_key_dst,
                f.reply_key_src,
                f.reply_key_dst
            ),
            (Some(16), Some(32), Some(32), Some(16))
        );
        assert!(
            plan("list --srckey 0x10").is_ok(),
            "keys alone select GRE entries"
        );
        assert!(plan("list -p tcp,gre --sport 80 --srckey 1").is_ok());
    }

    fn get(args: &str) -> Result<Lookup, UsageError> {
        let argv = std::iter::once("ct").chain(args.split_whitespace());
        let Command::Get(get) = Cli::try_parse_from(argv).unwrap().command else {
            panic!("not a get command");
        };
        lookup(&get.tuple)
    }

    #[test]
    fn get_takes_gre_keys_in_each_direction() {
        let original = get("get -p gre -s 10.0.0.1 -d 10.0.0.2 --srckey 0x10 --dstkey 32").unwrap();
        assert_eq!(
            (original.direction, original.tuple.l4),
            (
                CTA_TUPLE_ORIG,
                L4::Gre {
                    srckey: 16,
                    dstkey: 32
                }
            )
        );
        let reply = get("get -p gre -r 10.0.0.2 -q 10.0.0.1 --reply-key-src 0x20 \
                         --reply-key-dst 0x10")
        .unwrap();
        assert_eq!(
            (reply.direction, reply.tuple.l4),
            (
                CTA_TUPLE_REPLY,
                L4::Gre {
                    srckey: 32,
                    dstkey: 16
                }
            )
        );
        assert_eq!(
            get("get -p gre -s 10.0.0.1 -d 10.0.0.2 --sport 16 --dport 32")
                .unwrap_err()
                .0,
            "gre has no ports: its tuple carries keys; use --srckey instead of --sport"
        );
        assert_eq!(
            get("get -p gre -s 10.0.0.1 -d 10.0.0.2 --srckey 16")
                .unwrap_err()
                .0,
            "get needs --srckey and --dstkey for gre (its tuple carries keys, in hex or \
             decimal)"
        );
        assert_eq!(
            get("get -p gre -r 10.0.0.2 -q 10.0.0.1 --reply-key-src 1")
                .unwrap_err()
                .0,
            "get needs --reply-key-src and --reply-key-dst for gre (its tuple carries keys, \
             in hex or decimal)"
        );
        assert_eq!(
            get("get -p gre -s 10.0.0.1 -d 10.0.0.2 --srckey 1 --dstkey 2 --reply-key-src 2")
                .unwrap_err()
                .0,
            "--reply-key-src does not fit a tuple given with -s/--src and -d/--dst"
        );
        assert_eq!(
            get("get -p udp -s 10.0.0.1 -d 10.0.0.2 --sport 1 --dport 2 --srckey 1")
                .unwrap_err()
                .0,
            "udp has no keys: --srckey is a GRE key; its tuple carries ports, use --sport"
        );
        assert_eq!(
            get(
                "get -p icmp -s 10.0.0.1 -d 10.0.0.2 --icmp-type 8 --icmp-code 0 \
                 --icmp-id 1 --sport 5"
            )
            .unwrap_err()
            .0,
            "icmp has no ports: its tuple carries a type, code and id; use --icmp-type, \
             --icmp-code and --icmp-id instead of --sport"
        );
    }

    #[test]
    fn icmp_flags_need_an_icmp_protocol() {
        assert_eq!(
            plan("list -p tcp --icmp-type 8").unwrap_err().0,
            "--icmp-type needs icmp or icmpv6 in -p"
        );
        let p = plan("list -p icmpv6 --icmpv6-type 128 --icmpv6-id 7").unwrap();
        assert_eq!((p.filter.icmp_type, p.filter.icmp_id), (Some(128), Some(7)));
    }

    #[test]
    fn labels_need_the_label_map() {
        assert_eq!(
            plan("list -l blocked").unwrap_err().0,
            "-l/--label needs label names from /nonexistent/connlabel.conf: \
             No such file or directory (os error 2)"
        );
    }

    #[test]
    fn columns_only_with_the_table() {
        assert_eq!(
            plan("list --columns proto,src").unwrap_err().0,
            "--columns is for -o table"
        );
        assert_eq!(
            plan("list -o json --columns proto").unwrap_err().0,
            "--columns is for -o table"
        );
        assert!(plan("list -o table --columns proto,src").is_ok());
    }

    #[test]
    fn repeated_status_flags_are_anded_and_contradictions_refused() {
        let p = plan("list -u ASSURED -u !EXPECTED").unwrap();
        let s = p.filter.status.unwrap();
        assert_eq!(
            (s.set, s.clear),
            (1 << IPS_ASSURED_BIT, 1 << IPS_EXPECTED_BIT)
        );
        assert_eq!(
            plan("list -u ASSURED -u !ASSURED").unwrap_err().0,
            "-u/--status asks for a flag both set and clear"
        );
    }

    #[test]
    fn options_of_another_format_are_refused() {
        assert_eq!(
            plan("list -o json,id").unwrap_err().0,
            "-o id is a modifier of conntrack's formats (the classic line and xml); \
             -o json always shows what it has"
        );
        assert_eq!(
            plan("list -o table,extended").unwrap_err().0,
            "-o extended is a modifier of conntrack's formats (the classic line and xml); \
             -o table always shows what it has"
        );
        assert_eq!(
            plan("list --color always").unwrap_err().0,
            "--color is for -o table"
        );
        assert_eq!(
            plan("list -o json --color never").unwrap_err().0,
            "--color is for -o table"
        );
        assert!(plan("list -o table --color never").is_ok());
        // conntrack takes its modifiers with xml (some change nothing there): so does ct.
        assert!(plan("list -o xml,extended,id,ktimestamp,labels,timestamp").is_ok());
    }

    #[test]
    fn an_empty_namespace_is_a_usage_error() {
        assert_eq!(
            plan("list --netns=").unwrap_err().0,
            "--netns needs a namespace: a name from `ip netns list`, a path or a pid"
        );
    }

    #[test]
    fn the_last_of_a_repeated_flag_wins_as_in_conntrack() {
        let p = plan("list -m 1 -m 2").unwrap();
        assert_eq!(p.filter.mark.unwrap().value, 2);
    }

    #[test]
    fn nat_flags_take_an_optional_address() {
        let p = plan("list -n").unwrap();
        assert_eq!(p.filter.src_nat, Some(Default::default()));
        let p = plan("list -g 10.0.0.7:8080 -p tcp").unwrap();
        assert_eq!(p.filter.dst_nat.unwrap().port, Some(8080));
        assert_eq!(p.filter.protocols, vec![IPPROTO_TCP]);
    }
}
