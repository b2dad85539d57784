//! `ct top`'s live view, driven as a person would: the real binary in a shell inside a
//! test namespace, in a tmux pane of a set size, keys typed with `send-keys` and the
//! screen read back with `capture-pane`. Each test has its own tmux server (`-L`), so
//! they run in parallel; every wait polls against a deadline. Needs root and tmux.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// How long a screen may take to show what a test waits for: several refreshes at the
/// tests' interval, with room for a loaded machine.
const DEADLINE: Duration = Duration::from_secs(15);
/// The refresh interval the tests run ct with.
const INTERVAL: &str = "0.3";

/// A tmux server of the test's own with one pane running a shell in a namespace; the
/// server (and with it the shell and ct) is killed on drop, as is the scratch folder.
struct Tmux {
    socket: String,
    /// Where the shell leaves `stty -g`'s output before and after ct.
    scratch: PathBuf,
}

impl Tmux {
    fn start(ns: &Netns, width: u16, height: u16) -> Tmux {
        let socket = format!(
            "ct-top-live-{}-{}-{width}x{height}",
            std::process::id(),
            ns.name()
        );
        let scratch = std::env::temp_dir().join(&socket);
        std::fs::create_dir_all(&scratch).unwrap();
        let tmux = Tmux { socket, scratch };
        let shell = format!(
            "exec env PS1='$ ' PATH=/usr/local/sbin:/usr/sbin:/sbin:$PATH ip netns exec {} sh",
            ns.name()
        );
        let (width, height) = (width.to_string(), height.to_string());
        tmux.run(&[
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "live",
            "-x",
            &width,
            "-y",
            &height,
            &shell,
        ]);
        // The status bar would take a line of the pane.
        tmux.run(&["set-option", "-g", "status", "off"]);
        tmux.run(&["resize-window", "-t", "live", "-x", &width, "-y", &height]);
        let size = tmux.run(&[
            "display-message",
            "-p",
            "-t",
            "live",
            "#{pane_width}x#{pane_height}",
        ]);
        assert_eq!(size.trim(), format!("{width}x{height}"));
        // capture-pane drops trailing blanks: the prompt `$ ` reads as `$`.
        tmux.wait_for("the shell's prompt", |screen| {
            screen.lines().any(|l| l == "$")
        });
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let mut command = Command::new("tmux");
        command.args(["-L", &self.socket]).args(args);
        run_ok(&mut command)
    }

