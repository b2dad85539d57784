//! `--input`: saved tables read like the kernel's. `conntrack -L` text read back prints
//! the same text in every `-o` combination; its JSON equals a live `ct list -o json` in
//! every field the text carries; /proc/net/nf_conntrack and ct's own JSON Lines read back;
//! filters, `ct count` and `ct top` work on them; bad lines are reported, skipped and
//! counted. Needs root (see tests/support/common.rs).

use std::collections::BTreeMap;
use std::process::{Command, Output};

use crate::common::*;
use serde_json::Value;

/// Every tracker, state and zone shape, NAT, marks and IPv6, in the /16 `net`
/// (10.`net`.x.x, fd00:`net`::), each entry with `timeout` seconds.
fn mixed_entries(net: u8, timeout: u32) -> Vec<String> {
    let mut entries = shapes::tcp_states(net);
    entries.extend(shapes::icmp(net));
    entries.extend(shapes::gre_and_unknown(net));
    entries.extend(shapes::zones(net));
    entries.extend(shapes::sctp_states(
        &format!("10.{net}.20.1"),
        &format!("10.{net}.20.2"),
        7,
    ));
    entries.extend([
        format!("-p tcp -s 10.{net}.18.1 -d 10.{net}.18.2 --sport 1001 --dport 80 --state ESTABLISHED -t {timeout} --src-nat 10.{net}.18.100"),
        format!("-p tcp -s 10.{net}.18.1 -d 10.{net}.18.2 --sport 1003 --dport 80 --state ESTABLISHED -t {timeout} --dst-nat 10.{net}.18.101:8080 -u SEEN_REPLY,ASSURED"),
        format!("-p udp -s 10.{net}.18.1 -d 10.{net}.18.2 --sport 1005 --dport 53 -t {timeout} --src-nat 10.{net}.18.100:20000 --dst-nat 10.{net}.18.101:5353 -u SEEN_REPLY"),
        format!("-p udp -s 10.{net}.19.1 -d 10.{net}.19.2 --sport 1 --dport 53 -t {timeout} -m 7"),
        format!("-p udp -s fd00:{net}::19:1 -d fd00:{net}::19:2 --sport 2 --dport 53 -t {timeout} -m 0x10"),
        format!("-p tcp -s fd00:{net}::19:1 -d fd00:{net}::19:2 --sport 3 --dport 22 --state ESTABLISHED -t {timeout} -u SEEN_REPLY,ASSURED"),
    ]);
    entries
}

/// Every tracker, state, zone, mark, label and NAT shape, with accounting and timestamps.
fn saved_table() -> Netns {
    let ns = Netns::new();
    ns.enable_acct_and_timestamps();
    ns.enable_labels();
    ns.insert_bulk(&mixed_entries(231, 100));
    for (sport, labels) in [("1", "one,five"), ("2", "zero,top"), ("3", "three")] {
        ns.insert_with_labels(
            FULL_LABEL_MAP,
            &format!("-p udp -s 10.231.30.1 -d 10.231.30.2 --sport {sport} --dport 2 -t 300 --label-add {labels}"),
        );
    }
    ns
}

/// `argv` in `ns` with the full label map as /etc/xtables/connlabel.conf and TZ=UTC
/// (ktimestamp prints local time).
fn labelled(ns: &Netns, argv: &[&str]) -> Command {
    let mut cmd = ns.exec_cmd_with(Xtables::LabelMap(FULL_LABEL_MAP), argv);
    cmd.env("TZ", "UTC");
    cmd
}

fn ok_text(what: &str, out: Output) -> String {
    check_ok(what, &out)
}

fn o_args(options: &str) -> Vec<&str> {
    if options.is_empty() {
        Vec::new()
    } else {
        vec!["-o", options]
    }
}

#[test]
fn conntrack_text_reads_back_as_the_same_text_in_every_option_set() {
    require_kernel!();
    let ns = saved_table();
    let bin = ct_bin();
    for options in output_option_sets()
        .iter()
        .filter(|options| options.as_str() != "save")
    {
        // A dump that spans a second boundary shows two clocks in one file; take another.
        let mut attempts = 0;
        loop {
            let mut argv = vec!["conntrack", "-L"];
            argv.extend(o_args(options));
            let saved = ok_text("conntrack -L", run(&mut labelled(&ns, &argv)));
            assert!(saved.lines().count() > 40, "{saved}");
            let file = TempFile::new("saved", &saved);
            let mut argv = vec![bin.as_str(), "list", "--input", file.path_str()];
            argv.extend(o_args(options));
            let out = run(&mut labelled(&ns, &argv));
            let again = ok_text("ct list --input", out.clone());
            if again == saved || attempts == 2 {
                assert_eq!(again, saved, "-o {options}");
                assert_eq!(
                    String::from_utf8_lossy(&out.stderr),
                    format!(
                        "ct: {} flow entries have been shown.\n",
                        saved.lines().count()
                    )
                );
                break;
            }
            attempts += 1;
        }
    }
}

