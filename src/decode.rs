//! Wire decoding: the attributes of one ctnetlink message → an [`Entry`].
//!
//! Attributes are walked in place with netlink-packet-core's `NlasIterator`, so nothing
//! is copied or allocated per entry. netlink-packet-netfilter's own `ConntrackAttribute`
//! parser would build a `Vec` for every nested attribute and types only part of
//! ctnetlink, which is why this module reads the attributes itself, under their kernel
//! names. Attributes this module does not know (a newer kernel's) are skipped; a known
//! attribute with a bad length is an error that names it, never a panic.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{NlaBuffer, NlasIterator};

use crate::entry::{Counters, Entry, Family, L4, Labels, ProtoState, Status, Tuple};
use crate::kernel::*;

/// Why an entry could not be decoded. Names the attribute at fault so a report from the
/// field can be traced to the kernel's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The attribute stream is cut short or an attribute's length field is wrong.
    Malformed(&'static str),
    /// An attribute's value does not have the size its kernel type has.
    BadLength {
        attribute: &'static str,
        expected: usize,
        found: usize,
    },
    /// The entry lacks something every entry has.
    Missing(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Malformed(inside) => write!(f, "malformed attributes in {inside}"),
            DecodeError::BadLength {
                attribute,
                expected,
                found,
            } => write!(
                f,
                "invalid {attribute} value: {found} bytes where {expected} were expected"
            ),
            DecodeError::Missing(attribute) => write!(f, "entry has no {attribute}"),
        }
    }
}

impl std::error::Error for DecodeError {}

type Result<T> = std::result::Result<T, DecodeError>;

/// Decodes one conntrack entry: `family` is the nfgenmsg family of the message and
/// `attributes` the bytes after the nfgenmsg header.
pub fn decode_entry(family: u8, attributes: &[u8]) -> Result<Entry<'_>> {
    let mut entry = Entry::new(Family::from_raw(family), empty_tuple(), empty_tuple());
    let mut saw_original = false;
    for attribute in attrs(attributes, "the entry") {
        let (kind, value) = attribute?;
        match kind {
            CTA_TUPLE_ORIG => {
                entry.original = decode_tuple(value, "CTA_TUPLE_ORIG")?;
                saw_original = true;
            }
            CTA_TUPLE_REPLY => entry.reply = decode_tuple(value, "CTA_TUPLE_REPLY")?,
            CTA_STATUS => entry.status = Some(Status(be_u32(value, "CTA_STATUS")?)),
            CTA_PROTOINFO => entry.state = decode_protoinfo(value)?,
            CTA_HELP => entry.helper = decode_string_in(value, CTA_HELP_NAME, "CTA_HELP")?,
            CTA_TIMEOUT => entry.timeout = Some(be_u32(value, "CTA_TIMEOUT")?),
            CTA_MARK => entry.mark = Some(be_u32(value, "CTA_MARK")?),
            CTA_SECMARK => entry.secmark = Some(be_u32(value, "CTA_SECMARK")?),
            CTA_COUNTERS_ORIG => {
                entry.counters_original = Some(decode_counters(value, "CTA_COUNTERS_ORIG")?)
            }
            CTA_COUNTERS_REPLY => {
                entry.counters_reply = Some(decode_counters(value, "CTA_COUNTERS_REPLY")?)
            }
            CTA_USE => entry.use_count = Some(be_u32(value, "CTA_USE")?),
            CTA_ID => entry.id = Some(be_u32(value, "CTA_ID")?),
            CTA_ZONE => entry.zone = Some(be_u16(value, "CTA_ZONE")?),
            CTA_SECCTX => entry.secctx = decode_string_in(value, CTA_SECCTX_NAME, "CTA_SECCTX")?,
            CTA_TIMESTAMP => decode_timestamp(value, &mut entry)?,
            CTA_LABELS => entry.labels = Some(Labels(value)),
            // NAT sequence adjustments, synproxy, the master tuple of an expected
            // connection: not part of the model yet, and never fatal.
            _ => {}
        }
    }
    if !saw_original {
        return Err(DecodeError::Missing("CTA_TUPLE_ORIG"));
    }
    Ok(entry)
}

fn empty_tuple() -> Tuple {
    Tuple {
        src: None,
        dst: None,
        protonum: 0,
        l4: L4::None,
        zone: None,
    }
}

/// The layer-4 numbers of a tuple as they come off the wire, before the protocol
/// number says which of them mean something.
#[derive(Default)]
struct RawL4 {
    protonum: u8,
    sport: u16,
    dport: u16,
    icmp_id: u16,
    icmp_type: u8,
    icmp_code: u8,
}

