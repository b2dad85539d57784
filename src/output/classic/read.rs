//! Saved conntrack text → the model: one line of `conntrack -L` (with any of `-o
//! extended,id,ktimestamp,labels`) or of `/proc/net/nf_conntrack` back into an [`Entry`].
//!
//! The reader is the inverse of two printers. The classic line is
//! [`crate::output::classic`]'s (libnetfilter_conntrack's). The kernel's `ct_seq_show`
//! (net/netfilter/nf_conntrack_standalone.c) prints the same fields in the same order,
//! with four differences this module absorbs: the family always comes first (as with `-o
//! extended`), IPv6 addresses are written in full (`%pI6`), every entry shows its zone
//! (`zone=0` included), and GRE entries carry the tracker's own timeouts
//! (`timeout=30, stream_timeout=180`), which the model has no place for and which are
//! skipped. A protocol the running kernel has no tracker for shows there as `unknown N`
//! without layer-4 fields; it reads as the zeros its netlink dump would carry.
//!
//! Text says less than the netlink attributes did. What it does not show stays `None`,
//! and the status holds only the bits the line proves (see [`status`]). The entry borrows
//! its helper and security context from the line and its label bitmap from a
//! [`TextScratch`]; reading a line allocates nothing unless the line is wrong, and a wrong
//! line is an error in words for people, never a panic.

use std::net::IpAddr;
use std::str::FromStr;

use crate::output::excerpt;

use crate::kernel::*;
use crate::labelmap::LabelMap;
use crate::model::entry::{
    Counters, Entry, Family, L4, LabelBits, ProtoState, Status, Tuple, has_ports, proto_name,
    protonum_of,
};

/// What a line's reading depends on besides the line.
#[derive(Debug, Clone, Copy)]
pub struct TextContext<'m> {
    /// Label names, to turn `labels=name,...` back into bits (a number is a bit number).
    pub labels: Option<&'m LabelMap>,
    /// The time (Unix seconds) the dump was taken: `delta-time=N` means a start N seconds
    /// before it.
    pub captured_at: i64,
}

/// Per-line storage an entry borrows (the label bitmap, as the kernel's native-endian
/// u32 words, 16 bytes). Kept by the caller and reused, so that a line costs no
/// allocation; each [`parse_line`] starts by clearing it.
#[derive(Debug, Clone, Default)]
pub struct TextScratch {
    labels: LabelBits,
}

impl TextScratch {
    /// Empty storage, ready for the first line.
    pub fn new() -> Self {
        Self::default()
    }
}

/// Reads one line (a trailing newline is allowed) into an entry.
///
/// The error names what is wrong, e.g. "no original tuple" or "unknown field 'foo=1'".
pub fn parse_line<'a>(
    line: &'a str,
    context: &TextContext<'_>,
    scratch: &'a mut TextScratch,
) -> Result<Entry<'a>, String> {
    scratch.labels = LabelBits::new();
    let mut tokens = Tokens::new(line);
    let header = read_header(&mut tokens)?;
    let timeout = read_timeout(&mut tokens)?;
    let state = read_state(&mut tokens, header.protonum)?;
    skip_gre_timeouts(&mut tokens, header.protonum)?;

    let mut family = header.family;
    let original = read_direction(&mut tokens, &header, &mut family, Direction::Original)?;
    let unreplied = tokens.next_if(|token| token == "[UNREPLIED]").is_some();
    let reply = read_direction(&mut tokens, &header, &mut family, Direction::Reply)?;
    let tail = Tail::read(&mut tokens, context.labels, &mut scratch.labels)?;
    // Unreachable without a family: an inet tuple without addresses is refused above.
    let family = family.ok_or("no original tuple")?;
    let (timestamp_start, timestamp_stop) = timestamps(&tail, context.captured_at)?;

    let mut entry = Entry::new(family, original.tuple, reply.tuple);
    entry.timeout = timeout;
    entry.state = state;
    entry.status = Some(status(
        unreplied,
        tail.status_flag,
        &entry.original,
        &entry.reply,
    ));
    entry.counters_original = original.counters;
    entry.counters_reply = reply.counters;
    entry.mark = tail.mark;
    entry.secmark = tail.secmark;
    entry.secctx = tail.secctx.map(str::as_bytes);
    entry.zone = tail.zone.and_then(nonzero_zone);
    entry.timestamp_start = timestamp_start;
    entry.timestamp_stop = timestamp_stop;
    entry.helper = tail.helper.map(str::as_bytes);
    entry.use_count = tail.use_count;
    entry.id = tail.id;
    let scratch: &'a TextScratch = scratch;
    entry.labels = tail.labels.then_some(scratch.labels.labels());
    Ok(entry)
}

