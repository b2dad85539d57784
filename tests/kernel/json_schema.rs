//! docs/ct.schema.json, the published schema of `-o json` (issue 9, "JSON that scripts can
//! rely on"): it is itself a valid draft 2020-12 schema, its names are the kernel tables
//! ct prints from, every golden JSON fixture and every JSON line ct prints for the
//! captured replies fits it, and it refuses what ct never prints (a misspelled field, a
//! label in the old host-dependent form, a TCP field on a UDP entry...). Its properties,
//! and which of them are required, are those of the serde types ct writes and reads JSON
//! with (`ct::output::json`), so neither changes alone.
//!
//! The last test needs root: it makes, in a namespace of its own, entries that carry
//! what conntrack does not print (NAT sequence adjustment, SYN proxy numbers, a master
//! tuple, TCP window scales and flags, SCTP verification tags) and reads them back
//! through `ct list -o json` and `ct get -o json`.

use ct::netlink::attributes::raw::attr;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::*;
use crate::schema::{Kind, schema_document, validate_json_lines, violation};
use ct::decode::decode_entry;
use ct::decode::expect::decode_expectation;
use ct::decode::stats::{decode_cpu_stats, decode_global_stats};
use ct::kernel::*;
use ct::labelmap::LabelMap;
use ct::model::create::NewEntry;
use ct::model::entry::{L4, Tuple};
use ct::model::stats::GlobalStats;
use ct::model::table::Table;
use ct::netlink::attributes::tuple;
use ct::netlink::{Conntrack, DumpStats, Message, Request, walk_datagram};
use ct::output::json::JsonPrinter;
use ct::output::stats::print_json;
use ct::output::{Frame, Print, Record};
use netlink_packet_core::{DefaultNla, Nla};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The schema's `$defs/NAME`.
fn def(name: &str) -> Value {
    schema_document()["$defs"][name].clone()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let document = schema_document();
    assert_eq!(
        document["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let mut compiler = boon::Compiler::new();
    let mut schemas = boon::Schemas::new();
    let meta = compiler
        .compile("https://json-schema.org/draft/2020-12/schema", &mut schemas)
        .unwrap();
    if let Err(e) = schemas.validate(&document, meta) {
        panic!("docs/ct.schema.json against the draft 2020-12 meta-schema:\n{e:#}");
    }
    // And it compiles for each kind (a bad $ref or pattern fails here).
    for kind in [Kind::Entry, Kind::Expectation, Kind::Stats, Kind::Any] {
        assert!(violation(kind, &json!(null)).is_some(), "{kind:?}");
    }
}

/// The schema's enums are the tables ct prints from, so neither can change alone.
#[test]
fn the_schema_names_what_the_kernel_tables_name() {
    let names = |table: &[(u32, &str)]| -> Vec<String> {
        table.iter().map(|(_, name)| name.to_string()).collect()
    };
    assert_eq!(strings(&def("status")["items"]["enum"]), names(&IPS_NAMES));
    let tcp_flags: Vec<String> = IP_CT_TCP_FLAG_NAMES
        .iter()
        .map(|(_, name)| name.to_string())
        .collect();
    assert_eq!(
        strings(&def("direction")["properties"]["tcp_flags"]["items"]["enum"]),
        tcp_flags
    );
    for (state, table) in [
        ("tcp_state", &TCP_CONNTRACK_NAMES),
        ("sctp_state", &SCTP_CONNTRACK_NAMES),
        ("dccp_state", &DCCP_CONNTRACK_NAMES),
    ] {
        assert_eq!(
            strings(&def(state)["enum"]),
            table.map(String::from),
            "{state}"
        );
    }
    assert_eq!(
        strings(&def("expectation_fields")["properties"]["flags"]["items"]["enum"]),
        names(&NF_CT_EXPECT_NAMES)
    );
    // Every protocol ct names, with its number.
    let named: Vec<(String, u8)> = (0..=255u8)
        .filter_map(|n| ct::model::entry::proto_name(n).map(|name| (name.to_string(), n)))
        .collect();
    let mut in_schema = strings(&def("proto")["anyOf"][0]["enum"]);
    in_schema.sort();
    let mut names_only: Vec<String> = named.iter().map(|(name, _)| name.clone()).collect();
    names_only.sort();
    assert_eq!(in_schema, names_only);
    for (name, number) in named {
        let mut entry = entry_line();
        entry["proto"] = json!(name);
        entry["protonum"] = json!(number);
        // Fields of the line's own protocol (tcp) that another may not have.
        for dir in ["original", "reply"] {
            if name != "tcp" {
                entry[dir].as_object_mut().unwrap().remove("wscale");
                entry[dir].as_object_mut().unwrap().remove("tcp_flags");
            }
        }
        entry.as_object_mut().unwrap().remove("state");
        assert_eq!(violation(Kind::Entry, &entry), None, "{name}");
        entry["protonum"] = json!(number.wrapping_add(1));
        assert!(
            violation(Kind::Entry, &entry).is_some(),
            "{name} with another number"
        );
    }
    // Counter names: every one conntrack -S prints fits the pattern.
    let counters = def("counters");
    let pattern = regex_lite(counters["propertyNames"]["pattern"].as_str().unwrap());
    for (_, name) in CTA_STATS_NAMES.iter().chain(CTA_STATS_EXP_NAMES.iter()) {
        assert!(pattern(name), "{name}");
    }
}

/// `^[a-z][a-z0-9_]*$`, the one pattern the counter names follow, without a regex crate.
fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
    assert_eq!(pattern, "^[a-z][a-z0-9_]*$", "update this test's matcher");
    |name: &str| {
        let mut chars = name.chars();
        chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    }
}

#[test]
fn every_golden_json_fixture_fits_the_schema() {
    let mut files = 0;
    for dirent in std::fs::read_dir(fixtures()).unwrap() {
        let path = dirent.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let lines = validate_json_lines(Kind::Entry, &text);
            assert!(lines > 0, "{} is empty", path.display());
            assert_eq!(validate_json_lines(Kind::Any, &text), lines);
            files += 1;
        }
    }
    assert!(files >= 2, "router.json and plain.json at least");
}