    /// Keys by tmux's names: `Enter`, `Escape`, `Down`, `q`...
    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "live"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Text typed as it is.
    fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "live", "-l", "--", text]);
    }

    fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-t", "live"])
    }

    /// Polls the screen until `ok` holds; panics with the screen at the deadline.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let screen = self.screen();
            if ok(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("waited {DEADLINE:?} for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for a table whose header starts with `key` and whose rows `ok` accepts.
    fn wait_for_groups(
        &self,
        what: &str,
        key: &str,
        ok: impl Fn(&[Vec<String>]) -> bool,
    ) -> String {
        self.wait_for(what, |screen| {
            groups(screen).is_some_and(|(header, rows)| header[0] == key && ok(&rows))
        })
    }

    /// Types `ct top ARGS` between two `stty -g`, after a line to find again on quitting.
    fn start_ct(&self, args: &str) {
        let before = self.scratch.join("before");
        let after = self.scratch.join("after");
        self.type_text(&format!(
            "echo before-ct; stty -g > {}; {} top {args}; stty -g > {}",
            before.display(),
            ct_bin(),
            after.display()
        ));
        self.keys(&["Enter"]);
    }

    /// After `q`: the shell's screen is back (the line echoed before ct, no table) and
    /// the terminal's settings are those from before ct started.
    fn check_restored(&self) {
        self.wait_for("the shell's screen back", |screen| {
            screen.lines().any(|line| line == "before-ct") && !screen.contains("ENTRIES")
        });
        // The shell makes the file before stty writes it: wait for a whole line.
        let read =
            |name: &str| std::fs::read_to_string(self.scratch.join(name)).unwrap_or_default();
        let deadline = Instant::now() + DEADLINE;
        while !read("after").ends_with('\n') && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            read("before"),
            read("after"),
            "stty -g differs after ct quit"
        );
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // kill-server leaves the socket file behind: remove it too.
        let socket_path = Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "display-message",
                "-p",
                "#{socket_path}",
            ])
            .stderr(Stdio::null())
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string());
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .stderr(Stdio::null())
            .status();
        if let Some(path) = socket_path.ok().filter(|path| path.ends_with(&self.socket)) {
            let _ = std::fs::remove_file(path);
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

/// A background process, killed on drop if it still runs.
struct Background(Child);

impl Drop for Background {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The group table on `screen`: its header's words and each row's (the selection mark
/// taken off), down to the first blank line.
fn groups(screen: &str) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let words = |line: &str| -> Vec<String> {
        line.trim_start_matches('>')
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    let mut lines = screen.lines().skip_while(|line| !line.contains("ENTRIES"));
    let header = words(lines.next()?);
    let rows = lines
        .take_while(|line| !line.trim().is_empty())
        .map(words)
        .filter(|row| row.len() >= header.len() - 2)
        .collect();
    Some((header, rows))
}

/// The row whose first `key.len()` words are `key`.
fn row<'r>(rows: &'r [Vec<String>], key: &[&str]) -> Option<&'r Vec<String>> {
    rows.iter()
        .find(|row| row.iter().zip(key).all(|(a, b)| a == b))
}

/// Whether the row named `key` has `entries` and `share` after its key.
fn has_row(rows: &[Vec<String>], key: &[&str], entries: &str, share: &str) -> bool {
    row(rows, key).is_some_and(|row| row[key.len()] == entries && row[key.len() + 1] == share)
}

/// The NEW/S value of a row named by a one-word key.
fn new_per_second(rows: &[Vec<String>], key: &str) -> Option<f64> {
    row(rows, &[key]).and_then(|row| row[3].parse().ok())
}

fn tmux_allowed() -> bool {
    if find_program("tmux").is_some() {
        return true;
    }
    if std::env::var("CT_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1") {
        panic!("CT_REQUIRE_KERNEL_TESTS=1 but tmux is not installed");
    }
    // Straight to stderr, as kernel_tests_allowed does: libtest would swallow eprintln!.
    let _ = writeln!(std::io::stderr(), "skipped: tmux is not installed");
    false
}

/// Six TCP entries: three from 10.240.0.1 (two to port 80, one to 443), two from
/// 10.240.0.2 (443), one from 10.240.0.3 (22).
fn six_entries(ns: &Netns) {
    for (i, (src, dport)) in [
        ("10.240.0.1", 80),
        ("10.240.0.1", 80),
        ("10.240.0.1", 443),
        ("10.240.0.2", 443),
        ("10.240.0.2", 443),
        ("10.240.0.3", 22),
    ]
    .into_iter()
    .enumerate()
    {
        ns.insert(&format!(
            "-p tcp -s {src} -d 10.240.1.1 --sport {} --dport {dport} --state ESTABLISHED -t 300",
            1000 + i
        ));
    }
}

fn by_source(rows: &[Vec<String>]) -> bool {
    rows.len() == 3
        && has_row(rows, &["10.240.0.1"], "3", "50.0%")
        && has_row(rows, &["10.240.0.2"], "2", "33.3%")
        && has_row(rows, &["10.240.0.3"], "1", "16.7%")
}

fn by_port(rows: &[Vec<String>]) -> bool {
    has_row(rows, &["443"], "3", "50.0%")
        && has_row(rows, &["80"], "2", "33.3%")
        && has_row(rows, &["22"], "1", "16.7%")
}

/// At 100x30: the headline and groups, sorting, regrouping, new entries a second while
/// entries come and after they stop, a group opened and closed, and the terminal as it
/// was after `q`.
#[test]
fn live_view_regroups_sorts_counts_new_entries_and_opens_groups() {
    require_kernel!();
    if !tmux_allowed() {
        return;
    }
    let ns = Netns::new();
    six_entries(&ns);
    let tmux = Tmux::start(&ns, 100, 30);
    tmux.start_ct(&format!("--interval {INTERVAL}"));
    let screen = tmux.wait_for_groups("the groups by source", "SRC", by_source);
    let headline = screen.lines().next().unwrap();
    assert!(headline.starts_with("entries 6 of "), "{screen}");
    assert!(screen.contains("6 matching entries in 3 groups by src, sorted by entries"));
    // From the second reading on, the rates are there: nothing new.
    tmux.wait_for_groups("NEW/S of 0", "SRC", |rows| {
        new_per_second(rows, "10.240.0.1") == Some(0.0)
    });

    tmux.keys(&["s"]);
    tmux.wait_for("the sort by new", |screen| screen.contains("sorted by new"));

    tmux.keys(&["b"]);
    tmux.wait_for("the prompt", |screen| {
        screen.contains("group by (now src): ")
    });
    tmux.type_text("dport");
    tmux.keys(&["Enter"]);
    tmux.wait_for_groups("the groups by port", "DPORT", by_port);

    // 200 entries to port 9999, a few milliseconds apart: several readings find new ones.
    let script = "i=0; while [ $i -lt 200 ]; do \
        conntrack -I -p tcp -s 10.240.2.$((i % 250 + 1)) -d 10.240.1.1 --sport $((20000 + i)) \
        --dport 9999 --state ESTABLISHED -t 300 2>/dev/null; i=$((i + 1)); sleep 0.005; done";
    let mut inserting = Background(
        ns.exec_cmd(&["sh", "-c", script])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    tmux.wait_for_groups("new entries a second", "DPORT", |rows| {
        new_per_second(rows, "9999").is_some_and(|rate| rate > 0.0)
    });
    assert!(inserting.0.wait().unwrap().success());
    tmux.wait_for_groups("no new entries once the inserts stop", "DPORT", |rows| {
        has_row(rows, &["9999"], "200", "97.1%")
            && rows.iter().all(|row| row[3] == "0.0")
            && by_port_counts(rows)
    });

    // Sorted by key: 22, 80, 443, 9999; the third is 443's.
    tmux.keys(&["s", "s", "s"]);
    tmux.wait_for("the sort by key", |screen| screen.contains("sorted by key"));
    tmux.keys(&["Home", "Down", "Down", "Enter"]);
    let screen = tmux.wait_for("the entries of port 443", |screen| {
        screen.contains("dport=443: 3 entries")
    });
    let lines: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains(" dport=443 "))
        .collect();
    assert_eq!(lines.len(), 3, "{screen}");
    assert!(
        lines.iter().all(|line| line.starts_with("tcp      6 ")),
        "{screen}"
    );
    let from = |src: &str| {
        lines
            .iter()
            .filter(|l| l.contains(&format!("src={src} ")))
            .count()
    };
    assert_eq!((from("10.240.0.1"), from("10.240.0.2")), (1, 2), "{screen}");

    tmux.keys(&["Escape"]);
    tmux.wait_for_groups("the groups again", "DPORT", by_port_counts);

    // A smaller terminal: the view follows, the key help on its new last line.
    tmux.run(&["resize-window", "-t", "live", "-x", "60", "-y", "12"]);
    let screen = tmux.wait_for("the view redrawn at 60x12", |screen| {
        screen.lines().count() == 12 && screen.lines().last().unwrap().starts_with("q quit")
    });
    assert!(
        screen.lines().all(|line| line.chars().count() <= 60),
        "{screen}"
    );
    assert!(by_port_counts(&groups(&screen).unwrap().1), "{screen}");
    tmux.keys(&["q"]);
    tmux.check_restored();
}

fn by_port_counts(rows: &[Vec<String>]) -> bool {
    let entries = |port: &str| row(rows, &[port]).map(|row| row[1].as_str());
    entries("443") == Some("3") && entries("80") == Some("2") && entries("22") == Some("1")
}

/// At 80x24: the same core, long IPv6 keys elided to fit, the filter prompt (and its
/// errors), a bad grouping refused, pause, and the terminal back after `q`.
#[test]
fn live_view_fits_80x24() {
    require_kernel!();
    if !tmux_allowed() {
        return;
    }
    let ns = Netns::new();
    six_entries(&ns);
    ns.insert(
        "-p tcp -s fd00:240::1234:5678:9abc:def0 -d fd00:240::1234:5678:9abc:def1 \
         --sport 5000 --dport 443 --state ESTABLISHED -t 300",
    );
    let tmux = Tmux::start(&ns, 80, 24);
    tmux.start_ct(&format!("--interval {INTERVAL}"));
    let screen = tmux.wait_for_groups("the groups by source", "SRC", |rows| {
        rows.len() == 4
            && has_row(rows, &["10.240.0.1"], "3", "42.9%")
            && has_row(rows, &["10.240.0.3"], "1", "14.3%")
    });
    assert!(screen.lines().count() <= 24);
    assert!(
        screen.lines().all(|line| line.chars().count() <= 80),
        "{screen}"
    );
    assert!(
        screen.lines().last().unwrap().contains("q quit"),
        "{screen}"
    );

    // Two long addresses do not fit 80 columns: they are cut, the numbers stay.
    tmux.keys(&["b"]);
    tmux.type_text("src,dst,dport");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the groups by src,dst,dport", |screen| {
        groups(screen).is_some_and(|(header, _)| header[..3] == ["SRC", "DST", "DPORT"])
    });
    let (header, rows) = groups(&screen).unwrap();
    assert_eq!(header[3..6], ["ENTRIES", "SHARE", "NEW/S"], "{screen}");
    let v6 = rows
        .iter()
        .find(|row| row[0].starts_with("fd00:240"))
        .unwrap();
    assert!(v6[0].ends_with('…') && v6[1].ends_with('…'), "{screen}");
    assert_eq!((v6[2].as_str(), v6[3].as_str()), ("443", "1"), "{screen}");

    // A key that does not exist is refused and the grouping stays.
    tmux.keys(&["b"]);
    tmux.type_text("colour");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the grouping's error", |screen| {
        screen.contains("unknown key 'colour'")
    });
    assert!(groups(&tmux.screen()).unwrap().0[0] == "SRC");

    tmux.keys(&["b"]);
    tmux.type_text("dport");
    tmux.keys(&["Enter"]);
    tmux.wait_for_groups("the groups by port", "DPORT", |rows| {
        has_row(rows, &["443"], "4", "57.1%") && has_row(rows, &["80"], "2", "28.6%")
    });

    // The filter prompt takes ct list's flags; a wrong one is said and changes nothing.
    tmux.keys(&["f"]);
    tmux.type_text("--bogus");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the filter's error", |screen| screen.contains("'--bogus'"));
    tmux.keys(&["f"]);
    tmux.type_text("-s 10.240.0.1");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for_groups("the filtered groups", "DPORT", |rows| {
        rows.len() == 2
            && has_row(rows, &["80"], "2", "28.6%")
            && has_row(rows, &["443"], "1", "14.3%")
    });
    assert!(
        screen.contains("3 matching entries in 2 groups by dport"),
        "{screen}"
    );
    assert!(screen.contains("filter -s 10.240.0.1"), "{screen}");

    // The selected group opened: its entries, then back.
    tmux.keys(&["Home", "Enter"]);
    let screen = tmux.wait_for("the entries of port 80", |screen| {
        screen.contains("dport=80: 2 entries")
    });
    assert_eq!(screen.matches(" dport=80 ").count(), 2, "{screen}");
    tmux.keys(&["BSpace"]);
    tmux.wait_for_groups("the groups again", "DPORT", |rows| rows.len() == 2);

    tmux.keys(&["p"]);
    tmux.wait_for("PAUSED", |screen| screen.contains("PAUSED"));
    tmux.keys(&["Space"]);
    tmux.wait_for("refreshing again", |screen| {
        screen.contains("every 0.3s") && !screen.contains("PAUSED")
    });
    tmux.keys(&["q"]);
    tmux.check_restored();
}

