//! `ct create` against `conntrack -I` in twin namespaces (the same arguments, the same
//! entry), `--exist-ok` as conntrack -A, bad input refused before anything is sent, and
//! `ct restore` of saved lines (conntrack's and ct's) against the table they were saved
//! from. Needs root (see tests/support/common.rs).

use crate::common::*;

const LABELS: &str = "1 blocked\n2 audited\n";

/// Runs `ct ARGS` in `ns` with the label map above; (exit code, stdout, stderr).
fn ct(ns: &Netns, args: &[&str]) -> (i32, String, String) {
    let bin = ct_bin();
    let mut argv = vec![bin.as_str()];
    argv.extend_from_slice(args);
    let out = ns.exec_with_labelmap(LABELS, &argv);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `conntrack ARGS` in `ns` with the label map above; must succeed; stdout.
fn conntrack(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec!["conntrack"];
    argv.extend_from_slice(args);
    check_ok(
        &format!("conntrack {args:?}"),
        &ns.exec_with_labelmap(LABELS, &argv),
    )
}

/// The table as conntrack shows it, with labels and as saved lines (which show the
/// status bits and NAT), sorted.
fn table(ns: &Netns) -> String {
    let mut lines: Vec<String> = conntrack(ns, &["-L", "-o", "labels"])
        .lines()
        .chain(conntrack(ns, &["-L", "-o", "save"]).lines())
        .map(String::from)
        .collect();
    lines.sort();
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// Arguments conntrack -I and ct create both take, meaning the same: one entry of each
/// shape.
const SHAPES: [&str; 13] = [
    "-p tcp -s 10.231.0.1 -d 10.231.0.2 --sport 1234 --dport 80 --state ESTABLISHED -u SEEN_REPLY,ASSURED -t 3600",
    "-p tcp -s 10.231.0.1 -d 10.231.0.2 --sport 1235 --dport 80 --state TIME_WAIT -t 120",
    "-p tcp -s fd00:231::1 -d fd00:231::2 --sport 1 --dport 2 --state SYN_SENT -t 3600 -m 0x10",
    "-p udp -s 10.231.1.1 -d 10.231.1.2 --sport 5000 --dport 53 -t 3600 -m 7 -w 3",
    "-p udp -s 10.231.1.1 -d 10.231.1.2 --sport 5001 --dport 53 -t 3600 --orig-zone 4",
    "-p icmp -s 10.231.2.1 -d 10.231.2.2 --icmp-type 8 --icmp-code 0 --icmp-id 42 -t 3600",
    "-p icmpv6 -s fd00:231::1 -d fd00:231::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 7 -t 3600",
    "-p tcp -s 10.231.3.1 -d 10.231.3.2 --sport 40000 --dport 80 --state ESTABLISHED -u SEEN_REPLY -t 3600 --dst-nat 10.231.3.9:8080",
    "-p udp -s 10.231.4.1 -d 10.231.4.2 --sport 6000 --dport 123 -t 3600 --src-nat 10.231.4.9",
    "-p udp -s 10.231.4.1 -d 10.231.4.2 --sport 6001 --dport 123 -t 3600 --src-nat 10.231.4.9:7000",
    "-p tcp -s fd00:231::1 -d fd00:231::2 --sport 3 --dport 443 --state ESTABLISHED -t 3600 --dst-nat [fd00:231::9]:8443",
    "-p udp -s 10.231.5.1 -d 10.231.5.2 --sport 7000 --dport 7001 -t 3600 --label-add blocked,audited",
    "-p udp -s 10.231.6.1 -d 10.231.6.2 --sport 5000 --dport 53 -r 10.231.6.9 -q 10.231.6.1 --reply-port-src 5353 --reply-port-dst 5000 -t 3600",
];

#[test]
fn create_makes_what_conntrack_insert_makes() {
    require_kernel!();
    let (by_conntrack, by_ct) = (Netns::new(), Netns::new());
    by_conntrack.enable_labels();
    by_ct.enable_labels();
    for shape in SHAPES {
        let args: Vec<&str> = shape.split_whitespace().collect();
        let mut insert = vec!["-I"];
        insert.extend(&args);
        conntrack(&by_conntrack, &insert);
        let mut create = vec!["create"];
        create.extend(&args);
        let (code, out, err) = ct(&by_ct, &create);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (0, "", "ct: 1 flow entries have been created.\n"),
            "ct create {shape}"
        );
    }
    let made = table(&by_ct);
    for shown in [
        "labels=blocked,audited",
        "mark=16 ",
        "zone=3 ",
        "zone-orig=4",
        "-g 10.231.3.9",
        "-n 10.231.4.9",
        "-r 10.231.6.9",
        "TIME_WAIT",
    ] {
        assert!(made.contains(shown), "no {shown} in:\n{made}");
    }
    assert_same_lines(&made, &table(&by_conntrack));
}

#[test]
fn exist_ok_keeps_an_existing_entry_as_conntrack_add_does() {
    require_kernel!();
    let ns = Netns::new();
    let entry = [
        "create",
        "-p",
        "udp",
        "-s",
        "10.232.0.1",
        "-d",
        "10.232.0.2",
        "--sport",
        "1",
        "--dport",
        "2",
        "-t",
        "3600",
        "-m",
        "1",
    ];
    assert_eq!(ct(&ns, &entry).0, 0);
    let before = table(&ns);

    let mut again = entry.to_vec();
    again[entry.len() - 1] = "2";
    assert_eq!(
        ct(&ns, &again),
        (
            1,
            String::new(),
            "ct: cannot create the entry: such an entry exists; use --exist-ok to keep it, \
             or ct update to change it\n"
                .into()
        )
    );
    again.push("--exist-ok");
    assert_eq!(
        ct(&ns, &again),
        (
            0,
            String::new(),
            "ct: 0 flow entries have been created (one with this tuple exists and was kept).\n"
                .into()
        )
    );
    // The mark is still 1: the entry was kept as it was.
    assert_same_lines(&table(&ns), &before);
    assert!(before.contains("mark=1 "), "{before}");
}

#[test]
fn bad_input_exits_2_and_creates_nothing() {
    require_kernel!();
    let ns = Netns::new();
    let cases: [(&str, &str); 15] = [
        (
            "-s 10.233.0.1 -d 10.233.0.2 -t 10",
            "create needs -p/--proto",
        ),
        (
            "-p udp -s 10.233.0.1 -d 10.233.0.2 -t 10",
            "create needs --sport and --dport for this protocol",
        ),
        (
            "-p udp -s 10.233.0.1 --sport 1 --dport 2 -t 10",
            "create needs both -s/--src and -d/--dst",
        ),
        (
            "-p icmp -s 10.233.0.1 -d 10.233.0.2 --icmp-type 8 -t 10",
            "create needs --icmp-type, --icmp-code and --icmp-id for icmp and icmpv6",
        ),
        (
            "-p tcp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2 -t 10",
            "create needs --state for tcp",
        ),
        (
            "-p udp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2 -t 10 --label-add nosuch",
            "unknown label 'nosuch'",
        ),
        (
            "-p udp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2 -t 10 --src-nat 10.233.0",
            "'10.233.0' is not an IPv4 or IPv6 address",
        ),
        (
            "-p udp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2 -t 10 --dst-nat fd00::1",
            "--dst-nat fd00::1 is ipv6 but the entry is ipv4",
        ),
        (
            "-p udp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2",
            "--timeout <SECONDS>",
        ),
        (
            "-p udp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2 -t 10 --state ESTABLISHED",
            "--state: udp has no tracker states",
        ),
        (
            "-p tcp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2 -t 10 --state CLOSE \
             --orig-vtag 1",
            "--orig-vtag is for -p sctp, not tcp",
        ),
        (
            "-p udp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2 -t 10 --role client",
            "--role is for -p dccp, not udp",
        ),
        (
            "-p sctp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2 -t 10 \
             --state ESTABLISHED --orig-vtag 1",
            "create -p sctp takes --state, --orig-vtag and --reply-vtag together",
        ),
        (
            "-p dccp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2 -t 10 --role client",
            "create -p dccp takes --state and --role together",
        ),
        (
            "-p dccp -s 10.233.0.1 -d 10.233.0.2 --sport 1 --dport 2 -t 10 --state OPEN \
             --role master",
            "'master' is no DCCP role: client or server",
        ),
    ];
    for (args, message) in cases {
        let mut argv = vec!["create"];
        argv.extend(args.split_whitespace());
        let (code, out, err) = ct(&ns, &argv);
        assert_eq!((code, out.as_str()), (2, ""), "ct create {args}: {err}");
        assert!(err.contains(message), "ct create {args}: {err}");
    }
    assert_eq!(conntrack(&ns, &["-L"]), "", "nothing was created");
}

/// A varied table made by conntrack -I in `ns`.
fn fill(ns: &Netns) {
    for shape in SHAPES {
        let mut insert = vec!["-I"];
        insert.extend(shape.split_whitespace());
        conntrack(ns, &insert);
    }
}

#[test]
fn restore_makes_again_what_conntrack_and_ct_saved() {
    require_kernel!();
    let source = Netns::new();
    fill(&source);
    let saved_by_conntrack = conntrack(&source, &["-L", "-o", "save"]);
    let (code, saved_by_ct, _) = ct(&source, &["list", "-o", "save"]);
    assert_eq!(code, 0);
    // Save lines carry no mark and no labels: compare with what they carry.
    let save_lines = |ns: &Netns| conntrack(ns, &["-L", "-o", "save"]);
    let expected = save_lines(&source);
    for saved in [saved_by_conntrack, saved_by_ct] {
        let restored = Netns::new();
        let file = TempFile::new("restore", &saved);
        let (code, out, err) = ct(&restored, &["restore", file.path_str()]);
        assert_eq!(
            (code, out.as_str(), err.as_str()),
            (
                0,
                "",
                format!("ct: {} flow entries have been created.\n", SHAPES.len()).as_str()
            ),
            "ct restore of:\n{saved}"
        );
        assert_same_lines(&save_lines(&restored), &expected);
    }
}

#[test]
fn restore_reads_every_line_first_and_applies_none_of_a_bad_file() {
    require_kernel!();
    let ns = Netns::new();
    let file = TempFile::new(
        "restore",
        "# a comment\n\
         -I -t 100 -s 10.234.0.1 -d 10.234.0.2 -p udp --sport 1 --dport 2\n\
         \n\
         -I -t 100 -s 10.234.0.1 -d 10.234.0.2 -p udp --sport 70000 --dport 2\n\
         -U -t 100 -s 10.234.0.1 -d 10.234.0.2 -p udp --sport 3 --dport 2\n\
         -A -t 100 -s 10.234.0.1 -d 10.234.0.2 -p sctp --sport 1 --dport 2 --orig-vtag 1 --reply-vtag 258\n\
         -A -t 100 -s 10.234.0.1 -d 10.234.0.2 -p sctp --sport 1 --dport 2 --state ESTABLISHED --orig-vtag 1\n",
    );
    let (code, out, err) = ct(&ns, &["restore", file.path_str()]);
    let name = file.path_str();
    assert_eq!(
        (code, out.as_str(), err),
        (
            2,
            "",
            format!(
                "ct: {name}:4: '--sport 70000': out of range (0 to 65535): '-I -t 100 -s \
                 10.234.0.1 -d 10.234.0.2 -p udp --sport 70000 --dport 2'\n\
                 ct: {name}:5: an -U (update) line is not restored; restore -I, -A and -D \
                 lines, or change entries with ct update: '-U -t 100 -s 10.234.0.1 -d \
                 10.234.0.2 -p udp --sport 3 --dport 2'\n\
                 ct: {name}:6: -p sctp takes --state, --orig-vtag and --reply-vtag together: \
                 the kernel sets an SCTP entry's state only with both verification tags: '-A \
                 -t 100 -s 10.234.0.1 -d 10.234.0.2 -p sctp --sport 1 --dport 2 --orig-vtag 1…'\n\
                 ct: {name}:7: -p sctp takes --state, --orig-vtag and --reply-vtag together: \
                 the kernel sets an SCTP entry's state only with both verification tags: '-A \
                 -t 100 -s 10.234.0.1 -d 10.234.0.2 -p sctp --sport 1 --dport 2 --state \
                 ESTAB…'\n\
                 ct: {name}: 4 lines cannot be read (reported above); nothing was restored\n"
            )
        )
    );
    assert_eq!(conntrack(&ns, &["-L"]), "", "nothing was created");
}

#[test]
fn restore_reports_a_refused_line_by_number_and_applies_the_rest() {
    require_kernel!();
    let ns = Netns::new();
    let udp = |sport: u16| format!("-s 10.235.0.1 -d 10.235.0.2 -p udp --sport {sport} --dport 2");
    let text = format!(
        "-I -t 100 {one}\n-I -t 100 {one}\n-A -t 100 {one}\n-A -t 100 {two}\n-D {three}\n\
         -D {two}\n-I -t 100 {three}\n",
        one = udp(1),
        two = udp(2),
        three = udp(3),
    );
    let (code, out, err) = ct_stdin(&ns, &["restore", "-"], &text);
    assert_eq!(
        (code, out.as_str(), err.as_str()),
        (
            1,
            "",
            "ct: standard input:2: cannot create the entry: such an entry exists; use \
             --exist-ok to keep it, or ct update to change it\n\
             ct: standard input:5: cannot delete the entry: no entry has this tuple\n\
             ct: 3 flow entries have been created.\n\
             ct: 1 flow entries existed already and were kept (-A lines).\n\
             ct: 1 flow entries have been deleted.\n\
             ct: 2 of the lines of standard input failed (each is reported above)\n"
        )
    );
    let listed = conntrack(&ns, &["-L"]);
    let mut sports: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.split_whitespace().find(|w| w.starts_with("sport=")))
        .collect();
    sports.sort();
    assert_eq!(sports, ["sport=1", "sport=3"], "{listed}");
}

