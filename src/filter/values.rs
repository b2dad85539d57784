//! The values filter flags take, parsed from the command line.
//!
//! Each parser returns a message that names what is wrong; clap puts the flag and the
//! value in front of it and exits with status 2. conntrack 1.4.7 parses most of these
//! with `atoi`/`strtoul` and no checks (`--sport http` is port 0, `-m abc` is mark 0);
//! ct refuses such values instead, since a silent zero selects the wrong rows.

use std::net::IpAddr;
use std::str::FromStr;

use crate::kernel::*;
use crate::model::entry::{PROTOCOLS, STATEFUL};

/// An address with a mask: `10.0.0.1`, `10.0.0.0/8`, `fd00::/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddrMatch {
    pub addr: IpAddr,
    /// The mask as an address of the same family (all ones for an exact address).
    pub mask: IpAddr,
}

impl AddrMatch {
    pub fn exact(addr: IpAddr) -> AddrMatch {
        let mask = match addr {
            IpAddr::V4(_) => IpAddr::V4(u32::MAX.into()),
            IpAddr::V6(_) => IpAddr::V6(u128::MAX.into()),
        };
        AddrMatch { addr, mask }
    }

    /// True for an address of the same family that equals ours under the mask.
    pub fn matches(&self, other: IpAddr) -> bool {
        match (self.addr, self.mask, other) {
            (IpAddr::V4(a), IpAddr::V4(m), IpAddr::V4(o)) => {
                let m = u32::from(m);
                u32::from(a) & m == u32::from(o) & m
            }
            (IpAddr::V6(a), IpAddr::V6(m), IpAddr::V6(o)) => {
                let m = u128::from(m);
                u128::from(a) & m == u128::from(o) & m
            }
            _ => false,
        }
    }

    pub fn is_exact(&self) -> bool {
        *self == AddrMatch::exact(self.addr)
    }

    pub fn is_ipv4(&self) -> bool {
        self.addr.is_ipv4()
    }

    /// Replaces the mask, as conntrack's `--mask-src`/`--mask-dst` do.
    pub fn with_mask(self, mask: IpAddr) -> Result<AddrMatch, String> {
        if mask.is_ipv4() != self.addr.is_ipv4() {
            return Err(format!(
                "mask {mask} is not of the address {}'s family",
                self.addr
            ));
        }
        Ok(AddrMatch {
            addr: self.addr,
            mask,
        })
    }
}

impl FromStr for AddrMatch {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (addr_text, prefix) = match text.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text, None),
        };
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| format!("'{addr_text}' is not an IPv4 or IPv6 address"))?;
        let Some(prefix) = prefix else {
            return Ok(AddrMatch::exact(addr));
        };
        let bits: u32 = prefix
            .parse()
            .map_err(|_| format!("'{prefix}' is not a prefix length"))?;
        let mask = match addr {
            IpAddr::V4(_) if bits <= 32 => {
                IpAddr::V4(u32::MAX.checked_shl(32 - bits).unwrap_or(0).into())
            }
            IpAddr::V6(_) if bits <= 128 => {
                IpAddr::V6(u128::MAX.checked_shl(128 - bits).unwrap_or(0).into())
            }
            _ => {
                let max = if addr.is_ipv4() { 32 } else { 128 };
                return Err(format!("prefix length {bits} is longer than {max}"));
            }
        };
        Ok(AddrMatch { addr, mask })
    }
}

/// A whole number as C's strtoul(…, 0) reads it: decimal, `0x` hex or `0` octal; but
/// the whole text must be the number and it must fit.
pub fn parse_number<T: TryFrom<u64>>(text: &str) -> Result<T, String> {
    let (digits, radix) =
        if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            (hex, 16)
        } else if text.len() > 1 && text.starts_with('0') {
            (&text[1..], 8)
        } else {
            (text, 10)
        };
    let value = u64::from_str_radix(digits, radix)
        .ok()
        .filter(|_| !digits.starts_with(['+', '-']))
        .ok_or_else(|| format!("'{text}' is not a number"))?;
    T::try_from(value).map_err(|_| format!("{text} is out of range"))
}

