//! `ct watch` beyond what conntrack -E does: how the stream ends (--count, --duration,
//! SIGTERM, a reader that goes away), JSON events and the flow log recipe of
//! docs/json.md, `-e` on expectation events, reliable delivery of DESTROY events, the
//! warning when events are lost, and the kernel-side filter changing nothing shown.

use crate::changes;
use crate::fill;
use crate::schema;

use std::io::{BufRead, BufReader, Read};
use std::net::UdpSocket;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::events::{EventWatcher, events_shown, normalise, wait_for_listeners};
use crate::common::*;
use crate::fill::FillSpec;

fn ct_watch(ns: &Netns, args: &[&str]) -> EventWatcher {
    let mut argv = vec![ct_bin(), "watch".to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    EventWatcher::spawn(ns.exec_cmd(&argv))
}

fn udp_entries(base: u8, count: u32) -> FillSpec {
    FillSpec {
        count,
        base,
        ..Default::default()
    }
}

/// --count ends the stream after N events, --duration after the time given, SIGTERM
/// as SIGINT does; each time with status 0, whole lines and the summary.
#[test]
fn count_duration_and_sigterm_end_the_stream() {
    require_kernel!();
    let ns = Netns::new();
    let counted = ct_watch(&ns, &["--count", "3"]);
    let terminated = ct_watch(&ns, &["-o", "json"]);
    let started = Instant::now();
    let timed = ct_watch(&ns, &["--duration", "1.5", "-p", "tcp"]);
    wait_for_listeners(&ns, 3);
    ns.run_in(|| fill::fill_here(udp_entries(31, 5))).unwrap();

    let counted = counted.finish();
    assert_eq!(counted.stdout.lines().count(), 3);
    assert!(counted.stdout.ends_with('\n'));
    assert_eq!(counted.stderr, "ct: 3 flow events have been shown.\n");

    let timed = timed.finish();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "--duration 1.5 took {took:?}"
    );
    assert_eq!(timed.stdout, "");
    assert_eq!(timed.stderr, "ct: 0 flow events have been shown.\n");

    std::thread::sleep(Duration::from_millis(200));
    let terminated = terminated.stop_with(libc::SIGTERM);
    assert_eq!(terminated.stdout.lines().count(), 5);
    for line in terminated.stdout.lines() {
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["event"], "new");
    }
    assert_eq!(events_shown(&terminated.stderr), 5);
}

/// `ct watch | head -1`: ct ends at the first write that fails, with status 0 and
/// nothing on stderr.
#[test]
fn a_reader_that_goes_away_ends_the_stream_quietly() {
    require_kernel!();
    let ns = Netns::new();
    let mut child = ns
        .exec_cmd(&[&ct_bin(), "watch"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_listeners(&ns, 1);
    ns.run_in(|| fill::fill_here(udp_entries(32, 1))).unwrap();
    let mut first = String::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    reader.read_line(&mut first).unwrap();
    drop(reader);
    assert!(first.starts_with("    [NEW] udp "), "{first}");
    // The next event's write finds the pipe closed; make events until ct is gone.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut base = 33;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "ct still runs 20 s after its reader left"
        );
        ns.run_in(|| fill::fill_here(udp_entries(base, 1))).unwrap();
        base += 1;
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(stderr, "");
}

/// `ct watch | sleep 1000`: a burst fills the pipe and ct's buffer, the reader never
/// reads, and SIGINT (then SIGTERM) still ends ct within a second, with status 0 and the
/// summary counting exactly the whole lines that went into the pipe.
#[test]
fn a_signal_ends_the_stream_while_the_reader_stalls() {
    require_kernel!();
    for (n, signal) in [libc::SIGINT, libc::SIGTERM].into_iter().enumerate() {
        let ns = Netns::new();
        let (reader, writer) = std::io::pipe().unwrap();
        let err = TempFile::new("stalled-err", "");
        let mut child = ns
            .exec_cmd(&[&ct_bin(), "watch", "-e", "NEW"])
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(std::fs::File::create(err.path_str()).unwrap())
            .spawn()
            .unwrap();
        wait_for_listeners(&ns, 1);
        // 5,000 lines of about 130 bytes: far more than a pipe (64 KiB) and ct's buffer
        // hold together.
        ns.run_in(|| fill::fill_here(udp_entries(40 + n as u8, 5000)))
            .unwrap();
        std::thread::sleep(Duration::from_millis(500));
        assert!(child.try_wait().unwrap().is_none(), "ct ended on its own");
        // SAFETY: kill on the pid of a child we have not reaped.
        unsafe { libc::kill(child.id() as i32, signal) };
        let signalled = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if signalled.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                let _ = child.wait();
                panic!("ct still ran 10 s after signal {signal} with its reader stalled");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = signalled.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "signal {signal}: took {took:?}"
        );
        assert_eq!(status.code(), Some(0));
        let stderr = std::fs::read_to_string(err.path_str()).unwrap();
        let shown = events_shown(&stderr);
        // Whatever sat in the pipe: whole lines only, as many as the summary says.
        let mut piped = String::new();
        let mut reader = reader;
        reader.read_to_string(&mut piped).unwrap();
        assert!(piped.ends_with('\n'), "half a line in the pipe");
        assert_eq!(piped.lines().count() as u64, shown, "{stderr}");
        assert!(shown > 0 && shown < 5000, "{shown}");
        assert!(
            stderr.starts_with("ct: standard output took nothing for 500 ms after the signal; "),
            "{stderr}"
        );
        assert!(stderr.ends_with(&format!("ct: {shown} flow events have been shown.\n")));
    }
}

