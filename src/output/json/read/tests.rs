use super::*;
use crate::labelmap::LabelMap;
use crate::model::entry::{DccpRole, ProtoState};
use crate::model::event::EventKind;
use crate::output::Format;
use crate::output::event::{Cause, Event};
use crate::output::json::JsonPrinter;
use crate::output::{Frame, Print, Printer, Record, Settings};
use proptest::prelude::*;

const PLAIN: &str = include_str!("../../../../tests/fixtures/plain.json");
const ROUTER: &str = include_str!("../../../../tests/fixtures/router.json");
const CONNLABEL: &str = include_str!("../../../../tests/fixtures/connlabel.conf");
const JSON_DOC: &str = include_str!("../../../../docs/json.md");

fn fixture_lines() -> impl Iterator<Item = &'static str> {
    PLAIN.lines().chain(ROUTER.lines())
}

fn print(entry: &Entry<'_>, map: &LabelMap) -> String {
    let mut out = Vec::new();
    JsonPrinter::new(Some(map))
        .print(&mut out, Record::Entry(entry), &Frame::NONE)
        .unwrap();
    String::from_utf8(out).unwrap()
}

/// Reads `line` and prints the entry again.
fn reprint(line: &str, scratch: &mut JsonScratch, map: &LabelMap) -> String {
    let entry = parse_line(line, scratch).unwrap_or_else(|error| panic!("{line}\n{error}"));
    print(&entry, map)
}

fn error(line: &str) -> String {
    match parse_line(line, &mut JsonScratch::new()) {
        Ok(entry) => panic!("{line} read as {entry:?}"),
        Err(error) => error,
    }
}

const TCP: &str = r#"{"family":"ipv4","proto":"tcp","protonum":6,"original":{"src":"10.0.0.1","dst":"10.0.0.2","sport":1,"dport":2},"reply":{"src":"10.0.0.2","dst":"10.0.0.1","sport":2,"dport":1}}"#;
const UDP: &str = r#"{"family":"ipv4","proto":"udp","protonum":17,"original":{"src":"10.0.0.1","dst":"10.0.0.2","sport":1,"dport":2},"reply":{"src":"10.0.0.2","dst":"10.0.0.1","sport":2,"dport":1}}"#;

/// `base` with `members` (`"key":value,...`) added at the end of its object.
fn with(base: &str, members: &str) -> String {
    format!("{},{members}}}", base.strip_suffix('}').unwrap())
}

#[test]
fn every_fixture_line_reads_back_to_the_same_bytes() {
    let map = LabelMap::parse(CONNLABEL);
    // One scratch for all lines, as a reader of a file uses it.
    let mut scratch = JsonScratch::new();
    let mut lines = 0;
    for line in fixture_lines() {
        assert_eq!(reprint(line, &mut scratch, &map), format!("{line}\n"));
        lines += 1;
    }
    assert!(lines > 20, "only {lines} fixture lines");
}

/// The documentation's examples cover what the fixtures lack: sctp, gre, other
/// protocols, a master, sequence adjustment, a SYN proxy.
#[test]
fn every_documented_entry_reads_back_to_the_same_bytes() {
    let map = LabelMap::parse(CONNLABEL);
    let mut scratch = JsonScratch::new();
    let entries = JSON_DOC
        .lines()
        .filter(|line| line.starts_with("{\"family\"") && line.contains("\"original\""));
    let mut count = 0;
    for line in entries {
        assert_eq!(reprint(line, &mut scratch, &map), format!("{line}\n"));
        count += 1;
    }
    assert!(count >= 10, "only {count} documented entries");
}

