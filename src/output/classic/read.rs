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
mod tests {
    use std::path::Path;
    use std::sync::OnceLock;

    use proptest::prelude::*;

    use super::*;
    use crate::output::classic::{ClassicOptions, ClassicPrinter};
    use crate::output::{Frame, Print, Record};

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn label_map() -> &'static LabelMap {
        static MAP: OnceLock<LabelMap> = OnceLock::new();
        MAP.get_or_init(|| LabelMap::parse(&fixture("connlabel.conf")))
    }

    /// The capture time tests/fixtures/capture.sh saved beside a scenario.
    fn saved_now(scenario: &str) -> i64 {
        fixture(&format!("{scenario}.now")).trim().parse().unwrap()
    }

    /// What `conntrack -L -o variant` turns on, and whether it names labels.
    fn variant_options(variant: &str) -> (ClassicOptions, bool) {
        let all = variant == "all";
        let options = ClassicOptions {
            extended: all || variant == "extended",
            id: all || variant == "id",
            ktimestamp: all || variant == "ktimestamp",
        };
        (options, all || variant == "labels")
    }

    fn print(
        entry: &Entry<'_>,
        options: ClassicOptions,
        labels: Option<&LabelMap>,
        now: i64,
    ) -> String {
        let mut out = Vec::new();
        let mut printer = ClassicPrinter::new(options, labels, now);
        printer
            .print(&mut out, Record::Entry(entry), &Frame::NONE)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    fn read(line: &str, captured_at: i64) -> Result<(Entry<'static>, TextScratch), String> {
        // Leaked so that tests can keep entries; a few hundred bytes per test.
        let line: &'static str = Box::leak(line.to_string().into_boxed_str());
        let scratch: &'static mut TextScratch = Box::leak(Box::default());
        let context = TextContext {
            labels: Some(label_map()),
            captured_at,
        };
        parse_line(line, &context, scratch).map(|entry| (entry, TextScratch::new()))
    }

    fn entry(line: &str, captured_at: i64) -> Entry<'static> {
        read(line, captured_at)
            .unwrap_or_else(|e| panic!("{e}: {line}"))
            .0
    }

    const VARIANTS: [&str; 6] = ["default", "extended", "id", "ktimestamp", "labels", "all"];

    /// The main promise: the reader is the classic printer's inverse on every line
    /// conntrack printed for the fixtures.
    ///
    /// This holds in any time zone, so the test sets none: `[start=]` is read with mktime
    /// and printed with localtime_r in the same zone, and the capture time comes from
    /// the file's own first `[start=]` + delta-time, read in that zone too (it differs
    /// from S.now unless TZ is UTC; the next test checks it against S.now in UTC). Only a
    /// zone changing its offset within the seconds between the fixture's starts could
    /// break it. Setting TZ instead would race with other tests of this binary that read
    /// local time.
    #[test]
    fn every_fixture_line_prints_back_byte_for_byte() {
        let map = label_map();
        let mut lines_checked = 0;
        for scenario in ["plain", "router"] {
            for variant in VARIANTS {
                let text = fixture(&format!("{scenario}.{variant}.txt"));
                let captured_at = text
                    .lines()
                    .find_map(capture_time)
                    .unwrap_or_else(|| saved_now(scenario));
                let context = TextContext {
                    labels: Some(map),
                    captured_at,
                };
                let (options, named) = variant_options(variant);
                let mut scratch = TextScratch::new();
                for line in text.lines() {
                    let entry = parse_line(line, &context, &mut scratch)
                        .unwrap_or_else(|e| panic!("{scenario}.{variant}: {e}\n{line}"));
                    let printed = print(&entry, options, named.then_some(map), captured_at);
                    assert_eq!(printed, format!("{line}\n"), "{scenario}.{variant}");
                    lines_checked += 1;
                }
            }
        }
        assert_eq!(lines_checked, VARIANTS.len() * (3 + 47));
    }

    /// capture_time is what capture.sh saved as S.now: checked for every line, in UTC
    /// (the capture's zone) through timegm, so without touching TZ.
    #[test]
    fn start_plus_delta_time_is_the_saved_capture_time() {
        let text = fixture("router.all.txt");
        for line in text.lines() {
            let start = line
                .split("[start=")
                .nth(1)
                .and_then(|rest| rest.split(']').next())
                .unwrap();
            let delta: i64 = line
                .split("delta-time=")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .unwrap()
                .parse()
                .unwrap();
            let mut tm = ctime_fields(start).unwrap();
            // SAFETY: timegm only reads and normalises the tm it is given.
            #[allow(
                clippy::useless_conversion,
                reason = "time_t is 32 bits on some targets"
            )]
            let utc = i64::from(unsafe { libc::timegm(&mut tm) });
            assert_eq!(utc + delta, saved_now("router"), "{line}");
            let local = local_time_seconds(start).unwrap();
            assert_eq!(capture_time(line), Some(local + delta), "{line}");
        }
    }

    /// The text carries part of what the kernel sent; that part must equal what ct's
    /// decoder reads from the very dump conntrack printed the fixture from.
    #[test]
    fn fixture_lines_read_as_the_decoder_reads_the_dump() {
        use crate::decode::decode_entry;
        use crate::netlink::{DumpStats, walk_datagram};

        let bytes =
            std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/router.bin"))
                .unwrap();
        let mut messages = Vec::new();
        let mut stats = DumpStats::default();
        walk_datagram(&bytes, None, "the capture", &mut stats, &mut |m| {
            messages.push((m.family, m.attributes.to_vec()));
            Ok(())
        })
        .unwrap();
        let text = fixture("router.all.txt");
        let captured_at = saved_now("router");
        assert_eq!(messages.len(), text.lines().count());
        let shown = [
            IPS_CONFIRMED_BIT,
            IPS_SEEN_REPLY_BIT,
            IPS_ASSURED_BIT,
            IPS_OFFLOAD_BIT,
            IPS_HW_OFFLOAD_BIT,
            IPS_SRC_NAT_BIT,
            IPS_DST_NAT_BIT,
        ]
        .iter()
        .fold(0u32, |mask, bit| mask | 1 << bit);
        // The kernel also sets a *_DONE bit where NAT ran and changed nothing (a null
        // binding), which no text shows: the reader's are a subset.
        let done = 1 << IPS_SRC_NAT_DONE_BIT | 1 << IPS_DST_NAT_DONE_BIT;
        for ((family, attributes), line) in messages.iter().zip(text.lines()) {
            let kernel = decode_entry(*family, attributes).unwrap();
            let read = entry(line, captured_at);
            let second = |ns: Option<u64>| ns.map(|ns| ns / 1_000_000_000);
            assert_eq!(
                (read.family, read.original, read.reply, read.timeout),
                (kernel.family, kernel.original, kernel.reply, kernel.timeout),
                "{line}"
            );
            assert_eq!(
                (
                    read.state,
                    read.mark,
                    read.secmark,
                    read.zone,
                    read.use_count
                ),
                (
                    kernel.state,
                    kernel.mark,
                    kernel.secmark,
                    kernel.zone,
                    kernel.use_count
                ),
                "{line}"
            );
            assert_eq!(
                (read.id, read.counters_original, read.counters_reply),
                (kernel.id, kernel.counters_original, kernel.counters_reply),
                "{line}"
            );
            assert_eq!(
                (read.helper, read.secctx, second(read.timestamp_start)),
                (kernel.helper, kernel.secctx, second(kernel.timestamp_start)),
                "{line}"
            );
            let status = |e: &Entry<'_>| e.status.map(|s| s.0 & shown);
            assert_eq!(status(&read), status(&kernel), "{line}");
            let done_bits = |e: &Entry<'_>| e.status.map_or(0, |s| s.0 & done);
            assert_eq!(done_bits(&read) & !done_bits(&kernel), 0, "{line}");
            let named = |e: &Entry<'_>| -> Vec<u32> {
                e.labels.map_or(Vec::new(), |labels| {
                    let map = label_map();
                    labels
                        .bits()
                        .filter(|bit| map.name(*bit).is_some())
                        .collect()
                })
            };
            assert_eq!(read.labels.is_some(), kernel.labels.is_some(), "{line}");
            assert_eq!(named(&read), named(&kernel), "{line}");
        }
    }

    // Lines of /proc/net/nf_conntrack from Linux 6.18, for entries made with
    // `conntrack -I` in a scratch network namespace with accounting and timestamps on.
    const PROC_NOW: i64 = 1_795_637_341;
    const PROC_TCP: &str = "ipv4     2 tcp      6 97 ESTABLISHED src=10.250.0.1 dst=10.250.0.2 sport=1 dport=2 packets=0 bytes=0 [UNREPLIED] src=10.250.0.2 dst=10.250.0.1 sport=2 dport=1 packets=0 bytes=0 [ASSURED] mark=0 zone=0 delta-time=2 use=2";
    const PROC_TCP_ZONE: &str = "ipv4     2 tcp      6 97 SYN_SENT src=10.250.0.1 dst=10.250.0.2 sport=3 dport=4 packets=0 bytes=0 src=10.250.0.2 dst=10.250.0.1 sport=4 dport=3 packets=0 bytes=0 mark=7 zone=9 delta-time=2 use=2";
    const PROC_TCP6: &str = "ipv6     10 tcp      6 98 ESTABLISHED src=fd00:0250:0000:0000:0000:0000:0000:0001 dst=fd00:0250:0000:0000:0000:0000:0000:0002 sport=21 dport=22 packets=0 bytes=0 [UNREPLIED] src=fd00:0250:0000:0000:0000:0000:0000:0002 dst=fd00:0250:0000:0000:0000:0000:0000:0001 sport=22 dport=21 packets=0 bytes=0 [ASSURED] mark=0 zone=12 delta-time=1 use=2";
    const PROC_ICMP: &str = "ipv4     2 icmp     1 27 src=10.250.0.1 dst=10.250.0.2 type=8 code=0 id=42 packets=0 bytes=0 [UNREPLIED] src=10.250.0.2 dst=10.250.0.1 type=0 code=0 id=42 packets=0 bytes=0 mark=0 zone=0 delta-time=2 use=2";
    const PROC_ICMP6: &str = "ipv6     10 icmpv6   58 27 src=fd00:0250:0000:0000:0000:0000:0000:0001 dst=fd00:0250:0000:0000:0000:0000:0000:0002 type=128 code=0 id=43 packets=0 bytes=0 [UNREPLIED] src=fd00:0250:0000:0000:0000:0000:0000:0002 dst=fd00:0250:0000:0000:0000:0000:0000:0001 type=129 code=0 id=43 packets=0 bytes=0 mark=0 zone=0 delta-time=2 use=2";
    const PROC_GRE: &str = "ipv4     2 gre      47 97 timeout=0, stream_timeout=0 src=10.250.0.1 dst=10.250.0.2 srckey=0x12 dstkey=0x34 packets=0 bytes=0 [UNREPLIED] src=10.250.0.2 dst=10.250.0.1 srckey=0x34 dstkey=0x12 packets=0 bytes=0 mark=0 zone=0 delta-time=2 use=2";
    const PROC_SCTP: &str = "ipv4     2 sctp     132 82 ESTABLISHED src=10.250.0.1 dst=10.250.0.2 sport=13 dport=14 packets=0 bytes=0 [UNREPLIED] src=10.250.0.2 dst=10.250.0.1 sport=14 dport=13 packets=0 bytes=0 mark=0 zone=0 delta-time=17 use=2";
    const PROC_UNKNOWN: &str = "ipv4     2 unknown  99 97 src=10.250.0.1 dst=10.250.0.2 packets=0 bytes=0 [UNREPLIED] src=10.250.0.2 dst=10.250.0.1 packets=0 bytes=0 mark=0 zone=0 delta-time=2 use=2";
    /// DCCP on a kernel without its tracker (6.16 removed it): `unknown 33`, no ports.
    const PROC_DCCP_UNTRACKED: &str = "ipv4     2 unknown  33 95 src=10.250.0.1 dst=10.250.0.2 packets=0 bytes=0 [UNREPLIED] src=10.250.0.2 dst=10.250.0.1 packets=0 bytes=0 mark=0 zone=0 delta-time=4 use=2";
    /// Inserted with a reply from another address and port: destination NAT.
    const PROC_DNAT: &str = "ipv4     2 udp      17 48 src=10.250.0.1 dst=10.250.0.2 sport=7 dport=8 packets=0 bytes=0 src=10.250.0.3 dst=10.250.0.1 sport=9 dport=7 packets=0 bytes=0 mark=0 zone=0 delta-time=1 use=2";
    const PROC_LINES: [&str; 10] = [
        PROC_TCP,
        PROC_TCP_ZONE,
        PROC_TCP6,
        PROC_ICMP,
        PROC_ICMP6,
        PROC_GRE,
        PROC_SCTP,
        PROC_UNKNOWN,
        PROC_DCCP_UNTRACKED,
        PROC_DNAT,
    ];

    /// A /proc line prints as `conntrack -L -o extended` shows the same entry: without
    /// zone 0 and GRE's timeouts, with IPv6 addresses shortened.
    #[test]
    fn proc_lines_print_as_conntrack_shows_them() {
        let extended = ClassicOptions {
            extended: true,
            ..Default::default()
        };
        for line in PROC_LINES {
            if line == PROC_DCCP_UNTRACKED {
                continue;
            }
            let expected = line
                .replace(" zone=0", "")
                .replace("timeout=0, stream_timeout=0 ", "")
                .replace("fd00:0250:0000:0000:0000:0000:0000:000", "fd00:250::");
            let printed = print(&entry(line, PROC_NOW), extended, None, PROC_NOW);
            assert_eq!(printed, format!("{expected}\n"));
        }
    }

    #[test]
    fn proc_tcp_line_fields() {
        let e = entry(PROC_TCP, PROC_NOW);
        assert_eq!(e.family, Family::Ipv4);
        assert_eq!((e.timeout, e.state), (Some(97), Some(ProtoState::Tcp(3))));
        assert!(e.is_unreplied());
        assert!(e.has_status(IPS_ASSURED_BIT) && e.has_status(IPS_CONFIRMED_BIT));
        assert_eq!(e.source_nat(), None);
        assert_eq!(e.destination_nat(), None);
        assert_eq!(
            (e.mark, e.zone, e.use_count, e.id),
            (Some(0), None, Some(2), None)
        );
        assert_eq!(e.counters_original, Some(Counters::default()));
        assert_eq!(
            e.timestamp_start,
            Some((PROC_NOW as u64 - 2) * 1_000_000_000)
        );
        assert_eq!(e.original.l4, L4::Ports { sport: 1, dport: 2 });
        assert_eq!(e.reply.l4, L4::Ports { sport: 2, dport: 1 });
    }

    #[test]
    fn proc_zone_and_mark() {
        let e = entry(PROC_TCP_ZONE, PROC_NOW);
        assert_eq!((e.zone, e.mark), (Some(9), Some(7)));
        assert_eq!(e.state, Some(ProtoState::Tcp(1)));
        assert!(!e.is_unreplied());
        assert!(!e.has_status(IPS_ASSURED_BIT));
    }

    #[test]
    fn proc_ipv6_addresses_in_full() {
        let e = entry(PROC_TCP6, PROC_NOW);
        assert_eq!(e.family, Family::Ipv6);
        assert_eq!(e.original.src, Some("fd00:250::1".parse().unwrap()));
        assert_eq!(e.reply.src, Some("fd00:250::2".parse().unwrap()));
        assert_eq!(e.zone, Some(12));
        let e = entry(PROC_ICMP6, PROC_NOW);
        let (icmp_type, code, id) = (128, 0, 43);
        assert_eq!(
            e.original.l4,
            L4::Icmp {
                icmp_type,
                code,
                id
            }
        );
    }

    #[test]
    fn proc_icmp_gre_sctp_and_unknown() {
        let e = entry(PROC_ICMP, PROC_NOW);
        let (icmp_type, code, id) = (8, 0, 42);
        assert_eq!(
            e.original.l4,
            L4::Icmp {
                icmp_type,
                code,
                id
            }
        );
        assert_eq!(
            e.reply.l4,
            L4::Icmp {
                icmp_type: 0,
                code,
                id
            }
        );
        assert_eq!(e.source_nat(), None);
        let e = entry(PROC_GRE, PROC_NOW);
        let (srckey, dstkey) = (0x12, 0x34);
        assert_eq!(e.original.l4, L4::Gre { srckey, dstkey });
        assert_eq!(
            (e.timeout, e.status.map(|s| s.0 & 1 << IPS_DST_NAT_BIT)),
            (Some(97), Some(0))
        );
        let e = entry(PROC_SCTP, PROC_NOW);
        assert_eq!(e.state, Some(ProtoState::Sctp(4)));
        let e = entry(PROC_UNKNOWN, PROC_NOW);
        assert_eq!((e.protonum(), e.original.l4), (99, L4::None));
    }

    /// `unknown 33` reads as the decoder reads the kernel's dump of the same entry, and
    /// prints as conntrack -L printed it then (its use= was 1: /proc holds a reference
    /// while it prints, which shows as use=2 and is kept as printed).
    #[test]
    fn proc_protocol_without_tracker_reads_as_zero_ports() {
        let e = entry(PROC_DCCP_UNTRACKED, PROC_NOW);
        assert_eq!(e.protonum(), IPPROTO_DCCP);
        assert_eq!(e.original.l4, L4::Ports { sport: 0, dport: 0 });
        let printed = print(&e, ClassicOptions::default(), None, PROC_NOW);
        assert_eq!(
            printed,
            "dccp     33 95 src=10.250.0.1 dst=10.250.0.2 sport=0 dport=0 packets=0 bytes=0 \
             [UNREPLIED] src=10.250.0.2 dst=10.250.0.1 sport=0 dport=0 packets=0 bytes=0 \
             mark=0 delta-time=4 use=2\n"
        );
    }

    #[test]
    fn nat_follows_from_the_tuples() {
        let e = entry(PROC_DNAT, PROC_NOW);
        assert!(e.has_status(IPS_DST_NAT_BIT) && e.has_status(IPS_DST_NAT_DONE_BIT));
        assert!(!e.has_status(IPS_SRC_NAT_BIT));
        let dnat = e.destination_nat().unwrap();
        assert_eq!(dnat.address, Some("10.250.0.3".parse().unwrap()));
        assert_eq!(dnat.port, Some(9));
        // The fixture's masqueraded connection: the reply goes back to the router.
        let line = fixture("router.default.txt")
            .lines()
            .next()
            .unwrap()
            .to_string();
        let e = entry(&line, saved_now("router"));
        assert!(e.has_status(IPS_SRC_NAT_BIT) && e.has_status(IPS_SRC_NAT_DONE_BIT));
        let snat = e.source_nat().unwrap();
        assert_eq!(snat.address, Some("10.201.2.1".parse().unwrap()));
        assert!(!snat.port_rewritten);
    }

    /// Kernels before 4.10 printed the seconds left as a signed number, and secmark=.
    #[test]
    fn older_proc_lines() {
        let line = "ipv4     2 tcp      6 -3 TIME_WAIT src=10.250.0.1 dst=10.250.0.2 sport=1 \
                    dport=2 src=10.250.0.2 dst=10.250.0.1 sport=2 dport=1 [ASSURED] mark=0 \
                    secmark=0 use=2";
        let e = entry(line, PROC_NOW);
        assert_eq!(
            (e.timeout, e.secmark, e.timestamp_start),
            (Some(0), Some(0), None)
        );
    }

    #[test]
    fn offload_flags_and_bare_labels() {
        let base = "tcp      6 ESTABLISHED src=10.250.0.1 dst=10.250.0.2 sport=1 dport=2 \
                    src=10.250.0.2 dst=10.250.0.1 sport=2 dport=1";
        let e = entry(&format!("{base} [OFFLOAD] mark=0 use=1"), 0);
        assert_eq!(e.timeout, None);
        assert!(e.has_status(IPS_OFFLOAD_BIT) && !e.has_status(IPS_HW_OFFLOAD_BIT));
        let e = entry(&format!("{base} [HW_OFFLOAD] use=1 labels"), 0);
        assert!(e.has_status(IPS_OFFLOAD_BIT) && e.has_status(IPS_HW_OFFLOAD_BIT));
        assert!(!e.has_status(IPS_ASSURED_BIT));
        assert_eq!(e.labels.map(|l| l.bits().count()), Some(0));
        let text = format!("{base} [HW_OFFLOAD] use=1 labels");
        let (options, map) = (ClassicOptions::default(), Some(label_map()));
        assert_eq!(print(&e, options, map, 0), format!("{text}\n"));
    }

    #[test]
    fn helper_secctx_stop_and_labels_by_number() {
        let line = "ipv4     2 tcp      6 10 CLOSE src=10.250.0.1 dst=10.250.0.2 sport=1 dport=21 \
                    src=10.250.0.2 dst=10.250.0.1 sport=21 dport=1 [ASSURED] mark=3 \
                    secctx=system_u:object_r:ssh_t:s0 zone=4 delta-time=7 \
                    [start=1795600000] [stop=1795600007] helper=ftp use=1 id=9 \
                    labels=five,zero,100";
        let e = entry(line, PROC_NOW);
        assert_eq!(e.secctx, Some(&b"system_u:object_r:ssh_t:s0"[..]));
        assert_eq!(
            (e.helper, e.zone, e.id),
            (Some(&b"ftp"[..]), Some(4), Some(9))
        );
        // With a stop, delta-time counts to it, not to the capture.
        assert_eq!(e.timestamp_start, Some(1_795_600_000 * 1_000_000_000));
        assert_eq!(e.timestamp_stop, Some(1_795_600_007 * 1_000_000_000));
        let bits: Vec<u32> = e.labels.unwrap().bits().collect();
        assert_eq!(bits, [0, 5, 100]);
        assert_eq!(capture_time(line), None);
    }

    #[test]
    fn scratch_is_cleared_for_each_line() {
        let context = TextContext {
            labels: Some(label_map()),
            captured_at: 0,
        };
        let base = "udp      17 30 src=10.250.0.1 dst=10.250.0.2 sport=1 dport=2 \
                    src=10.250.0.2 dst=10.250.0.1 sport=2 dport=1";
        let mut scratch = TextScratch::new();
        let first = format!("{base} labels=zero,five");
        let bits: Vec<u32> = parse_line(&first, &context, &mut scratch)
            .unwrap()
            .labels
            .unwrap()
            .bits()
            .collect();
        assert_eq!(bits, [0, 5]);
        let second = format!("{base} labels=one");
        let e = parse_line(&second, &context, &mut scratch).unwrap();
        assert_eq!(e.labels.unwrap().bits().collect::<Vec<_>>(), [1]);
        assert_eq!(
            parse_line(base, &context, &mut scratch).unwrap().labels,
            None
        );
        let without_map = TextContext {
            labels: None,
            ..context
        };
        let third = format!("{base} labels=zero");
        let error = parse_line(&third, &without_map, &mut scratch).unwrap_err();
        assert_eq!(error, "label 'zero' needs a label map to be read");
        let fourth = format!("{base} labels=3");
        let e = parse_line(&fourth, &without_map, &mut scratch).unwrap();
        assert_eq!(e.labels.unwrap().bits().collect::<Vec<_>>(), [3]);
    }

    /// The padding after a name is any run of blanks, and a line may keep its newline.
    #[test]
    fn blanks_and_line_ends() {
        let line = "udp 17 30\tsrc=10.250.0.1 dst=10.250.0.2 sport=1 dport=2  \
                    src=10.250.0.2 dst=10.250.0.1 sport=2 dport=1 mark=0\r\n";
        assert_eq!(entry(line, 0).mark, Some(0));
    }

    #[test]
    fn ctime_text_reads_back_to_its_second() {
        for seconds in [
            1_000_000_000,
            1_700_000_000,
            1_795_601_647,
            2_000_000_000,
            4_102_488_000,
        ] {
            let mut text = Vec::new();
            crate::output::push_ctime(&mut text, seconds);
            let text = String::from_utf8(text).unwrap();
            assert_eq!(local_time_seconds(&text), Ok(seconds), "{text}");
        }
        assert_eq!(local_time_seconds("-5"), Ok(-5));
        for bad in [
            "Thu Nov 25 10:14:07 2026",
            "Wed Feb 30 10:14:07 2026",
            "Wed Nov 25 10:14 2026",
            "Wed Nov 25 24:00:00 2026",
            "Wed Nov 25 10:14:07 99999999999999999999",
            "Wed Nov 25 10:14:07 2026 extra",
        ] {
            assert!(local_time_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protocol_names_are_proto_name_inverted() {
        for protonum in 0..=u8::MAX {
            if let Some(name) = proto_name(protonum) {
                assert_eq!(protonum_of(name), Some(protonum));
            }
        }
    }

    const UDP: &str = "udp      17 30 src=10.250.0.1 dst=10.250.0.2 sport=1 dport=2 \
                       src=10.250.0.2 dst=10.250.0.1 sport=2 dport=1";

    #[test]
    fn wrong_lines_say_what_is_wrong() {
        let tuple = "src=10.250.0.1 dst=10.250.0.2";
        let cases = [
            (String::new(), "the line is empty"),
            ("  \r\n".into(), "the line is empty"),
            ("tcp".into(), "the line ends after 'tcp'"),
            ("ipv4 2 tcp".into(), "the line ends after 'ipv4 2'"),
            ("tcp      6 118 ESTABLISHED".into(), "no original tuple"),
            (
                "tcp 6 118 ESTABLISHED sport=1 dport=2".into(),
                "no original tuple: 'sport=1' where 'src=' should be",
            ),
            (
                "udp 17 30 src=10.0.0.x dst=10.0.0.2 sport=1 dport=2".into(),
                "'10.0.0.x' is not an address",
            ),
            (
                format!("udp 17 30 {tuple} sport=1"),
                "the line ends before 'dport=' of the original tuple",
            ),
            (
                format!("udp 17 30 {tuple} dport=1"),
                "'dport=1' where 'sport=' of the original tuple should be",
            ),
            (
                format!("udp 17 30 {tuple} sport=1 dport=2"),
                "no reply tuple",
            ),
            (
                format!("udp 17 30 {tuple} sport=1 dport=2 [UNREPLIED]"),
                "no reply tuple",
            ),
            (format!("{UDP} mark=x"), "'mark=x': 'x' is not a number"),
            (
                format!("udp 17 30 {tuple} sport=+1"),
                "'sport=+1': '+1' is not a number",
            ),
            (
                format!("udp 17 30 {tuple} sport=65536"),
                "'sport=65536': 65536 is out of range",
            ),
            (
                format!("udp 17 4294967296 {tuple}"),
                "'4294967296': 4294967296 is out of range",
            ),
            (
                format!("{UDP} mark=99999999999999999999999999"),
                "'mark=99999999999999999999999999': 99999999999999999999999999 is out of range",
            ),
            (
                format!("{UDP} delta-time=18446744073709551616"),
                "'delta-time=18446744073709551616': 18446744073709551616 is out of range",
            ),
            (
                format!("{UDP} delta-time=4000000000"),
                "the start (-2204398349 seconds since 1970) is out of range",
            ),
            (
                format!("{UDP} delta-time=9223372036854775808"),
                "delta-time=9223372036854775808 is out of range",
            ),
            (format!("foo 6 30 {tuple}"), "unknown protocol 'foo'"),
            (format!("tcp 17 30 {tuple}"), "'tcp 17': tcp is protocol 6"),
            (
                format!("udp 300 30 {tuple}"),
                "'300' is not a protocol number (0 to 255)",
            ),
            (
                format!("ipv4 10 udp 17 30 {tuple}"),
                "'ipv4 10': family 10 is ipv6",
            ),
            (
                format!("ipv9 2 udp 17 30 {tuple}"),
                "unknown protocol 'ipv9'",
            ),
            (
                "ipv4 2 udp 17 30 src=fd00::1 dst=fd00::2".into(),
                "'fd00::1' is not an ipv4 address",
            ),
            (
                format!("udp 17 30 {tuple} sport=1 dport=2 src=fd00::2"),
                "'fd00::2' is not an ipv4 address",
            ),
            (format!("{UDP} foo=1"), "unknown field 'foo=1'"),
            (format!("{UDP} ASSURED"), "unknown field 'ASSURED'"),
            (
                format!("{UDP} mark=1 mark=2"),
                "'mark=2': mark appears twice",
            ),
            (
                format!("{UDP} [ASSURED] [OFFLOAD]"),
                "'[OFFLOAD]': [OFFLOAD] appears twice",
            ),
            (
                format!("{UDP} [UNREPLIED]"),
                "'[UNREPLIED]' after the reply tuple",
            ),
            (format!("{UDP} labels=nine"), "unknown label 'nine'"),
            (
                format!("{UDP} labels=128"),
                "label bit 128 is past the kernel's 128 bits",
            ),
            (
                format!("{UDP} labels=99999999999"),
                "label bit 99999999999 is too large",
            ),
            (format!("{UDP} labels=zero,,one"), "an empty label name"),
            (
                format!("{UDP} labels mark=1"),
                "'labels' must end the line: 'labels mark=1'",
            ),
            (
                format!("{UDP} [start=Wed Nov 25 10:14:07 2026"),
                "'[start=Wed Nov 25 10:14:07 2026' has no closing ']'",
            ),
            (
                format!("{UDP} [start=Wed Foo 25 10:14:07 2026]"),
                "'Wed Foo 25 10:14:07 2026' is not a time like 'Wed Nov 25 10:14:07 2026'",
            ),
            (
                format!("{UDP} [stop=Thu Nov 25 10:14:07 2026]"),
                "'Thu Nov 25 10:14:07 2026' is not a local time",
            ),
            (
                format!("tcp 6 30 BOGUS {tuple}"),
                "'BOGUS' is not a tcp state",
            ),
            (format!("udp 17 30 BOGUS {tuple}"), "unknown field 'BOGUS'"),
            (
                format!("gre 47 30 {tuple} srckey=12 dstkey=0x1"),
                "'srckey=12': '12' is not a 0x hex number",
            ),
            (
                format!("gre 47 30 {tuple} srckey=0x10000 dstkey=0x1"),
                "'srckey=0x10000': 0x10000 is too large",
            ),
            (
                format!("gre 47 30 timeout=x, {tuple}"),
                "'timeout=x,': 'x' is not a number",
            ),
            (
                format!("udp 17 30 {tuple} sport=1 dport=2 packets=1 src=10.250.0.2"),
                "'src=10.250.0.2' where 'bytes=' should be",
            ),
            (
                format!("udp 17 30 {tuple} sport=1 dport=2 packets=1"),
                "the line ends after 'packets=1', before 'bytes='",
            ),
            (
                format!("udp 17 30 {tuple} sport=1 dport=2 zone-orig=70000"),
                "'zone-orig=70000': 70000 is out of range",
            ),
        ];
        for (line, expected) in cases {
            match read(&line, 1_795_601_651) {
                Ok((entry, _)) => panic!("{line}: read as {entry:?}"),
                Err(error) => assert_eq!(error, expected, "{line}"),
            }
        }
    }

    /// The fixture lines and the /proc lines above: what the mutations start from.
    fn sample_lines() -> &'static [String] {
        static LINES: OnceLock<Vec<String>> = OnceLock::new();
        LINES.get_or_init(|| {
            let mut lines: Vec<String> = ["router.all.txt", "plain.all.txt", "router.labels.txt"]
                .iter()
                .flat_map(|name| fixture(name).lines().map(String::from).collect::<Vec<_>>())
                .collect();
            lines.extend(PROC_LINES.iter().map(|line| line.to_string()));
            lines
        })
    }

    /// Reads a line in every context and prints whatever it reads: nothing may panic.
    fn exercise(line: &str) {
        let map = label_map();
        let all = ClassicOptions {
            extended: true,
            id: true,
            ktimestamp: true,
        };
        for captured_at in [0, 1_795_601_651, i64::MIN, i64::MAX] {
            for labels in [Some(map), None] {
                let context = TextContext {
                    labels,
                    captured_at,
                };
                let mut scratch = TextScratch::new();
                if let Ok(entry) = parse_line(line, &context, &mut scratch) {
                    print(&entry, all, Some(map), captured_at);
                }
            }
        }
        let _ = capture_time(line);
    }

    /// Field texts that make the reader go far into a line when strung together.
    fn field_text() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "ipv4",
            "2",
            "ipv6",
            "10",
            "unknown",
            "tcp",
            "6",
            "udp",
            "17",
            "icmp",
            "1",
            "gre",
            "47",
            "dccp",
            "33",
            "99",
            "118",
            "-3",
            "ESTABLISHED",
            "src=10.0.0.1",
            "dst=10.0.0.2",
            "src=fd00::1",
            "dst=::ffff:1.2.3.4",
            "sport=1",
            "dport=65535",
            "type=8",
            "code=0",
            "id=1",
            "srckey=0x1",
            "dstkey=0xffff",
            "packets=1",
            "bytes=18446744073709551615",
            "[UNREPLIED]",
            "[ASSURED]",
            "[OFFLOAD]",
            "[HW_OFFLOAD]",
            "mark=1",
            "zone=0",
            "zone=7",
            "zone-orig=1",
            "zone-reply=2",
            "delta-time=18446744073709551615",
            "delta-time=9223372036854775807",
            "[start=Wed Nov 25 10:14:07 2026]",
            "[stop=Thu Jan  1 00:00:00 1970]",
            "[start=-5]",
            "[stop=9223372036854775807]",
            "helper=ftp",
            "use=1",
            "id=4294967295",
            "labels",
            "labels=zero,5",
            "labels=127",
            "secctx=x",
            "secmark=2",
            "timeout=1,",
            "stream_timeout=2",
            "[",
            "]",
            "=",
            "",
        ])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn random_text_never_panics(line in "\\PC{0,160}") {
            exercise(&line);
        }

        #[test]
        fn strung_fields_never_panic(fields in prop::collection::vec(field_text(), 0..28)) {
            exercise(&fields.join(" "));
        }

        #[test]
        fn mutated_lines_never_panic(
            which in any::<prop::sample::Index>(),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), 0usize..12, "\\PC{0,8}"),
                1..5,
            ),
        ) {
            let mut chars: Vec<char> = which.get(sample_lines()).chars().collect();
            for (at, cut, insert) in edits {
                let start = at.index(chars.len() + 1);
                let end = (start + cut).min(chars.len());
                chars.splice(start..end, insert.chars());
            }
            exercise(&chars.into_iter().collect::<String>());
        }
    }
}
