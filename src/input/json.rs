//! Reading ct's JSON back: one line of `ct list -o json` (or of `ct watch -o json`) → an
//! [`Entry`].
//!
//! The exact inverse of [`crate::output::json`]: every entry line the printer writes
//! reads back into an entry that prints as the same bytes. What the printer never writes
//! stays `None` or zero (the event's kernel time, the tcp flags' mask, status bits
//! without a name, an all-zero synproxy area); the master tuple's protocol, which it
//! does not print, is inferred from the master's fields.
//!
//! The reader is as strict as docs/ct.schema.json: an unknown key, a key given twice, a
//! number outside its kernel type, an address of the other family, a state or a
//! tracker's field on a protocol that has none are errors naming the key, so that a typo
//! in a hand-edited file is not quietly read as an absent field. Only the keys
//! `ct watch -o json` puts first (`event`, `time`, `userspace`) are accepted and skipped.
//!
//! serde drives hand-written visitors rather than derived structs: they put the key's
//! name in every error, write strings and labels straight into the caller's
//! [`JsonScratch`], and fold the flag lists into bits, so a line without string escapes
//! is read without allocating.

use std::fmt;
use std::marker::PhantomData;
use std::net::IpAddr;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::excerpt;
use crate::kernel::{
    DCCP_CONNTRACK_NAMES, IP_CT_TCP_FLAG_NAMES, IPPROTO_DCCP, IPPROTO_GRE, IPPROTO_ICMP,
    IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPS_NAMES,
    SCTP_CONNTRACK_NAMES, TCP_CONNTRACK_NAMES,
};
use crate::model::entry::{
    Counters, DccpRole, Entry, Family, L4, Labels, ProtoState, SeqAdj, Status, Synproxy, TcpFlags,
    Tuple, has_ports, proto_name,
};

/// The kernel's label area: NF_CT_LABELS_MAX_SIZE bytes, 128 bits.
const LABEL_BYTES: usize = crate::kernel::NF_CT_LABELS_MAX_SIZE;
const LABEL_BITS: u32 = LABEL_BYTES as u32 * 8;

/// Per-line storage an entry borrows: unescaped strings (helper, secctx) and the label
/// bitmap (native-endian u32 words, as the kernel sends them; 16 bytes are enough for the
/// kernel's 128 label bits — more bits is an error).
///
/// Keep one and hand it to [`parse_line`] line after line: the strings keep their
/// capacity, so steady-state reading allocates nothing new.
#[derive(Debug, Clone, Default)]
pub struct JsonScratch {
    helper: String,
    secctx: String,
    labels: [u8; LABEL_BYTES],
}

impl JsonScratch {
    pub fn new() -> Self {
        JsonScratch::default()
    }
}

/// Reads one line of `ct list -o json` or `ct watch -o json` into an entry, which
/// borrows its helper, security context and labels from `scratch` (the line's escapes
/// undone there). The error says what is wrong and under which key, for a person to fix
/// the line.
pub fn parse_line<'a>(line: &'a str, scratch: &'a mut JsonScratch) -> Result<Entry<'a>, String> {
    let raw = read_raw(line, scratch)?;
    let scratch: &'a JsonScratch = scratch;
    raw.into_entry(scratch)
}

/// The first pass: every key read and checked on its own, strings and labels written to
/// `scratch`.
fn read_raw(line: &str, scratch: &mut JsonScratch) -> Result<RawEntry, String> {
    let mut deserializer = serde_json::Deserializer::from_str(line);
    EntrySeed { scratch }
        .deserialize(&mut deserializer)
        .and_then(|raw| deserializer.end().map(|()| raw))
        .map_err(|error| describe(line, &error))
}

/// The message for a line that could not be read. A syntax error is told as one, with
/// its column, rather than under whichever key it interrupted; telling them apart parses
/// the line again, which only failing lines pay for.
fn describe(line: &str, error: &serde_json::Error) -> String {
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
    without_position(&error.to_string()).to_owned()
}

/// `message` without the " at line L column C" serde_json ends its messages with: an error
/// passing up through a key gets the key's name in front and loses its position, so that
/// the final message reads as a path to the problem.
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

// ---------------------------------------------------------------------------------------
// Keys: each object's closed set, read without allocating and named in errors.

/// The keys of one kind of object.
trait Key: Copy {
    fn from_name(name: &str) -> Option<Self>;
    fn name(self) -> &'static str;
    /// A bit of its own, to notice a key given twice.
    fn bit(self) -> u64;
}

