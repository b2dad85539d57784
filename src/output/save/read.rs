//! `-o save` lines → the model: one conntrack command line, as `conntrack -L -o save` and
//! ct's own [`crate::output::save`] write them, back into an [`Entry`].
//!
//! A line is a command (`-A` or `-I`, and `-U` or `-D` as `-E -o save` and `ct delete -o
//! save` write them), then options, each with one value, in any order. The reader takes
//! the options those writers use, by conntrack's short or long name: `-t` timeout, `-u`
//! status (EXPECTED, SEEN_REPLY, ASSURED, FIXED_TIMEOUT, or UNSET), `-c` secmark, `-w`
//! zone, `--orig-zone`, `--reply-zone`, `-m` mark (which a hand-written `-I` line may
//! carry), `-s` and `-d`, the reply's source as `-r` (or `-g` where destination NAT
//! rewrote it) and its destination as `-q` (or `-n` for source NAT), `-p` (a name or a
//! number), then the protocol's own: ports (`--sport`, `--dport`, `--reply-port-src`,
//! `--reply-port-dst`), GRE keys (`--srckey`, `--dstkey`, `--reply-key-src`,
//! `--reply-key-dst`), ICMP's and ICMPv6's type, code and id (`--icmp-type`...,
//! `--icmpv6-type`...), `--state`, SCTP's `--orig-vtag` and `--reply-vtag`, DCCP's
//! `--role`. Numbers are decimal or `0x` hex. The ` [USERSPACE] portid=N progname=X`
//! that event lines end with is passed over.
//!
//! A save line says less than a dump did: no counters, id, use count, timestamps,
//! labels, helper or security context, and the status only as far as `-u` and the NAT
//! in the tuples prove it (a line without `-u` has no status). The reply's ICMP type is
//! the kernel's inverse of the original's (an echo request's reply is an echo reply),
//! as the line does not carry it. A reply tuple the line leaves out is the original
//! turned around, as conntrack -I makes it.

use std::net::IpAddr;

use crate::kernel::*;
use crate::model::entry::{DccpRole, Entry, Family, L4, ProtoState, Status, Tuple, has_ports};
use crate::model::entry::{protocol_text, protonum_of, reply_icmp_type};
use crate::output::classic::read::{destination_rewritten, source_rewritten};
use crate::output::excerpt;

/// The status flags `-u` names, as conntrack's `-o save` writes them.
const STATUS_NAMES: [(&str, u32); 4] = [
    ("EXPECTED", IPS_EXPECTED_BIT),
    ("SEEN_REPLY", IPS_SEEN_REPLY_BIT),
    ("ASSURED", IPS_ASSURED_BIT),
    ("FIXED_TIMEOUT", IPS_FIXED_TIMEOUT_BIT),
];

/// True when `line` starts as a saved command line does (`-A`, `-I`, `-U`, `-D`), so
/// that a wrong one is read, and reported, as one.
pub fn is_save_line(line: &str) -> bool {
    line.split_ascii_whitespace()
        .next()
        .is_some_and(|command| matches!(command, "-A" | "-I" | "-U" | "-D"))
}

/// Reads one saved command line into an entry. The error names the option that is
/// wrong and why, e.g. "'--sport 70000': out of range (0 to 65535)".
pub fn parse_line(line: &str) -> Result<Entry<'static>, String> {
    parse_saved(line).map(|(entry, _)| entry)
}

/// Which of the reply's addresses a saved line names as NAT (`-g`, `-n`) rather than
/// as part of the reply tuple (`-r`, `-q`): what making the entry again sends as NAT.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NamedNat {
    /// `-g`/`--dst-nat`: the reply's source.
    pub destination: bool,
    /// `-n`/`--src-nat`: the reply's destination.
    pub source: bool,
}

