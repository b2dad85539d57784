//! Writing `-o json`: an entry or expectation put into the types of [`super`], borrowing
//! from it, and written by serde_json into a reused line buffer, so printing an entry
//! does not allocate.

use std::io::{self, Write};

use super::{
    Address, ExpectFlags, FamilyText, JsonDirection, JsonEntry, JsonExpectNat, JsonExpectation,
    JsonLabels, ProtoText, RoleText, StateText, StatusNames, TcpFlagNames, Text,
};
use crate::kernel::IP_CT_DIR_REPLY;
use crate::labelmap::LabelMap;
use crate::model::entry::{Counters, Entry, L4, SeqAdj, TcpFlags, Tuple};
use crate::model::expect::Expectation;
use crate::output::printer::{Frame, Print, Record};

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
}

/// The object, its frame's members first: the namespace's `"netns"`, then the event's
/// kind, time and cause.
impl Print for JsonPrinter<'_> {
    fn print<W: Write>(&mut self, out: &mut W, record: Record, frame: &Frame) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        match record {
            Record::Entry(entry) => {
                serde_json::to_writer(&mut *line, &JsonEntry::new(entry, self.labels))
            }
            Record::Expectation(expectation) => {
                serde_json::to_writer(&mut *line, &JsonExpectation::new(expectation))
            }
        }
        .map_err(io::Error::other)?;
        // The frame's members go right after the object's opening brace.
        let object = line.len();
        frame.push_json_head(line)?;
        let head = line.len() - object;
        if head > 0 {
            line[1..].rotate_right(head);
        }
        line.push(b'\n');
        out.write_all(line)
    }

    fn finish<W: Write>(&mut self, _out: &mut W) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> JsonExpectation<'a> {
    fn new(expectation: &Expectation<'a>) -> Self {
        JsonExpectation {
            family: FamilyText(expectation.family),
            proto: ProtoText::of(expectation.expected.protonum),
            protonum: expectation.expected.protonum,
            timeout: expectation.timeout,
            expected: JsonDirection::bare(&expectation.expected),
            mask: JsonDirection::bare(&expectation.mask),
            master: JsonDirection::bare(&expectation.master),
            flags: ExpectFlags(*expectation),
            class: expectation.class,
            zone: expectation.zone,
            helper: expectation.helper.map(Text::bytes),
            id: expectation.id,
            nat: expectation.nat.map(|nat| JsonExpectNat {
                dir: if nat.direction == IP_CT_DIR_REPLY {
                    "reply"
                } else {
                    "original"
                },
                tuple: JsonDirection::bare(&nat.tuple),
            }),
            function: expectation.function.map(Text::bytes),
        }
    }
}

impl<'a> JsonEntry<'a> {
    /// `entry` as written, its labels named from `map`.
    pub fn new(entry: &Entry<'a>, map: Option<&'a LabelMap>) -> Self {
        JsonEntry {
            family: FamilyText(entry.family),
            proto: Some(ProtoText::of(entry.protonum())),
            protonum: entry.protonum(),
            timeout: entry.timeout,
            state: entry.state.map(StateText::of),
            original: JsonDirection::bare(&entry.original).direction(Direction {
                counters: entry.counters_original,
                wscale: entry.tcp_wscale_original,
                tcp_flags: entry.tcp_flags_original,
                vtag: entry.sctp_vtag_original,
                seq_adj: entry.seq_adj_original,
            }),
            reply: JsonDirection::bare(&entry.reply).direction(Direction {
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
            secctx: entry.secctx.map(Text::bytes),
            helper: entry.helper.map(Text::bytes),
            labels: entry.labels.map(|bits| JsonLabels::Entry { bits, map }),
            start: entry.timestamp_start,
            stop: entry.timestamp_stop,
            master: entry.master.as_ref().map(JsonDirection::bare),
            dccp_role: entry.dccp_role.map(RoleText),
            dccp_handshake_seq: entry.dccp_handshake_seq,
            // Every entry made over ctnetlink carries an all-zero synproxy area; only one
            // SYNPROXY filled in says something.
            synproxy: entry
                .synproxy
                .filter(|synproxy| !synproxy.is_unused())
                .map(Into::into),
            event: None,
            time: None,
            userspace: None,
        }
    }
}

/// What an entry knows of one direction beyond its tuple.
pub(super) struct Direction {
    pub counters: Option<Counters>,
    pub wscale: Option<u8>,
    pub tcp_flags: Option<TcpFlags>,
    pub vtag: Option<u32>,
    pub seq_adj: Option<SeqAdj>,
}

impl JsonDirection {
    /// An entry's direction: the tuple and what the entry knows of that direction.
    fn direction(self, direction: Direction) -> Self {
        JsonDirection {
            packets: direction.counters.map(|c| c.packets),
            bytes: direction.counters.map(|c| c.bytes),
            wscale: direction.wscale,
            tcp_flags: direction.tcp_flags.map(TcpFlagNames),
            vtag: direction.vtag,
            seq_adj: direction.seq_adj.map(Into::into),
            ..self
        }
    }

    /// A tuple alone: addresses, the layer-4 identity and the tuple's zone.
    fn bare(tuple: &Tuple) -> Self {
        let mut view = JsonDirection {
            src: tuple.src.map(Address),
            dst: tuple.dst.map(Address),
            zone: tuple.zone,
            ..JsonDirection::default()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::*;
    use crate::model::entry::{DccpRole, Family, Labels, ProtoState, Status, Synproxy};

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
        JsonPrinter::new(map)
            .print(&mut out, Record::Entry(entry), &Frame::NONE)
            .unwrap();
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
