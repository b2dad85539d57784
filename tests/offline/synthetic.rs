//! Decoder and classic-printer tests on entries built by hand, for the shapes this lab's
//! kernel cannot produce: a DCCP state (no DCCP tracker built in), [OFFLOAD] and
//! [HW_OFFLOAD] (no flowtable), a security context (no SELinux policy), CTA_SECMARK (gone
//! from kernels since 2.6.x, still printed by conntrack), a stop timestamp (only dying
//! entries have one), 32-bit counters (old kernels) and attributes from a newer kernel.
//!
//! The messages follow the kernel's layout (net/netfilter/nf_conntrack_netlink.c) and the
//! expected lines follow libnetfilter_conntrack's __snprintf_conntrack_default, field by
//! field; the captured fixtures (tests/offline/fixtures.rs) pin everything else to
//! conntrack itself.

use ct::netlink::attributes::raw::{attr, nest};

use ct::decode::{DecodeError, decode_entry};
use ct::kernel::*;
use ct::model::entry::ProtoState;
use ct::output::classic::{ClassicOptions, ClassicPrinter};
use ct::output::{Frame, Print, Record};

fn tuple(kind: u16, src: [u8; 4], dst: [u8; 4], proto: u8, sport: u16, dport: u16) -> Vec<u8> {
    nest(
        kind,
        &[
            nest(
                CTA_TUPLE_IP,
                &[attr(CTA_IP_V4_SRC, &src), attr(CTA_IP_V4_DST, &dst)],
            ),
            nest(
                CTA_TUPLE_PROTO,
                &[
                    attr(CTA_PROTO_NUM, &[proto]),
                    attr(CTA_PROTO_SRC_PORT, &sport.to_be_bytes()),
                    attr(CTA_PROTO_DST_PORT, &dport.to_be_bytes()),
                ],
            ),
        ],
    )
}

fn tuples(proto: u8) -> Vec<u8> {
    [
        tuple(
            CTA_TUPLE_ORIG,
            [192, 0, 2, 1],
            [192, 0, 2, 2],
            proto,
            1000,
            5000,
        ),
        tuple(
            CTA_TUPLE_REPLY,
            [192, 0, 2, 2],
            [192, 0, 2, 1],
            proto,
            5000,
            1000,
        ),
    ]
    .concat()
}

fn status(bits: &[u32]) -> Vec<u8> {
    let value = bits.iter().fold(0u32, |acc, bit| acc | 1 << bit);
    attr(CTA_STATUS, &value.to_be_bytes())
}