/// Declares an object's keys: an enum, its [`Key`] impl, and a `Deserialize` that
/// rejects any other key by name.
macro_rules! keys {
    ($(#[$meta:meta])* enum $name:ident { $($variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum $name {
            $($variant,)+
        }

        // Key::bit gives each key one bit of a u64.
        const _: () = assert!([$($text),+].len() <= 64);

        impl Key for $name {
            fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            fn bit(self) -> u64 {
                1 << (self as u32)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_identifier(KeyVisitor(PhantomData))
            }
        }
    };
}

keys! {
    /// An entry's keys, and those `ct watch -o json` puts before them.
    enum EntryKey {
        Family = "family",
        Proto = "proto",
        Protonum = "protonum",
        Timeout = "timeout",
        State = "state",
        Original = "original",
        Reply = "reply",
        Status = "status",
        Mark = "mark",
        Secmark = "secmark",
        Zone = "zone",
        Use = "use",
        Id = "id",
        Secctx = "secctx",
        Helper = "helper",
        Labels = "labels",
        Start = "start",
        Stop = "stop",
        Master = "master",
        DccpRole = "dccp_role",
        DccpHandshakeSeq = "dccp_handshake_seq",
        Synproxy = "synproxy",
        Event = "event",
        Time = "time",
        Userspace = "userspace",
    }
}

keys! {
    /// A direction's keys; a master tuple has only the tuple's.
    enum DirectionKey {
        Src = "src",
        Dst = "dst",
        Sport = "sport",
        Dport = "dport",
        Type = "type",
        Code = "code",
        Id = "id",
        Srckey = "srckey",
        Dstkey = "dstkey",
        Packets = "packets",
        Bytes = "bytes",
        Zone = "zone",
        Wscale = "wscale",
        TcpFlags = "tcp_flags",
        Vtag = "vtag",
        SeqAdj = "seq_adj",
    }
}

keys! {
    enum SeqAdjKey {
        CorrectionPos = "correction_pos",
        OffsetBefore = "offset_before",
        OffsetAfter = "offset_after",
    }
}

keys! {
    enum SynproxyKey {
        Isn = "isn",
        Its = "its",
        Tsoff = "tsoff",
    }
}

keys! {
    enum LabelKey {
        Bit = "bit",
        Name = "name",
    }
}

struct KeyVisitor<K>(PhantomData<K>);

impl<K: Key> Visitor<'_> for KeyVisitor<K> {
    type Value = K;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<K, E> {
        K::from_name(name)
            .ok_or_else(|| E::custom(format_args!("unknown key '{name}'", name = excerpt(name))))
    }
}

/// Reads an object's members, `read_value` reading the value of each key. A key given
/// twice is an error, and an error in a value gets the key's name in front.
fn read_object<'de, A, K>(
    mut map: A,
    mut read_value: impl FnMut(K, &mut A) -> Result<(), A::Error>,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    K: Key + Deserialize<'de>,
{
    let mut seen = 0u64;
    while let Some(key) = map.next_key::<K>()? {
        if seen & key.bit() != 0 {
            return Err(de::Error::custom(format_args!(
                "duplicate key '{}'",
                key.name()
            )));
        }
        seen |= key.bit();
        read_value(key, &mut map).map_err(|error| within(key.name(), &error))?;
    }
    Ok(())
}

/// serde's message for a string where something else belongs, with the string cut to
/// an excerpt: serde's own would quote it whole.
fn unexpected_string<E: de::Error>(text: &str, expected: &dyn de::Expected) -> E {
    E::custom(format_args!(
        "invalid type: string \"{}\", expected {expected}",
        excerpt(text)
    ))
}

/// `error`, raised by the value of `key`, with the key's name in front.
fn within<E: de::Error>(key: &str, error: &E) -> E {
    E::custom(format_args!(
        "'{key}': {}",
        without_position(&error.to_string())
    ))
}

/// `value`, or the error that `key` is missing.
fn present<T>(value: Option<T>, key: &str) -> Result<T, String> {
    value.ok_or_else(|| format!("missing key '{key}'"))
}

/// [`present`], inside a visitor.
fn required<T, E: de::Error>(value: Option<T>, key: &str) -> Result<T, E> {
    present(value, key).map_err(E::custom)
}

// ---------------------------------------------------------------------------------------
// Values.

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

