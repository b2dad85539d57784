//! `ct delete` deletes exactly what `ct list` shows, at scale: on a table of about 23,000
//! entries mixing marks, zones, protocols, states, both families and NATed entries, for
//! each of 32 filters in turn, the entries left are exactly those before minus those
//! `ct list` showed with the same filter, and what `ct delete` printed is what it
//! deleted. Once with one flush request wherever the kernel can take the filter
//! (`--one-request`, which refuses when it cannot), once entry by entry (`--per-entry`),
//! and once more while other entries are created and deleted meanwhile.

use crate::changes;
use crate::fill;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::*;
use crate::fill::FillSpec;

/// The filters, in the order they are applied, and whether the kernel can take each
/// whole in one flush request (6.12 and later).
const FILTERS: &[(&str, bool)] = &[
    ("-m 7", true),
    ("-m 0x7/0xf", true),
    ("-w 3", false),
    ("-p tcp --state TIME_WAIT", false),
    ("-p udp --dport 5353", true),
    ("-s 10.40.1.0/24", false),
    ("-s 10.41.0.5", true),
    ("-d 10.255.0.1 -p udp --sport 1030", true),
    ("-s fd00:44::1:1", false),
    ("-s fd00:44::/64", false),
    ("-d fd00:44::2:0/112", false),
    ("-u ASSURED -p tcp", true),
    ("-u SEEN_REPLY", true),
    ("-p tcp --state ESTABLISHED", false),
    ("-p icmp", true),
    ("-p icmpv6", true),
    ("-p sctp", true),
    ("-n", false),
    ("-g 10.44.18.101", false),
    ("--orig-zone 8", false),
    ("-r 10.44.11.7", true),
    ("--addr 10.44.11.1", false),
    ("--port 443", false),
    ("-p udp,tcp -s 10.42.0.0/24", false),
    ("-m 0 -p udp -s 10.40.2.0/24", false),
    ("-f ipv4 -p gre", true),
    ("-p 99", true),
    (
        "-u UNREPLIED -p udp -d 10.255.0.1 --dport 53 -m 0x107",
        true,
    ),
    ("-s 10.45.0.0/16", false),
    ("--icmp-type 8", false),
    ("-f ipv6", true),
    ("-p udp", true),
];

/// The mixed entries: every tracker, states, statuses, NAT (made with the kernel's NAT),
/// both families, zones in one direction.
fn shapes() -> Vec<String> {
    let mut lines = Vec::new();
    for i in 0..40 {
        let state = ["ESTABLISHED", "TIME_WAIT", "SYN_SENT", "CLOSE"][i % 4];
        let status = ["", " -u SEEN_REPLY", " -u SEEN_REPLY,ASSURED"][i % 3];
        lines.push(format!(
            "-p tcp -s 10.44.10.{} -d 10.44.10.200 --sport {} --dport {} --state {state} -t 600{status} -m {}",
            1 + i,
            2000 + i,
            [80, 443][i % 2],
            i % 9
        ));
        lines.push(format!(
            "-p tcp -s fd00:44::{}:1 -d fd00:44::2:{} --sport {} --dport 443 --state {state} -t 600{status}",
            1 + i % 3,
            i,
            3000 + i
        ));
        lines.push(format!(
            "-p udp -s fd00:44::{}:1 -d fd00:44::2:{} --sport {} --dport 5353 -t 600",
            1 + i % 2,
            100 + i,
            4000 + i
        ));
        lines.push(format!(
            "-p icmp -s 10.44.12.{} -d 10.44.12.200 --icmp-type {} --icmp-code 0 --icmp-id {i} -t 600",
            1 + i,
            [8, 13][i % 2]
        ));
        lines.push(format!(
            "-p icmpv6 -s fd00:44::12:{} -d fd00:44::12:200 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id {i} -t 600",
            1 + i
        ));
    }
    lines.extend(shapes::sctp_states("10.44.13.1", "10.44.13.2", 0x3000));
    lines.extend(shapes::gre_and_unknown(44));
    lines.extend(shapes::zones(44));
    lines.extend(
        [
            "-p tcp -s 10.44.18.1 -d 10.44.18.2 --sport 1001 --dport 80 --state ESTABLISHED -t 600 --src-nat 10.44.18.100",
            "-p udp -s 10.44.18.1 -d 10.44.18.2 --sport 1005 --dport 53 -t 600 --src-nat 10.44.18.100:20000 --dst-nat 10.44.18.101:5353 -u SEEN_REPLY",
            "-p tcp -s 10.44.18.3 -d 10.44.18.2 --sport 1007 --dport 443 --state ESTABLISHED -t 600 --dst-nat 10.44.18.101",
            "-p udp -s 10.44.11.1 -d 10.44.11.2 --sport 5000 --dport 6000 -r 10.44.11.7 -q 10.44.11.1 --reply-port-src 6001 --reply-port-dst 5000 -t 600",
            "-p udp -s 10.44.11.1 -d 10.44.11.3 --sport 5001 --dport 5353 -t 600 -u ASSURED",
        ]
        .map(String::from),
    );
    lines
}