/// The time a dump was taken, from a line that carries both `delta-time=N` and
/// `[start=...]`: start + N. None otherwise, and None for a line with `[stop=...]`, whose
/// delta-time counts to the stop rather than to the dump.
///
/// conntrack prints `[start=]` only with `-o ktimestamp`, so this is how a saved dump
/// tells its own time: read back with it as [`TextContext::captured_at`], the start
/// from delta-time and the one from `[start=]` agree.
pub fn capture_time(line: &str) -> Option<i64> {
    let mut tokens = Tokens::new(line);
    let (mut delta, mut start) = (None, None);
    while let Some(token) = tokens.next() {
        if let Some(value) = token.strip_prefix("delta-time=") {
            delta = number::<u64>(token, value).ok();
        } else if token.starts_with("[start=") {
            start = bracketed_time(token, "[start=").ok();
        } else if token.starts_with("[stop=") {
            return None;
        }
    }
    // delta-time is a signed difference printed unsigned: read it back the same way.
    start?.checked_add(delta? as i64)
}

/// The line cut at blanks, where a `[...]` field (`[start=Wed Nov 25 10:14:07 2026]`) is
/// one token though it holds spaces. A run of blanks (the padding after a protocol name)
/// separates like one.
#[derive(Debug, Clone, Copy)]
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    fn new(line: &'a str) -> Self {
        Tokens { rest: line }
    }

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.rest.trim_start_matches(is_blank);
        let end = if rest.starts_with('[') {
            // An unclosed bracket runs to the end; its reader says what is missing.
            rest.find(']').map_or(rest.len(), |close| close + 1)
        } else {
            rest.find(is_blank).unwrap_or(rest.len())
        };
        let (token, rest) = rest.split_at(end);
        self.rest = rest;
        (!token.is_empty()).then_some(token)
    }

    fn peek(&self) -> Option<&'a str> {
        let mut ahead = *self;
        ahead.next()
    }

    fn next_if(&mut self, wanted: impl FnOnce(&str) -> bool) -> Option<&'a str> {
        self.peek().filter(|token| wanted(token))?;
        self.next()
    }

    /// Everything left, for `labels=`, whose names may hold spaces.
    fn take_rest(&mut self) -> &'a str {
        let rest = self.rest.trim_matches(is_blank);
        self.rest = "";
        rest
    }
}

/// Spaces separate fields; a line read from a file may also end in `\r\n`.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// The layer-3 and layer-4 protocols a line starts with.
struct Header {
    /// `None` when the line does not say (conntrack without `-o extended`): the
    /// addresses tell.
    family: Option<Family>,
    protonum: u8,
    /// False for `unknown N` where N has a tracker elsewhere: this kernel had none, so
    /// the tuples carry no layer-4 fields.
    tracked: bool,
}

fn read_header(tokens: &mut Tokens<'_>) -> Result<Header, String> {
    let first = tokens.next().ok_or("the line is empty")?;
    let first_number = tokens
        .next()
        .ok_or_else(|| format!("the line ends after '{first}'", first = excerpt(first)))?;
    if !starts_with_family(first, tokens) {
        let (protonum, tracked) = read_protocol(first, first_number)?;
        return Ok(Header {
            family: None,
            protonum,
            tracked,
        });
    }
    let family = read_family(first, first_number)?;
    let ends = || {
        format!(
            "the line ends after '{first} {first_number}'",
            first = excerpt(first),
            first_number = excerpt(first_number)
        )
    };
    let name = tokens.next().ok_or_else(ends)?;
    let number = tokens.next().ok_or_else(ends)?;
    let (protonum, tracked) = read_protocol(name, number)?;
    Ok(Header {
        family: Some(family),
        protonum,
        tracked,
    })
}

