//! ctnetlink attributes of one entry message → an [`Entry`], zero-copy.

use super::*;
use crate::model::entry::{
    Counters, Entry, Family, L4, Labels, ProtoState, Status, Tuple, has_ports,
};

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

pub(crate) fn empty_tuple() -> Tuple {
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
            protonum if has_ports(protonum) => L4::Ports {
                sport: self.sport,
                dport: self.dport,
            },
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

/// One tuple (CTA_TUPLE_ORIG, CTA_TUPLE_REPLY, or an expectation's tuples and mask).
pub(crate) fn decode_tuple(bytes: &[u8], name: &'static str) -> Result<Tuple> {
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
