//! How `ct` fails: bad command lines exit 2 with nothing on stdout, runtime errors exit 1
//! with a message that says what to do, and a reader that goes away ends ct quietly.

use crate::fill;
use crate::schema;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::{Netns, ct_bin, ct_command};

fn ct(args: &[&str]) -> std::process::Output {
    ct_command().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bad_values_exit_2_naming_the_flag_with_nothing_on_stdout() {
    let cases: &[(&[&str], &str)] = &[
        (&["list", "-o", "bogus"], "'--output <LIST>'"),
        (&["list", "-o", "extended,nope"], "'--output <LIST>'"),
        (&["list", "-f", "ipv5"], "'--family <FAMILY>'"),
        (&["list", "-b", "0"], "'--buffer-size <BYTES>'"),
        (&["list", "-b", "lots"], "'--buffer-size <BYTES>'"),
        (&["list", "--netns"], "--netns <NAME|PATH|PID>"),
        (&["list", "--no-such-flag"], "'--no-such-flag'"),
        (&["frobnicate"], "'frobnicate'"),
        (&[], "Usage: ct <COMMAND>"),
        (&["list", "bogus"], "'[TABLE]'"),
        (&["count", "dying"], "'[TABLE]'"),
        (&["count", "-p", "nosuch"], "'--proto <PROTO[,PROTO]>'"),
        (&["count", "--dport", "http"], "'--dport <PORT>'"),
        (&["stats", "-o", "xml"], "'--output <FORMAT>'"),
        (&["stats", "-p", "tcp"], "'-p'"),
        (&["stats", "--netns="], "--netns needs a namespace"),
        (&["get", "-p", "tcp", "--sport", "x"], "'--sport <PORT>'"),
        (&["get", "-m", "1"], "'-m'"),
        (
            &[
                "get", "-p", "tcp", "-s", "10.0.0.1", "-d", "fd00::1", "--sport", "1", "--dport",
                "2",
            ],
            "-s/--src 10.0.0.1 and -d/--dst fd00::1 are of different families",
        ),
        (
            &["get", "-p", "tcp,udp", "-s", "10.0.0.1", "-d", "10.0.0.2"],
            "get takes one protocol in -p/--proto",
        ),
        (
            &[
                "get",
                "-p",
                "udp",
                "-s",
                "10.0.0.1",
                "-d",
                "10.0.0.2",
                "--sport",
                "1",
                "--dport",
                "2",
                "--reply-zone",
                "3",
            ],
            "--reply-zone does not fit a tuple given with -s/--src and -d/--dst",
        ),
        (
            &["list", "expect", "--state", "ESTABLISHED"],
            "--state does not apply to expectations",
        ),
        (
            &["count", "expect", "-u", "ASSURED"],
            "-u/--status does not apply to expectations",
        ),
        (&["man", "bogus"], "'bogus'"),
        (
            &["watch", "-o", "table"],
            "-o table cannot show events: a table is aligned over all its rows",
        ),
        (&["watch", "-e", "NEW,BOGUS"], "'--event-mask <EVENTS>'"),
        (&["watch", "--count", "0"], "'--count <N>'"),
        (&["watch", "--duration", "0"], "'--duration <SECONDS>'"),
        (&["watch", "--duration", "soon"], "'--duration <SECONDS>'"),
        (&["watch", "dying"], "'[TABLE]'"),
        (
            &["watch", "expect", "-m", "1"],
            "-m/--mark does not apply to expectations",
        ),
        (
            &["E", "-o", "json,ktimestamp"],
            "-o ktimestamp is a modifier",
        ),
        (
            &["list", "-o", "save,extended"],
            "-o save cannot be combined with -o extended",
        ),
        (
            &["list", "-o", "save,json"],
            "-o names more than one format",
        ),
        (
            &["list", "expect", "-o", "save"],
            "-o save writes entries as conntrack commands",
        ),
        (
            &["watch", "expect", "-o", "save"],
            "-o save writes entries as conntrack commands",
        ),
        (&["delete", "-f", "ipv6", "-s", "1.1.1.1"], "-f/--family"),
        (
            &["delete", "--one-request", "-s", "10.0.0.0/8"],
            "--one-request: the kernel cannot delete by this filter in one request",
        ),
        (
            &["delete", "--one-request", "--per-entry", "-m", "1"],
            "cannot be used with",
        ),
        (
            &["delete", "expect", "-m", "1"],
            "-m/--mark does not apply to expectations",
        ),
        (
            &["flush", "expect", "--one-request", "-f", "ipv4"],
            "--one-request deletes entries by a filter",
        ),
        (&["flush", "-s", "1.1.1.1"], "'-s'"),
    ];
    for (args, mention) in cases {
        let out = ct(args);
        assert_eq!(out.status.code(), Some(2), "ct {args:?}");
        assert_eq!(text(&out.stdout), "", "ct {args:?} printed on stdout");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(mention), "ct {args:?}: {stderr}");
    }
}