/// Real UDP on the namespace's loopback, then deleted: the DESTROY event in JSON carries
/// both directions' counters and the start and stop times, fits the schema, and the
/// flow-log recipe of docs/json.md turns it into one line with the duration and the bytes
/// each way.
#[test]
fn destroy_events_in_json_make_a_flow_log() {
    require_kernel!();
    let ns = Netns::new();
    ns.enable_acct_and_timestamps();
    // The kernel tracks a namespace's packets only once a rule needs conntrack.
    ns.nft("table inet track {\n chain input {\n  type filter hook input priority 0;\n  ct state new counter\n }\n}\n");
    let all = ct_watch(&ns, &["-o", "json"]);
    let destroys = ct_watch(&ns, &["-e", "DESTROY", "-o", "json", "-p", "udp"]);
    wait_for_listeners(&ns, 2);
    ns.run_in(|| {
        let server = UdpSocket::bind("127.0.0.1:5353").unwrap();
        let client = UdpSocket::bind("127.0.0.1:40000").unwrap();
        client.connect("127.0.0.1:5353").unwrap();
        for payload in [&b"question one"[..], b"question two!"] {
            client.send(payload).unwrap();
            let mut buffer = [0u8; 64];
            let (n, from) = server.recv_from(&mut buffer).unwrap();
            server.send_to(&[0u8; 128][..n + 88], from).unwrap();
            client.recv(&mut buffer).unwrap();
        }
    });
    std::thread::sleep(Duration::from_millis(1100));
    ns.conntrack(&["-D", "-p", "udp", "--dport", "5353"]);
    std::thread::sleep(Duration::from_millis(300));
    let all = all.stop().stdout;
    let destroys = destroys.stop().stdout;

    assert_eq!(
        schema::validate_json_lines(schema::Kind::EntryEvent, &all),
        all.lines().count()
    );
    let kinds: Vec<String> = all
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["event"].to_string())
        .collect();
    assert_eq!(kinds, ["\"new\"", "\"update\"", "\"destroy\""]);
    let destroy: serde_json::Value = serde_json::from_str(destroys.trim_end()).unwrap();
    assert_eq!(destroy["event"], "destroy");
    let deleter = &destroy["userspace"];
    assert!(deleter["portid"].as_u64().unwrap() > 0, "{destroy}");
    // 20 bytes of IPv4 and 8 of UDP around each payload.
    assert_eq!(destroy["original"]["packets"], 2);
    assert_eq!(destroy["original"]["bytes"], 2 * 28 + 12 + 13);
    assert_eq!(destroy["reply"]["bytes"], 2 * 28 + 100 + 101);
    let (start, stop) = (
        destroy["start"].as_u64().unwrap(),
        destroy["stop"].as_u64().unwrap(),
    );
    assert!(stop - start >= 1_000_000_000, "{start} .. {stop}");

    let recipe = flow_log_recipe();
    let out = run_ok(
        std::process::Command::new("jq")
            .args(["-c", &recipe])
            .arg(write_temp(&destroys).path_str()),
    );
    let log: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
    assert_eq!(log["src"], "127.0.0.1");
    assert_eq!(log["dport"], 5353);
    assert_eq!(log["bytes_out"], 81);
    assert_eq!(log["bytes_in"], 257);
    let seconds = log["seconds"].as_f64().unwrap();
    let expected = (stop - start) as f64 / 1e9;
    assert!((seconds - expected).abs() < 1e-6, "{seconds} vs {expected}");
}

/// The jq program of docs/json.md's flow log, as documented.
fn flow_log_recipe() -> String {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/json.md")).unwrap();
    let line = docs
        .lines()
        .find(|line| line.starts_with("ct watch -e DESTROY -o json | jq -c '"))
        .expect("docs/json.md shows the flow log recipe");
    let start = line.find("jq -c '").unwrap() + "jq -c '".len();
    let end = line.rfind('\'').unwrap();
    line[start..end].to_string()
}

