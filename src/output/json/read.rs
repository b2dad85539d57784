//! Reading ct's JSON back: one line of `ct list -o json` (or of `ct watch -o json`) → an
//! [`Entry`].
//!
//! The exact inverse of [`super::write`]: every entry line the printer writes reads back
//! into an entry that prints as the same bytes. What the printer never writes stays
//! `None` or zero (the event's kernel time, the tcp flags' mask, status bits without a
//! name, an all-zero synproxy area); the master tuple's protocol, which it does not
//! print, is inferred from the master's fields.
//!
//! The reader is as strict as docs/ct.schema.json: the types of [`super`] refuse an
//! unknown key, a key given twice, a number outside its kernel type; then this module
//! refuses an address of the other family, a state or a tracker's field on a protocol
//! that has none. Each error names the key, so that a typo in a hand-edited file is not
//! quietly read as an absent field. Only the keys `ct watch -o json` puts first (`event`,
//! `time`, `userspace`) are accepted and skipped. Reading is not a hot path: a string
//! with escapes allocates, and an error is framed with the path serde_path_to_error
//! tracked.

use std::net::IpAddr;

use serde::de::{DeserializeSeed, IgnoredAny};
use serde_path_to_error::Segment;

use super::{JsonDirection, JsonEntry, ObjectSeed};
use crate::kernel::{
    IPPROTO_DCCP, IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP,
};
use crate::model::entry::{
    Counters, Entry, Family, L4, LabelBits, SeqAdj, TcpFlags, Tuple, has_ports, protocol_text,
};
use crate::output::excerpt;

/// Per-line storage an entry borrows: unescaped strings (helper, secctx) and the label
/// bitmap.
///
/// Keep one and hand it to [`parse_line`] line after line: the strings keep their
/// capacity.
#[derive(Debug, Clone, Default)]
pub struct JsonScratch {
    helper: String,
    secctx: String,
    labels: LabelBits,
}

impl JsonScratch {
    pub fn new() -> Self {
        JsonScratch::default()
    }
}

/// Reads one line of `ct list -o json` or `ct watch -o json` into an entry, which
/// borrows its helper, security context and labels from `scratch`. The error says what
/// is wrong and under which key, for a person to fix the line.
pub fn parse_line<'a>(line: &'a str, scratch: &'a mut JsonScratch) -> Result<Entry<'a>, String> {
    let json = read_json(line)?;
    json.into_entry(scratch)
}

/// The first pass: every key read and checked on its own.
fn read_json(line: &str) -> Result<JsonEntry<'_>, String> {
    let mut deserializer = serde_json::Deserializer::from_str(line);
    ObjectSeed::<JsonEntry>::new()
        .deserialize(&mut deserializer)
        .and_then(|json| deserializer.end().map(|()| json))
        .map_err(|error| describe(line, &error))
}

/// The message for a line that could not be read: the keys the error was met under,
/// then what is wrong. The keys come from reading the line again with its path tracked
/// (serde_path_to_error keeps each key it passes as a string): only failing lines pay for
/// that.
fn describe(line: &str, error: &serde_json::Error) -> String {
    let mut deserializer = serde_json::Deserializer::from_str(line);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(&mut deserializer, &mut track);
    match ObjectSeed::<JsonEntry>::new().deserialize(tracked) {
        Err(error) => {
            let path = track.path();
            frame(line, &error, &path.iter().collect::<Vec<_>>())
        }
        // Read whole: what failed was the end of the line.
        Ok(_) => frame(line, error, &[]),
    }
}

/// `error` under the keys of `path`. A syntax error is told as one, with its column,
/// rather than under whichever key it interrupted; telling them apart parses the line
/// again.
fn frame(line: &str, error: &serde_json::Error, path: &[&Segment]) -> String {
    if let Err(syntax) = serde_json::from_str::<IgnoredAny>(line) {
        let message = syntax.to_string();
        return format!(
            "line is not valid JSON: {} at column {}",
            without_position(&message),
            syntax.column()
        );
    }
    if !line.trim_start().starts_with('{') {
        return "line is not a JSON object".to_owned();
    }
    let message = error.to_string();
    let message = without_position(&message);
    let (message, path) = match in_our_words(message) {
        // The key being read is in the path: the object it is unknown in is not.
        Some(unknown) if message.starts_with(UNKNOWN_FIELD) => (
            unknown,
            path.split_last().map_or(path, |(_, parent)| parent),
        ),
        Some(reworded) => (reworded, path),
        None => (message.to_owned(), path),
    };
    let mut framed = String::new();
    for segment in path {
        if let Segment::Map { key } = segment {
            framed.push_str(&format!("'{}': ", excerpt(key)));
        }
    }
    framed + &message
}

