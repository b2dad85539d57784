//! Building request attributes from the model: a whole tuple (for a get, and for the
//! entries the tests and the benchmark create), numbers in the kernel's byte order.
//!
//! netlink-packet-netfilter emits the nested tuple; what it does not type (ICMP fields,
//! the tuple's zone) goes in as `DefaultNla`s under their kernel names.

use netlink_packet_core::{DefaultNla, Emitable, Nla};
use netlink_packet_netfilter::conntrack::{
    ConntrackAttribute, IPTuple, ProtoTuple, Protocol, Tuple as TupleNla,
};

use crate::kernel::*;
use crate::model::create::{NatTarget, NewEntry};
use crate::model::entry::{L4, ProtoState, Tuple};
use crate::model::expect::NewExpectation;

/// CTA_TUPLE_ORIG or CTA_TUPLE_REPLY (`kind`) holding every field of `tuple`, and
/// CTA_TUPLE_ZONE when `zone` is given.
pub fn tuple(kind: u16, tuple: &Tuple, zone: Option<u16>) -> DefaultNla {
    let mut ip = Vec::new();
    ip.extend(tuple.src.map(IPTuple::SourceAddress));
    ip.extend(tuple.dst.map(IPTuple::DestinationAddress));
    let mut proto = vec![ProtoTuple::Protocol(Protocol::from(tuple.protonum))];
    let icmpv6 = tuple.protonum == IPPROTO_ICMPV6;
    match tuple.l4 {
        L4::Ports { sport, dport } => {
            proto.push(ProtoTuple::SourcePort(sport));
            proto.push(ProtoTuple::DestinationPort(dport));
        }
        L4::Gre { srckey, dstkey } => {
            proto.push(ProtoTuple::SourcePort(srckey));
            proto.push(ProtoTuple::DestinationPort(dstkey));
        }
        L4::Icmp {
            icmp_type,
            code,
            id,
        } => {
            let (id_kind, type_kind, code_kind) = if icmpv6 {
                (
                    CTA_PROTO_ICMPV6_ID,
                    CTA_PROTO_ICMPV6_TYPE,
                    CTA_PROTO_ICMPV6_CODE,
                )
            } else {
                (CTA_PROTO_ICMP_ID, CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMP_CODE)
            };
            proto.push(ProtoTuple::Other(DefaultNla::new(
                id_kind,
                id.to_be_bytes().to_vec(),
            )));
            proto.push(ProtoTuple::Other(DefaultNla::new(
                type_kind,
                vec![icmp_type],
            )));
            proto.push(ProtoTuple::Other(DefaultNla::new(code_kind, vec![code])));
        }
        L4::None => {}
    }
    let mut fields = vec![TupleNla::Ip(ip), TupleNla::Proto(proto)];
    if let Some(zone) = zone {
        fields.push(TupleNla::Other(be16(CTA_TUPLE_ZONE, zone)));
    }
    let attribute = if kind == CTA_TUPLE_REPLY {
        ConntrackAttribute::CtaTupleReply(fields)
    } else {
        ConntrackAttribute::CtaTupleOrig(fields)
    };
    untyped(attribute)
}