#[test]
fn an_entry_with_every_field_reads_back() {
    let line = concat!(
        r#"{"family":"ipv6","proto":"dccp","protonum":33,"timeout":7,"state":"PARTOPEN","#,
        r#""original":{"src":"fd00::1","dst":"fd00::2","sport":1,"dport":2,"packets":3,"bytes":4,"zone":5,"#,
        r#""seq_adj":{"correction_pos":4294967295,"offset_before":-2147483648,"offset_after":2147483647}},"#,
        r#""reply":{"src":"fd00::2","dst":"fd00::1","sport":2,"dport":1,"packets":18446744073709551615,"bytes":0},"#,
        r#""status":["EXPECTED","DYING","HW_OFFLOAD"],"mark":4294967295,"secmark":9,"zone":65535,"use":2,"id":3,"#,
        r#""secctx":"system_u:object_r:\"x\"\\\u00e9","helper":"ftp","#,
        r#""labels":[{"bit":0,"name":"zero"},{"bit":31},{"bit":32},{"bit":127}],"#,
        r#""start":1,"stop":18446744073709551615,"#,
        r#""master":{"src":"fd00::1","dst":"fd00::2","sport":40000,"dport":21,"zone":1},"#,
        r#""dccp_role":"7","dccp_handshake_seq":281474976710655,"synproxy":{"isn":1,"its":0,"tsoff":4294967295}}"#,
    );
    let map = LabelMap::parse(CONNLABEL);
    let mut scratch = JsonScratch::new();
    // The printer writes é unescaped: read and print twice to compare.
    let once = reprint(line, &mut scratch, &map);
    assert_eq!(reprint(&once, &mut scratch, &map), once);
    let entry = parse_line(line, &mut scratch).unwrap();
    assert_eq!(entry.secctx, Some("system_u:object_r:\"x\"\\é".as_bytes()));
    assert_eq!(entry.state, Some(ProtoState::Dccp(3)));
    assert_eq!(entry.dccp_role, Some(DccpRole::Other(7)));
    assert_eq!(
        entry.labels.map(|labels| labels.bits().collect::<Vec<_>>()),
        Some(vec![0, 31, 32, 127])
    );
    assert_eq!(
        entry.master.map(|master| master.protonum),
        Some(IPPROTO_DCCP)
    );
    assert_eq!(entry.original.zone, Some(5));
    assert_eq!(entry.event_time, None);
}

#[test]
fn icmp_gre_other_families_and_a_pptp_master() {
    let map = LabelMap::parse(CONNLABEL);
    let mut scratch = JsonScratch::new();
    let lines = [
        r#"{"family":"ipv4","proto":"icmp","protonum":1,"original":{"src":"10.0.0.1","dst":"10.0.0.2","type":8,"code":0,"id":77},"reply":{"src":"10.0.0.2","dst":"10.0.0.1","type":0,"code":0,"id":77}}"#,
        r#"{"family":"ipv4","proto":"gre","protonum":47,"original":{"src":"10.0.0.1","dst":"10.0.0.2","srckey":1,"dstkey":2},"reply":{"src":"10.0.0.2","dst":"10.0.0.1","srckey":2,"dstkey":1},"status":["EXPECTED"],"master":{"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":1723}}"#,
        r#"{"family":"7","proto":"255","protonum":255,"original":{"src":"10.0.0.1","dst":"::1"},"reply":{}}"#,
        r#"{"family":"ipv4","proto":"sctp","protonum":132,"state":"HEARTBEAT_ACKED","original":{"sport":0,"dport":0,"vtag":1},"reply":{"sport":0,"dport":0,"vtag":2},"labels":[]}"#,
    ];
    for line in lines {
        assert_eq!(reprint(line, &mut scratch, &map), format!("{line}\n"));
    }
    let gre = parse_line(lines[1], &mut scratch).unwrap();
    assert_eq!(gre.master.map(|master| master.protonum), Some(IPPROTO_TCP));
    let other = parse_line(lines[2], &mut scratch).unwrap();
    assert_eq!(other.family, Family::Other(7));
    assert_eq!(other.reply.src, None);
}

#[test]
fn an_event_line_reads_as_its_entry() {
    let map = LabelMap::parse(CONNLABEL);
    let mut printer = Printer::new(
        &Format::Json,
        Settings {
            labels: Some(&map),
            ..Settings::default()
        },
    );
    let mut scratch = JsonScratch::new();
    let events = [
        Event {
            kind: EventKind::Destroy,
            time: 1_795_634_080_146_349_781,
            cause: Some(Cause {
                portid: 3712,
                program: Some("conn\"track"),
            }),
        },
        Event {
            kind: EventKind::New,
            time: 1,
            cause: None,
        },
    ];
    for event in events {
        for line in fixture_lines() {
            let entry = parse_line(line, &mut scratch).unwrap();
            let mut out = Vec::new();
            let frame = Frame {
                netns: None,
                event: Some(event),
            };
            printer
                .print(&mut out, Record::Entry(&entry), &frame)
                .unwrap();
            let event_line = String::from_utf8(out).unwrap();
            assert!(event_line.starts_with("{\"event\":"), "{event_line}");
            let mut event_scratch = JsonScratch::new();
            assert_eq!(
                reprint(&event_line, &mut event_scratch, &map),
                format!("{line}\n")
            );
        }
    }
}

