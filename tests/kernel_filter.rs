//! The kernel really filters: on a 50k-entry table a narrow mark, zone or tuple filter
//! brings only the matching entries into user space; a request the kernel refuses falls
//! back to a plainer one; and the rows shown never depend on which side filtered.

mod common;
#[path = "support/fill.rs"]
mod fill;

use std::collections::BTreeSet;

use common::Netns;
use ct::decode::decode_entry;
use ct::filter::{Filter, MarkMatch};
use ct::kernel::*;
use ct::netlink::kernel_filter::entry_requests;
use ct::netlink::{Conntrack, DumpStats, Request};
use fill::FillSpec;
use netlink_packet_core::DefaultNla;

/// Dumps with `requests` (first accepted) and returns the entries `filter` keeps (each
/// as its id and original tuple: ids alone are 32-bit hashes, and among 50,000 entries
/// two often share one), what the kernel sent, and which request it accepted.
fn dump_ids(requests: Vec<Request>, filter: Filter) -> (BTreeSet<String>, DumpStats, usize) {
    let mut conntrack = Conntrack::open(None).unwrap();
    let mut ids = BTreeSet::new();
    let (stats, used) = conntrack
        .dump_first_accepted(&requests, |message| {
            let entry = decode_entry(message.family, message.attributes)?;
            if filter.matches(&entry) {
                let id = entry.id.expect("the kernel sends CTA_ID");
                ids.insert(format!("{id} {:?}", entry.original));
            }
            Ok(())
        })
        .unwrap();
    (ids, stats, used)
}

/// 50,000 plain entries from 10.0.x.x, then 10 with mark 7 from 10.1.x.x and 10 in zone
/// 5 from 10.2.x.x.
fn big_table() -> Netns {
    let ns = Netns::new();
    let fills = [
        FillSpec {
            count: 50_000,
            base: 0,
            ..Default::default()
        },
        FillSpec {
            count: 10,
            base: 1,
            mark: 7,
            ..Default::default()
        },
        FillSpec {
            count: 10,
            base: 2,
            zone: Some(5),
            ..Default::default()
        },
    ];
    for spec in fills {
        ns.run_in(|| fill::fill_here(spec)).unwrap();
    }
    ns
}

#[test]
fn narrow_filters_are_applied_by_the_kernel() {
    require_kernel!();
    let ns = big_table();
    let cases: Vec<(&str, Filter)> = vec![
        (
            "-m 7",
            Filter {
                mark: Some(MarkMatch {
                    value: 7,
                    mask: u32::MAX,
                }),
                ..Default::default()
            },
        ),
        (
            "-w 5",
            Filter {
                zone: Some(5),
                ..Default::default()
            },
        ),
        (
            "-s 10.1.0.0 -p udp --sport 1024",
            Filter {
                family: Some(AF_INET),
                protocols: vec![IPPROTO_UDP],
                orig_src: Some("10.1.0.0".parse().unwrap()),
                orig_sport: Some(1024),
                ..Default::default()
            },
        ),
    ];
    for (name, filter) in cases {
        let requests = entry_requests(&filter);
        let (ids, stats, used) = ns.run_in(move || dump_ids(requests, filter));
        let expected = if name.starts_with("-s") { 1 } else { 10 };
        assert_eq!(ids.len(), expected, "{name}: entries shown");
        assert_eq!(used, 0, "{name}: the kernel took the fullest request");
        // Only the matching entries crossed into user space, not 50,020.
        assert_eq!(stats.messages, expected as u64, "{name}: entries received");
        assert!(
            stats.bytes < 64 * 1024,
            "{name}: {} bytes received",
            stats.bytes
        );
    }
    let (all, stats, _) = ns.run_in(|| {
        dump_ids(
            vec![Request::dump_entries(AF_UNSPEC, Vec::new())],
            Filter::default(),
        )
    });
    assert_eq!((all.len(), stats.messages), (50_020, 50_020));
}

