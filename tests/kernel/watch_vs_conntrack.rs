//! `ct watch` must print exactly what `conntrack -E` prints for the same events.
//!
//! Each test starts pairs of watchers in one namespace, `ct watch ARGS` beside
//! `conntrack -E ARGS`, waits until the kernel lists them all as listeners, makes events
//! (inserts, updates, deletes of every tracker, or real traffic through a masquerading
//! router with helpers), stops them with SIGINT as a person does, and compares the two
//! outputs line by line, after `crate::common::events::normalise` (times, and the name of a
//! short-lived process one of them may no longer find).

use crate::changes;
use crate::fill;

use std::process::Command;
use std::time::Duration;

use crate::common::events::{EventWatcher, events_shown, normalise, wait_for_listeners};
use crate::common::*;
use crate::fill::FillSpec;
use ct::decode::decode_entry;
use ct::filter::Filter;
use ct::kernel::*;
use ct::netlink::attributes::{be16, be32, tuple};
use ct::netlink::{Conntrack, Request};
use netlink_packet_core::DefaultNla;

/// This file's address block (see `common::shapes`).
const NET: u8 = 202;

/// The protocol names of the classic line (padded), one per tracker the scripted
/// sequence inserts.
const TRACKERS: [&str; 9] = [
    "tcp ", "udp ", "udplite ", "sctp ", "dccp ", "icmp ", "icmpv6 ", "gre ", "unknown ",
];

/// A `ct watch` and a `conntrack -E` with the same arguments.
struct Pair {
    args: Vec<String>,
    ct: EventWatcher,
    conntrack: EventWatcher,
}

impl Pair {
    /// Starts both in `ns`, with `/etc/xtables/connlabel.conf` = `labels`. `args` may
    /// start with `expect` (`ct watch expect`, `conntrack -E expect`).
    fn start(ns: &Netns, labels: &str, args: &[&str]) -> Pair {
        let mut ct_argv = vec![ct_bin()];
        ct_argv.push("watch".into());
        ct_argv.extend(args.iter().map(|a| a.to_string()));
        let mut conntrack_argv = vec!["conntrack".to_string(), "-E".to_string()];
        conntrack_argv.extend(args.iter().map(|a| a.to_string()));
        let command = |argv: &[String]| -> Command {
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            ns.exec_cmd_with(Xtables::LabelMap(labels), &argv)
        };
        Pair {
            args: args.iter().map(|a| a.to_string()).collect(),
            ct: EventWatcher::spawn(command(&ct_argv)),
            conntrack: EventWatcher::spawn(command(&conntrack_argv)),
        }
    }

    /// Stops both and requires the same events, line by line; returns ct's lines.
    fn stop_and_compare(self) -> Vec<String> {
        let ct = self.ct.stop();
        let conntrack = self.conntrack.stop();
        let what = self.args.join(" ");
        // conntrack's XML names SCTP and DCCP states with TCP's names; ct does not.
        let fixed: String = conntrack
            .stdout
            .lines()
            .map(|line| fix_conntrack_xml_state(line) + "\n")
            .collect();
        let (ours, theirs) = (normalise(&ct.stdout), normalise(&fixed));
        let (ours, theirs): (Vec<&str>, Vec<&str>) =
            (ours.lines().collect(), theirs.lines().collect());
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            assert!(
                same_line(a, b),
                "`ct watch {what}` and `conntrack -E {what}` differ at line {}:\n  ct:        {a}\n  conntrack: {b}",
                i + 1
            );
        }
        assert_eq!(
            ours.len(),
            theirs.len(),
            "`ct watch {what}` printed {} lines, `conntrack -E {what}` {}:\n--- ct\n{}\n--- conntrack\n{}",
            ours.len(),
            theirs.len(),
            ct.stdout,
            conntrack.stdout
        );
        assert_eq!(
            events_shown(&ct.stderr),
            events_shown(&conntrack.stderr),
            "the counts on stderr differ for {what}"
        );
        ct.stdout.lines().map(str::to_string).collect()
    }
}

/// Equal lines, or lines that differ only in that one watcher found the name of the
/// process behind a change (` progname=X`) and the other, later, did not.
fn same_line(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let strip = |line: &str| match line.find(" progname=") {
        Some(at) => line[..at].to_string(),
        None => line.to_string(),
    };
    (a.starts_with(b) || b.starts_with(a)) && strip(a) == strip(b)
}

/// The entries the scripted sequence inserts with `conntrack -R`: every tracker,
/// both families, zones, states, statuses.
fn inserted() -> Vec<String> {
    let mut lines = Vec::new();
    lines.extend(shapes::tcp_states(NET));
    lines.extend(shapes::sctp_states("10.202.13.1", "10.202.13.2", 0x2000));
    lines.extend(shapes::icmp(NET));
    lines.extend(shapes::gre_and_unknown(NET));
    lines.extend(shapes::zones(NET));
    lines.extend(
        [
            "-p udp -s 10.202.11.1 -d 10.202.11.2 --sport 53 --dport 5353 -t 120 -u SEEN_REPLY",
            "-p udplite -s 10.202.11.1 -d 10.202.11.2 --sport 54 --dport 5353 -t 121",
            "-p udp -s fd00:202::11:1 -d fd00:202::11:2 --sport 53 --dport 5353 -t 122",
            "-p tcp -s fd00:202::10:1 -d fd00:202::10:2 --sport 443 --dport 80 --state ESTABLISHED -t 123 -u SEEN_REPLY,ASSURED",
            "-p dccp -s 10.202.15.1 -d 10.202.15.2 --sport 1 --dport 2 --state OPEN --role client -t 124",
            "-p tcp -s 10.202.16.1 -d 10.202.16.2 --sport 5 --dport 80 --state ESTABLISHED -t 125 -m 5",
        ]
        .map(String::from),
    );
    lines
}