/// Walks a capture's datagrams, handing each ctnetlink message to `on_message`.
fn each_message(bytes: &[u8], mut on_message: impl FnMut(Message<'_>)) {
    walk_datagram(
        bytes,
        None,
        "the capture",
        &mut DumpStats::default(),
        &mut |m| {
            on_message(m);
            Ok(())
        },
    )
    .unwrap();
}

/// Every entry, expectation and statistics reply captured from a real kernel, printed
/// as JSON, fits the schema.
#[test]
fn json_of_every_captured_reply_fits_the_schema() {
    let map = LabelMap::load(&fixtures().join("connlabel.conf")).unwrap();
    let mut entries = Vec::new();
    let mut expectations = Vec::new();
    let mut printer = JsonPrinter::new(Some(&map));
    let mut plain = JsonPrinter::new(None);
    let captures = ["expect", "replies"].iter().flat_map(|dir| {
        std::fs::read_dir(fixtures().join(dir))
            .unwrap()
            .map(|d| d.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "bin"))
            // The kernel's "no such entry" answer: an error, no message.
            .filter(|p| !p.ends_with("get_enoent.bin"))
    });
    let captures: Vec<PathBuf> = captures
        .chain(["router.bin", "plain.bin"].map(|f| fixtures().join(f)))
        .collect();
    for path in &captures {
        let bytes = std::fs::read(path).unwrap();
        each_message(&bytes, |m| {
            if m.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW) {
                let entry = decode_entry(m.family, m.attributes).unwrap();
                let entry = Record::Entry(&entry);
                printer.print(&mut entries, entry, &Frame::NONE).unwrap();
                plain.print(&mut entries, entry, &Frame::NONE).unwrap();
            } else if m.is(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_NEW) {
                let expectation = decode_expectation(m.family, m.attributes).unwrap();
                let expectation = Record::Expectation(&expectation);
                printer
                    .print(&mut expectations, expectation, &Frame::NONE)
                    .unwrap();
            }
        });
    }
    let entries = String::from_utf8(entries).unwrap();
    let expectations = String::from_utf8(expectations).unwrap();
    assert!(validate_json_lines(Kind::Entry, &entries) > 100);
    assert!(validate_json_lines(Kind::Expectation, &expectations) >= 5);

    // The statistics: per-CPU counters of both tables, with and without the global ones.
    for (name, kind) in [
        ("ct_stats_cpu", Table::Conntrack),
        ("x_ct_stats_cpu", Table::Conntrack),
        ("exp_stats_cpu", Table::Expect),
        ("x_exp_stats_cpu", Table::Expect),
    ] {
        let bytes = std::fs::read(fixtures().join(format!("replies/{name}.bin"))).unwrap();
        let mut cpus = Vec::new();
        each_message(&bytes, |m| {
            cpus.push(decode_cpu_stats(kind, m.res_id, m.attributes).unwrap())
        });
        let mut global = GlobalStats::default();
        each_message(
            &std::fs::read(fixtures().join("replies/ct_stats.bin")).unwrap(),
            |m| global = decode_global_stats(m.attributes).unwrap(),
        );
        for global in [GlobalStats::default(), global] {
            let mut out = Vec::new();
            print_json(&mut out, kind, &global, &cpus, None).unwrap();
            let text = String::from_utf8(out).unwrap();
            assert_eq!(validate_json_lines(Kind::Stats, &text), 1, "{name}");
        }
    }
}