const UNKNOWN_FIELD: &str = "unknown field `";

/// serde derive's messages about keys, in the words of ct's other messages: "unknown
/// key 'x'", "duplicate key 'x'", "missing key 'x'".
fn in_our_words(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix(UNKNOWN_FIELD) {
        let end = rest
            .rfind("`, expected ")
            .or_else(|| rest.rfind("`, there are no fields"))?;
        return Some(format!("unknown key '{}'", excerpt(&rest[..end])));
    }
    for (derive, ours) in [
        ("duplicate field `", "duplicate"),
        ("missing field `", "missing"),
    ] {
        if let Some(key) = message
            .strip_prefix(derive)
            .and_then(|rest| rest.strip_suffix('`'))
        {
            return Some(format!("{ours} key '{}'", excerpt(key)));
        }
    }
    None
}

/// `message` without the " at line L column C" serde_json ends its messages with.
fn without_position(message: &str) -> &str {
    const AT_LINE: &str = " at line ";
    let Some(start) = message.rfind(AT_LINE) else {
        return message;
    };
    let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    match message[start + AT_LINE.len()..].split_once(" column ") {
        Some((line, column)) if digits(line) && digits(column) => &message[..start],
        _ => message,
    }
}

/// `value`, or the error that `key` is missing.
fn present<T>(value: Option<T>, key: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing key '{key}'"))
}

/// Which layer-4 fields a tuple has. The decoder picks them by the tuple's protocol, so
/// an entry's directions must have those of its protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum L4Fields {
    Ports,
    Icmp,
    Gre,
    None,
}

impl L4Fields {
    fn of_protocol(protonum: u8) -> L4Fields {
        match protonum {
            protonum if has_ports(protonum) => L4Fields::Ports,
            IPPROTO_ICMP | IPPROTO_ICMPV6 => L4Fields::Icmp,
            IPPROTO_GRE => L4Fields::Gre,
            _ => L4Fields::None,
        }
    }

    fn of(l4: L4) -> L4Fields {
        match l4 {
            L4::Ports { .. } => L4Fields::Ports,
            L4::Icmp { .. } => L4Fields::Icmp,
            L4::Gre { .. } => L4Fields::Gre,
            L4::None => L4Fields::None,
        }
    }

    fn keys(self) -> &'static str {
        match self {
            L4Fields::Ports => "'sport' and 'dport'",
            L4Fields::Icmp => "'type', 'code' and 'id'",
            L4Fields::Gre => "'srckey' and 'dstkey'",
            L4Fields::None => "no ports, ICMP fields or GRE keys",
        }
    }
}

/// What an entry knows of one direction beyond its tuple.
struct DirectionDetails {
    counters: Option<Counters>,
    wscale: Option<u8>,
    tcp_flags: Option<TcpFlags>,
    vtag: Option<u32>,
    seq_adj: Option<SeqAdj>,
}

impl JsonDirection {
    /// The tuple of the entry's direction `place`: addresses of the entry's family and
    /// the layer-4 fields of its protocol.
    fn tuple(&self, place: &str, family: Family, protonum: u8) -> Result<Tuple, String> {
        let l4 = self.l4(place)?;
        let fields = L4Fields::of_protocol(protonum);
        if L4Fields::of(l4) != fields {
            return Err(format!(
                "'{place}': a {} tuple has {}",
                protocol_text(protonum),
                fields.keys()
            ));
        }
        self.tuple_with(place, family, protonum, l4)
    }

    /// The master tuple, whose protocol the printer leaves out: the entry's when the
    /// master's fields fit it (ftp, tftp, sip...), else the first protocol whose fields
    /// they are (tcp for ports: PPTP's control connection of a gre entry). A master
    /// without any keeps the entry's number, which is not printed either.
    fn master(&self, family: Family, protonum: u8) -> Result<Tuple, String> {
        let direction_only = [
            ("packets", self.packets.is_some()),
            ("bytes", self.bytes.is_some()),
            ("wscale", self.wscale.is_some()),
            ("tcp_flags", self.tcp_flags.is_some()),
            ("vtag", self.vtag.is_some()),
            ("seq_adj", self.seq_adj.is_some()),
        ];
        if let Some((key, _)) = direction_only.iter().find(|(_, present)| *present) {
            return Err(format!("'master': '{key}' is not a field of a tuple"));
        }
        let l4 = self.l4("master")?;
        let master_protonum = match L4Fields::of(l4) {
            fields if fields == L4Fields::of_protocol(protonum) => protonum,
            L4Fields::Ports => IPPROTO_TCP,
            L4Fields::Icmp if family == Family::Ipv6 => IPPROTO_ICMPV6,
            L4Fields::Icmp => IPPROTO_ICMP,
            L4Fields::Gre => IPPROTO_GRE,
            L4Fields::None => protonum,
        };
        self.tuple_with("master", family, master_protonum, l4)
    }