/// Entries this test process makes, changes and deletes over its own socket: their
/// events name this (live) process, so both watchers find its name.
const OWN: FillSpec = FillSpec {
    count: 12,
    base: 203,
    mark: 0,
    zone: None,
    timeout: 300,
    ipv6: false,
};

/// CTA_LABELS and CTA_LABELS_MASK setting label bits `bits` (of 128).
fn labels(bits: &[u32]) -> Vec<DefaultNla> {
    let mut map = [0u8; 16];
    for &bit in bits {
        map[(bit / 32 * 4) as usize..][..4]
            .iter_mut()
            .zip((1u32 << (bit % 32)).to_ne_bytes())
            .for_each(|(byte, set)| *byte |= set);
    }
    vec![
        DefaultNla::new(CTA_LABELS, map.to_vec()),
        DefaultNla::new(CTA_LABELS_MASK, map.to_vec()),
    ]
}

/// The scripted sequence: inserts of every tracker (`conntrack -R`), this process's
/// own entries made, marked, labelled and deleted, then deletes by protocol and a
/// flush (`conntrack -D`, `-F`).
/// Returns the socket of this process's changes: while it is open, the watchers can
/// find which program it belongs to.
fn play_script(ns: &Netns) -> Conntrack {
    ns.insert_bulk(&inserted());
    let own = ns.run_in(|| {
        let mut own = Conntrack::open(None).unwrap();
        change_every_entry(&mut own, &[be32(CTA_MARK, 0x202)]);
        change_every_entry(&mut own, &labels(&[0, 127]));
        fill::fill_with(&mut own, OWN).unwrap();
        let mark = |i: u32| vec![be32(CTA_MARK, if i % 2 == 0 { 5 } else { 0x15 })];
        changes::update_with(&mut own, OWN, mark).unwrap();
        let label = |i: u32| labels(if i % 3 == 0 { &[1, 5] } else { &[3] });
        changes::update_with(&mut own, OWN, label).unwrap();
        changes::delete_with(&mut own, OWN).unwrap();
        own
    });
    ns.conntrack(&["-D", "-p", "sctp"]);
    ns.conntrack(&["-D", "-f", "ipv6"]);
    ns.conntrack(&["-F"]);
    own
}

/// Gives every entry in the table, of every tracker, the attributes `change` (a mark,
/// labels) over `conntrack`'s socket: an UPDATE event each. (`conntrack -U` cannot do it on this kernel: it sends
/// the entry's SYN proxy data back, which the kernel refuses with EOPNOTSUPP.)
fn change_every_entry(conntrack: &mut Conntrack, change: &[DefaultNla]) {
    let mut requests = Vec::new();
    conntrack
        .dump_entries(&Filter::default(), |message| {
            let entry = decode_entry(message.family, message.attributes)?;
            let mut attributes = vec![tuple(CTA_TUPLE_ORIG, &entry.original, entry.original.zone)];
            attributes.extend(entry.zone.map(|zone| be16(CTA_ZONE, zone)));
            attributes.extend(change.iter().cloned());
            requests.push(Request::single(
                NFNL_SUBSYS_CTNETLINK,
                IPCTNL_MSG_CT_NEW,
                message.family,
                attributes,
                "the update",
            ));
            Ok(())
        })
        .unwrap();
    assert!(requests.len() > 40, "{} entries to mark", requests.len());
    conntrack
        .send_batch(&requests, |index, errno| {
            panic!(
                "the kernel refused to change entry {index}: {}",
                std::io::Error::from_raw_os_error(errno)
            )
        })
        .unwrap();
}

