//! `-o xml`: conntrack's XML, byte for byte what `conntrack -L -o xml` prints.
//!
//! The elements, their order and the conditions under which each appears follow
//! libnetfilter_conntrack's `__snprintf_conntrack_xml`; the header and footer follow
//! conntrack-tools (written only once an entry has been shown, so an empty table prints
//! nothing). One deliberate difference: conntrack names SCTP and DCCP states with TCP's
//! state names (`<state>SYN_RECV</state>` for COOKIE_WAIT); ct prints the right names.
//! Like conntrack, ct does not escape text inside elements: the kernel's helper names and
//! security contexts contain no markup characters.

use std::io::{self, Write};

use super::{push_decimal, push_hex, push_ip, push_two_digits};
use crate::labelmap::LabelMap;
use crate::model::entry::{Counters, Entry, Family, L4, Tuple, proto_name};
use crate::model::event::EventKind;
use crate::model::expect::Expectation;
use crate::output::printer::{Frame, Print, Record};

const HEADER: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<conntrack>\n";
const FOOTER: &[u8] = b"</conntrack>\n";
/// conntrack -L expect -o xml names its document `expect`.
const EXPECT_HEADER: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<expect>\n";
const EXPECT_FOOTER: &[u8] = b"</expect>\n";

/// Prints entries as conntrack's XML document.
pub struct XmlPrinter<'m> {
    /// `-o ktimestamp`: the `<timestamp>` element of entries.
    ktimestamp: bool,
    /// `-o timestamp`: the local time of printing in each event and expectation.
    timestamp: bool,
    labels: Option<&'m LabelMap>,
    now: i64,
    started: bool,
    line: Vec<u8>,
    /// The document's opening and closing lines: conntrack's or expect's.
    header: &'static [u8],
    footer: &'static [u8],
}

impl<'m> XmlPrinter<'m> {
    pub fn new(ktimestamp: bool, labels: Option<&'m LabelMap>, now: i64) -> Self {
        XmlPrinter {
            ktimestamp,
            timestamp: false,
            labels,
            now,
            started: false,
            line: Vec::with_capacity(1024),
            header: HEADER,
            footer: FOOTER,
        }
    }

    /// A printer of `conntrack -L expect -o xml`'s document; `when` adds the time of
    /// printing to each expectation (`-o xml,timestamp`).
    pub fn for_expectations(when: bool) -> Self {
        XmlPrinter {
            ktimestamp: false,
            timestamp: when,
            labels: None,
            now: 0,
            started: false,
            line: Vec::with_capacity(1024),
            header: EXPECT_HEADER,
            footer: EXPECT_FOOTER,
        }
    }

    /// `-o timestamp`: each event's `<when>`, the local time of printing, as
    /// `conntrack -E -o xml,timestamp` writes it.
    pub fn timestamped(self, timestamp: bool) -> Self {
        XmlPrinter { timestamp, ..self }
    }

    /// Writes one expectation's `<flow>`, as libnetfilter_conntrack's
    /// `__snprintf_expect_xml`: the three tuples' addresses under `<layer3>`, their
    /// layer 4 under `<layer4>`, then `<meta>`; an event's is `<flow type="new">` and
    /// so on.
    fn write_expectation<W: Write>(
        &mut self,
        out: &mut W,
        expectation: &Expectation<'_>,
        event: Option<EventKind>,
    ) -> io::Result<()> {
        self.line.clear();
        if !self.started {
            self.started = true;
            self.line.extend_from_slice(self.header);
        }
        let line = &mut self.line;
        let family = expectation.family;
        let tuples = [
            (&b"expected"[..], &expectation.expected),
            (b"mask", &expectation.mask),
            (b"master", &expectation.master),
        ];
        push_flow_open(line, event);
        line.extend_from_slice(b"<layer3 protonum=\"");
        push_decimal(line, family.raw());
        line.extend_from_slice(b"\" protoname=\"");
        line.extend_from_slice(family.name().as_bytes());
        line.extend_from_slice(b"\">");
        for (tag, tuple) in tuples {
            open(line, tag);
            push_address(line, b"src", family, tuple.src);
            push_address(line, b"dst", family, tuple.dst);
            close(line, tag);
        }
        line.extend_from_slice(b"</layer3>");
        push_layer4_open(line, expectation.expected.protonum);
        for (tag, tuple) in tuples {
            open(line, tag);
            // Each tuple's ports by its own protocol; conntrack has no element for ICMP.
            if !matches!(tuple.l4, L4::Icmp { .. }) {
                push_l4(line, tuple.l4);
            }
            close(line, tag);
        }
        line.extend_from_slice(b"</layer4><meta>");
        if let Some(helper) = expectation.helper {
            push_element(line, b"helper-name", helper);
        }
        push_number(line, b"timeout", expectation.timeout);
        push_number(line, b"class", expectation.class);
        push_number(line, b"zone", expectation.zone);
        if self.timestamp {
            push_when(line, super::unix_now_seconds());
        }
        for name in expectation.flag_names() {
            line.push(b'<');
            line.extend(name.bytes().map(|b| b.to_ascii_lowercase()));
            line.extend_from_slice(b"/>");
        }
        line.extend_from_slice(b"</meta></flow>\n");
        out.write_all(&self.line)
    }

