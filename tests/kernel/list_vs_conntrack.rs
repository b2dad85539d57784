//! `ct list` must print exactly what `conntrack -L` prints, for every shape
//! of entry and every combination of `-o extended,id,ktimestamp,labels`, and `-o save`.
//!
//! Each kernel test works in namespaces of its own (see tests/support/common.rs), fills
//! the conntrack table with `conntrack -I` or with real traffic, and then
//! compares `ip netns exec NS ct list [-o X]` with `ip netns exec NS
//! conntrack -L [-o X]` line by line (TTL and delta-time, which tick between
//! the two dumps, are compared with a tolerance of a few seconds).
//!
//! Needs root; otherwise every kernel test prints `skipped: ...` (or fails,
//! with CT_REQUIRE_KERNEL_TESTS=1).  `CT_TEST_BIN=tests/support/fake-ct.sh`
//! runs this module (`cargo test --test kernel list_vs_conntrack::`) against a
//! conntrack wrapper to validate the harness.

use crate::common::*;
use std::process::Command;

// ---------------------------------------------------------------------------
// Entry shapes (arguments of `conntrack -I`).  Every group uses its own
// addresses/ports so that all groups can be inserted into one table; the
// groups other test files insert too are in `common::shapes`.
// ---------------------------------------------------------------------------

/// This file's address block (see `common::shapes`).
const NET: u8 = 200;