/// Every `-e` subset, the `-o` modifiers and formats, and filters of each kind, side by
/// side with conntrack on one scripted sequence: 26 pairs at once.
#[test]
fn scripted_sequence_matches_conntrack_in_every_variant() {
    require_kernel!();
    let ns = Netns::new();
    ns.enable_acct_and_timestamps();
    ns.enable_labels();
    let variants: &[&[&str]] = &[
        &[],
        &["-e", "NEW"],
        &["-e", "UPDATES"],
        &["-e", "DESTROY"],
        &["-e", "NEW,DESTROY"],
        &["-e", "NEW,UPDATES"],
        &["-e", "UPDATES,DESTROY"],
        &["-o", "save"],
        &["-e", "UPDATES", "-o", "save"],
        &["-o", "extended,id"],
        &["-o", "timestamp"],
        &["-o", "ktimestamp"],
        &["-o", "labels"],
        &["-o", "xml"],
        &["-o", "xml,timestamp,id"],
        &["-p", "tcp"],
        &["-s", "10.202.10.1"],
        &["-f", "ipv6"],
        &["-d", "fd00:202::12:2"],
        &["-s", "10.203.0.0/16"],
        &["-m", "5"],
        &["-p", "tcp", "--state", "ESTABLISHED"],
        &["-w", "7"],
        &["-p", "tcp", "--dport", "80"],
        &["-l", "one"],
    ];
    let pairs: Vec<Pair> = variants
        .iter()
        .map(|args| Pair::start(&ns, FULL_LABEL_MAP, args))
        .collect();
    // conntrack -E refuses -u/--status; ct takes every filter of ct list.
    let assured = EventWatcher::spawn(ns.exec_cmd(&[&ct_bin(), "watch", "-u", "ASSURED"]));
    wait_for_listeners(&ns, 2 * pairs.len() + 1);
    let own_socket = play_script(&ns);
    // conntrack stops at once on SIGINT, with what it has not read yet still queued.
    std::thread::sleep(Duration::from_millis(700));
    let own_program = own_program_name();
    let assured = assured.stop().stdout;
    drop(own_socket);
    let mut all = None;
    for pair in pairs {
        let args = pair.args.join(" ");
        let lines = pair.stop_and_compare();
        assert!(!lines.is_empty(), "no event for `{args}`");
        if args.is_empty() {
            // Every kind of event, and the name of the live process behind its own.
            for tag in ["    [NEW] ", " [UPDATE] ", "[DESTROY] "] {
                assert!(lines.iter().any(|l| l.starts_with(tag)), "no {tag} event");
            }
            // Every tracker's entries were marked (and labelled: see -o labels below).
            for proto in TRACKERS {
                assert!(
                    lines
                        .iter()
                        .any(|l| l.starts_with(&format!(" [UPDATE] {proto}"))
                            && l.contains(" mark=514 ")),
                    "no mark update of {proto}"
                );
            }
            let named = format!(" progname={own_program}");
            let own = lines
                .iter()
                .filter(|l| l.contains("src=10.203.") && l.ends_with(&named))
                .count();
            assert_eq!(own, 4 * OWN.count as usize, "events naming {own_program}");
            all = Some(lines);
        } else if args == "-o labels" {
            for proto in TRACKERS {
                assert!(
                    lines
                        .iter()
                        .any(|l| l.starts_with(&format!(" [UPDATE] {proto}"))
                            && l.contains(" labels=zero,top")),
                    "no label update of {proto}"
                );
            }
        }
    }
    let all = all.unwrap();
    let expected: Vec<&String> = all.iter().filter(|l| l.contains(" [ASSURED]")).collect();
    assert!(!expected.is_empty());
    assert_eq!(
        normalise(&assured),
        normalise(
            &expected
                .iter()
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        )
    );
}

/// The name /proc gives this process, as both watchers print it.
fn own_program_name() -> String {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let (_, rest) = stat.split_once(" (").unwrap();
    rest.split_once(')').unwrap().0.to_string()
}

/// Real traffic through the masquerading router (TCP in every state, UDP, ICMP,
/// ICMPv6, the FTP and TFTP helpers), then the expectations and the table flushed:
/// entry and expectation events identical to conntrack's.
#[test]
fn real_traffic_matches_conntrack() {
    require_kernel!();
    let mut topology = Topology::new();
    let router = &topology.router;
    let variants: &[&[&str]] = &[
        &[],
        &["-o", "extended,id,ktimestamp"],
        &["-o", "xml"],
        &["-p", "icmp"],
        &["-e", "DESTROY"],
        &["-o", "save"],
        &["-n"],
        &["expect"],
        &["expect", "-o", "xml"],
        &["expect", "-o", "timestamp"],
    ];
    let pairs: Vec<Pair> = variants
        .iter()
        .map(|args| Pair::start(router, LABEL_MAP, args))
        .collect();
    wait_for_listeners(router, 2 * pairs.len());
    topology.generate_all_traffic();
    let held = crate::common::expectations::make_expectations(&topology);
    let router = &topology.router;
    router.conntrack(&["-F", "expect"]);
    router.conntrack(&["-F"]);
    drop(held);
    std::thread::sleep(Duration::from_millis(700));
    for pair in pairs {
        let args = pair.args.join(" ");
        let lines = pair.stop_and_compare();
        assert!(!lines.is_empty(), "no event for `{args}`");
        if args.is_empty() {
            for proto in ["tcp ", "udp ", "icmp ", "icmpv6 "] {
                assert!(
                    lines.iter().any(|l| l[10..].starts_with(proto)),
                    "no {proto}event"
                );
            }
        }
        if args == "expect" {
            for helper in ["helper=ftp", "helper=tftp"] {
                assert!(
                    lines
                        .iter()
                        .any(|l| l.starts_with("    [NEW] ") && l.ends_with(helper)),
                    "no new {helper} expectation"
                );
            }
            assert!(lines.iter().any(|l| l.starts_with("[DESTROY] ")));
        }
    }
}
