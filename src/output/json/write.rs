//! `-o json`: JSON Lines, one object per entry, for jq and scripts.
//!
//! Field names follow conntrack's own words (`src`, `sport`, `mark`, `use`...) so a jq
//! user can guess them; the schema is documented in docs/json.md and written down for
//! validators in docs/ct.schema.json. A field the kernel did not send is left out, never
//! written as a made-up zero, and no field changes its type with the host: labels are
//! always `{"bit": N}` objects, with a `"name"` where connlabel.conf gives one. The view
//! types below borrow from the entry, and serde_json writes into a reused line buffer, so
//! printing an entry does not allocate.

use std::io::{self, Write};
use std::net::IpAddr;

use serde::Serialize;
use serde::ser::{SerializeSeq, SerializeStruct, Serializer};

use crate::kernel::IP_CT_DIR_REPLY;
use crate::labelmap::LabelMap;
use crate::model::entry::{
    Counters, DccpRole, Entry, Family, L4, Labels, SeqAdj, Status, Synproxy, TcpFlags, Tuple,
};
use crate::model::expect::Expectation;

/// Prints entries as JSON Lines.
pub struct JsonPrinter<'m> {
    labels: Option<&'m LabelMap>,
    line: Vec<u8>,
}

impl<'m> JsonPrinter<'m> {
    /// `labels` names label bits: a bit it names gets a `"name"` beside its `"bit"`.
    pub fn new(labels: Option<&'m LabelMap>) -> Self {
        JsonPrinter {
            labels,
            line: Vec::with_capacity(1024),
        }
    }

    pub fn print<W: Write>(&mut self, out: &mut W, entry: &Entry<'_>) -> io::Result<()> {
        self.line.clear();
        let view = JsonEntry::new(entry, self.labels);
        serde_json::to_writer(&mut self.line, &view).map_err(io::Error::other)?;
        self.line.push(b'\n');
        out.write_all(&self.line)
    }
}

impl JsonPrinter<'_> {
    /// Writes one expectation as a JSON object (the schema's expectation section).
    pub fn print_expectation<W: Write>(
        &mut self,
        out: &mut W,
        expectation: &Expectation<'_>,
    ) -> io::Result<()> {
        self.print_expectation_headed(out, b"", expectation)
    }

    /// Writes one entry as a JSON object that starts with the members in `head`
    /// (`"event":"new","time":...,`, each followed by a comma): an event.
    pub fn print_headed<W: Write>(
        &mut self,
        out: &mut W,
        head: &[u8],
        entry: &Entry<'_>,
    ) -> io::Result<()> {
        self.line.clear();
        let view = JsonEntry::new(entry, self.labels);
        serde_json::to_writer(&mut self.line, &view).map_err(io::Error::other)?;
        self.end_headed(out, head)
    }

    /// Writes one expectation as a JSON object that starts with the members in `head`.
    pub fn print_expectation_headed<W: Write>(
        &mut self,
        out: &mut W,
        head: &[u8],
        expectation: &Expectation<'_>,
    ) -> io::Result<()> {
        self.line.clear();
        let view = JsonExpectation::new(expectation);
        serde_json::to_writer(&mut self.line, &view).map_err(io::Error::other)?;
        self.end_headed(out, head)
    }

    /// Puts `head` right after the object's opening brace, ends the line and writes it.
    fn end_headed<W: Write>(&mut self, out: &mut W, head: &[u8]) -> io::Result<()> {
        if !head.is_empty() {
            self.line.splice(1..1, head.iter().copied());
        }
        self.line.push(b'\n');
        out.write_all(&self.line)
    }
}

/// One expectation: conntrack's words where it has them (`expected`, `mask`, `master`,
/// `class`, `helper`), the flags by name, and what conntrack does not print (id, NAT,
/// the kernel function).
#[derive(Serialize)]
struct JsonExpectation<'e> {
    family: FamilyText,
    proto: ProtoText,
    protonum: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<u32>,
    expected: JsonTuple,
    mask: JsonTuple,
    master: JsonTuple,
    flags: ExpectFlags<'e>,
    #[serde(skip_serializing_if = "Option::is_none")]
    class: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zone: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    helper: Option<LossyText<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nat: Option<JsonExpectNat>,
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    function: Option<LossyText<'e>>,
}