/// `ct ARGS` in `ns` reading `input` on standard input; (exit code, stdout, stderr).
fn ct_stdin(ns: &Netns, args: &[&str], input: &str) -> (i32, String, String) {
    use std::io::Write;
    use std::process::Stdio;
    let bin = ct_bin();
    let mut argv = vec![bin.as_str()];
    argv.extend_from_slice(args);
    let mut child = ns
        .exec_cmd_with(Xtables::LabelMap(LABELS), &argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ct");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("ct");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn restore_of_many_lines_names_a_refused_line_past_the_first_batch() {
    require_kernel!();
    let ns = Netns::new();
    let line = |i: u32| {
        format!(
            "-I -t 100 -s 10.236.{}.{} -d 10.236.255.1 -p udp --sport 1000 --dport 53\n",
            i >> 8,
            i & 0xff
        )
    };
    // 6,000 entries; line 5,001 makes entry 17 again, past the first 4,096.
    let mut text: String = (0..5000).map(line).collect();
    text.push_str(&line(17));
    text.extend((5000..6000).map(line));
    let file = TempFile::new("restore", &text);
    let (code, out, err) = ct(&ns, &["restore", file.path_str()]);
    let name = file.path_str();
    assert_eq!(
        (code, out.as_str(), err),
        (
            1,
            "",
            format!(
                "ct: {name}:5001: cannot create the entry: such an entry exists; use \
                 --exist-ok to keep it, or ct update to change it\n\
                 ct: 6000 flow entries have been created.\n\
                 ct: 1 of the lines of {name} failed (each is reported above)\n"
            )
        )
    );
    assert_eq!(conntrack(&ns, &["-C"]), "6000\n");
}

/// `ct create expect` on a master of `sport` (to ftp's port), expecting `expected_dst`.
fn create_expect(master_sport: u16, expected_dst: &str) -> Vec<String> {
    format!(
        "create expect -p tcp -s 10.232.0.1 -d 10.232.0.2 --sport {master_sport} --dport 21 \
         --tuple-src 10.232.0.2 --tuple-dst {expected_dst} --tuple-port-src 0 \
         --tuple-port-dst 50001 --mask-src 255.255.255.255 --mask-dst 255.255.255.255 \
         --mask-port-src 0 --mask-port-dst 65535 -t 60"
    )
    .split_whitespace()
    .map(String::from)
    .collect()
}

fn words(line: &[String]) -> Vec<&str> {
    line.iter().map(String::as_str).collect()
}

#[test]
fn create_expect_attaches_an_expectation_to_a_master_with_a_helper() {
    require_kernel!();
    let ns = Netns::new();
    let master = |sport: &str, helper: &[&str]| {
        let mut args = vec![
            "create",
            "-p",
            "tcp",
            "-s",
            "10.232.0.1",
            "-d",
            "10.232.0.2",
            "--sport",
            sport,
            "--dport",
            "21",
            "--state",
            "ESTABLISHED",
            "-t",
            "300",
        ];
        args.extend_from_slice(helper);
        ct(&ns, &args)
    };
    assert_eq!(
        master("1000", &["--helper", "ftp"]),
        (
            0,
            String::new(),
            "ct: 1 flow entries have been created.\n".into()
        )
    );
    assert_eq!(master("1001", &[]).0, 0);
    let shown = conntrack(
        &ns,
        &["-L", "-o", "extended", "-p", "tcp", "--sport", "1000"],
    );
    assert!(shown.contains(" helper=ftp "), "{shown}");
    // A helper the kernel does not know: refused, nothing made.
    let (code, out, err) = master("1002", &["--helper", "nosuchhelper"]);
    assert_eq!((code, out.as_str()), (1, ""), "{err}");
    assert!(
        err.starts_with("ct: cannot create the entry: the kernel does not support this entry"),
        "{err}"
    );
    assert!(err.contains("--helper of no loaded helper module"), "{err}");

    let made = create_expect(1000, "10.232.0.1");
    assert_eq!(
        ct(&ns, &words(&made)),
        (
            0,
            String::new(),
            "ct: 1 expectations have been created.\n".into()
        )
    );
    let (code, listed, _) = ct(&ns, &["list", "expect"]);
    assert_eq!(code, 0);
    let line = listed.split_once(' ').unwrap().1;
    assert_eq!(
        line,
        "proto=6 src=10.232.0.2 dst=10.232.0.1 sport=0 dport=50001 mask-src=255.255.255.255 \
         mask-dst=255.255.255.255 sport=0 dport=65535 master-src=10.232.0.1 \
         master-dst=10.232.0.2 sport=1000 dport=21 class=0 helper=ftp\n"
    );
    // Refusals: the same again, a master without a helper, no master.
    for (line, why) in [
        (
            made.clone(),
            "an expectation of this expected tuple exists already (File exists (os error 17))",
        ),
        (
            create_expect(1001, "10.232.0.3"),
            "the master entry has no helper (Operation not supported (os error 95)); the \
             kernel attaches expectations only to an entry with one: create the master with \
             --helper (ct create --helper ftp ...), or let a helper's traffic make it",
        ),
        (
            create_expect(1003, "10.232.0.4"),
            "no entry has the master tuple (-s, -d, -p and its ports) (No such file or \
             directory (os error 2)); create the master first, or give the tuple of an \
             existing one",
        ),
    ] {
        assert_eq!(
            ct(&ns, &words(&line)),
            (
                1,
                String::new(),
                format!("ct: cannot create the expectation: {why}\n")
            ),
            "{line:?}"
        );
    }
    // Bad input: exit 2, nothing sent.
    let mut no_port = create_expect(1000, "10.232.0.5");
    let at = no_port
        .iter()
        .position(|w| w == "--tuple-port-dst")
        .unwrap();
    no_port.drain(at..at + 2);
    let mut prefix = create_expect(1000, "10.232.0.0/24");
    let mut entry_flag = create_expect(1000, "10.232.0.6");
    entry_flag.extend(["-m".to_string(), "1".to_string()]);
    let mut no_master = create_expect(1000, "10.232.0.7");
    no_master.drain(4..8);
    for (line, error) in [
        (
            no_port,
            "create expect on a master with ports needs --tuple-port-dst",
        ),
        (
            std::mem::take(&mut prefix),
            "create expect needs an address for --tuple-dst, not a prefix \
             (10.232.0.0/255.255.255.0)",
        ),
        (
            entry_flag,
            "-m/--mark does not fit an expectation: ct create expect takes the master's \
             original tuple (-s, -d, -p and its ports, -w), the expected tuple (--tuple-*), \
             its mask (--mask-*) and -t",
        ),
        (
            no_master,
            "create expect needs the master's original tuple: -s/--src and -d/--dst, \
             -p/--proto and its ports",
        ),
    ] {
        let (code, out, err) = ct(&ns, &words(&line));
        assert_eq!((code, out.as_str()), (2, ""), "{line:?}: {err}");
        assert!(err.starts_with(&format!("error: {error}\n")), "{err}");
    }
    let (_, after, _) = ct(&ns, &["list", "expect"]);
    assert_eq!(after.lines().count(), 1, "{after}");
    // The expect flags belong to the expect table.
    let (code, _, err) = ct(
        &ns,
        &[
            "create",
            "-p",
            "udp",
            "-s",
            "1.1.1.1",
            "-d",
            "2.2.2.2",
            "--sport",
            "1",
            "--dport",
            "2",
            "-t",
            "5",
            "--tuple-src",
            "1.1.1.1",
        ],
    );
    assert_eq!(code, 2);
    assert!(
        err.starts_with(
            "error: --tuple-src is for an expectation: ct create expect ... --tuple-src ...\n"
        ),
        "{err}"
    );
}

/// Issue 21: ct create sets SCTP's vtags (as the kernel keeps them, as `ct list -o json`
/// shows them) and DCCP's role; conntrack -I and `-o save` write a vtag with its bytes
/// swapped, so conntrack's `--orig-vtag 1295788826` is ct's 0x1a2b3c4d (439041101).
/// `ct restore` makes both again from conntrack's and ct's saved lines.
#[test]
fn sctp_vtags_and_dccp_role_are_created_and_restored() {
    require_kernel!();
    let ns = Netns::new();
    for args in [
        "create -p sctp -s 10.234.0.1 -d 10.234.0.2 --sport 5 --dport 6 --state ESTABLISHED \
         --orig-vtag 0x1a2b3c4d --reply-vtag 7 -t 3600",
        "create -p dccp -s 10.234.0.1 -d 10.234.0.2 --sport 5 --dport 6 --state OPEN \
         --role server -t 3600",
    ] {
        let argv: Vec<&str> = args.split_whitespace().collect();
        assert_eq!(
            ct(&ns, &argv),
            (
                0,
                String::new(),
                "ct: 1 flow entries have been created.\n".into()
            ),
            "ct {args}"
        );
    }
    conntrack(
        &ns,
        &[
            "-I",
            "-p",
            "sctp",
            "-s",
            "10.234.0.1",
            "-d",
            "10.234.0.3",
            "--sport",
            "5",
            "--dport",
            "6",
            "--state",
            "ESTABLISHED",
            "--orig-vtag",
            "1295788826",
            "--reply-vtag",
            "117440512",
            "-t",
            "3600",
        ],
    );
    let (code, json, _) = ct(&ns, &["list", "-p", "sctp", "-o", "json"]);
    assert_eq!(code, 0);
    let vtags: Vec<(u64, u64)> = json
        .lines()
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).unwrap();
            let tag = |direction: &str| entry[direction]["vtag"].as_u64().unwrap();
            (tag("original"), tag("reply"))
        })
        .collect();
    assert_eq!(vtags, [(0x1a2b_3c4d, 7), (0x1a2b_3c4d, 7)], "{json}");
    // The kernel this was measured on (6.18) has no DCCP tracker: the state and role
    // are sent and the entry is a generic one (no ports), as conntrack -I makes it.
    let saved = conntrack(&ns, &["-L", "-o", "save"]);
    let expected = "\
-A -t 3600 -u UNSET -s 10.234.0.1 -d 10.234.0.2 -r 10.234.0.2 -q 10.234.0.1 -p sctp --sport 5 --dport 6 --reply-port-src 6 --reply-port-dst 5 --state ESTABLISHED --orig-vtag 1295788826 --reply-vtag 117440512
-A -t 3600 -u UNSET -s 10.234.0.1 -d 10.234.0.3 -r 10.234.0.3 -q 10.234.0.1 -p sctp --sport 5 --dport 6 --reply-port-src 6 --reply-port-dst 5 --state ESTABLISHED --orig-vtag 1295788826 --reply-vtag 117440512
-A -t 3600 -u UNSET -s 10.234.0.1 -d 10.234.0.2 -r 10.234.0.2 -q 10.234.0.1 -p dccp
";
    assert_same_lines(&saved, expected);
    let (code, saved_by_ct, _) = ct(&ns, &["list", "-o", "save"]);
    assert_eq!(code, 0);
    for saved in [saved.as_str(), saved_by_ct.as_str()] {
        let restored = Netns::new();
        let file = TempFile::new("restore-vtags", saved);
        assert_eq!(
            ct(&restored, &["restore", file.path_str()]),
            (
                0,
                String::new(),
                "ct: 3 flow entries have been created.\n".into()
            ),
            "ct restore of:\n{saved}"
        );
        assert_same_lines(&conntrack(&restored, &["-L", "-o", "save"]), expected);
    }
}

