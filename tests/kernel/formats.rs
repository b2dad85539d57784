//! The output formats of `ct list` against the kernel: `-o json` (against
//! `conntrack -L -o extended,id,labels`, field by field, and through `jq`),
//! `-o xml` (against `conntrack -L -o xml`, byte for byte apart from the
//! ticking values and conntrack's SCTP state names), `-o table`, filters
//! combined with every format, closed pipes, `--quiet`, and the generated
//! completions and manual pages.
//!
//! Every kernel test works in namespaces of its own (see tests/support/common.rs).
//! Needs root; otherwise every kernel test prints `skipped: ...` (or fails,
//! with CT_REQUIRE_KERNEL_TESTS=1).  The jq test also needs `jq` (Debian
//! package `jq`); the manual page rendering check uses `man` if present.

use crate::fill;
use crate::schema;

use crate::common::*;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

// ---------------------------------------------------------------------------
// ct's JSON, read strictly: a field added to or renamed in the schema
// (docs/json.md) makes these fail until the test is updated on purpose.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEntry {
    family: String,
    proto: String,
    protonum: u8,
    timeout: Option<u32>,
    state: Option<String>,
    original: JsonDir,
    reply: JsonDir,
    status: Option<Vec<String>>,
    mark: Option<u32>,
    secmark: Option<u32>,
    zone: Option<u16>,
    #[serde(rename = "use")]
    use_count: Option<u32>,
    id: Option<u32>,
    secctx: Option<String>,
    helper: Option<String>,
    labels: Option<Vec<JsonLabel>>,
    start: Option<u64>,
    stop: Option<u64>,
    master: Option<JsonDir>,
    dccp_role: Option<String>,
    dccp_handshake_seq: Option<u64>,
    synproxy: Option<JsonSynproxy>,
}

/// One label: its bit always, its name where the label map gives one (issue 9: the
/// same shape on every host).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLabel {
    bit: u32,
    name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read for the schema; no test compares them with conntrack
struct JsonSynproxy {
    isn: u32,
    its: u32,
    tsoff: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read for the schema; no test compares them with conntrack
struct JsonSeqAdj {
    correction_pos: u32,
    offset_before: i32,
    offset_after: i32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonDir {
    src: Option<String>,
    dst: Option<String>,
    sport: Option<u16>,
    dport: Option<u16>,
    #[serde(rename = "type")]
    icmp_type: Option<u8>,
    code: Option<u8>,
    id: Option<u16>,
    srckey: Option<u16>,
    dstkey: Option<u16>,
    packets: Option<u64>,
    bytes: Option<u64>,
    zone: Option<u16>,
    wscale: Option<u8>,
    tcp_flags: Option<Vec<String>>,
    vtag: Option<u32>,
    seq_adj: Option<JsonSeqAdj>,
}

/// The status names docs/json.md lists.
const STATUS_NAMES: [&str; 16] = [
    "EXPECTED",
    "SEEN_REPLY",
    "ASSURED",
    "CONFIRMED",
    "SRC_NAT",
    "DST_NAT",
    "SEQ_ADJUST",
    "SRC_NAT_DONE",
    "DST_NAT_DONE",
    "DYING",
    "FIXED_TIMEOUT",
    "TEMPLATE",
    "NAT_CLASH",
    "HELPER",
    "OFFLOAD",
    "HW_OFFLOAD",
];

impl JsonEntry {
    fn has_status(&self, name: &str) -> bool {
        self.status
            .as_ref()
            .is_some_and(|s| s.iter().any(|n| n == name))
    }
    fn id(&self) -> u32 {
        self.id.expect("entry without id")
    }
    /// Each label as a person reads it: its name, or its bit number where it has none.
    fn label_texts(&self) -> Vec<String> {
        self.labels
            .iter()
            .flatten()
            .map(|l| l.name.clone().unwrap_or_else(|| l.bit.to_string()))
            .collect()
    }
    /// (bit, name) of each label, in order.
    fn label_pairs(&self) -> Vec<(u32, Option<&str>)> {
        self.labels
            .iter()
            .flatten()
            .map(|l| (l.bit, l.name.as_deref()))
            .collect()
    }
}

/// A JSON value with a `null` somewhere (absent fields must be left out).
fn find_null(v: &serde_json::Value, path: &str) -> Option<String> {
    match v {
        serde_json::Value::Null => Some(path.to_string()),
        serde_json::Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_null(x, &format!("{path}[{i}]"))),
        serde_json::Value::Object(o) => o
            .iter()
            .find_map(|(k, x)| find_null(x, &format!("{path}.{k}"))),
        _ => None,
    }
}

/// Parse `ct list -o json` output: JSON Lines, every line one object that
/// fits the schema (docs/ct.schema.json, and the strict types above), no nulls,
/// status names from the documented list.
fn parse_json_lines(out: &str) -> Vec<(JsonEntry, String)> {
    assert!(
        out.is_empty() || out.ends_with('\n'),
        "JSON output does not end with a newline: {:?}",
        &out[out.len().saturating_sub(80)..]
    );
    schema::validate_json_lines(schema::Kind::Entry, out);
    out.lines()
        .enumerate()
        .map(|(i, line)| {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("line {} is not JSON ({e}): {line}", i + 1));
            assert!(value.is_object(), "line {} is not an object: {line}", i + 1);
            if let Some(p) = find_null(&value, "") {
                panic!(
                    "line {} has null at {p} (absent fields must be left out): {line}",
                    i + 1
                );
            }
            let e: JsonEntry = serde_json::from_value(value).unwrap_or_else(|err| {
                panic!("line {} does not fit the schema: {err}\n{line}", i + 1)
            });
            if let Some(st) = &e.status {
                for s in st {
                    assert!(
                        STATUS_NAMES.contains(&s.as_str()),
                        "line {}: unknown status name {s:?}: {line}",
                        i + 1
                    );
                }
            }
            (e, line.to_string())
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Comparable records: one direction of an entry
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Default)]
struct Dir {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    code: Option<u8>,
    icmp_id: Option<u16>,
    srckey: Option<u16>,
    dstkey: Option<u16>,
    packets: Option<u64>,
    bytes: Option<u64>,
    zone: Option<u16>,
}

fn parse_ip(s: &str, what: &str) -> IpAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("{what}: {s:?} is not an address: {e}"))
}

impl Dir {
    fn from_json(d: &JsonDir, line: &str) -> Dir {
        Dir {
            src: d.src.as_deref().map(|s| parse_ip(s, line)),
            dst: d.dst.as_deref().map(|s| parse_ip(s, line)),
            sport: d.sport,
            dport: d.dport,
            icmp_type: d.icmp_type,
            code: d.code,
            icmp_id: d.id,
            srckey: d.srckey,
            dstkey: d.dstkey,
            packets: d.packets,
            bytes: d.bytes,
            zone: d.zone,
        }
    }
}

// ---------------------------------------------------------------------------
// conntrack's `-o extended,id,labels` line, parsed
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
struct CnEntry {
    line: String,
    family: String,
    proto: String,
    protonum: u8,
    timeout: Option<u32>,
    state: Option<String>,
    original: Dir,
    reply: Dir,
    unreplied: bool,
    assured: bool,
    offload: bool,
    hw_offload: bool,
    mark: Option<u32>,
    secmark: Option<u32>,
    secctx: Option<String>,
    zone: Option<u16>,
    delta_time: Option<u64>,
    use_count: Option<u32>,
    id: u32,
    helper: Option<String>,
    labels: Vec<String>,
}

fn num<T: std::str::FromStr>(v: &str, line: &str) -> T
where
    T::Err: std::fmt::Display,
{
    v.parse()
        .unwrap_or_else(|e| panic!("bad number {v:?} ({e}) in conntrack line: {line}"))
}

fn hex16(v: &str, line: &str) -> u16 {
    let digits = v
        .strip_prefix("0x")
        .unwrap_or_else(|| panic!("GRE key {v:?} is not 0x-hex in: {line}"));
    u16::from_str_radix(digits, 16).unwrap_or_else(|e| panic!("bad GRE key {v:?} ({e}) in: {line}"))
}

/// Parse one line of `conntrack -L -o extended,id,labels`.
fn parse_conntrack_line(line: &str) -> CnEntry {
    let toks: Vec<&str> = line.split_whitespace().collect();
    assert!(toks.len() > 5, "short conntrack line: {line}");
    let mut e = CnEntry {
        line: line.to_string(),
        family: toks[0].to_string(),
        proto: toks[2].to_string(),
        protonum: num(toks[3], line),
        ..CnEntry::default()
    };
    let mut i = 4;
    if toks[i].bytes().all(|b| b.is_ascii_digit()) {
        e.timeout = Some(num(toks[i], line));
        i += 1;
    }
    if !toks[i].contains('=') && !toks[i].starts_with('[') {
        e.state = Some(toks[i].to_string());
        i += 1;
    }
    // 0: before the tuples, 1: original, 2: reply, 3: after the tuples
    let mut dir = 0;
    let mut srcs = 0;
    let mut id = None;
    for t in &toks[i..] {
        match *t {
            "[UNREPLIED]" => {
                e.unreplied = true;
                dir = 3;
                continue;
            }
            "[ASSURED]" => {
                e.assured = true;
                dir = 3;
                continue;
            }
            "[OFFLOAD]" => {
                e.offload = true;
                dir = 3;
                continue;
            }
            "[HW_OFFLOAD]" => {
                e.hw_offload = true;
                dir = 3;
                continue;
            }
            _ => {}
        }
        if *t == "labels" {
            // conntrack's "labels" with nothing after it: only bits the
            // map does not name are set
            e.labels = Vec::new();
            dir = 3;
            continue;
        }
        let (k, v) = t
            .split_once('=')
            .unwrap_or_else(|| panic!("unexpected token {t:?} in conntrack line: {line}"));
        if k == "src" {
            srcs += 1;
            dir = srcs.min(3);
        }
        let in_dir = matches!(
            k,
            "src"
                | "dst"
                | "sport"
                | "dport"
                | "type"
                | "code"
                | "id"
                | "srckey"
                | "dstkey"
                | "packets"
                | "bytes"
                | "zone-orig"
                | "zone-reply"
        );
        if in_dir && (dir == 1 || dir == 2) {
            let d = if dir == 1 {
                &mut e.original
            } else {
                &mut e.reply
            };
            match k {
                "src" => d.src = Some(parse_ip(v, line)),
                "dst" => d.dst = Some(parse_ip(v, line)),
                "sport" => d.sport = Some(num(v, line)),
                "dport" => d.dport = Some(num(v, line)),
                "type" => d.icmp_type = Some(num(v, line)),
                "code" => d.code = Some(num(v, line)),
                "id" => d.icmp_id = Some(num(v, line)),
                "srckey" => d.srckey = Some(hex16(v, line)),
                "dstkey" => d.dstkey = Some(hex16(v, line)),
                "packets" => d.packets = Some(num(v, line)),
                "bytes" => d.bytes = Some(num(v, line)),
                "zone-orig" => {
                    assert_eq!(dir, 1, "zone-orig in the reply tuple: {line}");
                    d.zone = Some(num(v, line))
                }
                "zone-reply" => {
                    assert_eq!(dir, 2, "zone-reply in the original tuple: {line}");
                    d.zone = Some(num(v, line))
                }
                _ => unreachable!(),
            }
            continue;
        }
        dir = 3;
        match k {
            "mark" => e.mark = Some(num(v, line)),
            "secmark" => e.secmark = Some(num(v, line)),
            "secctx" => e.secctx = Some(v.to_string()),
            "zone" => e.zone = Some(num(v, line)),
            "delta-time" => e.delta_time = Some(num(v, line)),
            "use" => e.use_count = Some(num(v, line)),
            "id" => id = Some(num(v, line)),
            "helper" => e.helper = Some(v.to_string()),
            "labels" => e.labels = v.split(',').map(str::to_string).collect(),
            _ => panic!("unexpected key {k:?} in conntrack line: {line}"),
        }
    }
    e.id = id.unwrap_or_else(|| panic!("no id= in conntrack line: {line}"));
    e
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The label map used when listing: bit -> name.
fn label_map(map: &str) -> BTreeMap<u32, String> {
    map.lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let bit = it.next()?.parse().ok()?;
            Some((bit, it.next()?.to_string()))
        })
        .collect()
}