/// True when the line starts with its layer 3 (`-o extended`, /proc): `ipv4`, `ipv6`, or
/// `unknown` followed by a protocol name, since `unknown` also names a layer-4 protocol.
fn starts_with_family(first: &str, after_number: &Tokens<'_>) -> bool {
    match first {
        "ipv4" | "ipv6" => true,
        "unknown" => after_number
            .peek()
            .is_some_and(|next| next == "unknown" || protonum_of(next).is_some()),
        _ => false,
    }
}

fn read_family(name: &str, number: &str) -> Result<Family, String> {
    let raw: u8 = number
        .parse()
        .ok()
        .filter(|_| is_decimal(number))
        .ok_or_else(|| {
            format!(
                "'{number}' is not a family number",
                number = excerpt(number)
            )
        })?;
    let family = Family::from_raw(raw);
    if family.name() != name {
        return Err(format!(
            "'{name} {number}': family {raw} is {}",
            family.name(),
            name = excerpt(name),
            number = excerpt(number),
        ));
    }
    Ok(family)
}

/// The protocol number, and whether the kernel tracked it (printed its layer 4).
fn read_protocol(name: &str, number: &str) -> Result<(u8, bool), String> {
    let protonum: u8 = number
        .parse()
        .ok()
        .filter(|_| is_decimal(number))
        .ok_or_else(|| {
            format!(
                "'{number}' is not a protocol number (0 to 255)",
                number = excerpt(number)
            )
        })?;
    if name == "unknown" {
        return Ok((protonum, false));
    }
    match protonum_of(name) {
        Some(known) if known == protonum => Ok((protonum, true)),
        Some(known) => Err(format!(
            "'{name} {number}': {name} is protocol {known}",
            name = excerpt(name),
            number = excerpt(number)
        )),
        None => Err(format!("unknown protocol '{name}'", name = excerpt(name))),
    }
}

/// Seconds left: a number where the line has one (conntrack and the kernel leave it out
/// of offloaded entries). Kernels before 4.10 could print a negative count for an entry
/// past its time and not yet collected; that reads as 0.
fn read_timeout(tokens: &mut Tokens<'_>) -> Result<Option<u32>, String> {
    let Some(token) = tokens.peek() else {
        return Ok(None);
    };
    if token.strip_prefix('-').is_some_and(is_decimal) {
        tokens.next();
        return Ok(Some(0));
    }
    if !token.starts_with(|c: char| c.is_ascii_digit()) {
        return Ok(None);
    }
    tokens.next();
    number(token, token).map(Some)
}

/// The tracker's state word (`ESTABLISHED`), printed before the tuples for tcp, sctp and
/// dccp. Any other bare word there is not a field of the line.
fn read_state(tokens: &mut Tokens<'_>, protonum: u8) -> Result<Option<ProtoState>, String> {
    let Some(token) = tokens.peek() else {
        return Ok(None);
    };
    if token.contains('=') || token.starts_with('[') {
        return Ok(None);
    }
    tokens.next();
    match ProtoState::parse(protonum, token) {
        Some(Some(state)) => Ok(Some(state)),
        Some(None) => {
            let protocol = proto_name(protonum).unwrap_or("this protocol's");
            Err(format!(
                "'{token}' is not a {protocol} state",
                token = excerpt(token)
            ))
        }
        None => Err(format!("unknown field '{token}'", token = excerpt(token))),
    }
}

/// /proc's GRE tracker prints its two timeouts (`timeout=30, stream_timeout=180`) before
/// the tuples. The model has no place for them; they are checked and skipped.
fn skip_gre_timeouts(tokens: &mut Tokens<'_>, protonum: u8) -> Result<(), String> {
    if protonum != IPPROTO_GRE {
        return Ok(());
    }
    if let Some(token) = tokens.next_if(|token| token.starts_with("timeout=")) {
        let value = token.trim_start_matches("timeout=").trim_end_matches(',');
        number::<u32>(token, value)?;
    }
    if let Some(token) = tokens.next_if(|token| token.starts_with("stream_timeout=")) {
        number::<u32>(token, token.trim_start_matches("stream_timeout="))?;
    }
    Ok(())
}