/// Whatever the kernel filtered, user space shows the same rows: each filter's result
/// with its fullest request equals its result with the family alone (the request every
/// kernel takes, where user space does all the work).
#[test]
fn rows_do_not_depend_on_which_side_filtered() {
    require_kernel!();
    let ns = Netns::new();
    for spec in [
        FillSpec {
            count: 300,
            base: 0,
            mark: 0x15,
            ..Default::default()
        },
        FillSpec {
            count: 300,
            base: 1,
            mark: 0x16,
            zone: Some(3),
            ..Default::default()
        },
    ] {
        ns.run_in(|| fill::fill_here(spec)).unwrap();
    }
    ns.insert("-p tcp -s 10.9.0.1 -d 10.9.0.2 --sport 5 --dport 80 --state ESTABLISHED -u SEEN_REPLY,ASSURED -t 300 -m 0x15");
    ns.insert("-p tcp -s 10.9.0.1 -d 10.9.0.2 --sport 6 --dport 80 --state SYN_SENT -t 300 -w 3");
    let filters = [
        Filter {
            mark: Some(MarkMatch {
                value: 0x14,
                mask: 0xfc,
            }),
            ..Default::default()
        },
        Filter {
            zone: Some(3),
            ..Default::default()
        },
        Filter {
            status: Some("ASSURED".parse().unwrap()),
            ..Default::default()
        },
        Filter {
            status: Some("UNREPLIED".parse().unwrap()),
            mark: Some(MarkMatch {
                value: 0x16,
                mask: u32::MAX,
            }),
            ..Default::default()
        },
        Filter {
            family: Some(AF_INET),
            protocols: vec![IPPROTO_TCP],
            orig_dst: Some("10.9.0.2".parse().unwrap()),
            orig_dport: Some(80),
            ..Default::default()
        },
        Filter {
            family: Some(AF_INET),
            reply_src: Some("10.255.0.1".parse().unwrap()),
            reply_sport: Some(53),
            protocols: vec![IPPROTO_UDP],
            zone: Some(3),
            ..Default::default()
        },
    ];
    for filter in filters {
        let ladder = entry_requests(&filter);
        let fullest = vec![ladder[0].clone()];
        let plain = vec![ladder.last().unwrap().clone()];
        assert!(ladder.len() > 1, "{filter:?} asks the kernel for something");
        let (kernel_side, kernel_stats, _) = ns.run_in(|| dump_ids(fullest, filter.clone()));
        let (user_side, user_stats, _) = ns.run_in(|| dump_ids(plain, filter.clone()));
        assert_eq!(kernel_side, user_side, "{filter:?}");
        assert!(!kernel_side.is_empty(), "{filter:?} selects something");
        assert!(
            kernel_stats.messages < user_stats.messages,
            "{filter:?} was filtered"
        );
    }
}

/// A kernel that refuses a filter attribute (older kernels answer EINVAL or EOPNOTSUPP)
/// gets the next, plainer request. Here the refusal is real: CTA_FILTER without
/// NLA_F_NESTED is rejected with EINVAL by every kernel that knows CTA_FILTER.
#[test]
fn a_refused_request_falls_back_to_a_plainer_one() {
    require_kernel!();
    let ns = Netns::new();
    ns.run_in(|| {
        fill::fill_here(FillSpec {
            count: 20,
            mark: 3,
            ..Default::default()
        })
    })
    .unwrap();
    let refused = Request::dump_entries(
        AF_INET,
        vec![DefaultNla::new(CTA_FILTER, vec![8, 0, 1, 0, 1, 0, 0, 0])],
    );
    let plain = Request::dump_entries(AF_INET, Vec::new());
    let (ids, _, used) = ns.run_in(move || dump_ids(vec![refused, plain], Filter::default()));
    assert_eq!(used, 1, "the second request was used");
    assert_eq!(ids.len(), 20);
    // Refused with nothing to fall back to: the kernel's error, said plainly.
    let refused_alone = Request::dump_entries(
        AF_INET,
        vec![DefaultNla::new(CTA_FILTER, vec![8, 0, 1, 0, 1, 0, 0, 0])],
    );
    let err = ns.run_in(move || {
        let mut conntrack = Conntrack::open(None).unwrap();
        conntrack
            .dump_first_accepted(&[refused_alone], |_| Ok(()))
            .unwrap_err()
            .to_string()
    });
    assert_eq!(
        err,
        "the kernel refused the conntrack dump: Invalid argument (os error 22)"
    );
}
