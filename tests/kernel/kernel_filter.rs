//! The kernel really filters: on a 50k-entry table a narrow mark, zone or tuple filter
//! brings only the matching entries into user space; a request the kernel refuses falls
//! back to a plainer one; and the rows shown never depend on which side filtered.

use crate::fill;

use std::collections::{BTreeMap, BTreeSet};

use crate::common::{Netns, TempFile, ct_bin, find_program, run};
use crate::fill::FillSpec;
use ct::decode::decode_entry;
use ct::filter::dump::{entry_dumps, entry_requests};
use ct::filter::{Filter, MarkMatch};
use ct::kernel::*;
use ct::netlink::{Conntrack, DumpStats, Request};
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
        let requests = entry_requests(&filter, filter.family.unwrap_or(AF_UNSPEC));
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
        let ladder = entry_requests(&filter, filter.family.unwrap_or(AF_UNSPEC));
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

/// Every entry `filter` keeps, dumped the way `ct list` dumps (one dump per family where
/// the kernel's tuple filter needs a family), and how many entries crossed into user
/// space.
fn list_like_ct(filter: &Filter) -> (BTreeSet<String>, u64) {
    let mut conntrack = Conntrack::open(None).unwrap();
    let mut ids = BTreeSet::new();
    let stats = conntrack
        .dump_entries(filter, |message| {
            let entry = decode_entry(message.family, message.attributes)?;
            if filter.matches(&entry) {
                ids.insert(format!("{:?} {:?}", entry.id, entry.original));
            }
            Ok(())
        })
        .unwrap();
    (ids, stats.messages)
}