/// The entries of a JSON Lines text, by kernel id.
fn by_id(json: &str) -> BTreeMap<u64, Value> {
    json.lines()
        .map(|line| {
            let object: Value = serde_json::from_str(line).unwrap();
            (object["id"].as_u64().expect("an id"), object)
        })
        .collect()
}

/// Every field of `read` (from text) equals `live`'s, but the TTL and the start time,
/// which tick, and the status, of which text shows only some bits.
fn assert_carried_fields_equal(read: &Value, live: &Value, path: &str) {
    match (read, live) {
        (Value::Object(read), Value::Object(live)) => {
            for (key, value) in read {
                let at = format!("{path}.{key}");
                let Some(theirs) = live.get(key) else {
                    panic!("{at} is read from the text but not in the live entry");
                };
                match key.as_str() {
                    "timeout" => {
                        let diff = value.as_i64().unwrap() - theirs.as_i64().unwrap();
                        assert!(diff.abs() <= 3, "{at}: {value} against {theirs}");
                    }
                    "start" => {
                        let diff = value.as_i64().unwrap() / 1_000_000_000
                            - theirs.as_i64().unwrap() / 1_000_000_000;
                        assert!(diff.abs() <= 3, "{at}: {value} against {theirs}");
                    }
                    "status" => {
                        for flag in value.as_array().unwrap() {
                            assert!(
                                theirs.as_array().unwrap().contains(flag),
                                "{at}: {flag} is not in {theirs}"
                            );
                        }
                    }
                    _ => assert_carried_fields_equal(value, theirs, &at),
                }
            }
        }
        _ => assert_eq!(read, live, "{path}"),
    }
}

#[test]
fn text_read_back_as_json_equals_the_live_json() {
    require_kernel!();
    let ns = saved_table();
    let bin = ct_bin();
    let saved = ok_text(
        "conntrack -L",
        run(&mut labelled(
            &ns,
            &["conntrack", "-L", "-o", "extended,id,ktimestamp,labels"],
        )),
    );
    let file = TempFile::new("saved", &saved);
    let read = ok_text(
        "ct list --input -o json",
        run(&mut labelled(
            &ns,
            &[&bin, "list", "--input", file.path_str(), "-o", "json"],
        )),
    );
    let live = ok_text(
        "ct list -o json",
        run(&mut labelled(&ns, &[&bin, "list", "-o", "json"])),
    );
    let (read, live) = (by_id(&read), by_id(&live));
    assert_eq!(read.len(), saved.lines().count());
    assert_eq!(
        read.keys().collect::<Vec<_>>(),
        live.keys().collect::<Vec<_>>()
    );
    for (id, entry) in &read {
        assert_carried_fields_equal(entry, &live[id], &format!("id {id}"));
        // What the text carries is all there.
        for key in [
            "family", "proto", "protonum", "timeout", "original", "reply", "mark", "use", "id",
            "start",
        ] {
            assert!(entry.get(key).is_some(), "id {id}: no {key} in {entry}");
        }
        for direction in ["original", "reply"] {
            for key in ["src", "dst", "packets", "bytes"] {
                assert!(
                    entry[direction].get(key).is_some(),
                    "id {id}: no {direction}.{key}"
                );
            }
        }
    }
    let labelled_entries = read.values().filter(|e| e.get("labels").is_some()).count();
    assert_eq!(labelled_entries, 3);
    let zoned = read.values().filter(|e| e.get("zone").is_some()).count();
    assert!(zoned > 0);
}

