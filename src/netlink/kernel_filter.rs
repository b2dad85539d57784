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
//!   Only used here for IPv4 addresses, the protocol number and TCP/UDP ports: in 6.18 the
//!   IPv6 address comparison is inverted, ports of other protocols are not compared, and
//!   a tuple zone is never matched.
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

use super::Request;
use super::attributes::{be32, untyped};
use crate::filter::{AddrMatch, Filter};
use crate::kernel::*;

/// The requests to try in turn: the most the kernel could filter first, then without
/// the tuple filter (5.8+), without the zone (6.8+), without the status (5.15+), and
/// last the family alone, which every kernel takes. Duplicates are left out.
pub fn entry_requests(filter: &Filter) -> Vec<Request> {
    let family = filter.family.unwrap_or(AF_UNSPEC);
    let mark = mark_attributes(filter);
    let status = status_attributes(filter);
    let zone = zone_attribute(filter);
    let tuple = tuple_filter(filter);
    let steps = [
        [mark.clone(), status.clone(), zone.clone(), tuple].concat(),
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

fn mark_attributes(filter: &Filter) -> Vec<DefaultNla> {
    match filter.mark {
        Some(mark) => vec![be32(CTA_MARK, mark.value), be32(CTA_MARK_MASK, mark.mask)],
        None => Vec::new(),
    }
}

/// `(status & (set | clear)) == set`: the set bits present, the clear ones absent.
fn status_attributes(filter: &Filter) -> Vec<DefaultNla> {
    match filter.status {
        // The kernel refuses a zero mask, and an empty match needs no filter.
        Some(status) if status.set | status.clear != 0 => vec![
            be32(CTA_STATUS, status.set),
            be32(CTA_STATUS_MASK, status.set | status.clear),
        ],
        _ => Vec::new(),
    }
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

/// CTA_FILTER for exact IPv4 addresses, one protocol, and TCP or UDP ports. The kernel
/// wants a family of ipv4 or ipv6 with it, and the fields named by the flags present.
fn tuple_filter(filter: &Filter) -> Vec<DefaultNla> {
    if filter.family != Some(AF_INET) {
        return Vec::new();
    }
    let protocol = match filter.protocols[..] {
        [one] => Some(one),
        _ => None,
    };
    let ports_compared = matches!(protocol, Some(IPPROTO_TCP | IPPROTO_UDP));
    let (orig, orig_flags) = tuple_fields(
        filter.orig_src,
        filter.orig_dst,
        protocol,
        ports_compared.then_some((filter.orig_sport, filter.orig_dport)),
    );
    let (reply, reply_flags) = tuple_fields(
        filter.reply_src,
        filter.reply_dst,
        protocol,
        ports_compared.then_some((filter.reply_sport, filter.reply_dport)),
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

/// One tuple's filter fields and the CTA_FILTER flags naming them.
fn tuple_fields(
    src: Option<AddrMatch>,
    dst: Option<AddrMatch>,
    protocol: Option<u8>,
    ports: Option<(Option<u16>, Option<u16>)>,
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
}
