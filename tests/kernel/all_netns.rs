//! `--all-netns`: every namespace of the host read at once, each entry, count and
//! reading tagged with its namespace, checked against `conntrack` run inside each of
//! the test's namespaces; namespaces that cannot be entered or vanish mid-run are
//! reported and skipped. Other tests' namespaces come and go meanwhile: only this
//! test's namespaces are checked, and their churn is part of what must not fail a run.
//! Needs root (see tests/support/common.rs).

use crate::fill;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::process::Command;

use crate::common::*;
use serde_json::Value;

/// Three namespaces holding 1, 2 and 3 entries of their own.
fn three_namespaces() -> Vec<Netns> {
    (0..3)
        .map(|i| {
            let ns = Netns::new();
            for j in 0..=i {
                ns.insert(&format!(
                    "-p udp -s 10.232.{i}.{} -d 10.232.{i}.100 --sport 1000 --dport 53 -t 600",
                    j + 1
                ));
            }
            ns
        })
        .collect()
}

fn ct_host(args: &[&str]) -> (String, String) {
    let out = run(ct_command().args(args));
    assert_eq!(
        out.status.code(),
        Some(0),
        "ct {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The lines of `text` tagged `[name] `, without the tag, sorted and normalised.
fn tagged(text: &str, name: &str) -> Vec<String> {
    let prefix = format!("[{name}] ");
    let mut lines: Vec<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(normalise)
        .collect();
    lines.sort();
    lines
}

fn conntrack_lines(ns: &Netns) -> Vec<String> {
    let mut lines: Vec<String> = ns.conntrack(&["-L"]).lines().map(normalise).collect();
    lines.sort();
    lines
}

#[test]
fn every_entry_once_under_its_namespace() {
    require_kernel!();
    let namespaces = three_namespaces();
    let (classic, _) = ct_host(&["list", "--all-netns"]);
    let (json, _) = ct_host(&["list", "--all-netns", "-o", "json"]);
    let (table, _) = ct_host(&["list", "--all-netns", "-o", "table", "--color", "never"]);
    for ns in &namespaces {
        let expected = conntrack_lines(ns);
        assert!(!expected.is_empty());
        assert_eq!(tagged(&classic, ns.name()), expected, "{}", ns.name());
        let inode = std::fs::metadata(ns.path()).unwrap().ino();
        let objects: Vec<Value> = json
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|object| object["netns"]["name"] == ns.name())
            .collect();
        assert_eq!(objects.len(), expected.len(), "{}", ns.name());
        for object in &objects {
            assert_eq!(object["netns"]["label"], ns.name());
            assert_eq!(object["netns"]["inode"], inode);
            let src = object["original"]["src"].as_str().unwrap();
            assert!(
                expected
                    .iter()
                    .any(|line| line.contains(&format!("src={src} ")))
            );
        }
        let rows = table
            .lines()
            .filter(|row| row.split_whitespace().next() == Some(ns.name()))
            .count();
        assert_eq!(rows, expected.len(), "{table}");
    }
    assert!(table.starts_with("NETNS "), "{table}");
}

#[test]
fn counts_stats_and_top_per_namespace_equal_conntrack_inside_each() {
    require_kernel!();
    let namespaces = three_namespaces();
    let (counts, _) = ct_host(&["count", "--all-netns"]);
    let (stats, _) = ct_host(&["stats", "--all-netns", "-o", "json"]);
    let (top, _) = ct_host(&[
        "top",
        "--all-netns",
        "--by",
        "netns",
        "-o",
        "json",
        "-n",
        "100000",
    ]);
    let stats: BTreeMap<u64, Value> = stats
        .lines()
        .map(|line| {
            let object: Value = serde_json::from_str(line).unwrap();
            (object["netns"]["inode"].as_u64().unwrap(), object)
        })
        .collect();
    let own = std::fs::metadata("/proc/self/ns/net").unwrap().ino();
    assert!(
        stats.contains_key(&own),
        "the test's own namespace is read too"
    );
    for ns in &namespaces {
        let count = ns.conntrack(&["-C"]).trim().to_string();
        let lines: Vec<&str> = counts
            .lines()
            .filter(|line| line.starts_with(&format!("[{}] ", ns.name())))
            .collect();
        assert_eq!(lines, [format!("[{}] {count}", ns.name())], "{counts}");
        let inode = std::fs::metadata(ns.path()).unwrap().ino();
        assert_eq!(
            stats[&inode]["global"]["entries"].to_string(),
            count,
            "{}",
            ns.name()
        );
        let group: Vec<Value> = top
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|object| object["netns"] == ns.name())
            .collect();
        assert_eq!(group.len(), 1, "{top}");
        assert_eq!(group[0]["entries"].to_string(), count);
    }
    let (table, _) = ct_host(&["stats", "--all-netns", "-o", "table"]);
    assert!(table.starts_with("NETNS "), "{table}");
    for ns in &namespaces {
        let row: Vec<&str> = table
            .lines()
            .find(|row| row.starts_with(&format!("{} ", ns.name())))
            .unwrap()
            .split_whitespace()
            .collect();
        assert_eq!(row[2], ns.conntrack(&["-C"]).trim(), "{table}");
    }
}