fn print(family: u8, attributes: &[u8], options: ClassicOptions, now: i64) -> String {
    let entry = decode_entry(family, attributes).unwrap();
    let mut printer = ClassicPrinter::new(options, None, now);
    let mut out = Vec::new();
    printer
        .print(&mut out, Record::Entry(&entry), &Frame::NONE)
        .unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn dccp_state_prints_with_dccp_names() {
    let attributes = [
        tuples(IPPROTO_DCCP),
        status(&[IPS_SEEN_REPLY_BIT, IPS_ASSURED_BIT, IPS_CONFIRMED_BIT]),
        nest(
            CTA_PROTOINFO,
            &[nest(
                CTA_PROTOINFO_DCCP,
                &[attr(CTA_PROTOINFO_DCCP_STATE, &[4]), attr(2, &[1])],
            )],
        ),
        attr(CTA_TIMEOUT, &300u32.to_be_bytes()),
        attr(CTA_MARK, &0u32.to_be_bytes()),
        attr(CTA_USE, &1u32.to_be_bytes()),
    ]
    .concat();
    let entry = decode_entry(AF_INET, &attributes).unwrap();
    assert_eq!(entry.state, Some(ProtoState::Dccp(4)));
    assert_eq!(
        print(AF_INET, &attributes, ClassicOptions::default(), 0),
        "dccp     33 300 OPEN src=192.0.2.1 dst=192.0.2.2 sport=1000 dport=5000 \
         src=192.0.2.2 dst=192.0.2.1 sport=5000 dport=1000 [ASSURED] mark=0 use=1\n"
    );
}

#[test]
fn offload_wins_over_assured_and_hw_offload_over_both() {
    let line = |bits: &[u32]| {
        let attributes = [tuples(IPPROTO_UDP), status(bits)].concat();
        print(AF_INET, &attributes, ClassicOptions::default(), 0)
    };
    let base = "udp      17 src=192.0.2.1 dst=192.0.2.2 sport=1000 dport=5000 \
                src=192.0.2.2 dst=192.0.2.1 sport=5000 dport=1000";
    let seen = IPS_SEEN_REPLY_BIT;
    assert_eq!(
        line(&[seen, IPS_ASSURED_BIT, IPS_OFFLOAD_BIT]),
        format!("{base} [OFFLOAD]\n")
    );
    assert_eq!(
        line(&[seen, IPS_ASSURED_BIT, IPS_OFFLOAD_BIT, IPS_HW_OFFLOAD_BIT]),
        format!("{base} [HW_OFFLOAD]\n")
    );
    // An offloaded entry has no CTA_TIMEOUT: the TTL column is simply not there.
    assert_eq!(
        line(&[seen, IPS_ASSURED_BIT]),
        format!("{base} [ASSURED]\n")
    );
}

#[test]
fn secmark_secctx_and_stop_time() {
    let start: u64 = 1_795_600_000 * 1_000_000_000 + 123;
    let stop: u64 = start + 42 * 1_000_000_000;
    let attributes = [
        tuples(IPPROTO_TCP),
        status(&[IPS_SEEN_REPLY_BIT]),
        attr(CTA_SECMARK, &77u32.to_be_bytes()),
        nest(
            CTA_SECCTX,
            &[attr(CTA_SECCTX_NAME, b"system_u:object_r:ssh_t:s0\0")],
        ),
        nest(
            CTA_TIMESTAMP,
            &[
                attr(CTA_TIMESTAMP_START, &start.to_be_bytes()),
                attr(CTA_TIMESTAMP_STOP, &stop.to_be_bytes()),
            ],
        ),
        attr(CTA_ID, &9u32.to_be_bytes()),
    ]
    .concat();
    let options = ClassicOptions {
        extended: true,
        id: true,
        ktimestamp: true,
    };
    // delta-time uses the stop time, not "now", when the entry has one.
    assert_eq!(
        print(AF_INET, &attributes, options, 0),
        "ipv4     2 tcp      6 src=192.0.2.1 dst=192.0.2.2 sport=1000 dport=5000 \
         src=192.0.2.2 dst=192.0.2.1 sport=5000 dport=1000 secmark=77 \
         secctx=system_u:object_r:ssh_t:s0 delta-time=42 \
         [start=Wed Nov 25 09:46:40 2026] [stop=Wed Nov 25 09:47:22 2026] id=9\n"
    );
}

#[test]
fn counters_in_32_bits_from_old_kernels() {
    let attributes = [
        tuples(IPPROTO_UDP),
        nest(
            CTA_COUNTERS_ORIG,
            &[
                attr(CTA_COUNTERS32_PACKETS, &3u32.to_be_bytes()),
                attr(CTA_COUNTERS32_BYTES, &300u32.to_be_bytes()),
            ],
        ),
    ]
    .concat();
    let entry = decode_entry(AF_INET, &attributes).unwrap();
    let counters = entry.counters_original.unwrap();
    assert_eq!((counters.packets, counters.bytes), (3, 300));
}

#[test]
fn attributes_of_a_newer_kernel_are_skipped() {
    let attributes = [
        attr(200, b"future"),
        tuples(IPPROTO_UDP),
        nest(CTA_PROTOINFO, &[nest(9, &[attr(1, &[1])])]),
        nest(CTA_SYNPROXY, &[attr(1, &0u32.to_be_bytes())]),
    ]
    .concat();
    let entry = decode_entry(AF_INET, &attributes).unwrap();
    assert_eq!(entry.state, None);
    assert_eq!(entry.protonum(), IPPROTO_UDP);
}

#[test]
fn an_unknown_family_prints_ports_without_addresses() {
    let attributes = tuples(IPPROTO_TCP);
    assert_eq!(
        print(
            7,
            &attributes,
            ClassicOptions {
                extended: true,
                ..Default::default()
            },
            0
        ),
        "unknown  7 tcp      6 sport=1000 dport=5000 sport=5000 dport=1000\n"
    );
}

#[test]
fn a_state_number_past_the_names_prints_none() {
    let attributes = [
        tuples(IPPROTO_TCP),
        nest(
            CTA_PROTOINFO,
            &[nest(
                CTA_PROTOINFO_TCP,
                &[attr(CTA_PROTOINFO_TCP_STATE, &[200])],
            )],
        ),
    ]
    .concat();
    let line = print(AF_INET, &attributes, ClassicOptions::default(), 0);
    assert!(line.starts_with("tcp      6 NONE src="), "{line}");
}

#[test]
fn wrong_sizes_name_the_attribute() {
    let short_mark = [tuples(IPPROTO_UDP), attr(CTA_MARK, &[0, 1])].concat();
    assert_eq!(
        decode_entry(AF_INET, &short_mark).unwrap_err(),
        DecodeError::BadLength {
            attribute: "CTA_MARK",
            expected: 4,
            found: 2
        }
    );
    let long_v4 = nest(
        CTA_TUPLE_ORIG,
        &[nest(CTA_TUPLE_IP, &[attr(CTA_IP_V4_SRC, &[1, 2, 3, 4, 5])])],
    );
    assert_eq!(
        decode_entry(AF_INET, &long_v4).unwrap_err().to_string(),
        "invalid CTA_IP_V4_SRC value: 5 bytes instead of 4 bytes"
    );
    let no_tuple = attr(CTA_MARK, &0u32.to_be_bytes());
    assert_eq!(
        decode_entry(AF_INET, &no_tuple).unwrap_err(),
        DecodeError::Missing("CTA_TUPLE_ORIG")
    );
}

#[test]
fn an_attribute_longer_than_its_message_is_an_error() {
    let mut attributes = tuples(IPPROTO_UDP);
    // Claim 200 bytes for the first attribute of a shorter stream.
    attributes[0..2].copy_from_slice(&200u16.to_ne_bytes());
    assert_eq!(
        decode_entry(AF_INET, &attributes).unwrap_err(),
        DecodeError::Malformed("the entry")
    );
}
