//! ct's JSON Lines (`-o json`), written and read back: one set of types, below, serves
//! both. [`write`](mod@write) fills them from an entry (borrowing it: printing allocates nothing)
//! and serde_json writes them; [`read`] (`--input`) reads a line into them and checks
//! what the keys say together before it makes the entry.
//!
//! Field names follow conntrack's own words (`src`, `sport`, `mark`, `use`...) so a jq
//! user can guess them; the format is documented in docs/json.md and written down for
//! validators in docs/ct.schema.json, which a test holds to these types. A field the
//! kernel did not send is left out, never written as a made-up zero, and no field
//! changes its type with the host: labels are always `{"bit": N}` objects, with a
//! `"name"` where connlabel.conf gives one.
//!
//! The types are strict when read: an unknown key, a key given twice, `null`, a number
//! outside its kernel type or a name the kernel's tables lack is an error, which
//! [`read`] frames with the keys it was found under. Small hand-written impls give the
//! wire forms derive cannot: names for numbers (family, protocol, state, dccp role),
//! flag lists folded into bits, labels with names, text from the kernel that may not be
//! UTF-8.

pub mod read;
pub mod write;

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::kernel::{IP_CT_TCP_FLAG_NAMES, IPS_NAMES};
use crate::labelmap::LabelMap;
use crate::model::entry::{
    DccpRole, Family, LabelBits, Labels, ProtoState, STATEFUL, SeqAdj, Status, Synproxy, TcpFlags,
    proto_name, protocol_text, protonum_of, stateful_protocols_text,
};
use crate::model::expect::Expectation;
use crate::output::excerpt;

pub use read::{JsonScratch, parse_line};
pub use write::JsonPrinter;

/// One entry: a line of `ct list -o json`, or of `ct watch -o json` after the event's
/// own keys.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonEntry<'a> {
    pub family: FamilyText,
    /// Always written, and required when read; an `Option` only so that a line without
    /// either is told it lacks `protonum`, the number, first.
    #[serde(default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<ProtoText>,
    #[serde(deserialize_with = "int")]
    pub protonum: u8,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    #[serde(default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<StateText>,
    #[serde(deserialize_with = "object")]
    pub original: JsonDirection,
    #[serde(deserialize_with = "object")]
    pub reply: JsonDirection,
    #[serde(default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<StatusNames>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark: Option<u32>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secmark: Option<u32>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<u16>,
    #[serde(rename = "use", default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_count: Option<u32>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    #[serde(borrow, default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secctx: Option<Text<'a>>,
    #[serde(borrow, default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helper: Option<Text<'a>>,
    #[serde(default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<JsonLabels<'a>>,
    /// Nanoseconds since the epoch, as the kernel keeps them.
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<u64>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<u64>,
    /// The original tuple of the connection that expected this one.
    #[serde(default, deserialize_with = "some_object")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<JsonDirection>,
    #[serde(default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dccp_role: Option<RoleText>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dccp_handshake_seq: Option<u64>,
    #[serde(default, deserialize_with = "some_object")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synproxy: Option<JsonSynproxy>,
    /// The keys `ct watch -o json` puts before the entry's (the event printer writes
    /// them): what happened to the entry, not the entry, so read and skipped.
    #[serde(default, deserialize_with = "some", skip_serializing)]
    pub event: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "some", skip_serializing)]
    pub time: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "some", skip_serializing)]
    pub userspace: Option<IgnoredAny>,
}

/// A direction of an entry (`original`, `reply`): its tuple and what the entry knows of
/// that direction beyond it; or a tuple alone (`master`, an expectation's tuples), which
/// has only the tuple's fields.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonDirection {
    #[serde(default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub src: Option<Address>,
    #[serde(default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dst: Option<Address>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sport: Option<u16>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dport: Option<u16>,
    #[serde(rename = "type", default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u16>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub srckey: Option<u16>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dstkey: Option<u16>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<u16>,
    /// tcp: the window scale this direction's sender announced.
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wscale: Option<u8>,
    /// tcp: the tracker's flags of this direction's sender, by name.
    #[serde(default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_flags: Option<TcpFlagNames>,
    /// sctp: this direction's verification tag.
    #[serde(default, deserialize_with = "some_int")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vtag: Option<u32>,
    /// NAT's sequence adjustment of this direction.
    #[serde(default, deserialize_with = "some_object")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq_adj: Option<JsonSeqAdj>,
}