/// Reads the next value as an integer of `T`.
fn integer<'de, T: Integer, A: MapAccess<'de>>(map: &mut A) -> Result<T, A::Error> {
    map.next_value_seed(IntegerSeed(PhantomData))
}

struct IntegerSeed<T>(PhantomData<T>);

impl<'de, T: Integer> DeserializeSeed<'de> for IntegerSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<T: Integer> Visitor<'_> for IntegerSeed<T> {
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

/// Reads the next value as a string, turned into a `T` by `parse`; `what` is what the
/// string should be, for the message when it is not a string at all.
fn text<'de, T, A: MapAccess<'de>>(
    map: &mut A,
    what: &'static str,
    parse: fn(&str) -> Result<T, String>,
) -> Result<T, A::Error> {
    map.next_value_seed(TextAs { what, parse })
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

/// Reads a string into the scratch string it holds, replacing what was there: the
/// entry borrows the string with its escapes undone.
struct TextInto<'s>(&'s mut String);

impl<'de> DeserializeSeed<'de> for TextInto<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for TextInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.0.clear();
        self.0.push_str(text);
        Ok(())
    }
}

/// A number the printer writes as text where it has no name for it (a family, a
/// protocol, a dccp role): decimal digits without sign or leading zero.
fn decimal(text: &str) -> Option<u8> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let canonical = digits && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

fn family(text: &str) -> Result<Family, String> {
    match text {
        "ipv4" => Ok(Family::Ipv4),
        "ipv6" => Ok(Family::Ipv6),
        _ => match decimal(text).map(Family::from_raw) {
            Some(Family::Other(raw)) => Ok(Family::Other(raw)),
            Some(named) => Err(format!("family '{text}' is written '{}'", named.name())),
            None => Err(format!("unknown family '{text}'", text = excerpt(text))),
        },
    }
}

fn address(text: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("'{text}' is not an IP address", text = excerpt(text)))
}

/// The protocols [`proto_name`] names; a test checks the list against it.
const NAMED_PROTOCOLS: [u8; 8] = [
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPPROTO_UDPLITE,
    IPPROTO_ICMP,
    IPPROTO_ICMPV6,
    IPPROTO_SCTP,
    IPPROTO_GRE,
    IPPROTO_DCCP,
];

/// `proto` as read: a name or a number, checked against `protonum` once both are known.
#[derive(Debug, Clone, Copy)]
enum ProtoText {
    Name(u8),
    Number(u8),
}

impl ProtoText {
    fn parse(text: &str) -> Result<ProtoText, String> {
        if let Some(named) = NAMED_PROTOCOLS
            .into_iter()
            .find(|&protonum| proto_name(protonum) == Some(text))
        {
            return Ok(ProtoText::Name(named));
        }
        decimal(text)
            .map(ProtoText::Number)
            .ok_or_else(|| format!("unknown protocol '{text}'", text = excerpt(text)))
    }

    /// `proto` must be what the printer writes for `protonum`: its name, or its number
    /// when it has none.
    fn check(self, protonum: u8) -> Result<(), String> {
        match self {
            ProtoText::Name(read) | ProtoText::Number(read) if read != protonum => Err(format!(
                "'proto' is '{}' but 'protonum' is {protonum}",
                self.text()
            )),
            ProtoText::Number(number) => match proto_name(number) {
                Some(name) => Err(format!("'proto' '{number}' is written '{name}'")),
                None => Ok(()),
            },
            ProtoText::Name(_) => Ok(()),
        }
    }

    fn text(self) -> String {
        match self {
            ProtoText::Name(protonum) | ProtoText::Number(protonum) => protocol_text(protonum),
        }
    }
}

/// A protocol as messages name it: `tcp`, or `protocol 50`.
fn protocol_text(protonum: u8) -> String {
    proto_name(protonum).map_or_else(|| format!("protocol {protonum}"), str::to_owned)
}

/// `state` as read: its number in each tracker's table it is in, picked once the
/// protocol is known (ESTABLISHED is 3 for tcp, 4 for sctp).
#[derive(Debug, Clone, Copy)]
struct StateText {
    name: &'static str,
    tcp: Option<u8>,
    sctp: Option<u8>,
    dccp: Option<u8>,
}