    fn tuple_with(
        &self,
        place: &str,
        family: Family,
        protonum: u8,
        l4: L4,
    ) -> Result<Tuple, String> {
        Ok(Tuple {
            src: of_family(place, "src", self.src.map(|src| src.0), family)?,
            dst: of_family(place, "dst", self.dst.map(|dst| dst.0), family)?,
            protonum,
            l4,
            zone: self.zone,
        })
    }

    /// The layer-4 fields present: one group (ports, ICMP's three, GRE's keys), whole,
    /// or none.
    fn l4(&self, place: &str) -> Result<L4, String> {
        together(
            place,
            &[
                ("sport", self.sport.is_some()),
                ("dport", self.dport.is_some()),
            ],
        )?;
        together(
            place,
            &[
                ("type", self.icmp_type.is_some()),
                ("code", self.code.is_some()),
                ("id", self.id.is_some()),
            ],
        )?;
        together(
            place,
            &[
                ("srckey", self.srckey.is_some()),
                ("dstkey", self.dstkey.is_some()),
            ],
        )?;
        let ports = self
            .sport
            .zip(self.dport)
            .map(|(sport, dport)| L4::Ports { sport, dport });
        let icmp = self.icmp_type.zip(self.code).zip(self.id);
        let icmp = icmp.map(|((icmp_type, code), id)| L4::Icmp {
            icmp_type,
            code,
            id,
        });
        let keys = self
            .srckey
            .zip(self.dstkey)
            .map(|(srckey, dstkey)| L4::Gre { srckey, dstkey });
        let mut found = [ports, icmp, keys].into_iter().flatten();
        match (found.next(), found.next()) {
            (None, _) => Ok(L4::None),
            (Some(l4), None) => Ok(l4),
            (Some(_), Some(_)) => Err(format!(
                "'{place}': ports, ICMP fields and GRE keys exclude each other"
            )),
        }
    }

    /// Counters and what the entry's tracker keeps of this direction, each only with
    /// the protocol that has it.
    fn details(&self, place: &str, protonum: u8) -> Result<DirectionDetails, String> {
        together(
            place,
            &[
                ("packets", self.packets.is_some()),
                ("bytes", self.bytes.is_some()),
            ],
        )?;
        let in_place = |key: &str| format!("'{place}': '{key}'");
        only_for(protonum, IPPROTO_TCP, self.wscale.is_some(), || {
            in_place("wscale")
        })?;
        only_for(protonum, IPPROTO_TCP, self.tcp_flags.is_some(), || {
            in_place("tcp_flags")
        })?;
        only_for(protonum, IPPROTO_SCTP, self.vtag.is_some(), || {
            in_place("vtag")
        })?;
        Ok(DirectionDetails {
            counters: self
                .packets
                .zip(self.bytes)
                .map(|(packets, bytes)| Counters { packets, bytes }),
            wscale: self.wscale,
            tcp_flags: self.tcp_flags.map(|flags| flags.0),
            vtag: self.vtag,
            seq_adj: self.seq_adj.map(Into::into),
        })
    }
}

/// Fields that go together (a port pair, ICMP's three, the counters): all of them or
/// none, else an error naming one that is missing.
fn together(place: &str, fields: &[(&str, bool)]) -> Result<(), String> {
    let have = fields.iter().find(|(_, present)| *present);
    let lack = fields.iter().find(|(_, present)| !*present);
    match (have, lack) {
        (Some((have, _)), Some((lack, _))) => Err(format!("'{place}': '{have}' needs '{lack}'")),
        _ => Ok(()),
    }
}

/// A field only one tracker keeps (`key` says which, lazily, as only errors need it) may
/// appear only with that tracker's protocol.
fn only_for(
    protonum: u8,
    tracker: u8,
    present: bool,
    key: impl FnOnce() -> String,
) -> Result<(), String> {
    if present && protonum != tracker {
        return Err(format!(
            "{} is for {} only, not {}",
            key(),
            protocol_text(tracker),
            protocol_text(protonum)
        ));
    }
    Ok(())
}