/// struct nf_ct_seqadj under the kernel's member names.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSeqAdj {
    #[serde(deserialize_with = "int")]
    pub correction_pos: u32,
    #[serde(deserialize_with = "int")]
    pub offset_before: i32,
    #[serde(deserialize_with = "int")]
    pub offset_after: i32,
}

impl From<SeqAdj> for JsonSeqAdj {
    fn from(seq_adj: SeqAdj) -> Self {
        JsonSeqAdj {
            correction_pos: seq_adj.correction_pos,
            offset_before: seq_adj.offset_before,
            offset_after: seq_adj.offset_after,
        }
    }
}

impl From<JsonSeqAdj> for SeqAdj {
    fn from(seq_adj: JsonSeqAdj) -> Self {
        SeqAdj {
            correction_pos: seq_adj.correction_pos,
            offset_before: seq_adj.offset_before,
            offset_after: seq_adj.offset_after,
        }
    }
}

/// struct nf_conn_synproxy under the kernel's member names.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonSynproxy {
    #[serde(deserialize_with = "int")]
    pub isn: u32,
    #[serde(deserialize_with = "int")]
    pub its: u32,
    #[serde(deserialize_with = "int")]
    pub tsoff: u32,
}

impl From<Synproxy> for JsonSynproxy {
    fn from(synproxy: Synproxy) -> Self {
        JsonSynproxy {
            isn: synproxy.isn,
            its: synproxy.its,
            tsoff: synproxy.tsoff,
        }
    }
}

impl From<JsonSynproxy> for Synproxy {
    fn from(synproxy: JsonSynproxy) -> Self {
        Synproxy {
            isn: synproxy.isn,
            its: synproxy.its,
            tsoff: synproxy.tsoff,
        }
    }
}

/// One expectation: conntrack's words where it has them (`expected`, `mask`, `master`,
/// `class`, `helper`), the flags by name, and what conntrack does not print (id, NAT,
/// the kernel function). ct writes expectations and does not read them back.
#[derive(Debug, Serialize)]
pub struct JsonExpectation<'a> {
    pub family: FamilyText,
    pub proto: ProtoText,
    pub protonum: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    pub expected: JsonDirection,
    pub mask: JsonDirection,
    pub master: JsonDirection,
    pub flags: ExpectFlags<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helper: Option<Text<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nat: Option<JsonExpectNat>,
    #[serde(rename = "fn", skip_serializing_if = "Option::is_none")]
    pub function: Option<Text<'a>>,
}

/// An expectation's NAT: the direction, and the tuple's fields beside it.
#[derive(Debug, Serialize)]
pub struct JsonExpectNat {
    /// "original" or "reply".
    pub dir: &'static str,
    #[serde(flatten)]
    pub tuple: JsonDirection,
}

/// The NF_CT_EXPECT_* flags that are set, by name; an empty list when none is.
#[derive(Debug)]
pub struct ExpectFlags<'a>(pub Expectation<'a>);

impl Serialize for ExpectFlags<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.flag_names())
    }
}

// ---------------------------------------------------------------------------------------
// Names for numbers, and text.

/// "ipv4", "ipv6", or the family number as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyText(pub Family);

impl Serialize for FamilyText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Family::Other(raw) => serializer.collect_str(&raw),
            known => serializer.serialize_str(known.name()),
        }
    }
}