impl StateText {
    fn parse(text: &str) -> Result<StateText, String> {
        let find = |names: &[&'static str]| {
            names
                .iter()
                .zip(0u8..)
                .find(|(name, _)| **name == text)
                .map(|(name, raw)| (*name, raw))
        };
        let (tcp, sctp, dccp) = (
            find(&TCP_CONNTRACK_NAMES),
            find(&SCTP_CONNTRACK_NAMES),
            find(&DCCP_CONNTRACK_NAMES),
        );
        let Some((name, _)) = tcp.or(sctp).or(dccp) else {
            return Err(format!("unknown state '{text}'", text = excerpt(text)));
        };
        let raw = |found: Option<(&str, u8)>| found.map(|(_, raw)| raw);
        Ok(StateText {
            name,
            tcp: raw(tcp),
            sctp: raw(sctp),
            dccp: raw(dccp),
        })
    }

    fn for_protocol(self, protonum: u8) -> Result<ProtoState, String> {
        let state = match protonum {
            IPPROTO_TCP => self.tcp.map(ProtoState::Tcp),
            IPPROTO_SCTP => self.sctp.map(ProtoState::Sctp),
            IPPROTO_DCCP => self.dccp.map(ProtoState::Dccp),
            _ => {
                return Err(format!(
                    "'state' is for tcp, sctp and dccp only, not {}",
                    protocol_text(protonum)
                ));
            }
        };
        state.ok_or_else(|| {
            format!(
                "'state': '{}' is not a {} state",
                self.name,
                protocol_text(protonum)
            )
        })
    }
}

fn dccp_role(text: &str) -> Result<DccpRole, String> {
    match text {
        "client" => Ok(DccpRole::Client),
        "server" => Ok(DccpRole::Server),
        _ => match decimal(text).map(DccpRole::from_raw) {
            Some(role) => match role.name() {
                Some(name) => Err(format!("dccp role '{text}' is written '{name}'")),
                None => Ok(role),
            },
            None => Err(format!("unknown dccp role '{text}'", text = excerpt(text))),
        },
    }
}

/// A list of flag names (`status`, `tcp_flags`), read into the bits they stand for.
#[derive(Clone, Copy)]
struct FlagList {
    list: &'static str,
    item: &'static str,
    /// A name's bit, and the name as the kernel table spells it.
    parse: fn(&str) -> Result<(u32, &'static str), String>,
}

const STATUS_FLAGS: FlagList = FlagList {
    list: "a list of status flags",
    item: "a status flag",
    parse: |text| {
        IPS_NAMES
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(bit, name)| (1 << bit, *name))
            .ok_or_else(|| format!("unknown status flag '{text}'", text = excerpt(text)))
    },
};

const TCP_FLAGS: FlagList = FlagList {
    list: "a list of tcp flags",
    item: "a tcp flag",
    parse: |text| {
        IP_CT_TCP_FLAG_NAMES
            .iter()
            .find(|(_, name)| *name == text)
            .map(|(flag, name)| (u32::from(*flag), *name))
            .ok_or_else(|| format!("unknown tcp flag '{text}'", text = excerpt(text)))
    },
};

impl<'de> DeserializeSeed<'de> for FlagList {
    type Value = u32;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<u32, D::Error> {
        deserializer.deserialize_any(self)
    }
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
        let item = || TextAs {
            what: self.item,
            parse: self.parse,
        };
        while let Some((bit, name)) = seq.next_element_seed(item())? {
            if bits & bit != 0 {
                return Err(de::Error::custom(format_args!("'{name}' is listed twice")));
            }
            bits |= bit;
        }
        Ok(bits)
    }
}

/// Reads `labels` into the scratch bitmap it holds: each `{"bit": N}` sets bit N, and
/// `name` (which the printer takes from connlabel.conf) is only checked to be a string.
struct LabelsInto<'s>(&'s mut [u8; LABEL_BYTES]);

impl<'de> DeserializeSeed<'de> for LabelsInto<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LabelsInto<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of labels")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        Err(unexpected_string(text, &self))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.0.fill(0);
        while let Some(LabelBit(bit)) = seq.next_element_seed(ObjectSeed(PhantomData))? {
            set_label_bit(self.0, bit).map_err(de::Error::custom)?;
        }
        Ok(())
    }
}

