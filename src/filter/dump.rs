//! The part of a filter the kernel can apply to a dump, as request attributes.
//!
//! What the kernel's ctnetlink dump filter (ctnetlink_alloc_filter and
//! ctnetlink_filter_match in net/netfilter/nf_conntrack_netlink.c) can do, and since when:
//! - the nfgenmsg family: every kernel;
//! - CTA_MARK + CTA_MARK_MASK, `(mark & mask) == value`: Linux 3.x and later;
//! - CTA_STATUS + CTA_STATUS_MASK, `(status & mask) == value`: Linux 5.15; older kernels
//!   ignore both;
//! - CTA_ZONE, the zone id in either direction: Linux 6.8; older kernels ignore it;
//! - CTA_FILTER with CTA_TUPLE_ORIG / CTA_TUPLE_REPLY, exact tuple fields: Linux 5.8.
//!   Used here for exact IPv4 addresses, one protocol, TCP/UDP ports and the ICMP and
//!   ICMPv6 type, code and id: in 6.18 the IPv6 address comparison is inverted (it keeps
//!   every entry but the one asked for), ports of other protocols (GRE keys among them)
//!   are not compared, and a tuple zone is never matched. The kernel takes CTA_FILTER only with a family of
//!   ipv4 or ipv6 (AF_UNSPEC is refused), so a filter without `-f` that CTA_FILTER can
//!   help is dumped once per family, each with what that family can have filtered: see
//!   [`entry_dumps`].
//!
//! Expectations are dumped by family alone: see [`expectation_dump`].
//!
//! Every one of these selects a superset of what [`Filter::matches`] accepts, which is
//! checked afterwards on every entry, so a kernel that ignores an attribute changes only
//! how many entries cross into user space, never what is shown. A kernel that rejects
//! one (EINVAL, EOPNOTSUPP) is asked again with less: see [`entry_requests`].
//!
//! [`Filter::matches`]: crate::filter::Filter::matches

use netlink_packet_core::{DefaultNla, Emitable};
use netlink_packet_netfilter::conntrack::{
    ConntrackAttribute, IPTuple, ProtoTuple, Protocol, Tuple,
};

use crate::filter::{AddrMatch, Filter};
use crate::kernel::*;
use crate::netlink::Request;
use crate::netlink::attributes::{be32, untyped};

/// The dumps to make for `filter`, each as the requests to try in turn (see
/// [`entry_requests`]): one of the filter's family; without a family, one of both
/// (AF_UNSPEC) unless CTA_FILTER can narrow either family, then one per family.
pub fn entry_dumps(filter: &Filter) -> Vec<Vec<Request>> {
    match filter.family {
        Some(family) => vec![entry_requests(filter, family)],
        None if [AF_INET, AF_INET6]
            .iter()
            .any(|&family| !tuple_filter(filter, family).is_empty()) =>
        {
            vec![
                entry_requests(filter, AF_INET),
                entry_requests(filter, AF_INET6),
            ]
        }
        None => vec![entry_requests(filter, AF_UNSPEC)],
    }
}

