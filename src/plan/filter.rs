//! Which entries: the filter flags checked together into a [`Filter`], and the one
//! tuple `ct get` looks up.

use std::net::IpAddr;
use std::path::Path;

use super::{UsageError, usage};
use crate::cli::{FamilyArg, FilterArgs, TupleArgs};
use crate::filter::{AddrMatch, Filter, StatusMatch, resolve_states};
use crate::kernel::*;
use crate::labelmap::{CONNLABEL_CONF, LabelMap};
use crate::model::entry::{Family, L4, Tuple, has_ports, proto_name};

/// The filter of `args`, reading label names for `-l` from the system's label file.
pub fn filter(args: &FilterArgs) -> Result<(Filter, Option<LabelMap>), UsageError> {
    filter_with_labels(args, Path::new(CONNLABEL_CONF))
}

/// What `ct get` asks the kernel for: one tuple, in the direction the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// IPv4 or IPv6, from the addresses.
    pub family: Family,
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
    whole_tuple("get", args)
}

/// One whole tuple from `args`, in the direction given, for `command` (`get`,
/// `create`), whose name the messages say.
pub fn whole_tuple(command: &str, args: &TupleArgs) -> Result<Lookup, UsageError> {
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
            return Err(usage(format!(
                "{command} needs a tuple: -s/--src and -d/--dst (or -r/--reply-src and \
                 -q/--reply-dst), -p/--proto and its ports, ICMP type, code and id, or GRE \
                 keys"
            )));
        }
    };
    let (kind, src_flag, dst_flag) = direction;
    let address = |given: Option<AddrMatch>, flag: &str| match given {
        None => Err(usage(format!(
            "{command} needs both {src_flag} and {dst_flag}"
        ))),
        Some(a) if !a.is_exact() => Err(usage(format!(
            "{command} needs an address for {flag}, not a prefix ({}/{})",
            a.addr, a.mask
        ))),
        Some(a) => Ok(a.addr),
    };
    let (src, dst) = (address(src, src_flag)?, address(dst, dst_flag)?);
    let family = Family::of(src);
    if Family::of(dst) != family {
        return Err(usage(format!(
            "{src_flag} {src} and {dst_flag} {dst} are of different families"
        )));
    }
    if let Some(wanted) = args.family {
        let wanted = wanted.family();
        if wanted != family {
            return Err(usage(format!(
                "{src_flag} {src} is {} but -f/--family asks for {}",
                family.name(),
                wanted.name()
            )));
        }
    }
    let protonum = match args.proto[..] {
        [one] => one,
        [] => return Err(usage(format!("{command} needs -p/--proto"))),
        _ => {
            return Err(usage(format!("{command} takes one protocol in -p/--proto")));
        }
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
    let l4 = lookup_l4(command, args, protonum, ports, keys)?;
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
    command: &str,
    args: &TupleArgs,
    protonum: u8,
    (sport, dport, sport_flag, dport_flag): Pair,
    (srckey, dstkey, srckey_flag, dstkey_flag): Pair,
) -> Result<L4, UsageError> {
    let both_ports = || match (sport, dport) {
        (Some(sport), Some(dport)) => Ok((sport, dport)),
        _ => Err(usage(format!(
            "{command} needs {sport_flag} and {dport_flag} for this protocol"
        ))),
    };
    let both_keys = || match (srckey, dstkey) {
        (Some(srckey), Some(dstkey)) => Ok(L4::Gre { srckey, dstkey }),
        _ => Err(usage(format!(
            "{command} needs {srckey_flag} and {dstkey_flag} for gre (its tuple carries keys, in \
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
            _ => Err(usage(format!(
                "{command} needs --icmp-type, --icmp-code and --icmp-id for icmp and icmpv6"
            ))),
        },
        IPPROTO_GRE => both_keys(),
        protonum if has_ports(protonum) => {
            both_ports().map(|(sport, dport)| L4::Ports { sport, dport })
        }
        _ => Ok(L4::None),
    }
}

/// The filter, and the label map when `-l` had to read it from `label_file`.
pub fn filter_with_labels(
    args: &FilterArgs,
    label_file: &Path,
) -> Result<(Filter, Option<LabelMap>), UsageError> {
    let tuple = &args.tuple;
    let mut filter = Filter {
        family: family(args)?.map(Family::raw),
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
        id: args.id,
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
        let (map, bits) = label_bits(&args.label, label_file)?;
        filter.labels = bits;
        Some(map)
    };
    Ok((filter, label_map))
}

/// The label map of `label_file` and the bit of each of `names` (`-l`), each of which
/// the map must name.
pub fn label_bits(names: &[String], label_file: &Path) -> Result<(LabelMap, Vec<u32>), UsageError> {
    let map = load_labels(label_file, "-l/--label needs")?;
    let bits = names
        .iter()
        .map(|name| label_bit(&map, name, label_file))
        .collect::<Result<_, _>>()?;
    Ok((map, bits))
}

/// The label map of `label_file`; `who_needs` it starts the error ("-l/--label needs").
pub(super) fn load_labels(label_file: &Path, who_needs: &str) -> Result<LabelMap, UsageError> {
    LabelMap::load(label_file).map_err(|err| {
        usage(format!(
            "{who_needs} label names from {}: {err}",
            label_file.display()
        ))
    })
}

/// The bit `map` (read from `label_file`) gives the label `name`, which it must name.
pub(super) fn label_bit(map: &LabelMap, name: &str, label_file: &Path) -> Result<u32, UsageError> {
    map.bit(name).ok_or_else(|| {
        usage(format!(
            "unknown label '{name}' (not in {})",
            label_file.display()
        ))
    })
}

/// The family from `-f` and from every address given, which must agree (conntrack:
/// "mismatched address family"). An address alone narrows the dump to its family.
fn family(args: &FilterArgs) -> Result<Option<Family>, UsageError> {
    let tuple = &args.tuple;
    let mut family = tuple.family.map(FamilyArg::family);
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
        let this = Family::of(addr);
        match family {
            Some(known) if known != this => {
                return Err(usage(format!(
                    "{flag} {addr} is {} but {source} asks for {}",
                    this.name(),
                    known.name()
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
