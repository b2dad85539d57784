//! What each cell of the tables says: an entry's, column by column and coloured when
//! asked, and the protocol, endpoints and helper the expectation table shares.

use std::net::IpAddr;

use super::Column;
use super::units::{push_human_bytes, push_human_count};
use crate::kernel::{IPS_ASSURED_BIT, IPS_HW_OFFLOAD_BIT, IPS_OFFLOAD_BIT};
use crate::labelmap::LabelMap;
use crate::model::entry::{Counters, Entry, L4, Tuple, proto_name};
use crate::output::{push_decimal, push_hex, push_ip};

/// The text `write` appends, as a `String` (for the few cells of the small tables).
pub(super) fn text_of(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut text = Vec::new();
    write(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

/// ANSI colours, used only when colour is on.
pub(super) const GREEN: &str = "\x1b[32m";
pub(super) const YELLOW: &str = "\x1b[33m";
pub(super) const RED: &str = "\x1b[31m";
pub(super) const CYAN: &str = "\x1b[36m";
pub(super) const DIM: &str = "\x1b[2m";
pub(super) const RESET: &str = "\x1b[0m";

/// Appends the cell of `column` for `entry`.
pub(super) fn write_cell(
    text: &mut Vec<u8>,
    column: Column,
    entry: &Entry<'_>,
    color: bool,
    labels: Option<&LabelMap>,
) {
    match column {
        // Not the entry's: TablePrinter::add writes it.
        Column::Netns => {}
        Column::Family => text.extend_from_slice(entry.family.name().as_bytes()),
        Column::Proto => push_proto(text, entry.protonum()),
        Column::State => {
            if let Some(state) = entry.state {
                let name = state.name();
                let colour = state_colour(name, entry.is_unreplied()).filter(|_| color);
                paint(text, colour, |text| text.extend_from_slice(name.as_bytes()));
            }
        }
        Column::Src => push_endpoint(text, entry.original.src, source_detail(&entry.original)),
        Column::Dst => push_endpoint(
            text,
            entry.original.dst,
            destination_detail(&entry.original),
        ),
        Column::Nat => paint(text, color.then_some(CYAN), |text| push_nat(text, entry)),
        Column::Ttl => {
            if let Some(timeout) = entry.timeout {
                push_decimal(text, timeout);
            }
        }
        Column::Flags => push_flags(text, entry),
        Column::Mark => {
            if let Some(mark) = entry.mark.filter(|&m| m != 0) {
                push_decimal(text, mark);
            }
        }
        Column::Zone => push_zone(text, entry),
        Column::Packets => push_counted(text, entry, |c| c.packets, push_human_count),
        Column::Bytes => push_counted(text, entry, |c| c.bytes, push_human_bytes),
        Column::Helper => push_helper(text, entry.helper),
        Column::Use => {
            if let Some(count) = entry.use_count {
                push_decimal(text, count);
            }
        }
        Column::Id => {
            if let Some(id) = entry.id {
                push_decimal(text, id);
            }
        }
        Column::Labels => {
            if let Some(bits) = entry.labels {
                for (index, bit) in bits.bits().enumerate() {
                    if index > 0 {
                        text.push(b',');
                    }
                    match labels.and_then(|map| map.name(bit)) {
                        Some(name) => push_printable(text, name),
                        None => push_decimal(text, bit),
                    }
                }
            }
        }
    }
}

/// Appends what `write` appends, between `colour` and a reset when there is a colour
/// and something to colour.
fn paint(text: &mut Vec<u8>, colour: Option<&str>, write: impl FnOnce(&mut Vec<u8>)) {
    let Some(colour) = colour else {
        return write(text);
    };
    let start = text.len();
    text.extend_from_slice(colour.as_bytes());
    let content = text.len();
    write(text);
    if text.len() == content {
        text.truncate(start);
    } else {
        text.extend_from_slice(RESET.as_bytes());
    }
}

/// The colour of a tracker state: green where the connection is established, yellow
/// for a handshake under way, red for a handshake nobody answered (a TCP SYN, an SCTP
/// INIT, a DCCP REQUEST without reply) and for DCCP's INVALID, dim for the closing
/// states, which are how connections normally end (FIN_WAIT ... TIME_WAIT, CLOSE,
/// SCTP's SHUTDOWN_* and CLOSED, DCCP's CLOSEREQ, CLOSING, TIMEWAIT); none for NONE and
/// DCCP's IGNORE. The names are the kernel's (TCP_CONNTRACK_NAMES and its siblings).
fn state_colour(name: &str, unreplied: bool) -> Option<&'static str> {
    match name {
        "ESTABLISHED" | "OPEN" | "HEARTBEAT_SENT" | "HEARTBEAT_ACKED" => Some(GREEN),
        "SYN_SENT" | "COOKIE_WAIT" | "REQUEST" if unreplied => Some(RED),
        "SYN_SENT" | "SYN_RECV" | "SYN_SENT2" | "COOKIE_WAIT" | "COOKIE_ECHOED" | "REQUEST"
        | "RESPOND" | "PARTOPEN" => Some(YELLOW),
        "FIN_WAIT" | "CLOSE_WAIT" | "LAST_ACK" | "TIME_WAIT" | "CLOSE" | "CLOSED"
        | "SHUTDOWN_SENT" | "SHUTDOWN_RECD" | "SHUTDOWN_ACK_SENT" | "CLOSEREQ" | "CLOSING"
        | "TIMEWAIT" => Some(DIM),
        "INVALID" => Some(RED),
        _ => None,
    }
}

/// A protocol's name, or its number for one conntrack has no name for.
pub(super) fn push_proto(text: &mut Vec<u8>, protonum: u8) {
    match proto_name(protonum) {
        Some(name) => text.extend_from_slice(name.as_bytes()),
        None => push_decimal(text, protonum),
    }
}

/// What tells one end of a flow apart beside its address.
#[derive(Debug, Clone, Copy)]
pub(super) enum Detail {
    None,
    /// tcp, udp, udplite, sctp, dccp: `10.0.0.1:80`, `[fd00::1]:80`.
    Port(u16),
    /// ICMP's identifier, which the kernel keeps in the source half: `10.0.0.1 id=7`.
    IcmpId(u16),
    /// ICMP's type and code, in the destination half: `10.0.0.2 type=8 code=0`.
    IcmpType(u8, u8),
    /// A GRE key, in hex, named as conntrack names it: `srckey=0x1234`, `dstkey=0xabcd`.
    Key(&'static str, u16),
}

/// The source half of a tuple's layer-4 identity.
pub(super) fn source_detail(tuple: &Tuple) -> Detail {
    match tuple.l4 {
        L4::Ports { sport, .. } => Detail::Port(sport),
        L4::Icmp { id, .. } => Detail::IcmpId(id),
        L4::Gre { srckey, .. } => Detail::Key("srckey", srckey),
        L4::None => Detail::None,
    }
}

/// The destination half of a tuple's layer-4 identity.
pub(super) fn destination_detail(tuple: &Tuple) -> Detail {
    match tuple.l4 {
        L4::Ports { dport, .. } => Detail::Port(dport),
        L4::Icmp {
            icmp_type, code, ..
        } => Detail::IcmpType(icmp_type, code),
        L4::Gre { dstkey, .. } => Detail::Key("dstkey", dstkey),
        L4::None => Detail::None,
    }
}

/// `10.0.0.1:80`, `[fd00::1]:80`, `10.0.0.1 id=7`, `10.0.0.2 type=8 code=0`,
/// `10.0.0.1 srckey=0x1234`, or the bare address; nothing without an address.
pub(super) fn push_endpoint(text: &mut Vec<u8>, address: Option<IpAddr>, detail: Detail) {
    let Some(address) = address else {
        return;
    };
    if let Detail::Port(port) = detail {
        let bracket = address.is_ipv6();
        if bracket {
            text.push(b'[');
        }
        push_ip(text, address);
        if bracket {
            text.push(b']');
        }
        text.push(b':');
        push_decimal(text, port);
        return;
    }
    push_ip(text, address);
    match detail {
        Detail::None | Detail::Port(_) => {}
        Detail::IcmpId(id) => {
            text.extend_from_slice(b" id=");
            push_decimal(text, id);
        }
        Detail::IcmpType(icmp_type, code) => {
            text.extend_from_slice(b" type=");
            push_decimal(text, icmp_type);
            text.extend_from_slice(b" code=");
            push_decimal(text, code);
        }
        Detail::Key(name, key) => {
            text.push(b' ');
            text.extend_from_slice(name.as_bytes());
            text.extend_from_slice(b"=0x");
            push_hex(text, key.into());
        }
    }
}

/// What NAT did (as `-n`/`-g` see it): `SNAT 192.0.2.1:61000`, `DNAT 10.0.0.7:8080`,
/// both, or nothing. The rewritten end is written as the SOURCE or DESTINATION column
/// writes it: an ICMP source with its id, a GRE end with its key.
fn push_nat(text: &mut Vec<u8>, entry: &Entry<'_>) {
    let rewrites = [
        ("SNAT", entry.source_nat(), source_detail(&entry.original)),
        (
            "DNAT",
            entry.destination_nat(),
            destination_detail(&entry.original),
        ),
    ];
    let mut first = true;
    for (word, rewrite, original) in rewrites {
        let Some(rewrite) = rewrite else {
            continue;
        };
        if !first {
            text.push(b' ');
        }
        first = false;
        text.extend_from_slice(word.as_bytes());
        // The rewritten end: its kind from the original tuple, its value (port, ICMP
        // id, GRE key) from the rewrite.
        let detail = match (original, rewrite.l4) {
            (Detail::Port(_), Some(value)) => Detail::Port(value),
            (Detail::IcmpId(_), Some(value)) => Detail::IcmpId(value),
            (Detail::Key(name, _), Some(value)) => Detail::Key(name, value),
            // ICMP has no destination half NAT could rewrite.
            _ => Detail::None,
        };
        if rewrite.address.is_some() {
            text.push(b' ');
            push_endpoint(text, rewrite.address, detail);
        }
    }
}

fn push_flags(text: &mut Vec<u8>, entry: &Entry<'_>) {
    let unreplied = entry.is_unreplied();
    if unreplied {
        text.extend_from_slice(b"UNREPLIED");
    }
    let word: &[u8] = if entry.has_status(IPS_HW_OFFLOAD_BIT) {
        b"HW_OFFLOAD"
    } else if entry.has_status(IPS_OFFLOAD_BIT) {
        b"OFFLOAD"
    } else if entry.has_status(IPS_ASSURED_BIT) {
        b"ASSURED"
    } else {
        return;
    };
    if unreplied {
        text.push(b',');
    }
    text.extend_from_slice(word);
}

/// `7` for an entry in zone 7 both ways (CTA_ZONE); `orig 7` or `reply 7` for a zone
/// of one direction only (CTA_TUPLE_ZONE, made by `--orig-zone`/`--reply-zone`).
fn push_zone(text: &mut Vec<u8>, entry: &Entry<'_>) {
    let zones = [
        ("", entry.zone),
        ("orig ", entry.original.zone),
        ("reply ", entry.reply.zone),
    ];
    let mut first = true;
    for (word, zone) in zones {
        let Some(zone) = zone else {
            continue;
        };
        if !first {
            text.push(b' ');
        }
        first = false;
        text.extend_from_slice(word.as_bytes());
        push_decimal(text, zone);
    }
}

pub(super) fn push_helper(text: &mut Vec<u8>, helper: Option<&[u8]>) {
    if let Some(helper) = helper {
        push_printable(text, &String::from_utf8_lossy(helper));
    }
}

/// Appends `name` with control characters as `?`: helper names come from the kernel and
/// label names from a file, and neither may break a line or send a terminal escape.
fn push_printable(text: &mut Vec<u8>, name: &str) {
    if !name.chars().any(char::is_control) {
        text.extend_from_slice(name.as_bytes());
        return;
    }
    for c in name.chars() {
        let c = if c.is_control() { '?' } else { c };
        let mut buffer = [0; 4];
        text.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
    }
}

/// Both directions' counter together, formatted; nothing without accounting.
fn push_counted(
    text: &mut Vec<u8>,
    entry: &Entry<'_>,
    field: impl Fn(&Counters) -> u64,
    push: fn(&mut Vec<u8>, u64),
) {
    match (entry.counters_original, entry.counters_reply) {
        (None, None) => {}
        // Saturating: the counters come from the kernel (or a corrupted message) and can
        // be anything; found by the fuzzer (issue 5).
        (a, b) => push(
            text,
            a.map(|c| field(&c))
                .unwrap_or(0)
                .saturating_add(b.map(|c| field(&c)).unwrap_or(0)),
        ),
    }
}