fn push_diff(d: &mut Vec<String>, field: &str, json: String, conntrack: String) {
    if json != conntrack {
        d.push(format!("{field}: json {json}, conntrack {conntrack}"));
    }
}

/// Differences between ct's JSON and conntrack's line for one entry.
fn entry_differences(
    j: &JsonEntry,
    cn: &CnEntry,
    cn_dump_secs: u64,
    map: &BTreeMap<u32, String>,
    line: &str,
) -> Vec<String> {
    let mut d = Vec::new();
    push_diff(
        &mut d,
        "family",
        format!("{:?}", j.family),
        format!("{:?}", cn.family),
    );
    let want_proto = if cn.proto == "unknown" {
        cn.protonum.to_string()
    } else {
        cn.proto.clone()
    };
    push_diff(
        &mut d,
        "proto",
        format!("{:?}", j.proto),
        format!("{want_proto:?}"),
    );
    push_diff(
        &mut d,
        "protonum",
        j.protonum.to_string(),
        cn.protonum.to_string(),
    );
    match (j.timeout, cn.timeout) {
        (Some(a), Some(b)) if a.abs_diff(b) <= VOLATILE_TOLERANCE as u32 => {}
        (a, b) => d.push(format!(
            "timeout: json {a:?}, conntrack {b:?} (tolerance {VOLATILE_TOLERANCE}s)"
        )),
    }
    push_diff(
        &mut d,
        "state",
        format!("{:?}", j.state),
        format!("{:?}", cn.state),
    );
    let jo = Dir::from_json(&j.original, line);
    let jr = Dir::from_json(&j.reply, line);
    push_diff(
        &mut d,
        "original",
        format!("{jo:?}"),
        format!("{:?}", cn.original),
    );
    push_diff(
        &mut d,
        "reply",
        format!("{jr:?}"),
        format!("{:?}", cn.reply),
    );
    push_diff(
        &mut d,
        "[UNREPLIED] (status lacks SEEN_REPLY)",
        (!j.has_status("SEEN_REPLY")).to_string(),
        cn.unreplied.to_string(),
    );
    push_diff(
        &mut d,
        "[ASSURED] (status has ASSURED, not offloaded)",
        (j.has_status("ASSURED") && !j.has_status("OFFLOAD") && !j.has_status("HW_OFFLOAD"))
            .to_string(),
        cn.assured.to_string(),
    );
    push_diff(
        &mut d,
        "[OFFLOAD]",
        (j.has_status("OFFLOAD") && !j.has_status("HW_OFFLOAD")).to_string(),
        cn.offload.to_string(),
    );
    push_diff(
        &mut d,
        "[HW_OFFLOAD]",
        j.has_status("HW_OFFLOAD").to_string(),
        cn.hw_offload.to_string(),
    );
    push_diff(
        &mut d,
        "mark",
        format!("{:?}", j.mark),
        format!("{:?}", cn.mark),
    );
    push_diff(
        &mut d,
        "secctx",
        format!("{:?}", j.secctx),
        format!("{:?}", cn.secctx),
    );
    push_diff(
        &mut d,
        "secmark",
        format!("{:?}", j.secmark),
        format!("{:?}", cn.secmark),
    );
    push_diff(
        &mut d,
        "zone",
        format!("{:?}", j.zone),
        format!("{:?}", cn.zone),
    );
    push_diff(
        &mut d,
        "use",
        format!("{:?}", j.use_count),
        format!("{:?}", cn.use_count),
    );
    push_diff(
        &mut d,
        "id",
        format!("{:?}", j.id),
        format!("{:?}", Some(cn.id)),
    );
    push_diff(
        &mut d,
        "helper",
        format!("{:?}", j.helper),
        format!("{:?}", cn.helper),
    );
    // conntrack prints only the label bits the map names; ct prints every bit,
    // with the map's name beside it where there is one.
    let named: Vec<String> = j
        .label_pairs()
        .into_iter()
        .filter_map(|(_, name)| name.map(str::to_string))
        .collect();
    push_diff(
        &mut d,
        "labels (named)",
        format!("{named:?}"),
        format!("{:?}", cn.labels),
    );
    for (bit, name) in j.label_pairs() {
        if bit > 127 {
            d.push(format!("labels: bit {bit} out of range"));
        }
        if name != map.get(&bit).map(String::as_str) {
            d.push(format!(
                "labels: bit {bit} has name {name:?} but the map says {:?}",
                map.get(&bit)
            ));
        }
    }
    // delta-time is printed exactly when the kernel sent a start time.
    match (j.start, cn.delta_time) {
        (None, None) => {}
        (Some(start), Some(delta)) => {
            let want = cn_dump_secs.saturating_sub(start / 1_000_000_000);
            if want.abs_diff(delta) > VOLATILE_TOLERANCE {
                d.push(format!(
                    "start {start} means delta-time ~{want} at conntrack's dump, conntrack printed {delta}"
                ));
            }
        }
        (a, b) => d.push(format!("start: json {a:?}, conntrack delta-time {b:?}")),
    }
    if j.stop.is_some() {
        d.push(format!("stop present on a live entry: {:?}", j.stop));
    }
    d
}

/// Run `ct list -o json` and `conntrack -L -o extended,id,labels` in `env`
/// and compare them entry by entry (matched by id).  Returns ct's entries.
fn compare_json_with_conntrack(env: Env, map: &str) -> Vec<JsonEntry> {
    let ct = ct_bin();
    let ct_out = env.run(&[ct.as_str(), "list", "-o", "json"]);
    let ct_text = check_ok("ct list -o json", &ct_out);
    let dump_secs = now_secs();
    let cn_text = check_ok(
        "conntrack -L -o extended,id,labels",
        &env.run(&["conntrack", "-L", "-o", "extended,id,labels"]),
    );
    let cn_dump_secs = (dump_secs + now_secs()) / 2;
    let json = parse_json_lines(&ct_text);
    let summary = ct_summary_count(&String::from_utf8_lossy(&ct_out.stderr))
        .unwrap_or_else(|e| panic!("ct list -o json: {e}"));
    assert_eq!(summary, json.len(), "ct's summary count vs JSON lines");
    let cn: Vec<CnEntry> = cn_text.lines().map(parse_conntrack_line).collect();

    let mut by_id_json = BTreeMap::new();
    for (e, line) in &json {
        let id =
            e.id.unwrap_or_else(|| panic!("JSON entry without id: {line}"));
        assert!(
            by_id_json.insert(id, (e, line)).is_none(),
            "duplicate id {id} in ct's JSON"
        );
    }
    let by_id_cn: BTreeMap<u32, &CnEntry> = cn.iter().map(|c| (c.id, c)).collect();
    assert_eq!(
        by_id_cn.len(),
        cn.len(),
        "harness: duplicate ids in conntrack"
    );

    let map = label_map(map);
    let mut report = Vec::new();
    for (id, (e, line)) in &by_id_json {
        match by_id_cn.get(id) {
            None => report.push(format!("id {id} only in ct's JSON: {line}")),
            Some(c) => {
                let d = entry_differences(e, c, cn_dump_secs, &map, line);
                if !d.is_empty() {
                    report.push(format!(
                        "id {id}:\n    {}\n  json:      {line}\n  conntrack: {}",
                        d.join("\n    "),
                        c.line
                    ));
                }
            }
        }
    }
    for (id, c) in &by_id_cn {
        if !by_id_json.contains_key(id) {
            report.push(format!("id {id} only in conntrack: {}", c.line));
        }
    }
    if !report.is_empty() {
        panic!(
            "ct list -o json ({} entries) differs from conntrack -L -o extended,id,labels ({} entries) in {} entries:\n{}",
            json.len(),
            cn.len(),
            report.len(),
            report.join("\n")
        );
    }
    json.into_iter().map(|(e, _)| e).collect()
}

// ---------------------------------------------------------------------------
// Entry shapes (arguments of `conntrack -I`), each group in its own subnet
// ---------------------------------------------------------------------------

/// This file's address block (see `common::shapes`).
const NET: u8 = 201;

/// Entries of every tracker, state, status, mark, zone and NAT shape.
fn shape_entries() -> Vec<String> {
    let mut v = shapes::tcp_states(NET);
    v.extend(shapes::sctp_states(
        "10.201.13.1",
        "10.201.13.2",
        0xfffffff0,
    ));
    v.push("-p sctp -s fd00:201::13:1 -d fd00:201::13:2 --sport 5 --dport 6 --state COOKIE_ECHOED --orig-vtag 1 --reply-vtag 2 -t 210".into());
    for s in [
        "-p udp -s 10.201.11.1 -d 10.201.11.2 --sport 53 --dport 5353 -t 120",
        "-p udp -s 10.201.11.1 -d 10.201.11.2 --sport 54 --dport 5353 -t 121 -u SEEN_REPLY",
        "-p udp -s 10.201.11.1 -d 10.201.11.2 --sport 55 --dport 5353 -t 122 -u SEEN_REPLY,ASSURED",
        "-p udp -s 10.201.11.3 -d 10.201.11.4 --sport 65535 --dport 1 -t 124 -u ASSURED",
        "-p udplite -s 10.201.11.1 -d 10.201.11.2 --sport 53 --dport 5353 -t 126",
        "-p udplite -s 10.201.11.1 -d 10.201.11.2 --sport 54 --dport 5353 -t 127 -u SEEN_REPLY,ASSURED",
    ] {
        v.push(s.to_string());
    }
    v.extend(shapes::icmp(NET));
    v.extend(shapes::gre_and_unknown(NET));
    for s in [
        "-p tcp -s 10.201.15.1 -d 10.201.15.2 --sport 100 --dport 22 --state ESTABLISHED -t 400 -u FIXED_TIMEOUT",
        "-p udp -s 10.201.15.1 -d 10.201.15.2 --sport 101 --dport 22 -t 400 -u SEEN_REPLY,ASSURED,FIXED_TIMEOUT",
        "-p 99 -s 10.201.15.10 -d 10.201.15.2 -t 400 -u ASSURED",
        // marks
        "-p tcp -s 10.201.16.1 -d 10.201.16.2 --sport 1000 --dport 443 --state ESTABLISHED -t 500 -u SEEN_REPLY,ASSURED -m 1",
        "-p tcp -s 10.201.16.1 -d 10.201.16.2 --sport 1001 --dport 443 --state ESTABLISHED -t 500 -u SEEN_REPLY,ASSURED -m 5",
        "-p udp -s 10.201.16.1 -d 10.201.16.2 --sport 1002 --dport 443 -t 500 -m 5",
        "-p tcp -s 10.201.16.1 -d 10.201.16.2 --sport 1003 --dport 443 --state ESTABLISHED -t 500 -m 0x80000000",
        "-p tcp -s 10.201.16.1 -d 10.201.16.2 --sport 1004 --dport 443 --state ESTABLISHED -t 500 -m 0xffffffff",
        "-p udp -s fd00:201::16:1 -d fd00:201::16:2 --sport 1 --dport 2 -t 500 -m 5",
    ] {
        v.push(s.to_string());
    }
    v.extend(shapes::zones(NET));
    for s in [
        // NAT
        "-p tcp -s 10.201.18.1 -d 10.201.18.2 --sport 1001 --dport 80 --state ESTABLISHED -t 100 --src-nat 10.201.18.100",
        "-p tcp -s 10.201.18.1 -d 10.201.18.2 --sport 1002 --dport 80 --state ESTABLISHED -t 100 --src-nat 10.201.18.100:9999 -u SEEN_REPLY,ASSURED",
        "-p tcp -s 10.201.18.1 -d 10.201.18.2 --sport 1003 --dport 80 --state ESTABLISHED -t 100 --dst-nat 10.201.18.101",
        "-p tcp -s 10.201.18.1 -d 10.201.18.2 --sport 1004 --dport 80 --state ESTABLISHED -t 100 --dst-nat 10.201.18.101:8080 -u SEEN_REPLY,ASSURED",
        "-p udp -s 10.201.18.1 -d 10.201.18.2 --sport 1005 --dport 53 -t 100 --src-nat 10.201.18.100:20000 --dst-nat 10.201.18.101:5353 -u SEEN_REPLY",
        "-p icmp -s 10.201.18.1 -d 10.201.18.2 --icmp-type 8 --icmp-code 0 --icmp-id 5 -t 100 --src-nat 10.201.18.100",
        "-p tcp -s fd00:201::18:1 -d fd00:201::18:2 --sport 1006 --dport 80 --state ESTABLISHED -t 100 --src-nat fd00:201::18:100 -u SEEN_REPLY,ASSURED",
        // IPv6 odds and ends
        "-p tcp -s fd00:201::19:1 -d fd00:201::19:2 --sport 1 --dport 22 --state ESTABLISHED -t 100 -u SEEN_REPLY,ASSURED",
        "-p udp -s fd00:201:0:0:1:0:0:1 -d fd00:201:1:0:1:1:1:1 --sport 6 --dport 53 -t 105",
        "-p udp -s ::ffff:10.201.19.1 -d ::ffff:10.201.19.2 --sport 8 --dport 53 -t 107",
    ] {
        v.push(s.to_string());
    }
    v
}