/// Every value error names the flag and the value, and says what would do (issue 9:
/// `--icmp-type 0x8` used to end in a bare "invalid digit found in string").
#[test]
fn value_errors_name_the_flag_the_value_and_what_would_do() {
    for (args, message) in [
        (
            &["list", "--icmp-type", "0x1zz"][..],
            "error: invalid value '0x1zz' for '--icmp-type <TYPE>': '0x1zz' is not a number from 0 to 255",
        ),
        (
            &["list", "--icmp-code", "256"],
            "error: invalid value '256' for '--icmp-code <CODE>': '256' is not a number from 0 to 255",
        ),
        (
            &["list", "-b", "lots"],
            "error: invalid value 'lots' for '--buffer-size <BYTES>': 'lots' is not a size in bytes (1 to 2147483647)",
        ),
        (
            &["count", "-w", "zone7"],
            "error: invalid value 'zone7' for '--zone <ZONE>': 'zone7' is not a zone (0 to 65535)",
        ),
        (
            &["list", "-m", "0x1g"],
            "error: invalid value '0x1g' for '--mark <MARK[/MASK]>': '0x1g' is not a 32-bit number (decimal, or 0x for hex)",
        ),
        (
            &["get", "--sport", "http"],
            "error: invalid value 'http' for '--sport <PORT>': 'http' is not a port number (0 to 65535)",
        ),
    ] {
        let out = ct(args);
        assert_eq!(out.status.code(), Some(2), "ct {args:?}");
        assert_eq!(text(&out.stdout), "");
        let first = text(&out.stderr)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string();
        assert_eq!(first, message, "ct {args:?}");
    }
    // A hex ICMP type is a number, as conntrack's numbers are.
    let out = ct(&[
        "list",
        "--icmp-type",
        "0x8",
        "--netns",
        "ct-test-no-such-namespace",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "0x8 is accepted: {}",
        text(&out.stderr)
    );
}

/// GRE keys and ports are refused alike in every command that takes a tuple or a
/// filter: exit 2, nothing on stdout, the whole message on stderr.
#[test]
fn gre_keys_and_ports_are_refused_alike_in_every_command() {
    let gre_tuple = ["-p", "gre", "-s", "10.0.0.1", "-d", "10.0.0.2"];
    for command in ["get", "list", "delete", "count", "watch"] {
        let with = |extra: &[&'static str]| -> Vec<&str> {
            let mut args = vec![command];
            args.extend(gre_tuple);
            args.extend_from_slice(extra);
            args
        };
        let hint = format!("\n\nFor more information, try 'ct {command} --help'.\n");
        let cases: [(Vec<&str>, String); 5] = [
            (
                with(&["--sport", "16", "--dport", "32"]),
                format!(
                    "error: gre has no ports: its tuple carries keys; use --srckey instead \
                     of --sport{hint}"
                ),
            ),
            (
                with(&["--reply-port-dst", "16"]),
                format!(
                    "error: gre has no ports: its tuple carries keys; use --reply-key-dst \
                     instead of --reply-port-dst{hint}"
                ),
            ),
            (
                vec![
                    command, "-p", "tcp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--srckey", "0x10",
                ],
                format!(
                    "error: tcp has no keys: --srckey is a GRE key; its tuple carries \
                     ports, use --sport{hint}"
                ),
            ),
            (
                with(&["--srckey", "0x10000", "--dstkey", "1"]),
                "error: invalid value '0x10000' for '--srckey <KEY>': 0x10000 is not a GRE \
                 key: the kernel keeps a key in the tuple's 16-bit port field, so it is 0 to \
                 0xffff (65535)\n\nFor more information, try '--help'.\n"
                    .to_string(),
            ),
            (
                with(&["--orig-key-dst", "key"]),
                "error: invalid value 'key' for '--dstkey <KEY>': 'key' is not a GRE key (0x0 \
                 to 0xffff, or 0 to 65535 in decimal)\n\nFor more information, try '--help'.\n"
                    .to_string(),
            ),
        ];
        for (args, message) in cases {
            let out = ct(&args);
            assert_eq!(out.status.code(), Some(2), "ct {args:?}");
            assert_eq!(text(&out.stdout), "", "ct {args:?} printed on stdout");
            assert_eq!(text(&out.stderr), message, "ct {args:?}");
        }
    }
    // A hex port is refused with a word on the keys, which ct prints in hex.
    let out = ct(&["list", "-p", "tcp", "--sport", "0x10"]);
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(2), String::new())
    );
    assert_eq!(
        text(&out.stderr).lines().next().unwrap_or_default(),
        "error: invalid value '0x10' for '--sport <PORT>': '0x10' is not a port number: ports \
         are decimal (0 to 65535); GRE keys, which ct prints in hex, go in --srckey/--dstkey"
    );
    // get names the keys it misses, in the direction given.
    for (args, message) in [
        (
            &[
                "get", "-p", "gre", "-s", "10.0.0.1", "-d", "10.0.0.2", "--srckey", "1",
            ][..],
            "error: get needs --srckey and --dstkey for gre (its tuple carries keys, in hex \
             or decimal)",
        ),
        (
            &["get", "-p", "gre", "-r", "10.0.0.2", "-q", "10.0.0.1"],
            "error: get needs --reply-key-src and --reply-key-dst for gre (its tuple carries \
             keys, in hex or decimal)",
        ),
        (
            &[
                "get",
                "-p",
                "gre",
                "-s",
                "10.0.0.1",
                "-d",
                "10.0.0.2",
                "--srckey",
                "1",
                "--dstkey",
                "2",
                "--reply-key-dst",
                "1",
            ],
            "error: --reply-key-dst does not fit a tuple given with -s/--src and -d/--dst",
        ),
    ] {
        let out = ct(args);
        assert_eq!(out.status.code(), Some(2), "ct {args:?}");
        assert_eq!(text(&out.stdout), "", "ct {args:?}");
        assert_eq!(
            text(&out.stderr).lines().next().unwrap_or_default(),
            message,
            "ct {args:?}"
        );
    }
}