/// Without -f the kernel refuses CTA_FILTER (AF_UNSPEC), so ct asks once per family,
/// each with what that family can have filtered: protocol, TCP/UDP ports and the ICMP
/// and ICMPv6 type, code and id reach only the matching entries (issue 9), and the rows
/// are the ones a plain dump filtered in user space shows.
#[test]
fn filters_without_a_family_are_applied_per_family() {
    require_kernel!();
    let ns = big_table();
    for shape in [
        "-p tcp -s 10.3.0.1 -d 10.3.0.2 --sport 1 --dport 80 --state ESTABLISHED -t 300",
        "-p tcp -s fd00:3::1 -d fd00:3::2 --sport 1 --dport 80 --state ESTABLISHED -t 300",
        "-p tcp -s fd00:3::1 -d fd00:3::2 --sport 2 --dport 443 --state ESTABLISHED -t 300",
        "-p icmp -s 10.3.0.1 -d 10.3.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 7 -t 300",
        "-p icmp -s 10.3.0.1 -d 10.3.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 8 -t 300",
        "-p icmp -s 10.3.0.1 -d 10.3.0.2 --icmp-type 13 --icmp-code 0 --icmp-id 7 -t 300",
        "-p icmpv6 -s fd00:3::1 -d fd00:3::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 7 -t 300",
        "-p icmpv6 -s fd00:3::1 -d fd00:3::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 9 -t 300",
        "-p udp -s fd00:3::1 -d fd00:3::2 --sport 5 --dport 53 -t 300",
        "-p gre -s 10.3.0.1 -d 10.3.0.2 --srckey 0x10 --dstkey 0x20 -t 300",
        "-p gre -s 10.3.0.1 -d 10.3.0.2 --srckey 0x11 --dstkey 0x20 -t 300",
        "-p gre -s fd00:3::1 -d fd00:3::2 --srckey 0x10 --dstkey 0x20 -t 300",
    ] {
        ns.insert(shape);
    }
    // (flags, filter, rows shown, entries the kernel sent). An ICMP type the other
    // family's tracker does not know (8 for ICMPv6, 128 for ICMP) is refused by the
    // kernel; that family's dump then narrows by protocol alone.
    let cases: Vec<(&str, Filter, usize, u64)> = vec![
        (
            "-p tcp",
            Filter {
                protocols: vec![IPPROTO_TCP],
                ..Default::default()
            },
            3,
            3,
        ),
        (
            "-p tcp --dport 80",
            Filter {
                protocols: vec![IPPROTO_TCP],
                orig_dport: Some(80),
                ..Default::default()
            },
            2,
            2,
        ),
        (
            "-p udp --dport 53 (50,011 entries: no saving, the same rows)",
            Filter {
                protocols: vec![IPPROTO_UDP],
                orig_dport: Some(53),
                ..Default::default()
            },
            50_021,
            50_021,
        ),
        (
            "--icmp-type 8",
            Filter {
                icmp_type: Some(8),
                ..Default::default()
            },
            2,
            4,
        ),
        (
            "--icmp-id 7",
            Filter {
                icmp_id: Some(7),
                ..Default::default()
            },
            3,
            3,
        ),
        (
            "--icmp-type 128 --icmp-code 0",
            Filter {
                icmp_type: Some(128),
                icmp_code: Some(0),
                ..Default::default()
            },
            2,
            5,
        ),
        (
            "-p icmpv6 --icmp-id 9",
            Filter {
                protocols: vec![IPPROTO_ICMPV6],
                icmp_id: Some(9),
                ..Default::default()
            },
            1,
            1,
        ),
        // A GRE key asks each family for its GRE entries; the kernel compares no key.
        (
            "--srckey 0x10",
            Filter {
                orig_key_src: Some(0x10),
                ..Default::default()
            },
            2,
            3,
        ),
        (
            "-p gre --reply-key-dst 0x11",
            Filter {
                protocols: vec![IPPROTO_GRE],
                reply_key_dst: Some(0x11),
                ..Default::default()
            },
            1,
            3,
        ),
    ];
    for (name, filter, expected, sent) in cases {
        assert_eq!(entry_dumps(&filter).len(), 2, "{name}: one dump per family");
        let (ids, received) = ns.run_in(|| list_like_ct(&filter));
        assert_eq!(ids.len(), expected, "{name}: rows");
        assert_eq!(received, sent, "{name}: entries the kernel sent");
        let plain = vec![Request::dump_entries(AF_UNSPEC, Vec::new())];
        let (user_side, _, _) = ns.run_in(|| dump_ids(plain, filter.clone()));
        let user_side: BTreeSet<String> = user_side
            .into_iter()
            .map(|key| {
                let (id, tuple) = key.split_once(' ').unwrap();
                format!("Some({id}) {tuple}")
            })
            .collect();
        assert_eq!(
            ids, user_side,
            "{name}: the same rows as user-space filtering"
        );
    }
    // What needs no tuple filter stays one dump of both families.
    let mark = Filter {
        mark: Some(MarkMatch {
            value: 7,
            mask: u32::MAX,
        }),
        ..Default::default()
    };
    assert_eq!(entry_dumps(&mark).len(), 1);
    assert_eq!(entry_dumps(&mark)[0][0].family, AF_UNSPEC);
}

/// Every entry message of a dump with `requests`, in the order handed over, as its
/// family and original tuple (entries do not change here, so two dumps of the same
/// entries agree).
fn dumped_in_order(conntrack: &mut Conntrack, requests: &[Request]) -> Vec<String> {
    let mut seen = Vec::new();
    conntrack
        .dump_first_accepted(requests, |message| {
            let entry = decode_entry(message.family, message.attributes)?;
            seen.push(format!("{} {:?}", message.family, entry.original));
            Ok(())
        })
        .unwrap();
    seen
}

/// 6,000 IPv4 and 6,000 IPv6 UDP entries: each family's dump is several times what the
/// second dump may hold while the first is handed over (a megabyte).
fn both_families() -> Netns {
    let ns = Netns::new();
    for ipv6 in [false, true] {
        let spec = FillSpec {
            count: 6000,
            base: 40,
            ipv6,
            ..Default::default()
        };
        ns.run_in(|| fill::fill_here(spec)).unwrap();
    }
    ns
}