impl RawL4 {
    fn into_l4(self) -> L4 {
        match self.protonum {
            IPPROTO_TCP | IPPROTO_UDP | IPPROTO_UDPLITE | IPPROTO_SCTP | IPPROTO_DCCP => {
                L4::Ports {
                    sport: self.sport,
                    dport: self.dport,
                }
            }
            IPPROTO_ICMP | IPPROTO_ICMPV6 => L4::Icmp {
                icmp_type: self.icmp_type,
                code: self.icmp_code,
                id: self.icmp_id,
            },
            IPPROTO_GRE => L4::Gre {
                srckey: self.sport,
                dstkey: self.dport,
            },
            _ => L4::None,
        }
    }
}

fn decode_tuple(bytes: &[u8], name: &'static str) -> Result<Tuple> {
    let mut tuple = empty_tuple();
    let mut raw = RawL4::default();
    for attribute in attrs(bytes, name) {
        let (kind, value) = attribute?;
        match kind {
            CTA_TUPLE_IP => decode_ip(value, &mut tuple)?,
            CTA_TUPLE_PROTO => decode_proto(value, &mut raw)?,
            CTA_TUPLE_ZONE => tuple.zone = Some(be_u16(value, "CTA_TUPLE_ZONE")?),
            _ => {}
        }
    }
    tuple.protonum = raw.protonum;
    tuple.l4 = raw.into_l4();
    Ok(tuple)
}

fn decode_ip(bytes: &[u8], tuple: &mut Tuple) -> Result<()> {
    for attribute in attrs(bytes, "CTA_TUPLE_IP") {
        let (kind, value) = attribute?;
        match kind {
            CTA_IP_V4_SRC => tuple.src = Some(ipv4(value, "CTA_IP_V4_SRC")?),
            CTA_IP_V4_DST => tuple.dst = Some(ipv4(value, "CTA_IP_V4_DST")?),
            CTA_IP_V6_SRC => tuple.src = Some(ipv6(value, "CTA_IP_V6_SRC")?),
            CTA_IP_V6_DST => tuple.dst = Some(ipv6(value, "CTA_IP_V6_DST")?),
            _ => {}
        }
    }
    Ok(())
}

fn decode_proto(bytes: &[u8], raw: &mut RawL4) -> Result<()> {
    for attribute in attrs(bytes, "CTA_TUPLE_PROTO") {
        let (kind, value) = attribute?;
        match kind {
            CTA_PROTO_NUM => raw.protonum = byte(value, "CTA_PROTO_NUM")?,
            CTA_PROTO_SRC_PORT => raw.sport = be_u16(value, "CTA_PROTO_SRC_PORT")?,
            CTA_PROTO_DST_PORT => raw.dport = be_u16(value, "CTA_PROTO_DST_PORT")?,
            CTA_PROTO_ICMP_ID => raw.icmp_id = be_u16(value, "CTA_PROTO_ICMP_ID")?,
            CTA_PROTO_ICMP_TYPE => raw.icmp_type = byte(value, "CTA_PROTO_ICMP_TYPE")?,
            CTA_PROTO_ICMP_CODE => raw.icmp_code = byte(value, "CTA_PROTO_ICMP_CODE")?,
            CTA_PROTO_ICMPV6_ID => raw.icmp_id = be_u16(value, "CTA_PROTO_ICMPV6_ID")?,
            CTA_PROTO_ICMPV6_TYPE => raw.icmp_type = byte(value, "CTA_PROTO_ICMPV6_TYPE")?,
            CTA_PROTO_ICMPV6_CODE => raw.icmp_code = byte(value, "CTA_PROTO_ICMPV6_CODE")?,
            _ => {}
        }
    }
    Ok(())
}

fn decode_protoinfo(bytes: &[u8]) -> Result<Option<ProtoState>> {
    let mut state = None;
    for attribute in attrs(bytes, "CTA_PROTOINFO") {
        let (kind, value) = attribute?;
        let (make, inside, state_kind): (fn(u8) -> ProtoState, _, _) = match kind {
            CTA_PROTOINFO_TCP => (
                ProtoState::Tcp,
                "CTA_PROTOINFO_TCP",
                CTA_PROTOINFO_TCP_STATE,
            ),
            CTA_PROTOINFO_SCTP => (
                ProtoState::Sctp,
                "CTA_PROTOINFO_SCTP",
                CTA_PROTOINFO_SCTP_STATE,
            ),
            CTA_PROTOINFO_DCCP => (
                ProtoState::Dccp,
                "CTA_PROTOINFO_DCCP",
                CTA_PROTOINFO_DCCP_STATE,
            ),
            _ => continue,
        };
        for attribute in attrs(value, inside) {
            let (inner_kind, inner) = attribute?;
            if inner_kind == state_kind {
                state = Some(make(byte(inner, "CTA_PROTOINFO_*_STATE")?));
            }
        }
    }
    Ok(state)
}

