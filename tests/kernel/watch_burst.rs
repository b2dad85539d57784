//! The burst `conntrack -E` cannot keep up with: 250,000 entries inserted as fast as the
//! fill helper goes (about 180,000 a second here) while `ct watch -e NEW` writes to a
//! file. Every event must arrive, without a warning of lost events. Alone in the kernel
//! tests' process (`require_kernel_alone!`), so that no other test competes for the two
//! cores meanwhile.

use crate::fill;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use crate::common::events::{EventWatcher, events_shown, wait_for_listeners};
use crate::common::*;
use crate::fill::FillSpec;

const BURST: u32 = 250_000;

#[test]
fn every_event_of_a_250000_entry_burst_arrives() {
    require_kernel_alone!();
    let ns = Netns::new();
    let watcher = EventWatcher::spawn(ns.exec_cmd(&[&ct_bin(), "watch", "-e", "NEW"]));
    wait_for_listeners(&ns, 1);
    let started = Instant::now();
    ns.run_in(|| {
        fill::fill_here(FillSpec {
            count: BURST,
            base: 7,
            ..Default::default()
        })
    })
    .unwrap();
    let filled = started.elapsed();
    // ct writes whenever the socket runs dry; wait for the last line.
    let deadline = Instant::now() + Duration::from_secs(60);
    while watcher.printed().stdout.lines().count() < BURST as usize {
        assert!(Instant::now() < deadline, "ct fell behind for 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let printed = watcher.stop();
    let lines: Vec<&str> = printed.stdout.lines().collect();
    assert_eq!(lines.len(), BURST as usize, "events printed");
    let distinct: HashSet<&str> = lines.iter().copied().collect();
    assert_eq!(distinct.len(), BURST as usize, "each entry once");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("    [NEW] udp      17 ") && l.contains(" src=10.7.")),
        "only the burst's entries"
    );
    assert_eq!(events_shown(&printed.stderr), u64::from(BURST));
    assert!(
        !printed.stderr.contains("warning"),
        "events were lost:\n{}",
        printed.stderr
    );
    eprintln!(
        "{BURST} entries inserted in {:.2} s ({:.0} a second), every event shown",
        filled.as_secs_f64(),
        f64::from(BURST) / filled.as_secs_f64()
    );
}