/// A port: 0 to 65535, in decimal, as every format of ct prints ports. A hex number is
/// refused with a word on GRE keys, which ct prints in hex and which have flags of their
/// own.
/// A DCCP role: `client` or `server`, any case.
pub fn parse_dccp_role(text: &str) -> Result<crate::model::entry::DccpRole, String> {
    crate::model::entry::DccpRole::from_name(text)
        .ok_or_else(|| format!("'{text}' is no DCCP role: client or server"))
}

pub fn parse_port(text: &str) -> Result<u16, String> {
    text.parse().map_err(|_| {
        if text.starts_with("0x") || text.starts_with("0X") {
            format!(
                "'{text}' is not a port number: ports are decimal (0 to 65535); GRE keys, \
                 which ct prints in hex, go in --srckey/--dstkey"
            )
        } else {
            format!("'{text}' is not a port number (0 to 65535)")
        }
    })
}

/// A GRE key, as conntrack's strtoul reads it: hex (`0x10`, as ct and conntrack print
/// keys), decimal, or octal after a leading 0. The kernel keeps the key in the tuple's
/// 16-bit port field (PPTP's call id), so it is 0 to 0xffff.
pub fn parse_gre_key(text: &str) -> Result<u16, String> {
    match parse_number::<u64>(text) {
        Ok(key) => u16::try_from(key).map_err(|_| {
            format!(
                "{text} is not a GRE key: the kernel keeps a key in the tuple's 16-bit port \
                 field, so it is 0 to 0xffff (65535)"
            )
        }),
        Err(_) => Err(format!(
            "'{text}' is not a GRE key (0x0 to 0xffff, or 0 to 65535 in decimal)"
        )),
    }
}

/// A zone: 0 to 65535 (decimal, hex or octal, as conntrack).
pub fn parse_zone(text: &str) -> Result<u16, String> {
    parse_number(text).map_err(|_| format!("'{text}' is not a zone (0 to 65535)"))
}

/// An ICMP or ICMPv6 type or code: 0 to 255, in decimal, hex (`0x8`) or octal.
pub fn parse_icmp_field(text: &str) -> Result<u8, String> {
    parse_number(text).map_err(|_| format!("'{text}' is not a number from 0 to 255"))
}

/// A socket buffer size in bytes: 1 to 2147483647 (the kernel's int), decimal or hex.
pub fn parse_buffer_size(text: &str) -> Result<u32, String> {
    parse_number::<u32>(text)
        .ok()
        .filter(|size| (1..=i32::MAX as u32).contains(size))
        .ok_or_else(|| format!("'{text}' is not a size in bytes (1 to 2147483647)"))
}

/// `-m MARK[/MASK]`. As in conntrack and the kernel, an entry matches when
/// `(mark & MASK) == MARK`: the value itself is not masked, so `5/0x4` matches nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkMatch {
    pub value: u32,
    pub mask: u32,
}

impl FromStr for MarkMatch {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (value, mask) = match text.split_once('/') {
            Some((value, mask)) => (value, Some(mask)),
            None => (text, None),
        };
        let number = |text: &str| {
            parse_number(text)
                .map_err(|_| format!("'{text}' is not a 32-bit number (decimal, or 0x for hex)"))
        };
        Ok(MarkMatch {
            value: number(value)?,
            mask: mask.map(number).transpose()?.unwrap_or(u32::MAX),
        })
    }
}

/// `-u FLAG[,FLAG...]`: every named IPS_* bit set, every `!`-negated one clear.
/// `UNREPLIED` is conntrack's word for "SEEN_REPLY clear"; it is no kernel bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusMatch {
    pub set: u32,
    pub clear: u32,
}

impl StatusMatch {
    pub fn matches(&self, status: u32) -> bool {
        status & self.set == self.set && status & self.clear == 0
    }

    /// Combines two `-u` flags: both must hold.
    pub fn and(self, other: StatusMatch) -> StatusMatch {
        StatusMatch {
            set: self.set | other.set,
            clear: self.clear | other.clear,
        }
    }
}