#[test]
fn proc_lines_read_back_as_conntrack_prints_them() {
    require_kernel!();
    let ns = saved_table();
    let bin = ct_bin();
    let proc_lines = ns.exec_ok(&["cat", "/proc/net/nf_conntrack"]);
    let file = TempFile::new("proc", &proc_lines);
    let conntrack = ok_text(
        "conntrack -L",
        run(&mut labelled(&ns, &["conntrack", "-L", "-o", "extended"])),
    );
    let read = ok_text(
        "ct list --input",
        run(&mut labelled(
            &ns,
            &[&bin, "list", "--input", file.path_str(), "-o", "extended"],
        )),
    );
    // /proc counts the reference its reader holds while printing: one more `use`.
    let sorted = |text: &str, extra_use: u32| {
        let mut lines: Vec<String> = text
            .lines()
            .map(|line| {
                let (head, tail) = line.rsplit_once(" use=").expect("a use count");
                let count: u32 = tail.parse().unwrap();
                normalise(&format!("{head} use={}", count - extra_use))
            })
            .collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&read, 1), sorted(&conntrack, 0));
}

#[test]
fn ct_json_lines_read_back_as_the_same_json() {
    require_kernel!();
    let ns = saved_table();
    let bin = ct_bin();
    let json = ok_text(
        "ct list -o json",
        run(&mut labelled(&ns, &[&bin, "list", "-o", "json"])),
    );
    let file = TempFile::new("json", &json);
    let again = ok_text(
        "ct list --input",
        run(&mut labelled(
            &ns,
            &[&bin, "list", "--input", file.path_str(), "-o", "json"],
        )),
    );
    assert_eq!(again, json);
    // Standard input too.
    let piped = ok_text(
        "ct list --input -",
        run(&mut labelled(
            &ns,
            &[
                "sh",
                "-c",
                &format!("{bin} list --input - -o json < {}", file.path_str()),
            ],
        )),
    );
    assert_eq!(piped, json);
}

#[test]
fn filters_count_and_top_apply_to_saved_dumps() {
    require_kernel!();
    let ns = saved_table();
    let bin = ct_bin();
    let saved = ok_text(
        "conntrack -L",
        run(&mut labelled(
            &ns,
            &["conntrack", "-L", "-o", "extended,id,labels"],
        )),
    );
    let file = TempFile::new("saved", &saved);
    let input = ["--input", file.path_str()];
    let ct = |args: &[&str]| {
        let mut argv = vec![bin.as_str()];
        argv.extend_from_slice(args);
        ok_text(&format!("ct {args:?}"), run(&mut labelled(&ns, &argv)))
    };
    for filter in [
        &["-p", "tcp", "--state", "ESTABLISHED"][..],
        &["-s", "10.231.0.0/16", "-p", "udp"],
        &["-f", "ipv6"],
        &["-m", "7"],
        &["-w", "3"],
        &["-n"],
        &["--dst-nat"],
        &["-u", "ASSURED"],
        &["-l", "five"],
        &["--dport", "80"],
    ] {
        let mut from_file = vec!["list", "-o", "extended,id,labels"];
        from_file.extend_from_slice(&input);
        from_file.extend_from_slice(filter);
        let mut live = vec!["list", "-o", "extended,id,labels"];
        live.extend_from_slice(filter);
        let (read, live) = (ct(&from_file), ct(&live));
        assert!(!read.is_empty(), "{filter:?} matched nothing");
        let lines = |text: &str| {
            let mut lines = text.lines().map(normalise).collect::<Vec<_>>();
            lines.sort();
            lines
        };
        assert_eq!(lines(&read), lines(&live), "{filter:?}");

        let mut count = vec!["count"];
        count.extend_from_slice(&input);
        count.extend_from_slice(filter);
        assert_eq!(
            ct(&count).trim(),
            read.lines().count().to_string(),
            "{filter:?}"
        );
    }
    let mut count = vec!["count"];
    count.extend_from_slice(&input);
    assert_eq!(ct(&count).trim(), ns.conntrack(&["-C"]).trim());

    for by in ["proto,state", "src/24,dport", "zone,mark,label", "nat"] {
        let mut from_file = vec!["top", "--by", by, "-o", "json", "-n", "1000"];
        from_file.extend_from_slice(&input);
        let live = ["top", "--by", by, "-o", "json", "-n", "1000"];
        assert_eq!(ct(&from_file), ct(&live), "--by {by}");
    }
    let mut table = vec!["top", "--by", "proto", "-n", "1"];
    table.extend_from_slice(&input);
    let head = ct(&table);
    assert_eq!(
        head.lines().next().unwrap(),
        format!("entries {} (saved dump)", saved.lines().count())
    );
}