fn decode_counters(bytes: &[u8], name: &'static str) -> Result<Counters> {
    let mut counters = Counters::default();
    for attribute in attrs(bytes, name) {
        let (kind, value) = attribute?;
        match kind {
            CTA_COUNTERS_PACKETS => counters.packets = be_u64(value, "CTA_COUNTERS_PACKETS")?,
            CTA_COUNTERS_BYTES => counters.bytes = be_u64(value, "CTA_COUNTERS_BYTES")?,
            CTA_COUNTERS32_PACKETS => {
                counters.packets = be_u32(value, "CTA_COUNTERS32_PACKETS")?.into()
            }
            CTA_COUNTERS32_BYTES => counters.bytes = be_u32(value, "CTA_COUNTERS32_BYTES")?.into(),
            _ => {}
        }
    }
    Ok(counters)
}

fn decode_timestamp(bytes: &[u8], entry: &mut Entry<'_>) -> Result<()> {
    for attribute in attrs(bytes, "CTA_TIMESTAMP") {
        let (kind, value) = attribute?;
        match kind {
            CTA_TIMESTAMP_START => {
                entry.timestamp_start = Some(be_u64(value, "CTA_TIMESTAMP_START")?)
            }
            CTA_TIMESTAMP_STOP => entry.timestamp_stop = Some(be_u64(value, "CTA_TIMESTAMP_STOP")?),
            _ => {}
        }
    }
    Ok(())
}

/// The NUL-terminated string held by attribute `kind` inside the nest `bytes`.
fn decode_string_in<'a>(
    bytes: &'a [u8],
    kind: u16,
    name: &'static str,
) -> Result<Option<&'a [u8]>> {
    let mut found = None;
    for attribute in attrs(bytes, name) {
        let (inner_kind, value) = attribute?;
        if inner_kind == kind {
            let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
            found = Some(&value[..end]);
        }
    }
    Ok(found)
}

/// Iterates over the attributes in `bytes` as (type without flags, value), in one pass.
/// A cut-short stream or a bad length field yields an error, after which the iteration
/// ends; callers stop at the first error, so such a stream never decodes silently.
pub fn attrs<'a>(
    bytes: &'a [u8],
    inside: &'static str,
) -> impl Iterator<Item = Result<(u16, &'a [u8])>> {
    NlasIterator::new(bytes).map(move |nla| {
        nla.map(kind_and_value)
            .map_err(|_| DecodeError::Malformed(inside))
    })
}

fn kind_and_value(nla: NlaBuffer<&[u8]>) -> (u16, &[u8]) {
    let kind = nla.kind();
    // NlaBuffer::value() borrows from the NlaBuffer itself; slicing the inner buffer
    // keeps the lifetime of the receive buffer. new_checked has already checked that
    // NLA_HDRLEN <= length <= buffer length.
    let length = usize::from(nla.length());
    let whole = nla.into_inner();
    (kind, &whole[NLA_HDRLEN..length])
}

fn exact<const N: usize>(value: &[u8], attribute: &'static str) -> Result<[u8; N]> {
    value.try_into().map_err(|_| DecodeError::BadLength {
        attribute,
        expected: N,
        found: value.len(),
    })
}

fn byte(value: &[u8], attribute: &'static str) -> Result<u8> {
    Ok(exact::<1>(value, attribute)?[0])
}

fn be_u16(value: &[u8], attribute: &'static str) -> Result<u16> {
    exact(value, attribute).map(u16::from_be_bytes)
}

fn be_u32(value: &[u8], attribute: &'static str) -> Result<u32> {
    exact(value, attribute).map(u32::from_be_bytes)
}

fn be_u64(value: &[u8], attribute: &'static str) -> Result<u64> {
    exact(value, attribute).map(u64::from_be_bytes)
}

fn ipv4(value: &[u8], attribute: &'static str) -> Result<IpAddr> {
    exact::<4>(value, attribute).map(|octets| IpAddr::V4(Ipv4Addr::from(octets)))
}

fn ipv6(value: &[u8], attribute: &'static str) -> Result<IpAddr> {
    exact::<16>(value, attribute).map(|octets| IpAddr::V6(Ipv6Addr::from(octets)))
}