/// Which tuple is being read, for its zone's key and for messages.
#[derive(Debug, Clone, Copy)]
enum Direction {
    Original,
    Reply,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Original => "original",
            Direction::Reply => "reply",
        }
    }

    fn zone_key(self) -> &'static str {
        match self {
            Direction::Original => "zone-orig=",
            Direction::Reply => "zone-reply=",
        }
    }
}

/// One direction as the line shows it: the tuple, its own zone, its counters.
struct DirectionText {
    tuple: Tuple,
    counters: Option<Counters>,
}

fn read_direction(
    tokens: &mut Tokens<'_>,
    header: &Header,
    family: &mut Option<Family>,
    direction: Direction,
) -> Result<DirectionText, String> {
    let (src, dst) = read_addresses(tokens, family, direction)?;
    let l4 = read_l4(tokens, header, direction)?;
    let zone = read_zone(tokens, direction.zone_key())?;
    let counters = read_counters(tokens)?;
    let tuple = Tuple {
        src,
        dst,
        protonum: header.protonum,
        l4,
        zone,
    };
    Ok(DirectionText { tuple, counters })
}

/// `src=` and `dst=`. Both printers write them for every IPv4 and IPv6 entry and for no
/// other family; without a family on the line, the first address gives it.
fn read_addresses(
    tokens: &mut Tokens<'_>,
    family: &mut Option<Family>,
    direction: Direction,
) -> Result<(Option<IpAddr>, Option<IpAddr>), String> {
    if matches!(family, Some(Family::Other(_))) {
        return Ok((None, None));
    }
    match tokens.peek() {
        Some(token) if token.starts_with("src=") => {}
        Some(token) => {
            let name = direction.name();
            return Err(format!(
                "no {name} tuple: '{token}' where 'src=' should be",
                token = excerpt(token)
            ));
        }
        None => return Err(format!("no {} tuple", direction.name())),
    }
    let (_, src) = expect_field(tokens, "src=", direction)?;
    let src = read_address(src, family)?;
    let (_, dst) = expect_field(tokens, "dst=", direction)?;
    let dst = read_address(dst, family)?;
    Ok((Some(src), Some(dst)))
}

/// An address as inet_ntop or the kernel's `%pI4`/`%pI6` wrote it, of the line's family.
fn read_address(text: &str, family: &mut Option<Family>) -> Result<IpAddr, String> {
    let address: IpAddr = text
        .parse()
        .map_err(|_| format!("'{text}' is not an address", text = excerpt(text)))?;
    let of_address = match address {
        IpAddr::V4(_) => Family::Ipv4,
        IpAddr::V6(_) => Family::Ipv6,
    };
    match *family {
        None => *family = Some(of_address),
        Some(expected) if expected != of_address => {
            return Err(format!(
                "'{text}' is not an {} address",
                expected.name(),
                text = excerpt(text)
            ));
        }
        Some(_) => {}
    }
    Ok(address)
}

fn read_l4(tokens: &mut Tokens<'_>, header: &Header, direction: Direction) -> Result<L4, String> {
    let mut fields = L4Fields {
        tokens,
        direction,
        printed: header.tracked,
    };
    Ok(match header.protonum {
        protonum if has_ports(protonum) => L4::Ports {
            sport: fields.number("sport=")?,
            dport: fields.number("dport=")?,
        },
        IPPROTO_ICMP | IPPROTO_ICMPV6 => L4::Icmp {
            icmp_type: fields.number("type=")?,
            code: fields.number("code=")?,
            id: fields.number("id=")?,
        },
        IPPROTO_GRE => L4::Gre {
            srckey: fields.hex("srckey=")?,
            dstkey: fields.hex("dstkey=")?,
        },
        _ => L4::None,
    })
}

/// The layer-4 fields of one tuple, in the printers' order. Where the kernel had no
/// tracker for the protocol it printed none, and its netlink dump carries none either,
/// which ct's decoder reads as zeros: so does this.
struct L4Fields<'t, 'a> {
    tokens: &'t mut Tokens<'a>,
    direction: Direction,
    printed: bool,
}