/// One line of router.json: a TCP entry with every common field.
fn entry_line() -> Value {
    let text = std::fs::read_to_string(fixtures().join("router.json")).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains(r#""proto":"tcp""#) && l.contains(r#""tcp_flags""#))
        .expect("a tcp entry in router.json");
    serde_json::from_str(line).unwrap()
}

/// What ct never prints, the schema refuses; each case says why.
#[test]
fn the_schema_refuses_what_ct_never_prints() {
    let good = entry_line();
    assert_eq!(violation(Kind::Entry, &good), None);
    type Change = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(&str, Change)> = vec![
        (
            "a misspelled top-level field",
            Box::new(|v| {
                let mark = v["mark"].take();
                v.as_object_mut().unwrap().remove("mark");
                v["makr"] = mark;
            }),
        ),
        (
            "a misspelled direction field",
            Box::new(|v| {
                let sport = v["original"]["sport"].take();
                v["original"].as_object_mut().unwrap().remove("sport");
                v["original"]["sprot"] = sport;
            }),
        ),
        (
            "labels in the old host-dependent form",
            Box::new(|v| v["labels"] = json!(["one", "3"])),
        ),
        (
            "a label with a misspelled name field",
            Box::new(|v| v["labels"] = json!([{"bit": 1, "nmae": "one"}])),
        ),
        (
            "a label without its bit",
            Box::new(|v| v["labels"] = json!([{"name": "one"}])),
        ),
        ("a null", Box::new(|v| v["mark"] = Value::Null)),
        ("a number as text", Box::new(|v| v["mark"] = json!("0"))),
        (
            "a status ct does not name",
            Box::new(|v| v["status"] = json!(["ASSURED", "UNREPLIED"])),
        ),
        (
            "an sctp state on a tcp entry",
            Box::new(|v| v["state"] = json!("COOKIE_WAIT")),
        ),
        (
            "a tcp flag the kernel does not have",
            Box::new(|v| v["reply"]["tcp_flags"] = json!(["FIN"])),
        ),
        (
            "tcp's window scale on a udp entry",
            Box::new(|v| {
                v["proto"] = json!("udp");
                v["protonum"] = json!(17);
                v.as_object_mut().unwrap().remove("state");
            }),
        ),
        (
            "a protocol name with another's number",
            Box::new(|v| v["protonum"] = json!(17)),
        ),
        (
            "a port past 65535",
            Box::new(|v| v["original"]["dport"] = json!(65536)),
        ),
        (
            "a port without its partner",
            Box::new(|v| {
                v["original"].as_object_mut().unwrap().remove("dport");
            }),
        ),
        (
            "packets without bytes",
            Box::new(|v| {
                v["reply"].as_object_mut().unwrap().remove("bytes");
            }),
        ),
        (
            "an address that is not one",
            Box::new(|v| v["original"]["src"] = json!("10.201.1")),
        ),
        ("a negative mark", Box::new(|v| v["mark"] = json!(-1))),
        (
            "a sequence adjustment without its position",
            Box::new(|v| {
                v["original"]["seq_adj"] = json!({"offset_before": 0, "offset_after": -4})
            }),
        ),
        (
            "an offset past a 32-bit signed number",
            Box::new(|v| {
                v["original"]["seq_adj"] =
                    json!({"correction_pos": 1, "offset_before": 0, "offset_after": 2147483648u64})
            }),
        ),
        (
            "dccp's role on a tcp entry",
            Box::new(|v| v["dccp_role"] = json!("client")),
        ),
        (
            "a master tuple with counters",
            Box::new(
                |v| v["master"] = json!({"src": "10.0.0.1", "dst": "10.0.0.2", "sport": 1, "dport": 21, "packets": 1, "bytes": 1}),
            ),
        ),
        (
            "no reply direction",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("reply");
            }),
        ),
    ];
    for (why, change) in cases {
        let mut bad = good.clone();
        change(&mut bad);
        assert!(
            violation(Kind::Entry, &bad).is_some(),
            "the schema accepts {why}: {bad}"
        );
        assert!(violation(Kind::Any, &bad).is_some(), "root accepts {why}");
    }

    // The other two kinds, by one misspelling each.
    let expectation = json!({"family":"ipv4","proto":"tcp","protonum":6,"timeout":299,
        "expected":{"src":"10.203.2.2","dst":"10.203.2.1","sport":0,"dport":50001},
        "mask":{"src":"255.255.255.255","dst":"255.255.255.255","sport":0,"dport":65535},
        "master":{"src":"10.203.1.3","dst":"10.203.2.2","sport":60273,"dport":21},
        "flags":[],"class":0,"helper":"ftp","id":3140734265u32,
        "nat":{"dir":"reply","src":"0.0.0.0","dst":"0.0.0.0","sport":50001,"dport":0},
        "fn":"nat-follow-master"});
    assert_eq!(violation(Kind::Expectation, &expectation), None);
    let mut bad = expectation.clone();
    bad["nat"]["direction"] = bad["nat"]["dir"].take();
    bad["nat"].as_object_mut().unwrap().remove("dir");
    assert!(violation(Kind::Expectation, &bad).is_some());
    let mut bad = expectation.clone();
    bad["flags"] = json!(["PERMANENT", "PERMANENT"]);
    assert!(violation(Kind::Expectation, &bad).is_some());

    let stats = json!({"table":"conntrack","global":{"entries":3,"max_entries":262144,"fill_percent":0.001},
        "totals":{"found":0,"insert":3},"cpus":[{"cpu":0,"found":0,"insert":3}]});
    assert_eq!(violation(Kind::Stats, &stats), None);
    let mut bad = stats.clone();
    bad["global"]["max_entires"] = bad["global"]["max_entries"].take();
    bad["global"].as_object_mut().unwrap().remove("max_entries");
    assert!(violation(Kind::Stats, &bad).is_some());
    let mut bad = stats.clone();
    bad["cpus"][0].as_object_mut().unwrap().remove("cpu");
    assert!(violation(Kind::Stats, &bad).is_some());
}