impl<'de> Deserialize<'de> for FamilyText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text(deserializer, "a family", |text| match text {
            "ipv4" => Ok(FamilyText(Family::Ipv4)),
            "ipv6" => Ok(FamilyText(Family::Ipv6)),
            _ => match decimal(text).map(Family::from_raw) {
                Some(Family::Other(raw)) => Ok(FamilyText(Family::Other(raw))),
                Some(named) => Err(format!("family '{text}' is written '{}'", named.name())),
                None => Err(format!("unknown family '{text}'", text = excerpt(text))),
            },
        })
    }
}

/// `proto`: the protocol's name, or its number as text for a protocol conntrack has no
/// name for. Read, it is kept as written, to be checked against `protonum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoText {
    Name(u8),
    Number(u8),
}

impl ProtoText {
    /// What the printer writes for `protonum`.
    pub fn of(protonum: u8) -> ProtoText {
        match proto_name(protonum) {
            Some(_) => ProtoText::Name(protonum),
            None => ProtoText::Number(protonum),
        }
    }

    fn parse(text: &str) -> Result<ProtoText, String> {
        if let Some(named) = protonum_of(text) {
            return Ok(ProtoText::Name(named));
        }
        decimal(text)
            .map(ProtoText::Number)
            .ok_or_else(|| format!("unknown protocol '{text}'", text = excerpt(text)))
    }

    /// `proto` must be what the printer writes for `protonum`: its name, or its number
    /// when it has none.
    pub fn check(self, protonum: u8) -> Result<(), String> {
        match self {
            ProtoText::Name(read) | ProtoText::Number(read) if read != protonum => Err(format!(
                "'proto' is '{}' but 'protonum' is {protonum}",
                protocol_text(read)
            )),
            ProtoText::Number(number) => match proto_name(number) {
                Some(name) => Err(format!("'proto' '{number}' is written '{name}'")),
                None => Ok(()),
            },
            ProtoText::Name(_) => Ok(()),
        }
    }
}

impl Serialize for ProtoText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match *self {
            ProtoText::Name(protonum) | ProtoText::Number(protonum) => match proto_name(protonum) {
                Some(name) => serializer.serialize_str(name),
                None => serializer.collect_str(&protonum),
            },
        }
    }
}

impl<'de> Deserialize<'de> for ProtoText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text(deserializer, "a protocol", ProtoText::parse)
    }
}

/// `state`: its name, and its number in each tracker's table that has the name, picked
/// once the protocol is known (ESTABLISHED is 3 for tcp, 4 for sctp).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateText {
    pub name: &'static str,
    /// Its number in each tracker of [`STATEFUL`] that has the name, in that order.
    pub raw: [Option<u8>; STATEFUL.len()],
}

impl StateText {
    /// An entry's state as the printer writes it.
    pub fn of(state: ProtoState) -> StateText {
        let mut raw = [None; STATEFUL.len()];
        raw[state.tracker().0] = Some(state.raw());
        StateText {
            name: state.name(),
            raw,
        }
    }

    fn parse(text: &str) -> Result<StateText, String> {
        let found = STATEFUL.map(|(_, _, names)| {
            names
                .iter()
                .zip(0u8..)
                .find(|(name, _)| **name == text)
                .map(|(name, raw)| (*name, raw))
        });
        let Some((name, _)) = found.iter().flatten().next().copied() else {
            return Err(format!("unknown state '{text}'", text = excerpt(text)));
        };
        Ok(StateText {
            name,
            raw: found.map(|found| found.map(|(_, raw)| raw)),
        })
    }

    /// The state of an entry of `protonum`.
    pub fn for_protocol(self, protonum: u8) -> Result<ProtoState, String> {
        let Some((&(_, make, _), raw)) = STATEFUL
            .iter()
            .zip(self.raw)
            .find(|((number, _, _), _)| *number == protonum)
        else {
            return Err(format!(
                "'state' is for {} only, not {}",
                stateful_protocols_text(),
                protocol_text(protonum)
            ));
        };
        raw.map(make).ok_or_else(|| {
            format!(
                "'state': '{}' is not a {} state",
                self.name,
                protocol_text(protonum)
            )
        })
    }
}