#[derive(Serialize)]
struct JsonExpectNat {
    /// "original" or "reply".
    dir: &'static str,
    #[serde(flatten)]
    tuple: JsonTuple,
}

impl<'e> JsonExpectation<'e> {
    fn new(expectation: &Expectation<'e>) -> Self {
        JsonExpectation {
            family: FamilyText(expectation.family),
            proto: ProtoText(expectation.expected.protonum),
            protonum: expectation.expected.protonum,
            timeout: expectation.timeout,
            expected: JsonTuple::bare(&expectation.expected),
            mask: JsonTuple::bare(&expectation.mask),
            master: JsonTuple::bare(&expectation.master),
            flags: ExpectFlags(*expectation),
            class: expectation.class,
            zone: expectation.zone,
            helper: expectation.helper.map(LossyText),
            id: expectation.id,
            nat: expectation.nat.map(|nat| JsonExpectNat {
                dir: if nat.direction == IP_CT_DIR_REPLY {
                    "reply"
                } else {
                    "original"
                },
                tuple: JsonTuple::bare(&nat.tuple),
            }),
            function: expectation.function.map(LossyText),
        }
    }
}

#[derive(Serialize)]
struct JsonEntry<'e, 'm> {
    family: FamilyText,
    proto: ProtoText,
    protonum: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
    original: JsonTuple,
    reply: JsonTuple,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<StatusNames>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secmark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zone: Option<u16>,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    use_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secctx: Option<LossyText<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    helper: Option<LossyText<'e>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    labels: Option<JsonLabels<'e, 'm>>,
    /// Nanoseconds since the epoch, as the kernel keeps them.
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<u64>,
    /// The original tuple of the connection that expected this one.
    #[serde(skip_serializing_if = "Option::is_none")]
    master: Option<JsonTuple>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dccp_role: Option<RoleText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dccp_handshake_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    synproxy: Option<JsonSynproxy>,
}

impl<'e, 'm> JsonEntry<'e, 'm> {
    fn new(entry: &Entry<'e>, map: Option<&'m LabelMap>) -> Self {
        JsonEntry {
            family: FamilyText(entry.family),
            proto: ProtoText(entry.protonum()),
            protonum: entry.protonum(),
            timeout: entry.timeout,
            state: entry.state.map(|s| s.name()),
            original: JsonTuple::bare(&entry.original).direction(Direction {
                counters: entry.counters_original,
                wscale: entry.tcp_wscale_original,
                tcp_flags: entry.tcp_flags_original,
                vtag: entry.sctp_vtag_original,
                seq_adj: entry.seq_adj_original,
            }),
            reply: JsonTuple::bare(&entry.reply).direction(Direction {
                counters: entry.counters_reply,
                wscale: entry.tcp_wscale_reply,
                tcp_flags: entry.tcp_flags_reply,
                vtag: entry.sctp_vtag_reply,
                seq_adj: entry.seq_adj_reply,
            }),
            status: entry.status.map(StatusNames),
            mark: entry.mark,
            secmark: entry.secmark,
            zone: entry.zone,
            use_count: entry.use_count,
            id: entry.id,
            secctx: entry.secctx.map(LossyText),
            helper: entry.helper.map(LossyText),
            labels: entry.labels.map(|bits| JsonLabels { bits, map }),
            start: entry.timestamp_start,
            stop: entry.timestamp_stop,
            master: entry.master.as_ref().map(JsonTuple::bare),
            dccp_role: entry.dccp_role.map(RoleText),
            dccp_handshake_seq: entry.dccp_handshake_seq,
            // Every entry made over ctnetlink carries an all-zero synproxy area; only one
            // SYNPROXY filled in says something.
            synproxy: entry
                .synproxy
                .filter(|synproxy| !synproxy.is_unused())
                .map(JsonSynproxy),
        }
    }
}