/// The requests to try in turn for a dump of `family`: the most the kernel could filter
/// first, then without the ICMP fields (the kernel refuses an ICMP type its tracker
/// does not know, such as 8 for ICMPv6: the protocol alone still narrows the dump),
/// without the tuple filter (5.8+), without the zone (6.8+), without the status
/// (5.15+), and last the family alone, which every kernel takes. Duplicates are left
/// out.
pub fn entry_requests(filter: &Filter, family: u8) -> Vec<Request> {
    // Every field, named without `..`: a new one does not compile until it is decided
    // here whether the kernel can narrow the dump by it (a field left to user space
    // costs only speed, since every entry is matched there anyway).
    let Filter {
        // The request's own family.
        family: _,
        // tuple_filter: one protocol, exact IPv4 addresses, TCP/UDP ports, ICMP fields.
        protocols: _,
        orig_src: _,
        orig_dst: _,
        reply_src: _,
        reply_dst: _,
        orig_sport: _,
        orig_dport: _,
        reply_sport: _,
        reply_dport: _,
        icmp_type: _,
        icmp_code: _,
        icmp_id: _,
        // tuple_filter: GRE keys make the protocol gre; the kernel does not compare them.
        orig_key_src: _,
        orig_key_dst: _,
        reply_key_src: _,
        reply_key_dst: _,
        // mark_attributes, status_attributes, zone_attribute.
        mark: _,
        status: _,
        zone: _,
        orig_zone: _,
        reply_zone: _,
        // User space only: no dump attribute matches any of four addresses or ports, a
        // state, NAT, labels or the helper's name.
        any_addr: _,
        any_port: _,
        states: _,
        src_nat: _,
        dst_nat: _,
        any_nat: _,
        labels: _,
        helper: _,
        // No dump attribute selects by id (the kernel checks CTA_ID only in a delete).
        id: _,
    } = filter;
    let mark = mark_attributes(filter);
    let status = status_attributes(filter);
    let zone = zone_attribute(filter);
    let tuple = tuple_filter(filter, family);
    let without_icmp = Filter {
        icmp_type: None,
        icmp_code: None,
        icmp_id: None,
        ..filter.clone()
    };
    let mut tuple_without_icmp = tuple_filter(&without_icmp, family);
    if tuple_without_icmp.is_empty() && !tuple.is_empty() {
        // An ICMP filter made the protocol implicit; keep it.
        tuple_without_icmp = tuple_filter(
            &Filter {
                protocols: vec![if family == AF_INET6 {
                    IPPROTO_ICMPV6
                } else {
                    IPPROTO_ICMP
                }],
                ..without_icmp
            },
            family,
        );
    }
    let steps = [
        [mark.clone(), status.clone(), zone.clone(), tuple].concat(),
        [
            mark.clone(),
            status.clone(),
            zone.clone(),
            tuple_without_icmp,
        ]
        .concat(),
        [mark.clone(), status.clone(), zone].concat(),
        [mark.clone(), status].concat(),
        mark,
        Vec::new(),
    ];
    let mut ladder: Vec<Request> = Vec::new();
    for attributes in steps {
        let request = Request::dump_entries(family, attributes);
        if ladder.last() != Some(&request) {
            ladder.push(request);
        }
    }
    ladder
}

pub(super) fn mark_attributes(filter: &Filter) -> Vec<DefaultNla> {
    match filter.mark {
        Some(mark) => vec![be32(CTA_MARK, mark.value), be32(CTA_MARK_MASK, mark.mask)],
        None => Vec::new(),
    }
}

/// `(status & (set | clear)) == set`: the set bits present, the clear ones absent.
pub(super) fn status_attributes(filter: &Filter) -> Vec<DefaultNla> {
    match filter.status {
        // The kernel refuses a zero mask, and an empty match needs no filter.
        Some(status) if status.set | status.clear != 0 => vec![
            be32(CTA_STATUS, status.set),
            be32(CTA_STATUS_MASK, status.set | status.clear),
        ],
        _ => Vec::new(),
    }
}

/// The expectation dump for `filter`: the kernel (ctnetlink_exp_dump_table) narrows it
/// by the nfgenmsg family alone, so it is of the filter's family, or of both
/// (AF_UNSPEC); every other condition is judged in user space by
/// [`Filter::matches_expectation`].
///
/// [`Filter::matches_expectation`]: crate::filter::Filter::matches_expectation
pub fn expectation_dump(filter: &Filter) -> Request {
    Request::dump(
        NFNL_SUBSYS_CTNETLINK_EXP,
        IPCTNL_MSG_EXP_GET,
        filter.family.unwrap_or(AF_UNSPEC),
        "the expectation dump",
    )
}