fn write_temp(text: &str) -> TempFile {
    TempFile::new("events", text)
}

/// `-e NEW` on expectation events: ct joins only the group of new expectations
/// (conntrack 1.4.7 opens the wrong subsystem with -e there and shows nothing); what it
/// shows is exactly the NEW lines of `conntrack -E expect`.
#[test]
fn expectation_events_of_one_kind() {
    require_kernel!();
    let topology = Topology::new();
    let router = &topology.router;
    let new_only = ct_watch(router, &["expect", "-e", "NEW"]);
    let everything = EventWatcher::spawn(router.exec_cmd(&["conntrack", "-E", "expect"]));
    wait_for_listeners(router, 2);
    let held = crate::common::expectations::make_expectations(&topology);
    router.conntrack(&["-F", "expect"]);
    std::thread::sleep(Duration::from_millis(700));
    drop(held);
    let ours = normalise(&new_only.stop().stdout);
    let theirs = normalise(&everything.stop().stdout);
    let theirs_new: Vec<&str> = theirs
        .lines()
        .filter(|l| l.starts_with("    [NEW] "))
        .collect();
    assert_eq!(theirs_new.len(), 6, "{theirs}");
    assert!(theirs.lines().any(|l| l.starts_with("[DESTROY] ")));
    assert_eq!(ours.lines().collect::<Vec<_>>(), theirs_new);
}