    /// Writes one entry's `<flow>`; an event's is `<flow type="new">` and so on, with
    /// `-o timestamp` the local time of printing.
    fn write_entry<W: Write>(
        &mut self,
        out: &mut W,
        entry: &Entry<'_>,
        event: Option<EventKind>,
        when: bool,
    ) -> io::Result<()> {
        self.line.clear();
        if !self.started {
            self.started = true;
            self.line.extend_from_slice(HEADER);
        }
        self.flow(entry, event, when);
        self.line.push(b'\n');
        out.write_all(&self.line)
    }

    fn flow(&mut self, entry: &Entry<'_>, event: Option<EventKind>, when: bool) {
        let line = &mut self.line;
        push_flow_open(line, event);
        push_tuple(
            line,
            entry,
            &entry.original,
            b"original",
            entry.counters_original,
        );
        push_tuple(line, entry, &entry.reply, b"reply", entry.counters_reply);

        let independent = entry.state.is_some()
            || entry.timeout.is_some()
            || entry.mark.is_some()
            || entry.secmark.is_some()
            || entry.zone.is_some()
            || entry.use_count.is_some()
            || entry.status.is_some()
            || entry.id.is_some()
            || entry.labels.is_some()
            || entry.timestamp_start.is_some()
            || entry.timestamp_stop.is_some();
        if independent {
            line.extend_from_slice(b"<meta direction=\"independent\">");
        }
        if let Some(state) = entry.state {
            push_element(line, b"state", state.name().as_bytes());
        }
        push_number(line, b"timeout", entry.timeout);
        push_number(line, b"mark", entry.mark);
        if let (Some(map), Some(labels)) = (self.labels, entry.labels) {
            line.extend_from_slice(b"<labels>");
            for name in labels.bits().filter_map(|bit| map.name(bit)) {
                push_element(line, b"label", name.as_bytes());
            }
            line.extend_from_slice(b"</labels>");
        }
        push_number(line, b"secmark", entry.secmark);
        if let Some(secctx) = entry.secctx {
            push_element(line, b"secctx", secctx);
        }
        push_number(line, b"zone", entry.zone);
        push_number(line, b"use", entry.use_count);
        push_number(line, b"id", entry.id);
        if let Some(status) = entry.status {
            if status.contains(crate::kernel::IPS_ASSURED_BIT) {
                line.extend_from_slice(b"<assured/>");
            }
            if !status.contains(crate::kernel::IPS_SEEN_REPLY_BIT) {
                line.extend_from_slice(b"<unreplied/>");
            }
        }
        let (start, stop) = (entry.timestamp_start, entry.timestamp_stop);
        if self.ktimestamp && (start.is_some() || stop.is_some()) {
            line.extend_from_slice(b"<timestamp>");
            push_number(line, b"start", start);
            push_number(line, b"stop", stop);
            line.extend_from_slice(b"</timestamp>");
        }
        if let Some(start) = start {
            // As libnetfilter_conntrack: stop minus start when both are known (in
            // nanoseconds, then seconds), else now minus the start's whole seconds.
            let delta = match stop {
                Some(stop) => (stop.wrapping_sub(start) / 1_000_000_000) as i64 as u64,
                None => self.now.wrapping_sub((start / 1_000_000_000) as i64) as u64,
            };
            push_number(line, b"deltatime", Some(delta));
        }
        if independent {
            line.extend_from_slice(b"</meta>");
        }
        if when {
            push_when(line, self.now);
        }
        if let Some(helper) = entry.helper {
            push_element(line, b"helper", helper);
        }
        line.extend_from_slice(b"</flow>");
    }
}

/// conntrack's XML has no place for a namespace; `--all-netns` refuses it before.
impl Print for XmlPrinter<'_> {
    fn print<W: Write>(&mut self, out: &mut W, record: Record, frame: &Frame) -> io::Result<()> {
        let kind = frame.event.map(|event| event.kind);
        match record {
            Record::Entry(entry) => {
                if kind.is_some() {
                    self.now = super::unix_now_seconds();
                }
                self.write_entry(out, entry, kind, kind.is_some() && self.timestamp)
            }
            Record::Expectation(expectation) => self.write_expectation(out, expectation, kind),
        }
    }

    /// Closes the document, if one was started.
    fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        if self.started {
            out.write_all(self.footer)?;
        }
        Ok(())
    }
}