#[test]
fn bad_lines_are_reported_skipped_and_counted() {
    let good = "udp      17 29 src=10.231.1.1 dst=10.231.1.2 sport=1 dport=2 [UNREPLIED] src=10.231.1.2 dst=10.231.1.1 sport=2 dport=1 mark=0 use=1";
    let text = format!(
        "{good}\nnot an entry\n\nudp      17 29 src=10.231.1.999 dst=10.231.1.2\n{{\"family\":\"ipv4\",\"bogus\":1}}\n\u{1}\u{2}\n{good}\n"
    );
    let file = TempFile::new("bad", &text);
    let out = run(ct_command().args(["list", "--input", file.path_str()]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{good}\n{good}\n")
    );
    let errors = String::from_utf8_lossy(&out.stderr).into_owned();
    let lines: Vec<&str> = errors.lines().collect();
    let name = file.path_str();
    assert_eq!(lines.len(), 6, "{errors}");
    for (line, number) in lines.iter().zip([2, 4, 5, 6]) {
        assert!(
            line.starts_with(&format!("ct: {name}:{number}: ")) && line.ends_with("; skipped"),
            "{errors}"
        );
    }
    assert_eq!(
        lines[4],
        format!("ct: skipped 4 lines of {name} that could not be read.")
    );
    assert_eq!(lines[5], "ct: 2 flow entries have been shown.");
}

#[test]
fn input_errors_are_for_people() {
    let missing = run(ct_command().args(["list", "--input", "/nonexistent/ct-saved"]));
    assert_eq!(missing.status.code(), Some(1));
    assert!(missing.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&missing.stderr),
        "ct: cannot open /nonexistent/ct-saved: No such file or directory (os error 2)\n"
    );
    for args in [
        &["list", "expect", "--input", "x"][..],
        &["list", "dying", "--input", "x"],
        &["count", "expect", "--input", "x"],
        &["list", "--input", "x", "--netns", "blue"],
        &["top", "--input", "x", "-b", "100000"],
        &["top", "--input", "x", "--live"],
    ] {
        let out = run(ct_command().args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// What `--input` says when the file is no saved table, for every command that reads one.
const ADVICE: &str =
    "save the table with conntrack -L, -L -o extended or -L -o save, or with ct list -o json";

#[test]
fn files_in_other_formats_exit_2_naming_the_format() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let random = TempFile::new("random", "Dear diary,\ntoday the firewall was quiet.\n");
    let events = TempFile::new(
        "events",
        "    [NEW] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1\n",
    );
    let cases = [
        (
            format!("{fixtures}/router.xml.txt"),
            "looks like conntrack's XML output (-o xml), which --input cannot read".to_string(),
        ),
        (
            format!("{fixtures}/router.table"),
            "looks like ct's table (-o table), which --input cannot read".into(),
        ),
        (
            events.path_str().to_string(),
            "looks like event lines (conntrack -E, ct watch), which --input cannot read".into(),
        ),
        (
            random.path_str().to_string(),
            "is not a saved table: line 1 ('Dear diary,') is none of conntrack -L text, \
             /proc/net/nf_conntrack, ct's JSON Lines or -o save lines"
                .into(),
        ),
    ];
    for (path, what) in cases {
        for command in [&["list"][..], &["count"], &["top", "-n", "1"]] {
            let mut argv = command.to_vec();
            argv.extend(["--input", &path]);
            let out = run(ct_command().args(&argv));
            assert_eq!(out.status.code(), Some(2), "{argv:?}");
            assert!(out.stdout.is_empty(), "{argv:?}");
            assert_eq!(
                String::from_utf8_lossy(&out.stderr),
                format!("ct: {path} {what}; {ADVICE}\n"),
                "{argv:?}"
            );
        }
    }
    // Standard input is named as such.
    let out = run(Command::new("sh").args([
        "-c",
        &format!("{} count --input - < {fixtures}/router.table", ct_bin()),
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "ct: standard input looks like ct's table (-o table), which --input cannot read; \
             {ADVICE}\n"
        )
    );
}

/// A message quotes at most 80 characters of a line, whatever its length; a line longer
/// than any entry is reported by its start, and the lines after it are read.
#[test]
fn messages_quote_at_most_80_characters_of_a_line() {
    let good = "udp      17 29 src=10.231.1.1 dst=10.231.1.2 sport=1 dport=2 [UNREPLIED] src=10.231.1.2 dst=10.231.1.1 sport=2 dport=1 mark=0 use=1";
    let huge = format!("udp 17 29 src={}", "1".repeat(5_000_000));
    let long_value = format!(
        "{{\"family\":\"ipv4\",\"proto\":\"{}\"}}",
        "é".repeat(10_000)
    );
    let text = format!("{good}\n{huge}\n{long_value}\n{good}\n");
    let file = TempFile::new("long", &text);
    let out = run(ct_command().args(["list", "--input", file.path_str()]));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{good}\n{good}\n")
    );
    let name = file.path_str();
    let ones = "1".repeat(65);
    let accents = "é".repeat(79);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "ct: {name}:2: the line is {} bytes long, longer than any saved entry (65536 \
             bytes at most): 'udp 17 29 src={ones}…'; skipped\n\
             ct: {name}:3: 'proto': unknown protocol '{accents}…'; skipped\n\
             ct: skipped 2 lines of {name} that could not be read.\n\
             ct: 2 flow entries have been shown.\n",
            huge.len() + 1
        )
    );
}

