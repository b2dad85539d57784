//! `ct update` and `ct list --zero` against the kernel: each change (mark with and
//! without a mask, labels added and deleted, timeout, status) seen in `ct list` after,
//! compared with what `conntrack -U -f ipv4` does to the same table in a twin namespace;
//! nothing matched, --dry-run, the kernel's refusals and their messages, bad command
//! lines; entries deleted while an update runs are skipped, not counted; --zero prints
//! the counters then zeroes exactly the entries it lists, and refuses a filter the
//! kernel cannot apply exactly.
//!
//! Needs root (see tests/support/common.rs).

use std::process::Output;

use crate::common::*;

const LABELS: &str = "0 zero\n1 one\n2 two\n";

/// The entries every twin starts with: two TCP, one UDP, one with FIXED_TIMEOUT.
const ENTRIES: [&str; 4] = [
    "-s 10.0.0.1 -d 10.0.0.2 -p tcp --sport 1000 --dport 80 --state ESTABLISHED -t 300 -u SEEN_REPLY -m 4660",
    "-s 10.0.0.3 -d 10.0.0.2 -p tcp --sport 1001 --dport 80 --state ESTABLISHED -t 300 -u SEEN_REPLY -m 5",
    "-s 10.0.0.1 -d 10.0.0.4 -p udp --sport 53 --dport 53 -t 300 -m 9",
    "-s 10.0.0.9 -d 10.0.0.2 -p udp --sport 7 --dport 7 -t 300 -u FIXED_TIMEOUT",
];

fn table() -> Netns {
    let ns = Netns::new();
    ns.enable_labels();
    for entry in ENTRIES {
        ns.insert(entry);
    }
    ns
}