/// Sets `bit` in the kernel's layout: bit N is bit N%32 of native-endian word N/32.
fn set_label_bit(labels: &mut [u8; LABEL_BYTES], bit: u32) -> Result<(), String> {
    let past_the_end = || format!("label bit {bit} is past the kernel's {LABEL_BITS} bits");
    let word_index = usize::try_from(bit / 32).map_err(|_| past_the_end())?;
    let word = labels
        .chunks_exact_mut(4)
        .nth(word_index)
        .ok_or_else(past_the_end)?;
    let value = u32::from_ne_bytes([word[0], word[1], word[2], word[3]]) | 1 << (bit % 32);
    word.copy_from_slice(&value.to_ne_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Objects.

/// An object read key by key with [`read_object`]; `WHAT` names it when the value is not
/// an object at all.
trait FromObject: Sized {
    const WHAT: &'static str;
    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error>;
}

/// Reads the next value as the object `T`.
fn object<'de, T: FromObject, A: MapAccess<'de>>(map: &mut A) -> Result<T, A::Error> {
    map.next_value_seed(ObjectSeed(PhantomData))
}

struct ObjectSeed<T>(PhantomData<T>);

impl<'de, T: FromObject> DeserializeSeed<'de> for ObjectSeed<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<T, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, T: FromObject> Visitor<'de> for ObjectSeed<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(T::WHAT)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        Err(unexpected_string(text, &self))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::from_map(map)
    }
}

impl FromObject for SeqAdj {
    const WHAT: &'static str = "a seq_adj object";

    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let (mut position, mut before, mut after) = (None, None, None);
        read_object(map, |key: SeqAdjKey, map| {
            match key {
                SeqAdjKey::CorrectionPos => position = Some(integer(map)?),
                SeqAdjKey::OffsetBefore => before = Some(integer(map)?),
                SeqAdjKey::OffsetAfter => after = Some(integer(map)?),
            }
            Ok(())
        })?;
        Ok(SeqAdj {
            correction_pos: required(position, "correction_pos")?,
            offset_before: required(before, "offset_before")?,
            offset_after: required(after, "offset_after")?,
        })
    }
}

impl FromObject for Synproxy {
    const WHAT: &'static str = "a synproxy object";

    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let (mut isn, mut its, mut tsoff) = (None, None, None);
        read_object(map, |key: SynproxyKey, map| {
            match key {
                SynproxyKey::Isn => isn = Some(integer(map)?),
                SynproxyKey::Its => its = Some(integer(map)?),
                SynproxyKey::Tsoff => tsoff = Some(integer(map)?),
            }
            Ok(())
        })?;
        Ok(Synproxy {
            isn: required(isn, "isn")?,
            its: required(its, "its")?,
            tsoff: required(tsoff, "tsoff")?,
        })
    }
}

/// One `{"bit": N, "name": "..."}` of `labels`.
struct LabelBit(u32);

impl FromObject for LabelBit {
    const WHAT: &'static str = "a label object";

    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let mut bit = None;
        read_object(map, |key: LabelKey, map| {
            match key {
                LabelKey::Bit => bit = Some(integer(map)?),
                LabelKey::Name => text(map, "a label name", |_| Ok(()))?,
            }
            Ok(())
        })?;
        required(bit, "bit").map(LabelBit)
    }
}

/// A direction (`original`, `reply`) or the master tuple as read, before the entry's
/// family and protocol say which of its fields may be there.
#[derive(Debug, Default)]
struct RawDirection {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    sport: Option<u16>,
    dport: Option<u16>,
    icmp_type: Option<u8>,
    code: Option<u8>,
    id: Option<u16>,
    srckey: Option<u16>,
    dstkey: Option<u16>,
    packets: Option<u64>,
    bytes: Option<u64>,
    zone: Option<u16>,
    wscale: Option<u8>,
    tcp_flags: Option<u32>,
    vtag: Option<u32>,
    seq_adj: Option<SeqAdj>,
}

impl FromObject for RawDirection {
    const WHAT: &'static str = "a direction object";