/// CTA_ZONE keeps entries with that zone id in either direction: a superset of `-w`,
/// `--orig-zone` and `--reply-zone` for a non-zero zone. Zone 0 is left to user space,
/// since `-w 0` must also show entries that have a zone in one direction only.
fn zone_attribute(filter: &Filter) -> Vec<DefaultNla> {
    let zone = [filter.zone, filter.orig_zone, filter.reply_zone]
        .into_iter()
        .flatten()
        .find(|&zone| zone != 0);
    match zone {
        Some(zone) => vec![DefaultNla::new(CTA_ZONE, zone.to_be_bytes().to_vec())],
        None => Vec::new(),
    }
}

/// Whether CTA_FILTER compares the ports of a dump or flush of `protocol`: only for TCP
/// and UDP, though more protocols have ports.
pub(super) fn compares_ports(protocol: Option<u8>) -> bool {
    matches!(protocol, Some(IPPROTO_TCP | IPPROTO_UDP))
}

/// CTA_FILTER for a dump of `family` (ipv4 or ipv6; nothing for AF_UNSPEC, which the
/// kernel refuses it with): exact IPv4 addresses, one protocol, TCP or UDP ports, and
/// the original direction's ICMP (ICMPv6) type, code and id. The fields named by the
/// flags present. GRE keys only make the protocol gre: the kernel parses a GRE tuple's
/// ports in a filter but compares ports of TCP and UDP alone.
pub(super) fn tuple_filter(filter: &Filter, family: u8) -> Vec<DefaultNla> {
    let icmp_protocol = match family {
        AF_INET => IPPROTO_ICMP,
        AF_INET6 => IPPROTO_ICMPV6,
        _ => return Vec::new(),
    };
    let (wants_icmp, wants_keys) = (filter.wants_icmp(), filter.wants_keys());
    let protocol = match filter.protocols[..] {
        [one] => Some(one),
        // Only the family's ICMP entries can have an ICMP type, only GRE entries keys
        // (which the kernel does not compare: user space does).
        [] if wants_icmp && !wants_keys => Some(icmp_protocol),
        [] if wants_keys && !wants_icmp => Some(IPPROTO_GRE),
        _ => None,
    };
    let ports_compared = compares_ports(protocol);
    let icmp = (protocol == Some(icmp_protocol)).then_some(IcmpFields {
        icmp_type: filter.icmp_type,
        code: filter.icmp_code,
        id: filter.icmp_id,
    });
    // Exact IPv4 addresses only: the kernel compares IPv6 ones inverted.
    let addresses = |src: Option<AddrMatch>, dst: Option<AddrMatch>| match family {
        AF_INET => (src, dst),
        _ => (None, None),
    };
    let (src, dst) = addresses(filter.orig_src, filter.orig_dst);
    let (orig, orig_flags) = tuple_fields(
        src,
        dst,
        protocol,
        ports_compared.then_some((filter.orig_sport, filter.orig_dport)),
        icmp,
    );
    let (src, dst) = addresses(filter.reply_src, filter.reply_dst);
    let (reply, reply_flags) = tuple_fields(
        src,
        dst,
        protocol,
        ports_compared.then_some((filter.reply_sport, filter.reply_dport)),
        None,
    );
    // A protocol alone in the reply tuple says nothing the original does not.
    let reply_flags = if reply_flags == CTA_FILTER_FLAG_CTA_PROTO_NUM {
        0
    } else {
        reply_flags
    };
    if orig_flags == 0 && reply_flags == 0 {
        return Vec::new();
    }
    let mut attributes = Vec::new();
    if orig_flags != 0 {
        attributes.push(untyped(ConntrackAttribute::CtaTupleOrig(orig)));
    }
    if reply_flags != 0 {
        attributes.push(untyped(ConntrackAttribute::CtaTupleReply(reply)));
    }
    let flags = [
        DefaultNla::new(CTA_FILTER_ORIG_FLAGS, orig_flags.to_ne_bytes().to_vec()),
        DefaultNla::new(CTA_FILTER_REPLY_FLAGS, reply_flags.to_ne_bytes().to_vec()),
    ];
    let mut nested = vec![0; flags.as_slice().buffer_len()];
    flags.as_slice().emit(&mut nested);
    attributes.push(DefaultNla::new(CTA_FILTER | NLA_F_NESTED, nested));
    attributes
}

