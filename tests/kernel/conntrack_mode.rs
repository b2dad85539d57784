//! ct run as `conntrack` (a symlink named `conntrack` to the ct under test) against
//! conntrack 1.4.7, each in one of two namespaces given the same entries: the same exit
//! status, the same stderr once ct's banner is read as conntrack's, and the same stdout
//! (entries compared as sets, since each namespace hashes them in its own order, with
//! the ticking timeout and the kernel's ids masked).

use std::os::unix::fs::symlink;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common::*;

/// A directory holding `conntrack`, a symlink to the ct under test; removed on drop.
struct Link {
    dir: PathBuf,
}

impl Link {
    fn new() -> Link {
        let dir = std::env::temp_dir().join(format!(
            "ct-test-compat-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        symlink(ct_bin(), dir.join("conntrack")).unwrap();
        Link { dir }
    }

    fn path(&self) -> String {
        self.dir.join("conntrack").to_str().unwrap().to_string()
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Two namespaces with the same entries: ct runs in one, conntrack in the other.
struct Twins {
    ct: Netns,
    real: Netns,
    link: Link,
}

/// Entries of several trackers, families, marks, zones and NAT shapes.
const ENTRIES: &[&str] = &[
    "-s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 10 --dport 20 --state ESTABLISHED -t 100 -u SEEN_REPLY,ASSURED",
    "-s 1.1.1.2 -d 2.2.2.2 -p udp --sport 11 --dport 53 -t 100 -m 5",
    "-s 1.1.2.3 -d 2.2.2.3 -p udp --sport 12 --dport 53 -t 100 -w 3",
    "-s 10.0.0.1 -d 8.8.8.8 -p tcp --sport 1000 --dport 80 --state SYN_SENT -t 100 --dst-nat 192.168.1.1",
    "-s 10.0.0.2 -d 8.8.4.4 -p udp --sport 1001 --dport 53 -t 100 --src-nat 192.168.1.2",
    "-s fd00::1 -d fd00::2 -p icmpv6 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 7 -t 100",
    "-s 3.3.3.3 -d 4.4.4.4 -p icmp --icmp-type 8 --icmp-code 0 --icmp-id 9 -t 100",
    "-s fd00::1 -d fd00::3 -p tcp --sport 5 --dport 6 --state ESTABLISHED -t 100 -m 7",
];

impl Twins {
    fn new(entries: &[&str]) -> Twins {
        let twins = Twins {
            ct: Netns::new(),
            real: Netns::new(),
            link: Link::new(),
        };
        for entry in entries {
            twins.ct.insert(entry);
            twins.real.insert(entry);
        }
        twins
    }

    /// Runs `args` in both, with the label map `map` in /etc/xtables and `stdin` on
    /// standard input, and asserts the same status, stderr and stdout; the stdout.
    fn same_given(&self, args: &[&str], map: Option<&str>, stdin: Option<&str>) -> String {
        let link = self.link.path();
        let xtables = || map.map_or(Xtables::Empty, Xtables::LabelMap);
        let mut ct_argv = vec![link.as_str()];
        ct_argv.extend_from_slice(args);
        let mut real_argv = vec!["conntrack"];
        real_argv.extend_from_slice(args);
        let ct = with_stdin(self.ct.exec_cmd_with(xtables(), &ct_argv), stdin);
        let real = with_stdin(self.real.exec_cmd_with(xtables(), &real_argv), stdin);
        assert_same(args, &ct, &real);
        String::from_utf8_lossy(&ct.stdout).into_owned()
    }

    fn ct_cmd(&self, args: &[&str]) -> Command {
        let link = self.link.path();
        let mut argv = vec![link.as_str()];
        argv.extend_from_slice(args);
        self.ct.exec_cmd(&argv)
    }

    fn real_cmd(&self, args: &[&str]) -> Command {
        let mut argv = vec!["conntrack"];
        argv.extend_from_slice(args);
        self.real.exec_cmd(&argv)
    }

    fn run(&self, args: &[&str]) -> (Output, Output) {
        (run(&mut self.ct_cmd(args)), run(&mut self.real_cmd(args)))
    }

    /// Runs `args` in both and asserts the same status, stderr and stdout; the stdout.
    fn same(&self, args: &[&str]) -> String {
        let (ct, real) = self.run(args);
        assert_same(args, &ct, &real);
        String::from_utf8_lossy(&ct.stdout).into_owned()
    }
}

/// Runs `cmd` with `stdin` written to its standard input (closed at once when none).
fn with_stdin(mut cmd: Command, stdin: Option<&str>) -> Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// ct's stderr with its banner read as conntrack's.
fn as_conntrack(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr).replace(
        &format!("(ct {})", env!("CARGO_PKG_VERSION")),
        "(conntrack-tools)",
    )
}

/// A listing with what differs between two namespaces masked: the timeout, ids, and
/// the order (entries sorted; XML's flows one per line).
fn comparable(stdout: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(stdout).replace("<flow>", "\n<flow>");
    let mut lines: Vec<String> = text
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| mask_numbers(&normalise(&without_program_name(line))))
        .collect();
    lines.sort();
    lines
}

/// An event line without the name of the process behind it, which each program looks
/// up when it prints the event: the process may have ended by then, for one and not
/// for the other.
fn without_program_name(line: &str) -> String {
    line.split(' ')
        .filter(|word| !word.starts_with("progname="))
        .collect::<Vec<_>>()
        .join(" ")
}

fn mask_numbers(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    // id=N, <id>N</id> and <timeout>N</timeout>, each as one placeholder.
    while let Some(at) = ["id=", "<id>", "<timeout>"]
        .iter()
        .filter_map(|key| rest.find(key).map(|at| (at, key.len())))
        .min()
    {
        let (at, len) = at;
        out.push_str(&rest[..at + len]);
        let after = &rest[at + len..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        out.push_str(if digits > 0 { "<N>" } else { "" });
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

fn assert_same(args: &[&str], ct: &Output, real: &Output) {
    let what = args.join(" ");
    assert_eq!(
        as_conntrack(&ct.stderr),
        String::from_utf8_lossy(&real.stderr),
        "stderr of {what}"
    );
    assert_eq!(
        comparable(&ct.stdout),
        comparable(&real.stdout),
        "stdout of {what}"
    );
    assert_eq!(
        ct.status.code(),
        real.status.code(),
        "exit status of {what}"
    );
}

#[test]
fn list_in_every_form() {
    require_kernel!();
    let twins = Twins::new(ENTRIES);
    for args in [
        &["-L"][..],
        &["-L", "-o", "extended"],
        &["-L", "-o", "id"],
        &["-L", "-o", "extended,id"],
        &["-L", "-o", "xml"],
        &["-L", "-o", "xml,id"],
        &["-L", "-o", "save"],
        &["-L", "-o", "ktimestamp"],
        &["--dump", "conntrack"],
        &["-L", "-f", "ipv6"],
        &["-L", "-f", "ipv4", "-p", "udp"],
        &["-L", "-p", "tcp", "--dport", "80"],
        &["-L", "-m", "5"],
        &["-L", "-s", "1.1.0.0/16"],
        &["-L", "-d", "2.2.2.2"],
        &["-L", "-g"],
        &["-L", "-n", "192.168.1.2"],
        &["-L", "-j"],
        &["-L", "-w", "3"],
        &["-L", "-u", "ASSURED"],
        &["-L", "-p", "icmp", "--icmp-type", "8"],
        &["-L", "expect"],
        &["-L", "exp", "-o", "xml"],
        &["-L", "dying"],
        &["-L", "unconfirmed"],
        &["-C"],
        &["-C", "expect"],
        &["-L", "-r", "2.2.2.2", "-q", "1.1.1.1"],
    ] {
        twins.same(args);
    }
    // The count on stdout, and the summary of a list, exactly.
    assert_eq!(twins.same(&["-C"]), "8\n");
    let (ct, _) = twins.run(&["-L", "-p", "udp"]);
    assert_eq!(
        as_conntrack(&ct.stderr),
        "conntrack v1.4.7 (conntrack-tools): 3 flow entries have been shown.\n"
    );
}

#[test]
fn get_by_tuple() {
    require_kernel!();
    let twins = Twins::new(ENTRIES);
    for args in [
        &[
            "-G", "-s", "1.1.1.1", "-d", "2.2.2.2", "-p", "tcp", "--sport", "10", "--dport", "20",
        ][..],
        &[
            "-G", "-s", "1.1.1.1", "-d", "2.2.2.2", "-p", "tcp", "--sport", "10", "--dport", "20",
            "-o", "extended",
        ],
        &[
            "-G", "-s", "1.1.1.1", "-d", "2.2.2.2", "-p", "tcp", "--sport", "10", "--dport", "21",
        ],
        &[
            "-G",
            "-s",
            "3.3.3.3",
            "-d",
            "4.4.4.4",
            "-p",
            "icmp",
            "--icmp-type",
            "8",
            "--icmp-code",
            "0",
            "--icmp-id",
            "9",
        ],
        &["-G", "-s", "1.1.1.1", "-p", "tcp"],
    ] {
        twins.same(args);
    }
    // ct closes the XML document conntrack -G leaves open (docs/differences.md,
    // "Well-formed XML").
    let args = [
        "-G", "-s", "1.1.1.1", "-d", "2.2.2.2", "-p", "tcp", "--sport", "10", "--dport", "20",
        "-o", "xml",
    ];
    let (ct, real) = twins.run(&args);
    let mut closed = real.stdout.clone();
    closed.extend_from_slice(b"</conntrack>\n");
    assert_eq!(comparable(&ct.stdout), comparable(&closed));
    assert_eq!(
        as_conntrack(&ct.stderr),
        String::from_utf8_lossy(&real.stderr)
    );
    assert_eq!(ct.status.code(), real.status.code());
}

#[test]
fn delete_as_felix_and_qubes_call_it() {
    require_kernel!();
    let twins = Twins::new(ENTRIES);
    // Each deletion, then a second one that finds nothing, then the table left.
    for args in [
        &["-D", "-s", "1.1.1.1"][..],
        &["-D", "-d", "2.2.2.3"],
        &["-D", "-p", "udp", "--dport", "53", "-n", "192.168.1.2"],
        &["-D", "-m", "5"],
        &["-D", "-g", "192.168.1.1"],
        &["-D", "-p", "icmp", "-s", "3.3.3.3"],
        &["-D", "-f", "ipv6", "-m", "7", "-o", "save"],
        &["-D", "--orig-src", "fd00::1", "-p", "icmpv6"],
        &["-D", "-w", "123"],
    ] {
        twins.same(args);
        twins.same(args);
        twins.same(&["-L"]);
    }
    let twins = Twins::new(ENTRIES);
    twins.same(&["-D", "-w", "3"]);
    twins.same(&["-D", "-p", "udp"]);
    twins.same(&["-D"]);
    assert_eq!(twins.same(&["-C"]), "0\n");
}

#[test]
fn flush_count_and_statistics() {
    require_kernel!();
    let twins = Twins::new(ENTRIES);
    twins.same(&["-F"]);
    twins.same(&["-F", "expect"]);
    twins.same(&["-L"]);
    twins.same(&["-C"]);
    // -S reads per-CPU counters: both programs read the same quiet namespace.
    let quiet = Netns::new();
    let link = Link::new();
    for args in [&["-S"][..], &["-S", "expect"]] {
        let mut ct_argv = vec![link.path()];
        ct_argv.extend(args.iter().map(|a| a.to_string()));
        let ct_argv: Vec<&str> = ct_argv.iter().map(String::as_str).collect();
        let ct = run(&mut quiet.exec_cmd(&ct_argv));
        let mut real_argv = vec!["conntrack"];
        real_argv.extend_from_slice(args);
        let real = run(&mut quiet.exec_cmd(&real_argv));
        assert_eq!(ct.stdout, real.stdout, "{args:?}");
        assert_eq!(
            as_conntrack(&ct.stderr),
            String::from_utf8_lossy(&real.stderr)
        );
        assert_eq!(ct.status.code(), real.status.code());
    }
}

#[test]
fn events_until_sigint() {
    require_kernel!();
    let twins = Twins::new(&[]);
    let spawn = |mut cmd: Command| {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    for args in [
        &["-E"][..],
        &["-E", "-e", "NEW"],
        &["-E", "-p", "udp", "-o", "xml"],
    ] {
        let ct = spawn(twins.ct_cmd(args));
        let real = spawn(twins.real_cmd(args));
        std::thread::sleep(Duration::from_millis(500));
        for ns in [&twins.ct, &twins.real] {
            ns.insert("-s 5.5.5.5 -d 6.6.6.6 -p udp --sport 1 --dport 2 -t 100");
            ns.insert(
                "-s 5.5.5.5 -d 6.6.6.6 -p tcp --sport 1 --dport 2 --state ESTABLISHED -t 100",
            );
            ns.conntrack(&["-D", "-s", "5.5.5.5"]);
        }
        std::thread::sleep(Duration::from_millis(500));
        for child in [&ct, &real] {
            // SAFETY: kill has no memory preconditions; the pid is our child's (ip netns
            // exec execs the program).
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        }
        let ct = ct.wait_with_output().unwrap();
        let mut real = real.wait_with_output().unwrap();
        if args.contains(&"xml") {
            // conntrack 1.4.7 writes `[USERSPACE] portid=N' after an XML event's
            // </flow>, which leaves the document ill-formed; 1.4.9 no longer does, nor
            // does ct (docs/differences.md).
            let text = String::from_utf8_lossy(&real.stdout).into_owned();
            let mut kept = String::new();
            for line in text.split_inclusive('\n') {
                match line.find("</flow> [USERSPACE]") {
                    Some(at) => {
                        kept.push_str(&line[..at + "</flow>".len()]);
                        kept.push('\n');
                    }
                    None => kept.push_str(line),
                }
            }
            real.stdout = kept.into_bytes();
        }
        assert_same(args, &ct, &real);
        assert!(!ct.stdout.is_empty(), "{args:?} showed no event");
    }
}

#[test]
fn refusals_and_failures() {
    require_kernel!();
    let twins = Twins::new(ENTRIES);
    for args in [
        &["-L", "-p", "foo"][..],
        &["-L", "--sport", "1", "-p", "tcp"],
        &["-D", "-s", "9.9.9.9"],
        &[
            "-G", "-s", "1.1.1.1", "-d", "2.2.2.2", "-p", "udp", "--sport", "1", "--dport", "2",
        ],
        &["-L", "-z", "-m", "1"],
        &["-L", "--mask-src", "255.0.0.0"],
        &["-D", "--mask-dst", "255.0.0.0"],
        &["-L", "-o", "save,xml"],
        &["-F", "dying"],
        &["-L", "bogus"],
        &["-h", "-p", "xyz"],
        &["-V", "-L"],
        &["conntrack", "-L", "conntrack", "extra"],
    ] {
        twins.same(args);
    }
    assert_eq!(twins.same(&["-C"]), "8\n");
    // -L -z lists (and zeroes) as conntrack does; -f is the one filter it takes.
    assert_eq!(twins.same(&["-L", "-z"]).lines().count(), 8);
    assert_eq!(twins.same(&["-L", "-z", "-f", "ipv6"]).lines().count(), 2);
    // Issue 21: -I and -A make an entry with SCTP's vtags (which conntrack sends with
    // their bytes swapped; both kernels keep the same tags) and DCCP's role.
    let sctp = |command: &'static str, dport: &'static str| {
        [
            command,
            "-p",
            "sctp",
            "-s",
            "1.1.1.9",
            "-d",
            "2.2.2.2",
            "--sport",
            "1",
            "--dport",
            dport,
            "--state",
            "ESTABLISHED",
            "-t",
            "10",
            "--orig-vtag",
            "5",
            "--reply-vtag",
            "6",
        ]
    };
    twins.same(&sctp("-I", "2"));
    twins.same(&sctp("-A", "3"));
    twins.same(&sctp("-A", "3"));
    twins.same(&[
        "-I", "-p", "dccp", "-s", "1.1.1.9", "-d", "2.2.2.2", "--sport", "1", "--dport", "2",
        "--state", "OPEN", "-t", "10", "--role", "client",
    ]);
    let saved = twins.same(&["-L", "-p", "sctp", "-o", "save"]);
    assert_eq!(
        saved.matches("--orig-vtag 5 --reply-vtag 6\n").count(),
        2,
        "{saved}"
    );
    // -U sends the tags without the state, which the kernel refuses (measured: conntrack
    // prints "Operation failed: invalid parameters" and counts the entry); -G looks up
    // the tuple only: ct refuses them there.
    for args in [
        &[
            "-U",
            "-s",
            "1.1.1.9",
            "-p",
            "sctp",
            "--orig-vtag",
            "7",
            "--reply-vtag",
            "8",
            "-m",
            "3",
        ][..],
        &[
            "-G",
            "-s",
            "1.1.1.9",
            "-d",
            "2.2.2.2",
            "-p",
            "sctp",
            "--sport",
            "1",
            "--dport",
            "2",
            "--orig-vtag",
            "5",
            "--reply-vtag",
            "6",
        ],
    ] {
        let ct = run(&mut twins.ct_cmd(args));
        assert_eq!(
            (as_conntrack(&ct.stderr), ct.status.code()),
            (
                format!(
                    "{BANNER}ct takes SCTP's --orig-vtag and --reply-vtag and DCCP's --role \
                     only where -I or -A makes an entry: the kernel changes the tags only \
                     with the tracker's --state, which -U does not change, no entry is \
                     selected by them, and an expectation (-I expect) has none\nTry \
                     `conntrack -h' or 'conntrack --help' for more information.\n"
                ),
                Some(2)
            ),
            "{args:?}"
        );
        assert!(ct.stdout.is_empty());
    }
    twins.same(&["-L", "-o", "save"]);
    assert_eq!(twins.same(&["-C"]), "11\n");
}

/// The words of conntrack's banner, to read ct's stderr against.
const BANNER: &str = "conntrack v1.4.7 (conntrack-tools): ";

/// The tuple of one entry the create tests make.
const NEW_TCP: &[&str] = &[
    "-s", "7.7.7.7", "-d", "8.8.8.8", "-p", "tcp", "--sport", "1", "--dport", "2",
];

fn with<'a>(head: &[&'a str], tail: &[&'a str]) -> Vec<&'a str> {
    head.iter().chain(tail).copied().collect()
}

#[test]
fn create_and_add_as_conntrack() {
    require_kernel!();
    let twins = Twins::new(&[]);
    let create = with(
        &["-I"],
        &with(
            NEW_TCP,
            &[
                "--state",
                "ESTABLISHED",
                "-t",
                "100",
                "-u",
                "SEEN_REPLY,ASSURED",
                "-m",
                "9",
                "-w",
                "4",
                "--dst-nat",
                "10.1.1.1:80",
            ],
        ),
    );
    twins.same(&create);
    let (ct, _) = twins.run(&create[..1]);
    assert_eq!(ct.status.code(), Some(2));
    twins.same(&["-L", "-o", "extended"]);
    // Again: the entry exists; -I fails with conntrack's words, -A counts nothing.
    let (ct, _) = twins.run(&create);
    assert_eq!(
        (as_conntrack(&ct.stderr), ct.status.code()),
        (
            format!("{BANNER}Operation failed: Such conntrack exists, try -U to update\n"),
            Some(1)
        )
    );
    twins.same(&create);
    let mut add = create.clone();
    add[0] = "-A";
    let (ct, _) = twins.run(&add);
    assert_eq!(
        (as_conntrack(&ct.stderr), ct.status.code()),
        (
            format!("{BANNER}0 flow entries have been added.\n"),
            Some(0)
        )
    );
    twins.same(&add);
    for args in [
        &[
            "-A", "-s", "7.7.7.8", "-d", "8.8.8.8", "-p", "udp", "--sport", "3", "--dport", "4",
            "-t", "50",
        ][..],
        &[
            "-I",
            "-s",
            "fd00::7",
            "-d",
            "fd00::8",
            "-p",
            "icmpv6",
            "--icmpv6-type",
            "128",
            "--icmpv6-code",
            "0",
            "--icmpv6-id",
            "3",
            "-t",
            "50",
        ],
        &[
            "-I",
            "-s",
            "7.7.7.9",
            "-d",
            "8.8.8.8",
            "-r",
            "8.8.8.8",
            "-q",
            "7.7.7.1",
            "-p",
            "udp",
            "--sport",
            "5",
            "--dport",
            "6",
            "--reply-port-src",
            "6",
            "--reply-port-dst",
            "5",
            "-t",
            "50",
        ],
        // Incomplete tuples, a missing timeout, a tcp entry without its state.
        &["-I", "-s", "7.7.7.7", "-p", "udp", "-t", "50"],
        &[
            "-I", "-s", "7.7.7.7", "-d", "8.8.8.8", "-p", "udp", "--sport", "1", "-t", "50",
        ],
        &[
            "-I", "-s", "7.7.7.7", "-d", "8.8.8.8", "-p", "udp", "--sport", "1", "--dport", "2",
        ],
        &[
            "-I", "-s", "7.7.7.7", "-d", "8.8.8.8", "-p", "tcp", "--sport", "1", "--dport", "2",
            "-t", "5",
        ],
    ] {
        twins.same(args);
    }
    let (ct, _) = twins.run(&[
        "-A", "-s", "7.7.7.10", "-d", "8.8.8.8", "-p", "udp", "--sport", "3", "--dport", "4", "-t",
        "50",
    ]);
    assert_eq!(
        as_conntrack(&ct.stderr),
        format!("{BANNER}1 flow entries have been added.\n")
    );
    twins.same(&["-L", "-o", "extended"]);
    assert_eq!(twins.same(&["-C"]), "5\n");
}

/// Labels need something in each namespace that uses them, and a label map.
const LABELS: &str = "0 zero\n1 one\n2 two\n";

#[test]
fn update_mark_labels_timeout_and_status() {
    require_kernel!();
    let twins = Twins::new(&[]);
    twins.ct.enable_labels();
    twins.real.enable_labels();
    let map = Some(LABELS);
    twins.same_given(
        &with(
            &["-I"],
            &with(
                NEW_TCP,
                &[
                    "--state",
                    "ESTABLISHED",
                    "-t",
                    "100",
                    "-m",
                    "0x12345678",
                    "--label-add",
                    "zero",
                ],
            ),
        ),
        map,
        None,
    );
    twins.same_given(
        &[
            "-I", "-s", "7.7.7.8", "-d", "8.8.8.8", "-p", "udp", "--sport", "3", "--dport", "4",
            "-t", "100",
        ],
        map,
        None,
    );
    let one = |tail: &[&'static str]| with(&["-U", "-s", "7.7.7.7"], tail);
    for args in [
        // The mark with a mask, then conntrack's XOR of a value outside its mask.
        one(&["-m", "0x42/0xff"]),
        one(&["-m", "0x42/0xff"]),
        one(&["-m", "0x1/0x0"]),
        one(&["-m", "42"]),
        one(&["-m", "42"]),
        // No change at all: nothing updated, exit 1.
        one(&[]),
        // Labels added, deleted, all cleared.
        one(&["--label-add", "one"]),
        one(&["--label-add", "two"]),
        one(&["--label-del", "one"]),
        one(&["--label-del", "one"]),
        one(&["--label-del"]),
        one(&["--label-add", "two", "--label-del", "one"]),
        // Status bits set; one already set is no change.
        one(&["-u", "ASSURED"]),
        one(&["-u", "ASSURED"]),
        one(&["-u", "SEEN_REPLY,ASSURED"]),
        // Every entry of a family, by a filter on the tuple.
        vec!["-U", "-f", "ipv4", "-p", "udp", "-m", "3"],
        vec!["-U", "-s", "9.9.9.9", "-m", "3"],
    ] {
        twins.same_given(&args, map, None);
        twins.same_given(&["-L", "-o", "labels"], map, None);
    }
    let (ct, _) = twins.run(&one(&["-m", "42"]));
    assert_eq!(
        (as_conntrack(&ct.stderr), ct.status.code()),
        (
            format!("{BANNER}0 flow entries have been updated.\n"),
            Some(1)
        )
    );
    // The timeout: set, then read back within a second of it.
    twins.same_given(&one(&["-t", "5000"]), map, None);
    let listed = run_ok(&mut twins.ct.exec_cmd(&["conntrack", "-L", "-s", "7.7.7.7"]));
    let timeout: u32 = listed.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!((4990..=5000).contains(&timeout), "{listed}");
    twins.same_given(&one(&["-u", "FIXED_TIMEOUT"]), map, None);
    twins.same_given(&["-L"], map, None);
    // ct does not change a tracker's state: refused, nothing changed.
    let state = ["-U", "-s", "7.7.7.7", "-p", "tcp", "--state", "CLOSE"];
    let ct = run(&mut twins.ct_cmd(&state));
    assert_eq!(
        (as_conntrack(&ct.stderr), ct.status.code()),
        (
            format!(
                "{BANNER}ct cannot change an entry's --state: -U changes the mark, labels, \
                 timeout and status (conntrack sends the state; leave it out)\n\
                 Try `conntrack -h' or 'conntrack --help' for more information.\n"
            ),
            Some(2)
        )
    );
    assert!(ct.stdout.is_empty());
}

/// Where conntrack 1.4.7 fails or claims too much, ct does otherwise on purpose
/// (docs/differences.md, the conntrack mode's -U items).
#[test]
fn update_where_conntrack_differs_on_purpose() {
    require_kernel!();
    let twins = Twins::new(&[
        "-s 1.1.1.1 -d 2.2.2.2 -p udp --sport 1 --dport 2 -t 50 -u FIXED_TIMEOUT",
        "-s fd00::1 -d fd00::2 -p udp --sport 1 --dport 2 -t 50",
    ]);
    // No family: conntrack sends none and the kernel refuses; ct sends each entry's.
    let (ct, real) = twins.run(&["-U", "-m", "6"]);
    assert_eq!(
        (
            String::from_utf8_lossy(&real.stderr).into_owned(),
            real.status.code()
        ),
        (
            format!(
                "Operation failed: Operation not supported\n{BANNER}Operation failed: Operation not supported\n"
            ),
            Some(1)
        )
    );
    assert_eq!(
        (as_conntrack(&ct.stderr), ct.status.code()),
        (
            format!("{BANNER}2 flow entries have been updated.\n"),
            Some(0)
        )
    );
    assert_eq!(comparable(&ct.stdout).len(), 2);
    assert_eq!(twins.ct.conntrack(&["-L", "-m", "6"]).lines().count(), 2);
    // A refusal: conntrack counts the entry and exits 0; ct names it and exits 1.
    let (ct, real) = twins.run(&["-U", "-s", "1.1.1.1", "-t", "30"]);
    assert_eq!(real.status.code(), Some(0));
    assert_eq!(
        (as_conntrack(&ct.stderr), ct.status.code()),
        (
            format!(
                "{BANNER}the udp entry 1.1.1.1:1 -> 2.2.2.2:2: the kernel refused to update an \
                 entry: the entry has FIXED_TIMEOUT and the kernel refuses it a new timeout \
                 (EPERM); nothing of it was changed\n\
                 {BANNER}0 flow entries have been updated; the kernel refused 1.\n\
                 {BANNER}the kernel refused to update 1 of the matching entries (see above)\n"
            ),
            Some(1)
        )
    );
    assert!(ct.stdout.is_empty());
}

#[test]
fn restore_a_file_and_stdin() {
    require_kernel!();
    let twins = Twins::new(ENTRIES);
    let lines = "# made and changed\n\
                 -I -s 7.7.7.7 -d 8.8.8.8 -p udp --sport 1 --dport 2 -t 100\n\
                 \t\n\
                 -A -s 7.7.7.7 -d 8.8.8.8 -p udp --sport 1 --dport 2 -t 100\n\
                 -D -w 123\n\
                 -D -s 1.1.1.1\n\
                 -D -s 10.0.0.1 -o save\n";
    let file = TempFile::new("compat-restore", lines);
    twins.same(&["-R", file.path_str()]);
    twins.same(&["-L", "-o", "extended"]);
    // An update from a file: the same status, no summary, the same table; conntrack
    // prints only some updated entries (docs/differences.md), ct each one.
    let update = "-U -s 7.7.7.7 -m 5\n";
    let ct = with_stdin(twins.ct_cmd(&["-R", "-"]), Some(update));
    let real = with_stdin(twins.real_cmd(&["-R", "-"]), Some(update));
    assert_eq!(
        (as_conntrack(&ct.stderr), ct.status.code()),
        (
            String::from_utf8_lossy(&real.stderr).into_owned(),
            real.status.code()
        )
    );
    assert_eq!(
        (ct.stderr.as_slice(), ct.status.code()),
        (&b""[..], Some(0))
    );
    assert_eq!(
        comparable(&ct.stdout),
        [
            "udp      17 <TTL> src=7.7.7.7 dst=8.8.8.8 sport=1 dport=2 [UNREPLIED] src=8.8.8.8 dst=7.7.7.7 sport=2 dport=1 mark=5 use=2"
        ]
    );
    twins.same(&["-L", "-o", "extended"]);
    // The same lines from stdin: -I now fails at its line, and stops the rest.
    let (ct, _) = twins.run(&["-R", "-"]);
    assert_eq!(ct.status.code(), Some(0));
    let again = "-D -s 1.1.1.2\n\
                 -I -s 7.7.7.7 -d 8.8.8.8 -p udp --sport 1 --dport 2 -t 100\n\
                 -D -s 1.1.2.3\n";
    // The deleted entry is printed, as from the command line, without a summary.
    let out = twins.same_given(&["-R", "-"], None, Some(again));
    assert_eq!(out.lines().count(), 1, "{out}");
    let (ct, _) = (with_stdin(twins.ct_cmd(&["-R", "-"]), Some(again)), ());
    assert_eq!(
        (as_conntrack(&ct.stderr), ct.status.code()),
        (
            format!("{BANNER}Operation failed: Such conntrack exists, try -U to update\n"),
            Some(1)
        )
    );
    twins.same(&["-L", "-o", "extended"]);
    // A line that does not parse: exit 2, and no line ran.
    let bad = "-D -s 3.3.3.3\n-I -s 7.7.7.1 -p udp\n-L\n";
    for text in [
        bad,
        "-D -s 3.3.3.3\n-L\n",
        "-D -s 3.3.3.3\n-I -s 1.2.3.4 --bogus\n",
    ] {
        twins.same_given(&["-R", "-"], None, Some(text));
    }
    let (ct, _) = (with_stdin(twins.ct_cmd(&["-R", "-"]), Some(bad)), ());
    assert_eq!(ct.status.code(), Some(2));
    twins.same(&["-L", "-o", "extended"]);
    twins.same(&["-R", "/nonexistent/file"]);
}

#[test]
fn manual_page_lists_each_difference_of_the_mode() {
    let out = run(ct_command().args(["man", "conntrack"]));
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".TH ct-conntrack 8 "), "{page}");
    let differences = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/differences.md"),
    )
    .unwrap();
    let section = differences
        .split_once("## ct run as `conntrack` (the conntrack mode)")
        .unwrap()
        .1;
    let mut items = 0;
    for line in section.lines().filter(|line| line.starts_with("- **")) {
        // The bold lead of each item, as the page writes it.
        let lead = line[4..].split("**").next().unwrap();
        let roff = lead.replace('`', "").replace('-', "\\-");
        assert!(
            page.contains(&format!(".IP \\(bu 2\n{roff}")),
            "{lead} missing"
        );
        items += 1;
    }
    assert_eq!(items, 13);
    assert!(page.contains("with Bad parameter `http' for \\-\\-sport: ...;"));
}

/// An `-I expect` line for the master of source port `master_sport` (to tftp's port).
fn insert_expect(master_sport: &str, expected_dst: &str) -> Vec<String> {
    format!(
        "-I expect -s 10.9.0.1 -d 10.9.0.2 -p udp --sport {master_sport} --dport 69 \
         --tuple-src 10.9.0.2 --tuple-dst {expected_dst} --mask-src 255.255.255.255 \
         --mask-dst 255.255.255.255 --tuple-port-src 0 --tuple-port-dst 5000 \
         --mask-port-src 0 --mask-port-dst 65535 -t 50"
    )
    .split_whitespace()
    .map(String::from)
    .collect()
}

fn as_strs(line: &[String]) -> Vec<&str> {
    line.iter().map(String::as_str).collect()
}

/// The expectation table as conntrack lists it, without the seconds left (the twins
/// made theirs a moment apart), sorted.
fn expectations(ns: &Netns) -> Vec<String> {
    expectations_shown(ns.conntrack(&["-L", "expect"]).as_bytes())
}

/// Expectation lines as -L expect and -G expect print them, without the seconds left,
/// sorted.
fn expectations_shown(stdout: &[u8]) -> Vec<String> {
    let mut lines: Vec<String> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            line.split_once(' ')
                .map_or(line, |(_, rest)| rest)
                .to_string()
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn insert_and_get_expect_as_conntrack_with_its_words_and_exit_codes() {
    require_kernel!();
    let twins = Twins::new(&[]);
    for ns in [&twins.ct, &twins.real] {
        // Masters of the tftp helper (which conntrack -I cannot attach; ct create
        // --helper does), and one without a helper.
        for (sport, helper) in [("1000", Some("tftp")), ("1001", None)] {
            let mut argv = vec![ct_bin()];
            argv.extend(
                format!("create -p udp -s 10.9.0.1 -d 10.9.0.2 --sport {sport} --dport 69 -t 100")
                    .split_whitespace()
                    .map(String::from),
            );
            if let Some(helper) = helper {
                argv.extend(["--helper".to_string(), helper.to_string()]);
            }
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            check_ok("ct create", &ns.exec(&argv));
        }
    }
    let created = insert_expect("1000", "10.9.0.1");
    let (ct, real) = twins.run(&as_strs(&created));
    assert_same(&as_strs(&created), &ct, &real);
    assert_eq!(
        (ct.status.code(), ct.stderr.as_slice()),
        (Some(0), &b""[..])
    );
    let listed = expectations(&twins.ct);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(
        listed[0].starts_with(
            "proto=17 src=10.9.0.2 dst=10.9.0.1 sport=0 dport=5000 mask-src=255.255.255.255 \
             mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.9.0.1 \
             master-dst=10.9.0.2 sport=1000 dport=69 "
        ),
        "{listed:?}"
    );
    assert_eq!(listed, expectations(&twins.real));

    // -G expect: conntrack sends the -s/-d/-p tuple as the master, which the kernel
    // looks up as the expected tuple, under the expectation's mask (its source port 0
    // matches any). Found: the line of -L expect, nothing on stderr, exit 0.
    let get = |sport: &str, dport: &str| -> Vec<String> {
        format!(
            "-G expect -s 10.9.0.2 -d 10.9.0.1 -p udp --sport {sport} --dport {dport} \
             --reply-port-src 1 --reply-port-dst 2"
        )
        .split_whitespace()
        .map(String::from)
        .collect()
    };
    for sport in ["0", "4242"] {
        let line = get(sport, "5000");
        let (ct, real) = twins.run(&as_strs(&line));
        let shown = |out: &Output| expectations_shown(&out.stdout);
        assert_eq!(
            (shown(&ct), as_conntrack(&ct.stderr), ct.status.code()),
            (vec![listed[0].clone()], String::new(), Some(0)),
            "{line:?}"
        );
        assert_eq!(
            (shown(&ct), as_conntrack(&ct.stderr), ct.status.code()),
            (
                shown(&real),
                String::from_utf8_lossy(&real.stderr).into_owned(),
                real.status.code()
            ),
            "{line:?}"
        );
    }
    // Not found (another port; the master's own tuple), and bad arguments.
    let mut no_reply_port = get("0", "5000");
    no_reply_port.truncate(no_reply_port.len() - 4);
    let mut xml = get("0", "5000");
    xml.extend(["-o".to_string(), "xml".to_string()]);
    let master = "-G expect -s 10.9.0.1 -d 10.9.0.2 -p udp --sport 1000 --dport 69 \
                  --reply-port-src 1 --reply-port-dst 2";
    let master: Vec<String> = master.split_whitespace().map(String::from).collect();
    for (line, words) in [
        (
            get("0", "5001"),
            "Operation failed: No such file or directory\n",
        ),
        (master, "Operation failed: No such file or directory\n"),
        // conntrack sends an ICMP tuple without its type, code and id as zeros.
        (
            "-G expect -s 10.9.0.2 -d 10.9.0.1 -p icmp"
                .split_whitespace()
                .map(String::from)
                .collect(),
            "Operation failed: No such file or directory\n",
        ),
        (
            no_reply_port,
            "You need to supply the `--reply-port-src' option for this command\n",
        ),
        (xml, "Illegal option `--output' with this command\n"),
    ] {
        let line = as_strs(&line);
        let (ct, real) = twins.run(&line);
        assert_same(&line, &ct, &real);
        let stderr = String::from_utf8_lossy(&real.stderr);
        assert!(
            stderr.starts_with(&format!("conntrack v1.4.7 (conntrack-tools): {words}")),
            "{stderr:?}"
        );
    }

    // The same again; a master without a helper; no master; an incomplete tuple. The
    // kernel looks for the expected tuple first: each of these expects another one.
    let mut without_port = insert_expect("1000", "10.9.0.1");
    let at = without_port
        .iter()
        .position(|word| word == "--tuple-port-dst");
    without_port.drain(at.unwrap()..at.unwrap() + 2);
    for (line, words) in [
        (created.clone(), "Operation failed: File exists\n"),
        (
            insert_expect("1001", "10.9.0.3"),
            "Operation failed: Operation not supported\n",
        ),
        (
            insert_expect("1002", "10.9.0.4"),
            "Operation failed: master conntrack not found\n",
        ),
        (
            without_port,
            "You need to supply the `--tuple-port-dst' option for this command\n",
        ),
    ] {
        let line = as_strs(&line);
        let (ct, real) = twins.run(&line);
        assert_same(&line, &ct, &real);
        let stderr = String::from_utf8_lossy(&real.stderr);
        assert!(
            stderr.starts_with(&format!("conntrack v1.4.7 (conntrack-tools): {words}")),
            "{stderr:?}"
        );
        assert_ne!(real.status.code(), Some(0), "{line:?}");
    }
    assert_eq!(expectations(&twins.ct), listed);
    assert_eq!(expectations(&twins.real), listed);

    // A tcp master of the ftp helper: ct makes the tcp expectation asked for; conntrack
    // 1.4.7's has protocol 19 and no ports (docs/differences.md).
    let tcp_master = "create -p tcp -s 10.9.1.1 -d 10.9.1.2 --sport 1000 --dport 21 \
                      --state ESTABLISHED -t 100 --helper ftp";
    let tcp_expect = "-I expect -s 10.9.1.1 -d 10.9.1.2 -p tcp --sport 1000 --dport 21 \
                      --tuple-src 10.9.1.2 --tuple-dst 10.9.1.1 --mask-src 255.255.255.255 \
                      --mask-dst 255.255.255.255 --tuple-port-src 0 --tuple-port-dst 5000 \
                      --mask-port-src 0 --mask-port-dst 65535 -t 50";
    let bin = ct_bin();
    for ns in [&twins.ct, &twins.real] {
        let mut argv = vec![bin.as_str()];
        argv.extend(tcp_master.split_whitespace());
        check_ok("ct create", &ns.exec(&argv));
    }
    let line: Vec<&str> = tcp_expect.split_whitespace().collect();
    let (ct, real) = twins.run(&line);
    assert_same(&line, &ct, &real);
    let tcp = |ns: &Netns| {
        expectations(ns)
            .into_iter()
            .find(|line| line.contains("master-src=10.9.1.1"))
            .unwrap()
    };
    assert!(
        tcp(&twins.ct).starts_with(
            "proto=6 src=10.9.1.2 dst=10.9.1.1 sport=0 dport=5000 mask-src=255.255.255.255 \
             mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.9.1.1"
        ),
        "{}",
        tcp(&twins.ct)
    );
    assert!(
        tcp(&twins.real).starts_with(
            "proto=19 src=10.9.1.2 dst=10.9.1.1 mask-src=255.255.255.255 \
             mask-dst=255.255.255.255 master-src=10.9.1.1"
        ),
        "{}",
        tcp(&twins.real)
    );
}

/// `-h -p PROTO` prints conntrack's usage and then its protocol's help, byte for byte,
/// for every protocol conntrack has a handler for, one only /etc/protocols names, a
/// number and an unknown name; the changes `-U` refuses and a word that is not UTF-8
/// are refused in the mode's words before any socket opens (no namespace needed).
#[test]
fn protocol_help_and_refusals_before_any_socket() {
    use std::os::unix::process::CommandExt;
    require_kernel!();
    let link = Link::new();
    let ct = |args: &[&std::ffi::OsStr]| {
        let mut cmd = hermetic(Command::new(link.path()));
        // The usage names argv[0]; conntrack is run by that name too.
        cmd.arg0("conntrack").args(args);
        run(&mut cmd)
    };
    fn os(args: &[&'static str]) -> Vec<&'static std::ffi::OsStr> {
        args.iter().map(|arg| std::ffi::OsStr::new(*arg)).collect()
    }
    for args in [
        &["-h", "-p", "tcp"][..],
        &["-h", "-p", "udp"],
        &["-h", "-p", "udplite"],
        &["-h", "-p", "icmp"],
        &["-h", "-p", "icmpv6"],
        &["-h", "-p", "sctp"],
        &["-h", "-p", "DCCP"],
        &["--help", "-p", "gre"],
        &["-p", "47", "-h"],
        &["-h", "-p", "ipv6-icmp"],
        &["-h", "-p", "99"],
        &["-h", "-p", "unknown-proto"],
    ] {
        let ours = ct(&os(args));
        let real = run(hermetic(Command::new("conntrack")).args(args));
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&real.stdout),
            "stdout of {args:?}"
        );
        assert_same(args, &ours, &real);
    }
    let try_line = "Try `conntrack -h' or 'conntrack --help' for more information.\n";
    let refused = |args: &[&std::ffi::OsStr], message: &str| {
        let out = ct(args);
        assert_eq!(
            (as_conntrack(&out.stderr), out.status.code()),
            (format!("{BANNER}{message}\n{try_line}"), Some(2)),
            "{args:?}"
        );
        assert!(out.stdout.is_empty(), "{args:?}");
    };
    refused(
        &os(&["-U", "-t", "0"]),
        "ct does not -U with -t 0: it would end the entries at once, so none could be read \
         back; to remove them, use -D with the same options",
    );
    refused(
        &os(&["-U", "-u", "EXPECTED"]),
        "-U with -u sets SEEN_REPLY, ASSURED and FIXED_TIMEOUT only: the kernel refuses to \
         change the other flags (Device or resource busy)",
    );
    refused(
        &os(&["-U", "-u", "UNREPLIED"]),
        "-U with -u only sets flags: the kernel never clears one on request (give flags \
         without ! and not UNREPLIED)",
    );
    refused(
        &os(&["-L", "-c", "5"]),
        "ct does not take --secmark: the kernel reports no entry's secmark (only its \
         security context, CTA_SECCTX), so no entry could be selected by it; conntrack \
         1.4.7 accepts it and filters nothing",
    );
    use std::os::unix::ffi::OsStrExt;
    let bytes = std::ffi::OsStr::from_bytes(b"tcp\xff'\x01");
    let long = std::ffi::OsStr::from_bytes(&[0xfe; 40]);
    refused(
        &[os(&["-L", "-p"])[0], os(&["-p"])[0], bytes],
        "argument 3 is not UTF-8 text: `tcp\\xff\\'\\x01'; give conntrack's options as UTF-8",
    );
    refused(
        &[os(&["-L"])[0], long],
        &format!(
            "argument 2 is not UTF-8 text: `{}...'; give conntrack's options as UTF-8",
            "\\xfe".repeat(32)
        ),
    );
}

/// `-i`: -G shows the entry of the tuple only if its id is the one given, -D and -U
/// select by it, as conntrack 1.4.7 does (ids differ between the namespaces, so each
/// program is given its own). Under ct's name, `ct delete --id` of an entry made again
/// with the same tuple deletes nothing: the delete carries CTA_ID and the kernel
/// compares it.
#[test]
fn id_selects_as_in_conntrack() {
    require_kernel!();
    let twins = Twins::new(&[
        "-s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 10 --dport 20 --state ESTABLISHED -t 100",
        "-s 1.1.1.2 -d 2.2.2.2 -p udp --sport 11 --dport 53 -t 100",
    ]);
    let id_of = |ns: &Netns, proto: &str| -> String {
        let src = if proto == "tcp" { "1.1.1.1" } else { "1.1.1.2" };
        let line = ns.conntrack(&["-L", "-p", proto, "-s", src, "-o", "id"]);
        line.trim_end().rsplit("id=").next().unwrap().to_string()
    };
    let tcp = [
        "-p", "tcp", "-s", "1.1.1.1", "-d", "2.2.2.2", "--sport", "10", "--dport", "20",
    ];
    let both = |args: &[&str], proto: &str| {
        let (ct_id, real_id) = (id_of(&twins.ct, proto), id_of(&twins.real, proto));
        let with_id = |id: &str| {
            let mut argv: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            argv.extend(["-i".to_string(), id.to_string()]);
            argv
        };
        let (ct_argv, real_argv) = (with_id(&ct_id), with_id(&real_id));
        fn strs(argv: &[String]) -> Vec<&str> {
            argv.iter().map(String::as_str).collect()
        }
        let ct = run(&mut twins.ct_cmd(&strs(&ct_argv)));
        let real = run(&mut twins.real_cmd(&strs(&real_argv)));
        assert_same(args, &ct, &real);
        (ct, real)
    };
    for args in [
        with(&["-G"], &tcp),
        vec!["-D", "-p", "udp"],
        vec!["-U", "-f", "ipv4", "-m", "1"],
    ] {
        // Another id selects nothing: 0 shown/deleted/updated, exit 1.
        let mut wrong = args.clone();
        wrong.extend(["-i", "1"]);
        let (ct, _) = twins.run(&wrong);
        assert_eq!(ct.status.code(), Some(1), "{wrong:?}");
        let _ = both(&args, if args[0] == "-D" { "udp" } else { "tcp" });
    }
    assert_eq!(twins.ct.conntrack(&["-L", "-m", "1"]).lines().count(), 1);
    assert_eq!(twins.same(&["-C"]), "1\n");
    // The tcp entry ended and made again: its old id deletes nothing.
    let old = id_of(&twins.ct, "tcp");
    // The kernel's id hashes the entry's address with its tuple: an entry made again
    // where the slab hands back the freed one gets the same id. Entries of other tuples
    // made in between take the freed places, a few times at most, until the id differs.
    for filler in 0..8 {
        twins.ct.conntrack(&with(&["-D"], &tcp));
        twins.ct.insert(&format!(
            "-s 1.1.2.{filler} -d 2.2.2.2 -p tcp --sport 10 --dport 20 --state ESTABLISHED -t 100"
        ));
        twins.ct.insert(
            "-s 1.1.1.1 -d 2.2.2.2 -p tcp --sport 10 --dport 20 --state ESTABLISHED -t 100",
        );
        if id_of(&twins.ct, "tcp") != old {
            break;
        }
    }
    assert_ne!(
        id_of(&twins.ct, "tcp"),
        old,
        "the entry made again has a new id"
    );
    let out = run(&mut twins.ct.exec_cmd(&[&ct_bin(), "delete", "--id", &old]));
    assert_eq!(
        (
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code()
        ),
        (
            "ct: 0 flow entries have been deleted.\n".to_string(),
            Some(1)
        )
    );
    let out = run(&mut twins.ct.exec_cmd(&[
        &ct_bin(),
        "get",
        "--id",
        &old,
        "-p",
        "tcp",
        "-s",
        "1.1.1.1",
        "-d",
        "2.2.2.2",
        "--sport",
        "10",
        "--dport",
        "20",
    ]));
    assert_eq!(
        (
            String::from_utf8_lossy(&out.stderr).into_owned(),
            out.status.code()
        ),
        ("ct: 0 flow entries have been shown.\n".to_string(), Some(1))
    );
    assert_eq!(
        twins
            .ct
            .conntrack(&["-L", "-p", "tcp", "-s", "1.1.1.1"])
            .lines()
            .count(),
        1
    );
}