#[derive(Serialize)]
struct JsonTuple {
    #[serde(skip_serializing_if = "Option::is_none")]
    src: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sport: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dport: Option<u16>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    icmp_type: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    srckey: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dstkey: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    packets: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    zone: Option<u16>,
    /// tcp: the window scale this direction's sender announced.
    #[serde(skip_serializing_if = "Option::is_none")]
    wscale: Option<u8>,
    /// tcp: the tracker's flags of this direction's sender, by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    tcp_flags: Option<TcpFlagNames>,
    /// sctp: this direction's verification tag.
    #[serde(skip_serializing_if = "Option::is_none")]
    vtag: Option<u32>,
    /// NAT's sequence adjustment of this direction.
    #[serde(skip_serializing_if = "Option::is_none")]
    seq_adj: Option<JsonSeqAdj>,
}

/// What an entry knows of one direction beyond its tuple.
struct Direction {
    counters: Option<Counters>,
    wscale: Option<u8>,
    tcp_flags: Option<TcpFlags>,
    vtag: Option<u32>,
    seq_adj: Option<SeqAdj>,
}

impl JsonTuple {
    /// An entry's direction: the tuple and what the entry knows of that direction.
    fn direction(self, direction: Direction) -> Self {
        JsonTuple {
            packets: direction.counters.map(|c| c.packets),
            bytes: direction.counters.map(|c| c.bytes),
            wscale: direction.wscale,
            tcp_flags: direction.tcp_flags.map(TcpFlagNames),
            vtag: direction.vtag,
            seq_adj: direction.seq_adj.map(JsonSeqAdj),
            ..self
        }
    }

    /// A tuple alone: addresses, the layer-4 identity and the tuple's zone.
    fn bare(tuple: &Tuple) -> Self {
        let mut view = JsonTuple {
            src: tuple.src,
            dst: tuple.dst,
            sport: None,
            dport: None,
            icmp_type: None,
            code: None,
            id: None,
            srckey: None,
            dstkey: None,
            packets: None,
            bytes: None,
            zone: tuple.zone,
            wscale: None,
            tcp_flags: None,
            vtag: None,
            seq_adj: None,
        };
        match tuple.l4 {
            L4::Ports { sport, dport } => (view.sport, view.dport) = (Some(sport), Some(dport)),
            L4::Icmp {
                icmp_type,
                code,
                id,
            } => (view.icmp_type, view.code, view.id) = (Some(icmp_type), Some(code), Some(id)),
            L4::Gre { srckey, dstkey } => (view.srckey, view.dstkey) = (Some(srckey), Some(dstkey)),
            L4::None => {}
        }
        view
    }
}

/// The NF_CT_EXPECT_* flags that are set, by name; an empty list when none is.
struct ExpectFlags<'e>(Expectation<'e>);

impl Serialize for ExpectFlags<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for name in self.0.flag_names() {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

/// "ipv4", "ipv6", or the family number as text.
struct FamilyText(Family);

impl Serialize for FamilyText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Family::Other(raw) => serializer.collect_str(&raw),
            known => serializer.serialize_str(known.name()),
        }
    }
}

/// The protocol's name, or its number as text for a protocol conntrack has no name for.
struct ProtoText(u8);

impl Serialize for ProtoText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match crate::model::entry::proto_name(self.0) {
            Some(name) => serializer.serialize_str(name),
            None => serializer.collect_str(&self.0),
        }
    }
}

/// The IPS_* flags that are set, by name without the prefix.
struct StatusNames(Status);