/// The attributes of IPCTNL_MSG_CT_NEW creating `entry`, as libnetfilter_conntrack
/// builds them for conntrack -I: both tuples (each with its own zone), the timeout, the
/// status (with IPS_CONFIRMED), the mark, the zone, the protocol's state (with TCP's flags), the NAT ranges
/// (a single address, and a single port where given) and the labels.
pub fn new_entry(entry: &NewEntry) -> Vec<DefaultNla> {
    let mut attributes = vec![
        tuple(CTA_TUPLE_ORIG, &entry.original, entry.original.zone),
        tuple(CTA_TUPLE_REPLY, &entry.reply, entry.reply.zone),
        be32(CTA_TIMEOUT, entry.timeout),
    ];
    // IPS_CONFIRMED as libnetfilter_conntrack sends it: the kernel confirms the entry it
    // makes, and a status without the bit would ask to clear it (EBUSY).
    attributes.extend(
        entry
            .status
            .map(|status| be32(CTA_STATUS, status | 1 << IPS_CONFIRMED_BIT)),
    );
    attributes.extend(entry.mark.map(|mark| be32(CTA_MARK, mark)));
    attributes.extend(entry.zone.map(|zone| be16(CTA_ZONE, zone)));
    attributes.extend(protoinfo(entry));
    attributes.extend(entry.source_nat.map(|nat| nat_range(CTA_NAT_SRC, nat)));
    attributes.extend(entry.destination_nat.map(|nat| nat_range(CTA_NAT_DST, nat)));
    attributes.extend(
        entry
            .labels
            .map(|labels| DefaultNla::new(CTA_LABELS, labels.labels().0.to_vec())),
    );
    attributes.extend(entry.helper.map(|helper| {
        let mut name = helper.as_bytes().to_vec();
        name.push(0);
        nest(CTA_HELP, &[DefaultNla::new(CTA_HELP_NAME, name)])
    }));
    attributes
}

/// The attributes of an expectation to create: its master's original tuple, the
/// expected tuple, the mask, the timeout, and the zone the master is looked up in.
pub fn new_expectation(expectation: &NewExpectation) -> Vec<DefaultNla> {
    let mut attributes = vec![
        nested_as(CTA_EXPECT_MASTER, &expectation.master),
        nested_as(CTA_EXPECT_TUPLE, &expectation.expected),
        nested_as(CTA_EXPECT_MASK, &expectation.mask),
        be32(CTA_EXPECT_TIMEOUT, expectation.timeout),
    ];
    attributes.extend(expectation.zone.map(|zone| be16(CTA_EXPECT_ZONE, zone)));
    attributes
}

/// CTA_PROTOINFO with the tracker's state (and TCP's flags, SCTP's vtags, DCCP's role),
/// in the order libnetfilter_conntrack puts them.
fn protoinfo(entry: &NewEntry) -> Option<DefaultNla> {
    let (kind, mut fields) = match entry.state? {
        ProtoState::Tcp(state) => (
            CTA_PROTOINFO_TCP,
            vec![DefaultNla::new(CTA_PROTOINFO_TCP_STATE, vec![state])],
        ),
        ProtoState::Sctp(state) => {
            let mut fields = vec![DefaultNla::new(CTA_PROTOINFO_SCTP_STATE, vec![state])];
            fields.extend(
                entry
                    .sctp_vtag_original
                    .map(|vtag| be32(CTA_PROTOINFO_SCTP_VTAG_ORIGINAL, vtag)),
            );
            fields.extend(
                entry
                    .sctp_vtag_reply
                    .map(|vtag| be32(CTA_PROTOINFO_SCTP_VTAG_REPLY, vtag)),
            );
            (CTA_PROTOINFO_SCTP, fields)
        }
        ProtoState::Dccp(state) => {
            let mut fields = vec![DefaultNla::new(CTA_PROTOINFO_DCCP_STATE, vec![state])];
            fields.extend(
                entry
                    .dccp_role
                    .map(|role| DefaultNla::new(CTA_PROTOINFO_DCCP_ROLE, vec![role.raw()])),
            );
            (CTA_PROTOINFO_DCCP, fields)
        }
    };
    if let Some(flags) = entry.tcp_flags() {
        for kind in [
            CTA_PROTOINFO_TCP_FLAGS_ORIGINAL,
            CTA_PROTOINFO_TCP_FLAGS_REPLY,
        ] {
            fields.push(DefaultNla::new(kind, vec![flags.flags, flags.mask]));
        }
    }
    Some(nest(CTA_PROTOINFO, &[nest(kind, &fields)]))
}