/// `ct get expect`: the expectation a connection of the tuple would match (the kernel
/// compares under its mask, so any source port finds an ftp one), printed as `ct list
/// expect` prints it; none is exit 1 in words; what does not name an expected tuple is
/// exit 2 before anything is sent.
#[test]
fn get_expect_finds_what_a_connection_of_the_tuple_would_match() {
    require_kernel!();
    let ns = Netns::new();
    let master = "create -p tcp -s 10.232.0.1 -d 10.232.0.2 --sport 1000 --dport 21 \
                  --state ESTABLISHED -t 300 --helper ftp";
    assert_eq!(ct(&ns, &master.split_whitespace().collect::<Vec<_>>()).0, 0);
    assert_eq!(ct(&ns, &words(&create_expect(1000, "10.232.0.1"))).0, 0);
    let get = |sport: &str, dport: &str, more: &[&str]| {
        let mut args = vec![
            "get",
            "expect",
            "-p",
            "tcp",
            "-s",
            "10.232.0.2",
            "-d",
            "10.232.0.1",
            "--sport",
            sport,
            "--dport",
            dport,
        ];
        args.extend_from_slice(more);
        ct(&ns, &args)
    };
    let line = "proto=6 src=10.232.0.2 dst=10.232.0.1 sport=0 dport=50001 \
                mask-src=255.255.255.255 mask-dst=255.255.255.255 sport=0 dport=65535 \
                master-src=10.232.0.1 master-dst=10.232.0.2 sport=1000 dport=21 class=0 \
                helper=ftp\n";
    for sport in ["0", "4242"] {
        let (code, out, err) = get(sport, "50001", &[]);
        let (seconds, rest) = out.split_once(' ').unwrap();
        let seconds: u32 = seconds.parse().unwrap();
        // The kernel gives it the ftp helper's 300 s, whatever -t said.
        assert!((1..=300).contains(&seconds), "{out}");
        assert_eq!(
            (code, rest, err.as_str()),
            (0, line, "ct: 1 expectations have been shown.\n")
        );
    }
    // Every format of ct list expect; -w 0 is the zone it is in.
    let timeout_masked = |text: &str| {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("\"timeout\":") {
            out.push_str(&rest[..at + 10]);
            rest = rest[at + 10..].trim_start_matches(|c: char| c.is_ascii_digit());
            out.push('N');
        }
        out + rest
    };
    let (_, listed, _) = ct(&ns, &["list", "expect", "-o", "json"]);
    let (code, got, err) = get("0", "50001", &["-o", "json", "--quiet", "-w", "0"]);
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(timeout_masked(&got), timeout_masked(&listed));
    // None: another port, another zone, the master's own tuple.
    let none = "ct: no expectation matches the tuple (-s, -d, -p and its ports); ct list \
                expect shows them all\n";
    assert_eq!(get("0", "50002", &[]), (1, String::new(), none.to_string()));
    assert_eq!(
        get("0", "50001", &["-w", "1"]),
        (
            1,
            String::new(),
            none.replace("its ports)", "its ports, in -w's zone)")
        )
    );
    let (code, out, _) = ct(
        &ns,
        &words(
            &"get expect -p tcp -s 10.232.0.1 -d 10.232.0.2 --sport 1000 --dport 21"
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>(),
        ),
    );
    assert_eq!((code, out.as_str()), (1, ""));
    // Bad input: exit 2, nothing on stdout.
    for (more, error) in [
        (
            &["-r", "10.232.0.1"][..],
            "-r/--reply-src does not fit an expectation: ct get expect takes the tuple of \
             the expected connection (-s, -d, -p and its ports) and -w its zone",
        ),
        (
            &["-o", "save"],
            "-o save writes entries as conntrack commands; it has no form for expectations",
        ),
    ] {
        let (code, out, err) = get("0", "50001", more);
        assert_eq!((code, out.as_str()), (2, ""), "{more:?}: {err}");
        assert!(err.starts_with(&format!("error: {error}\n")), "{err}");
    }
    let (code, out, err) = ct(
        &ns,
        &[
            "get",
            "expect",
            "-p",
            "tcp",
            "-s",
            "10.232.0.2",
            "-d",
            "10.232.0.1",
        ],
    );
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("error: get expect needs --sport and --dport for this protocol\n"),
        "{err}"
    );
}