/// (sport, labels) of the labelled udp entries 10.201.20.1 -> 10.201.20.2.
const LABELLED: [(&str, &str); 5] = [
    ("1", "one,five"),
    ("2", "zero"),
    ("3", "three"),
    ("4", "zero,one,three,five,top"),
    ("5", "top"),
];

/// A namespace with accounting, timestamps, labels and every shape.
/// Returns it with the number of entries.
fn shapes_namespace() -> (Netns, usize) {
    let ns = Netns::new();
    ns.enable_acct_and_timestamps();
    ns.enable_labels();
    let entries = shape_entries();
    ns.insert_bulk(&entries);
    for (sport, labels) in LABELLED {
        ns.insert_with_labels(
            FULL_LABEL_MAP,
            &format!("-p udp -s 10.201.20.1 -d 10.201.20.2 --sport {sport} --dport 2 -t 300 --label-add {labels}"),
        );
    }
    let n = entries.len() + LABELLED.len();
    let listed = conntrack_list(Env::Ns(&ns), "").lines().count();
    assert_eq!(
        listed, n,
        "harness: conntrack does not list every inserted entry"
    );
    (ns, n)
}

// ---------------------------------------------------------------------------
// Processes with pipes and deadlines
// ---------------------------------------------------------------------------

/// Wait for `child` until `deadline`; kill it and panic after that.
fn wait_until(child: &mut Child, deadline: Instant, what: &str) -> ExitStatus {
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` did not exit in time; killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn read_all_in_thread(mut r: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = r.read_to_end(&mut v);
        v
    })
}

/// `first | second`: a real pipe between two processes.  Returns both
/// outputs (the first one's stdout is what the second one read: empty).
fn pipeline(first: &mut Command, second: &mut Command) -> (Output, Output) {
    let (w1, w2) = (describe(first), describe(second));
    let mut a = first
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {w1}: {e}"));
    let a_out = a.stdout.take().unwrap();
    let a_err = read_all_in_thread(a.stderr.take().unwrap());
    let mut b = second
        .stdin(Stdio::from(a_out))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {w2}: {e}"));
    let b_out = read_all_in_thread(b.stdout.take().unwrap());
    let b_err = read_all_in_thread(b.stderr.take().unwrap());
    let deadline = Instant::now() + CMD_TIMEOUT;
    let sa = wait_until(&mut a, deadline, &w1);
    let sb = wait_until(&mut b, deadline, &w2);
    (
        Output {
            status: sa,
            stdout: Vec::new(),
            stderr: a_err.join().unwrap(),
        },
        Output {
            status: sb,
            stdout: b_out.join().unwrap(),
            stderr: b_err.join().unwrap(),
        },
    )
}

/// Run `ip netns exec NS argv` with stdout on a fresh pseudo-terminal of
/// `cols` columns (NO_COLOR removed from the environment, then `envs`
/// added); stdout is what the terminal got, with \r\n turned back into \n.
fn run_on_pty(ns: &Netns, argv: &[&str], envs: &[(&str, &str)], cols: u16) -> Output {
    let (mut master, mut slave): (libc::c_int, libc::c_int) = (-1, -1);
    let ws = libc::winsize {
        ws_row: 50,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors; name and termios may be null.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &ws,
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned here only.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = ns.exec_cmd(argv);
    cmd.env_remove("NO_COLOR");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let what = describe(&cmd);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    drop(cmd); // our copy of the slave: the reader sees EIO once the child is gone
    let out = read_all_in_thread(std::fs::File::from(master));
    let err = read_all_in_thread(child.stderr.take().unwrap());
    let status = wait_until(&mut child, Instant::now() + CMD_TIMEOUT, &what);
    let stdout = out.join().unwrap();
    // the terminal turns \n into \r\n
    let text = String::from_utf8_lossy(&stdout).replace("\r\n", "\n");
    Output {
        status,
        stdout: text.into_bytes(),
        stderr: err.join().unwrap(),
    }
}

fn ct_in(ns: &Netns, args: &[&str]) -> Output {
    let ct = ct_bin();
    let mut argv = vec![ct.as_str(), "list"];
    argv.extend_from_slice(args);
    ns.exec(&argv)
}

/// `ct list ARGS` in ns: must exit 0 and report as many entries on stderr
/// as `count` finds in stdout; returns stdout.
fn ct_ok(ns: &Netns, args: &[&str], count: impl Fn(&str) -> usize) -> String {
    let what = format!("ct list {}", args.join(" "));
    let out = ct_in(ns, args);
    let text = check_ok(&what, &out);
    let n = ct_summary_count(&String::from_utf8_lossy(&out.stderr))
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(n, count(&text), "{what}: summary count vs entries printed");
    text
}

fn line_count(s: &str) -> usize {
    s.lines().count()
}

fn table_rows(s: &str) -> usize {
    s.lines().count().saturating_sub(1)
}

fn xml_flows(s: &str) -> usize {
    s.lines().filter(|l| l.starts_with("<flow>")).count()
}

// ---------------------------------------------------------------------------
// 1. JSON against conntrack
// ---------------------------------------------------------------------------

#[test]
fn json_matches_conntrack_for_every_shape() {
    require_kernel!();
    let (ns, n) = shapes_namespace();
    let env = Env::NsWithLabels(&ns, LABEL_MAP);
    let json = compare_json_with_conntrack(env, LABEL_MAP);
    assert_eq!(json.len(), n);

    // The shapes really are there (so the comparison covered them).
    let by_src = |src: &str| -> Vec<&JsonEntry> {
        json.iter()
            .filter(|e| e.original.src.as_deref() == Some(src))
            .collect()
    };
    let gre = by_src("10.201.14.1")
        .into_iter()
        .find(|e| e.proto == "gre")
        .expect("gre entry");
    assert_eq!(
        (gre.original.srckey, gre.original.dstkey),
        (Some(0x1234), Some(0x5678))
    );
    assert_eq!(
        (gre.reply.srckey, gre.reply.dstkey),
        (Some(0x5678), Some(0x1234))
    );
    let sctp_states: BTreeSet<&str> = by_src("10.201.13.1")
        .iter()
        .filter_map(|e| e.state.as_deref())
        .collect();
    assert_eq!(
        sctp_states,
        SCTP_STATES.iter().copied().collect(),
        "sctp states in JSON"
    );
    let zones: Vec<(Option<u16>, Option<u16>, Option<u16>)> = by_src("10.201.17.1")
        .iter()
        .filter(|e| e.proto == "tcp")
        .map(|e| (e.zone, e.original.zone, e.reply.zone))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        zones,
        vec![
            (None, None, Some(9)),
            (None, Some(8), None),
            (Some(7), None, None),
            (Some(65535), None, None)
        ]
    );
    let unknown: BTreeSet<(String, u8)> = by_src("10.201.14.1")
        .iter()
        .map(|e| (e.proto.clone(), e.protonum))
        .collect();
    assert!(
        unknown.contains(&("50".to_string(), 50)) && unknown.contains(&("255".to_string(), 255)),
        "{unknown:?}"
    );
    let mut labels: Vec<Vec<(u32, Option<&str>)>> = by_src("10.201.20.1")
        .iter()
        .map(|e| e.label_pairs())
        .collect();
    labels.sort();
    let want: Vec<Vec<(u32, Option<&str>)>> = vec![
        vec![(0, Some("zero"))],
        vec![
            (0, Some("zero")),
            (1, Some("one")),
            (3, None),
            (5, Some("five")),
            (127, None),
        ],
        vec![(1, Some("one")), (5, Some("five"))],
        vec![(3, None)],
        vec![(127, None)],
    ];
    assert_eq!(labels, want, "labels with LABEL_MAP (3 and 127 unnamed)");
    let fixed = json
        .iter()
        .filter(|e| e.has_status("FIXED_TIMEOUT"))
        .count();
    assert_eq!(fixed, 2, "FIXED_TIMEOUT entries");
    // What conntrack does not print (issue 9): each tracker's own fields, only on
    // its entries; conntrack -I makes no master, sequence adjustment or SYN proxy
    // (json_schema.rs makes those over ctnetlink).
    for e in &json {
        let dirs = [&e.original, &e.reply];
        assert_eq!(
            dirs.map(|d| d.wscale.is_some() && d.tcp_flags.is_some()),
            [e.proto == "tcp"; 2],
            "tcp's window scale and flags: {e:?}"
        );
        assert_eq!(
            dirs.map(|d| d.vtag.is_some()),
            [e.proto == "sctp"; 2],
            "sctp's vtags: {e:?}"
        );
        assert!(
            dirs.iter().all(|d| d.seq_adj.is_none())
                && e.master.is_none()
                && e.synproxy.is_none()
                && e.dccp_role.is_none()
                && e.dccp_handshake_seq.is_none(),
            "{e:?}"
        );
    }
    // conntrack -I's --orig-vtag N reaches the kernel in host byte order, which keeps
    // the tag as the packet carries it (big-endian) and sends it so.
    let as_sent_by_conntrack = |n: u32| Some(u32::from_be_bytes(n.to_ne_bytes()));
    let sctp6 = json
        .iter()
        .find(|e| e.original.src.as_deref() == Some("fd00:201::13:1"))
        .expect("the ipv6 sctp entry");
    assert_eq!(
        (sctp6.original.vtag, sctp6.reply.vtag),
        (as_sent_by_conntrack(1), as_sent_by_conntrack(2))
    );
    assert!(
        json.iter()
            .all(|e| e.start.is_some() && e.original.packets.is_some() && e.reply.bytes.is_some()),
        "accounting and timestamps are on, yet some entry lacks counters or start"
    );

    // Without a label map every set bit is a number.
    let ct = ct_bin();
    let plain = parse_json_lines(&check_ok(
        "ct list -o json (no label map)",
        &ns.exec(&[ct.as_str(), "list", "-o", "json", "-s", "10.201.20.1"]),
    ));
    // Issue 9: the same objects, without names; a script reading `.labels[].bit`
    // works on both hosts.
    let mut bits: Vec<Vec<(u32, Option<&str>)>> =
        plain.iter().map(|(e, _)| e.label_pairs()).collect();
    bits.sort();
    let want: Vec<Vec<(u32, Option<&str>)>> = vec![
        vec![(0, None)],
        vec![(0, None), (1, None), (3, None), (5, None), (127, None)],
        vec![(1, None), (5, None)],
        vec![(3, None)],
        vec![(127, None)],
    ];
    assert_eq!(bits, want, "labels without a label map");
}

#[test]
fn json_matches_conntrack_on_real_traffic() {
    require_kernel!();
    let mut t = Topology::new();
    t.generate_all_traffic();
    let json = compare_json_with_conntrack(Env::NsWithLabels(&t.router, LABEL_MAP), LABEL_MAP);
    let table = conntrack_list(Env::Ns(&t.router), "extended");
    eprintln!("router table (conntrack -L -o extended):\n{table}"); // shown on failure

    // What the traffic made, as JSON.
    let ftp: Vec<&JsonEntry> = json
        .iter()
        .filter(|e| e.helper.as_deref() == Some("ftp"))
        .collect();
    assert_eq!(ftp.len(), 2, "one ftp entry per family");
    assert!(
        ftp.iter()
            .all(|e| e.mark == Some(42) && e.original.dport == Some(21)),
        "ftp entries: {ftp:?}"
    );
    assert_eq!(
        json.iter()
            .filter(|e| e.helper.as_deref() == Some("tftp"))
            .count(),
        2,
        "one tftp entry per family"
    );
    // Forwarded udp has label 1 ("one"); the unreplied v4 one also got
    // bit 3 (unnamed) from the ICMP port unreachable that came back, which
    // is related to it and matched the `meta l4proto icmp` rule (ICMPv6 does
    // not).
    for e in json.iter().filter(|e| e.proto == "udp") {
        let want: &[(u32, Option<&str>)] = if e.has_status("SEEN_REPLY") || e.family == "ipv6" {
            &[(1, Some("one"))]
        } else {
            &[(1, Some("one")), (3, None)]
        };
        assert_eq!(e.label_pairs(), want, "udp entry labels: {e:?}");
    }
    let icmp: Vec<&JsonEntry> = json.iter().filter(|e| e.proto == "icmp").collect();
    assert_eq!(icmp.len(), 1, "one v4 ping");
    assert_eq!(icmp[0].label_pairs(), [(3, None)]);
    assert_eq!(icmp[0].original.icmp_type, Some(8));
    assert_eq!(icmp[0].reply.icmp_type, Some(0));
    let icmp6: Vec<&JsonEntry> = json.iter().filter(|e| e.proto == "icmpv6").collect();
    assert_eq!(icmp6.len(), 1, "one v6 ping");
    assert_eq!(
        (icmp6[0].original.icmp_type, icmp6[0].reply.icmp_type),
        (Some(128), Some(129))
    );
    let states: BTreeSet<&str> = json.iter().filter_map(|e| e.state.as_deref()).collect();
    for s in ["ESTABLISHED", "TIME_WAIT", "SYN_SENT", "CLOSE"] {
        assert!(states.contains(s), "no {s} entry: {states:?}");
    }
    // Issue 9: what the TCP tracker saw of each side. Linux offers window scaling and
    // SACK in every SYN; a server that answered did too.
    let has = |flags: &Option<Vec<String>>, name: &str| {
        flags.as_ref().is_some_and(|f| f.iter().any(|n| n == name))
    };
    for e in json.iter().filter(|e| e.proto == "tcp") {
        assert!(
            e.original.wscale.is_some()
                && has(&e.original.tcp_flags, "WINDOW_SCALE")
                && has(&e.original.tcp_flags, "SACK_PERM"),
            "the client's SYN: {e:?}"
        );
        assert_eq!(
            has(&e.reply.tcp_flags, "WINDOW_SCALE"),
            e.has_status("SEEN_REPLY"),
            "the server's SYN/ACK: {e:?}"
        );
    }
    for e in &json {
        let router = if e.family == "ipv6" {
            ROUTER_SERVER_SIDE_V6
        } else {
            ROUTER_SERVER_SIDE_V4
        };
        assert!(
            e.has_status("SRC_NAT") && e.reply.dst.as_deref() == Some(router),
            "every forwarded entry is masqueraded to {router}: {e:?}"
        );
        assert!(
            e.original.packets.unwrap_or(0) > 0 && e.start.is_some(),
            "counters and timestamps on: {e:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// 2. jq
// ---------------------------------------------------------------------------

/// True if jq can run; otherwise skip like a kernel test (panic with
/// CT_REQUIRE_KERNEL_TESTS=1).
fn jq_available(ctx: &str) -> bool {
    if find_program("jq").is_some() {
        return true;
    }
    if std::env::var("CT_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1") {
        panic!("CT_REQUIRE_KERNEL_TESTS=1 but jq is missing ({ctx}); apt-get install jq");
    }
    let _ = writeln!(std::io::stderr(), "skipped: {ctx}: jq is not installed");
    false
}

/// Entries for the jq test: (conntrack -I args, proto as ct names it).
fn jq_entries() -> Vec<(String, &'static str)> {
    [
        ("-p tcp -s 10.202.0.1 -d 10.202.0.2 --sport 1001 --dport 443 --state ESTABLISHED -t 300 -u SEEN_REPLY,ASSURED", "tcp"),
        ("-p tcp -s 10.202.0.1 -d 10.202.0.2 --sport 1002 --dport 443 --state SYN_SENT -t 300", "tcp"),
        ("-p tcp -s 10.202.0.1 -d 10.202.0.2 --sport 443 --dport 1003 --state ESTABLISHED -t 300", "tcp"),
        ("-p tcp -s 10.202.0.1 -d 10.202.0.2 --sport 1004 --dport 80 --state ESTABLISHED -t 300", "tcp"),
        // reply side on 443, original dport 8443: not selected
        ("-p tcp -s 10.202.0.1 -d 10.202.0.2 --sport 1005 --dport 8443 --state ESTABLISHED -t 300 --dst-nat 10.202.0.3:443", "tcp"),
        ("-p tcp -s fd00:202::1 -d fd00:202::2 --sport 1006 --dport 443 --state ESTABLISHED -t 300", "tcp"),
        ("-p udp -s 10.202.0.1 -d 10.202.0.2 --sport 1007 --dport 443 -t 300", "udp"),
        ("-p udp -s 10.202.0.1 -d 10.202.0.2 --sport 1008 --dport 53 -t 300", "udp"),
        ("-p udp -s fd00:202::1 -d fd00:202::2 --sport 1009 --dport 53 -t 300", "udp"),
        ("-p sctp -s 10.202.0.1 -d 10.202.0.2 --sport 1010 --dport 443 --state ESTABLISHED --orig-vtag 1 --reply-vtag 2 -t 300", "sctp"),
        ("-p icmp -s 10.202.0.1 -d 10.202.0.2 --icmp-type 8 --icmp-code 0 --icmp-id 443 -t 300", "icmp"),
        ("-p icmpv6 -s fd00:202::1 -d fd00:202::2 --icmpv6-type 128 --icmpv6-code 0 --icmpv6-id 443 -t 300", "icmpv6"),
        ("-p gre -s 10.202.0.1 -d 10.202.0.2 --srckey 443 --dstkey 443 -t 300", "gre"),
        ("-p 50 -s 10.202.0.1 -d 10.202.0.2 -t 300", "50"),
        ("-p 50 -s 10.202.0.5 -d 10.202.0.2 -t 300", "50"),
    ]
    .iter()
    .map(|(a, p)| (a.to_string(), *p))
    .collect()
}

fn run_jq_on_ct(ns: &Netns, filter: &[&str]) -> String {
    let ct = ct_bin();
    let (ct_out, jq_out) = pipeline(
        &mut ns.exec_cmd(&[ct.as_str(), "list", "-o", "json"]),
        Command::new("jq").args(filter),
    );
    assert!(
        ct_out.status.success(),
        "ct list -o json | jq: ct failed: {}",
        String::from_utf8_lossy(&ct_out.stderr)
    );
    check_ok(&format!("jq {}", filter.join(" ")), &jq_out)
}

#[test]
fn jq_selects_and_groups() {
    require_kernel!();
    if !jq_available(concat!(file!(), ":", line!())) {
        return;
    }
    // Accounting on, timestamps off: jq 1.6 reads numbers as doubles, so a
    // nanosecond `start` (> 2^53) would not survive the round trip.
    let ns = Netns::new();
    ns.sysctl("net.netfilter.nf_conntrack_acct", "1");
    let entries = jq_entries();
    ns.insert_bulk(&entries.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>());
    let ct = ct_bin();
    let all_text = check_ok(
        "ct list -o json",
        &ns.exec(&[ct.as_str(), "list", "-o", "json"]),
    );
    let all = parse_json_lines(&all_text);
    assert_eq!(all.len(), entries.len());

    // select(.original.dport == 443): exactly the entries inserted with
    // --dport 443 (tcp v4 x2, tcp v6, udp, sctp), unchanged.
    let got = run_jq_on_ct(&ns, &["-c", "select(.original.dport == 443)"]);
    let got_values: Vec<serde_json::Value> = got
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("jq output {l:?}: {e}")))
        .collect();
    let mut got_keys: Vec<(String, String, u16)> = parse_json_lines(&got)
        .iter()
        .map(|(e, _)| {
            (
                e.proto.clone(),
                e.original.src.clone().unwrap(),
                e.original.sport.unwrap(),
            )
        })
        .collect();
    got_keys.sort();
    let want_keys: Vec<(String, String, u16)> = vec![
        ("sctp".into(), "10.202.0.1".into(), 1010),
        ("tcp".into(), "10.202.0.1".into(), 1001),
        ("tcp".into(), "10.202.0.1".into(), 1002),
        ("tcp".into(), "fd00:202::1".into(), 1006),
        ("udp".into(), "10.202.0.1".into(), 1007),
    ];
    assert_eq!(
        got_keys, want_keys,
        "jq select(.original.dport == 443) selected:\n{got}"
    );
    // jq's objects are ct's objects (same values), in ct's order
    let want_values: Vec<serde_json::Value> = all
        .iter()
        .filter(|(e, _)| e.original.dport == Some(443))
        .map(|(_, l)| serde_json::from_str(l).unwrap())
        .collect();
    // (timeout ticks between the two runs of ct)
    let untimed = |v: &[serde_json::Value]| -> Vec<serde_json::Value> {
        v.iter()
            .cloned()
            .map(|mut x| {
                x.as_object_mut().unwrap().remove("timeout");
                x
            })
            .collect()
    };
    assert_eq!(
        untimed(&got_values),
        untimed(&want_values),
        "jq -c output vs ct's lines (timeout left out)"
    );

    // group_by(.proto) | map({(.[0].proto): length}) | add
    let grouped = run_jq_on_ct(
        &ns,
        &["-s", "group_by(.proto) | map({(.[0].proto): length}) | add"],
    );
    let got: BTreeMap<String, usize> = serde_json::from_str(&grouped)
        .unwrap_or_else(|e| panic!("jq group output is not a count object ({e}): {grouped}"));
    let mut want: BTreeMap<String, usize> = BTreeMap::new();
    for (_, p) in &entries {
        *want.entry(p.to_string()).or_default() += 1;
    }
    assert_eq!(got, want, "per-protocol counts via jq");
    let mut from_json: BTreeMap<String, usize> = BTreeMap::new();
    for (e, _) in &all {
        *from_json.entry(e.proto.clone()).or_default() += 1;
    }
    assert_eq!(from_json, want, "per-protocol counts from ct's JSON");
}

// ---------------------------------------------------------------------------
// 3. XML against conntrack
// ---------------------------------------------------------------------------

/// Replace the number in `<tag>123</tag>` with the placeholder `N`;
/// returns the line and the number.
fn mask_xml_value(line: &str, tag: &str) -> (String, Option<u64>) {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let Some(a) = line.find(&open) else {
        return (line.to_string(), None);
    };
    let start = a + open.len();
    let b = start + line[start..].find(&close).expect("unterminated tag");
    let v = line[start..b]
        .parse()
        .unwrap_or_else(|e| panic!("<{tag}> value {:?}: {e}", &line[start..b]));
    (format!("{}<{tag}>N{}", &line[..a], &line[b..]), Some(v))
}

fn xml_id(line: &str) -> Option<u32> {
    let i = line.find(r#"<meta direction="independent">"#)?;
    let rest = &line[i..];
    let a = rest.find("<id>")? + 4;
    let b = a + rest[a..].find("</id>")?;
    rest[a..b].parse().ok()
}

const XML_HEADER: [&str; 2] = [r#"<?xml version="1.0" encoding="utf-8"?>"#, "<conntrack>"];
const XML_FOOTER: &str = "</conntrack>";

/// Compare `ct list -o OPTS` with `conntrack -L -o OPTS` (XML); a report
/// of the differences or None.
fn compare_xml(env: Env, opts: &str) -> Option<String> {
    let ct = ct_bin();
    let ct_out = env.run(&[ct.as_str(), "list", "-o", opts]);
    let ct_text = check_ok(&format!("ct list -o {opts}"), &ct_out);
    let cn_text = check_ok(
        &format!("conntrack -L -o {opts}"),
        &env.run(&["conntrack", "-L", "-o", opts]),
    );
    let mut report = String::new();
    if !ct_text.ends_with('\n') || !cn_text.ends_with('\n') {
        report.push_str(&format!(
            "final newline: ct {}, conntrack {}\n",
            ct_text.ends_with('\n'),
            cn_text.ends_with('\n')
        ));
    }
    let ct_lines: Vec<&str> = ct_text.lines().collect();
    let cn_lines: Vec<&str> = cn_text.lines().collect();
    for (name, lines) in [("ct", &ct_lines), ("conntrack", &cn_lines)] {
        if lines.len() < 3
            || lines[..2] != XML_HEADER
            || lines.last() != Some(&XML_FOOTER)
            || lines[2..lines.len() - 1]
                .iter()
                .any(|l| !l.starts_with("<flow>") || !l.ends_with("</flow>"))
        {
            report.push_str(&format!(
                "{name}'s XML is not header, flows, footer:\n{}\n",
                lines.join("\n")
            ));
            return Some(report);
        }
    }
    let ct_flows = &ct_lines[2..ct_lines.len() - 1];
    let cn_flows = &cn_lines[2..cn_lines.len() - 1];
    match ct_summary_count(&String::from_utf8_lossy(&ct_out.stderr)) {
        Ok(n) if n == ct_flows.len() => {}
        Ok(n) => report.push_str(&format!(
            "summary says {n}, ct printed {} flows\n",
            ct_flows.len()
        )),
        Err(e) => report.push_str(&format!("{e}\n")),
    }
    // (normalised line, timeout, deltatime, id)
    type Flow = (String, Option<u64>, Option<u64>, Option<u32>);
    let norm = |l: &str, fix: bool| -> Flow {
        let l = if fix {
            fix_conntrack_xml_state(l)
        } else {
            l.to_string()
        };
        let (l, t) = mask_xml_value(&l, "timeout");
        let (l, d) = mask_xml_value(&l, "deltatime");
        let id = xml_id(&l);
        (l, t, d, id)
    };
    let a: Vec<Flow> = ct_flows.iter().map(|l| norm(l, false)).collect();
    let b: Vec<Flow> = cn_flows.iter().map(|l| norm(l, true)).collect();
    let join = |v: &[Flow]| {
        let mut s = String::new();
        for f in v {
            s.push_str(&f.0);
            s.push('\n');
        }
        s
    };
    // diff_listings sorts the lines and pairs the differing ones
    if let Some(d) = diff_listings(&join(&a), &join(&b)) {
        report.push_str(&d);
    } else {
        let by_id: BTreeMap<Option<u32>, &Flow> = b.iter().map(|f| (f.3, f)).collect();
        for f in &a {
            let g = by_id[&f.3];
            let close = |x: Option<u64>, y: Option<u64>| match (x, y) {
                (Some(x), Some(y)) => x.abs_diff(y) <= VOLATILE_TOLERANCE,
                (x, y) => x == y,
            };
            if !close(f.1, g.1) || !close(f.2, g.2) {
                report.push_str(&format!(
                    "id {:?}: timeout/deltatime ct {:?}/{:?}, conntrack {:?}/{:?}\n",
                    f.3, f.1, f.2, g.1, g.2
                ));
            }
        }
    }
    if report.is_empty() {
        None
    } else {
        Some(format!(
            "=== ct list -o {opts} vs conntrack -L -o {opts}:\n{report}"
        ))
    }
}

#[test]
fn xml_matches_conntrack() {
    require_kernel!();
    let (ns, n) = shapes_namespace();
    // the SCTP difference is really exercised
    let cn = conntrack_list(Env::Ns(&ns), "xml");
    assert!(
        cn.contains(r#"<layer4 protonum="132" protoname="sctp"><sport>2002</sport>"#)
            && cn.lines().any(|l| l.contains("<sport>2002</sport>")
                && l.contains("<state>SYN_RECV</state>")),
        "harness: conntrack no longer prints SCTP COOKIE_WAIT as SYN_RECV:\n{cn}"
    );
    assert_eq!(xml_flows(&cn), n);
    let mut failures = Vec::new();
    for opts in [
        "xml",
        "xml,ktimestamp",
        "xml,labels",
        "xml,ktimestamp,labels",
    ] {
        for env in [Env::Ns(&ns), Env::NsWithLabels(&ns, LABEL_MAP)] {
            if let Some(r) = compare_xml(env, opts) {
                failures.push(r);
            }
        }
    }
    let labelled = conntrack_list(Env::NsWithLabels(&ns, LABEL_MAP), "xml,labels");
    assert!(
        labelled.contains("<labels><label>one</label><label>five</label></labels>"),
        "harness: no labels in conntrack's XML:\n{labelled}"
    );
    let stamped = conntrack_list(Env::Ns(&ns), "xml,ktimestamp");
    assert!(stamped.contains("<timestamp><start>"), "{stamped}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn harness_helpers() {
    // assert_same_table tolerates TTL ticks only
    let a = "PROTO  TTL  FLAGS \nudp    100  X     \ntcp      9  Y     \n";
    let b = "PROTO  TTL  FLAGS \nudp     99  X     \ntcp      8  Y     \n";
    assert_same_table("tick", a, b);
    let c = "PROTO  TTL  FLAGS \nudp    100  Z     \ntcp      9  Y     \n";
    assert!(std::panic::catch_unwind(|| assert_same_table("flags", a, c)).is_err());
    let d = "PROTO  TTL  FLAGS \nudp    100  X     \n";
    assert!(std::panic::catch_unwind(|| assert_same_table("rows", a, d)).is_err());
    assert_eq!(strip_ansi("\x1b[32mOK\x1b[0m x"), "OK x");
    // conntrack's line parser
    let e = parse_conntrack_line(
        "ipv4     2 gre      47 59 src=10.0.0.1 dst=10.0.0.2 srckey=0x1234 dstkey=0x5678 zone-orig=4 packets=1 bytes=2 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 srckey=0x5678 dstkey=0x1234 packets=0 bytes=0 mark=7 zone=3 delta-time=5 use=1 id=99 labels",
    );
    assert_eq!(
        (
            e.original.srckey,
            e.original.zone,
            e.reply.dstkey,
            e.unreplied
        ),
        (Some(0x1234), Some(4), Some(0x1234), true)
    );
    assert_eq!(
        (e.mark, e.zone, e.delta_time, e.id),
        (Some(7), Some(3), Some(5), 99)
    );
    let e = parse_conntrack_line(
        "ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.2 type=8 code=0 id=77 src=10.0.0.2 dst=10.0.0.1 type=0 code=0 id=77 [ASSURED] mark=0 use=1 id=5 helper=ftp labels=one,five",
    );
    assert_eq!((e.reply.icmp_id, e.id, e.assured), (Some(77), 5, true));
    assert_eq!(e.helper.as_deref(), Some("ftp"));
    assert_eq!(e.labels, ["one", "five"]);
    assert_eq!(e.state, None);
    assert_eq!(e.timeout, Some(29));
}

#[test]
fn xml_sctp_state_mapping() {
    // the test's own helper: conntrack's TCP names back to SCTP's
    let line = r#"<flow><meta direction="original"><layer3 protonum="2" protoname="ipv4"><src>1.1.1.1</src><dst>1.1.1.2</dst></layer3><layer4 protonum="132" protoname="sctp"><sport>1</sport><dport>2</dport></layer4></meta><meta direction="independent"><state>SYN_RECV</state><timeout>9</timeout></meta></flow>"#;
    assert_eq!(
        fix_conntrack_xml_state(line),
        line.replace("SYN_RECV", "COOKIE_WAIT")
    );
    let tcp = line.replace(r#"132" protoname="sctp"#, r#"6" protoname="tcp"#);
    assert_eq!(fix_conntrack_xml_state(&tcp), tcp);
    assert_eq!(
        mask_xml_value(line, "timeout"),
        (line.replace("<timeout>9<", "<timeout>N<"), Some(9))
    );
}

#[test]
fn empty_table_prints_nothing() {
    require_kernel!();
    let ns = Netns::new();
    let ct = ct_bin();
    for o in ["xml", "xml,ktimestamp", "xml,ktimestamp,labels"] {
        let env = Env::NsWithLabels(&ns, LABEL_MAP);
        assert_eq!(conntrack_list(env, o), "", "conntrack -L -o {o}");
        let out = env.run(&[ct.as_str(), "list", "-o", o]);
        let text = check_ok(&format!("ct list -o {o}"), &out);
        assert_eq!(text, "", "ct list -o {o} on an empty table");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "ct: 0 flow entries have been shown.\n",
            "ct list -o {o}: stderr"
        );
    }
    // The table alone prints something: its header (issue 9), so that an empty
    // table reads as one and not as a failure.
    for (o, want) in [
        ("xml", ""),
        ("json", ""),
        ("table", "PROTO  SOURCE  DESTINATION\n"),
        ("id", ""),
    ] {
        let out = ct_in(&ns, &["-o", o]);
        let text = check_ok(&format!("ct list -o {o}"), &out);
        assert_eq!(text, want, "ct list -o {o} on an empty table");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "ct: 0 flow entries have been shown.\n",
            "ct list -o {o}: stderr"
        );
    }
    let out = ct_in(&ns, &["-o", "table", "--columns", "id,src"]);
    assert_eq!(
        check_ok("ct list -o table --columns id,src", &out),
        "ID  SOURCE\n"
    );
    let out = ct_in(&ns, &["expect", "-o", "table"]);
    assert_eq!(
        check_ok("ct list expect -o table", &out),
        "PROTO  SOURCE  DESTINATION  MASTER  HELPER  TTL  FLAGS\n"
    );
}

// ---------------------------------------------------------------------------
// 4. Filters with every format
// ---------------------------------------------------------------------------

fn ids_from_classic(text: &str) -> BTreeSet<u32> {
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .rev()
                .find_map(|t| t.strip_prefix("id="))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no id= at the end of: {l}"))
        })
        .collect()
}

fn ids_from_table(text: &str) -> BTreeSet<u32> {
    let mut lines = text.lines();
    if let Some(h) = lines.next() {
        assert_eq!(h.trim(), "ID", "header of --columns id");
    }
    lines
        .map(|l| {
            l.trim()
                .parse()
                .unwrap_or_else(|e| panic!("table row {l:?}: {e}"))
        })
        .collect()
}

#[test]
fn filters_agree_across_formats() {
    require_kernel!();
    let (ns, n) = shapes_namespace();
    let filters: [&[&str]; 6] = [
        &["-p", "tcp"],
        &["-m", "5"],
        &["-s", "10.0.0.0/8", "-u", "ASSURED"],
        &["-n"],
        &["-f", "ipv6", "-p", "udp"],
        &["-w", "3"],
    ];
    let mut failures = Vec::new();
    for f in filters {
        let with = |o: &[&'static str]| -> Vec<&'static str> {
            let mut v = f.to_vec();
            v.extend_from_slice(o);
            v
        };
        let mut cn_argv = vec!["conntrack", "-L", "-o", "id"];
        cn_argv.extend_from_slice(f);
        let want = ids_from_classic(&check_ok(&cn_argv.join(" "), &Env::Ns(&ns).run(&cn_argv)));
        assert!(
            !want.is_empty() && want.len() < n,
            "harness: filter {f:?} selects {} of {n} entries",
            want.len()
        );
        let json: BTreeSet<u32> = parse_json_lines(&ct_ok(&ns, &with(&["-o", "json"]), line_count))
            .iter()
            .map(|(e, _)| e.id())
            .collect();
        let xml_text = ct_ok(&ns, &with(&["-o", "xml"]), xml_flows);
        let xml: BTreeSet<u32> = xml_text
            .lines()
            .filter(|l| l.starts_with("<flow>"))
            .map(|l| xml_id(l).unwrap_or_else(|| panic!("no <id> in {l}")))
            .collect();
        let table = ids_from_table(&ct_ok(
            &ns,
            &with(&["-o", "table", "--columns", "id"]),
            table_rows,
        ));
        let classic = ids_from_classic(&ct_ok(&ns, &with(&["-o", "id"]), line_count));
        for (name, got) in [
            ("-o json", &json),
            ("-o xml", &xml),
            ("-o table --columns id", &table),
            ("-o id", &classic),
        ] {
            if got != &want {
                failures.push(format!(
                    "ct list {} {name}: ids only in ct {:?}, only in conntrack {:?}",
                    f.join(" "),
                    got.difference(&want).collect::<Vec<_>>(),
                    want.difference(got).collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// 5. Table
// ---------------------------------------------------------------------------

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `rows` + 1 lines, the given header, no line ending in a space, and every
/// column aligned under its header: the two spaces before a left-aligned
/// column's header and after a right-aligned one's (TTL, PACKETS, BYTES, USE,
/// ID) are spaces (or past the end) on every line. Returns the lines without
/// colour.
fn check_table(what: &str, text: &str, rows: usize, header: &[&str]) -> Vec<String> {
    assert!(text.ends_with('\n'), "{what}: no final newline");
    for line in text.lines() {
        assert!(
            !line.ends_with(char::is_whitespace),
            "{what}: line ending in a space: {line:?}"
        );
    }
    let lines: Vec<String> = text.lines().map(strip_ansi).collect();
    assert_eq!(
        lines.len(),
        rows + 1,
        "{what}: expected a header and {rows} rows:\n{text}"
    );
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        header,
        "{what}: header"
    );
    let head: Vec<char> = lines[0].chars().collect();
    let mut gaps = Vec::new();
    let mut start = 0;
    while start < head.len() {
        if head[start] == ' ' {
            start += 1;
            continue;
        }
        let end = (start..head.len())
            .find(|&i| head[i] == ' ')
            .unwrap_or(head.len());
        let word: String = head[start..end].iter().collect();
        if ["TTL", "PACKETS", "BYTES", "USE", "ID"].contains(&word.as_str()) {
            if end < head.len() {
                gaps.extend([end, end + 1]);
            }
        } else if start > 0 {
            gaps.extend([start - 2, start - 1]);
        }
        start = end;
    }
    for line in &lines {
        let chars: Vec<char> = line.chars().collect();
        let misplaced: Vec<usize> = gaps
            .iter()
            .copied()
            .filter(|&g| chars.get(g).is_some_and(|&c| c != ' '))
            .collect();
        assert!(
            misplaced.is_empty(),
            "{what}: a cell crosses a column boundary at {misplaced:?}:\n{}\n{line}",
            lines[0]
        );
    }
    lines
}

/// Two renderings of the same table from separate runs: identical except
/// for the TTL column, whose digits may tick between the runs (the widest
/// TTL keeps its number of digits within a test).
fn assert_same_table(what: &str, got: &str, want: &str) {
    let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
    assert_eq!(g.len(), w.len(), "{what}: line count\n{got}\nvs\n{want}");
    let ttl_end = w[0].find("TTL").map(|i| i + 3);
    for (k, (a, b)) in g.iter().zip(w.iter()).enumerate() {
        let ok = a.len() == b.len()
            && a.bytes().zip(b.bytes()).enumerate().all(|(i, (x, y))| {
                x == y
                    || ttl_end.is_some_and(|end| {
                        i < end
                            && i + 8 >= end
                            && (x.is_ascii_digit() || x == b' ')
                            && (y.is_ascii_digit() || y == b' ')
                    })
            });
        assert!(
            ok,
            "{what}: line {} differs:\n  got:  |{a}|\n  want: |{b}|",
            k + 1
        );
    }
    assert_eq!(
        got.ends_with('\n'),
        want.ends_with('\n'),
        "{what}: final newline"
    );
}

/// The SOURCE cell ct should print for an entry.
fn endpoint(addr: &str, port: Option<u16>) -> String {
    match port {
        Some(p) if addr.contains(':') => format!("[{addr}]:{p}"),
        Some(p) => format!("{addr}:{p}"),
        None => addr.to_string(),
    }
}

/// A source end as the table writes it: with its port, ICMP id or GRE key (in hex, as
/// conntrack), so that two pings to one host are two different rows.
fn table_source(addr: &str, port: Option<u16>, icmp_id: Option<u16>, key: Option<u16>) -> String {
    match (port, icmp_id, key) {
        (Some(_), _, _) => endpoint(addr, port),
        (None, Some(id), _) => format!("{addr} id={id}"),
        (None, None, Some(key)) => format!("{addr} srckey={key:#x}"),
        (None, None, None) => addr.to_string(),
    }
}

/// A destination end as the table writes it: with its port, ICMP type and code or GRE
/// key.
fn table_destination(
    addr: &str,
    port: Option<u16>,
    icmp: Option<(u8, u8)>,
    key: Option<u16>,
) -> String {
    match (port, icmp, key) {
        (Some(_), _, _) => endpoint(addr, port),
        (None, Some((icmp_type, code)), _) => format!("{addr} type={icmp_type} code={code}"),
        (None, None, Some(key)) => format!("{addr} dstkey={key:#x}"),
        (None, None, None) => addr.to_string(),
    }
}

/// What `--columns COL` should show for an entry, from its JSON (None:
/// not checked exactly here).  Counters only below 1000, where no unit
/// scaling happens.
fn expected_cell(col: &str, e: &JsonEntry) -> Option<String> {
    Some(match col {
        "family" => e.family.clone(),
        "proto" => e.proto.clone(),
        "state" => e.state.clone().unwrap_or_default(),
        "src" => {
            let o = &e.original;
            table_source(o.src.as_deref()?, o.sport, o.id, o.srckey)
        }
        "dst" => {
            let o = &e.original;
            table_destination(
                o.dst.as_deref()?,
                o.dport,
                o.icmp_type.zip(o.code),
                o.dstkey,
            )
        }
        "nat" => {
            // NAT as the tuples show it: SNAT to the reply's destination (with its
            // port, ICMP id or GRE key), DNAT to the reply's source
            let (o, r) = (&e.original, &e.reply);
            let mut parts = Vec::new();
            if r.dst != o.src || (r.dport, r.id, r.dstkey) != (o.sport, o.id, o.srckey) {
                let to = table_source(r.dst.as_deref()?, r.dport, r.id, r.dstkey);
                parts.push(format!("SNAT {to}"));
            }
            if r.src != o.dst || (r.sport, r.srckey) != (o.dport, o.dstkey) {
                let to = table_destination(r.src.as_deref()?, r.sport, None, r.srckey);
                parts.push(format!("DNAT {to}"));
            }
            parts.join(" ")
        }
        "flags" => {
            let mut words = Vec::new();
            if !e.has_status("SEEN_REPLY") {
                words.push("UNREPLIED");
            }
            if e.has_status("HW_OFFLOAD") {
                words.push("HW_OFFLOAD");
            } else if e.has_status("OFFLOAD") {
                words.push("OFFLOAD");
            } else if e.has_status("ASSURED") {
                words.push("ASSURED");
            }
            words.join(",")
        }
        "mark" => match e.mark {
            Some(0) | None => String::new(),
            Some(m) => m.to_string(),
        },
        "zone" => {
            // both directions' zone bare, one direction's named
            let zones = [
                ("", e.zone),
                ("orig ", e.original.zone),
                ("reply ", e.reply.zone),
            ];
            zones
                .iter()
                .filter_map(|(word, zone)| zone.map(|z| format!("{word}{z}")))
                .collect::<Vec<_>>()
                .join(" ")
        }
        "helper" => e.helper.clone().unwrap_or_default(),
        "use" => e.use_count?.to_string(),
        "id" => e.id?.to_string(),
        "labels" => e.label_texts().join(","),
        "packets" | "bytes" => {
            let pick = |d: &JsonDir| if col == "packets" { d.packets } else { d.bytes };
            match (pick(&e.original), pick(&e.reply)) {
                (None, None) => String::new(),
                (a, b) => {
                    let sum = a.unwrap_or(0) + b.unwrap_or(0);
                    if sum >= 1000 {
                        return None;
                    }
                    if col == "bytes" {
                        format!("{sum}B")
                    } else {
                        sum.to_string()
                    }
                }
            }
        }
        _ => return None,
    })
}

/// `ct list -o table --columns id,COL` (plus `extra`) in `env`; every cell
/// of COL must be `expected_cell` of the entry with that id in `json`.
/// Returns the number of cells checked exactly.
fn check_column(env: Env, col: &str, extra: &[&str], json: &BTreeMap<u32, JsonEntry>) -> usize {
    let ct = ct_bin();
    let columns = format!("id,{col}");
    let mut argv = vec![ct.as_str(), "list", "-o", "table", "--columns", &columns];
    argv.extend_from_slice(extra);
    let what = argv[1..].join(" ");
    let out = env.run(&argv);
    let text = check_ok(&what, &out);
    let header = ["ID", &col.to_ascii_uppercase()];
    let header: Vec<&str> = header
        .iter()
        .map(|h| match *h {
            "SRC" => "SOURCE",
            "DST" => "DESTINATION",
            h => h,
        })
        .collect();
    let lines = check_table(&what, &text, json.len(), &header);
    let mut bad = Vec::new();
    let mut checked = 0;
    for l in &lines[1..] {
        let l = l.trim();
        let (id, cell) = l.split_once(' ').unwrap_or((l, ""));
        let cell = cell.trim();
        let id: u32 = id
            .parse()
            .unwrap_or_else(|e| panic!("{what}: row {l:?}: {e}"));
        let e = json
            .get(&id)
            .unwrap_or_else(|| panic!("{what}: row of an id not in the JSON: {l}"));
        if let Some(want) = expected_cell(col, e) {
            checked += 1;
            let same = if col == "flags" {
                // the order of the words is ct's choice
                let set = |s: &str| {
                    s.split(',')
                        .filter(|w| !w.is_empty())
                        .map(str::to_string)
                        .collect::<BTreeSet<_>>()
                };
                set(cell) == set(&want)
            } else {
                cell == want
            };
            if !same {
                bad.push(format!("  id {id}: {cell:?}, expected {want:?}"));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "`ct {what}`: cells differ from the JSON:\n{}\n{text}",
        bad.join("\n")
    );
    checked
}

#[test]
fn table_layout_columns_and_colour() {
    require_kernel!();
    let (ns, n) = shapes_namespace();
    let default_header = [
        "PROTO",
        "STATE",
        "SOURCE",
        "DESTINATION",
        "NAT",
        "TTL",
        "FLAGS",
        "MARK",
        // The namespace has entries in zones (issue 9: ZONE and HELPER are default
        // columns, shown when an entry has one) and labelled entries; ZONE, HELPER and
        // LABELS are left out only when no entry has one.
        "ZONE",
        "PACKETS",
        "BYTES",
        "LABELS",
    ];
    let has_esc = |s: &str| s.contains('\x1b');

    // piped, --color auto (the default): no colour
    let plain = ct_ok(&ns, &["-o", "table"], table_rows);
    check_table("ct list -o table", &plain, n, &default_header);
    assert!(!has_esc(&plain), "colour on a pipe:\n{plain}");
    for args in [
        &["-o", "table", "--color", "auto"][..],
        &["-o", "table", "--color", "never"],
        &["-o", "table", "--colour", "never"],
    ] {
        let text = ct_ok(&ns, args, table_rows);
        assert_same_table(&format!("ct list {}", args.join(" ")), &text, &plain);
    }
    // --color always: escapes, same layout once they are removed
    let always = ct_ok(&ns, &["-o", "table", "--color", "always"], table_rows);
    assert!(
        has_esc(&always),
        "--color always without escapes:\n{always}"
    );
    assert_same_table(
        "--color always, escapes removed",
        &strip_ansi(&always),
        &plain,
    );
    // Colours that mean something (issue 9): established green, a handshake
    // under way yellow, one nobody answered red (the shapes' SCTP COOKIE_WAIT
    // has no SEEN_REPLY), the normal endings dim.
    for (cell, meaning) in [
        ("\x1b[32mESTABLISHED\x1b[0m", "ESTABLISHED green"),
        ("\x1b[33mSYN_SENT\x1b[0m", "a replied SYN_SENT yellow"),
        ("\x1b[31mCOOKIE_WAIT\x1b[0m", "an unreplied COOKIE_WAIT red"),
        ("\x1b[2mTIME_WAIT\x1b[0m", "TIME_WAIT dim"),
        ("\x1b[2mCLOSE\x1b[0m", "CLOSE dim"),
    ] {
        assert!(always.contains(cell), "not {meaning}:\n{always}");
    }
    assert!(
        !always.contains("\x1b[31mTIME_WAIT") && !always.contains("\x1b[31mCLOSE\x1b"),
        "a normal ending in red:\n{always}"
    );

    // the other formats are never coloured, and --color with them is refused, as
    // --columns is (issue 9: one rule for options of another format)
    for args in [
        &["-o", "json", "--color", "always"][..],
        &["-o", "xml", "--color", "always"],
        &["--color", "always"],
        &["-o", "extended,id", "--color", "always"],
    ] {
        let out = ct_in(&ns, args);
        assert_eq!(out.status.code(), Some(2), "ct list {}", args.join(" "));
        assert!(out.stdout.is_empty());
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("error: --color is for -o table\n"),
            "ct list {}",
            args.join(" ")
        );
    }

    // on a terminal (40 columns: the table must not wrap anyway)
    let ct = ct_bin();
    let tty = |extra: &[&str], envs: &[(&str, &str)]| -> String {
        let mut argv = vec![ct.as_str(), "list", "-o", "table"];
        argv.extend_from_slice(extra);
        let out = run_on_pty(&ns, &argv, envs, 40);
        let what = format!(
            "ct list -o table {} on a terminal {envs:?}",
            extra.join(" ")
        );
        let text = check_ok(&what, &out);
        check_table(&what, &text, n, &default_header);
        text
    };
    let auto_tty = tty(&[], &[]);
    assert!(has_esc(&auto_tty), "no colour on a terminal:\n{auto_tty}");
    assert_same_table("terminal, escapes removed", &strip_ansi(&auto_tty), &plain);
    let no_color = tty(&["--color", "auto"], &[("NO_COLOR", "1")]);
    assert!(
        !has_esc(&no_color),
        "colour despite NO_COLOR=1:\n{no_color}"
    );
    assert_same_table("terminal with NO_COLOR=1", &no_color, &plain);
    let never = tty(&["--color", "never"], &[]);
    assert!(!has_esc(&never), "colour despite --color never:\n{never}");
    let forced = tty(&["--color", "always"], &[("NO_COLOR", "1")]);
    assert!(
        has_esc(&forced),
        "--color always must win over NO_COLOR:\n{forced}"
    );
    // NO_COLOR on a pipe
    let with_no_color = |color: &str| {
        let argv = [
            "env",
            "NO_COLOR=1",
            ct.as_str(),
            "list",
            "-o",
            "table",
            "--color",
            color,
        ];
        check_ok(&argv.join(" "), &ns.exec(&argv))
    };
    assert!(
        has_esc(&with_no_color("always")),
        "NO_COLOR=1 --color always"
    );
    assert_same_table("NO_COLOR=1 --color auto", &with_no_color("auto"), &plain);

    // --columns: order respected, values match the JSON of the same entry
    let json: BTreeMap<u32, JsonEntry> = parse_json_lines(&ct_ok(&ns, &["-o", "json"], line_count))
        .into_iter()
        .map(|(e, _)| (e.id(), e))
        .collect();
    let cols = ["id", "family", "src", "proto", "ttl", "dst", "use"];
    let text = ct_ok(
        &ns,
        &["-o", "table", "--columns", &cols.join(",")],
        table_rows,
    );
    let lines = check_table(
        "--columns",
        &text,
        n,
        &[
            "ID",
            "FAMILY",
            "SOURCE",
            "PROTO",
            "TTL",
            "DESTINATION",
            "USE",
        ],
    );
    let mut bad = Vec::new();
    for l in &lines[1..] {
        let cells: Vec<&str> = l.split_whitespace().collect();
        let id: u32 = cells[0].parse().unwrap_or_else(|e| panic!("{l}: {e}"));
        let e = json
            .get(&id)
            .unwrap_or_else(|| panic!("row of unknown id: {l}"));
        // SOURCE and DESTINATION of ICMP and GRE are several words
        // (`10.0.0.1 id=7`), so the row is compared word by word.
        let words = |cell: Option<String>| -> Vec<String> {
            cell.unwrap().split(' ').map(str::to_string).collect()
        };
        let mut want = vec![id.to_string(), e.family.clone()];
        want.extend(words(expected_cell("src", e)));
        want.push(e.proto.clone());
        let ttl_at = want.len();
        want.push(String::new()); // TTL: ticks
        want.extend(words(expected_cell("dst", e)));
        want.push(e.use_count.unwrap().to_string());
        let ttl_ok = cells
            .get(ttl_at)
            .and_then(|t| t.parse::<u32>().ok())
            .is_some_and(|t| t.abs_diff(e.timeout.unwrap()) <= VOLATILE_TOLERANCE as u32);
        if cells.len() != want.len()
            || !ttl_ok
            || cells
                .iter()
                .zip(want.iter())
                .enumerate()
                .any(|(i, (c, w))| i != ttl_at && c != w)
        {
            bad.push(format!("  row:      {l}\n  expected: {want:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "--columns rows vs JSON:\n{}",
        bad.join("\n")
    );
    // every column's cells, against the JSON (labels: no map, so numbers)
    for col in [
        "family", "proto", "state", "src", "dst", "nat", "flags", "mark", "zone", "packets",
        "bytes", "helper", "use", "labels",
    ] {
        let checked = check_column(Env::Ns(&ns), col, &[], &json);
        assert_eq!(checked, n, "--columns id,{col}: cells checked");
    }
    // a chosen column is shown even when empty everywhere
    let text = ct_ok(
        &ns,
        &["-o", "table", "--columns", "helper,id", "-p", "udp"],
        table_rows,
    );
    let rows = text.lines().count() - 1;
    check_table("--columns helper,id", &text, rows, &["HELPER", "ID"]);

    // default columns empty in every row are dropped
    let small = Netns::new();
    small.insert("-p udp -s 10.203.0.1 -d 10.203.0.2 --sport 1 --dport 2 -t 100 -u SEEN_REPLY");
    small.insert("-p udp -s 10.203.0.1 -d 10.203.0.2 --sport 3 --dport 2 -t 100 -u SEEN_REPLY");
    let text = ct_ok(&small, &["-o", "table"], table_rows);
    check_table(
        "table without state/NAT/flags/mark/counters",
        &text,
        2,
        &["PROTO", "SOURCE", "DESTINATION", "TTL"],
    );
}

#[test]
fn table_nat_column_on_real_traffic() {
    require_kernel!();
    let mut t = Topology::new();
    t.generate_all_traffic();
    let json: BTreeMap<u32, JsonEntry> =
        parse_json_lines(&ct_ok(&t.router, &["-o", "json"], line_count))
            .into_iter()
            .map(|(e, _)| (e.id(), e))
            .collect();
    // NAT: every entry masqueraded to the router's server-side address
    let (mut v4, mut v6) = (0, 0);
    let mut bad = Vec::new();
    for e in json.values() {
        let router = if e.family == "ipv6" {
            v6 += 1;
            ROUTER_SERVER_SIDE_V6
        } else {
            v4 += 1;
            ROUTER_SERVER_SIDE_V4
        };
        let r = &e.reply;
        let want = format!("SNAT {}", table_source(router, r.dport, r.id, r.dstkey));
        if !e.has_status("SRC_NAT") || expected_cell("nat", e).as_deref() != Some(want.as_str()) {
            bad.push(format!("  {e:?}\n    expected NAT {want:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "router entries not masqueraded as expected:\n{}",
        bad.join("\n")
    );
    assert!(v4 >= 8 && v6 >= 8, "masqueraded entries: {v4} v4, {v6} v6");
    for col in [
        "nat", "state", "src", "dst", "flags", "mark", "helper", "packets", "bytes",
    ] {
        let checked = check_column(Env::Ns(&t.router), col, &[], &json);
        assert_eq!(checked, json.len(), "--columns id,{col}: cells checked");
    }
    // labels without a map: bit numbers, as in the JSON
    check_column(Env::Ns(&t.router), "labels", &[], &json);
    // with colour, the NAT cell is cyan
    let coloured = ct_ok(
        &t.router,
        &["-o", "table", "--columns", "nat", "--color", "always"],
        table_rows,
    );
    assert!(
        coloured.contains(&format!("\x1b[36mSNAT {ROUTER_SERVER_SIDE_V4}:")),
        "{coloured}"
    );
    // The helpers the router's nftables attach show without --columns (issue 9),
    // and the pings through it show their ids.
    let table = ct_ok(&t.router, &["-o", "table"], table_rows);
    let header: Vec<&str> = table
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert!(header.contains(&"HELPER"), "no HELPER column:\n{table}");
    assert!(
        !header.contains(&"ZONE"),
        "ZONE column without zones:\n{table}"
    );
    check_table(
        "ct list -o table on the router",
        &table,
        json.len(),
        &header,
    );
    for helper in ["ftp", "tftp"] {
        assert!(
            table
                .lines()
                .any(|l| l.split_whitespace().any(|w| w == helper)),
            "no {helper} row:\n{table}"
        );
    }
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("icmp ") && l.contains(" id=") && l.contains(" type=8 code=0")),
        "no ping with its id, type and code:\n{table}"
    );
}

/// Issue 9: three pings from one host to another differ only in their ICMP id (and
/// type); the table must show three rows that say so, not three identical ones.
#[test]
fn table_tells_pings_to_one_host_apart() {
    require_kernel!();
    let ns = Netns::new();
    for (id, icmp_type) in [(101, 8), (102, 8), (103, 13)] {
        ns.insert(&format!(
            "-p icmp -s 10.205.0.1 -d 10.205.0.2 --icmp-type {icmp_type} --icmp-code 0 --icmp-id {id} -t 100"
        ));
    }
    let table = ct_ok(&ns, &["-o", "table"], table_rows);
    let lines = check_table(
        "three pings",
        &table,
        3,
        &["PROTO", "SOURCE", "DESTINATION", "TTL", "FLAGS"],
    );
    let mut rows: Vec<String> = lines[1..]
        .iter()
        .map(|l| {
            // everything but the ticking TTL
            l.split_whitespace()
                .filter(|w| w.parse::<u32>().is_err())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    rows.sort();
    assert_eq!(
        rows,
        [
            "icmp 10.205.0.1 id=101 10.205.0.2 type=8 code=0 UNREPLIED",
            "icmp 10.205.0.1 id=102 10.205.0.2 type=8 code=0 UNREPLIED",
            "icmp 10.205.0.1 id=103 10.205.0.2 type=13 code=0 UNREPLIED",
        ],
        "{table}"
    );
}

/// Issue 9: ZONE is a default column once an entry has a zone, and a zone of one
/// direction only (`--orig-zone`, `--reply-zone`, sent as CTA_TUPLE_ZONE) says which.
#[test]
fn table_shows_zones_by_default_with_their_direction() {
    require_kernel!();
    let ns = Netns::new();
    let udp = "-p udp -s 10.206.0.1 -d 10.206.0.2 --dport 53 -t 100";
    ns.insert(&format!("{udp} --sport 1"));
    let none = ct_ok(&ns, &["-o", "table"], table_rows);
    check_table(
        "no zone",
        &none,
        1,
        &["PROTO", "SOURCE", "DESTINATION", "TTL", "FLAGS"],
    );
    ns.insert(&format!("{udp} --sport 2 -w 7"));
    ns.insert(&format!("{udp} --sport 3 --orig-zone 8"));
    ns.insert(&format!("{udp} --sport 4 --reply-zone 9"));
    let table = ct_ok(&ns, &["-o", "table"], table_rows);
    let lines = check_table(
        "zones",
        &table,
        4,
        &["PROTO", "SOURCE", "DESTINATION", "TTL", "FLAGS", "ZONE"],
    );
    let zone_at = lines[0].find("ZONE").unwrap();
    let mut zones: Vec<(String, String)> = lines[1..]
        .iter()
        .map(|l| {
            let source = l.split_whitespace().nth(1).unwrap_or("").to_string();
            (source, l.get(zone_at..).unwrap_or("").to_string())
        })
        .collect();
    zones.sort();
    assert_eq!(
        zones,
        [
            ("10.206.0.1:1".to_string(), String::new()),
            ("10.206.0.1:2".to_string(), "7".to_string()),
            ("10.206.0.1:3".to_string(), "orig 8".to_string()),
            ("10.206.0.1:4".to_string(), "reply 9".to_string()),
        ],
        "{table}"
    );
}

// ---------------------------------------------------------------------------
// 6. Pipes, --quiet
// ---------------------------------------------------------------------------

enum ReadUntil {
    Bytes(usize),
    Newline,
    Nothing,
}

/// Start `ct list ARGS` with stdout on a pipe, read as `until` says, close
/// the pipe, and require exit 0 with empty stderr within a few seconds.
/// Returns what was read.
fn ct_into_closed_pipe(ns: &Netns, args: &[&str], until: ReadUntil) -> Vec<u8> {
    let ct = ct_bin();
    let mut argv = vec![ct.as_str(), "list"];
    argv.extend_from_slice(args);
    let mut cmd = ns.exec_cmd(&argv);
    let what = describe(&cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let err = read_all_in_thread(child.stderr.take().unwrap());
    let mut out = child.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let started = Instant::now();
    match until {
        ReadUntil::Nothing => {}
        ReadUntil::Bytes(n) => {
            let mut chunk = vec![0u8; n];
            out.read_exact(&mut chunk)
                .unwrap_or_else(|e| panic!("{what}: reading {n} bytes: {e}"));
            got = chunk;
        }
        ReadUntil::Newline => {
            // like head -1: read what comes, stop after the first newline
            while !got.contains(&b'\n') {
                let k = out.read(&mut buf).expect("read");
                assert!(k > 0, "{what}: EOF before the first line");
                got.extend_from_slice(&buf[..k]);
            }
        }
    }
    drop(out);
    let closed = Instant::now();
    let status = wait_until(&mut child, closed + Duration::from_secs(5), &what);
    let stderr = String::from_utf8_lossy(&err.join().unwrap()).into_owned();
    assert_eq!(
        status.code(),
        Some(0),
        "{what} with its reader gone: {status} (stderr: {stderr:?}); first output read after {:?}",
        closed - started
    );
    assert_eq!(stderr, "", "{what} with its reader gone: stderr");
    got
}

#[test]
fn closed_pipe_is_quiet_success() {
    require_kernel!();
    const N: u32 = 30_000;
    let ns = Netns::new();
    ns.run_in(|| {
        fill::fill_here(fill::FillSpec {
            count: N,
            base: 204,
            ..Default::default()
        })
    })
    .expect("fill");

    let got = ct_into_closed_pipe(&ns, &["-o", "json"], ReadUntil::Bytes(100));
    assert!(
        got.starts_with(br#"{"family":"ipv4","proto":"udp","protonum":17,"#),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let got = ct_into_closed_pipe(&ns, &[], ReadUntil::Newline);
    assert!(
        got.starts_with(b"udp      17 "),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let got = ct_into_closed_pipe(&ns, &["-o", "xml"], ReadUntil::Newline);
    assert!(
        got.starts_with(b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"),
        "{:?}",
        String::from_utf8_lossy(&got)
    );
    let got = ct_into_closed_pipe(&ns, &["-o", "table"], ReadUntil::Newline);
    let first = String::from_utf8_lossy(&got);
    let first = first.lines().next().unwrap_or("");
    assert_eq!(
        first.split_whitespace().collect::<Vec<_>>(),
        ["PROTO", "SOURCE", "DESTINATION", "TTL", "FLAGS"],
        "table header"
    );
    for args in [
        &[][..],
        &["-o", "json"],
        &["-o", "xml"],
        &["-o", "table"],
        &["-o", "extended,id"],
    ] {
        ct_into_closed_pipe(&ns, args, ReadUntil::Nothing);
    }

    // a shell pipeline, as people type it
    let ct = ct_bin();
    let out = ns.exec(&[
        "bash",
        "-c",
        "set -o pipefail; \"$0\" list -o json | head -c 100 >/dev/null",
        ct.as_str(),
    ]);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ct list -o json | head -c 100: {} {:?}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn summary_on_stderr_and_quiet() {
    require_kernel!();
    let ns = Netns::new();
    let entries = jq_entries();
    ns.insert_bulk(&entries.iter().map(|(a, _)| a.clone()).collect::<Vec<_>>());
    let n = entries.len();
    type Counter = fn(&str) -> usize;
    let counts: [(&[&str], Counter); 5] = [
        (&[], line_count),
        (&["-o", "extended,id"], line_count),
        (&["-o", "json"], line_count),
        (&["-o", "xml"], xml_flows),
        (&["-o", "table"], table_rows),
    ];
    for (args, count) in counts {
        let out = ct_in(&ns, args);
        let text = check_ok(&format!("ct list {}", args.join(" ")), &out);
        assert_eq!(count(&text), n, "ct list {}: entries", args.join(" "));
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("ct: {n} flow entries have been shown.\n"),
            "ct list {}: stderr",
            args.join(" ")
        );
        let mut quiet = args.to_vec();
        quiet.push("--quiet");
        let out = ct_in(&ns, &quiet);
        let qtext = check_ok(&format!("ct list {}", quiet.join(" ")), &out);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "",
            "ct list {}: stderr",
            quiet.join(" ")
        );
        assert_eq!(count(&qtext), n, "ct list {}: entries", quiet.join(" "));
    }
}

// ---------------------------------------------------------------------------
// 7. Completions and manual pages (no kernel needed)
// ---------------------------------------------------------------------------

fn ct_plain(args: &[&str]) -> String {
    let mut c = ct_command();
    c.args(args);
    let what = describe(&c);
    let out = run(&mut c);
    let text = check_ok(&what, &out);
    assert!(
        out.stderr.is_empty(),
        "{what}: stderr {:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

#[test]
fn shell_completions() {
    for shell in ["bash", "zsh", "fish"] {
        let script = ct_plain(&["completions", shell]);
        for word in [
            "list",
            "count",
            "stats",
            "get",
            "expect",
            "--netns",
            "--columns",
            "--helper",
        ] {
            assert!(
                script.contains(word),
                "ct completions {shell} does not mention {word}:\n{script}"
            );
        }
        let checker = match shell {
            "bash" => find_program("bash"),
            other => find_program(other), // zsh -n / fish -n when installed
        };
        if let Some(prog) = checker {
            let file = TempFile::new(&format!("completion-{shell}"), &script);
            let out = run(Command::new(&prog).args(["-n", file.path_str()]));
            assert!(
                out.status.success() && out.stderr.is_empty(),
                "{shell} -n rejects ct's completion script: {}\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        } else {
            assert_ne!(shell, "bash", "bash is needed for this test");
        }
    }
    // bash: the completion function really completes `ct li` to `list`
    if let Some(bash) = find_program("bash") {
        let script = ct_plain(&["completions", "bash"]);
        let file = TempFile::new("completion-run", &script);
        let probe = r#"source "$1"
COMP_WORDS=(ct li); COMP_CWORD=1; COMP_LINE="ct li"; COMP_POINT=${#COMP_LINE}
_ct ct li ct
printf '%s\n' "${COMPREPLY[@]}""#;
        let out = run(Command::new(bash).args(["-c", probe, "bash", file.path_str()]));
        let text = check_ok("bash completion of `ct li`", &out);
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            ["list"],
            "completions of `ct li`"
        );
    }
    // an unknown shell is a usage error
    let out = run(ct_command().args(["completions", "tcsh"]));
    assert_eq!(out.status.code(), Some(2), "ct completions tcsh");
}

#[test]
fn manual_pages() {
    let pages = [
        (vec!["man"], "ct"),
        (vec!["man", "list"], "ct-list"),
        (vec!["man", "count"], "ct-count"),
        (vec!["man", "stats"], "ct-stats"),
        (vec!["man", "get"], "ct-get"),
        (vec!["man", "create"], "ct-create"),
        (vec!["man", "restore"], "ct-restore"),
        (vec!["man", "completions"], "ct-completions"),
        (vec!["man", "man"], "ct-man"),
    ];
    for (args, name) in &pages {
        let title = format!(".TH {name} 1 ");
        let roff = ct_plain(args);
        assert!(
            roff.starts_with(".ie "),
            "ct {}: does not start with .ie:\n{}",
            args.join(" "),
            &roff[..roff.len().min(200)]
        );
        assert!(
            roff.lines().any(|l| l.starts_with(&title)),
            "ct {}: no {title:?} line",
            args.join(" ")
        );
        for section in [".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION"] {
            assert!(
                roff.contains(section),
                "ct {}: no {section}",
                args.join(" ")
            );
        }
        let Some(man) = find_program("man") else {
            if std::env::var("CT_REQUIRE_KERNEL_TESTS").as_deref() == Ok("1") {
                panic!("CT_REQUIRE_KERNEL_TESTS=1 but man is missing; apt-get install man-db");
            }
            let _ = writeln!(
                std::io::stderr(),
                "skipped: rendering with man -l: man is not installed"
            );
            continue;
        };
        let file = TempFile::new("man", &roff);
        let out = run(Command::new(man)
            .args(["-l", file.path_str()])
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .env("MANWIDTH", "80"));
        let text = check_ok(&format!("man -l (ct {})", args.join(" ")), &out);
        assert!(
            text.contains("NAME") && text.contains(&format!("{name}(1)")),
            "man -l rendering of ct {}:\n{text}",
            args.join(" ")
        );
        assert!(
            out.stderr.is_empty(),
            "man -l (ct {}) complains: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let list = ct_plain(&["man", "list"]);
    for opt in [
        "\\-\\-netns",
        "\\-\\-columns",
        "\\-\\-quiet",
        "\\-\\-helper",
    ] {
        assert!(list.contains(opt), "ct man list does not document {opt}");
    }
    for (page, opt) in [
        ("count", "\\-\\-state"),
        ("stats", "\\-\\-output"),
        ("get", "\\-\\-reply\\-port\\-src"),
    ] {
        assert!(
            ct_plain(&["man", page]).contains(opt),
            "ct man {page} does not document {opt}"
        );
    }
    // ct(1) lists every command.
    let ct_page = ct_plain(&["man"]);
    for command in ["list", "count", "stats", "get", "completions", "man"] {
        assert!(
            ct_page.contains(&format!("ct\\-{command}(1)")),
            "ct(1) does not name ct-{command}(1)"
        );
    }
}