/// Fills the namespace: bulk UDP (marks 0, 7, 0x107, a zone) and the mixed shapes.
fn fill_table(ns: &Netns) {
    for spec in [
        FillSpec {
            count: 10_000,
            base: 40,
            ..FillSpec::default()
        },
        FillSpec {
            count: 5_000,
            base: 41,
            mark: 7,
            ..FillSpec::default()
        },
        FillSpec {
            count: 5_000,
            base: 42,
            zone: Some(3),
            ..FillSpec::default()
        },
        FillSpec {
            count: 2_500,
            base: 43,
            mark: 0x107,
            ..FillSpec::default()
        },
    ] {
        ns.run_in(|| fill::fill_here(spec)).unwrap();
    }
    ns.insert_bulk(&shapes());
}

/// The entries as `ct list -o save` writes them, without the ticking timeout and
/// with the command word dropped: one key per entry, whatever lists or deletes it.
fn keys(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|line| {
            let words: Vec<&str> = line.split(' ').collect();
            let mut kept = Vec::new();
            let mut skip = 0u8;
            for (i, word) in words.iter().enumerate() {
                if i == 0 || skip > 0 {
                    skip = skip.saturating_sub(1);
                    continue;
                }
                if *word == "-t" {
                    skip = 1;
                    continue;
                }
                kept.push(*word);
            }
            kept.join(" ")
        })
        .collect()
}