impl Serialize for StateText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name)
    }
}

impl<'de> Deserialize<'de> for StateText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text(deserializer, "a state", StateText::parse)
    }
}

/// `"client"`, `"server"`, or the role's number as text for one the kernel does not
/// define.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleText(pub DccpRole);

impl Serialize for RoleText {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.name() {
            Some(name) => serializer.serialize_str(name),
            None => serializer.collect_str(&self.0.raw()),
        }
    }
}

impl<'de> Deserialize<'de> for RoleText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text(deserializer, "a dccp role", |text| match text {
            "client" => Ok(RoleText(DccpRole::Client)),
            "server" => Ok(RoleText(DccpRole::Server)),
            _ => match decimal(text).map(DccpRole::from_raw) {
                Some(role) => match role.name() {
                    Some(name) => Err(format!("dccp role '{text}' is written '{name}'")),
                    None => Ok(RoleText(role)),
                },
                None => Err(format!("unknown dccp role '{text}'", text = excerpt(text))),
            },
        })
    }
}

/// An address, written and read as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address(pub IpAddr);

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        text(deserializer, "an IP address", |text| {
            text.parse()
                .map(Address)
                .map_err(|_| format!("'{text}' is not an IP address", text = excerpt(text)))
        })
    }
}

/// Text: from the kernel (a helper's name, a security context), bytes that should be
/// UTF-8, whose invalid sequences are replaced when written; read, a string, borrowed
/// from the line where it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text<'a>(pub Cow<'a, [u8]>);

impl<'a> Text<'a> {
    pub fn bytes(bytes: &'a [u8]) -> Self {
        Text(Cow::Borrowed(bytes))
    }
}

impl Serialize for Text<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.serialize_str(&String::from_utf8_lossy(&self.0)),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(text.as_bytes())))
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(text.as_bytes().to_vec())))
            }
        }

        deserializer.deserialize_str(TextVisitor)
    }
}

// ---------------------------------------------------------------------------------------
// Flags and labels.

/// The IPS_* flags that are set, by name without the prefix; read, a list of those
/// names, each at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusNames(pub Status);

impl Serialize for StatusNames {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.names())
    }
}

impl<'de> Deserialize<'de> for StatusNames {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(FlagList {
                list: "a list of status flags",
                item: "a status flag",
                parse: |text| {
                    IPS_NAMES
                        .iter()
                        .find(|(_, name)| *name == text)
                        .map(|(bit, name)| (1 << bit, *name))
                        .ok_or_else(|| {
                            format!("unknown status flag '{text}'", text = excerpt(text))
                        })
                },
            })
            .map(|bits| StatusNames(Status(bits)))
    }
}

/// The IP_CT_TCP_FLAG_* bits that are set, by name without the prefix; read, a list of
/// those names, each at most once (the mask, which dumps leave zero, is not written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpFlagNames(pub TcpFlags);

impl Serialize for TcpFlagNames {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.names())
    }
}

impl<'de> Deserialize<'de> for TcpFlagNames {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(FlagList {
                list: "a list of tcp flags",
                item: "a tcp flag",
                parse: |text| {
                    IP_CT_TCP_FLAG_NAMES
                        .iter()
                        .find(|(_, name)| *name == text)
                        .map(|(flag, name)| (u32::from(*flag), *name))
                        .ok_or_else(|| format!("unknown tcp flag '{text}'", text = excerpt(text)))
                },
            })
            // Every IP_CT_TCP_FLAG_* fits in the u8 of nf_ct_tcp_flags.
            .map(|bits| {
                TcpFlagNames(TcpFlags {
                    flags: bits as u8,
                    mask: 0,
                })
            })
    }
}