fn ct(ns: &Netns, args: &[&str]) -> Output {
    let bin = ct_bin();
    let mut argv = vec![bin.as_str()];
    argv.extend_from_slice(args);
    ns.exec_with_labelmap(LABELS, &argv)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The table as `ct list -o labels` prints it, TTLs masked, sorted.
fn listing(ns: &Netns) -> Vec<String> {
    let out = ct(ns, &["list", "-o", "labels"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let mut lines: Vec<String> = text(&out.stdout).lines().map(normalise).collect();
    lines.sort();
    lines
}

/// Runs `ct update ARGS` in one twin and `conntrack -U -f ipv4 CONNTRACK_ARGS` in the
/// other; both tables must end the same, and ct must have printed each updated entry.
fn same_as_conntrack(ct_args: &[&str], conntrack_args: &[&str], updated: usize) -> Vec<String> {
    let (ours, theirs) = (table(), table());
    let mut argv = vec!["update"];
    argv.extend_from_slice(ct_args);
    let out = ct(&ours, &argv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!("ct: {updated} flow entries have been updated.\n")
    );
    assert_eq!(text(&out.stdout).lines().count(), updated);
    let mut argv = vec!["conntrack", "-U", "-f", "ipv4"];
    argv.extend_from_slice(conntrack_args);
    let out = theirs.exec_with_labelmap(LABELS, &argv);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let after = listing(&ours);
    assert_eq!(after, listing(&theirs));
    after
}

fn line_of<'a>(lines: &'a [String], needle: &str) -> &'a str {
    lines
        .iter()
        .find(|line| line.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle} in {lines:#?}"))
}

#[test]
fn a_mark_with_a_mask_changes_only_the_masked_bits() {
    require_kernel!();
    let after = same_as_conntrack(
        &["-p", "tcp", "--set-mark", "0x20/0xf0"],
        &["-p", "tcp", "-m", "0x20/0xf0"],
        2,
    );
    // 0x1234 → 0x1224, 0x5 → 0x25.
    assert!(
        line_of(&after, "sport=1000").contains(" mark=4644 "),
        "{after:#?}"
    );
    assert!(
        line_of(&after, "sport=1001").contains(" mark=37 "),
        "{after:#?}"
    );
    assert!(
        line_of(&after, "sport=53").contains(" mark=9 "),
        "{after:#?}"
    );
}

#[test]
fn a_mark_without_a_mask_replaces_it() {
    require_kernel!();
    let after = same_as_conntrack(
        &["-s", "10.0.0.1", "--set-mark", "7"],
        &["-s", "10.0.0.1", "-m", "7"],
        2,
    );
    assert!(
        line_of(&after, "sport=1000").contains(" mark=7 "),
        "{after:#?}"
    );
    assert!(
        line_of(&after, "sport=53").contains(" mark=7 "),
        "{after:#?}"
    );
    assert!(
        line_of(&after, "sport=1001").contains(" mark=5 "),
        "{after:#?}"
    );
}

#[test]
fn labels_are_added_and_deleted() {
    require_kernel!();
    let (ours, theirs) = (table(), table());
    for (ct_args, conntrack_args, updated) in [
        (
            &["-p", "tcp", "--add-label", "one,two"][..],
            &["-p", "tcp", "--label-add", "one,two"][..],
            2,
        ),
        (
            &["-s", "10.0.0.1", "--del-label", "one"],
            &["-s", "10.0.0.1", "--label-del", "one"],
            2,
        ),
    ] {
        let mut argv = vec!["update"];
        argv.extend_from_slice(ct_args);
        let out = ct(&ours, &argv);
        assert_eq!(
            text(&out.stderr),
            format!("ct: {updated} flow entries have been updated.\n")
        );
        let mut argv = vec!["conntrack", "-U", "-f", "ipv4"];
        argv.extend_from_slice(conntrack_args);
        let out = theirs.exec_with_labelmap(LABELS, &argv);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let after = listing(&ours);
    assert_eq!(after, listing(&theirs));
    assert!(
        line_of(&after, "sport=1000").ends_with(" labels=two"),
        "{after:#?}"
    );
    assert!(
        line_of(&after, "sport=1001").ends_with(" labels=one,two"),
        "{after:#?}"
    );
    assert!(
        !line_of(&after, "sport=53").contains("labels="),
        "{after:#?}"
    );
}

#[test]
fn timeout_and_status_are_set() {
    require_kernel!();
    let ns = table();
    let out = ct(
        &ns,
        &[
            "update",
            "--sport",
            "1000",
            "-p",
            "tcp",
            "--set-timeout",
            "5000",
            "--set-status",
            "ASSURED",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let (line, values) = split_volatile(printed.trim_end());
    assert!(values[0].1 <= 5000 && values[0].1 >= 4990, "{printed}");
    assert_eq!(
        line,
        normalise(
            "tcp      6 1 ESTABLISHED src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=80 src=10.0.0.2 \
             dst=10.0.0.1 sport=80 dport=1000 [ASSURED] mark=4660 use=2"
        )
    );
    let after = listing(&ns);
    assert!(
        line_of(&after, "sport=1000").contains("[ASSURED]"),
        "{after:#?}"
    );
    assert!(
        !line_of(&after, "sport=1001").contains("[ASSURED]"),
        "{after:#?}"
    );
}

#[test]
fn nothing_matched_exits_1_and_a_dry_run_changes_nothing() {
    require_kernel!();
    let ns = table();
    let before = listing(&ns);
    let out = ct(&ns, &["update", "-s", "192.0.2.1", "--set-mark", "1"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(text(&out.stderr), "ct: 0 flow entries have been updated.\n");
    let out = ct(
        &ns,
        &["update", "-p", "tcp", "--set-mark", "1", "--dry-run"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().count(), 2);
    assert_eq!(text(&out.stderr), "ct: 2 flow entries would be updated.\n");
    assert_eq!(listing(&ns), before);
}

#[test]
fn the_kernels_refusals_are_named() {
    require_kernel!();
    let ns = table();
    let out = ct(
        &ns,
        &[
            "update",
            "-s",
            "10.0.0.9",
            "--set-timeout",
            "10",
            "--set-mark",
            "3",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "ct: the udp entry 10.0.0.9:7 -> 10.0.0.2:7: the kernel refused to update an entry: \
         the entry has FIXED_TIMEOUT and the kernel refuses it a new timeout (EPERM); nothing \
         of it was changed\n\
         ct: 0 flow entries have been updated; the kernel refused 1.\n\
         ct: the kernel refused to update 1 of the matching entries (see above)\n",
    );
    assert!(line_of(&listing(&ns), "sport=7").contains(" mark=0 "));
    // A namespace where nothing uses labels gives its entries no room for them.
    let bare = Netns::new();
    bare.insert("-s 10.0.0.1 -d 10.0.0.2 -p udp --sport 1 --dport 2 -t 300");
    let out = ct(&bare, &["update", "--add-label", "two"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(
            "ct: the udp entry 10.0.0.1:1 -> 10.0.0.2:2: the kernel refused to update an \
             entry: the entry has no room for labels (ENOSPC)"
        ),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bad_command_lines_exit_2_with_nothing_on_stdout() {
    require_kernel!();
    let ns = table();
    let before = listing(&ns);
    for (args, message) in [
        (&["update", "-p", "tcp"][..], "ct update needs a change"),
        (
            &["update", "--set-mark", "0x11/0x10"],
            "the value has bits outside the mask",
        ),
        (
            &["update", "--set-status", "EXPECTED"],
            "--set-status takes SEEN_REPLY",
        ),
        (
            &["update", "--set-status", "!ASSURED"],
            "--set-status only sets flags",
        ),
        (&["update", "--add-label", "nine"], "unknown label 'nine'"),
        (
            &["update", "--add-label", "one", "--del-label", "one"],
            "both added and deleted",
        ),
        (&["update", "--set-timeout", "x"], "--set-timeout"),
        (&["update", "--set-timeout", "0"], "use ct delete"),
        (
            &["list", "--zero", "-w", "1"],
            "--zero: the kernel would zero",
        ),
        (
            &["list", "--zero", "-s", "10.0.0.0/8"],
            "--zero: the kernel would zero",
        ),
        (
            &["list", "expect", "--zero"],
            "--zero zeroes the counters of the conntrack table",
        ),
    ] {
        let out = ct(&ns, args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "", "{args:?}");
        assert!(
            text(&out.stderr).contains(message),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(listing(&ns), before);
}

#[test]
fn entries_deleted_while_the_update_runs_are_not_counted() {
    require_kernel!();
    let ns = Netns::new();
    let lines: Vec<String> = (0..4000u32)
        .map(|i| {
            let proto = if i % 2 == 0 {
                "tcp --state ESTABLISHED"
            } else {
                "udp"
            };
            format!(
                "-s 10.1.{}.{} -d 10.2.0.1 -p {proto} --sport {} --dport 80 -t 300",
                i / 250,
                i % 250 + 1,
                1024 + i
            )
        })
        .collect();
    ns.insert_bulk(&lines);
    let bin = ct_bin();
    let script = format!(
        "conntrack -D -p udp >/dev/null 2>&1 & {bin} update -d 10.2.0.1 --set-mark 77 \
         >/tmp/ct-update-churn-$$.out 2>/tmp/ct-update-churn-$$.err; rc=$?; wait; \
         cat /tmp/ct-update-churn-$$.out; echo \"EXIT:$rc\"; cat /tmp/ct-update-churn-$$.err; \
         rm -f /tmp/ct-update-churn-$$.out /tmp/ct-update-churn-$$.err"
    );
    let out = ns.sh(&script);
    let (printed, rest) = out.split_once("EXIT:").unwrap();
    let printed: Vec<&str> = printed.lines().collect();
    assert!(rest.starts_with("0\n"), "{rest}");
    assert_eq!(
        rest.lines().last().unwrap(),
        format!("ct: {} flow entries have been updated.", printed.len())
    );
    assert!(printed.iter().all(|line| line.contains(" mark=77 ")));
    // The others are each an entry deleted between its update and its read back.
    for line in rest
        .lines()
        .skip(1)
        .filter(|line| !line.contains("have been updated"))
    {
        assert!(
            line.starts_with("ct: the udp entry ")
                && line.contains(" went while it was being updated"),
            "{line}"
        );
    }
    // Every TCP entry was there throughout: each was updated and printed.
    let tcp = printed
        .iter()
        .filter(|line| line.starts_with("tcp "))
        .count();
    assert_eq!(tcp, 2000);
    // An entry left with the new mark was updated while it lived: it was printed.
    let marked = ns.conntrack(&["-L", "-m", "77"]).lines().count();
    assert!(
        marked >= 2000 && marked <= printed.len(),
        "{marked} of {}",
        printed.len()
    );
    assert_eq!(
        ns.conntrack(&["-L", "-p", "tcp", "-m", "77"])
            .lines()
            .count(),
        2000
    );
}

#[test]
fn zero_prints_the_counters_then_zeroes_exactly_what_it_listed() {
    require_kernel!();
    let ns = Netns::new();
    ns.enable_acct_and_timestamps();
    ns.nft("table ip ct_test_track {\n chain out {\n  type filter hook output priority 0;\n  ct state new accept\n }\n}\n");
    ns.exec_ok(&["bash", "-c", "echo hi > /dev/udp/127.0.0.1/9; echo hi > /dev/udp/127.0.0.1/9; echo hello > /dev/udp/127.0.0.1/10"]);
    let counters = |line: &str| {
        line.split_whitespace()
            .filter(|field| field.starts_with("packets=") || field.starts_with("bytes="))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let out = ct(&ns, &["list", "--zero", "-p", "udp", "--dport", "9"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let zeroed = text(&out.stdout);
    assert_eq!(zeroed.lines().count(), 2, "{zeroed}");
    for line in zeroed.lines() {
        assert_eq!(
            counters(line),
            "packets=1 bytes=31 packets=0 bytes=0",
            "{line}"
        );
    }
    let out = ct(&ns, &["list", "-p", "udp"]);
    let after = text(&out.stdout);
    let mut seen: Vec<String> = after
        .lines()
        .map(|line| {
            let dport = line
                .split_whitespace()
                .find(|f| f.starts_with("dport="))
                .unwrap();
            format!("{dport} {}", counters(line))
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            "dport=10 packets=1 bytes=34 packets=0 bytes=0",
            "dport=9 packets=0 bytes=0 packets=0 bytes=0",
            "dport=9 packets=0 bytes=0 packets=0 bytes=0",
        ]
    );
}

#[test]
fn a_reader_that_goes_away_leaves_the_update_to_its_end() {
    require_kernel!();
    let ns = Netns::new();
    let lines: Vec<String> = (0..2000u32)
        .map(|i| {
            format!(
                "-s 10.3.{}.{} -d 10.2.0.1 -p udp --sport {} --dport 80 -t 300",
                i / 250,
                i % 250 + 1,
                1024 + i
            )
        })
        .collect();
    ns.insert_bulk(&lines);
    let bin = ct_bin();
    let out = ns.exec_ok(&[
        "bash",
        "-c",
        &format!("{bin} update -p udp --set-mark 3 2>/dev/null | head -1 >/dev/null; echo \"EXIT:${{PIPESTATUS[0]}}\""),
    ]);
    assert_eq!(out, "EXIT:0\n");
    assert_eq!(ns.conntrack(&["-L", "-m", "3"]).lines().count(), 2000);
}
