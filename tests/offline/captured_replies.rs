//! The answers to single requests and statistics dumps, captured from a real kernel
//! (6.18) beside what conntrack 1.4.7 printed for them at the same moment: `conntrack -S`,
//! `-S expect`, `-C` and `-G` for every tracker. ct's decoders and printers must give the
//! same bytes. No root needed.
//!
//! The captures were made by the research script kept with the fixtures' history: each
//! `NAME.bin` is the kernel's datagrams back to back, `NAME.txt` conntrack's stdout.

use crate::schema;

use std::path::Path;

use ct::decode::decode_entry;
use ct::decode::stats::{decode_cpu_stats, decode_global_stats};
use ct::kernel::*;
use ct::model::table::Table;
use ct::netlink::{DumpStats, Message, kernel_errno, walk_datagram};
use ct::output::classic::{ClassicOptions, ClassicPrinter};
use ct::output::stats::print_classic;
use ct::output::{Frame, Print, Record};

fn reply(name: &str) -> (Vec<u8>, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replies");
    let bytes = std::fs::read(dir.join(format!("{name}.bin"))).unwrap();
    let text = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap_or_default();
    (bytes, text)
}

/// Walks a capture's datagrams, handing each ctnetlink message to `on_message`.
fn each_message(
    bytes: &[u8],
    mut on_message: impl FnMut(Message<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    walk_datagram(
        bytes,
        None,
        "the capture",
        &mut DumpStats::default(),
        &mut on_message,
    )
    .map(|_| ())
}

/// Every message of a captured reply, as (type, res_id, attributes).
fn messages(bytes: &[u8]) -> anyhow::Result<Vec<(u8, u16, Vec<u8>)>> {
    let mut all = Vec::new();
    each_message(bytes, |m| {
        all.push((m.message_type, m.res_id, m.attributes.to_vec()));
        Ok(())
    })?;
    Ok(all)
}

fn stats_text(name: &str, kind: Table) -> (String, String) {
    let (bytes, expected) = reply(name);
    let cpus: Vec<_> = messages(&bytes)
        .unwrap()
        .iter()
        .map(|(_, cpu, attributes)| decode_cpu_stats(kind, *cpu, attributes).unwrap())
        .collect();
    let mut out = Vec::new();
    print_classic(&mut out, &cpus, None).unwrap();
    (String::from_utf8(out).unwrap(), expected)
}

#[test]
fn per_cpu_statistics_print_as_conntrack_s() {
    for name in ["ct_stats_cpu", "x_ct_stats_cpu"] {
        let (ours, conntrack) = stats_text(name, Table::Conntrack);
        assert_eq!(ours, conntrack, "{name}");
    }
}

#[test]
fn expectation_statistics_print_as_conntrack_s_expect() {
    for name in ["exp_stats_cpu", "x_exp_stats_cpu"] {
        let (ours, conntrack) = stats_text(name, Table::Expect);
        assert_eq!(ours, conntrack, "{name}");
    }
}

/// The kernel tags expectation statistics with NFNL_SUBSYS_CTNETLINK, not the
/// expectation subsystem they were asked on: ct must not insist on it.
#[test]
fn expectation_statistics_come_under_the_conntrack_subsystem() {
    let (bytes, _) = reply("exp_stats_cpu");
    let mut subsystems = Vec::new();
    each_message(&bytes, |m| {
        subsystems.push((m.subsystem, m.message_type));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        subsystems,
        [(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_EXP_GET_STATS_CPU); 2]
    );
}

#[test]
fn the_global_count_is_conntrack_c() {
    let (bytes, conntrack) = reply("ct_stats");
    let all = messages(&bytes).unwrap();
    assert_eq!(all.len(), 1);
    let global = decode_global_stats(&all[0].2).unwrap();
    assert_eq!(format!("{}\n", global.entries.unwrap()), conntrack);
    assert_eq!(global.max_entries, Some(262_144));
}

#[test]
fn get_replies_print_as_conntrack_g() {
    for name in [
        "get_tcp",
        "get_tcp6",
        "get_udp",
        "get_icmp",
        "get_icmpv6",
        "get_sctp",
        "get_gre",
        "get_unknown253",
        "get_tcp_mark_zone0",
    ] {
        let (bytes, conntrack) = reply(name);
        let mut printer = ClassicPrinter::new(ClassicOptions::default(), None, 0);
        let mut out = Vec::new();
        each_message(&bytes, |m| {
            if m.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW) {
                let entry = decode_entry(m.family, m.attributes)?;
                printer.print(&mut out, Record::Entry(&entry), &Frame::NONE)?;
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), conntrack, "{name}");
    }
}

#[test]
fn a_get_that_finds_nothing_is_enoent() {
    let (bytes, _) = reply("get_enoent");
    let err = messages(&bytes).unwrap_err();
    assert_eq!(kernel_errno(&err), Some(libc::ENOENT));
}

// ---------------------------------------------------------------------------
// Expectations and the dying list (tests/fixtures/expect/): dumps of real FTP and TFTP
// expectations made through a router namespace running the helpers, over IPv4 and
// IPv6, with and without masquerade, and crafted ones (flags, GRE, ICMP, masks); each
// beside `conntrack -L expect [-f ipv6] [-o xml]` taken in the same second.
// ---------------------------------------------------------------------------

use ct::decode::expect::decode_expectation;
use ct::output::{Format, Printer, Settings};

fn expect_fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/expect")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The expectations of one family in a captured AF_UNSPEC dump, printed in `format`.
fn print_expectations(bin: &str, family: u8, format: &Format) -> String {
    let bytes = expect_fixture(bin);
    let settings = Settings {
        table: Table::Expect,
        ..Settings::default()
    };
    let mut printer = Printer::new(format, settings);
    let mut out = Vec::new();
    each_message(&bytes, |m| {
        if m.is(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_NEW) && m.family == family {
            let expectation = decode_expectation(m.family, m.attributes)?;
            printer.print(&mut out, Record::Expectation(&expectation), &Frame::NONE)?;
        }
        Ok(())
    })
    .unwrap();
    printer.finish(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn expectations_print_as_conntrack_l_expect() {
    let classic = Format::Classic(ClassicOptions::default());
    let xml = Format::Xml { ktimestamp: false };
    for scenario in ["all", "crafted", "nat4", "nat6"] {
        for (family, name) in [(AF_INET, "v4"), (AF_INET6, "v6")] {
            let Ok(text) = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("tests/fixtures/expect/{scenario}.{name}.txt")),
            ) else {
                continue;
            };
            let ours = print_expectations(&format!("{scenario}.bin"), family, &classic);
            assert_eq!(ours, text, "{scenario} {name}");
            let theirs_xml =
                String::from_utf8(expect_fixture(&format!("{scenario}.{name}.xml"))).unwrap();
            let ours_xml = print_expectations(&format!("{scenario}.bin"), family, &xml);
            assert_eq!(ours_xml, theirs_xml, "{scenario} {name} xml");
        }
    }
}

#[test]
fn expectation_nat_and_function_are_decoded() {
    let bytes = expect_fixture("nat4.bin");
    let mut seen = Vec::new();
    each_message(&bytes, |m| {
        if m.is(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_NEW) {
            let e = decode_expectation(m.family, m.attributes)?;
            let nat = e.nat.expect("masquerade saves NAT data");
            seen.push((
                nat.direction,
                nat.tuple.ports(),
                e.function.map(|f| String::from_utf8_lossy(f).into_owned()),
                e.helper.map(|h| String::from_utf8_lossy(h).into_owned()),
            ));
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(
        seen,
        [(
            IP_CT_DIR_REPLY,
            Some((50001, 0)),
            Some("nat-follow-master".to_string()),
            Some("ftp".to_string())
        )]
    );
}

#[test]
fn expectations_as_json() {
    let out = print_expectations("nat4.bin", AF_INET, &Format::Json);
    assert_eq!(
        schema::validate_json_lines(schema::Kind::Expectation, &out),
        1
    );
    let value: serde_json::Value = serde_json::from_str(out.trim_end()).unwrap();
    assert_eq!(value["family"], "ipv4");
    assert_eq!(value["proto"], "tcp");
    assert_eq!(value["helper"], "ftp");
    assert_eq!(value["class"], 0);
    assert_eq!(value["flags"], serde_json::json!([]));
    assert_eq!(value["expected"]["dport"], 50001);
    assert_eq!(value["mask"]["dport"], 65535);
    assert_eq!(value["master"]["dport"], 21);
    assert_eq!(value["nat"]["dir"], "reply");
    assert_eq!(value["nat"]["sport"], 50001);
    assert_eq!(value["fn"], "nat-follow-master");
}

/// conntrack -L dying prints ordinary entry lines; its XML is left unclosed (as -G's),
/// ct closes it.
#[test]
fn the_dying_list_prints_as_conntrack_l_dying() {
    let bytes = expect_fixture("dying.bin");
    let formats = [
        ("dying.txt", ClassicOptions::default(), false),
        (
            "dying.extended.txt",
            ClassicOptions {
                extended: true,
                ..Default::default()
            },
            false,
        ),
        ("dying.xml", ClassicOptions::default(), true),
    ];
    for (expected, options, xml) in formats {
        let mut out = Vec::new();
        let mut classic = ClassicPrinter::new(options, None, 0);
        let mut xml_printer = ct::output::xml::XmlPrinter::new(false, None, 0);
        each_message(&bytes, |m| {
            if m.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW) {
                let entry = decode_entry(m.family, m.attributes)?;
                if xml {
                    xml_printer.print(&mut out, Record::Entry(&entry), &Frame::NONE)?;
                } else {
                    classic.print(&mut out, Record::Entry(&entry), &Frame::NONE)?;
                }
            }
            Ok(())
        })
        .unwrap();
        let mut theirs = String::from_utf8(expect_fixture(expected)).unwrap();
        if xml {
            xml_printer.finish(&mut out).unwrap();
            theirs.push_str("</conntrack>\n");
        }
        assert_eq!(String::from_utf8(out).unwrap(), theirs, "{expected}");
    }
}