impl FromStr for StatusMatch {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut status = StatusMatch::default();
        for item in text.split(',') {
            let (negated, name) = match item.strip_prefix('!') {
                Some(name) => (true, name),
                None => (false, item),
            };
            let bit = if name.eq_ignore_ascii_case("UNREPLIED") {
                // "not replied" is SEEN_REPLY clear; "!UNREPLIED" is SEEN_REPLY set.
                let bit = 1 << IPS_SEEN_REPLY_BIT;
                if negated {
                    status.set |= bit;
                } else {
                    status.clear |= bit;
                }
                continue;
            } else {
                status_bit(name).ok_or_else(|| {
                    let known: Vec<&str> = IPS_NAMES.iter().map(|(_, n)| *n).collect();
                    format!(
                        "unknown status '{name}'; use UNREPLIED or one of {}",
                        known.join(", ")
                    )
                })?
            };
            if negated {
                status.clear |= 1 << bit;
            } else {
                status.set |= 1 << bit;
            }
        }
        if status.set & status.clear != 0 {
            return Err(format!("'{text}' asks for a flag both set and clear"));
        }
        Ok(status)
    }
}

fn status_bit(name: &str) -> Option<u32> {
    IPS_NAMES
        .iter()
        .find(|(_, known)| known.eq_ignore_ascii_case(name))
        .map(|(bit, _)| *bit)
}

/// `-n`/`-g`/`-j [ADDR[:PORT]]`: the address (and port) NAT rewrote the connection to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NatMatch {
    pub addr: Option<IpAddr>,
    pub port: Option<u16>,
}

impl FromStr for NatMatch {
    type Err = String;

    /// `10.0.0.1`, `10.0.0.1:80`, `fd00::1`, `[fd00::1]:80`, or empty for "any NAT".
    fn from_str(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Ok(NatMatch::default());
        }
        let (addr, port) = if let Some(rest) = text.strip_prefix('[') {
            let (addr, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("no closing ']' in '{text}'"))?;
            let port = match after {
                "" => None,
                _ => Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| format!("'{after}' after ']' is not ':PORT'"))?,
                ),
            };
            (addr, port)
        } else if text.matches(':').count() == 1 {
            let (addr, port) = text.split_once(':').unwrap_or((text, ""));
            (addr, Some(port))
        } else {
            (text, None)
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{addr}' is not an IPv4 or IPv6 address"))?;
        Ok(NatMatch {
            addr: Some(addr),
            port: port.map(parse_port).transpose()?,
        })
    }
}

/// A protocol by conntrack name (tcp, udp, udplite, sctp, dccp, icmp, icmpv6, gre), by
/// /etc/protocols name (esp, ipv6-icmp...) or by number (0 to 255).
pub fn parse_protocol(text: &str) -> Result<u8, String> {
    if let Some(protocol) = PROTOCOLS
        .iter()
        .find(|protocol| protocol.name.eq_ignore_ascii_case(text))
    {
        return Ok(protocol.number);
    }
    if let Ok(number) = parse_number::<u8>(text) {
        return Ok(number);
    }
    protocol_from_etc(text).ok_or_else(|| {
        format!("unknown protocol '{text}'; use a name such as tcp, udp, icmp, or a number 0-255")
    })
}