impl Serialize for StatusNames {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for name in self.0.names() {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

/// The label bits that are set, lowest first, each as `{"bit": N}`, with `"name"` where
/// the map names it: the same shape whether or not the host has a connlabel.conf.
struct JsonLabels<'e, 'm> {
    bits: Labels<'e>,
    map: Option<&'m LabelMap>,
}

impl Serialize for JsonLabels<'_, '_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for bit in self.bits.bits() {
            seq.serialize_element(&JsonLabel {
                bit,
                name: self.map.and_then(|map| map.name(bit)),
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct JsonLabel<'m> {
    bit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'m str>,
}

/// The IP_CT_TCP_FLAG_* bits that are set, by name without the prefix.
struct TcpFlagNames(TcpFlags);

impl Serialize for TcpFlagNames {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        for name in self.0.names() {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

/// `"client"`, `"server"`, or the role's number as text for one the kernel does not
/// define.
struct RoleText(DccpRole);

impl Serialize for RoleText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.name() {
            Some(name) => serializer.serialize_str(name),
            None => serializer.collect_str(&self.0.raw()),
        }
    }
}

/// struct nf_ct_seqadj under the kernel's member names.
struct JsonSeqAdj(SeqAdj);

impl Serialize for JsonSeqAdj {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_struct("seq_adj", 3)?;
        map.serialize_field("correction_pos", &self.0.correction_pos)?;
        map.serialize_field("offset_before", &self.0.offset_before)?;
        map.serialize_field("offset_after", &self.0.offset_after)?;
        map.end()
    }
}

/// struct nf_conn_synproxy under the kernel's member names.
struct JsonSynproxy(Synproxy);

impl Serialize for JsonSynproxy {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_struct("synproxy", 3)?;
        map.serialize_field("isn", &self.0.isn)?;
        map.serialize_field("its", &self.0.its)?;
        map.serialize_field("tsoff", &self.0.tsoff)?;
        map.end()
    }
}

/// Bytes from the kernel that should be text; invalid UTF-8 is replaced, not fatal.
struct LossyText<'e>(&'e [u8]);

impl Serialize for LossyText<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.serialize_str(&String::from_utf8_lossy(self.0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::*;
    use crate::model::entry::ProtoState;

    fn tuple(src: &str, dst: &str, protonum: u8, l4: L4) -> Tuple {
        Tuple {
            src: Some(src.parse().unwrap()),
            dst: Some(dst.parse().unwrap()),
            protonum,
            l4,
            zone: None,
        }
    }

    fn bare(original: Tuple, reply: Tuple) -> Entry<'static> {
        Entry::new(Family::Ipv4, original, reply)
    }

    fn json(entry: &Entry<'_>, map: Option<&LabelMap>) -> String {
        let mut out = Vec::new();
        JsonPrinter::new(map).print(&mut out, entry).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tcp_entry_with_every_field() {
        let ports = |sport, dport| L4::Ports { sport, dport };
        let mut entry = bare(
            tuple("10.0.0.1", "10.0.0.2", IPPROTO_TCP, ports(40000, 443)),
            tuple("10.0.0.2", "192.0.2.1", IPPROTO_TCP, ports(443, 40000)),
        );
        entry.timeout = Some(431999);
        entry.state = Some(ProtoState::Tcp(3));
        entry.status = Some(Status(0b1_1011_1110));
        entry.mark = Some(7);
        entry.zone = Some(2);
        entry.reply.zone = Some(3);
        entry.use_count = Some(1);
        entry.id = Some(99);
        entry.counters_original = Some(Counters {
            packets: 4,
            bytes: 300,
        });
        entry.counters_reply = Some(Counters {
            packets: 3,
            bytes: 200,
        });
        entry.timestamp_start = Some(1_795_600_000_123_456_789);
        entry.helper = Some(b"ftp");
        let raw_labels = [0b10_0011u8, 0, 0, 0];
        entry.labels = Some(Labels(&raw_labels));
        let map = LabelMap::parse("0 zero\n5 five\n");
        assert_eq!(
            json(&entry, Some(&map)),
            concat!(
                r#"{"family":"ipv4","proto":"tcp","protonum":6,"timeout":431999,"state":"ESTABLISHED","#,
                r#""original":{"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":443,"packets":4,"bytes":300},"#,
                r#""reply":{"src":"10.0.0.2","dst":"192.0.2.1","sport":443,"dport":40000,"packets":3,"bytes":200,"zone":3},"#,
                r#""status":["SEEN_REPLY","ASSURED","CONFIRMED","SRC_NAT","DST_NAT","SRC_NAT_DONE","DST_NAT_DONE"],"#,
                r#""mark":7,"zone":2,"use":1,"id":99,"helper":"ftp","#,
                r#""labels":[{"bit":0,"name":"zero"},{"bit":1},{"bit":5,"name":"five"}],"#,
                r#""start":1795600000123456789}"#,
                "\n"
            )
        );
    }

    /// Issue 9 ("JSON that scripts can rely on"): a label is `{"bit": N}` with or without
    /// a label map, and the map only adds names.
    #[test]
    fn labels_keep_their_shape_without_a_map() {
        let mut entry = bare(
            tuple("10.0.0.1", "10.0.0.2", 99, L4::None),
            tuple("10.0.0.2", "10.0.0.1", 99, L4::None),
        );
        let raw_labels = [0b10_0011u8, 0, 0, 0, 0, 0, 0, 0x80];
        entry.labels = Some(Labels(&raw_labels));
        assert!(
            json(&entry, None).contains(r#""labels":[{"bit":0},{"bit":1},{"bit":5},{"bit":63}]"#)
        );
        let map = LabelMap::parse("1 one\n63 top\n");
        assert!(json(&entry, Some(&map)).contains(
            r#""labels":[{"bit":0},{"bit":1,"name":"one"},{"bit":5},{"bit":63,"name":"top"}]"#
        ));
        entry.labels = Some(Labels(&[]));
        assert!(json(&entry, None).contains(r#""labels":[]"#));
    }

    #[test]
    fn tracker_details_go_with_their_direction() {
        let ports = |sport, dport| L4::Ports { sport, dport };
        let mut tcp = bare(
            tuple("10.0.0.1", "10.0.0.2", IPPROTO_TCP, ports(40000, 21)),
            tuple("10.0.0.2", "10.0.0.1", IPPROTO_TCP, ports(21, 40000)),
        );
        tcp.tcp_wscale_original = Some(10);
        tcp.tcp_wscale_reply = Some(7);
        tcp.tcp_flags_original = Some(TcpFlags {
            flags: 0x27,
            mask: 0,
        });
        tcp.tcp_flags_reply = Some(TcpFlags { flags: 0, mask: 0 });
        tcp.seq_adj_original = Some(SeqAdj {
            correction_pos: 3_000_000_000,
            offset_before: 0,
            offset_after: -2,
        });
        // An all-zero synproxy area is what every entry made over ctnetlink has.
        tcp.synproxy = Some(Synproxy::default());
        assert_eq!(
            json(&tcp, None),
            concat!(
                r#"{"family":"ipv4","proto":"tcp","protonum":6,"#,
                r#""original":{"src":"10.0.0.1","dst":"10.0.0.2","sport":40000,"dport":21,"wscale":10,"#,
                r#""tcp_flags":["WINDOW_SCALE","SACK_PERM","CLOSE_INIT","MAXACK_SET"],"#,
                r#""seq_adj":{"correction_pos":3000000000,"offset_before":0,"offset_after":-2}},"#,
                r#""reply":{"src":"10.0.0.2","dst":"10.0.0.1","sport":21,"dport":40000,"wscale":7,"tcp_flags":[]}}"#,
                "\n"
            )
        );
        tcp.synproxy = Some(Synproxy {
            isn: 1,
            its: 2,
            tsoff: 3,
        });
        tcp.master = Some(tuple("10.0.0.1", "10.0.0.2", IPPROTO_TCP, ports(39999, 21)));
        assert!(json(&tcp, None).ends_with(concat!(
            r#""master":{"src":"10.0.0.1","dst":"10.0.0.2","sport":39999,"dport":21},"#,
            r#""synproxy":{"isn":1,"its":2,"tsoff":3}}"#,
            "\n"
        )));

        let mut sctp = bare(
            tuple("10.0.0.1", "10.0.0.2", IPPROTO_SCTP, ports(5, 6)),
            tuple("10.0.0.2", "10.0.0.1", IPPROTO_SCTP, ports(6, 5)),
        );
        sctp.sctp_vtag_original = Some(1);
        sctp.sctp_vtag_reply = Some(u32::MAX);
        let text = json(&sctp, None);
        assert!(text.contains(r#""dport":6,"vtag":1}"#), "{text}");
        assert!(text.contains(r#""dport":5,"vtag":4294967295}"#), "{text}");

        let mut dccp = bare(
            tuple("10.0.0.1", "10.0.0.2", IPPROTO_DCCP, ports(5, 6)),
            tuple("10.0.0.2", "10.0.0.1", IPPROTO_DCCP, ports(6, 5)),
        );
        dccp.state = Some(ProtoState::Dccp(4));
        dccp.dccp_role = Some(DccpRole::Client);
        dccp.dccp_handshake_seq = Some(u64::MAX);
        assert!(json(&dccp, None).ends_with(
            r#""dccp_role":"client","dccp_handshake_seq":18446744073709551615}
"#
        ));
        dccp.dccp_role = Some(DccpRole::Other(9));
        assert!(json(&dccp, None).contains(r#""dccp_role":"9""#));
    }

    #[test]
    fn icmp_gre_and_unknown_protocols() {
        let icmp = bare(
            tuple(
                "::1",
                "::2",
                IPPROTO_ICMPV6,
                L4::Icmp {
                    icmp_type: 128,
                    code: 0,
                    id: 5,
                },
            ),
            tuple(
                "::2",
                "::1",
                IPPROTO_ICMPV6,
                L4::Icmp {
                    icmp_type: 129,
                    code: 0,
                    id: 5,
                },
            ),
        );
        let mut icmp = icmp;
        icmp.family = Family::Ipv6;
        assert_eq!(
            json(&icmp, None),
            concat!(
                r#"{"family":"ipv6","proto":"icmpv6","protonum":58,"#,
                r#""original":{"src":"::1","dst":"::2","type":128,"code":0,"id":5},"#,
                r#""reply":{"src":"::2","dst":"::1","type":129,"code":0,"id":5}}"#,
                "\n"
            )
        );
        let gre = bare(
            tuple(
                "10.0.0.1",
                "10.0.0.2",
                IPPROTO_GRE,
                L4::Gre {
                    srckey: 1,
                    dstkey: 2,
                },
            ),
            tuple(
                "10.0.0.2",
                "10.0.0.1",
                IPPROTO_GRE,
                L4::Gre {
                    srckey: 2,
                    dstkey: 1,
                },
            ),
        );
        assert!(
            json(&gre, None).contains(
                r#""original":{"src":"10.0.0.1","dst":"10.0.0.2","srckey":1,"dstkey":2}"#
            )
        );
        let other = bare(
            tuple("10.0.0.1", "10.0.0.2", 99, L4::None),
            tuple("10.0.0.2", "10.0.0.1", 99, L4::None),
        );
        assert!(json(&other, None).starts_with(r#"{"family":"ipv4","proto":"99","protonum":99,"original":{"src":"10.0.0.1","dst":"10.0.0.2"},"#));
    }

    #[test]
    fn text_from_the_kernel_that_is_not_utf8_is_replaced() {
        let mut entry = bare(
            tuple("10.0.0.1", "10.0.0.2", 99, L4::None),
            tuple("10.0.0.2", "10.0.0.1", 99, L4::None),
        );
        entry.secctx = Some(b"system_u:\xff\"x");
        assert!(json(&entry, None).contains(
            r#""secctx":"system_u:\u{fffd}\"x""#.replace("\\u{fffd}", "\u{fffd}").as_str()
        ));
    }
}