fn ct_in(ns: &Netns, args: &[&str]) -> std::process::Output {
    let mut argv = vec![ct_bin()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    ns.exec(&argv)
}

fn listed(ns: &Netns, filter: &[&str]) -> BTreeSet<String> {
    let mut args = vec!["list", "-o", "save"];
    args.extend_from_slice(filter);
    let out = ct_in(ns, &args);
    assert!(out.status.success(), "ct list {filter:?}");
    keys(&String::from_utf8(out.stdout).unwrap())
}

/// Applies every filter in turn; `path` is `--per-entry` or `--one-request` (for the
/// filters the kernel can take; the others go entry by entry, the default). `ignore` says which
/// keys belong to churn and are left out of the comparison; with churn, whether
/// anything matched (the exit status) depends on it too, and is not checked.
fn delete_each(ns: &Netns, path: &str, ignore: Option<&dyn Fn(&str) -> bool>) {
    let churn = ignore.is_some();
    let ignore = ignore.unwrap_or(&|_| false);
    let own = |set: BTreeSet<String>| -> BTreeSet<String> {
        set.into_iter().filter(|k| !ignore(k)).collect()
    };
    // Without churn, the table after one delete is the table before the next: listed
    // once. With churn, each delete lists its own.
    let mut unchanged: Option<BTreeSet<String>> = None;
    for (filter, whole) in FILTERS {
        let filter: Vec<&str> = filter.split(' ').collect();
        let before = match unchanged.take() {
            Some(before) => before,
            None => own(listed(ns, &[])),
        };
        let shown = own(listed(ns, &filter));
        let mut args = vec!["delete", "-o", "save"];
        if path == "--per-entry" || *whole {
            args.push(path);
        }
        args.extend_from_slice(&filter);
        let out = ct_in(ns, &args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let printed = own(keys(&String::from_utf8(out.stdout).unwrap()));
        let after = own(listed(ns, &[]));
        let expected_status = if shown.is_empty() { 1 } else { 0 };
        assert!(
            churn || out.status.code() == Some(expected_status),
            "ct {args:?}: exit {:?} with {} shown: {stderr}",
            out.status.code(),
            shown.len()
        );
        let gone: BTreeSet<String> = before.difference(&after).cloned().collect();
        assert_eq!(
            gone,
            shown,
            "ct {args:?} deleted {} entries, ct list showed {} ({} before, {} after)",
            gone.len(),
            shown.len(),
            before.len(),
            after.len()
        );
        assert_eq!(printed, shown, "what ct {args:?} printed");
        if !churn {
            unchanged = Some(after);
        }
    }
    // The filters never match everything: what no filter named is still there.
    let left = unchanged.unwrap_or_else(|| own(listed(ns, &[])));
    assert!(
        left.iter()
            .any(|k| k.contains("-p tcp") && k.contains("--state SYN_SENT")),
        "{left:?}"
    );
}

#[test]
fn one_flush_request_deletes_exactly_what_ct_list_shows() {
    require_kernel!();
    let ns = Netns::new();
    fill_table(&ns);
    delete_each(&ns, "--one-request", None);
}

#[test]
fn entry_by_entry_deletes_exactly_what_ct_list_shows() {
    require_kernel!();
    let ns = Netns::new();
    fill_table(&ns);
    delete_each(&ns, "--per-entry", None);
}

/// While 2,000 entries of their own block are created and deleted over and over, the
/// others go exactly as the filters say, by either path.
#[test]
fn exact_while_the_table_changes() {
    require_kernel!();
    let ns = Netns::new();
    fill_table(&ns);
    let stop = Arc::new(AtomicBool::new(false));
    let churn = changes::churn_alongside(
        ns.name(),
        FillSpec {
            count: 2_000,
            base: 99,
            ..FillSpec::default()
        },
        stop.clone(),
    );
    let churned = |key: &str| key.contains("-s 10.99.");
    delete_each(&ns, "--one-request", Some(&churned));
    stop.store(true, Ordering::Relaxed);
    let changed = churn.join().unwrap().unwrap();
    assert!(changed >= 2_000, "the churn ran ({changed} entries)");
}

/// What `ct delete -m 2 PATH` does when its reader goes away: every entry the filter
/// matches goes all the same (the deletion is the command, the lines its report), the
/// count on stderr says so, the exit status is 0, and the near misses stay.
#[test]
fn a_reader_that_goes_away_leaves_no_half_done_deletion() {
    require_kernel!();
    let matching = FillSpec {
        count: 20_000,
        base: 1,
        mark: 2,
        ..FillSpec::default()
    };
    let near_misses = FillSpec {
        count: 500,
        base: 2,
        mark: 3,
        ..FillSpec::default()
    };
    let paths: [(&[&str], &str); 2] = [
        (&[], "ct: 20000 flow entries have been deleted.\n"),
        (
            &["--one-request"],
            "ct: 20000 flow entries matched; one flush request deleted them and any that \
             matched after them, unlisted.\n",
        ),
    ];
    let readers: [(&str, &[&str], i32); 2] = [
        ("head -1", &["head", "-n", "1"], 0),
        ("grep -q mark=2", &["grep", "-q", "mark=2"], 0),
    ];
    for (path, summary) in paths {
        for (what, reader, reader_code) in readers {
            let ns = Netns::new();
            ns.run_in(|| fill::fill_here(matching)).unwrap();
            ns.run_in(|| fill::fill_here(near_misses)).unwrap();
            let mut args = vec![ct_bin(), "delete".into(), "-m".into(), "2".into()];
            args.extend(path.iter().map(|a| a.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut ct = ns
                .exec_cmd(&args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let pipe = ct.stdout.take().unwrap();
            let reader_out = Command::new(reader[0])
                .args(&reader[1..])
                .stdin(pipe)
                .output()
                .unwrap();
            let ct_out = ct.wait_with_output().unwrap();
            let at = format!("ct delete -m 2 {path:?} | {what}");
            assert_eq!(reader_out.status.code(), Some(reader_code), "{at}");
            if what.starts_with("head") {
                let line = String::from_utf8(reader_out.stdout).unwrap();
                assert!(
                    line.ends_with(" mark=2 use=1\n") && line.lines().count() == 1,
                    "{at}: {line}"
                );
            }
            assert_eq!(
                (
                    ct_out.status.code(),
                    String::from_utf8_lossy(&ct_out.stderr).as_ref()
                ),
                (Some(0), summary),
                "{at}"
            );
            let count = |mark: &str| ns.exec_ok(&[&ct_bin(), "count", "-m", mark]);
            assert_eq!(
                (count("2"), count("3")),
                ("0\n".into(), "500\n".into()),
                "{at}"
            );
        }
    }
}

/// While entries that match the filter keep being created, `ct delete` (its default
/// path) prints exactly the entries it deleted and counts exactly those: what the table
/// holds afterwards is everything ever made minus what was printed. (One flush request
/// cannot promise this: it also deletes entries made after its list, unreported.)
#[test]
fn the_report_is_exact_while_matching_entries_are_created() {
    require_kernel!();
    let ns = Netns::new();
    let first = FillSpec {
        count: 30_000,
        base: 1,
        mark: 9,
        ..FillSpec::default()
    };
    ns.run_in(|| fill::fill_here(first)).unwrap();
    // Blocks of 1,000 more, each from its own /16, made one after another while ct runs.
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, started) = std::sync::mpsc::channel();
    let inserter = {
        let (name, stop) = (ns.name().to_string(), stop.clone());
        std::thread::spawn(move || -> anyhow::Result<u32> {
            ct::netlink::netns::enter(&name)?;
            let mut made = 0;
            for base in 20..=120u8 {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let spec = FillSpec {
                    count: 1_000,
                    base,
                    mark: 9,
                    ..FillSpec::default()
                };
                fill::fill_here(spec)?;
                made += spec.count;
                let _ = started_tx.send(());
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Ok(made)
        })
    };
    started.recv().unwrap();
    let out = ct_in(&ns, &["delete", "-m", "9", "-o", "save"]);
    stop.store(true, Ordering::Relaxed);
    let made = first.count + inserter.join().unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let printed = keys(&String::from_utf8(out.stdout).unwrap());
    let left = listed(&ns, &["-m", "9"]);
    assert!(
        printed.is_disjoint(&left),
        "ct printed entries that are still there"
    );
    assert_eq!(
        printed.len() + left.len(),
        made as usize,
        "{made} entries made, {} printed as deleted, {} left: some went unreported",
        printed.len(),
        left.len()
    );
    assert_eq!(
        stderr,
        format!("ct: {} flow entries have been deleted.\n", printed.len())
    );
    assert!(
        made > first.count + 1_000,
        "entries were made while ct deleted ({made})"
    );
}

/// Standard output that cannot be written otherwise than by a closed pipe (/dev/full)
/// fails the command (exit 1), but only after the deletion, whose count is said first.
/// A dry run only reads: a closed pipe ends it quietly, and nothing is deleted.
#[test]
fn a_full_disk_fails_after_the_deletion_and_a_dry_run_stops_at_a_closed_pipe() {
    require_kernel!();
    let ns = Netns::new();
    let spec = FillSpec {
        count: 5_000,
        base: 1,
        mark: 2,
        ..FillSpec::default()
    };
    ns.run_in(|| fill::fill_here(spec)).unwrap();
    // ct's own exit status, after its stderr.
    let dry = ns.exec(&[
        "sh",
        "-c",
        "{ \"$0\" delete -m 2 --dry-run; echo \"exit $?\" >&2; } | head -n 1 > /dev/null",
        &ct_bin(),
    ]);
    assert_eq!(String::from_utf8_lossy(&dry.stderr), "exit 0\n");
    assert_eq!(ns.exec_ok(&[&ct_bin(), "count", "-m", "2"]), "5000\n");
    let full = ns.exec(&["sh", "-c", "\"$0\" delete -m 2 > /dev/full", &ct_bin()]);
    assert_eq!(
        (
            full.status.code(),
            String::from_utf8_lossy(&full.stderr).as_ref()
        ),
        (
            Some(1),
            "ct: 5000 flow entries have been deleted.\nct: the deleted flow entries were \
             not all listed: cannot write to standard output: No space left on device (os \
             error 28)\n"
        )
    );
    assert_eq!(ns.exec_ok(&[&ct_bin(), "count", "-m", "2"]), "0\n");
}