/// The words of `ct list`'s line that a save line carries: all but `mark=` and `use=`
/// (counters, id, timestamps and labels are not on the default line without
/// accounting), with the TTL normalised; sorted.
fn carried_rows(text: &str) -> Vec<String> {
    let mut rows: Vec<String> = text
        .lines()
        .map(|line| {
            let kept: Vec<&str> = line
                .split(' ')
                .filter(|word| !word.starts_with("mark=") && !word.starts_with("use="))
                .collect();
            normalise(&kept.join(" "))
        })
        .collect();
    rows.sort();
    rows
}

/// `conntrack -L -o save` and `ct list -o save` of a table, read back with `--input`,
/// print the rows `ct list` prints of the live table, for every protocol, but for what a
/// save line does not carry (mark, use, id, counters, timestamps, labels). The JSON
/// agrees in every field read, the state and SCTP's vtags included.
#[test]
fn save_lines_read_back_as_the_live_rows() {
    require_kernel!();
    let ns = Netns::new();
    ns.enable_labels();
    ns.insert_bulk(&mixed_entries(232, 200));
    ns.insert_with_labels(
        FULL_LABEL_MAP,
        "-p udp -s 10.232.30.1 -d 10.232.30.2 --sport 1 --dport 2 -t 300 --label-add one,five",
    );
    let bin = ct_bin();
    let live = ns.exec_ok(&[&bin, "list"]);
    let live_json = ns.exec_ok(&[&bin, "list", "-o", "json"]);
    for protocol in [
        "tcp ", "udp ", "icmp ", "icmpv6 ", "gre ", "sctp ", "unknown ",
    ] {
        assert!(
            live.lines().any(|line| line.starts_with(protocol)),
            "{protocol}: {live}"
        );
    }
    for shape in ["zone=", "[ASSURED]", "dst=fd00:", "srckey="] {
        assert!(live.contains(shape), "{shape}: {live}");
    }
    // An entry by its original tuple (without what only a dump carries: counters, and
    // the tracker's window scale and flags) and zone.
    let key = |entry: &Value| {
        let mut original = entry["original"].clone();
        original.as_object_mut().unwrap().retain(|field, _| {
            !matches!(field.as_str(), "packets" | "bytes" | "wscale" | "tcp_flags")
        });
        format!("{} {original} {}", entry["proto"], entry["zone"])
    };
    let live_by_key: BTreeMap<String, Value> = live_json
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|entry| (key(&entry), entry))
        .collect();
    assert_eq!(live_by_key.len(), live.lines().count());

    for saver in [
        &["conntrack", "-L", "-o", "save"][..],
        &[&bin, "list", "-o", "save"],
    ] {
        let saved = ns.exec_ok(saver);
        assert_eq!(saved.lines().count(), live.lines().count(), "{saver:?}");
        let file = TempFile::new("save", &saved);
        let out = ns.exec(&[&bin, "list", "--input", file.path_str()]);
        let read = check_ok("ct list --input", &out);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!(
                "ct: {} flow entries have been shown.\n",
                saved.lines().count()
            ),
            "{saver:?}"
        );
        assert_eq!(carried_rows(&read), carried_rows(&live), "{saver:?}");

        let read_json = ns.exec_ok(&[&bin, "list", "--input", file.path_str(), "-o", "json"]);
        for line in read_json.lines() {
            let entry: Value = serde_json::from_str(line).unwrap();
            let Some(theirs) = live_by_key.get(&key(&entry)) else {
                panic!("{line} is not in the live table: {live_json}");
            };
            assert_carried_fields_equal(&entry, theirs, line);
            for absent in ["mark", "use", "id", "labels", "start"] {
                assert!(entry.get(absent).is_none(), "{absent} in {line}");
            }
            if entry["proto"] == "sctp" {
                assert_eq!(entry["state"], theirs["state"], "{line}");
                assert!(entry["original"].get("vtag").is_some(), "{line}");
            }
        }
    }
}