impl L4Fields<'_, '_> {
    fn number<T: FromStr + Default>(&mut self, key: &str) -> Result<T, String> {
        if !self.printed {
            return Ok(T::default());
        }
        let (token, value) = expect_field(self.tokens, key, self.direction)?;
        number(token, value)
    }

    /// GRE keys, printed `0x%x`.
    fn hex(&mut self, key: &str) -> Result<u16, String> {
        if !self.printed {
            return Ok(0);
        }
        let (token, value) = expect_field(self.tokens, key, self.direction)?;
        let digits = value
            .strip_prefix("0x")
            .filter(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| {
                format!(
                    "'{token}': '{value}' is not a 0x hex number",
                    token = excerpt(token),
                    value = excerpt(value)
                )
            })?;
        u16::from_str_radix(digits, 16).map_err(|_| {
            format!(
                "'{token}': {value} is too large",
                token = excerpt(token),
                value = excerpt(value)
            )
        })
    }
}

/// The next token, which must be `key` and a value; returns both.
fn expect_field<'a>(
    tokens: &mut Tokens<'a>,
    key: &str,
    direction: Direction,
) -> Result<(&'a str, &'a str), String> {
    let name = direction.name();
    let token = tokens
        .next()
        .ok_or_else(|| format!("the line ends before '{key}' of the {name} tuple"))?;
    let value = token.strip_prefix(key).ok_or_else(|| {
        format!(
            "'{token}' where '{key}' of the {name} tuple should be",
            token = excerpt(token)
        )
    })?;
    Ok((token, value))
}

/// A direction's own zone (`zone-orig=`, `zone-reply=`), when the line shows one.
fn read_zone(tokens: &mut Tokens<'_>, key: &str) -> Result<Option<u16>, String> {
    let Some(token) = tokens.next_if(|token| token.starts_with(key)) else {
        return Ok(None);
    };
    let zone = number(token, token.trim_start_matches(key))?;
    Ok(nonzero_zone(zone))
}

/// Zone 0 is the default zone: the kernel never sends it over netlink (ctnetlink leaves
/// CTA_ZONE out), while /proc prints `zone=0` for every entry. Read as absent, an entry
/// from /proc equals the same entry from a dump, and conntrack's filters treat an absent
/// zone as zone 0 anyway.
fn nonzero_zone(zone: u16) -> Option<u16> {
    (zone != 0).then_some(zone)
}

/// `packets=` and `bytes=`, printed together when accounting is on.
fn read_counters(tokens: &mut Tokens<'_>) -> Result<Option<Counters>, String> {
    let Some(token) = tokens.next_if(|token| token.starts_with("packets=")) else {
        return Ok(None);
    };
    let packets = number(token, token.trim_start_matches("packets="))?;
    let token = tokens.next().ok_or_else(|| {
        format!(
            "the line ends after '{token}', before 'bytes='",
            token = excerpt(token)
        )
    })?;
    let bytes = token
        .strip_prefix("bytes=")
        .ok_or_else(|| format!("'{token}' where 'bytes=' should be", token = excerpt(token)))?;
    let bytes = number(token, bytes)?;
    Ok(Some(Counters { packets, bytes }))
}

/// The fields after the reply tuple. The printers write them in one order; they are read
/// in any, but each at most once.
#[derive(Debug, Default)]
struct Tail<'a> {
    /// The IPS_* bits of `[ASSURED]`, `[OFFLOAD]` or `[HW_OFFLOAD]` (only one is printed).
    status_flag: Option<u32>,
    mark: Option<u32>,
    secmark: Option<u32>,
    secctx: Option<&'a str>,
    /// As printed; zone 0 is dropped when the entry is built.
    zone: Option<u16>,
    delta_time: Option<u64>,
    start: Option<i64>,
    stop: Option<i64>,
    helper: Option<&'a str>,
    use_count: Option<u32>,
    id: Option<u32>,
    /// `labels` appeared; its bits are in the scratch bitmap.
    labels: bool,
}