/// Without CAP_NET_ADMIN (but with CAP_SYS_ADMIN, to enter the namespaces) ctnetlink
/// refuses, and `--all-netns` falls back to /proc in each namespace: each namespace's
/// count and per-CPU counters are its own, not those of the namespace ct runs in.
#[test]
fn the_proc_fallback_reads_each_namespace_its_own_numbers() {
    require_kernel!();
    let namespaces = three_namespaces();
    let without_net_admin = |args: &[&str]| {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--inh-caps=-net_admin", "--bounding-set=-net_admin"])
            .arg(ct_bin())
            .args(args);
        let out = run(&mut cmd);
        assert_eq!(
            out.status.code(),
            Some(0),
            "ct {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let counts = without_net_admin(&["count", "--all-netns"]);
    let stats = without_net_admin(&["stats", "--all-netns"]);
    for ns in &namespaces {
        let count = ns.conntrack(&["-C"]).trim().to_string();
        let lines: Vec<&str> = counts
            .lines()
            .filter(|line| line.starts_with(&format!("[{}] ", ns.name())))
            .collect();
        assert_eq!(lines, [format!("[{}] {count}", ns.name())], "{counts}");
        let cpus: Vec<&str> = stats
            .lines()
            .filter(|line| line.starts_with(&format!("[{}] cpu=", ns.name())))
            .collect();
        assert!(!cpus.is_empty(), "{stats}");
        for line in cpus {
            // /proc/net/stat/nf_conntrack repeats the table's count on every CPU's line.
            assert!(line.contains(&format!("\tentries={count} ")), "{line}");
        }
    }
}

#[test]
fn namespaces_that_cannot_be_entered_are_reported_and_skipped() {
    require_kernel!();
    let namespaces = three_namespaces();
    let inside = &namespaces[1];
    let bin = ct_bin();
    // Without CAP_SYS_ADMIN, setns(2) refuses every namespace but ct's own, which needs
    // no entering.
    let out = inside.exec(&[
        "setpriv",
        "--inh-caps=-sys_admin",
        "--bounding-set=-sys_admin",
        &bin,
        "count",
        "--all-netns",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, format!("[{}] 2\n", inside.name()));
    for other in [&namespaces[0], &namespaces[2]] {
        assert!(
            stderr.contains(&format!(
                "ct: network namespace {}: permission denied entering network namespace",
                other.name()
            )) && stderr.contains("; skipped\n"),
            "{stderr}"
        );
    }
}

#[test]
fn namespaces_coming_and_going_do_not_fail_a_run() {
    require_kernel!();
    let stable = three_namespaces();
    let expected: Vec<Vec<String>> = stable.iter().map(conntrack_lines).collect();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            // Bounded churn: namespaces with an entry each, made and deleted.
            for _ in 0..40 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let passing = Netns::new();
                passing.insert("-p tcp -s 10.232.9.1 -d 10.232.9.2 --sport 1 --dport 2 --state ESTABLISHED -t 600");
            }
        });
        for _ in 0..8 {
            let out = run(Command::new(ct_bin()).args(["list", "--all-netns"]));
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            for (ns, lines) in stable.iter().zip(&expected) {
                assert_eq!(&tagged(&text, ns.name()), lines);
            }
            // A namespace that vanished between being found and being read is named and
            // skipped; nothing else is said but the summary.
            let errors = String::from_utf8_lossy(&out.stderr);
            for line in errors.lines() {
                assert!(
                    (line.starts_with("ct: network namespace ") && line.ends_with("; skipped"))
                        || (line.starts_with("ct: ")
                            && line.ends_with(" flow entries have been shown.")),
                    "{errors}"
                );
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
}

#[test]
fn watch_follows_every_namespace_present_at_its_start() {
    require_kernel!();
    let namespaces = three_namespaces();
    let classic = events::EventWatcher::spawn({
        let mut cmd = ct_command();
        cmd.args(["watch", "--all-netns", "-e", "NEW"]);
        cmd
    });
    let json = events::EventWatcher::spawn({
        let mut cmd = ct_command();
        cmd.args(["watch", "--all-netns", "-e", "NEW", "-o", "json"]);
        cmd
    });
    // Other tests' watchers may listen in these namespaces too, so listeners prove
    // nothing: insert in each namespace, a new entry every 200 ms (bounded), until both
    // watchers show one from each.
    let seen = |text: &str, i: usize, json: bool| match json {
        false => text.contains(&format!("src=10.232.{i}.50 ")),
        true => text.contains(&format!("\"10.232.{i}.50\"")),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for sport in 1000.. {
        for (i, ns) in namespaces.iter().enumerate() {
            ns.insert(&format!(
                "-p tcp -s 10.232.{i}.50 -d 10.232.{i}.51 --sport {sport} --dport 8 --state ESTABLISHED -t 600"
            ));
        }
        let (text, objects) = (classic.printed().stdout, json.printed().stdout);
        let all_in =
            (0..namespaces.len()).all(|i| seen(&text, i, false) && seen(&objects, i, true));
        if all_in || std::time::Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (classic_text, json_text) = (classic.stop().stdout, json.stop().stdout);
    for (i, ns) in namespaces.iter().enumerate() {
        let lines: Vec<&str> = classic_text
            .lines()
            .filter(|line| line.contains(&format!("src=10.232.{i}.50 ")))
            .collect();
        assert!(!lines.is_empty(), "{classic_text}");
        for line in lines {
            assert!(
                line.starts_with(&format!("[{}]     [NEW] tcp      6 ", ns.name())),
                "{line}"
            );
        }
        let objects: Vec<Value> = json_text
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .filter(|object| object["original"]["src"] == format!("10.232.{i}.50"))
            .collect();
        assert!(!objects.is_empty(), "{json_text}");
        for object in objects {
            assert_eq!(object["netns"]["name"], ns.name());
            assert_eq!(object["event"], "new");
        }
    }
}

#[test]
fn a_namespace_deleted_mid_run_is_reported_and_the_run_succeeds() {
    require_kernel!();
    // Namespaces read in the order of their names: the first one's 20,000 entries fill
    // the pipe to ct's stdout, so ct waits, mid-run, until the test reads; the last one
    // is deleted meanwhile. ct dumps up to one namespace per core ahead of the one it
    // prints, so empty namespaces in between keep the last one out of that reach.
    let between = std::thread::available_parallelism().map_or(1, usize::from) + 1;
    let mut namespaces: Vec<Netns> = (0..between + 2).map(|_| Netns::new()).collect();
    namespaces.sort_by(|a, b| a.name().cmp(b.name()));
    let second = namespaces.pop().unwrap();
    let first = namespaces.remove(0);
    fill::fill(
        first.name(),
        fill::FillSpec {
            count: 20_000,
            base: 233,
            ..Default::default()
        },
    )
    .unwrap();
    second.insert("-p udp -s 10.232.8.1 -d 10.232.8.2 --sport 1 --dport 2 -t 600");
    let mut child = Command::new(ct_bin())
        .args(["list", "--all-netns"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    // ct is inside the first namespace's dump once its first line arrives.
    loop {
        line.clear();
        assert!(std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0);
        if line.starts_with(&format!("[{}] ", first.name())) {
            break;
        }
    }
    let deleted = run(Command::new("ip").args(["netns", "del", second.name()]));
    assert!(deleted.status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut errors).unwrap();
    assert!(child.wait().unwrap().success(), "{errors}");
    let shown = 1 + rest
        .lines()
        .filter(|line| line.starts_with(&format!("[{}] ", first.name())))
        .count();
    assert_eq!(shown, 20_000);
    assert!(!rest.contains(&format!("[{}] ", second.name())));
    assert!(
        errors.contains(&format!(
            "ct: network namespace {}: network namespace '/run/netns/{}' not found",
            second.name(),
            second.name()
        )),
        "{errors}"
    );
}

#[test]
fn watch_picks_up_namespaces_made_after_it_started() {
    require_kernel!();
    let before = Netns::new();
    let watcher = events::EventWatcher::spawn({
        let mut cmd = ct_command();
        cmd.args(["watch", "--all-netns", "-e", "NEW"]);
        cmd
    });
    events::wait_for_listeners(&before, 1);
    let after = Netns::new();
    // ct looks for new namespaces every second; other tests' watchers may join this one
    // too, so listeners prove nothing: insert, a new entry every 200 ms (bounded), until
    // ct shows one.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    for sport in 1000.. {
        after.insert(&format!(
            "-p udp -s 10.232.7.1 -d 10.232.7.2 --sport {sport} --dport 6 -t 600"
        ));
        if watcher.printed().stdout.contains("src=10.232.7.1 ")
            || std::time::Instant::now() >= deadline
        {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // The line of the entry inserted when ct had just joined may still be on its way.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let printed = watcher.stop().stdout;
    let lines: Vec<&str> = printed
        .lines()
        .filter(|line| line.contains("src=10.232.7.1 "))
        .collect();
    assert!(!lines.is_empty(), "{printed}");
    for line in lines {
        assert!(
            line.starts_with(&format!("[{}]     [NEW] udp      17 ", after.name())),
            "{line}"
        );
    }
}

#[test]
fn tags_need_all_netns_and_a_format_with_room_for_them() {
    for args in [
        &["list", "--all-netns", "-o", "xml"][..],
        &["list", "--all-netns", "-o", "save"],
        &["list", "expect", "--all-netns"],
        &["list", "--all-netns", "--netns", "blue"],
        &["top", "--by", "netns", "--once"],
        &["watch", "--all-netns", "-o", "xml"],
        &["stats", "--all-netns", "--netns", "blue"],
    ] {
        let out = run(ct_command().args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// `--netns` opens its socket from a thread that entered the namespace, as
/// `--all-netns` does, and the /proc fallback reads that namespace's files from such a
/// thread too: without CAP_NET_ADMIN, `ct count --netns` and `ct stats --netns` print
/// the namespace's own numbers, as ct run inside it does, not those of ct's namespace.
#[test]
fn the_proc_fallback_under_netns_reads_that_namespaces_numbers() {
    require_kernel!();
    let ns = Netns::new();
    for j in 1..=7 {
        ns.insert(&format!(
            "-p udp -s 10.232.9.{j} -d 10.232.9.100 --sport 1000 --dport 53 -t 600"
        ));
    }
    let bin = ct_bin();
    let without_net_admin = [
        "setpriv",
        "--inh-caps=-net_admin",
        "--bounding-set=-net_admin",
    ];
    let from_outside = |args: &[&str]| {
        let out = run(Command::new(without_net_admin[0])
            .args(&without_net_admin[1..])
            .arg(&bin)
            .args(args));
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let from_inside = |args: &[&str]| {
        let argv: Vec<&str> = without_net_admin
            .iter()
            .copied()
            .chain([bin.as_str()])
            .chain(args.iter().copied())
            .collect();
        let out = ns.exec(&argv);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr).into_owned()
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let note = "ct: note: without CAP_NET_ADMIN the kernel refuses ctnetlink; the numbers \
                come from /proc instead, as conntrack's do\n";
    let sysctl = ns.exec_ok(&["cat", "/proc/sys/net/netfilter/nf_conntrack_count"]);
    assert_eq!(sysctl, "7\n");
    assert_eq!(
        from_outside(&["count", "--netns", ns.name()]),
        (Some(0), "7\n".to_string(), note.to_string())
    );
    let stats = from_inside(&["stats"]);
    assert!(stats.contains("entries=7 "), "{stats}");
    assert_eq!(
        from_outside(&["stats", "--netns", ns.name()]),
        (Some(0), stats, note.to_string())
    );
}

/// One error policy for every command's `--all-netns`, `ct top` included: each
/// namespace that cannot be read is reported once and skipped, and when none could be
/// the command fails (exit 1) after saying which, instead of printing an empty reading.
#[test]
fn top_fails_when_no_namespace_could_be_read() {
    require_kernel!();
    let ns = Netns::new();
    ns.insert("-p udp -s 10.232.10.1 -d 10.232.10.2 --sport 1 --dport 2 -t 600");
    let bin = ct_bin();
    // Without CAP_SYS_ADMIN no other namespace can be entered; without CAP_NET_ADMIN
    // ct's own refuses the dump.
    let out = ns.exec(&[
        "setpriv",
        "--inh-caps=-sys_admin,-net_admin",
        "--bounding-set=-sys_admin,-net_admin",
        &bin,
        "top",
        "--all-netns",
        "--once",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let lines: Vec<&str> = stderr.lines().collect();
    let own = format!("ct: network namespace {}: ", ns.name());
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.starts_with(&own))
            .collect::<Vec<_>>(),
        [&format!(
            "{own}permission denied reading the conntrack table; run as root or with \
             CAP_NET_ADMIN; skipped"
        )],
        "{stderr}"
    );
    let skipped = &lines[..lines.len() - 1];
    assert!(
        skipped
            .iter()
            .all(|line| line.starts_with("ct: network namespace ") && line.ends_with("; skipped")),
        "{stderr}"
    );
    let mut once = skipped.to_vec();
    once.sort_unstable();
    once.dedup();
    assert_eq!(once.len(), skipped.len(), "each namespace once: {stderr}");
    assert!(
        lines[lines.len() - 1].starts_with("ct: no network namespace could be read: "),
        "{stderr}"
    );
}

/// The ctnetlink requests `ct ARGS` sent to each named namespace, as `strace` saw them
/// leave (an observer outside ct): per namespace name, how many asked for the entry
/// count (IPCTNL_MSG_CT_GET_STATS) and how many for a dump of the table
/// (IPCTNL_MSG_CT_GET with NLM_F_DUMP). Each socket is matched to the namespace the
/// thread that opened it had entered (`setns` on /run/netns/NAME), so the walk's order
/// does not matter.
fn requests_per_namespace(args: &[&str]) -> BTreeMap<String, Requests> {
    let strace = find_program("strace").expect("the test needs strace (apt-get install strace)");
    let trace = TempFile::new("strace", "");
    let mut cmd = hermetic(Command::new(strace));
    cmd.args(["-f", "-qq", "-y", "-x", "-o", trace.path_str()])
        .args(["-e", "trace=setns,socket,sendto,sendmsg", "--"])
        .arg(ct_bin())
        .args(args);
    let out = run(&mut cmd);
    assert_eq!(
        out.status.code(),
        Some(0),
        "ct {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = std::fs::read_to_string(trace.path_str()).unwrap();
    let mut entered: BTreeMap<&str, &str> = BTreeMap::new();
    let mut sockets: BTreeMap<&str, &str> = BTreeMap::new();
    let mut requests: BTreeMap<String, Requests> = BTreeMap::new();
    for line in trace.lines() {
        let Some((pid, call)) = line.trim_start().split_once(' ') else {
            continue;
        };
        let call = call.trim_start();
        if let Some(rest) = call.strip_prefix("setns(") {
            if let Some(name) = between(rest, "</run/netns/", ">") {
                entered.insert(pid, name);
            }
        } else if call.starts_with("socket(") || call.starts_with("<... socket resumed>") {
            let returned = call.rsplit_once(" = ").map(|(_, fd)| fd).unwrap_or("");
            if let (Some(inode), Some(name)) =
                (between(returned, "<socket:[", "]>"), entered.get(pid))
            {
                sockets.insert(inode, name);
            }
        } else if call.starts_with("sendto(") || call.starts_with("sendmsg(") {
            let inode = between(call, "<socket:[", "]>").expect(line);
            let Some(name) = sockets.get(inode) else {
                continue;
            };
            let kind = between(call, "nlmsg_type=", " ").expect(line);
            let flags = between(call, "nlmsg_flags=", ",").expect(line);
            let seen = requests.entry(name.to_string()).or_default();
            match kind {
                "0x105" => seen.count += 1,
                "0x101" if flags.contains("0x300") || flags.contains("NLM_F_DUMP") => {
                    seen.dump += 1
                }
                _ => {}
            }
        }
    }
    requests
}

/// The ctnetlink requests sent to one namespace: see [`requests_per_namespace`].
#[derive(Debug, Default, PartialEq)]
struct Requests {
    count: usize,
    dump: usize,
}

/// The text of `text` between the first `start` and the `end` after it.
fn between<'t>(text: &'t str, start: &str, end: &str) -> Option<&'t str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

/// An empty namespace costs one count request and is never dumped: `ct list
/// --all-netns` and `ct top --all-netns` ask every namespace for the kernel's count of
/// its entries and dump only those that hold some (once, or once per family when a
/// filter without -f is dumped per family), as strace sees the requests leave.
#[test]
fn an_empty_namespace_is_counted_not_dumped() {
    require_kernel!();
    let full = Netns::new();
    full.insert("-p udp -s 10.232.20.1 -d 10.232.20.2 --sport 1000 --dport 53 -t 600");
    full.insert("-p udp -s 10.232.20.3 -d 10.232.20.2 --sport 1000 --dport 53 -t 600");
    let empty: Vec<Netns> = (0..3).map(|_| Netns::new()).collect();
    let cases: [(&[&str], usize); 4] = [
        (&["list", "--all-netns"], 1),
        (&["list", "--all-netns", "-f", "ipv4", "-p", "udp"], 1),
        (&["list", "--all-netns", "-p", "udp"], 2),
        (&["top", "--all-netns", "--once"], 1),
    ];
    for (args, dumps) in cases {
        let requests = requests_per_namespace(args);
        let expected = Requests {
            count: 1,
            dump: dumps,
        };
        assert_eq!(requests.get(full.name()), Some(&expected), "{args:?}");
        for ns in &empty {
            let expected = Requests { count: 1, dump: 0 };
            assert_eq!(requests.get(ns.name()), Some(&expected), "{args:?}");
        }
    }
}

/// Namespaces dumped side by side are still printed one after another, in the order
/// listed (by name), each namespace's entries together and exactly its own, and each
/// more than one piece of what a reader hands over (64 KiB).
#[test]
fn namespaces_dumped_side_by_side_print_in_order() {
    require_kernel!();
    let mut namespaces: Vec<Netns> = (0..4).map(|_| Netns::new()).collect();
    namespaces.sort_by(|a, b| a.name().cmp(b.name()));
    for (i, ns) in namespaces.iter().enumerate() {
        let spec = fill::FillSpec {
            count: 3000 + 500 * i as u32,
            base: 220 + i as u8,
            ..Default::default()
        };
        fill::fill(ns.name(), spec).unwrap();
    }
    let (classic, _) = ct_host(&["list", "--all-netns", "-p", "udp"]);
    let ours: Vec<(&str, &str)> = classic
        .lines()
        .filter_map(|line| {
            let (tag, rest) = line.strip_prefix('[')?.split_once("] ")?;
            namespaces
                .iter()
                .any(|ns| ns.name() == tag)
                .then_some((tag, rest))
        })
        .collect();
    let mut blocks: Vec<(&str, Vec<String>)> = Vec::new();
    for (tag, rest) in ours {
        match blocks.last_mut() {
            Some((last, lines)) if *last == tag => lines.push(normalise(rest)),
            _ => blocks.push((tag, vec![normalise(rest)])),
        }
    }
    let order: Vec<&str> = blocks.iter().map(|(tag, _)| *tag).collect();
    let names: Vec<&str> = namespaces.iter().map(Netns::name).collect();
    assert_eq!(order, names, "one block per namespace, in order");
    for ((_, lines), ns) in blocks.iter_mut().zip(&namespaces) {
        lines.sort();
        assert_eq!(*lines, conntrack_lines(ns), "{}", ns.name());
    }
}
