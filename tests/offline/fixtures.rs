//! Decoder and classic-printer tests on ctnetlink dumps captured from a real kernel.
//!
//! tests/fixtures/capture.sh made the fixtures: for each scenario, the kernel's datagrams
//! (`S.bin`), the capture time (`S.now`) and what `conntrack -L` printed for the same
//! table with each -o variant (`S.V.txt`), in the same order. These tests need no root
//! and no kernel: they run anywhere. After a new capture, the values pinned in
//! `ftp_entry_through_masquerade_decodes_every_field` (ports, id, TTL) need updating.

use crate::schema;

use std::path::{Path, PathBuf};

use ct::decode::decode_entry;
use ct::kernel::*;
use ct::labelmap::LabelMap;
use ct::model::entry::{Counters, Entry, L4, ProtoState};
use ct::netlink::{Batch, DumpStats, walk_datagram};
use ct::output::classic::{ClassicOptions, ClassicPrinter};
use ct::output::json::JsonPrinter;
use ct::output::table::TablePrinter;
use ct::output::xml::XmlPrinter;
use ct::output::{Frame, Print, Record};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every conntrack message of a captured dump, as (family, attributes).
fn messages(scenario: &str) -> Vec<(u8, Vec<u8>)> {
    let bytes = std::fs::read(fixture(&format!("{scenario}.bin"))).unwrap();
    let mut out = Vec::new();
    let mut stats = DumpStats::default();
    let end = walk_datagram(&bytes, None, "the capture", &mut stats, &mut |m| {
        out.push((m.family, m.attributes.to_vec()));
        Ok(())
    })
    .unwrap();
    assert_eq!(end, Batch::Done, "{scenario}.bin ends with NLMSG_DONE");
    out
}