/// The ICMP fields a filter compares, of the original direction.
#[derive(Clone, Copy)]
struct IcmpFields {
    icmp_type: Option<u8>,
    code: Option<u8>,
    id: Option<u16>,
}

/// One tuple's filter fields and the CTA_FILTER flags naming them.
fn tuple_fields(
    src: Option<AddrMatch>,
    dst: Option<AddrMatch>,
    protocol: Option<u8>,
    ports: Option<(Option<u16>, Option<u16>)>,
    icmp: Option<IcmpFields>,
) -> (Vec<Tuple>, u32) {
    let exact_v4 = |m: Option<AddrMatch>| m.filter(|m| m.is_exact() && m.is_ipv4());
    let mut flags = 0;
    let mut ip = Vec::new();
    if let Some(src) = exact_v4(src) {
        ip.push(IPTuple::SourceAddress(src.addr));
        flags |= CTA_FILTER_FLAG_CTA_IP_SRC;
    }
    if let Some(dst) = exact_v4(dst) {
        ip.push(IPTuple::DestinationAddress(dst.addr));
        flags |= CTA_FILTER_FLAG_CTA_IP_DST;
    }
    let mut proto = Vec::new();
    if let Some(protocol) = protocol {
        proto.push(ProtoTuple::Protocol(Protocol::from(protocol)));
        flags |= CTA_FILTER_FLAG_CTA_PROTO_NUM;
        if let Some((sport, dport)) = ports {
            if let Some(sport) = sport {
                proto.push(ProtoTuple::SourcePort(sport));
                flags |= CTA_FILTER_FLAG_CTA_PROTO_SRC_PORT;
            }
            if let Some(dport) = dport {
                proto.push(ProtoTuple::DestinationPort(dport));
                flags |= CTA_FILTER_FLAG_CTA_PROTO_DST_PORT;
            }
        }
        if let Some(icmp) = icmp {
            let v6 = protocol == IPPROTO_ICMPV6;
            let fields = [
                (
                    icmp.icmp_type.map(|t| vec![t]),
                    [CTA_PROTO_ICMP_TYPE, CTA_PROTO_ICMPV6_TYPE],
                    [
                        CTA_FILTER_FLAG_CTA_PROTO_ICMP_TYPE,
                        CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_TYPE,
                    ],
                ),
                (
                    icmp.code.map(|c| vec![c]),
                    [CTA_PROTO_ICMP_CODE, CTA_PROTO_ICMPV6_CODE],
                    [
                        CTA_FILTER_FLAG_CTA_PROTO_ICMP_CODE,
                        CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_CODE,
                    ],
                ),
                (
                    icmp.id.map(|i| i.to_be_bytes().to_vec()),
                    [CTA_PROTO_ICMP_ID, CTA_PROTO_ICMPV6_ID],
                    [
                        CTA_FILTER_FLAG_CTA_PROTO_ICMP_ID,
                        CTA_FILTER_FLAG_CTA_PROTO_ICMPV6_ID,
                    ],
                ),
            ];
            for (value, kinds, flag) in fields {
                if let Some(value) = value {
                    let which = usize::from(v6);
                    proto.push(ProtoTuple::Other(DefaultNla::new(kinds[which], value)));
                    flags |= flag[which];
                }
            }
        }
    }
    let mut tuple = Vec::new();
    if !ip.is_empty() {
        tuple.push(Tuple::Ip(ip));
    }
    if !proto.is_empty() {
        tuple.push(Tuple::Proto(proto));
    }
    (tuple, flags)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::values::{MarkMatch, StatusMatch};

    /// The single dump's ladder of a filter with a family (or none that needs one).
    fn entry_requests(filter: &Filter) -> Vec<Request> {
        let mut dumps = entry_dumps(filter);
        assert_eq!(dumps.len(), 1, "{filter:?} is one dump");
        dumps.remove(0)
    }

    fn bytes(request: &Request) -> Vec<u8> {
        request.to_bytes(1)[16..].to_vec()
    }

    #[test]
    fn no_filter_asks_for_everything_once() {
        let ladder = entry_requests(&Filter::default());
        assert_eq!(ladder, vec![Request::dump_entries(AF_UNSPEC, vec![])]);
    }

    /// The same bytes conntrack 1.4.7 sends for `-L -m 5/0xff`.
    #[test]
    fn mark_request_matches_conntrack() {
        let filter = Filter {
            mark: Some(MarkMatch {
                value: 5,
                mask: 0xff,
            }),
            ..Default::default()
        };
        let ladder = entry_requests(&filter);
        #[rustfmt::skip]
        assert_eq!(bytes(&ladder[0]), [
            0, 0, 0, 0,                      // nfgenmsg: AF_UNSPEC
            8, 0, 8, 0, 0, 0, 0, 5,          // CTA_MARK 5
            8, 0, 21, 0, 0, 0, 0, 0xff,      // CTA_MARK_MASK 0xff
        ]);
        assert_eq!(ladder.len(), 2, "then the family alone");
        assert_eq!(ladder[1], Request::dump_entries(AF_UNSPEC, vec![]));
    }

    /// conntrack 1.4.7's `-u ASSURED` and `-u UNREPLIED`.
    #[test]
    fn status_request_matches_conntrack() {
        let assured = Filter {
            status: Some("ASSURED".parse::<StatusMatch>().unwrap()),
            ..Default::default()
        };
        #[rustfmt::skip]
        assert_eq!(bytes(&entry_requests(&assured)[0]), [
            0, 0, 0, 0,
            8, 0, 3, 0, 0, 0, 0, 4,          // CTA_STATUS IPS_ASSURED
            8, 0, 26, 0, 0, 0, 0, 4,         // CTA_STATUS_MASK IPS_ASSURED
        ]);
        let unreplied = Filter {
            status: Some("UNREPLIED".parse::<StatusMatch>().unwrap()),
            ..Default::default()
        };
        #[rustfmt::skip]
        assert_eq!(bytes(&entry_requests(&unreplied)[0]), [
            0, 0, 0, 0,
            8, 0, 3, 0, 0, 0, 0, 0,          // CTA_STATUS 0
            8, 0, 26, 0, 0, 0, 0, 2,         // CTA_STATUS_MASK IPS_SEEN_REPLY
        ]);
    }

    #[test]
    fn zone_zero_stays_in_user_space() {
        let zero = Filter {
            zone: Some(0),
            ..Default::default()
        };
        assert_eq!(
            entry_requests(&zero),
            vec![Request::dump_entries(AF_UNSPEC, vec![])]
        );
        let seven = Filter {
            orig_zone: Some(7),
            ..Default::default()
        };
        #[rustfmt::skip]
        assert_eq!(bytes(&entry_requests(&seven)[0]), [
            0, 0, 0, 0,
            6, 0, 18, 0, 0, 7, 0, 0,         // CTA_ZONE 7, padded
        ]);
    }

    #[test]
    fn ipv4_tuple_filter_with_tcp_ports() {
        let filter = Filter {
            family: Some(AF_INET),
            protocols: vec![IPPROTO_TCP],
            orig_src: Some("10.0.0.1".parse().unwrap()),
            orig_dport: Some(443),
            reply_src: Some("10.0.0.0/8".parse().unwrap()),
            ..Default::default()
        };
        let ladder = entry_requests(&filter);
        #[rustfmt::skip]
        assert_eq!(bytes(&ladder[0]), [
            2, 0, 0, 0,                              // nfgenmsg: AF_INET
            36, 0, 1, 0x80,                          // CTA_TUPLE_ORIG
              12, 0, 1, 0x80,                        //   CTA_TUPLE_IP
                8, 0, 1, 0, 10, 0, 0, 1,             //     CTA_IP_V4_SRC 10.0.0.1
              20, 0, 2, 0x80,                        //   CTA_TUPLE_PROTO
                5, 0, 1, 0, 6, 0, 0, 0,              //     CTA_PROTO_NUM tcp
                6, 0, 3, 0, 1, 187, 0, 0,            //     CTA_PROTO_DST_PORT 443
            20, 0, 25, 0x80,                         // CTA_FILTER
              8, 0, 1, 0, 0b10_1001, 0, 0, 0,        //   ORIG_FLAGS: IP_SRC|PROTO_NUM|DST_PORT
              8, 0, 2, 0, 0, 0, 0, 0,                //   REPLY_FLAGS: none (a prefix)
        ]);
        assert_eq!(ladder.len(), 2);
        assert_eq!(ladder[1].family, AF_INET);
        assert!(ladder[1].attributes.is_empty());
    }

    #[test]
    fn no_tuple_filter_for_ipv6_or_other_protocols_ports() {
        let v6 = Filter {
            family: Some(AF_INET6),
            orig_src: Some("fd00::1".parse().unwrap()),
            ..Default::default()
        };
        assert_eq!(entry_requests(&v6).len(), 1);
        let sctp_port = Filter {
            family: Some(AF_INET),
            protocols: vec![IPPROTO_SCTP],
            orig_dport: Some(36412),
            ..Default::default()
        };
        let first = &entry_requests(&sctp_port)[0];
        // The protocol goes to the kernel, the sctp port does not.
        let flags_at = bytes(first).len() - 12;
        assert_eq!(bytes(first)[flags_at..flags_at + 4], [8, 0, 0, 0]);
    }

    /// Without -f, CTA_FILTER needs a family: one dump per family, the IPv6 one with no
    /// addresses (there are none: an address would have set the family).
    #[test]
    fn a_protocol_without_a_family_is_filtered_per_family() {
        let tcp_80 = Filter {
            protocols: vec![IPPROTO_TCP],
            orig_dport: Some(80),
            ..Default::default()
        };
        let dumps = entry_dumps(&tcp_80);
        let families: Vec<u8> = dumps.iter().map(|ladder| ladder[0].family).collect();
        assert_eq!(families, [AF_INET, AF_INET6]);
        for ladder in &dumps {
            #[rustfmt::skip]
            assert_eq!(bytes(&ladder[0])[4..], [
                24, 0, 1, 0x80,                      // CTA_TUPLE_ORIG
                  20, 0, 2, 0x80,                    //   CTA_TUPLE_PROTO
                    5, 0, 1, 0, 6, 0, 0, 0,          //     CTA_PROTO_NUM tcp
                    6, 0, 3, 0, 0, 80, 0, 0,         //     CTA_PROTO_DST_PORT 80
                20, 0, 25, 0x80,                     // CTA_FILTER
                  8, 0, 1, 0, 0b10_1000, 0, 0, 0,    //   ORIG_FLAGS: PROTO_NUM|DST_PORT
                  8, 0, 2, 0, 0, 0, 0, 0,            //   REPLY_FLAGS: none
            ][..]);
            assert_eq!(ladder.last().unwrap().attributes, vec![]);
        }
    }

    /// GRE keys are compared in user space only: without -p they ask the kernel for GRE
    /// entries, in each family, and never send a port.
    #[test]
    fn gre_keys_ask_for_gre_entries_only() {
        let key = Filter {
            orig_key_src: Some(0x10),
            reply_key_dst: Some(0x10),
            ..Default::default()
        };
        let dumps = entry_dumps(&key);
        assert_eq!(dumps.len(), 2, "one dump per family");
        for ladder in &dumps {
            #[rustfmt::skip]
            assert_eq!(bytes(&ladder[0])[4..], [
                16, 0, 1, 0x80,                      // CTA_TUPLE_ORIG
                  12, 0, 2, 0x80,                    //   CTA_TUPLE_PROTO
                    5, 0, 1, 0, 47, 0, 0, 0,         //     CTA_PROTO_NUM gre
                20, 0, 25, 0x80,                     // CTA_FILTER
                  8, 0, 1, 0, 0b1000, 0, 0, 0,       //   ORIG_FLAGS: PROTO_NUM
                  8, 0, 2, 0, 0, 0, 0, 0,            //   REPLY_FLAGS: none
            ][..]);
        }
        let with_gre = Filter {
            family: Some(AF_INET),
            protocols: vec![IPPROTO_GRE],
            ..key.clone()
        };
        assert_eq!(
            bytes(&entry_requests(&with_gre)[0]),
            bytes(&dumps[0][0]),
            "-p gre asks the same"
        );
    }

    /// ICMP fields go in under the family's own attributes; without -p the family's ICMP
    /// protocol is implied, and a refused type falls back to the protocol alone.
    #[test]
    fn icmp_fields_per_family() {
        let echo = Filter {
            icmp_type: Some(8),
            icmp_id: Some(7),
            ..Default::default()
        };
        let dumps = entry_dumps(&echo);
        #[rustfmt::skip]
        let v4: &[u8] = &[
            32, 0, 1, 0x80,                          // CTA_TUPLE_ORIG
              28, 0, 2, 0x80,                        //   CTA_TUPLE_PROTO
                5, 0, 1, 0, 1, 0, 0, 0,              //     CTA_PROTO_NUM icmp
                5, 0, 5, 0, 8, 0, 0, 0,              //     CTA_PROTO_ICMP_TYPE 8
                6, 0, 4, 0, 0, 7, 0, 0,              //     CTA_PROTO_ICMP_ID 7
            20, 0, 25, 0x80,
              8, 0, 1, 0, 0x48, 0x01, 0, 0,          //   PROTO_NUM|ICMP_TYPE|ICMP_ID
              8, 0, 2, 0, 0, 0, 0, 0,
        ];
        assert_eq!(bytes(&dumps[0][0])[4..], *v4);
        // IPv6: ICMPV6_TYPE (1 << 9) and ICMPV6_ID (1 << 11) under attributes 8 and 7
        // (nfgenmsg 0..4, CTA_TUPLE_ORIG 4..8, CTA_TUPLE_PROTO 8..12, CTA_PROTO_NUM 12..).
        let v6 = bytes(&dumps[1][0]);
        assert_eq!(v6[16], IPPROTO_ICMPV6);
        assert_eq!(
            (v6[22], v6[30]),
            (CTA_PROTO_ICMPV6_TYPE as u8, CTA_PROTO_ICMPV6_ID as u8)
        );
        // The second step keeps the protocol and drops the ICMP fields.
        let fallback = bytes(&dumps[1][1]);
        assert_eq!(fallback[16], IPPROTO_ICMPV6);
        assert_eq!(fallback.len(), 4 + 16 + 20);
    }

    /// The kernel narrows an expectation dump by the family alone: the filter's, or
    /// both; the rest of the filter never reaches the request.
    #[test]
    fn an_expectation_dump_carries_the_family_alone() {
        let ipv6_ftp = Filter {
            family: Some(AF_INET6),
            orig_dport: Some(21),
            helper: Some("ftp".into()),
            ..Filter::default()
        };
        for (filter, family) in [(ipv6_ftp, AF_INET6), (Filter::default(), AF_UNSPEC)] {
            let request = expectation_dump(&filter);
            assert_eq!(
                (
                    request.subsystem,
                    request.message_type,
                    request.flags,
                    request.family
                ),
                (
                    NFNL_SUBSYS_CTNETLINK_EXP,
                    IPCTNL_MSG_EXP_GET,
                    NLM_F_DUMP,
                    family
                )
            );
            assert!(request.attributes.is_empty());
        }
    }
}