/// Ctrl-C quits as q does, and puts the terminal back.
#[test]
fn ctrl_c_quits_and_restores_the_terminal() {
    require_kernel!();
    if !tmux_allowed() {
        return;
    }
    let ns = Netns::new();
    six_entries(&ns);
    let tmux = Tmux::start(&ns, 80, 24);
    tmux.start_ct("--by proto");
    tmux.wait_for_groups("the groups by protocol", "PROTO", |rows| {
        has_row(rows, &["tcp"], "6", "100.0%")
    });
    tmux.keys(&["C-c"]);
    tmux.check_restored();
}

/// The live view needs a terminal; `--sort new` needs the live view. Both say so and
/// exit 2 with nothing on stdout, before any socket opens.
#[test]
fn live_flags_that_cannot_work_exit_2() {
    for (args, says) in [
        (&["top", "--live"][..], "--live needs a terminal"),
        (
            &["top", "--sort", "new", "--once"],
            "--sort new needs the live view",
        ),
        (&["top", "--sort", "new"], "--sort new needs the live view"),
        (
            &["top", "--sort", "new", "-o", "json"],
            "--sort new needs the live view",
        ),
        (&["top", "--live", "--once"], "cannot be used with"),
        (&["top", "--interval", "0"], "above 0"),
    ] {
        let out = run(ct_command().args(args));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