/// `address`, checked to be of the entry's family (any, for a family ct has no
/// addresses of).
fn of_family(
    place: &str,
    key: &str,
    address: Option<IpAddr>,
    family: Family,
) -> Result<Option<IpAddr>, String> {
    let (wanted, address) = match (family, address) {
        (Family::Ipv4, Some(address @ IpAddr::V6(_))) => ("IPv4", address),
        (Family::Ipv6, Some(address @ IpAddr::V4(_))) => ("IPv6", address),
        _ => return Ok(address),
    };
    Err(format!(
        "'{place}': '{key}': '{address}' is not an {wanted} address"
    ))
}

impl JsonEntry<'_> {
    /// The entry, once the keys that depend on each other agree: `proto` with
    /// `protonum`, the addresses with `family`, the tuples, `state` and the trackers'
    /// fields with the protocol. Its strings and labels are copied to `scratch`.
    fn into_entry(self, scratch: &mut JsonScratch) -> Result<Entry<'_>, String> {
        let family = self.family.0;
        let protonum = self.protonum;
        present(self.proto, "proto")?.check(protonum)?;
        let (original, reply) = (&self.original, &self.reply);
        let mut entry = Entry::new(
            family,
            original.tuple("original", family, protonum)?,
            reply.tuple("reply", family, protonum)?,
        );
        set_directions(&mut entry, original, reply, protonum)?;
        self.set_tracker(&mut entry, protonum)?;
        entry.timeout = self.timeout;
        entry.status = self.status.map(|status| status.0);
        entry.mark = self.mark;
        entry.secmark = self.secmark;
        entry.zone = self.zone;
        entry.use_count = self.use_count;
        entry.id = self.id;
        entry.timestamp_start = self.start;
        entry.timestamp_stop = self.stop;
        entry.master = self
            .master
            .as_ref()
            .map(|master| master.master(family, protonum))
            .transpose()?;
        entry.synproxy = self.synproxy.map(Into::into);
        // The strings, read from JSON, are UTF-8.
        let copy = |text: &super::Text<'_>, into: &mut String| {
            into.clear();
            into.push_str(&String::from_utf8_lossy(&text.0));
        };
        if let Some(secctx) = &self.secctx {
            copy(secctx, &mut scratch.secctx);
        }
        if let Some(helper) = &self.helper {
            copy(helper, &mut scratch.helper);
        }
        if let Some(labels) = &self.labels {
            scratch.labels = labels.label_bits()?;
        }
        let scratch: &JsonScratch = scratch;
        entry.secctx = self.secctx.is_some().then_some(scratch.secctx.as_bytes());
        entry.helper = self.helper.is_some().then_some(scratch.helper.as_bytes());
        entry.labels = self.labels.is_some().then_some(scratch.labels.labels());
        Ok(entry)
    }

    /// The state and dccp's fields, each only with a protocol that has them.
    fn set_tracker(&self, entry: &mut Entry<'_>, protonum: u8) -> Result<(), String> {
        entry.state = self
            .state
            .map(|state| state.for_protocol(protonum))
            .transpose()?;
        let dccp_only = |present: bool, key: &str| {
            only_for(protonum, IPPROTO_DCCP, present, || format!("'{key}'"))
        };
        dccp_only(self.dccp_role.is_some(), "dccp_role")?;
        dccp_only(self.dccp_handshake_seq.is_some(), "dccp_handshake_seq")?;
        entry.dccp_role = self.dccp_role.map(|role| role.0);
        entry.dccp_handshake_seq = self.dccp_handshake_seq;
        Ok(())
    }
}

/// What the entry knows of each direction beyond its tuple.
fn set_directions(
    entry: &mut Entry<'_>,
    original: &JsonDirection,
    reply: &JsonDirection,
    protonum: u8,
) -> Result<(), String> {
    let original = original.details("original", protonum)?;
    let reply = reply.details("reply", protonum)?;
    entry.counters_original = original.counters;
    entry.counters_reply = reply.counters;
    entry.tcp_wscale_original = original.wscale;
    entry.tcp_wscale_reply = reply.wscale;
    entry.tcp_flags_original = original.tcp_flags;
    entry.tcp_flags_reply = reply.tcp_flags;
    entry.sctp_vtag_original = original.vtag;
    entry.sctp_vtag_reply = reply.vtag;
    entry.seq_adj_original = original.seq_adj;
    entry.seq_adj_reply = reply.seq_adj;
    Ok(())
}
#[cfg(test)]
mod tests;