// ---------------------------------------------------------------------------
// In a namespace: what conntrack does not print, through ct's JSON
// ---------------------------------------------------------------------------

fn nested(kind: u16, children: &[Vec<u8>]) -> DefaultNla {
    DefaultNla::new(kind | NLA_F_NESTED, children.concat())
}

fn ports(protonum: u8, src: &str, dst: &str, sport: u16, dport: u16) -> Tuple {
    Tuple {
        src: Some(src.parse().unwrap()),
        dst: Some(dst.parse().unwrap()),
        protonum,
        l4: L4::Ports { sport, dport },
        zone: None,
    }
}

fn tcp(src: &str, dst: &str, sport: u16, dport: u16) -> Tuple {
    ports(IPPROTO_TCP, src, dst, sport, dport)
}

/// ct's own create request for `original` (its reply the mirror image, a timeout of 300
/// seconds), with `more`.
fn create(original: Tuple, more: Vec<DefaultNla>) -> Request {
    let mut request = ct::netlink::create_request(&NewEntry::new(original, 300));
    request.attributes.extend(more);
    request
}

/// An SCTP association's entry with its verification tags. The kernel keeps a tag as
/// the packet carries it (__be32) and sends it so; conntrack -I's --orig-vtag N reaches
/// it byte-swapped on a little-endian host, so this one is made over ctnetlink too.
fn sctp_request() -> Request {
    let original = ports(IPPROTO_SCTP, "10.230.1.1", "10.230.1.2", 5000, 36412);
    create(
        original,
        vec![nested(
            CTA_PROTOINFO,
            &[attr(
                CTA_PROTOINFO_SCTP | NLA_F_NESTED,
                &[
                    attr(CTA_PROTOINFO_SCTP_STATE, &[4]),
                    attr(
                        CTA_PROTOINFO_SCTP_VTAG_ORIGINAL,
                        &0x0102_0304u32.to_be_bytes(),
                    ),
                    attr(CTA_PROTOINFO_SCTP_VTAG_REPLY, &u32::MAX.to_be_bytes()),
                ]
                .concat(),
            )],
        )],
    )
}