/// A usage error names the command it belongs to in its hint.
#[test]
fn usage_errors_point_at_their_commands_help() {
    for (args, hint) in [
        (&["count", "expect", "-m", "1"][..], "try 'ct count --help'"),
        (&["get", "-p", "udp"], "try 'ct get --help'"),
        (
            &["list", "-f", "ipv4", "-d", "fd00::1"],
            "try 'ct list --help'",
        ),
    ] {
        let out = ct(args);
        assert_eq!(out.status.code(), Some(2), "ct {args:?}");
        assert!(
            text(&out.stderr).ends_with(&format!("{hint}.\n")),
            "ct {args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn help_and_version_go_to_stdout_and_exit_0() {
    let help = ct(&["list", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("--netns <NAME|PATH|PID>"));
    let version = ct(&["--version"]);
    assert_eq!(
        text(&version.stdout),
        format!("ct {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn without_cap_net_admin_says_to_run_as_root() {
    require_kernel!();
    let ns = Netns::new();
    let expected =
        "ct: permission denied reading the conntrack table; run as root or with CAP_NET_ADMIN\n";
    // An unprivileged user, and root with CAP_NET_ADMIN dropped: both are refused by the
    // kernel when the dump is asked for.
    for drop in [
        &["--reuid=65534", "--regid=65534", "--clear-groups"][..],
        &["--inh-caps=-net_admin", "--bounding-set=-net_admin"][..],
    ] {
        let bin = ct_bin();
        for command in [
            &["list"][..],
            &["list", "expect"],
            &["list", "dying"],
            &["count", "-p", "tcp"],
            &[
                "get", "-p", "udp", "-s", "10.0.0.1", "-d", "10.0.0.2", "--sport", "1", "--dport",
                "2",
            ],
        ] {
            let mut args = vec!["setpriv"];
            args.extend_from_slice(drop);
            args.push(bin.as_str());
            args.extend_from_slice(command);
            let out = ns.exec(&args);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{drop:?} {command:?}: {}",
                text(&out.stderr)
            );
            assert_eq!(text(&out.stdout), "");
            assert_eq!(text(&out.stderr), expected, "{drop:?} {command:?}");
        }
        // Deleting reads first (what to delete); a flush only changes.
        for (command, expected) in [
            (&["delete", "-p", "udp"][..], expected),
            (&["delete", "-m", "1"], expected),
            (
                &["flush"],
                "ct: permission denied changing the conntrack table; run as root or with CAP_NET_ADMIN\n",
            ),
            (
                &["flush", "expect"],
                "ct: permission denied changing the conntrack table; run as root or with CAP_NET_ADMIN\n",
            ),
        ] {
            let mut args = vec!["setpriv"];
            args.extend_from_slice(drop);
            args.push(bin.as_str());
            args.extend_from_slice(command);
            let out = ns.exec(&args);
            assert_eq!(out.status.code(), Some(1), "{drop:?} {command:?}");
            assert_eq!(text(&out.stdout), "");
            assert_eq!(text(&out.stderr), expected, "{drop:?} {command:?}");
        }
    }
}

/// Where netlink refuses, `ct count` and `ct stats` read what any user may read, as
/// conntrack falls back: the nf_conntrack_count sysctl and /proc/net/stat/nf_conntrack.
#[test]
fn count_and_stats_fall_back_to_proc_as_conntrack_does() {
    require_kernel!();
    let ns = Netns::new();
    ns.insert("-p udp -s 10.220.0.1 -d 10.220.0.2 --sport 1 --dport 2 -t 100");
    ns.insert("-p udp -s 10.220.0.1 -d 10.220.0.2 --sport 3 --dport 4 -t 100");
    let bin = ct_bin();
    let nobody = [
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
    ];
    let run = |command: &[&str]| {
        let mut args = nobody.to_vec();
        args.push(bin.as_str());
        args.extend_from_slice(command);
        ns.exec(&args)
    };
    let count = run(&["count"]);
    assert_eq!(
        (count.status.code(), text(&count.stdout)),
        (Some(0), "2\n".to_string())
    );
    let stats = run(&["stats"]);
    assert_eq!(stats.status.code(), Some(0), "{}", text(&stats.stderr));
    let proc_stats = ns.exec_ok(&["cat", "/proc/net/stat/nf_conntrack"]);
    let header: Vec<&str> = proc_stats
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    let lines: Vec<String> = text(&stats.stdout).lines().map(str::to_string).collect();
    assert_eq!(lines.len(), proc_stats.lines().count() - 1);
    for (cpu, line) in lines.iter().enumerate() {
        let (prefix, counters) = line.split_once('\t').unwrap();
        assert_eq!(prefix, format!("cpu={cpu:<4}"));
        let names: Vec<&str> = counters
            .split_whitespace()
            .map(|c| c.split('=').next().unwrap())
            .collect();
        assert_eq!(names, header, "{line}");
    }
    // The file repeats the table's count on every CPU's line.
    for line in &lines {
        assert!(line.contains("\tentries=2 "), "{line}");
    }
    let json = run(&["stats", "-o", "json"]);
    assert_eq!(
        schema::validate_json_lines(schema::Kind::Stats, &text(&json.stdout)),
        1
    );
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["totals"]["entries"], 2, "counted once, not per CPU");
}

#[test]
fn a_missing_namespace_is_named() {
    require_kernel!();
    let name = format!("ct-test-{}-missing", std::process::id());
    let out = ct(&["list", "--netns", &name]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        format!(
            "ct: network namespace '{name}' not found (/run/netns/{name} does not exist); \
             `ip netns list` shows the named ones\n"
        )
    );
    let out = ct(&["list", "--netns", "/nonexistent/ns/net"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("ct: network namespace '/nonexistent/ns/net' not found"));
    // A file that is not a namespace.
    let out = ct(&["list", "--netns", "/etc/hostname"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "ct: '/etc/hostname' (/etc/hostname) is not a network namespace\n"
    );
}

/// `ct list | head -1` on a 30k-entry table: ct stops at the first failed write, exits 0
/// and says nothing.
#[test]
fn a_reader_that_goes_away_ends_ct_quietly() {
    require_kernel!();
    let ns = Netns::new();
    ns.run_in(|| {
        fill::fill_here(fill::FillSpec {
            count: 30_000,
            ..Default::default()
        })
    })
    .unwrap();
    let mut child = ct_command()
        .args(["list", "--netns", ns.name()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (its end of the pipe dropped above).
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("udp      17 "), "{first}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn summary_counts_entries_on_stderr_only() {
    require_kernel!();
    let ns = Netns::new();
    ns.run_in(|| {
        fill::fill_here(fill::FillSpec {
            count: 1234,
            ..Default::default()
        })
    })
    .unwrap();
    let out = ct(&["list", "--netns", ns.name()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().count(), 1234);
    assert_eq!(
        text(&out.stderr),
        "ct: 1234 flow entries have been shown.\n"
    );
}

/// Every way stdout or stderr can fail ends with a documented status and no panic
/// (issue 9: `ct list 2>/dev/full` used to panic with 101): a full stdout is an error
/// that says so (1); a full or closed stderr loses the messages but not the status; a
/// closed stdout is /dev/null to a Rust program (its runtime reopens it so), exit 0.
#[test]
fn full_and_closed_stdout_and_stderr() {
    require_kernel!();
    let ns = Netns::new();
    ns.insert("-p udp -s 10.221.0.1 -d 10.221.0.2 --sport 1 --dport 2 -t 100");
    let bin = ct_bin();
    // (shell redirections, command, exit status, stdout, stderr)
    let cases: [(&str, &str, i32, &str, &str); 9] = [
        ("2>/dev/full", "list", 0, "udp      17 ", ""),
        ("2>&-", "list", 0, "udp      17 ", ""),
        (
            "2>/dev/full",
            "list --netns ct-test-no-such-namespace",
            1,
            "",
            "",
        ),
        (
            ">/dev/full",
            "list",
            1,
            "",
            "ct: cannot write to standard output: No space left on device (os error 28)\n",
        ),
        (
            ">/dev/full",
            "count",
            1,
            "",
            "ct: cannot write to standard output: No space left on device (os error 28)\n",
        ),
        (
            ">/dev/full",
            "man",
            1,
            "",
            "ct: cannot write to standard output: No space left on device (os error 28)\n",
        ),
        (
            ">/dev/full",
            "--help",
            1,
            "",
            "ct: cannot write to standard output: No space left on device (os error 28)\n",
        ),
        (
            ">&-",
            "list",
            0,
            "",
            "ct: 1 flow entries have been shown.\n",
        ),
        (">/dev/full 2>/dev/full", "stats", 1, "", ""),
    ];
    for (redirect, command, status, stdout_start, stderr) in cases {
        let script = format!("exec \"$0\" {command} {redirect}");
        let out = ns.exec(&["sh", "-c", &script, &bin]);
        let what = format!("ct {command} {redirect}");
        assert_eq!(
            out.status.code(),
            Some(status),
            "{what}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stdout).starts_with(stdout_start),
            "{what}: {}",
            text(&out.stdout)
        );
        assert_eq!(text(&out.stderr), stderr, "{what}");
    }
}

/// A flush prints no entries, so what shapes entries is refused without --dry-run (exit
/// 2, nothing on stdout, the table untouched), and --quiet silences its line on stderr.
#[test]
fn flush_refuses_output_options_and_is_quiet_when_asked() {
    require_kernel!();
    let ns = Netns::new();
    ns.insert("-p udp -s 10.221.0.1 -d 10.221.0.2 --sport 1 --dport 2 -t 100");
    for (args, given) in [
        (&["-o", "table"][..], "-o"),
        (&["-o", "json"], "-o"),
        (&["-o", "extended"], "-o"),
        (&["--columns", "src"], "--columns"),
        (&["--color", "always"], "--color"),
    ] {
        let out = ct_command()
            .args(["flush", "--netns", ns.name()])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&out.stdout), "");
        assert_eq!(
            text(&out.stderr),
            format!(
                "error: {given} shapes the entries --dry-run shows; a flush prints none (it \
                 says on stderr that the table was emptied): add --dry-run to see what it \
                 would delete, or leave {given} out\n\nFor more information, try 'ct flush \
                 --help'.\n"
            )
        );
    }
    assert_eq!(ns.conntrack(&["-C"]), "1\n", "a refused flush deleted");
    let dry = ct(&[
        "flush",
        "--netns",
        ns.name(),
        "--dry-run",
        "-o",
        "json",
        "--quiet",
    ]);
    assert_eq!(dry.status.code(), Some(0));
    assert_eq!(text(&dry.stdout).lines().count(), 1);
    assert_eq!(text(&dry.stderr), "");
    let quiet = ct(&["flush", "--netns", ns.name(), "--quiet"]);
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(text(&quiet.stdout), "");
    assert_eq!(text(&quiet.stderr), "");
    assert_eq!(ns.conntrack(&["-C"]), "0\n");
}

/// Without CAP_NET_ADMIN `ct count`, `ct stats` and `ct stats expect` fall back to /proc
/// alike in every format: the same note on stderr and exit 0, or, where /proc does not
/// give the number (the expectations' count, root's file), the same error and exit 1.
#[test]
fn count_and_stats_fall_back_alike_in_every_format() {
    require_kernel!();
    let ns = Netns::new();
    ns.insert("-p udp -s 10.222.0.1 -d 10.222.0.2 --sport 1 --dport 2 -t 100");
    ns.insert("-p udp -s 10.222.0.1 -d 10.222.0.2 --sport 3 --dport 4 -t 100");
    let note = "ct: note: without CAP_NET_ADMIN the kernel refuses ctnetlink; the numbers \
                come from /proc instead, as conntrack's do\n";
    let no_expectations = "ct: permission denied reading the conntrack table; run as root or \
                           with CAP_NET_ADMIN; and /proc/net/nf_conntrack_expect, where the \
                           expectations can be counted too, cannot be read (Permission denied";
    let bin = ct_bin();
    for (drop, root) in [
        (
            &["--reuid=65534", "--regid=65534", "--clear-groups"][..],
            false,
        ),
        (
            &["--inh-caps=-net_admin", "--bounding-set=-net_admin"][..],
            true,
        ),
    ] {
        for command in [
            &["count"][..],
            &["count", "expect"],
            &["stats"],
            &["stats", "-o", "json"],
            &["stats", "-o", "table"],
            &["stats", "expect"],
            &["stats", "expect", "-o", "json"],
            &["stats", "expect", "-o", "table"],
        ] {
            let mut args = vec!["setpriv"];
            args.extend_from_slice(drop);
            args.push(bin.as_str());
            args.extend_from_slice(command);
            let out = ns.exec(&args);
            let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
            let counts_expectations =
                command.contains(&"expect") && (command[0] == "count" || command.contains(&"-o"));
            if counts_expectations && !root {
                assert_eq!(out.status.code(), Some(1), "{drop:?} {command:?}: {stderr}");
                assert_eq!(stdout, "", "{drop:?} {command:?}");
                assert!(
                    stderr.starts_with(no_expectations) && stderr.lines().count() == 1,
                    "{drop:?} {command:?}: {stderr}"
                );
                continue;
            }
            assert_eq!(out.status.code(), Some(0), "{drop:?} {command:?}: {stderr}");
            assert_eq!(stderr, note, "{drop:?} {command:?}");
            match command {
                ["count"] => assert_eq!(stdout, "2\n"),
                ["count", "expect"] => assert_eq!(stdout, "0\n"),
                [.., "json"] => {
                    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                    let expected = if command[1] == "expect" { 0 } else { 2 };
                    assert_eq!(json["global"]["entries"], expected, "{command:?}: {stdout}");
                }
                _ => assert!(stdout.lines().count() >= 2, "{command:?}: {stdout}"),
            }
        }
    }
}
