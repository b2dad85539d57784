//! A table that changes under the dump (issue 5): while `ct list` dumps 50,000 entries,
//! another thread creates and deletes entries, thousands a second. ct must not crash,
//! must print only whole lines, must list every entry that existed for the whole dump,
//! and may say only its summary and, when the kernel flags NLM_F_DUMP_INTR, its warning.

use crate::changes;
use crate::fill;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::common::{Netns, ct_command};
use crate::fill::FillSpec;

const STABLE: u32 = 50_000;

/// The entries that stay in the table for the whole test.
fn stable() -> FillSpec {
    FillSpec {
        count: STABLE,
        ..Default::default()
    }
}

/// The stable entries' original tuples, as ct prints them.
fn stable_keys() -> HashSet<String> {
    let spec = stable();
    (0..STABLE)
        .map(|i| {
            let original = spec.original(i);
            let (sport, dport) = original.ports().unwrap();
            format!(
                "src={} dst={} sport={sport} dport={dport}",
                original.src.unwrap(),
                original.dst.unwrap()
            )
        })
        .collect()
}

/// A whole classic line of a fill entry, or None: the shape is fixed, so a garbled or cut
/// line cannot pass.
fn whole_line_key(line: &str) -> Option<String> {
    let rest = line.strip_prefix("udp      17 ")?;
    let (ttl, rest) = rest.split_once(' ')?;
    ttl.parse::<u32>().ok()?;
    let (original, rest) = rest.split_once(" [UNREPLIED] ")?;
    let (reply, tail) = rest.split_once(" mark=")?;
    let words: Vec<&str> = original.split(' ').collect();
    if words.len() != 4 || reply.split(' ').count() != 4 {
        return None;
    }
    let (mark, use_count) = tail.split_once(" use=")?;
    mark.parse::<u32>().ok()?;
    use_count.parse::<u32>().ok()?;
    Some(original.to_string())
}

#[test]
fn dumps_under_churn_are_whole_and_complete() {
    require_kernel!();
    let ns = Netns::new();
    ns.run_in(|| fill::fill_here(stable())).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let churner = changes::churn(
        ns.name(),
        FillSpec {
            count: 2_000,
            base: 3,
            ..Default::default()
        },
        stop.clone(),
    );
    let expected = stable_keys();
    let mut interrupted_runs = 0;
    for run in 0..6 {
        let out = ct_command()
            .args(["list", "--netns", ns.name()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "run {run}: {:?}", out);
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stdout.ends_with('\n'), "run {run}: the last line is cut");
        let mut seen = HashSet::new();
        let mut lines = 0;
        for line in stdout.lines() {
            let key = whole_line_key(line)
                .unwrap_or_else(|| panic!("run {run}: not a whole line: {line:?}"));
            seen.insert(key);
            lines += 1;
        }
        let missing: Vec<&String> = expected.difference(&seen).take(5).collect();
        assert!(
            missing.is_empty(),
            "run {run}: stable entries missing, e.g. {missing:?}"
        );
        // Everything else said on stderr is the summary, or the warning when the kernel
        // flagged the dump as interrupted.
        let warning = "ct: warning: the table changed during the dump (NLM_F_DUMP_INTR); \
                       entries may be missing or shown twice";
        let summary = format!("ct: {lines} flow entries have been shown.");
        for said in stderr.lines() {
            if said == warning {
                interrupted_runs += 1;
            } else {
                assert_eq!(said, summary, "run {run}: unexpected stderr");
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let changed = churner.join().unwrap().unwrap();
    assert!(
        changed >= 2_000,
        "the table really changed ({changed} entries churned)"
    );
    eprintln!("{changed} entries created and deleted; {interrupted_runs} dumps flagged");
}