/// A filter without -f that the kernel's tuple filter can narrow is dumped once per
/// family, the two dumps side by side; what is handed over is still every IPv4 entry in
/// the kernel's order, then every IPv6 entry: exactly the two dumps one after the other.
#[test]
fn dumps_per_family_side_by_side_keep_their_order() {
    require_kernel!();
    let ns = both_families();
    let filter = Filter {
        protocols: vec![IPPROTO_UDP],
        ..Filter::default()
    };
    assert_eq!(entry_dumps(&filter).len(), 2, "one dump per family");
    let (together, one_after_other, messages) = ns.run_in(|| {
        let mut conntrack = Conntrack::open(None).unwrap();
        let mut together = Vec::new();
        let stats = conntrack
            .dump_entries(&filter, |message| {
                let entry = decode_entry(message.family, message.attributes)?;
                together.push(format!("{} {:?}", message.family, entry.original));
                Ok(())
            })
            .unwrap();
        let mut one_after_other =
            dumped_in_order(&mut conntrack, &entry_requests(&filter, AF_INET));
        one_after_other.extend(dumped_in_order(
            &mut conntrack,
            &entry_requests(&filter, AF_INET6),
        ));
        (together, one_after_other, stats.messages)
    });
    assert_eq!(together.len(), 12_000);
    assert_eq!(messages, 12_000);
    assert!(together[..6000].iter().all(|e| e.starts_with("2 ")));
    assert!(together[6000..].iter().all(|e| e.starts_with("10 ")));
    assert_eq!(together, one_after_other);
}

/// The IPv6 dump really runs beside the IPv4 one: as strace sees `ct list -p udp`, the
/// second dump request leaves on a socket of its own before the first dump's last
/// datagram is received.
#[test]
fn the_second_family_is_dumped_while_the_first_is_read() {
    require_kernel!();
    let ns = both_families();
    let strace = find_program("strace").expect("the test needs strace (apt-get install strace)");
    let trace = TempFile::new("strace", "");
    let mut cmd = ns.exec_cmd(&[strace.to_str().unwrap()]);
    cmd.args(["-f", "-qq", "-y", "-x", "-o", trace.path_str()])
        .args(["-e", "trace=sendto,recvfrom", "--"])
        .args([ct_bin().as_str(), "list", "-p", "udp"]);
    let out = run(&mut cmd);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 12_000);
    let trace = std::fs::read_to_string(trace.path_str()).unwrap();
    // Each dump request (IPCTNL_MSG_CT_GET with NLM_F_DUMP), as (line, socket), and the
    // last receive on each socket.
    let socket_of = |line: &str| {
        let from = line.find("<socket:[")? + "<socket:[".len();
        let len = line[from..].find(']')?;
        Some(line[from..from + len].to_string())
    };
    let mut dumps = Vec::new();
    let mut last_receive = BTreeMap::new();
    for (index, line) in trace.lines().enumerate() {
        let call = line
            .split_once(' ')
            .map_or(line, |(_, call)| call.trim_start());
        let Some(socket) = socket_of(call) else {
            continue;
        };
        let dump_request = (call.contains("|IPCTNL_MSG_CT_GET,") || call.contains("=0x101,"))
            && call.contains("NLM_F_DUMP");
        if call.starts_with("sendto(") && dump_request {
            dumps.push((index, socket));
        } else if call.starts_with("recvfrom(") || call.starts_with("<... recvfrom resumed>") {
            last_receive.insert(socket, index);
        }
    }
    assert_eq!(dumps.len(), 2, "{trace}");
    let ((_, first), (second_sent, second)) = (&dumps[0], &dumps[1]);
    assert_ne!(first, second, "two sockets: {trace}");
    assert!(
        *second_sent < last_receive[first],
        "the IPv6 dump was asked for before the IPv4 dump ended: {trace}"
    );
}