    fn from_map<'de, A: MapAccess<'de>>(map: A) -> Result<Self, A::Error> {
        let mut raw = RawDirection::default();
        read_object(map, |key: DirectionKey, map| {
            match key {
                DirectionKey::Src => raw.src = Some(text(map, "an IP address", address)?),
                DirectionKey::Dst => raw.dst = Some(text(map, "an IP address", address)?),
                DirectionKey::Sport => raw.sport = Some(integer(map)?),
                DirectionKey::Dport => raw.dport = Some(integer(map)?),
                DirectionKey::Type => raw.icmp_type = Some(integer(map)?),
                DirectionKey::Code => raw.code = Some(integer(map)?),
                DirectionKey::Id => raw.id = Some(integer(map)?),
                DirectionKey::Srckey => raw.srckey = Some(integer(map)?),
                DirectionKey::Dstkey => raw.dstkey = Some(integer(map)?),
                DirectionKey::Packets => raw.packets = Some(integer(map)?),
                DirectionKey::Bytes => raw.bytes = Some(integer(map)?),
                DirectionKey::Zone => raw.zone = Some(integer(map)?),
                DirectionKey::Wscale => raw.wscale = Some(integer(map)?),
                DirectionKey::TcpFlags => raw.tcp_flags = Some(map.next_value_seed(TCP_FLAGS)?),
                DirectionKey::Vtag => raw.vtag = Some(integer(map)?),
                DirectionKey::SeqAdj => raw.seq_adj = Some(object(map)?),
            }
            Ok(())
        })?;
        Ok(raw)
    }
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

impl RawDirection {
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
            src: of_family(place, "src", self.src, family)?,
            dst: of_family(place, "dst", self.dst, family)?,
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
            // Every IP_CT_TCP_FLAG_* fits in the u8 of nf_ct_tcp_flags; dumps leave the
            // mask zero, and the printer does not write it.
            tcp_flags: self.tcp_flags.map(|flags| TcpFlags {
                flags: flags as u8,
                mask: 0,
            }),
            vtag: self.vtag,
            seq_adj: self.seq_adj,
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

/// An entry as read, before the fields that depend on each other are checked together.
/// The strings and labels are in the scratch; their flags say whether the line had them.
#[derive(Debug, Default)]
struct RawEntry {
    family: Option<Family>,
    proto: Option<ProtoText>,
    protonum: Option<u8>,
    timeout: Option<u32>,
    state: Option<StateText>,
    original: Option<RawDirection>,
    reply: Option<RawDirection>,
    status: Option<u32>,
    mark: Option<u32>,
    secmark: Option<u32>,
    zone: Option<u16>,
    use_count: Option<u32>,
    id: Option<u32>,
    secctx: bool,
    helper: bool,
    labels: bool,
    start: Option<u64>,
    stop: Option<u64>,
    master: Option<RawDirection>,
    dccp_role: Option<DccpRole>,
    dccp_handshake_seq: Option<u64>,
    synproxy: Option<Synproxy>,
}

/// The top-level object, reading the variable-length fields into the scratch.
struct EntrySeed<'s> {
    scratch: &'s mut JsonScratch,
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = RawEntry;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawEntry, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = RawEntry;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<RawEntry, E> {
        Err(unexpected_string(text, &self))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEntry, A::Error> {
        let scratch = self.scratch;
        let mut raw = RawEntry::default();
        read_object(map, |key: EntryKey, map| {
            match key {
                EntryKey::Family => raw.family = Some(text(map, "a family", family)?),
                EntryKey::Proto => raw.proto = Some(text(map, "a protocol", ProtoText::parse)?),
                EntryKey::Protonum => raw.protonum = Some(integer(map)?),
                EntryKey::Timeout => raw.timeout = Some(integer(map)?),
                EntryKey::State => raw.state = Some(text(map, "a state", StateText::parse)?),
                EntryKey::Original => raw.original = Some(object(map)?),
                EntryKey::Reply => raw.reply = Some(object(map)?),
                EntryKey::Status => raw.status = Some(map.next_value_seed(STATUS_FLAGS)?),
                EntryKey::Mark => raw.mark = Some(integer(map)?),
                EntryKey::Secmark => raw.secmark = Some(integer(map)?),
                EntryKey::Zone => raw.zone = Some(integer(map)?),
                EntryKey::Use => raw.use_count = Some(integer(map)?),
                EntryKey::Id => raw.id = Some(integer(map)?),
                EntryKey::Secctx => {
                    map.next_value_seed(TextInto(&mut scratch.secctx))?;
                    raw.secctx = true;
                }
                EntryKey::Helper => {
                    map.next_value_seed(TextInto(&mut scratch.helper))?;
                    raw.helper = true;
                }
                EntryKey::Labels => {
                    map.next_value_seed(LabelsInto(&mut scratch.labels))?;
                    raw.labels = true;
                }
                EntryKey::Start => raw.start = Some(integer(map)?),
                EntryKey::Stop => raw.stop = Some(integer(map)?),
                EntryKey::Master => raw.master = Some(object(map)?),
                EntryKey::DccpRole => raw.dccp_role = Some(text(map, "a dccp role", dccp_role)?),
                EntryKey::DccpHandshakeSeq => raw.dccp_handshake_seq = Some(integer(map)?),
                EntryKey::Synproxy => raw.synproxy = Some(object(map)?),
                // The event's own keys: what happened to the entry, not the entry.
                EntryKey::Event | EntryKey::Time | EntryKey::Userspace => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(())
        })?;
        Ok(raw)
    }
}

impl RawEntry {
    /// The entry, once the keys that depend on each other agree: `proto` with
    /// `protonum`, the addresses with `family`, the tuples, `state` and the trackers'
    /// fields with the protocol.
    fn into_entry(self, scratch: &JsonScratch) -> Result<Entry<'_>, String> {
        let family = present(self.family, "family")?;
        let protonum = present(self.protonum, "protonum")?;
        present(self.proto, "proto")?.check(protonum)?;
        let original = present(self.original.as_ref(), "original")?;
        let reply = present(self.reply.as_ref(), "reply")?;
        let mut entry = Entry::new(
            family,
            original.tuple("original", family, protonum)?,
            reply.tuple("reply", family, protonum)?,
        );
        set_directions(&mut entry, original, reply, protonum)?;
        self.set_tracker(&mut entry, protonum)?;
        entry.timeout = self.timeout;
        entry.status = self.status.map(Status);
        entry.mark = self.mark;
        entry.secmark = self.secmark;
        entry.zone = self.zone;
        entry.use_count = self.use_count;
        entry.id = self.id;
        entry.secctx = self.secctx.then_some(scratch.secctx.as_bytes());
        entry.helper = self.helper.then_some(scratch.helper.as_bytes());
        entry.labels = self.labels.then_some(Labels(&scratch.labels));
        entry.timestamp_start = self.start;
        entry.timestamp_stop = self.stop;
        entry.master = self
            .master
            .as_ref()
            .map(|master| master.master(family, protonum))
            .transpose()?;
        entry.synproxy = self.synproxy;
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
        entry.dccp_role = self.dccp_role;
        entry.dccp_handshake_seq = self.dccp_handshake_seq;
        Ok(())
    }
}

/// What the entry knows of each direction beyond its tuple.
fn set_directions(
    entry: &mut Entry<'_>,
    original: &RawDirection,
    reply: &RawDirection,
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
mod tests {
    use super::*;
    use crate::labelmap::LabelMap;
    use crate::model::event::EventKind;
    use crate::output::Format;
    use crate::output::event::{Cause, Event, EventPrinter};
    use crate::output::json::JsonPrinter;
    use proptest::prelude::*;

    const PLAIN: &str = include_str!("../../tests/fixtures/plain.json");
    const ROUTER: &str = include_str!("../../tests/fixtures/router.json");
    const CONNLABEL: &str = include_str!("../../tests/fixtures/connlabel.conf");
    const JSON_DOC: &str = include_str!("../../docs/json.md");

    fn fixture_lines() -> impl Iterator<Item = &'static str> {
        PLAIN.lines().chain(ROUTER.lines())
    }

    fn print(entry: &Entry<'_>, map: &LabelMap) -> String {
        let mut out = Vec::new();
        JsonPrinter::new(Some(map)).print(&mut out, entry).unwrap();
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
        let mut printer = EventPrinter::new(&Format::Json, false, Some(&map), false);
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
                printer.print(&mut out, &event, &entry).unwrap();
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
    fn the_protocol_list_matches_the_model() {
        let named: Vec<u8> = (0..=u8::MAX).filter(|&p| proto_name(p).is_some()).collect();
        let mut listed = NAMED_PROTOCOLS.to_vec();
        listed.sort_unstable();
        assert_eq!(listed, named);
    }

    #[test]
    fn positions_are_cut_only_when_they_are_positions() {
        assert_eq!(without_position("x at line 1 column 20"), "x");
        assert_eq!(without_position("'a': x at line 1 column 2"), "'a': x");
        assert_eq!(without_position("look at line 1"), "look at line 1");
        assert_eq!(without_position("at line x column 2"), "at line x column 2");
        assert_eq!(decimal("0"), Some(0));
        assert_eq!(decimal("255"), Some(255));
        assert_eq!(decimal("256"), None);
        assert_eq!(decimal("01"), None);
        assert_eq!(decimal("+1"), None);
        assert_eq!(decimal(""), None);
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
}