fn push_tuple(
    line: &mut Vec<u8>,
    entry: &Entry<'_>,
    tuple: &Tuple,
    direction: &[u8],
    counters: Option<Counters>,
) {
    line.extend_from_slice(b"<meta direction=\"");
    line.extend_from_slice(direction);
    line.extend_from_slice(b"\"><layer3 protonum=\"");
    push_decimal(line, entry.family.raw());
    line.extend_from_slice(b"\" protoname=\"");
    line.extend_from_slice(entry.family.name().as_bytes());
    line.extend_from_slice(b"\">");
    push_address(line, b"src", entry.family, tuple.src);
    push_address(line, b"dst", entry.family, tuple.dst);
    line.extend_from_slice(b"</layer3>");
    push_layer4_open(line, tuple.protonum);
    push_l4(line, tuple.l4);
    line.extend_from_slice(b"</layer4>");
    push_number(line, b"zone", tuple.zone);
    // libnetfilter_conntrack tests the original direction's counters for both tuples.
    if let (Some(_), Some(counters)) = (entry.counters_original, counters) {
        line.extend_from_slice(b"<counters>");
        push_number(line, b"packets", Some(counters.packets));
        push_number(line, b"bytes", Some(counters.bytes));
        line.extend_from_slice(b"</counters>");
    }
    line.extend_from_slice(b"</meta>");
}

/// `<flow>`, or for an event `<flow type="new">` (`update`, `destroy`).
fn push_flow_open(line: &mut Vec<u8>, event: Option<EventKind>) {
    match event {
        None => line.extend_from_slice(b"<flow>"),
        Some(kind) => {
            line.extend_from_slice(b"<flow type=\"");
            line.extend_from_slice(kind.name().as_bytes());
            line.extend_from_slice(b"\">");
        }
    }
}

/// `<layer4 protonum="6" protoname="tcp">`.
fn push_layer4_open(line: &mut Vec<u8>, protonum: u8) {
    line.extend_from_slice(b"<layer4 protonum=\"");
    push_decimal(line, protonum);
    line.extend_from_slice(b"\" protoname=\"");
    line.extend_from_slice(proto_name(protonum).unwrap_or("unknown").as_bytes());
    line.extend_from_slice(b"\">");
}

/// The ports or GRE keys of a tuple; conntrack's XML has no element for ICMP's type,
/// code and id.
fn push_l4(line: &mut Vec<u8>, l4: L4) {
    match l4 {
        L4::Ports { sport, dport } => {
            push_number(line, b"sport", Some(sport));
            push_number(line, b"dport", Some(dport));
        }
        L4::Gre { srckey, dstkey } => {
            line.extend_from_slice(b"<srckey>0x");
            push_hex(line, srckey.into());
            line.extend_from_slice(b"</srckey><dstkey>0x");
            push_hex(line, dstkey.into());
            line.extend_from_slice(b"</dstkey>");
        }
        L4::Icmp { .. } | L4::None => {}
    }
}

/// `<when>`: the local time of printing, as libnetfilter_conntrack's
/// `__snprintf_localtime_xml` (weekday 1 to 7, month 1 to 12).
fn push_when(line: &mut Vec<u8>, seconds: i64) {
    let Some(tm) = super::local_time(seconds) else {
        return;
    };
    line.extend_from_slice(b"<when>");
    push_number(line, b"hour", Some(tm.tm_hour));
    line.extend_from_slice(b"<min>");
    push_two_digits(line, tm.tm_min);
    line.extend_from_slice(b"</min><sec>");
    push_two_digits(line, tm.tm_sec);
    line.extend_from_slice(b"</sec>");
    push_number(line, b"wday", Some(tm.tm_wday + 1));
    push_number(line, b"day", Some(tm.tm_mday));
    push_number(line, b"month", Some(tm.tm_mon + 1));
    push_number(line, b"year", Some(tm.tm_year + 1900));
    line.extend_from_slice(b"</when>");
}

/// `<src>`/`<dst>`: empty for a family conntrack cannot print, zero when missing.
fn push_address(line: &mut Vec<u8>, tag: &[u8], family: Family, address: Option<std::net::IpAddr>) {
    open(line, tag);
    if let Some(zero) = family.zero_address() {
        push_ip(line, address.unwrap_or(zero));
    }
    close(line, tag);
}

fn push_number(line: &mut Vec<u8>, tag: &[u8], value: Option<impl itoa::Integer>) {
    if let Some(value) = value {
        open(line, tag);
        push_decimal(line, value);
        close(line, tag);
    }
}

fn push_element(line: &mut Vec<u8>, tag: &[u8], text: &[u8]) {
    open(line, tag);
    line.extend_from_slice(text);
    close(line, tag);
}

fn open(line: &mut Vec<u8>, tag: &[u8]) {
    line.push(b'<');
    line.extend_from_slice(tag);
    line.push(b'>');
}

fn close(line: &mut Vec<u8>, tag: &[u8]) {
    line.extend_from_slice(b"</");
    line.extend_from_slice(tag);
    line.push(b'>');
}