/// A list of flag names read into the bits they stand for.
struct FlagList {
    list: &'static str,
    item: &'static str,
    /// A name's bit, and the name as the kernel table spells it.
    parse: fn(&str) -> Result<(u32, &'static str), String>,
}

impl<'de> Visitor<'de> for FlagList {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.list)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<u32, E> {
        Err(unexpected_string(text, &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u32, A::Error> {
        let mut bits = 0u32;
        while let Some((bit, name)) = seq.next_element_seed(TextAs {
            what: self.item,
            parse: self.parse,
        })? {
            if bits & bit != 0 {
                return Err(de::Error::custom(format_args!("'{name}' is listed twice")));
            }
            bits |= bit;
        }
        Ok(bits)
    }
}

/// `labels`: the bits that are set, lowest first, each as `{"bit": N}`, with `"name"`
/// where the map names it: the same shape whether or not the host has a connlabel.conf.
/// Read, each `{"bit": N}` sets bit N of the kernel's label area (a name is only
/// checked to be a string).
#[derive(Debug, Clone, Copy)]
pub enum JsonLabels<'a> {
    /// An entry's labels, named from the map: what the printer writes.
    Entry {
        bits: Labels<'a>,
        map: Option<&'a LabelMap>,
    },
    /// The bits a line listed.
    Read(LabelBits),
}

impl JsonLabels<'_> {
    /// The bits in the kernel's layout; a bit past the kernel's is an error.
    pub fn label_bits(&self) -> Result<LabelBits, String> {
        match *self {
            JsonLabels::Entry { bits, .. } => {
                let mut set = LabelBits::new();
                bits.bits().try_for_each(|bit| set.set(bit))?;
                Ok(set)
            }
            JsonLabels::Read(bits) => Ok(bits),
        }
    }
}

/// One label.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonLabel<'a> {
    #[serde(deserialize_with = "int")]
    pub bit: u32,
    #[serde(borrow, default, deserialize_with = "some")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<Text<'a>>,
}

impl Serialize for JsonLabels<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        match *self {
            JsonLabels::Entry { bits, map } => {
                for bit in bits.bits() {
                    let name = map.and_then(|map| map.name(bit));
                    seq.serialize_element(&JsonLabel {
                        bit,
                        name: name.map(|name| Text::bytes(name.as_bytes())),
                    })?;
                }
            }
            JsonLabels::Read(bits) => {
                for bit in bits.labels().bits() {
                    seq.serialize_element(&JsonLabel { bit, name: None })?;
                }
            }
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for JsonLabels<'_> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LabelsVisitor;

        impl<'de> Visitor<'de> for LabelsVisitor {
            type Value = LabelBits;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of labels")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<LabelBits, E> {
                Err(unexpected_string(text, &self))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LabelBits, A::Error> {
                let mut bits = LabelBits::new();
                while let Some(label) = seq.next_element_seed(ObjectSeed::<JsonLabel>::new())? {
                    bits.set(label.bit).map_err(de::Error::custom)?;
                }
                Ok(bits)
            }
        }

        deserializer
            .deserialize_any(LabelsVisitor)
            .map(JsonLabels::Read)
    }
}

// ---------------------------------------------------------------------------------------
// Reading values: the helpers the types' `deserialize_with` name.

/// What an object is called when something else stands where it belongs.
trait Object {
    const WHAT: &'static str;
}

impl Object for JsonEntry<'_> {
    const WHAT: &'static str = "a JSON object";
}

impl Object for JsonDirection {
    const WHAT: &'static str = "a direction object";
}

impl Object for JsonSeqAdj {
    const WHAT: &'static str = "a seq_adj object";
}

impl Object for JsonSynproxy {
    const WHAT: &'static str = "a synproxy object";
}

impl Object for JsonLabel<'_> {
    const WHAT: &'static str = "a label object";
}

/// Reads an object, and only an object: derive would take an array as the fields in
/// order.
struct ObjectSeed<T>(PhantomData<T>);

impl<T> ObjectSeed<T> {
    fn new() -> Self {
        ObjectSeed(PhantomData)
    }
}

