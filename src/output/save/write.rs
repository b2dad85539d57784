//! `-o save`: each entry as the conntrack command line that would make it again, byte for
//! byte what conntrack-tools 1.4.7's `ct_save_snprintf` prints (`conntrack -L -o save`,
//! `-G`, `-E`), for `conntrack -R` to load elsewhere.
//!
//! The line is the command (`-A` for an entry listed or new, `-U` for an update, `-D` for
//! a destruction), then the options conntrack has for what the entry carries: timeout,
//! the status flags `-I` can set, secmark, zones; the four addresses, the reply's written
//! as NAT (`-g`, `-n`) where they were rewritten; the protocol and its own options. Two
//! deliberate differences: an SCTP entry in a HEARTBEAT state gets its state's name
//! (conntrack has no name for those and prints `(null)`), and a DCCP role conntrack has
//! no name for its number.

use std::io::{self, Write};

use crate::kernel::*;
use crate::model::entry::{DccpRole, Entry, Family, L4, Tuple, proto_name};
use crate::output::event::{push_userspace, save_command};
use crate::output::printer::{Frame, Print, Record};
use crate::output::{push_decimal, push_ip};

/// The status flags conntrack's `-u` can set, in the order of their bits.
const SAVED_STATUS: [(u32, &str); 4] = [
    (IPS_EXPECTED_BIT, "EXPECTED"),
    (IPS_SEEN_REPLY_BIT, "SEEN_REPLY"),
    (IPS_ASSURED_BIT, "ASSURED"),
    (IPS_FIXED_TIMEOUT_BIT, "FIXED_TIMEOUT"),
];

/// Prints entries as conntrack command lines.
pub struct SavePrinter {
    /// The command of a listed entry: `-A` (add) for `ct list` and `ct get`, `-D` for
    /// `ct delete`.
    listed: &'static str,
    line: Vec<u8>,
}

impl SavePrinter {
    pub fn new(listed: &'static str) -> Self {
        SavePrinter {
            listed,
            line: Vec::with_capacity(256),
        }
    }
}

/// The command after the namespace's `[LABEL] `: a listed entry's, or an event's (`-A`,
/// `-U`, `-D`) followed by the process that caused it. An entry of neither IPv4 nor IPv6
/// has no such line; conntrack skips it with a warning, and so does ct (without one).
/// conntrack has no line for an expectation either: commands refuse `-o save` for them
/// before printing, and this prints none.
impl Print for SavePrinter {
    fn print<W: Write>(&mut self, out: &mut W, record: Record, frame: &Frame) -> io::Result<()> {
        let Record::Entry(entry) = record else {
            return Ok(());
        };
        if !matches!(entry.family, Family::Ipv4 | Family::Ipv6) {
            return Ok(());
        }
        let line = &mut self.line;
        line.clear();
        frame.push_line_head(line);
        let command = frame
            .event
            .map_or(self.listed, |event| save_command(event.kind));
        line.extend_from_slice(command.as_bytes());
        line.push(b' ');
        push_generic(line, entry);
        push_addresses(line, entry);
        push_protocol(line, entry);
        while line.last() == Some(&b' ') {
            line.pop();
        }
        if let Some(cause) = frame.event.and_then(|event| event.cause) {
            push_userspace(line, cause);
        }
        line.push(b'\n');
        out.write_all(line)
    }

    fn finish<W: Write>(&mut self, _out: &mut W) -> io::Result<()> {
        Ok(())
    }
}

/// `-t`, `-u`, `-c`, `-w`, `--orig-zone`, `--reply-zone`, each when the entry has it.
fn push_generic(line: &mut Vec<u8>, entry: &Entry<'_>) {
    if let Some(timeout) = entry.timeout {
        push_option(line, "-t", timeout);
    }
    if let Some(status) = entry.status {
        line.extend_from_slice(b"-u ");
        let mut any = false;
        for (bit, name) in SAVED_STATUS {
            if status.contains(bit) {
                if any {
                    line.push(b',');
                }
                line.extend_from_slice(name.as_bytes());
                any = true;
            }
        }
        if !any {
            line.extend_from_slice(b"UNSET");
        }
        line.push(b' ');
    }
    if let Some(secmark) = entry.secmark {
        push_option(line, "-c", secmark);
    }
    if let Some(zone) = entry.zone {
        push_option(line, "-w", zone);
    }
    if let Some(zone) = entry.original.zone {
        push_option(line, "--orig-zone", zone);
    }
    if let Some(zone) = entry.reply.zone {
        push_option(line, "--reply-zone", zone);
    }
}