/// CTA_NAT_SRC or CTA_NAT_DST (`kind`): the range of one address, and of one port where
/// one is given.
fn nat_range(kind: u16, nat: NatTarget) -> DefaultNla {
    let mut fields = match nat.address {
        std::net::IpAddr::V4(address) => vec![
            DefaultNla::new(CTA_NAT_V4_MINIP, address.octets().to_vec()),
            DefaultNla::new(CTA_NAT_V4_MAXIP, address.octets().to_vec()),
        ],
        std::net::IpAddr::V6(address) => vec![
            DefaultNla::new(CTA_NAT_V6_MINIP, address.octets().to_vec()),
            DefaultNla::new(CTA_NAT_V6_MAXIP, address.octets().to_vec()),
        ],
    };
    if let Some(port) = nat.port {
        fields.push(nest(
            CTA_NAT_PROTO,
            &[
                be16(CTA_PROTONAT_PORT_MIN, port),
                be16(CTA_PROTONAT_PORT_MAX, port),
            ],
        ));
    }
    nest(kind, &fields)
}

/// A nested attribute of `children`, NLA_F_NESTED set.
fn nest(kind: u16, children: &[DefaultNla]) -> DefaultNla {
    let mut value = Vec::new();
    for child in children {
        let start = value.len();
        value.resize(start + child.buffer_len(), 0);
        child.emit(&mut value[start..]);
    }
    DefaultNla::new(kind | NLA_F_NESTED, value)
}

/// Appends to `out` those of `attributes` (as the kernel sent them) whose type is one of
/// `kinds`: header, value and padding unchanged, flags kept. A request that names an
/// entry the kernel sent (its tuple, zone and id) so needs no encoding of its own.
pub fn copy_raw(attributes: &[u8], kinds: &[u16], out: &mut Vec<u8>) {
    let mut rest = attributes;
    while rest.len() >= NLA_HDRLEN {
        let length = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        if length < NLA_HDRLEN || length > rest.len() {
            return;
        }
        let padded = nla_align(length).min(rest.len());
        if kinds.contains(&kind) {
            out.extend_from_slice(&rest[..padded]);
            out.resize(nla_align(out.len()), 0);
        }
        rest = &rest[padded..];
    }
}

/// An expectation's tuple (CTA_EXPECT_TUPLE), laid out as a conntrack tuple.
pub fn expect_tuple(tuple_of: &Tuple) -> DefaultNla {
    nested_as(CTA_EXPECT_TUPLE, tuple_of)
}

/// `tuple_of` as the nested attribute `kind` (one of CTA_EXPECT_MASTER, _TUPLE, _MASK).
fn nested_as(kind: u16, tuple_of: &Tuple) -> DefaultNla {
    let as_original = untyped_tuple(tuple_of);
    let mut value = vec![0; as_original.value_len()];
    as_original.emit_value(&mut value);
    DefaultNla::new(kind | NLA_F_NESTED, value)
}

fn untyped_tuple(tuple_of: &Tuple) -> DefaultNla {
    tuple(CTA_TUPLE_ORIG, tuple_of, None)
}

/// A big-endian u32 attribute, as ctnetlink's numbers are.
pub fn be32(kind: u16, value: u32) -> DefaultNla {
    DefaultNla::new(kind, value.to_be_bytes().to_vec())
}

/// A big-endian u16 attribute (CTA_ZONE, CTA_TUPLE_ZONE).
pub fn be16(kind: u16, value: u16) -> DefaultNla {
    DefaultNla::new(kind, value.to_be_bytes().to_vec())
}

/// The crate's typed attribute as a `DefaultNla`, keeping its NLA_F_NESTED flag.
pub fn untyped(attribute: ConntrackAttribute) -> DefaultNla {
    let mut value = vec![0; attribute.value_len()];
    attribute.emit_value(&mut value);
    let nested = if attribute.is_nested() {
        NLA_F_NESTED
    } else {
        0
    };
    DefaultNla::new(attribute.kind() | nested, value)
}

/// Attributes written out by hand, as the kernel lays them out, for the messages that
/// tests and fuzzers build (a kernel's reply, an event) where no typed builder fits.
pub mod raw {
    use crate::kernel::{NLA_F_NESTED, NLA_HDRLEN, NLMSG_ALIGNTO};