/// A receive buffer far too small for a burst of deletes: plain, ct warns that the
/// kernel dropped events and goes on; with --reliable the kernel keeps each DESTROY
/// event it could not deliver and sends it again, so all of them arrive. (Each in a
/// namespace of its own: the kernel sends a kept event again to every listener.)
#[test]
fn reliable_delivery_keeps_every_destroy_event() {
    require_kernel!();
    const COUNT: u32 = 5_000;
    let small = ["-e", "DESTROY", "-b", "4096"];
    let burst = |extra: &[&str]| {
        let ns = Netns::new();
        let watcher = ct_watch(&ns, &[&small[..], extra].concat());
        wait_for_listeners(&ns, 1);
        // Entries made while nobody listened would send no DESTROY event at all.
        let spec = udp_entries(34, COUNT);
        ns.run_in(|| fill::fill_here(spec)).unwrap();
        ns.run_in(|| changes::delete_here(spec)).unwrap();
        (ns, watcher)
    };
    let (_reliable_ns, reliable) = burst(&["--reliable"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while reliable.printed().stdout.lines().count() < COUNT as usize {
        assert!(
            Instant::now() < deadline,
            "only {} of {COUNT} DESTROY events after 60 s",
            reliable.printed().stdout.lines().count()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));
    let reliable = reliable.stop();
    assert_eq!(reliable.stdout.lines().count(), COUNT as usize);
    // The kernel sent every refused DESTROY event again: nothing was lost, nothing to
    // warn about.
    assert_eq!(
        reliable.stderr,
        format!("ct: {COUNT} flow events have been shown.\n")
    );

    // NEW events are not sent again (a lost one is folded into the entry's next event):
    // with them, --reliable still loses events, and ct says which ones it kept.
    let (_mixed_ns, mixed) = burst(&["--reliable", "-e", "NEW,DESTROY"]);
    std::thread::sleep(Duration::from_millis(500));
    let mixed = mixed.stop();
    assert!(
        mixed.stdout.lines().count() < 2 * COUNT as usize,
        "a 4 KiB buffer took a burst of {COUNT} inserts and deletes"
    );
    assert!(
        mixed.stderr.contains(
            "ct: warning: events were lost: the kernel found the socket's receive buffer full "
        ) && mixed.stderr.contains(
            "; --reliable has the kernel send again only the DESTROY events of connections\n"
        ),
        "{}",
        mixed.stderr
    );

    let (_plain_ns, plain) = burst(&[]);
    std::thread::sleep(Duration::from_millis(500));
    let plain = plain.stop();
    let shown = plain.stdout.lines().count();
    assert!(
        shown < COUNT as usize,
        "a 4 KiB buffer took a burst of {COUNT} deletes"
    );
    assert!(
        plain
            .stderr
            .contains("ct: warning: the kernel dropped events: the socket's receive buffer"),
        "{}",
        plain.stderr
    );
    assert!(plain.stderr.contains("raise it with -b"));
    assert_eq!(events_shown(&plain.stderr), shown as u64);
}

/// The BPF program only spares ct work: with and without it, the same events are shown.
#[test]
fn the_kernel_filter_changes_nothing_shown() {
    require_kernel!();
    let ns = Netns::new();
    let filters: &[&[&str]] = &[
        &["-p", "udp", "-s", "10.35.0.0/31"],
        &["-s", "10.36.0.0/16", "-m", "7/0xf"],
        &["-f", "ipv4", "-d", "10.255.0.1", "-w", "4"],
        &["-e", "NEW,DESTROY", "-p", "tcp,udp", "-u", "UNREPLIED"],
    ];
    let mut pairs = Vec::new();
    for filter in filters {
        let unfiltered = [&filter[..], &["--no-kernel-filter"]].concat();
        pairs.push((ct_watch(&ns, filter), ct_watch(&ns, &unfiltered)));
    }
    wait_for_listeners(&ns, 2 * pairs.len());
    for spec in [
        udp_entries(35, 1000),
        FillSpec {
            mark: 0x17,
            ..udp_entries(36, 500)
        },
        FillSpec {
            zone: Some(4),
            ..udp_entries(37, 300)
        },
    ] {
        ns.run_in(|| fill::fill_here(spec)).unwrap();
        ns.run_in(|| changes::delete_here(spec)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let expected_lines = [2 * 512, 2 * 500, 2 * 300, 2 * 1800];
    for ((filtered, unfiltered), expected) in pairs.into_iter().zip(expected_lines) {
        let filtered = filtered.stop().stdout;
        let unfiltered = unfiltered.stop().stdout;
        assert_eq!(normalise(&filtered), normalise(&unfiltered));
        assert_eq!(filtered.lines().count(), expected);
    }
}

/// `ct watch` by GRE key shows the events of the entry with those keys only, among
/// entries that differ only in their keys, with and without the kernel-side filter.
#[test]
fn gre_keys_select_the_events_of_their_entry() {
    require_kernel!();
    let ns = Netns::new();
    let by_key = ["-p", "gre", "--srckey", "0x11", "--dstkey", "32"];
    let filtered = ct_watch(&ns, &by_key);
    let unfiltered = ct_watch(&ns, &[&by_key[..], &["--no-kernel-filter"]].concat());
    let reply_key = ct_watch(&ns, &["--reply-key-dst", "0x99", "-e", "NEW", "-o", "json"]);
    wait_for_listeners(&ns, 3);
    for entry in shapes::gre_keys(214) {
        ns.insert(&entry);
    }
    ns.conntrack(&["-F"]);
    std::thread::sleep(Duration::from_millis(300));
    let filtered = filtered.stop();
    let lines: Vec<&str> = filtered.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{}", filtered.stdout);
    for (line, kind) in lines.iter().zip(["    [NEW] gre ", "[DESTROY] gre "]) {
        assert!(line.starts_with(kind), "{line}");
        assert!(
            line.contains(
                " src=10.214.24.1 dst=10.214.24.2 srckey=0x11 dstkey=0x20 [UNREPLIED] \
                 src=10.214.24.2 dst=10.214.24.1 srckey=0x20 dstkey=0x11 "
            ),
            "{line}"
        );
    }
    assert_eq!(filtered.stderr, "ct: 2 flow events have been shown.\n");
    assert_eq!(
        normalise(&unfiltered.stop().stdout),
        normalise(&filtered.stdout)
    );
    let reply_key = reply_key.stop();
    let events: Vec<serde_json::Value> = reply_key
        .stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{}", reply_key.stdout);
    assert_eq!(events[0]["event"], "new");
    assert_eq!(
        (
            &events[0]["original"]["srckey"],
            &events[0]["reply"]["dstkey"]
        ),
        (&serde_json::json!(0x12), &serde_json::json!(0x99))
    );
}

/// `ct watch --netns` opens its event socket from a thread that entered the namespace
/// (ct itself stays in its own), and finds the program behind a change in that
/// namespace's /proc/net/netlink, read from such a thread too: the `[USERSPACE]` cause
/// of a change this test makes in the namespace names this test's program.
#[test]
fn watch_under_netns_names_the_program_behind_a_change() {
    require_kernel!();
    let ns = Netns::new();
    let mut cmd = ct_command();
    cmd.args(["watch", "--netns", ns.name(), "-e", "NEW", "--count", "1"]);
    let watcher = EventWatcher::spawn(cmd);
    wait_for_listeners(&ns, 1);
    // The socket stays open until the watcher has printed, so that it can be found.
    let own = ns.run_in(|| {
        let mut own = ct::netlink::Conntrack::open(None).unwrap();
        fill::fill_with(&mut own, udp_entries(33, 1)).unwrap();
        own
    });
    let printed = watcher.finish();
    drop(own);
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let program = stat.split_once(" (").unwrap().1.split_once(')').unwrap().0;
    let lines: Vec<&str> = printed.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{}", printed.stdout);
    assert!(
        lines[0].starts_with("    [NEW] udp      17 ")
            && lines[0].contains(" [USERSPACE] portid=")
            && lines[0].ends_with(&format!(" progname={program}")),
        "{}",
        printed.stdout
    );
    assert_eq!(printed.stderr, "ct: 1 flow events have been shown.\n");
}