/// An FTP data connection as the helper and NAT would leave it, made over ctnetlink
/// (IPCTNL_MSG_CT_NEW; conntrack -I cannot set these): its master, both directions'
/// sequence adjustments, the SYN proxy's numbers, window scales and TCP flags.
fn data_connection_request(master: &Tuple) -> Request {
    let original = tcp("10.230.0.2", "10.230.0.1", 20, 50001);
    // The master tuple is CTA_TUPLE_MASTER around the same nest as CTA_TUPLE_ORIG.
    let orig_nla = tuple(CTA_TUPLE_ORIG, master, None);
    let mut master_value = vec![0; orig_nla.value_len()];
    orig_nla.emit_value(&mut master_value);
    let seq_adj = |pos: u32, before: i32, after: i32| {
        [
            attr(CTA_SEQADJ_CORRECTION_POS, &pos.to_be_bytes()),
            attr(CTA_SEQADJ_OFFSET_BEFORE, &before.to_be_bytes()),
            attr(CTA_SEQADJ_OFFSET_AFTER, &after.to_be_bytes()),
        ]
    };
    // No CTA_STATUS: the kernel sets IPS_EXPECTED for the master, and a status without
    // it would be a change of an unchangeable bit (EBUSY).
    let attributes = vec![
        DefaultNla::new(CTA_TUPLE_MASTER | NLA_F_NESTED, master_value),
        nested(
            CTA_PROTOINFO,
            &[attr(
                CTA_PROTOINFO_TCP | NLA_F_NESTED,
                &[
                    attr(CTA_PROTOINFO_TCP_STATE, &[3]),
                    // nlattr_to_tcp takes the scales only when both senders have
                    // IP_CT_TCP_FLAG_WINDOW_SCALE; flags go through their mask.
                    attr(CTA_PROTOINFO_TCP_FLAGS_ORIGINAL, &[0x03, 0x03]),
                    attr(CTA_PROTOINFO_TCP_FLAGS_REPLY, &[0x01, 0x01]),
                    attr(CTA_PROTOINFO_TCP_WSCALE_ORIGINAL, &[7]),
                    attr(CTA_PROTOINFO_TCP_WSCALE_REPLY, &[9]),
                ]
                .concat(),
            )],
        ),
        nested(CTA_SEQ_ADJ_ORIG, &seq_adj(1000, 0, -4)),
        nested(CTA_SEQ_ADJ_REPLY, &seq_adj(3_000_000_000, 4, 8)),
        nested(
            CTA_SYNPROXY,
            &[
                attr(CTA_SYNPROXY_ISN, &0x1122_3344u32.to_be_bytes()),
                attr(CTA_SYNPROXY_ITS, &5u32.to_be_bytes()),
                attr(CTA_SYNPROXY_TSOFF, &0xffff_fff0u32.to_be_bytes()),
            ],
        ),
    ];
    create(original, attributes)
}