/// Looks a protocol name up in /etc/protocols, as getprotobyname(3) would.
fn protocol_from_etc(name: &str) -> Option<u8> {
    let table = std::fs::read_to_string("/etc/protocols").ok()?;
    table.lines().find_map(|line| {
        let line = line.split('#').next()?;
        let mut fields = line.split_whitespace();
        let official = fields.next()?;
        let number: u8 = fields.next()?.parse().ok()?;
        let named = official == name || fields.any(|alias| alias == name);
        named.then_some(number)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_prefixes_and_masks() {
        let net: AddrMatch = "10.1.0.0/16".parse().unwrap();
        assert!(net.matches("10.1.200.3".parse().unwrap()));
        assert!(!net.matches("10.2.0.1".parse().unwrap()));
        assert!(!net.matches("::1".parse().unwrap()));
        let all: AddrMatch = "0.0.0.0/0".parse().unwrap();
        assert!(all.matches("192.0.2.1".parse().unwrap()));
        let v6: AddrMatch = "fd00:1::/32".parse().unwrap();
        assert!(v6.matches("fd00:1:ffff::9".parse().unwrap()));
        assert!("10.0.0.1/32".parse::<AddrMatch>().unwrap().is_exact());
        // conntrack's --mask-src takes any mask, even a non-contiguous one.
        let odd = AddrMatch::exact("10.0.5.0".parse().unwrap())
            .with_mask("255.0.255.0".parse().unwrap())
            .unwrap();
        assert!(odd.matches("10.9.5.7".parse().unwrap()));
        assert_eq!(
            "10.0.0.0/33".parse::<AddrMatch>().unwrap_err(),
            "prefix length 33 is longer than 32"
        );
        assert_eq!(
            "10.0.0.300".parse::<AddrMatch>().unwrap_err(),
            "'10.0.0.300' is not an IPv4 or IPv6 address"
        );
        assert_eq!(
            "10.0.0.0/x".parse::<AddrMatch>().unwrap_err(),
            "'x' is not a prefix length"
        );
    }

    #[test]
    fn gre_keys_in_hex_or_decimal_and_16_bits() {
        assert_eq!(parse_gre_key("0x10"), Ok(16));
        assert_eq!(parse_gre_key("0XFFFF"), Ok(0xffff));
        assert_eq!(parse_gre_key("16"), Ok(16));
        assert_eq!(parse_gre_key("010"), Ok(8), "strtoul's octal, as conntrack");
        assert_eq!(
            parse_gre_key("0x10000"),
            Err(
                "0x10000 is not a GRE key: the kernel keeps a key in the tuple's 16-bit \
                 port field, so it is 0 to 0xffff (65535)"
                    .to_string()
            )
        );
        assert_eq!(
            parse_gre_key("key"),
            Err("'key' is not a GRE key (0x0 to 0xffff, or 0 to 65535 in decimal)".to_string())
        );
        assert!(parse_gre_key("-1").is_err());
        assert!(parse_gre_key("").is_err());
    }

    #[test]
    fn ports_are_decimal_and_a_hex_one_points_to_the_keys() {
        assert_eq!(parse_port("443"), Ok(443));
        assert_eq!(
            parse_port("0x10"),
            Err(
                "'0x10' is not a port number: ports are decimal (0 to 65535); GRE keys, \
                 which ct prints in hex, go in --srckey/--dstkey"
                    .to_string()
            )
        );
        assert_eq!(
            parse_port("http"),
            Err("'http' is not a port number (0 to 65535)".to_string())
        );
    }

    #[test]
    fn numbers_like_strtoul_but_strict() {
        assert_eq!(parse_number::<u32>("42"), Ok(42));
        assert_eq!(parse_number::<u32>("0x2a"), Ok(42));
        assert_eq!(parse_number::<u32>("052"), Ok(42));
        assert_eq!(parse_number::<u32>("0"), Ok(0));
        assert_eq!(parse_number::<u32>("4294967295"), Ok(u32::MAX));
        assert!(parse_number::<u32>("4294967296").is_err());
        assert!(parse_number::<u32>("abc").is_err());
        assert!(parse_number::<u32>("-1").is_err());
        assert!(parse_number::<u32>("").is_err());
        assert!(parse_number::<u16>("65536").is_err());
    }

    /// conntrack and the kernel: `(mark & mask) == value`, the value unmasked.
    #[test]
    fn mark_value_is_not_masked() {
        let m: MarkMatch = "5/0x4".parse().unwrap();
        assert_eq!((m.value, m.mask), (5, 4));
        let plain: MarkMatch = "7".parse().unwrap();
        assert_eq!((plain.value, plain.mask), (7, u32::MAX));
        assert!("5/".parse::<MarkMatch>().is_err());
        assert!("x".parse::<MarkMatch>().is_err());
    }

    #[test]
    fn status_lists_negation_and_unreplied() {
        let s: StatusMatch = "ASSURED,seen_reply".parse().unwrap();
        assert_eq!(s.set, 1 << IPS_ASSURED_BIT | 1 << IPS_SEEN_REPLY_BIT);
        // conntrack: UNREPLIED is "SEEN_REPLY not set".
        let s: StatusMatch = "UNREPLIED".parse().unwrap();
        assert_eq!((s.set, s.clear), (0, 1 << IPS_SEEN_REPLY_BIT));
        let s: StatusMatch = "!ASSURED,CONFIRMED".parse().unwrap();
        assert!(s.matches(1 << IPS_CONFIRMED_BIT));
        assert!(!s.matches(1 << IPS_CONFIRMED_BIT | 1 << IPS_ASSURED_BIT));
        assert!("BOGUS".parse::<StatusMatch>().is_err());
        assert!("ASSURED,".parse::<StatusMatch>().is_err());
        assert!("SEEN_REPLY,UNREPLIED".parse::<StatusMatch>().is_err());
    }

    #[test]
    fn nat_addresses_with_and_without_ports() {
        let v4: NatMatch = "10.0.0.1:8080".parse().unwrap();
        assert_eq!(
            (v4.addr, v4.port),
            (Some("10.0.0.1".parse().unwrap()), Some(8080))
        );
        let v6: NatMatch = "fd00::1".parse().unwrap();
        assert_eq!((v6.addr, v6.port), (Some("fd00::1".parse().unwrap()), None));
        let v6_port: NatMatch = "[fd00::1]:53".parse().unwrap();
        assert_eq!(v6_port.port, Some(53));
        assert_eq!("".parse::<NatMatch>().unwrap(), NatMatch::default());
        assert!("10.0.0.1:".parse::<NatMatch>().is_err());
        assert!("10.0.0.1:99999".parse::<NatMatch>().is_err());
        assert!("[fd00::1".parse::<NatMatch>().is_err());
    }

    #[test]
    fn protocols_by_name_number_and_etc_protocols() {
        assert_eq!(parse_protocol("TCP"), Ok(IPPROTO_TCP));
        assert_eq!(parse_protocol("6"), Ok(IPPROTO_TCP));
        assert_eq!(parse_protocol("0x2f"), Ok(IPPROTO_GRE));
        assert_eq!(parse_protocol("255"), Ok(255));
        assert!(parse_protocol("256").is_err());
        assert!(parse_protocol("nonsense-protocol").is_err());
    }
}

/// A value parser that also names the values shells should offer: `parse` checks and
/// converts (its message is clap's "invalid value 'X' for '--flag': ..."), `offered` is
/// what completion scripts suggest. clap_complete only knows the values of a parser
/// that lists them, and a plain function does not.
#[derive(Clone)]
pub struct Offering<T> {
    parse: fn(&str) -> Result<T, String>,
    offered: fn() -> Vec<&'static str>,
}

impl<T> Offering<T> {
    pub const fn new(
        parse: fn(&str) -> Result<T, String>,
        offered: fn() -> Vec<&'static str>,
    ) -> Self {
        Offering { parse, offered }
    }
}

impl<T: Clone + Send + Sync + 'static> clap::builder::TypedValueParser for Offering<T> {
    type Value = T;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<T, clap::Error> {
        // clap's own adapter for a function gives the standard message.
        let parse = self.parse;
        clap::builder::TypedValueParser::parse_ref(&parse, cmd, arg, value)
    }

    fn possible_values(
        &self,
    ) -> Option<Box<dyn Iterator<Item = clap::builder::PossibleValue> + '_>> {
        let values = (self.offered)();
        Some(Box::new(
            values.into_iter().map(clap::builder::PossibleValue::new),
        ))
    }
}

/// The protocol names `-p` offers.
pub fn protocol_names() -> Vec<&'static str> {
    PROTOCOLS.iter().map(|protocol| protocol.name).collect()
}

/// The state names `--state` offers: tcp's, sctp's and dccp's, each once.
pub fn state_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for name in STATEFUL.iter().flat_map(|(_, _, names)| names.iter()) {
        if !names.contains(name) {
            names.push(name);
        }
    }
    names
}

/// The flags `-u` offers: UNREPLIED and every IPS_* name.
pub fn status_names() -> Vec<&'static str> {
    std::iter::once("UNREPLIED")
        .chain(IPS_NAMES.iter().map(|(_, name)| *name))
        .collect()
}

/// `--state`: any text here; the plan resolves names against the protocols.
pub fn parse_state(text: &str) -> Result<String, String> {
    Ok(text.to_string())
}

/// `-u`: one item or a comma list of flags.
pub fn parse_status(text: &str) -> Result<StatusMatch, String> {
    text.parse()
}