/// [`parse_line`], and which reply addresses the line named as NAT.
pub fn parse_saved(line: &str) -> Result<(Entry<'static>, NamedNat), String> {
    let mut words = line.split_ascii_whitespace();
    let command = words.next().ok_or("the line is empty")?;
    if !matches!(command, "-A" | "-I" | "-U" | "-D") {
        return Err(format!(
            "'{}' is not a command of a saved line (-A, -I, -U or -D)",
            excerpt(command)
        ));
    }
    let mut options = Options::default();
    while let Some(option) = words.next() {
        // What conntrack -E and ct watch add after an event a process caused.
        if option == "[USERSPACE]" {
            break;
        }
        let value = words.next().ok_or_else(|| {
            format!(
                "the line ends after '{}', before its value",
                excerpt(option)
            )
        })?;
        options.set(option, value)?;
    }
    let named = |given: Option<Given<'_, IpAddr>>, flags: [&str; 2]| {
        given.is_some_and(|given| flags.contains(&given.option))
    };
    let nat = NamedNat {
        destination: named(options.reply_src, ["-g", "--dst-nat"]),
        source: named(options.reply_dst, ["-n", "--src-nat"]),
    };
    Ok((options.into_entry()?, nat))
}

/// An option's value with the option, for messages (`'--sport 70000'`).
#[derive(Debug, Clone, Copy)]
struct Given<'a, T> {
    option: &'a str,
    value: T,
}