impl<'a> Tail<'a> {
    fn read(
        tokens: &mut Tokens<'a>,
        map: Option<&LabelMap>,
        bitmap: &mut LabelBits,
    ) -> Result<Tail<'a>, String> {
        let mut tail = Tail::default();
        while let Some(token) = tokens.peek() {
            if token == "labels" || token.starts_with("labels=") {
                // Always the last field; label names may hold spaces.
                read_labels(tokens.take_rest(), map, bitmap)?;
                tail.labels = true;
                break;
            }
            tokens.next();
            tail.field(token)?;
        }
        Ok(tail)
    }

    fn field(&mut self, token: &'a str) -> Result<(), String> {
        match token {
            "[ASSURED]" => return once(&mut self.status_flag, 1 << IPS_ASSURED_BIT, token),
            "[OFFLOAD]" => return once(&mut self.status_flag, 1 << IPS_OFFLOAD_BIT, token),
            // The kernel offloads to hardware only flows it has offloaded in software.
            "[HW_OFFLOAD]" => {
                let bits = 1 << IPS_OFFLOAD_BIT | 1 << IPS_HW_OFFLOAD_BIT;
                return once(&mut self.status_flag, bits, token);
            }
            "[UNREPLIED]" => return Err("'[UNREPLIED]' after the reply tuple".to_string()),
            _ => {}
        }
        if token.starts_with("[start=") {
            return once(
                &mut self.start,
                bracketed_time(token, "[start=")?,
                "[start=",
            );
        }
        if token.starts_with("[stop=") {
            return once(&mut self.stop, bracketed_time(token, "[stop=")?, "[stop=");
        }
        let Some((key, value)) = token.split_once('=') else {
            return Err(format!("unknown field '{token}'", token = excerpt(token)));
        };
        match key {
            "mark" => once(&mut self.mark, number(token, value)?, token),
            "secmark" => once(&mut self.secmark, number(token, value)?, token),
            "secctx" => once(&mut self.secctx, value, token),
            "zone" => once(&mut self.zone, number(token, value)?, token),
            "delta-time" => once(&mut self.delta_time, number(token, value)?, token),
            "helper" => once(&mut self.helper, value, token),
            "use" => once(&mut self.use_count, number(token, value)?, token),
            "id" => once(&mut self.id, number(token, value)?, token),
            _ => Err(format!("unknown field '{token}'", token = excerpt(token))),
        }
    }
}