fn ct_json(ns: &Netns, args: &[&str]) -> Vec<Value> {
    let bin = ct_bin();
    let mut argv = vec![bin.as_str()];
    argv.extend_from_slice(args);
    let text = check_ok(&format!("ct {}", args.join(" ")), &ns.exec(&argv));
    validate_json_lines(Kind::Entry, &text);
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn what_conntrack_does_not_print_reaches_the_json() {
    require_kernel!();
    let ns = Netns::new();
    ns.insert("-p tcp -s 10.230.0.1 -d 10.230.0.2 --sport 40000 --dport 21 --state ESTABLISHED -t 300 -u SEEN_REPLY,ASSURED");
    let master = tcp("10.230.0.1", "10.230.0.2", 40000, 21);
    let requests = [data_connection_request(&master), sctp_request()];
    ns.run_in(|| {
        let mut conntrack = Conntrack::open(None).unwrap();
        conntrack
            .send_batch(&requests, |_, errno| {
                Err(anyhow::anyhow!(
                    "the kernel refused the entry: errno {errno}"
                ))
            })
            .unwrap();
    });

    let all = ct_json(&ns, &["list", "-o", "json"]);
    assert_eq!(all.len(), 3, "{all:?}");
    let data = all
        .iter()
        .find(|e| e["original"]["sport"] == 20)
        .expect("the data connection");
    assert_eq!(
        data["master"],
        json!({"src": "10.230.0.1", "dst": "10.230.0.2", "sport": 40000, "dport": 21})
    );
    let status = strings(&data["status"]);
    for bit in ["EXPECTED", "SEQ_ADJUST"] {
        assert!(status.iter().any(|s| s == bit), "{bit} in {status:?}");
    }
    assert_eq!(
        data["original"]["seq_adj"],
        json!({"correction_pos": 1000, "offset_before": 0, "offset_after": -4})
    );
    assert_eq!(
        data["reply"]["seq_adj"],
        json!({"correction_pos": 3_000_000_000u32, "offset_before": 4, "offset_after": 8})
    );
    assert_eq!(
        data["synproxy"],
        json!({"isn": 0x1122_3344, "its": 5, "tsoff": 0xffff_fff0u32})
    );
    assert_eq!(
        (&data["original"]["wscale"], &data["reply"]["wscale"]),
        (&json!(7), &json!(9))
    );
    let flags = |dir: &str| strings(&data[dir]["tcp_flags"]);
    assert!(
        flags("original").starts_with(&["WINDOW_SCALE".into(), "SACK_PERM".into()]),
        "{:?}",
        flags("original")
    );
    assert_eq!(
        flags("reply").first().map(String::as_str),
        Some("WINDOW_SCALE")
    );

    // The master made by conntrack -I: an all-zero synproxy area, left out.
    let control = all
        .iter()
        .find(|e| e["original"]["dport"] == 21)
        .expect("the control connection");
    assert!(control.get("synproxy").is_none(), "{control}");
    assert!(control.get("master").is_none(), "{control}");

    let sctp = all.iter().find(|e| e["proto"] == "sctp").expect("sctp");
    assert_eq!(
        (&sctp["original"]["vtag"], &sctp["reply"]["vtag"]),
        (&json!(0x0102_0304), &json!(4_294_967_295u32))
    );

    // ct get answers with the same message, so the same JSON (but for the ticking
    // timeout and the reference the get itself holds).
    let got = ct_json(
        &ns,
        &[
            "get",
            "-p",
            "tcp",
            "-s",
            "10.230.0.2",
            "-d",
            "10.230.0.1",
            "--sport",
            "20",
            "--dport",
            "50001",
            "-o",
            "json",
        ],
    );
    let steady = |v: &Value| {
        let mut v = v.clone();
        for volatile in ["timeout", "use"] {
            v.as_object_mut().unwrap().remove(volatile);
        }
        v
    };
    assert_eq!(got.len(), 1);
    assert_eq!(steady(&got[0]), steady(data));

    // And conntrack's line still prints none of it: ct's is conntrack's, byte for byte
    // (formats.rs holds the XML to conntrack's).
    for opts in ["", "extended,id"] {
        if let Some(diff) = compare_one(Env::Ns(&ns), opts) {
            panic!("ct list -o {opts:?} differs from conntrack:\n{diff}");
        }
    }
}

// ---------------------------------------------------------------------------
// The schema and the types ct writes and reads JSON with (ct::output::json) name the
// same fields, and require the same ones: a field added to either alone fails here.

/// The keys a derived `Deserialize` reads, as derive lists them for the deserializer.
fn fields_of<'de, T: serde::Deserialize<'de>>() -> BTreeSet<String> {
    struct Introspect<'f>(&'f mut Vec<&'static str>);

    impl<'de> serde::Deserializer<'de> for Introspect<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0.extend_from_slice(fields);
            Err(serde::de::Error::custom("fields taken"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields = Vec::new();
    let _ = T::deserialize(Introspect(&mut fields));
    assert!(
        !fields.is_empty(),
        "{} is not a struct",
        std::any::type_name::<T>()
    );
    fields.into_iter().map(String::from).collect()
}

/// The names of the schema's `$defs/NAME` properties.
fn properties(name: &str) -> BTreeSet<String> {
    def(name)["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("$defs/{name} has no properties"))
        .keys()
        .cloned()
        .collect()
}

/// The schema's `$defs/NAME` required properties.
fn required(name: &str) -> BTreeSet<String> {
    match &def(name)["required"] {
        Value::Null => BTreeSet::new(),
        list => strings(list).into_iter().collect(),
    }
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// The keys of a JSON line ct printed.
fn keys(line: &[u8]) -> BTreeSet<String> {
    let value: Value = serde_json::from_slice(line).unwrap();
    value.as_object().unwrap().keys().cloned().collect()
}

#[test]
fn the_schema_and_the_json_types_name_the_same_fields() {
    use ct::output::json::{JsonDirection, JsonEntry, JsonLabel, JsonSeqAdj, JsonSynproxy};

    // The keys `ct watch -o json` puts before an entry's: the type reads and skips them.
    let event = set(&["event", "time", "userspace"]);
    assert_eq!(properties("entry_event"), event);
    // `netns` is the namespace tag of --all-netns, which the printers put in front of
    // an entry of any format; it is no field of the entry.
    let mut entry = properties("entry_fields");
    assert!(entry.remove("netns"));
    let entry_type = fields_of::<JsonEntry>();
    assert_eq!(
        entry_type
            .difference(&event)
            .cloned()
            .collect::<BTreeSet<_>>(),
        entry,
        "JsonEntry (without the event's keys) against $defs/entry_fields"
    );
    assert!(entry_type.is_superset(&event));

    let mut direction = properties("tuple_fields");
    direction.extend(properties("direction"));
    assert_eq!(fields_of::<JsonDirection>(), direction, "$defs/direction");
    assert_eq!(fields_of::<JsonSeqAdj>(), properties("seq_adj"));
    assert_eq!(fields_of::<JsonSynproxy>(), properties("synproxy"));
    assert_eq!(fields_of::<JsonLabel>(), properties("label"));

    // Expectations are only written: every field of a full one, and those of an empty
    // one, are the properties and the required ones.
    let (full, bare) = (expectation(true), expectation(false));
    assert_eq!(keys(&full), properties("expectation_fields"));
    assert_eq!(keys(&bare), required("expectation_fields"));
}

/// An expectation printed with every field the kernel may send, or with none.
fn expectation(full: bool) -> Vec<u8> {
    use ct::model::entry::Family;
    use ct::model::expect::{ExpectNat, Expectation};
    let tuple = tcp("10.0.0.1", "10.0.0.2", 40000, 21);
    let some = |value| full.then_some(value);
    let expectation = Expectation {
        family: Family::Ipv4,
        expected: tuple,
        mask: tuple,
        master: tuple,
        timeout: some(1),
        id: some(2),
        flags: some(1),
        class: some(0),
        zone: full.then_some(3),
        helper: full.then_some(&b"ftp"[..]),
        nat: full.then_some(ExpectNat {
            direction: 0,
            tuple,
        }),
        function: full.then_some(&b"nat-follow-master"[..]),
    };
    let mut out = Vec::new();
    JsonPrinter::new(None)
        .print(&mut out, Record::Expectation(&expectation), &Frame::NONE)
        .unwrap();
    out
}

/// What the types require is what the schema requires: a line with only the required
/// keys reads (so no other key is required), and a line without any one of them does
/// not.
#[test]
fn the_schema_and_the_json_types_require_the_same_fields() {
    use ct::output::json::{
        JsonDirection, JsonLabel, JsonScratch, JsonSeqAdj, JsonSynproxy, parse_line,
    };

    let full = entry_line();
    let required_entry = required("entry_fields");
    let only = |keys: &BTreeSet<String>| -> String {
        let object: serde_json::Map<String, Value> = keys
            .iter()
            .map(|key| (key.clone(), full[key.as_str()].clone()))
            .collect();
        Value::Object(object).to_string()
    };
    let mut scratch = JsonScratch::new();
    let minimal = only(&required_entry);
    if let Err(error) = parse_line(&minimal, &mut scratch) {
        panic!("{minimal}: {error}");
    }
    for key in &required_entry {
        let mut less = required_entry.clone();
        less.remove(key);
        assert_eq!(
            parse_line(&only(&less), &mut scratch).err(),
            Some(format!("missing key '{key}'"))
        );
    }

    /// `$defs/NAME` with only its required keys reads as `T`, and without any one of
    /// them does not.
    fn check<T: for<'de> serde::Deserialize<'de>>(name: &str) {
        let required = required(name);
        let object = |keys: &BTreeSet<String>| -> String {
            let members: serde_json::Map<String, Value> =
                keys.iter().map(|key| (key.clone(), json!(0))).collect();
            Value::Object(members).to_string()
        };
        if let Err(error) = serde_json::from_str::<T>(&object(&required)) {
            panic!("$defs/{name} with only its required keys: {error}");
        }
        for key in &required {
            let mut less = required.clone();
            less.remove(key);
            let error = serde_json::from_str::<T>(&object(&less)).err();
            assert!(
                error.is_some_and(|e| e.to_string().starts_with(&format!("missing field `{key}`"))),
                "$defs/{name} without {key}"
            );
        }
    }
    check::<JsonDirection>("direction");
    check::<JsonDirection>("tuple_fields");
    check::<JsonSeqAdj>("seq_adj");
    check::<JsonSynproxy>("synproxy");
    check::<JsonLabelOwned>("label");

    /// JsonLabel borrows its name from the line; this reads it from a string that
    /// outlives it.
    struct JsonLabelOwned;
    impl<'de> serde::Deserialize<'de> for JsonLabelOwned {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            JsonLabel::deserialize(deserializer).map(|_| JsonLabelOwned)
        }
    }
}