/// What the line's options say, each at most once.
#[derive(Debug, Default)]
struct Options<'a> {
    timeout: Option<u32>,
    status: Option<u32>,
    secmark: Option<u32>,
    zone: Option<u16>,
    orig_zone: Option<u16>,
    reply_zone: Option<u16>,
    mark: Option<u32>,
    src: Option<Given<'a, IpAddr>>,
    dst: Option<Given<'a, IpAddr>>,
    reply_src: Option<Given<'a, IpAddr>>,
    reply_dst: Option<Given<'a, IpAddr>>,
    protonum: Option<u8>,
    /// Ports or GRE keys, by [`Layer4::slot`]: original source and destination, reply
    /// source and destination.
    ports: [Option<Given<'a, u16>>; 4],
    keys: [Option<Given<'a, u16>>; 4],
    /// ICMP's type, code and id, with the option's version (`"icmp"` or `"icmpv6"`).
    icmp: [Option<Given<'a, u16>>; 3],
    icmpv6: [Option<Given<'a, u16>>; 3],
    state: Option<&'a str>,
    vtags: [Option<u32>; 2],
    role: Option<DccpRole>,
}

/// Sets `slot` once: an option given twice is an error.
fn once<T>(slot: &mut Option<T>, option: &str, value: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("'{}' appears twice", excerpt(option)));
    }
    *slot = Some(value);
    Ok(())
}

impl<'a> Options<'a> {
    fn set(&mut self, option: &'a str, value: &'a str) -> Result<(), String> {
        let given = |value| Given { option, value };
        match option {
            "-t" | "--timeout" => once(&mut self.timeout, option, number(option, value)?),
            "-u" | "--status" => once(&mut self.status, option, status(option, value)?),
            "-c" | "--secmark" => once(&mut self.secmark, option, number(option, value)?),
            "-w" | "--zone" => once(&mut self.zone, option, number(option, value)?),
            "--orig-zone" => once(&mut self.orig_zone, option, number(option, value)?),
            "--reply-zone" => once(&mut self.reply_zone, option, number(option, value)?),
            "-m" | "--mark" => once(&mut self.mark, option, number(option, value)?),
            "-s" | "--src" | "--orig-src" => {
                once(&mut self.src, option, given(address(option, value)?))
            }
            "-d" | "--dst" | "--orig-dst" => {
                once(&mut self.dst, option, given(address(option, value)?))
            }
            // The reply's source: -g where destination NAT rewrote it.
            "-r" | "--reply-src" | "-g" | "--dst-nat" => {
                once(&mut self.reply_src, option, given(address(option, value)?))
            }
            // The reply's destination: -n where source NAT rewrote it.
            "-q" | "--reply-dst" | "-n" | "--src-nat" => {
                once(&mut self.reply_dst, option, given(address(option, value)?))
            }
            "-p" | "--proto" => once(&mut self.protonum, option, protocol(option, value)?),
            "--state" => once(&mut self.state, option, value),
            "--orig-vtag" => once(&mut self.vtags[0], option, number(option, value)?),
            "--reply-vtag" => once(&mut self.vtags[1], option, number(option, value)?),
            "--role" => once(&mut self.role, option, role(option, value)?),
            _ => {
                let (slots, index): (&mut [Option<Given<'a, u16>>], usize) = match option {
                    "--sport" | "--orig-port-src" => (&mut self.ports, 0),
                    "--dport" | "--orig-port-dst" => (&mut self.ports, 1),
                    "--reply-port-src" => (&mut self.ports, 2),
                    "--reply-port-dst" => (&mut self.ports, 3),
                    "--srckey" => (&mut self.keys, 0),
                    "--dstkey" => (&mut self.keys, 1),
                    "--reply-key-src" => (&mut self.keys, 2),
                    "--reply-key-dst" => (&mut self.keys, 3),
                    "--icmp-type" => (&mut self.icmp, 0),
                    "--icmp-code" => (&mut self.icmp, 1),
                    "--icmp-id" => (&mut self.icmp, 2),
                    "--icmpv6-type" => (&mut self.icmpv6, 0),
                    "--icmpv6-code" => (&mut self.icmpv6, 1),
                    "--icmpv6-id" => (&mut self.icmpv6, 2),
                    _ => return Err(format!("unknown option '{}'", excerpt(option))),
                };
                let value = if slots.len() == 3 && index < 2 {
                    u16::from(number::<u8>(option, value)?)
                } else {
                    number(option, value)?
                };
                once(&mut slots[index], option, Given { option, value })
            }
        }
    }

    fn into_entry(self) -> Result<Entry<'static>, String> {
        let src = self.src.ok_or("no original source (-s)")?;
        let dst = self.dst.ok_or("no original destination (-d)")?;
        let family = Family::of(src.value);
        for address in [Some(dst), self.reply_src, self.reply_dst]
            .into_iter()
            .flatten()
        {
            if Family::of(address.value) != family {
                return Err(format!(
                    "'{} {}' is not an {} address, as '-s' is",
                    address.option,
                    address.value,
                    family.name()
                ));
            }
        }
        let protonum = self.protonum.ok_or("no protocol (-p)")?;
        let (l4_original, l4_reply) = self.layer4(protonum)?;
        let original = Tuple {
            src: Some(src.value),
            dst: Some(dst.value),
            protonum,
            l4: l4_original,
            zone: self.orig_zone,
        };
        let reply = Tuple {
            src: Some(self.reply_src.map_or(dst.value, |given| given.value)),
            dst: Some(self.reply_dst.map_or(src.value, |given| given.value)),
            protonum,
            l4: l4_reply,
            zone: self.reply_zone,
        };
        let mut entry = Entry::new(family, original, reply);
        entry.timeout = self.timeout;
        entry.status = self.status.map(|flags| {
            let mut bits = 1 << IPS_CONFIRMED_BIT | flags;
            if source_rewritten(&entry.original, &entry.reply) {
                bits |= 1 << IPS_SRC_NAT_BIT | 1 << IPS_SRC_NAT_DONE_BIT;
            }
            if destination_rewritten(&entry.original, &entry.reply) {
                bits |= 1 << IPS_DST_NAT_BIT | 1 << IPS_DST_NAT_DONE_BIT;
            }
            Status(bits)
        });
        entry.secmark = self.secmark;
        entry.zone = self.zone;
        entry.mark = self.mark;
        entry.state = self.state.map(|name| state(protonum, name)).transpose()?;
        let protocol = protocol_text(protonum);
        if self.vtags.iter().any(Option::is_some) && protonum != IPPROTO_SCTP {
            return Err(format!("{protocol} lines have no vtags"));
        }
        // conntrack -o save writes a vtag with its bytes swapped (see output::save).
        entry.sctp_vtag_original = self.vtags[0].map(u32::swap_bytes);
        entry.sctp_vtag_reply = self.vtags[1].map(u32::swap_bytes);
        if self.role.is_some() && protonum != IPPROTO_DCCP {
            return Err(format!("{protocol} lines have no --role"));
        }
        entry.dccp_role = self.role;
        Ok(entry)
    }

    /// The layer-4 fields of both directions. Options of another protocol are errors.
    fn layer4(&self, protonum: u8) -> Result<(L4, L4), String> {
        let protocol = protocol_text(protonum);
        let ports = has_ports(protonum);
        let stray = (self.ports.iter().filter(|_| !ports))
            .chain(self.keys.iter().filter(|_| protonum != IPPROTO_GRE))
            .chain(self.icmp.iter().filter(|_| protonum != IPPROTO_ICMP))
            .chain(self.icmpv6.iter().filter(|_| protonum != IPPROTO_ICMPV6))
            .flatten()
            .next();
        if let Some(given) = stray {
            return Err(format!("{protocol} lines have no '{}'", given.option));
        }
        if ports {
            let (original, reply) = pairs(&self.ports)?;
            let as_ports = |(sport, dport)| L4::Ports { sport, dport };
            Ok((as_ports(original), as_ports(reply)))
        } else if protonum == IPPROTO_GRE {
            let (original, reply) = pairs(&self.keys)?;
            let as_keys = |(srckey, dstkey)| L4::Gre { srckey, dstkey };
            Ok((as_keys(original), as_keys(reply)))
        } else if matches!(protonum, IPPROTO_ICMP | IPPROTO_ICMPV6) {
            let (icmp, version) = match protonum {
                IPPROTO_ICMP => (&self.icmp, ""),
                _ => (&self.icmpv6, "v6"),
            };
            let [Some(icmp_type), Some(code), Some(id)] = icmp.map(|given| given.map(|g| g.value))
            else {
                return Err(format!(
                    "an {protocol} line needs --icmp{version}-type, --icmp{version}-code and \
                     --icmp{version}-id"
                ));
            };
            // Read as u8 above.
            let (icmp_type, code) = (icmp_type as u8, code as u8);
            let original = L4::Icmp {
                icmp_type,
                code,
                id,
            };
            let reply = L4::Icmp {
                icmp_type: reply_icmp_type(protonum, icmp_type),
                code,
                id,
            };
            Ok((original, reply))
        } else {
            Ok((L4::None, L4::None))
        }
    }
}

/// A source and a destination port, or GRE key.
type Pair = (u16, u16);

/// The original's (source, destination) and the reply's, from four options: the
/// reply's default to the original's turned around, and a line without any has zeros
/// (conntrack writes no ports for a DCCP entry the kernel tracks as a generic protocol).
fn pairs(slots: &[Option<Given<'_, u16>>; 4]) -> Result<(Pair, Pair), String> {
    let pair = |source: Option<Given<'_, u16>>, destination: Option<Given<'_, u16>>| match (
        source,
        destination,
    ) {
        (Some(source), Some(destination)) => Ok(Some((source.value, destination.value))),
        (None, None) => Ok(None),
        (Some(given), None) | (None, Some(given)) => Err(format!(
            "'{}' without its other half (a source and a destination go together)",
            given.option
        )),
    };
    let original = pair(slots[0], slots[1])?;
    let reply = pair(slots[2], slots[3])?;
    match (original, reply) {
        (Some(original), Some(reply)) => Ok((original, reply)),
        (Some(original), None) => Ok((original, (original.1, original.0))),
        (None, None) => Ok(((0, 0), (0, 0))),
        (None, Some(_)) => Err("the reply's ports or keys without the original's".into()),
    }
}

/// The unsigned types options hold, with their largest value for messages.
trait Unsigned: TryFrom<u64> {
    const MAX: u64;
}

macro_rules! unsigned {
    ($($type:ty),+) => {
        $(impl Unsigned for $type {
            const MAX: u64 = <$type>::MAX as u64;
        })+
    };
}

unsigned!(u8, u16, u32);

/// A number in decimal or `0x` hex, of `T`'s range.
fn number<T: Unsigned>(option: &str, value: &str) -> Result<T, String> {
    let (digits, radix) = match value.strip_prefix("0x").or(value.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (value, 10),
    };
    let valid = !digits.is_empty() && digits.chars().all(|c| c.is_digit(radix));
    if !valid {
        return Err(format!("'{option} {}': not a number", excerpt(value)));
    }
    // Digits that overflow u64 are out of range too.
    u64::from_str_radix(digits, radix)
        .ok()
        .and_then(|parsed| T::try_from(parsed).ok())
        .ok_or_else(|| {
            format!(
                "'{option} {}': out of range (0 to {})",
                excerpt(value),
                T::MAX
            )
        })
}

fn address(option: &str, value: &str) -> Result<IpAddr, String> {
    value
        .parse()
        .map_err(|_| format!("'{option} {}': not an address", excerpt(value)))
}

fn protocol(option: &str, value: &str) -> Result<u8, String> {
    if let Some(protonum) = protonum_of(value) {
        return Ok(protonum);
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        return number(option, value);
    }
    Err(format!("'{option} {}': unknown protocol", excerpt(value)))
}

/// `-u`: flag names joined by commas; UNSET for none.
fn status(option: &str, value: &str) -> Result<u32, String> {
    let mut bits = 0;
    for name in value.split(',') {
        if name == "UNSET" {
            continue;
        }
        let (_, bit) = STATUS_NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .ok_or_else(|| {
                format!(
                    "'{option} {}': unknown status flag '{}' (EXPECTED, SEEN_REPLY, ASSURED, \
                     FIXED_TIMEOUT or UNSET)",
                    excerpt(value),
                    excerpt(name)
                )
            })?;
        bits |= 1 << bit;
    }
    Ok(bits)
}

fn role(option: &str, value: &str) -> Result<DccpRole, String> {
    match DccpRole::from_name(value) {
        Some(role) => Ok(role),
        None => number(option, value).map(DccpRole::from_raw),
    }
}

fn state(protonum: u8, name: &str) -> Result<ProtoState, String> {
    match ProtoState::parse(protonum, name) {
        Some(Some(state)) => Ok(state),
        Some(None) => Err(format!(
            "'--state {}': not a {} state",
            excerpt(name),
            protocol_text(protonum)
        )),
        None => Err(format!("{} lines have no --state", protocol_text(protonum))),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::output::classic::{ClassicOptions, ClassicPrinter};
    use crate::output::json::JsonPrinter;
    use crate::output::save::SavePrinter;
    use crate::output::{Frame, Print, Record};

    fn classic(entry: &Entry<'_>) -> String {
        let mut out = Vec::new();
        let options = ClassicOptions::default();
        ClassicPrinter::new(options, None, 0)
            .print(&mut out, Record::Entry(entry), &Frame::NONE)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn save(entry: &Entry<'_>) -> String {
        let mut out = Vec::new();
        SavePrinter::new("-A")
            .print(&mut out, Record::Entry(entry), &Frame::NONE)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// What `conntrack -L -o save` and `conntrack -L` printed for the same table (Linux
    /// 6.18, conntrack 1.4.7), less `mark=` and `use=`, which a save line does not carry.
    const LISTED: [(&str, &str); 7] = [
        (
            "-A -t 28 -u UNSET -s fd00::1 -d fd00::2 -r fd00::2 -q fd00::1 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 9",
            "icmpv6   58 28 src=fd00::1 dst=fd00::2 type=128 code=0 id=9 [UNREPLIED] src=fd00::2 dst=fd00::1 type=129 code=0 id=9",
        ),
        (
            "-A -t 98 -u UNSET -s 10.0.0.1 -d 10.0.0.2 -g 10.0.0.200 -n 10.0.0.100 -p udp --sport 1 --dport 53 --reply-port-src 5353 --reply-port-dst 1",
            "udp      17 98 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=53 [UNREPLIED] src=10.0.0.200 dst=10.0.0.100 sport=5353 dport=1",
        ),
        (
            "-A -t 98 -u SEEN_REPLY,ASSURED -w 3 -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p tcp --sport 1 --dport 2 --reply-port-src 2 --reply-port-dst 1 --state ESTABLISHED",
            "tcp      6 98 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 [ASSURED] zone=3",
        ),
        (
            "-A -t 49 -u UNSET -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p gre --srckey 16 --dstkey 32 --reply-key-src 32 --reply-key-dst 16",
            "gre      47 49 src=10.0.0.1 dst=10.0.0.2 srckey=0x10 dstkey=0x20 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 srckey=0x20 dstkey=0x10",
        ),
        (
            "-A -t 98 -u UNSET -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p sctp --sport 5 --dport 6 --reply-port-src 6 --reply-port-dst 5 --state ESTABLISHED --orig-vtag 1234 --reply-vtag 5678",
            "sctp     132 98 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=5 dport=6 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=6 dport=5",
        ),
        (
            "-A -t 28 -u UNSET -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 77",
            "icmp     1 28 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=77 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=77",
        ),
        (
            "-A -t 98 -u UNSET -s 10.0.0.9 -d 10.0.0.8 -r 10.0.0.8 -q 10.0.0.9 -p 99",
            "unknown  99 98 src=10.0.0.9 dst=10.0.0.8 [UNREPLIED] src=10.0.0.8 dst=10.0.0.9",
        ),
    ];

    #[test]
    fn conntracks_save_lines_read_as_the_rows_it_listed() {
        for (line, row) in LISTED {
            let entry = parse_line(line).unwrap();
            assert_eq!(classic(&entry), format!("{row}\n"), "{line}");
            assert_eq!(save(&entry), format!("{line}\n"));
        }
    }

    #[test]
    fn the_fixtures_save_lines_print_again_as_themselves() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/router.save.txt"
        );
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.lines().count() > 40);
        for line in text.lines() {
            let entry = parse_line(line).unwrap();
            assert_eq!(save(&entry), format!("{line}\n"));
        }
    }

    #[test]
    fn sctp_vtags_nat_status_and_zones() {
        let sctp = parse_line(LISTED[4].0).unwrap();
        // conntrack writes a vtag with its bytes swapped: 1234 is 0xd2040000.
        assert_eq!(sctp.sctp_vtag_original, Some(1234u32.swap_bytes()));
        assert_eq!(sctp.sctp_vtag_reply, Some(5678u32.swap_bytes()));
        let nat = parse_line(LISTED[1].0).unwrap();
        let names: Vec<&str> = nat.status.unwrap().names().collect();
        assert_eq!(
            names,
            [
                "CONFIRMED",
                "SRC_NAT",
                "DST_NAT",
                "SRC_NAT_DONE",
                "DST_NAT_DONE"
            ]
        );
        let zoned = parse_line(
            "-I -w 7 --orig-zone 1 --reply-zone 2 -m 0x10 -c 9 -s 1.2.3.4 -d 5.6.7.8 -p udp \
             --sport 1 --dport 2",
        )
        .unwrap();
        assert_eq!(
            (zoned.zone, zoned.original.zone, zoned.reply.zone),
            (Some(7), Some(1), Some(2))
        );
        assert_eq!((zoned.mark, zoned.secmark), (Some(16), Some(9)));
        // Without -u the line says nothing of the status; without a reply, it is the
        // original turned around; counters, id and use are not in a save line.
        assert_eq!(zoned.status, None);
        assert_eq!(zoned.reply.src, Some("5.6.7.8".parse().unwrap()));
        assert_eq!(zoned.reply.l4, L4::Ports { sport: 2, dport: 1 });
        assert_eq!(
            (zoned.counters_original, zoned.use_count, zoned.id),
            (None, None, None)
        );
    }

    /// Keys in hex or decimal, long option names, and a reply left to the kernel's rule.
    #[test]
    fn hex_keys_long_names_and_icmp_replies() {
        let gre =
            parse_line("-I --src 10.0.0.1 --dst 10.0.0.2 --proto gre --srckey 0x10 --dstkey 32")
                .unwrap();
        assert_eq!(
            save(&gre),
            "-A -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p gre --srckey 16 --dstkey 32 --reply-key-src 32 --reply-key-dst 16\n"
        );
        for (protocol, sent, expected) in [
            ("icmp", 8, 0),
            ("icmp", 0, 8),
            ("icmp", 13, 14),
            ("icmp", 17, 18),
            ("icmp", 3, 3),
            ("icmpv6", 128, 129),
            ("icmpv6", 140, 139),
            ("icmpv6", 1, 1),
        ] {
            let version = if protocol == "icmp" { "" } else { "v6" };
            let source = if protocol == "icmp" {
                "10.0.0.1 -d 10.0.0.2"
            } else {
                "fd00::1 -d fd00::2"
            };
            let line = format!(
                "-A -s {source} -p {protocol} --icmp{version}-type {sent} --icmp{version}-code 0 --icmp{version}-id 3"
            );
            let entry = parse_line(&line).unwrap();
            let L4::Icmp { icmp_type, .. } = entry.reply.l4 else {
                panic!("{line}: {:?}", entry.reply.l4);
            };
            assert_eq!(icmp_type, expected, "{line}");
        }
        let dccp = parse_line(
            "-D -s 1.2.3.4 -d 1.2.3.5 -p dccp --role server [USERSPACE] portid=7 progname=a b",
        )
        .unwrap();
        assert_eq!(dccp.dccp_role, Some(DccpRole::Server));
        assert_eq!(dccp.original.l4, L4::Ports { sport: 0, dport: 0 });
    }

    #[test]
    fn wrong_lines_say_what_is_wrong() {
        let tuple = "-s 10.0.0.1 -d 10.0.0.2";
        let long = "9".repeat(10_000);
        let cases = [
            (
                "-X -s 1.2.3.4".to_string(),
                "'-X' is not a command of a saved line (-A, -I, -U or -D)",
            ),
            (
                format!("-A {tuple} -p"),
                "the line ends after '-p', before its value",
            ),
            (
                format!("-A {tuple} -p tcp --foo 1"),
                "unknown option '--foo'",
            ),
            (
                format!("-A {tuple} -s 10.0.0.3 -p udp"),
                "'-s' appears twice",
            ),
            (
                format!("-A {tuple} -r 10.0.0.2 -g 10.0.0.3 -p udp"),
                "'-g' appears twice",
            ),
            ("-A -d 10.0.0.2 -p udp".into(), "no original source (-s)"),
            (
                "-A -s 10.0.0.2 -p udp".into(),
                "no original destination (-d)",
            ),
            (format!("-A {tuple}"), "no protocol (-p)"),
            (
                "-A -s 10.0.0.1 -d fd00::1 -p udp".into(),
                "'-d fd00::1' is not an ipv4 address, as '-s' is",
            ),
            (format!("-A -s x {tuple}"), "'-s x': not an address"),
            (format!("-A {tuple} -p foo"), "'-p foo': unknown protocol"),
            (
                format!("-A {tuple} -p 256"),
                "'-p 256': out of range (0 to 255)",
            ),
            (
                format!("-A {tuple} -p udp --sport 70000 --dport 1"),
                "'--sport 70000': out of range (0 to 65535)",
            ),
            (
                format!("-A {tuple} -p udp --sport -1 --dport 1"),
                "'--sport -1': not a number",
            ),
            (
                format!("-A {tuple} -p udp --sport 0x --dport 1"),
                "'--sport 0x': not a number",
            ),
            (
                format!("-A {tuple} -p udp --sport 1"),
                "'--sport' without its other half (a source and a destination go together)",
            ),
            (
                format!("-A {tuple} -p udp --reply-port-src 1 --reply-port-dst 2"),
                "the reply's ports or keys without the original's",
            ),
            (
                format!("-A {tuple} -p udp --srckey 1"),
                "udp lines have no '--srckey'",
            ),
            (
                format!("-A {tuple} -p icmp --icmpv6-type 1"),
                "icmp lines have no '--icmpv6-type'",
            ),
            (
                format!("-A {tuple} -p icmp --icmp-type 8"),
                "an icmp line needs --icmp-type, --icmp-code and --icmp-id",
            ),
            (
                format!("-A {tuple} -p icmp --icmp-type 256 --icmp-code 0 --icmp-id 1"),
                "'--icmp-type 256': out of range (0 to 255)",
            ),
            (
                format!("-A {tuple} -p udp --state ESTABLISHED"),
                "udp lines have no --state",
            ),
            (
                format!("-A {tuple} -p tcp --state OPEN"),
                "'--state OPEN': not a tcp state",
            ),
            (
                format!("-A {tuple} -p tcp -u ASSURED,BOGUS"),
                "'-u ASSURED,BOGUS': unknown status flag 'BOGUS' (EXPECTED, SEEN_REPLY, \
                 ASSURED, FIXED_TIMEOUT or UNSET)",
            ),
            (
                format!("-A {tuple} -p tcp --orig-vtag 1"),
                "tcp lines have no vtags",
            ),
            (
                format!("-A {tuple} -p tcp --role client"),
                "tcp lines have no --role",
            ),
        ];
        for (line, expected) in cases {
            match parse_line(&line) {
                Ok(entry) => panic!("{line}: read as {entry:?}"),
                Err(error) => assert_eq!(error, expected, "{line}"),
            }
        }
        // A long value is quoted by its start.
        let error = parse_line(&format!("-A {tuple} -p udp -t {long}")).unwrap_err();
        let start = "9".repeat(79);
        assert_eq!(
            error,
            format!("'-t {start}…': out of range (0 to 4294967295)")
        );
    }

    fn option_text() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "-A",
            "-I",
            "-D",
            "-t",
            "-u",
            "ASSURED,SEEN_REPLY",
            "UNSET",
            "-c",
            "-w",
            "--orig-zone",
            "--reply-zone",
            "-m",
            "-s",
            "-d",
            "-r",
            "-q",
            "-g",
            "-n",
            "10.0.0.1",
            "fd00::1",
            "-p",
            "tcp",
            "udp",
            "icmp",
            "icmpv6",
            "gre",
            "sctp",
            "dccp",
            "99",
            "--sport",
            "--dport",
            "--reply-port-src",
            "--reply-port-dst",
            "--srckey",
            "--dstkey",
            "--reply-key-src",
            "--reply-key-dst",
            "--icmp-type",
            "--icmp-code",
            "--icmp-id",
            "--icmpv6-type",
            "--icmpv6-code",
            "--icmpv6-id",
            "--state",
            "ESTABLISHED",
            "CLOSED",
            "--orig-vtag",
            "--reply-vtag",
            "--role",
            "client",
            "0",
            "1",
            "8",
            "128",
            "0xffff",
            "65536",
            "4294967295",
            "",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Whatever a line strings together, reading and printing it does not panic.
        #[test]
        fn strung_options_never_panic(words in prop::collection::vec(option_text(), 0..30)) {
            if let Ok(entry) = parse_line(&words.join(" ")) {
                classic(&entry);
                save(&entry);
                JsonPrinter::new(None).print(&mut Vec::new(), Record::Entry(&entry), &Frame::NONE).unwrap();
            }
        }
    }
}