    /// One attribute: header, value, padding to 4 bytes.
    pub fn attr(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(NLA_HDRLEN + value.len() + NLMSG_ALIGNTO);
        out.extend_from_slice(&((NLA_HDRLEN + value.len()) as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        while out.len() % NLMSG_ALIGNTO != 0 {
            out.push(0);
        }
        out
    }

    /// A nested attribute, NLA_F_NESTED set as the kernel sets it.
    pub fn nest(kind: u16, children: &[Vec<u8>]) -> Vec<u8> {
        attr(kind | NLA_F_NESTED, &children.concat())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;

    fn bytes(attribute: DefaultNla) -> Vec<u8> {
        let mut out = vec![0; attribute.buffer_len()];
        attribute.emit(&mut out);
        out
    }

    #[test]
    fn an_icmp_tuple_with_its_zone() {
        let tuple = Tuple {
            src: Some("10.0.0.1".parse().unwrap()),
            dst: Some("10.0.0.2".parse().unwrap()),
            protonum: IPPROTO_ICMP,
            l4: L4::Icmp {
                icmp_type: 8,
                code: 0,
                id: 7,
            },
            zone: None,
        };
        #[rustfmt::skip]
        assert_eq!(bytes(super::tuple(CTA_TUPLE_ORIG, &tuple, Some(5))), [
            68, 0, 1, 0x80,                         // CTA_TUPLE_ORIG
              20, 0, 1, 0x80,                       //   CTA_TUPLE_IP
                8, 0, 1, 0, 10, 0, 0, 1,            //     CTA_IP_V4_SRC
                8, 0, 2, 0, 10, 0, 0, 2,            //     CTA_IP_V4_DST
              36, 0, 2, 0x80,                       //   CTA_TUPLE_PROTO
                5, 0, 1, 0, 1, 0, 0, 0,             //     CTA_PROTO_NUM icmp
                6, 0, 4, 0, 0, 7, 0, 0,             //     CTA_PROTO_ICMP_ID 7
                5, 0, 5, 0, 8, 0, 0, 0,             //     CTA_PROTO_ICMP_TYPE 8
                5, 0, 6, 0, 0, 0, 0, 0,             //     CTA_PROTO_ICMP_CODE 0
              6, 0, 3, 0, 0, 5, 0, 0,               //   CTA_TUPLE_ZONE 5
        ]);
    }

    #[test]
    fn a_new_tcp_entry_with_destination_nat() {
        use crate::model::create::{NatTarget, NewEntry};
        let original = Tuple {
            src: Some("1.1.1.1".parse().unwrap()),
            dst: Some("2.2.2.2".parse().unwrap()),
            protonum: IPPROTO_TCP,
            l4: L4::Ports {
                sport: 10,
                dport: 20,
            },
            zone: None,
        };
        let mut entry = NewEntry::new(original, 50);
        entry.state = Some(ProtoState::Tcp(3));
        entry.mark = Some(7);
        entry.destination_nat = Some(NatTarget {
            address: "3.3.3.3".parse().unwrap(),
            port: Some(80),
        });
        let encoded: Vec<Vec<u8>> = new_entry(&entry).into_iter().map(bytes).collect();
        assert_eq!(encoded.len(), 6, "tuples, timeout, mark, protoinfo, NAT");
        // The reply tuple is the original turned around.
        assert_eq!(
            encoded[1],
            bytes(super::tuple(CTA_TUPLE_REPLY, &original.reversed(), None))
        );
        assert_eq!(encoded[2], [8, 0, 7, 0, 0, 0, 0, 50]);
        assert_eq!(encoded[3], [8, 0, 8, 0, 0, 0, 0, 7]);
        #[rustfmt::skip]
        assert_eq!(encoded[4], [
            32, 0, 4, 0x80,                          // CTA_PROTOINFO
              28, 0, 1, 0x80,                        //   CTA_PROTOINFO_TCP
                5, 0, 1, 0, 3, 0, 0, 0,              //     STATE ESTABLISHED
                6, 0, 4, 0, 0x0a, 0x0a, 0, 0,        //     FLAGS_ORIGINAL
                6, 0, 5, 0, 0x0a, 0x0a, 0, 0,        //     FLAGS_REPLY
        ]);
        #[rustfmt::skip]
        assert_eq!(encoded[5], [
            40, 0, 13, 0x80,                         // CTA_NAT_DST
              8, 0, 1, 0, 3, 3, 3, 3,                //   CTA_NAT_V4_MINIP
              8, 0, 2, 0, 3, 3, 3, 3,                //   CTA_NAT_V4_MAXIP
              20, 0, 3, 0x80,                        //   CTA_NAT_PROTO
                6, 0, 1, 0, 0, 80, 0, 0,             //     PORT_MIN
                6, 0, 2, 0, 0, 80, 0, 0,             //     PORT_MAX
        ]);
    }

    /// conntrack -I's CTA_PROTOINFO for `-p sctp --state ESTABLISHED --orig-vtag 1
    /// --reply-vtag 258` and `-p dccp --state OPEN --role server` (strace, conntrack
    /// 1.4.7), padding zeroed: the tags byte-swapped, as the conntrack mode sends them.
    #[test]
    fn sctp_vtags_and_dccp_role_as_conntrack_sends_them() {
        use crate::model::create::NewEntry;
        use crate::model::entry::DccpRole;
        let tuple = |protonum| Tuple {
            src: Some("1.1.1.1".parse().unwrap()),
            dst: Some("2.2.2.7".parse().unwrap()),
            protonum,
            l4: L4::Ports { sport: 1, dport: 2 },
            zone: None,
        };
        let mut sctp = NewEntry::new(tuple(IPPROTO_SCTP), 100);
        sctp.state = Some(ProtoState::Sctp(4));
        sctp.sctp_vtag_original = Some(1u32.swap_bytes());
        sctp.sctp_vtag_reply = Some(258u32.swap_bytes());
        #[rustfmt::skip]
        assert_eq!(bytes(protoinfo(&sctp).unwrap()), [
            32, 0, 4, 0x80,                          // CTA_PROTOINFO
              28, 0, 3, 0x80,                        //   CTA_PROTOINFO_SCTP
                5, 0, 1, 0, 4, 0, 0, 0,              //     STATE ESTABLISHED
                8, 0, 2, 0, 1, 0, 0, 0,              //     VTAG_ORIGINAL
                8, 0, 3, 0, 2, 1, 0, 0,              //     VTAG_REPLY
        ]);
        let mut dccp = NewEntry::new(tuple(IPPROTO_DCCP), 100);
        dccp.state = Some(ProtoState::Dccp(4));
        dccp.dccp_role = Some(DccpRole::Server);
        #[rustfmt::skip]
        assert_eq!(bytes(protoinfo(&dccp).unwrap()), [
            24, 0, 4, 0x80,                          // CTA_PROTOINFO
              20, 0, 2, 0x80,                        //   CTA_PROTOINFO_DCCP
                5, 0, 1, 0, 4, 0, 0, 0,              //     STATE OPEN
                5, 0, 2, 0, 1, 0, 0, 0,              //     ROLE server
        ]);
    }

    #[test]
    fn copy_raw_keeps_the_kinds_asked_for_byte_for_byte() {
        // CTA_TUPLE_ORIG (nested, 8 bytes), CTA_MARK (8), CTA_ZONE (6, padded to 8).
        let attributes: Vec<u8> = [
            &[8, 0, 1, 0x80, 1, 2, 3, 4][..],
            &[8, 0, 8, 0, 0, 0, 0, 5],
            &[6, 0, 18, 0, 0, 7, 0, 0],
        ]
        .concat();
        let mut out = Vec::new();
        copy_raw(&attributes, &[CTA_TUPLE_ORIG, CTA_ZONE], &mut out);
        assert_eq!(out, [&attributes[..8], &attributes[16..]].concat());
        // A length past the end stops the copy rather than reading on.
        let mut cut = Vec::new();
        copy_raw(&[40, 0, 1, 0, 1, 2], &[CTA_TUPLE_ORIG], &mut cut);
        assert!(cut.is_empty());
    }
}