impl<'de, T: Object + Deserialize<'de>> DeserializeSeed<'de> for ObjectSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: Object + Deserialize<'de>> Visitor<'de> for ObjectSeed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::WHAT)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        Err(unexpected_string(text, &self))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

fn object<'de, D: Deserializer<'de>, T: Object + Deserialize<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    ObjectSeed::new().deserialize(deserializer)
}

fn some_object<'de, D: Deserializer<'de>, T: Object + Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    object(deserializer).map(Some)
}

/// A present key's value: `null` is not "absent" but the wrong type.
fn some<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// A kernel integer type: a JSON number is read into it with its range in the message
/// when it does not fit.
trait Integer: Sized + TryFrom<u64> + TryFrom<i64> {
    const RANGE: &'static str;
    /// The range as floats, the end one past it: serde_json reads an integer too long
    /// for 64 bits as a float.
    const FLOAT_START: f64;
    const FLOAT_END: f64;
}

macro_rules! integers {
    ($($type:ty: $range:literal),+) => {
        $(impl Integer for $type {
            const RANGE: &'static str = $range;
            const FLOAT_START: f64 = <$type>::MIN as f64;
            const FLOAT_END: f64 = <$type>::MAX as f64 + 1.0;
        })+
    };
}

integers!(
    u8: "0 to 255",
    u16: "0 to 65535",
    u32: "0 to 4294967295",
    u64: "0 to 18446744073709551615",
    i32: "-2147483648 to 2147483647"
);

fn int<'de, D: Deserializer<'de>, T: Integer>(deserializer: D) -> Result<T, D::Error> {
    deserializer.deserialize_any(IntegerVisitor(PhantomData))
}

fn some_int<'de, D: Deserializer<'de>, T: Integer>(deserializer: D) -> Result<Option<T>, D::Error> {
    int(deserializer).map(Some)
}

struct IntegerVisitor<T>(PhantomData<T>);

impl<T: Integer> Visitor<'_> for IntegerVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "an integer from {}", T::RANGE)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        Err(unexpected_string(text, &self))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<T, E> {
        T::try_from(value).map_err(|_| out_of_range::<T, E>(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<T, E> {
        T::try_from(value).map_err(|_| out_of_range::<T, E>(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<T, E> {
        if (T::FLOAT_START..T::FLOAT_END).contains(&value) {
            Err(E::custom(format_args!("{value:?} is not an integer")))
        } else {
            Err(out_of_range::<T, E>(format_args!("{value:?}")))
        }
    }
}

fn out_of_range<T: Integer, E: de::Error>(value: impl fmt::Display) -> E {
    E::custom(format_args!("{value} is out of range ({})", T::RANGE))
}

/// Reads a string, turned into a `T` by `parse`; `what` is what the string should be,
/// for the message when it is not a string at all.
fn text<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    what: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, D::Error> {
    deserializer.deserialize_str(TextAs { what, parse })
}

struct TextAs<T> {
    what: &'static str,
    parse: fn(&str) -> Result<T, String>,
}

impl<'de, T> DeserializeSeed<'de> for TextAs<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<T> Visitor<'_> for TextAs<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.what)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.parse)(text).map_err(E::custom)
    }
}

/// serde's message for a string where something else belongs, with the string cut to
/// an excerpt: serde's own would quote it whole.
fn unexpected_string<E: de::Error>(text: &str, expected: &dyn de::Expected) -> E {
    E::custom(format_args!(
        "invalid type: string \"{}\", expected {expected}",
        excerpt(text)
    ))
}

/// A number the printer writes as text where it has no name for it (a family, a
/// protocol, a dccp role): decimal digits without sign or leading zero.
fn decimal(text: &str) -> Option<u8> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let canonical = digits && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(decimal("0"), Some(0));
        assert_eq!(decimal("255"), Some(255));
        assert_eq!(decimal("256"), None);
        assert_eq!(decimal("01"), None);
        assert_eq!(decimal("+1"), None);
        assert_eq!(decimal(""), None);
    }
}