/// `-s`, `-d`, then the reply's source as `-g` when destination NAT rewrote it (else
/// `-r`) and its destination as `-n` when source NAT did (else `-q`): libnetfilter_conntrack's
/// IS_DNAT and IS_SNAT, which take an entry without a status for NATed.
fn push_addresses(line: &mut Vec<u8>, entry: &Entry<'_>) {
    let (original, reply) = (&entry.original, &entry.reply);
    let done = |bit| entry.status.is_none_or(|s| s.contains(bit));
    let dnat = done(IPS_DST_NAT_DONE_BIT) && reply.src != original.dst;
    let snat = done(IPS_SRC_NAT_DONE_BIT) && reply.dst != original.src;
    let addresses = [
        ("-s", original.src),
        ("-d", original.dst),
        (if dnat { "-g" } else { "-r" }, reply.src),
        (if snat { "-n" } else { "-q" }, reply.dst),
    ];
    for (flag, address) in addresses {
        if let Some(address) = address {
            line.extend_from_slice(flag.as_bytes());
            line.push(b' ');
            push_ip(line, address);
            line.push(b' ');
        }
    }
}

/// `-p NAME` and the protocol's options, or `-p NUMBER` for one conntrack has no
/// extension for.
fn push_protocol(line: &mut Vec<u8>, entry: &Entry<'_>) {
    let (original, reply) = (&entry.original, &entry.reply);
    let Some(name) = proto_name(original.protonum) else {
        push_option(line, "-p", original.protonum);
        return;
    };
    line.extend_from_slice(b"-p ");
    line.extend_from_slice(name.as_bytes());
    line.push(b' ');
    match original.protonum {
        IPPROTO_GRE => push_keys(line, original, reply),
        IPPROTO_ICMP => push_icmp(line, original, ""),
        IPPROTO_ICMPV6 => push_icmp(line, original, "v6"),
        IPPROTO_DCCP if generic_dccp(entry) => {}
        _ => push_ports(line, original, reply),
    }
    if let Some(state) = entry.state {
        line.extend_from_slice(b"--state ");
        line.extend_from_slice(state.name().as_bytes());
        line.push(b' ');
    }
    // conntrack -I swaps a vtag's bytes on the way in and -o save swaps them back, so
    // that a saved line loads as the entry was; ct writes what conntrack would.
    if let Some(vtag) = entry.sctp_vtag_original {
        push_option(line, "--orig-vtag", vtag.swap_bytes());
    }
    if let Some(vtag) = entry.sctp_vtag_reply {
        push_option(line, "--reply-vtag", vtag.swap_bytes());
    }
    match entry.dccp_role {
        Some(DccpRole::Client) => line.extend_from_slice(b"--role client "),
        Some(DccpRole::Server) => line.extend_from_slice(b"--role server "),
        Some(DccpRole::Other(raw)) => push_option(line, "--role", raw),
        None => {}
    }
}

/// True for a DCCP entry the kernel tracks as a generic protocol (Linux 6.16 removed
/// the DCCP tracker): it sends neither ports nor a state, and conntrack writes no port
/// options. The model reads absent ports as 0, so zero ports and no state tell it.
fn generic_dccp(entry: &Entry<'_>) -> bool {
    let zero = |tuple: &Tuple| tuple.ports().is_none_or(|ports| ports == (0, 0));
    entry.state.is_none() && zero(&entry.original) && zero(&entry.reply)
}

/// The ports of both directions.
fn push_ports(line: &mut Vec<u8>, original: &Tuple, reply: &Tuple) {
    if let L4::Ports { sport, dport } = original.l4 {
        push_option(line, "--sport", sport);
        push_option(line, "--dport", dport);
    }
    if let L4::Ports { sport, dport } = reply.l4 {
        push_option(line, "--reply-port-src", sport);
        push_option(line, "--reply-port-dst", dport);
    }
}

/// GRE's keys of both directions, in decimal.
fn push_keys(line: &mut Vec<u8>, original: &Tuple, reply: &Tuple) {
    if let L4::Gre { srckey, dstkey } = original.l4 {
        push_option(line, "--srckey", srckey);
        push_option(line, "--dstkey", dstkey);
    }
    if let L4::Gre { srckey, dstkey } = reply.l4 {
        push_option(line, "--reply-key-src", srckey);
        push_option(line, "--reply-key-dst", dstkey);
    }
}

/// The original direction's ICMP (`version` "") or ICMPv6 (`"v6"`) type, code and id.
fn push_icmp(line: &mut Vec<u8>, original: &Tuple, version: &str) {
    if let L4::Icmp {
        icmp_type,
        code,
        id,
    } = original.l4
    {
        for (field, value) in [
            ("type", u16::from(icmp_type)),
            ("code", code.into()),
            ("id", id),
        ] {
            line.extend_from_slice(b"--icmp");
            line.extend_from_slice(version.as_bytes());
            line.push(b'-');
            line.extend_from_slice(field.as_bytes());
            line.push(b' ');
            push_decimal(line, value);
            line.push(b' ');
        }
    }
}

fn push_option(line: &mut Vec<u8>, flag: &str, value: impl itoa::Integer) {
    line.extend_from_slice(flag.as_bytes());
    line.push(b' ');
    push_decimal(line, value);
    line.push(b' ');
}