fn capture_time(scenario: &str) -> i64 {
    std::fs::read_to_string(fixture(&format!("{scenario}.now")))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn label_map() -> LabelMap {
    LabelMap::load(&fixture("connlabel.conf")).unwrap()
}

/// Prints a scenario's entries as `ct list -o variant` would.
fn print_scenario(scenario: &str, variant: &str) -> String {
    if variant.starts_with("xml") {
        return print_xml(scenario, variant == "xml-all");
    }
    let all = variant == "all";
    let options = ClassicOptions {
        extended: all || variant == "extended",
        id: all || variant == "id",
        ktimestamp: all || variant == "ktimestamp",
    };
    let map = label_map();
    let labels = (all || variant == "labels").then_some(&map);
    let mut printer = ClassicPrinter::new(options, labels, capture_time(scenario));
    let mut out = Vec::new();
    for (family, attributes) in messages(scenario) {
        let entry = decode_entry(family, &attributes).unwrap();
        printer
            .print(&mut out, Record::Entry(&entry), &Frame::NONE)
            .unwrap();
    }
    String::from_utf8(out).unwrap()
}

/// `ct list -o xml` (with `all`: `-o xml,ktimestamp,labels`).
fn print_xml(scenario: &str, all: bool) -> String {
    let map = label_map();
    let mut printer = XmlPrinter::new(all, all.then_some(&map), capture_time(scenario));
    let mut out = Vec::new();
    for (family, attributes) in messages(scenario) {
        let entry = decode_entry(family, &attributes).unwrap();
        printer
            .print(&mut out, Record::Entry(&entry), &Frame::NONE)
            .unwrap();
    }
    printer.finish(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// conntrack's XML names an SCTP state with the TCP name of the same number
/// (`<state>SYN_RECV</state>` for COOKIE_WAIT); ct prints the SCTP name. This turns
/// conntrack's text into what ct prints, and so pins that difference.
fn with_sctp_state_names(conntrack_xml: &str) -> String {
    conntrack_xml
        .lines()
        .map(|line| {
            let (Some(start), true) = (line.find("<state>"), line.contains("protoname=\"sctp\""))
            else {
                return format!("{line}\n");
            };
            let from = start + "<state>".len();
            let end = from + line[from..].find('<').unwrap();
            let number = TCP_CONNTRACK_NAMES
                .iter()
                .position(|name| *name == &line[from..end])
                .unwrap();
            format!(
                "{}{}{}\n",
                &line[..from],
                SCTP_CONNTRACK_NAMES[number],
                &line[end..]
            )
        })
        .collect()
}

/// Compares line by line and, on a difference, shows the lines that differ.
fn assert_lines_eq(actual: &str, expected: &str, what: &str) {
    if actual == expected {
        return;
    }
    let mut report = String::new();
    for (n, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
        if a != e {
            report.push_str(&format!(
                "line {}:\n  ct:        {a}\n  conntrack: {e}\n",
                n + 1
            ));
        }
    }
    let (a, e) = (actual.lines().count(), expected.lines().count());
    if a != e {
        report.push_str(&format!("ct printed {a} lines, conntrack {e}\n"));
    }
    panic!("{what} differs from conntrack -L:\n{report}");
}

fn check_scenario(scenario: &str) {
    for variant in [
        "default",
        "extended",
        "id",
        "ktimestamp",
        "labels",
        "all",
        "xml",
        "xml-all",
    ] {
        let mut expected =
            std::fs::read_to_string(fixture(&format!("{scenario}.{variant}.txt"))).unwrap();
        if variant.starts_with("xml") {
            expected = with_sctp_state_names(&expected);
        }
        let actual = print_scenario(scenario, variant);
        assert_lines_eq(&actual, &expected, &format!("{scenario} -o {variant}"));
    }
}

#[test]
fn router_capture_prints_as_conntrack_in_every_variant() {
    check_scenario("router");
}

#[test]
fn plain_capture_without_accounting_prints_as_conntrack() {
    check_scenario("plain");
}

/// Compares `actual` with the golden file `name` in tests/fixtures. JSON and the table
/// have no conntrack counterpart to compare with byte for byte; formats.rs checks their
/// values against conntrack, and these files pin their exact bytes. After a deliberate
/// change or a new capture, `CT_UPDATE_GOLDEN=1 cargo test --test offline fixtures::`
/// rewrites them.
fn golden(name: &str, actual: &str) {
    let path = fixture(name);
    if std::env::var("CT_UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap();
    assert_lines_eq(actual, &expected, name);
}

fn render_scenario(scenario: &str, render: impl FnOnce(&[(u8, Vec<u8>)], &mut Vec<u8>)) -> String {
    let mut out = Vec::new();
    render(&messages(scenario), &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn json_of_every_captured_entry() {
    for scenario in ["router", "plain"] {
        let map = label_map();
        let json = render_scenario(scenario, |messages, out| {
            let mut printer = JsonPrinter::new(Some(&map));
            for (family, attributes) in messages {
                let entry = decode_entry(*family, attributes).unwrap();
                printer
                    .print(out, Record::Entry(&entry), &Frame::NONE)
                    .unwrap();
            }
        });
        // Every line is one entry object of docs/ct.schema.json.
        schema::validate_json_lines(schema::Kind::Entry, &json);
        golden(&format!("{scenario}.json"), &json);
    }
}

#[test]
fn table_of_every_captured_entry() {
    for scenario in ["router", "plain"] {
        let map = label_map();
        let table = render_scenario(scenario, |messages, out| {
            let mut printer = TablePrinter::new(None, false, Some(&map));
            for (family, attributes) in messages {
                let entry = decode_entry(*family, attributes).unwrap();
                printer
                    .print(out, Record::Entry(&entry), &Frame::NONE)
                    .unwrap();
            }
            printer.finish(out).unwrap();
        });
        for line in table.lines() {
            assert!(
                !line.ends_with(' '),
                "{scenario}: trailing space in {line:?}"
            );
        }
        golden(&format!("{scenario}.table"), &table);
    }
}

/// Finds the one entry of the router capture whose original source port is `sport`.
fn router_entry_with(sport: u16, check: impl FnOnce(&Entry<'_>)) {
    let all = messages("router");
    let mut found = all.iter().filter_map(|(family, attributes)| {
        let entry = decode_entry(*family, attributes).unwrap();
        matches!(entry.original.l4, L4::Ports { sport: s, .. } if s == sport).then_some(entry)
    });
    let entry = found.next().expect("entry in the capture");
    assert!(found.next().is_none(), "one entry with sport {sport}");
    check(&entry);
}

#[test]
fn ftp_entry_through_masquerade_decodes_every_field() {
    router_entry_with(56568, |entry| {
        assert_eq!(entry.family.raw(), AF_INET);
        assert_eq!(entry.protonum(), IPPROTO_TCP);
        assert_eq!(entry.original.src, Some("10.201.1.2".parse().unwrap()));
        assert_eq!(entry.original.dst, Some("10.201.2.2".parse().unwrap()));
        assert_eq!(
            entry.original.l4,
            L4::Ports {
                sport: 56568,
                dport: 21
            }
        );
        assert_eq!(entry.reply.src, Some("10.201.2.2".parse().unwrap()));
        // Masquerade rewrote the reply's destination to the router's address.
        assert_eq!(entry.reply.dst, Some("10.201.2.1".parse().unwrap()));
        assert_eq!(entry.timeout, Some(117));
        assert_eq!(entry.state, Some(ProtoState::Tcp(7)));
        assert_eq!(entry.state.unwrap().name(), "TIME_WAIT");
        let status = entry.status.unwrap();
        for bit in [
            IPS_SEEN_REPLY_BIT,
            IPS_ASSURED_BIT,
            IPS_CONFIRMED_BIT,
            IPS_SRC_NAT_BIT,
            IPS_SRC_NAT_DONE_BIT,
            IPS_DST_NAT_DONE_BIT,
            IPS_HELPER_BIT,
        ] {
            assert!(status.contains(bit), "status bit {bit}");
        }
        assert_eq!(entry.mark, Some(0));
        assert_eq!(entry.zone, None);
        assert_eq!(entry.use_count, Some(1));
        assert_eq!(entry.id, Some(3635602115));
        assert_eq!(
            entry.counters_original,
            Some(Counters {
                packets: 6,
                bytes: 420
            })
        );
        assert_eq!(
            entry.counters_reply,
            Some(Counters {
                packets: 4,
                bytes: 316
            })
        );
        assert!(entry.timestamp_start.is_some());
        assert_eq!(entry.timestamp_stop, None);
        assert_eq!(entry.helper, Some(&b"ftp"[..]));
        assert_eq!(entry.labels, None);
        assert_eq!(entry.secctx, None);
    });
}

#[test]
fn zones_per_direction_and_whole_entry() {
    router_entry_with(2006, |e| {
        assert_eq!(
            (e.original.zone, e.reply.zone, e.zone),
            (Some(3), None, None)
        );
    });
    router_entry_with(2012, |e| {
        assert_eq!(
            (e.original.zone, e.reply.zone, e.zone),
            (None, Some(4), None)
        );
    });
    router_entry_with(2005, |e| {
        assert_eq!(
            (e.original.zone, e.reply.zone, e.zone),
            (None, None, Some(7))
        );
    });
}

#[test]
fn labels_are_the_kernel_bitmap() {
    router_entry_with(2007, |e| {
        let bits: Vec<u32> = e.labels.unwrap().bits().collect();
        assert_eq!(bits, [0, 5]);
    });
    router_entry_with(2001, |e| assert_eq!(e.labels, None));
}

#[test]
fn marks_at_both_ends_of_the_range() {
    router_entry_with(2004, |e| assert_eq!(e.mark, Some(u32::MAX)));
    router_entry_with(2003, |e| assert_eq!(e.mark, Some(5)));
}

#[test]
fn gre_keys_and_icmp_identity() {
    let all = messages("router");
    let entries: Vec<Entry<'_>> = all
        .iter()
        .map(|(family, attributes)| decode_entry(*family, attributes).unwrap())
        .collect();
    let gre = entries
        .iter()
        .find(|e| e.protonum() == IPPROTO_GRE)
        .unwrap();
    assert_eq!(
        gre.original.l4,
        L4::Gre {
            srckey: 0x1234,
            dstkey: 0xabcd
        }
    );
    let timestamp = entries
        .iter()
        .find(|e| matches!(e.original.l4, L4::Icmp { icmp_type: 13, .. }))
        .unwrap();
    assert_eq!(
        timestamp.reply.l4,
        L4::Icmp {
            icmp_type: 14,
            code: 0,
            id: 7
        }
    );
    let unknown = entries.iter().find(|e| e.protonum() == 99).unwrap();
    assert_eq!(unknown.original.l4, L4::None);
    assert_eq!(unknown.proto_name(), None);
}

#[test]
fn without_accounting_and_timestamps_those_fields_are_absent() {
    for (family, attributes) in messages("plain") {
        let entry = decode_entry(family, &attributes).unwrap();
        assert_eq!(entry.counters_original, None);
        assert_eq!(entry.counters_reply, None);
        assert_eq!(entry.timestamp_start, None);
    }
}

/// Cutting an entry's attributes anywhere must give an error or a smaller entry, never a
/// panic; cutting inside an attribute header or value must be an error.
#[test]
fn every_truncation_of_every_captured_entry_is_handled() {
    for scenario in ["router", "plain"] {
        for (family, attributes) in messages(scenario) {
            for cut in 0..attributes.len() {
                let _ = decode_entry(family, &attributes[..cut]);
            }
            // Cutting inside the first attribute (a nested tuple) can never decode.
            for cut in 1..8.min(attributes.len()) {
                assert!(decode_entry(family, &attributes[..cut]).is_err());
            }
        }
    }
}