fn udp_entries() -> Vec<String> {
    [
        "-p udp -s 10.200.11.1 -d 10.200.11.2 --sport 53 --dport 5353 -t 120",
        "-p udp -s 10.200.11.1 -d 10.200.11.2 --sport 54 --dport 5353 -t 121 -u SEEN_REPLY",
        "-p udp -s 10.200.11.1 -d 10.200.11.2 --sport 55 --dport 5353 -t 122 -u SEEN_REPLY,ASSURED",
        "-p udp -s 10.200.11.1 -d 10.200.11.2 --sport 1 --dport 65535 -t 123",
        "-p udp -s 10.200.11.3 -d 10.200.11.4 --sport 65535 --dport 1 -t 124 -u ASSURED",
        "-p udp -s 10.200.11.5 -d 10.200.11.6 --sport 5000 --dport 6000 -r 10.200.11.7 -q 10.200.11.5 --reply-port-src 6001 --reply-port-dst 5000 -t 125",
        "-p udplite -s 10.200.11.1 -d 10.200.11.2 --sport 53 --dport 5353 -t 126",
        "-p udplite -s 10.200.11.1 -d 10.200.11.2 --sport 54 --dport 5353 -t 127 -u SEEN_REPLY,ASSURED",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn sctp_entries() -> Vec<String> {
    let mut v = shapes::sctp_states("10.200.13.1", "10.200.13.2", 0xfffffff0);
    v.push("-p sctp -s fd00:200::13:1 -d fd00:200::13:2 --sport 5 --dport 6 --state ESTABLISHED --orig-vtag 1 --reply-vtag 2 -t 210".into());
    v
}

fn status_entries() -> Vec<String> {
    let mut v = Vec::new();
    for (i, st) in [
        "",
        " -u SEEN_REPLY",
        " -u ASSURED",
        " -u SEEN_REPLY,ASSURED",
        " -u FIXED_TIMEOUT",
        " -u SEEN_REPLY,ASSURED,FIXED_TIMEOUT",
    ]
    .iter()
    .enumerate()
    {
        v.push(format!("-p tcp -s 10.200.15.1 -d 10.200.15.2 --sport {} --dport 22 --state ESTABLISHED -t 400{st}", 100 + i));
        v.push(format!(
            "-p udp -s 10.200.15.1 -d 10.200.15.2 --sport {} --dport 22 -t 400{st}",
            100 + i
        ));
        v.push(format!(
            "-p 99 -s 10.200.15.{} -d 10.200.15.2 -t 400{st}",
            10 + i
        ));
    }
    v
}

fn mark_entries() -> Vec<String> {
    ["0", "1", "5", "0x80000000", "0xffffffff"]
        .iter()
        .enumerate()
        .map(|(i, m)| format!("-p tcp -s 10.200.16.1 -d 10.200.16.2 --sport {} --dport 443 --state ESTABLISHED -t 500 -u SEEN_REPLY,ASSURED -m {m}", 1000 + i))
        .chain(std::iter::once("-p udp -s fd00:200::16:1 -d fd00:200::16:2 --sport 1 --dport 2 -t 500 -m 7".to_string()))
        .collect()
}

fn nat_entries() -> Vec<String> {
    [
        "-p tcp -s 10.200.18.1 -d 10.200.18.2 --sport 1001 --dport 80 --state ESTABLISHED -t 100 --src-nat 10.200.18.100",
        "-p tcp -s 10.200.18.1 -d 10.200.18.2 --sport 1002 --dport 80 --state ESTABLISHED -t 100 --src-nat 10.200.18.100:9999 -u SEEN_REPLY,ASSURED",
        "-p tcp -s 10.200.18.1 -d 10.200.18.2 --sport 1003 --dport 80 --state ESTABLISHED -t 100 --dst-nat 10.200.18.101",
        "-p tcp -s 10.200.18.1 -d 10.200.18.2 --sport 1004 --dport 80 --state ESTABLISHED -t 100 --dst-nat 10.200.18.101:8080",
        "-p udp -s 10.200.18.1 -d 10.200.18.2 --sport 1005 --dport 53 -t 100 --src-nat 10.200.18.100:20000 --dst-nat 10.200.18.101:5353 -u SEEN_REPLY",
        "-p icmp -s 10.200.18.1 -d 10.200.18.2 --icmp-type 8 --icmp-code 0 --icmp-id 5 -t 100 --src-nat 10.200.18.100",
        "-p tcp -s fd00:200::18:1 -d fd00:200::18:2 --sport 1006 --dport 80 --state ESTABLISHED -t 100 --src-nat fd00:200::18:100",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn ipv6_entries() -> Vec<String> {
    [
        "-p tcp -s fd00:200::19:1 -d fd00:200::19:2 --sport 1 --dport 22 --state ESTABLISHED -t 100 -u SEEN_REPLY,ASSURED",
        "-p tcp -s fd00:200::19:1 -d fd00:200::19:2 --sport 2 --dport 22 --state SYN_SENT -t 101",
        "-p udp -s fd00:200::19:1 -d fd00:200::19:2 --sport 3 --dport 53 -t 102",
        "-p udp -s fd00:200::19:1 -d fd00:200::19:2 --sport 4 --dport 53 -t 103 -u SEEN_REPLY",
        "-p udplite -s fd00:200::19:1 -d fd00:200::19:2 --sport 5 --dport 53 -t 104",
        // inet_ntop corner cases: two equal zero runs, a single zero group,
        // a full address, a v4-mapped address
        "-p udp -s fd00:200:0:0:1:0:0:1 -d fd00:200:1:0:1:1:1:1 --sport 6 --dport 53 -t 105",
        "-p udp -s fd00:200:ffff:ffff:ffff:ffff:ffff:ffff -d fd00:200::1 --sport 7 --dport 53 -t 106",
        "-p udp -s ::ffff:10.200.19.1 -d ::ffff:10.200.19.2 --sport 8 --dport 53 -t 107",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A fresh namespace with accounting and timestamps on (so that counters,
/// delta-time and [start=...] are printed), filled with `entries`.
fn ns_with(entries: &[String]) -> Netns {
    let ns = Netns::new();
    ns.enable_acct_and_timestamps();
    for e in entries {
        ns.insert(e);
    }
    ns
}

/// Insert, sanity-check the harness (conntrack shows them all), compare.
fn check_shapes(entries: Vec<String>) {
    let ns = ns_with(&entries);
    let n = compare_all(Env::Ns(&ns));
    assert_eq!(
        n,
        entries.len(),
        "harness: not every inserted entry is listed by conntrack"
    );
}

// ---------------------------------------------------------------------------
// Harness tests that need no kernel
// ---------------------------------------------------------------------------

#[test]
fn normalise_replaces_ttl_and_delta_time_only() {
    let classic = "tcp      6 431999 ESTABLISHED src=10.200.1.2 dst=10.200.2.2 sport=4 dport=5 packets=3 bytes=180 src=10.200.2.2 dst=10.200.2.1 sport=5 dport=4 packets=2 bytes=112 [ASSURED] mark=0 delta-time=12 [start=Wed Nov 25 09:45:44 2026] use=1";
    assert_eq!(
        normalise(classic),
        "tcp      6 <TTL> ESTABLISHED src=10.200.1.2 dst=10.200.2.2 sport=4 dport=5 packets=3 bytes=180 src=10.200.2.2 dst=10.200.2.1 sport=5 dport=4 packets=2 bytes=112 [ASSURED] mark=0 delta-time=<N> [start=Wed Nov 25 09:45:44 2026] use=1"
    );
    assert_eq!(
        split_volatile(classic).1,
        vec![("ttl", 431999), ("delta-time", 12)]
    );
    let ext = "ipv4     2 unknown  99 59 src=10.200.4.1 dst=10.200.4.2 [UNREPLIED] src=10.200.4.2 dst=10.200.4.1 mark=0 use=1 id=1648287296";
    assert_eq!(
        normalise(ext),
        "ipv4     2 unknown  99 <TTL> src=10.200.4.1 dst=10.200.4.2 [UNREPLIED] src=10.200.4.2 dst=10.200.4.1 mark=0 use=1 id=1648287296"
    );
    let classic_unknown = "unknown  99 59 src=10.200.4.1 dst=10.200.4.2 [UNREPLIED] src=10.200.4.2 dst=10.200.4.1 mark=0 use=1";
    assert_eq!(
        normalise(classic_unknown),
        "unknown  99 <TTL> src=10.200.4.1 dst=10.200.4.2 [UNREPLIED] src=10.200.4.2 dst=10.200.4.1 mark=0 use=1"
    );
    let ext6 = "ipv6     10 udp      17 99 src=fd00::1 dst=fd00::2 sport=9 dport=2 mark=0 use=1";
    assert_eq!(
        normalise(ext6),
        "ipv6     10 udp      17 <TTL> src=fd00::1 dst=fd00::2 sport=9 dport=2 mark=0 use=1"
    );
    // a line without a TTL keeps its fields
    assert_eq!(
        normalise("tcp      6 ESTABLISHED src=1"),
        "tcp      6 ESTABLISHED src=1"
    );
}

#[test]
fn diff_is_readable_and_tolerates_ticks() {
    let a = "udp      17 29 src=10.200.0.1 dst=10.200.0.2 sport=1 dport=2 mark=0 delta-time=4 use=1\ntcp      6 99 ESTABLISHED src=10.200.0.1 mark=0 use=1\n";
    // other order, TTL and delta-time one tick later
    let b = "tcp      6 98 ESTABLISHED src=10.200.0.1 mark=0 use=1\nudp      17 28 src=10.200.0.1 dst=10.200.0.2 sport=1 dport=2 mark=0 delta-time=5 use=1\n";
    assert_eq!(diff_listings(a, b), None);
    assert_eq!(diff_listings("", ""), None);
    // too far apart
    let c = "tcp      6 9 ESTABLISHED src=10.200.0.1 mark=0 use=1\nudp      17 28 src=10.200.0.1 dst=10.200.0.2 sport=1 dport=2 mark=0 delta-time=5 use=1\n";
    assert!(
        diff_listings(a, c)
            .unwrap()
            .contains("TTL/delta-time differ")
    );
    // a real difference is shown as a pair with a caret, plus one-sided lines
    let d = "tcp      6 99 ESTABLISHED src=10.200.0.1 mark=1 use=1\nicmp     1 29 src=10.200.0.9\n";
    let r = diff_listings(d, b).unwrap();
    assert!(
        r.contains("  ct:        tcp      6 <TTL> ESTABLISHED src=10.200.0.1 mark=1 use=1\n"),
        "{r}"
    );
    assert!(
        r.contains("  conntrack: tcp      6 <TTL> ESTABLISHED src=10.200.0.1 mark=0 use=1\n"),
        "{r}"
    );
    assert!(r.contains("first difference at byte 49"), "{r}");
    assert!(
        r.contains("- only in ct:        icmp     1 <TTL> src=10.200.0.9\n"),
        "{r}"
    );
    assert!(
        r.contains("+ only in conntrack: udp      17 <TTL> src=10.200.0.1"),
        "{r}"
    );
    // missing final newline
    assert!(
        diff_listings("tcp      6 1 x\n", "tcp      6 1 x")
            .unwrap()
            .contains("trailing newline")
    );
    // duplicates count
    assert!(diff_listings("a 1 2\na 1 2\n", "a 1 2\n").is_some());
}

#[test]
fn summary_line_parsing() {
    assert_eq!(
        ct_summary_count("ct: 3 flow entries have been shown.\n"),
        Ok(3)
    );
    assert_eq!(ct_summary_count("0 flow entries have been shown.\n"), Ok(0));
    assert!(
        ct_summary_count(
            "ct: 3 flow entries have been shown.\nct: 3 flow entries have been shown.\n"
        )
        .is_err()
    );
    assert!(ct_summary_count("ct v1: 3 flow entries have been shown.\n").is_err());
    assert!(ct_summary_count("").is_err());
    assert_eq!(
        conntrack_summary_count(
            "conntrack v1.4.7 (conntrack-tools): 12 flow entries have been shown.\n"
        ),
        Some(12)
    );
}

#[test]
fn output_option_sets_cover_all_subsets() {
    let sets = output_option_sets();
    assert_eq!(sets.len(), 19);
    assert!(sets.contains(&"save".to_string()));
    assert_eq!(sets[0], "");
    assert!(sets.contains(&"extended,id,ktimestamp,labels".to_string()));
    assert!(sets.contains(&"id,labels".to_string()));
}

// ---------------------------------------------------------------------------
// Harness self-checks against the kernel
// ---------------------------------------------------------------------------

#[test]
fn harness_label_map_overlay_works() {
    require_kernel!();
    let host_map = std::fs::read("/etc/xtables/connlabel.conf").ok();
    let ns = Netns::new();
    ns.enable_labels();
    let out = ns.exec_with_labelmap(
        LABEL_MAP,
        &[
            "conntrack",
            "-I",
            "-p",
            "udp",
            "-s",
            "10.200.0.1",
            "-d",
            "10.200.0.2",
            "--sport",
            "1",
            "--dport",
            "2",
            "-t",
            "60",
            "--label-add",
            "one,five",
        ],
    );
    check_ok("conntrack -I --label-add", &out);
    let with_map = conntrack_list(Env::NsWithLabels(&ns, LABEL_MAP), "labels");
    assert_eq!(
        with_map.lines().map(normalise).collect::<Vec<_>>(),
        [
            "udp      17 <TTL> src=10.200.0.1 dst=10.200.0.2 sport=1 dport=2 [UNREPLIED] src=10.200.0.2 dst=10.200.0.1 sport=2 dport=1 mark=0 use=1 labels=one,five"
        ]
    );
    // without the map conntrack prints no labels (and complains on stderr), whatever
    // the host's /etc/xtables holds
    let plain = conntrack_list(Env::Ns(&ns), "labels");
    assert!(!plain.contains("labels="), "{plain}");
    assert!(
        std::fs::read("/etc/xtables/connlabel.conf").ok() == host_map,
        "the host's /etc was modified"
    );
}

/// Issue "tests that are hermetic": a host's /etc/xtables/connlabel.conf changed what
/// conntrack and ct printed. Every command the harness runs sees the /etc/xtables its test
/// chose: the test's label map and nothing else, or no connlabel.conf at all.
#[test]
fn hermetic_commands_never_see_the_hosts_label_map() {
    require_kernel!();
    let ns = Netns::new();
    let show = "ls -A /etc/xtables 2>/dev/null; cat /etc/xtables/connlabel.conf 2>/dev/null; true";
    assert_eq!(ns.sh(show), "", "ip netns exec, no map");
    assert_eq!(
        check_ok("sh", &ns.exec_with_labelmap(LABEL_MAP, &["sh", "-c", show])),
        format!("connlabel.conf\n{LABEL_MAP}"),
        "ip netns exec, with LABEL_MAP"
    );
    assert_eq!(
        run_ok(hermetic(Command::new("sh")).args(["-c", show])),
        "",
        "on the host, no map"
    );
}

#[test]
fn harness_netns_is_isolated_and_removed() {
    require_kernel!();
    let name;
    {
        let ns = Netns::new();
        name = ns.name().to_string();
        ns.insert("-p udp -s 10.200.0.1 -d 10.200.0.2 --sport 7 --dport 7 -t 60");
        assert_eq!(ns.conntrack(&["-L"]).lines().count(), 1);
        let other = Netns::new();
        assert_eq!(other.conntrack(&["-L"]), "");
    }
    assert!(!std::path::Path::new("/run/netns").join(&name).exists());
}

// ---------------------------------------------------------------------------
// ct list vs conntrack -L, entries inserted with conntrack -I
// ---------------------------------------------------------------------------

#[test]
fn empty_table() {
    require_kernel!();
    let ns = Netns::new();
    assert_eq!(compare_all(Env::Ns(&ns)), 0);
}

#[test]
fn tcp_states() {
    require_kernel!();
    check_shapes(shapes::tcp_states(NET));
}

#[test]
fn udp_and_udplite() {
    require_kernel!();
    check_shapes(udp_entries());
}

#[test]
fn icmp_and_icmpv6() {
    require_kernel!();
    check_shapes(shapes::icmp(NET));
}

#[test]
fn sctp_states() {
    require_kernel!();
    check_shapes(sctp_entries());
}

#[test]
fn gre_and_unknown_protocols() {
    require_kernel!();
    check_shapes(shapes::gre_and_unknown(NET));
}

#[test]
fn status_flags() {
    require_kernel!();
    check_shapes(status_entries());
}

#[test]
fn marks() {
    require_kernel!();
    check_shapes(mark_entries());
}

#[test]
fn zones() {
    require_kernel!();
    check_shapes(shapes::zones(NET));
}

#[test]
fn nat_shapes() {
    require_kernel!();
    check_shapes(nat_entries());
}

#[test]
fn ipv6_tcp_udp() {
    require_kernel!();
    check_shapes(ipv6_entries());
}

/// Without nf_conntrack_acct / nf_conntrack_timestamp: no counters, no
/// delta-time, no [start=...] even with -o ktimestamp.
#[test]
fn without_accounting_or_timestamps() {
    require_kernel!();
    let ns = Netns::new();
    let entries: Vec<String> = shapes::tcp_states(NET)
        .into_iter()
        .take(4)
        .chain(udp_entries())
        .chain(shapes::icmp(NET))
        .collect();
    for e in &entries {
        ns.insert(e);
    }
    let plain = conntrack_list(Env::Ns(&ns), "extended,ktimestamp");
    assert!(
        !plain.contains("packets=") && !plain.contains("delta-time") && !plain.contains("[start"),
        "{plain}"
    );
    assert_eq!(compare_all(Env::Ns(&ns)), entries.len());
}

#[test]
fn labels() {
    require_kernel!();
    let ns = Netns::new();
    ns.enable_acct_and_timestamps();
    ns.enable_labels();
    // Insert with a bigger map than the one used for listing, so that some
    // set bits (3, 127) have no name in LABEL_MAP.
    let full_map = FULL_LABEL_MAP;
    let inserts = [
        ("1", "one,five"),
        ("2", "zero"),
        ("3", "five"),
        ("4", "three"),
        ("5", "zero,one,three,five,top"),
        ("6", "top"),
    ];
    for (sport, labels) in inserts {
        ns.insert_with_labels(
            full_map,
            &format!("-p udp -s 10.200.20.1 -d 10.200.20.2 --sport {sport} --dport 2 -t 300 --label-add {labels}"),
        );
    }
    ns.insert("-p udp -s 10.200.20.1 -d 10.200.20.2 --sport 7 --dport 2 -t 300"); // labels area, no bit set
    ns.insert("-p tcp -s 10.200.20.1 -d 10.200.20.2 --sport 8 --dport 2 --state ESTABLISHED -t 300 -u SEEN_REPLY,ASSURED");
    let shown = conntrack_list(Env::NsWithLabels(&ns, full_map), "labels");
    assert!(
        shown.contains("labels=zero,one,three,five,top"),
        "harness: labels not set:\n{shown}"
    );

    assert_eq!(compare_all(Env::Ns(&ns)), 8); // no map at all
    assert_eq!(compare_all(Env::NsWithLabels(&ns, LABEL_MAP)), 8);
    assert_eq!(compare_all(Env::NsWithLabels(&ns, full_map)), 8);
    assert_eq!(
        compare_all(Env::NsWithLabels(
            &ns,
            "# comments and blank lines\n\n  1   one\n"
        )),
        8
    );
}

#[test]
fn all_shapes_in_one_table() {
    require_kernel!();
    let entries: Vec<String> = [
        shapes::tcp_states(NET),
        udp_entries(),
        shapes::icmp(NET),
        sctp_entries(),
        shapes::gre_and_unknown(NET),
        status_entries(),
        mark_entries(),
        shapes::zones(NET),
        nat_entries(),
        ipv6_entries(),
    ]
    .concat();
    let ns = Netns::new();
    ns.enable_acct_and_timestamps();
    ns.insert_bulk(&entries);
    assert_eq!(compare_all(Env::Ns(&ns)), entries.len());
}

/// Enough entries that the dump needs many netlink messages/reads.
#[test]
fn many_entries() {
    require_kernel!();
    const N: usize = 3000;
    let mut entries = Vec::with_capacity(N);
    for i in 0..N {
        let (a, b) = (30 + i / 250, 1 + i % 250);
        entries.push(match i % 3 {
            0 => format!("-p udp -s 10.200.{a}.{b} -d 10.200.29.1 --sport {} --dport 53 -t 600", 1024 + i),
            1 => format!(
                "-p tcp -s 10.200.{a}.{b} -d 10.200.29.1 --sport {} --dport 443 --state ESTABLISHED -t 600 -u SEEN_REPLY,ASSURED -m {i}",
                1024 + i
            ),
            _ => format!("-p udp -s fd00:200::{a}:{b} -d fd00:200::29:1 --sport {} --dport 53 -t 600 -w {}", 1024 + i, i % 7),
        });
    }
    let ns = Netns::new();
    ns.enable_acct_and_timestamps();
    ns.insert_bulk(&entries);
    let mut failures = Vec::new();
    for o in [
        "",
        "extended",
        "extended,id,ktimestamp,labels",
        "id",
        "ktimestamp",
    ] {
        if let Some(r) = compare_one(Env::Ns(&ns), o) {
            failures.push(r);
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(conntrack_list(Env::Ns(&ns), "").lines().count(), N);
}

// ---------------------------------------------------------------------------
// Real traffic through a router namespace
// ---------------------------------------------------------------------------

#[test]
fn real_traffic() {
    require_kernel!();
    let mut t = Topology::new();
    t.generate_all_traffic();

    // Make sure the traffic produced the shapes this test is about.
    let ext = conntrack_list(Env::Ns(&t.router), "extended");
    eprintln!("router table (conntrack -L -o extended):\n{ext}"); // shown on failure
    let expect = [
        "ipv4     2 tcp      6 ",
        "ipv6     10 tcp      6 ",
        "ipv4     2 udp      17 ",
        "ipv6     10 udp      17 ",
        "ipv4     2 icmp     1 ",
        "ipv6     10 icmpv6   58 ",
        " ESTABLISHED ",
        " TIME_WAIT ",
        " SYN_SENT ",
        " CLOSE ",
        "[UNREPLIED]",
        "[ASSURED]",
        "helper=ftp",
        "helper=tftp",
        "mark=42",
        "packets=",
        "delta-time=",
    ];
    for e in expect {
        assert!(ext.contains(e), "harness: router table lacks {e:?}:\n{ext}");
    }
    let helpers = ext.lines().filter(|l| l.contains("helper=ftp")).count();
    assert_eq!(
        helpers, 2,
        "harness: expected one ftp entry per family:\n{ext}"
    );
    let labelled = conntrack_list(Env::NsWithLabels(&t.router, LABEL_MAP), "labels");
    assert!(
        labelled.contains("labels=one"),
        "harness: no labelled entries:\n{labelled}"
    );

    let n = compare_all(Env::Ns(&t.router));
    assert_eq!(n, ext.lines().count());
    compare_all(Env::NsWithLabels(&t.router, LABEL_MAP));
    // the end hosts have (nearly) empty tables, but ct must agree there too
    compare_all(Env::Ns(&t.client));
    compare_all(Env::Ns(&t.server));
}

// ---------------------------------------------------------------------------
// --netns
// ---------------------------------------------------------------------------

fn ct_list_host(args: &[&str]) -> std::process::Output {
    let mut c = ct_command();
    c.arg("list").args(args);
    run(&mut c)
}

fn stdout_checked(what: &str, out: &std::process::Output) -> String {
    let s = check_ok(what, out);
    let n = ct_summary_count(&String::from_utf8_lossy(&out.stderr))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(
        n,
        s.lines().count(),
        "{what}: summary count vs printed lines"
    );
    s
}

#[test]
fn netns_option_by_name_path_and_pid() {
    require_kernel!();
    let entries: Vec<String> = [
        shapes::tcp_states(NET),
        shapes::icmp(NET),
        shapes::zones(NET),
    ]
    .concat();
    let ns = ns_with(&entries);
    let sleeper = ns.spawn_sleeper();
    let pid = sleeper.pid().to_string();
    let path = ns.path().to_str().unwrap().to_string();
    let ct = ct_bin();
    for o in ["", "extended,id,ktimestamp"] {
        let oargs: Vec<&str> = if o.is_empty() { vec![] } else { vec!["-o", o] };
        let mut inside_argv = vec![ct.as_str(), "list"];
        inside_argv.extend(&oargs);
        let inside = stdout_checked("ip netns exec NS ct list", &ns.exec(&inside_argv));
        assert_eq!(inside.lines().count(), entries.len());
        let mut conntrack_argv = vec!["conntrack", "-L"];
        conntrack_argv.extend(&oargs);
        let reference = check_ok("conntrack -L", &ns.exec(&conntrack_argv));
        for target in [ns.name(), path.as_str(), pid.as_str()] {
            let mut args = vec!["--netns", target];
            args.extend(&oargs);
            let what = format!("ct list {}", args.join(" "));
            let got = stdout_checked(&what, &ct_list_host(&args));
            if let Some(d) = diff_listings(&got, &inside) {
                panic!("`{what}` (from the host) differs from `ip netns exec NS ct list`:\n{d}");
            }
            if let Some(d) = diff_listings(&got, &reference) {
                panic!(
                    "`{what}` (from the host) differs from `ip netns exec NS conntrack -L`:\n{d}"
                );
            }
        }
    }
    drop(sleeper);
}

fn assert_missing_netns(target: &str) {
    let out = ct_list_host(&["--netns", target]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "ct list --netns {target}: status {}; stderr: {stderr}",
        out.status
    );
    assert!(
        stderr.contains(target),
        "ct list --netns {target}: stderr does not name it: {stderr:?}"
    );
    assert!(
        out.stdout.is_empty(),
        "ct list --netns {target}: printed {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn netns_option_missing_namespace() {
    require_kernel!();
    let name = format!("ct-test-{}-missing", std::process::id());
    assert_missing_netns(&name);
    assert_missing_netns(&format!("/run/netns/{name}"));
}

#[test]
fn netns_option_missing_pid() {
    require_kernel!();
    // above the largest possible pid_max (2^22), so it cannot exist
    assert_missing_netns("4194305");
}

/// ct's `-o save` of GRE entries (`-p gre --srckey 16 --dstkey 32 --reply-key-src 32
/// --reply-key-dst 16`, as conntrack writes them) is read back by `conntrack -R` in
/// another namespace into the same table; saved with a key filter, into exactly the
/// entries with that key.
#[test]
fn gre_save_lines_make_the_same_table_with_conntrack_r() {
    require_kernel!();
    let source = Netns::new();
    for entry in shapes::gre_keys(NET)
        .iter()
        .chain(&shapes::gre_and_unknown(NET))
    {
        source.insert(entry);
    }
    let table = |ns: &Netns, args: &[&str]| -> Vec<String> {
        let mut lines: Vec<String> = ns
            .conntrack(&[&["-L"][..], args].concat())
            .lines()
            .map(normalise)
            .collect();
        lines.sort();
        lines
    };
    let ct = ct_bin();
    for (filter, expected) in [
        (&[][..], table(&source, &[])),
        (&["--srckey", "0x10"][..], {
            let mut lines = table(&source, &["-p", "gre", "-s", "10.200.24.1"]);
            lines.extend(table(&source, &["-p", "gre", "-f", "ipv6"]));
            lines.retain(|l| l.contains(" srckey=0x10 "));
            lines.sort();
            lines
        }),
    ] {
        let saved = source.exec_ok(&[&[ct.as_str(), "list", "-o", "save"][..], filter].concat());
        assert!(
            saved.contains(" -p gre --srckey 16 --dstkey 32 --reply-key-src 32 --reply-key-dst 16"),
            "{saved}"
        );
        let file = TempFile::new("gre-save", &saved);
        let copy = Netns::new();
        copy.conntrack(&["-R", file.path_str()]);
        assert_eq!(
            table(&copy, &[]),
            expected,
            "ct list -o save {filter:?}:\n{saved}"
        );
    }
}