#[test]
fn lines_that_are_not_entry_objects() {
    assert_eq!(
        error(""),
        "line is not valid JSON: EOF while parsing a value at column 0"
    );
    assert_eq!(
        error("hello"),
        "line is not valid JSON: expected value at column 1"
    );
    assert_eq!(
        error(r#"{"family":"ipv4""#),
        "line is not valid JSON: EOF while parsing an object at column 16"
    );
    assert_eq!(
        error(r#"{"original":{"src":1.2.3}}"#),
        "line is not valid JSON: expected `,` or `}` at column 23"
    );
    assert_eq!(
        error(&format!("{TCP} x")),
        format!(
            "line is not valid JSON: trailing characters at column {}",
            TCP.len() + 2
        )
    );
    assert_eq!(error("[1,2]"), "line is not a JSON object");
    assert_eq!(error("42"), "line is not a JSON object");
    assert_eq!(error(r#"{"family":"ipv4"}"#), "missing key 'protonum'");
    // Skipped values are skipped without recursion: no depth overflows the stack.
    let deep = format!(
        "{{\"userspace\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert_eq!(error(&deep), "missing key 'family'");
}

#[test]
fn wrong_types_and_numbers_out_of_range() {
    assert_eq!(
        error(&TCP.replace(r#""protonum":6"#, r#""protonum":"6""#)),
        r#"'protonum': invalid type: string "6", expected an integer from 0 to 255"#
    );
    assert_eq!(
        error(&TCP.replace(r#""sport":1"#, r#""sport":70000"#)),
        "'original': 'sport': 70000 is out of range (0 to 65535)"
    );
    assert_eq!(
        error(&with(TCP, r#""mark":-1"#)),
        "'mark': -1 is out of range (0 to 4294967295)"
    );
    assert_eq!(
        error(&with(TCP, r#""start":18446744073709551616"#)),
        "'start': 1.8446744073709552e19 is out of range (0 to 18446744073709551615)"
    );
    assert_eq!(
        error(&with(TCP, r#""timeout":1.5"#)),
        "'timeout': 1.5 is not an integer"
    );
    assert_eq!(
        error(&with(TCP, r#""helper":7"#)),
        "'helper': invalid type: integer `7`, expected a string"
    );
    assert_eq!(
        error(&with(TCP, r#""status":"ASSURED""#)),
        r#"'status': invalid type: string "ASSURED", expected a list of status flags"#
    );
    assert_eq!(
        error(&with(TCP, r#""master":[1]"#)),
        "'master': invalid type: sequence, expected a direction object"
    );
    assert_eq!(
        error(&with(TCP, r#""labels":[{"bit":128}]"#)),
        "'labels': label bit 128 is past the kernel's 128 bits"
    );
    assert_eq!(
        error(&with(TCP, r#""labels":[{"name":"x"}]"#)),
        "'labels': missing key 'bit'"
    );
    assert_eq!(
        error(&with(TCP, r#""synproxy":{"isn":1,"its":2}"#)),
        "'synproxy': missing key 'tsoff'"
    );
}

#[test]
fn unknown_and_repeated_keys() {
    assert_eq!(error(&with(TCP, r#""marc":1"#)), "unknown key 'marc'");
    assert_eq!(
        error(&TCP.replace(r#""sport":1"#, r#""sprot":1"#)),
        "'original': unknown key 'sprot'"
    );
    assert_eq!(
        error(&with(TCP, r#""original":{}"#)),
        "duplicate key 'original'"
    );
    assert_eq!(
        error(&with(TCP, r#""labels":[{"bit":1,"nmae":"one"}]"#)),
        "'labels': unknown key 'nmae'"
    );
    assert_eq!(
        error(&with(TCP, r#""seq_adj":{}"#)),
        "unknown key 'seq_adj'"
    );
}

#[test]
fn names_must_be_known() {
    assert_eq!(
        error(&with(TCP, r#""status":["ASSURED","FOO"]"#)),
        "'status': unknown status flag 'FOO'"
    );
    assert_eq!(
        error(&with(TCP, r#""status":["ASSURED","ASSURED"]"#)),
        "'status': 'ASSURED' is listed twice"
    );
    assert_eq!(
        error(&TCP.replace(r#""sport":1"#, r#""sport":1,"tcp_flags":["SACK"]"#)),
        "'original': 'tcp_flags': unknown tcp flag 'SACK'"
    );
    assert_eq!(
        error(&with(TCP, r#""state":"OPEN""#)),
        "'state': 'OPEN' is not a tcp state"
    );
    assert_eq!(
        error(&with(TCP, r#""state":"established""#)),
        "'state': unknown state 'established'"
    );
    assert_eq!(
        error(&TCP.replace("ipv4", "ipv5")),
        "'family': unknown family 'ipv5'"
    );
    assert_eq!(
        error(&TCP.replace("ipv4", "2")),
        "'family': family '2' is written 'ipv4'"
    );
    assert_eq!(
        error(&TCP.replace(r#""tcp""#, r#""udp""#)),
        "'proto' is 'udp' but 'protonum' is 6"
    );
    assert_eq!(
        error(&TCP.replace(r#""tcp""#, r#""6""#)),
        "'proto' '6' is written 'tcp'"
    );
    assert_eq!(
        error(&TCP.replace(r#""tcp""#, r#""06""#)),
        "'proto': unknown protocol '06'"
    );
}

#[test]
fn fields_must_fit_the_family_and_protocol() {
    assert_eq!(
        error(&TCP.replace("10.0.0.2\",\"sport", "fd00::2\",\"sport")),
        "'original': 'dst': 'fd00::2' is not an IPv4 address"
    );
    assert_eq!(
        error(&TCP.replace("10.0.0.1\",\"dst", "10.0.0.256\",\"dst")),
        "'original': 'src': '10.0.0.256' is not an IP address"
    );
    assert_eq!(
        error(&with(UDP, r#""state":"ESTABLISHED""#)),
        "'state' is for tcp, sctp and dccp only, not udp"
    );
    assert_eq!(
        error(&UDP.replace(r#""sport":1"#, r#""sport":1,"wscale":7"#)),
        "'original': 'wscale' is for tcp only, not udp"
    );
    assert_eq!(
        error(&TCP.replace(r#""sport":2"#, r#""sport":2,"vtag":7"#)),
        "'reply': 'vtag' is for sctp only, not tcp"
    );
    assert_eq!(
        error(&with(TCP, r#""dccp_role":"client""#)),
        "'dccp_role' is for dccp only, not tcp"
    );
    assert_eq!(
        error(&TCP.replace(r#""sport":1,"dport":2"#, r#""type":8,"code":0,"id":1"#)),
        "'original': a tcp tuple has 'sport' and 'dport'"
    );
    assert_eq!(
        error(&TCP.replace(r#","dport":2"#, "")),
        "'original': 'sport' needs 'dport'"
    );
    assert_eq!(
        error(&TCP.replace(r#""dport":2"#, r#""dport":2,"srckey":1,"dstkey":2"#)),
        "'original': ports, ICMP fields and GRE keys exclude each other"
    );
    assert_eq!(
        error(&TCP.replace(r#""dport":2"#, r#""dport":2,"packets":1"#)),
        "'original': 'packets' needs 'bytes'"
    );
    assert_eq!(
        error(&with(TCP, r#""master":{"sport":1,"dport":2,"bytes":1}"#)),
        "'master': 'bytes' is not a field of a tuple"
    );
}

#[test]
fn positions_are_cut_only_when_they_are_positions() {
    assert_eq!(without_position("x at line 1 column 20"), "x");
    assert_eq!(without_position("'a': x at line 1 column 2"), "'a': x");
    assert_eq!(without_position("look at line 1"), "look at line 1");
    assert_eq!(without_position("at line x column 2"), "at line x column 2");
}

/// A change to a line: a byte overwritten, a cut, or a piece repeated elsewhere.
#[derive(Debug, Clone)]
enum Edit {
    Set(prop::sample::Index, u8),
    Cut(prop::sample::Index),
    Splice(
        prop::sample::Index,
        prop::sample::Index,
        prop::sample::Index,
    ),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(at, byte)| Edit::Set(at, byte)),
        any::<prop::sample::Index>().prop_map(Edit::Cut),
        any::<(
            prop::sample::Index,
            prop::sample::Index,
            prop::sample::Index
        )>()
        .prop_map(|(from, to, at)| Edit::Splice(from, to, at)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    if bytes.is_empty() {
        return;
    }
    match edit {
        Edit::Set(at, byte) => {
            let at = at.index(bytes.len());
            bytes[at] = *byte;
        }
        Edit::Cut(at) => bytes.truncate(at.index(bytes.len())),
        Edit::Splice(from, to, at) => {
            let (from, to) = (from.index(bytes.len()), to.index(bytes.len()));
            let piece = bytes[from.min(to)..from.max(to)].to_vec();
            let at = at.index(bytes.len());
            bytes.splice(at..at, piece);
        }
    }
}

proptest! {
    #[test]
    fn random_text_never_panics(text in any::<String>()) {
        let _ = parse_line(&text, &mut JsonScratch::new());
    }

    #[test]
    fn json_like_text_never_panics(text in r#"[{}\[\]":,0-9a-z_. -]{0,200}"#) {
        let _ = parse_line(&text, &mut JsonScratch::new());
    }

    #[test]
    fn mutated_fixture_lines_never_panic(
        line in prop::sample::select(fixture_lines().collect::<Vec<_>>()),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let mut bytes = line.as_bytes().to_vec();
        for edit in &edits {
            apply(&mut bytes, edit);
        }
        let text = String::from_utf8_lossy(&bytes);
        let mut scratch = JsonScratch::new();
        if let Ok(entry) = parse_line(&text, &mut scratch) {
            // Whatever reads must print.
            print(&entry, &LabelMap::parse(CONNLABEL));
        }
    }
}