/// Fills a field seen for the first time; a second one is an error, since no printer
/// writes one twice and the line cannot say which is meant.
fn once<T>(slot: &mut Option<T>, value: T, token: &str) -> Result<(), String> {
    if slot.is_some() {
        let key = token.split_once('=').map_or(token, |(key, _)| key);
        return Err(format!(
            "'{token}': {key} appears twice",
            token = excerpt(token)
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// `labels=zero,five` (names from the map, or bit numbers), or `labels` alone: the
/// entry has labels but none the map names, which reads as an empty bitmap.
fn read_labels(text: &str, map: Option<&LabelMap>, bitmap: &mut LabelBits) -> Result<(), String> {
    if text == "labels" {
        return Ok(());
    }
    let Some(names) = text.strip_prefix("labels=") else {
        return Err(format!(
            "'labels' must end the line: '{text}'",
            text = excerpt(text)
        ));
    };
    for name in names.split(',') {
        bitmap.set(label_bit(name, map)?)?;
    }
    Ok(())
}

fn label_bit(name: &str, map: Option<&LabelMap>) -> Result<u32, String> {
    if let Some(bit) = map.and_then(|map| map.bit(name)) {
        return Ok(bit);
    }
    if is_decimal(name) {
        return name
            .parse()
            .map_err(|_| format!("label bit {name} is too large", name = excerpt(name)));
    }
    match map {
        _ if name.is_empty() => Err("an empty label name".to_string()),
        Some(_) => Err(format!("unknown label '{name}'", name = excerpt(name))),
        None => Err(format!(
            "label '{name}' needs a label map to be read",
            name = excerpt(name)
        )),
    }
}

/// The IPS_* bits the line proves, and what conntrack would have shown. A listed entry
/// is CONFIRMED (unconfirmed ones are not in the table); `[UNREPLIED]` is printed exactly
/// when SEEN_REPLY is clear; `[ASSURED]`, `[OFFLOAD]` and `[HW_OFFLOAD]` are their bits;
/// and NAT shows in the tuples, so the NAT bits follow from them (see
/// [`source_rewritten`]), for NAT filters to work on read entries. Other bits (EXPECTED,
/// SEQ_ADJUST, HELPER...) leave no trace in the text and stay clear.
fn status(unreplied: bool, flag: Option<u32>, original: &Tuple, reply: &Tuple) -> Status {
    let mut bits = 1 << IPS_CONFIRMED_BIT | flag.unwrap_or(0);
    if !unreplied {
        bits |= 1 << IPS_SEEN_REPLY_BIT;
    }
    if source_rewritten(original, reply) {
        bits |= 1 << IPS_SRC_NAT_BIT | 1 << IPS_SRC_NAT_DONE_BIT;
    }
    if destination_rewritten(original, reply) {
        bits |= 1 << IPS_DST_NAT_BIT | 1 << IPS_DST_NAT_DONE_BIT;
    }
    Status(bits)
}

/// Without NAT the reply tuple is the original turned around. Source NAT shows as a reply
/// going back to another address, or another port (ICMP id, GRE key), than the original
/// came from.
pub(crate) fn source_rewritten(original: &Tuple, reply: &Tuple) -> bool {
    let l4 = match (original.l4, reply.l4) {
        (L4::Ports { sport, .. }, L4::Ports { dport, .. }) => sport != dport,
        (L4::Gre { srckey, .. }, L4::Gre { dstkey, .. }) => srckey != dstkey,
        (L4::Icmp { id: before, .. }, L4::Icmp { id: after, .. }) => before != after,
        _ => false,
    };
    reply.dst != original.src || l4
}

/// Destination NAT: the reply comes from another address or port (GRE key) than the
/// original went to. ICMP has no destination half NAT could rewrite.
pub(crate) fn destination_rewritten(original: &Tuple, reply: &Tuple) -> bool {
    let l4 = match (original.l4, reply.l4) {
        (L4::Ports { dport, .. }, L4::Ports { sport, .. }) => dport != sport,
        (L4::Gre { dstkey, .. }, L4::Gre { srckey, .. }) => dstkey != srckey,
        _ => false,
    };
    reply.src != original.dst || l4
}

/// The start and stop in nanoseconds. The start comes from delta-time where the line has
/// one, so that printing with `now` = the capture time writes the same delta-time;
/// otherwise from `[start=]`.
fn timestamps(tail: &Tail<'_>, captured_at: i64) -> Result<(Option<u64>, Option<u64>), String> {
    let start = match tail.delta_time {
        Some(delta) => Some(start_from_delta(delta, tail.stop, captured_at)?),
        None => tail.start,
    };
    let start = start
        .map(|seconds| nanoseconds(seconds, "the start"))
        .transpose()?;
    let stop = tail
        .stop
        .map(|seconds| nanoseconds(seconds, "the stop"))
        .transpose()?;
    Ok((start, stop))
}

/// delta-time counts to the stop of an entry that ended, else to the time of the dump.
/// The printer writes it as a signed difference printed unsigned; it is read back the
/// same way.
fn start_from_delta(delta: u64, stop: Option<i64>, captured_at: i64) -> Result<i64, String> {
    let end = stop.filter(|stop| *stop != 0).unwrap_or(captured_at);
    end.checked_sub(delta as i64)
        .ok_or_else(|| format!("delta-time={delta} is out of range"))
}

/// Seconds since the epoch as the kernel's nanoseconds, which cannot be before 1970.
fn nanoseconds(seconds: i64, what: &str) -> Result<u64, String> {
    u64::try_from(seconds)
        .ok()
        .and_then(|seconds| seconds.checked_mul(1_000_000_000))
        .ok_or_else(|| format!("{what} ({seconds} seconds since 1970) is out of range"))
}

/// The time in `[start=...]` or `[stop=...]`, in seconds since the epoch.
fn bracketed_time(token: &str, open: &str) -> Result<i64, String> {
    let inner = token
        .strip_prefix(open)
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or_else(|| format!("'{token}' has no closing ']'", token = excerpt(token)))?;
    local_time_seconds(inner)
}

const DAY_NAMES: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTH_NAMES: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A time conntrack printed with ctime(3) in local time (`Wed Nov 25 10:14:07 2026`),
/// or the plain number [`crate::output::push_ctime`] prints where ctime cannot convert,
/// in seconds since the epoch. Local time is what the printer used: TZ, or
/// /etc/localtime. A time that repeats when clocks go back reads as mktime picks.
fn local_time_seconds(text: &str) -> Result<i64, String> {
    if let Some(seconds) = signed_decimal(text) {
        return Ok(seconds);
    }
    let fields = ctime_fields(text)?;
    let mut converted = fields;
    // SAFETY: mktime reads and normalises the plain-old-data `tm` it is given and
    // nothing else of ours.
    let seconds = unsafe { libc::mktime(&mut converted) };
    let same = |a: &libc::tm, b: &libc::tm| {
        (
            a.tm_year, a.tm_mon, a.tm_mday, a.tm_hour, a.tm_min, a.tm_sec, a.tm_wday,
        ) == (
            b.tm_year, b.tm_mon, b.tm_mday, b.tm_hour, b.tm_min, b.tm_sec, b.tm_wday,
        )
    };
    // mktime moves a date that does not exist (Feb 30, a skipped hour, the wrong day of
    // the week) to one that does; ctime never prints such a date.
    if seconds == -1 || !same(&fields, &converted) {
        return Err(format!(
            "'{text}' is not a local time",
            text = excerpt(text)
        ));
    }
    #[allow(
        clippy::useless_conversion,
        reason = "time_t is 32 bits on some targets"
    )]
    Ok(i64::from(seconds))
}

/// The fields of a ctime text, `tm_isdst` left for mktime to find.
fn ctime_fields(text: &str) -> Result<libc::tm, String> {
    let bad = || {
        format!(
            "'{text}' is not a time like 'Wed Nov 25 10:14:07 2026'",
            text = excerpt(text)
        )
    };
    let mut parts = text.split_ascii_whitespace();
    let (Some(day), Some(month), Some(mday), Some(clock), Some(year), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad());
    };
    let mut clock = clock.split(':');
    let (Some(hour), Some(minute), Some(second), None) =
        (clock.next(), clock.next(), clock.next(), clock.next())
    else {
        return Err(bad());
    };
    let name_index = |names: &[&str], name: &str| {
        names
            .iter()
            .position(|known| *known == name)
            .and_then(|index| libc::c_int::try_from(index).ok())
    };
    let in_range = |text: &str, low: libc::c_int, high: libc::c_int| {
        text.parse::<libc::c_int>()
            .ok()
            .filter(|value| is_decimal(text) && (low..=high).contains(value))
    };
    let year = signed_decimal(year)
        .and_then(|year| year.checked_sub(1900))
        .and_then(|year| libc::c_int::try_from(year).ok());
    // SAFETY: libc::tm is plain old data; all-zero is a valid value (glibc's tm_zone
    // pointer may be null).
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    tm.tm_wday = name_index(&DAY_NAMES, day).ok_or_else(bad)?;
    tm.tm_mon = name_index(&MONTH_NAMES, month).ok_or_else(bad)?;
    tm.tm_mday = in_range(mday, 1, 31).ok_or_else(bad)?;
    tm.tm_hour = in_range(hour, 0, 23).ok_or_else(bad)?;
    tm.tm_min = in_range(minute, 0, 59).ok_or_else(bad)?;
    tm.tm_sec = in_range(second, 0, 59).ok_or_else(bad)?;
    tm.tm_year = year.ok_or_else(bad)?;
    tm.tm_isdst = -1;
    Ok(tm)
}

/// A number as printf's `%u`/`%llu` writes it: decimal digits only (Rust's parse would
/// also take a `+`). The token is named in the error.
fn number<T: FromStr>(token: &str, value: &str) -> Result<T, String> {
    if !is_decimal(value) {
        return Err(format!(
            "'{token}': '{value}' is not a number",
            token = excerpt(token),
            value = excerpt(value)
        ));
    }
    value.parse().map_err(|_| {
        format!(
            "'{token}': {value} is out of range",
            token = excerpt(token),
            value = excerpt(value)
        )
    })
}

/// `%ld`: an optional minus, then digits.
fn signed_decimal(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    is_decimal(digits).then(|| text.parse().ok()).flatten()
}

fn is_decimal(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
