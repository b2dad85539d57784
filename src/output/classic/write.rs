//! The classic line: byte for byte what `conntrack -L` (conntrack-tools 1.4.x over
//! libnetfilter_conntrack) prints for an entry.
//!
//! The field order, the padding and the conditions under which each field appears follow
//! libnetfilter_conntrack's `__snprintf_conntrack_default`. Each field is written with a
//! trailing space and the last space is dropped, as there. The line is never coloured.

use std::io::{self, Write};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::kernel::*;
use crate::labelmap::LabelMap;
use crate::model::entry::{Counters, Entry, Family, L4, Tuple};
use crate::model::expect::Expectation;
use crate::output::event::{Cause, push_event_time, push_userspace};
use crate::output::printer::{Frame, Print, Record};
use crate::output::{push_decimal, push_hex, push_ip, push_timestamp, unix_now_seconds};

/// What `-o` adds to the classic line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassicOptions {
    /// `-o extended`: the layer-3 name and number first.
    pub extended: bool,
    /// `-o id`: the kernel's entry id.
    pub id: bool,
    /// `-o ktimestamp`: `[start=...]` and `[stop=...]` in local time.
    pub ktimestamp: bool,
}

/// Prints entries as classic lines.
pub struct ClassicPrinter<'m> {
    options: ClassicOptions,
    /// Label names, when `-o labels` asked for them and the map could be read.
    labels: Option<&'m LabelMap>,
    /// The current time in seconds, for `delta-time` of entries still alive.
    now: i64,
    /// `-o timestamp`: the time before each expectation and each event.
    timestamp: bool,
    line: Vec<u8>,
}

impl<'m> ClassicPrinter<'m> {
    pub fn new(options: ClassicOptions, labels: Option<&'m LabelMap>, now: i64) -> Self {
        ClassicPrinter {
            options,
            labels,
            now,
            timestamp: false,
            line: Vec::with_capacity(512),
        }
    }

    /// `-o timestamp`: the time before each expectation and each event.
    pub fn timestamped(self, timestamp: bool) -> Self {
        ClassicPrinter { timestamp, ..self }
    }

    /// Appends one expectation as `conntrack -L expect` does (libnetfilter_conntrack's
    /// `__snprintf_expect_default`): the timeout, `proto=`, the expected tuple, the mask
    /// and the master tuple, the zone, the flags, the class and the helper. `-o`
    /// modifiers other than xml change nothing here, as in conntrack.
    fn format_expectation(&mut self, expectation: &Expectation<'_>) {
        let line = &mut self.line;
        let family = expectation.family;
        if let Some(timeout) = expectation.timeout {
            push_decimal(line, timeout);
            line.push(b' ');
        }
        push_field(line, b"proto=", expectation.expected.protonum);
        push_tuple(line, family, &expectation.expected);
        push_tuple_named(line, family, &expectation.mask, b"mask-src=", b"mask-dst=");
        push_tuple_named(
            line,
            family,
            &expectation.master,
            b"master-src=",
            b"master-dst=",
        );
        if let Some(zone) = expectation.zone {
            push_field(line, b"zone=", zone);
        }
        let mut flags = expectation.flag_names().peekable();
        if flags.peek().is_some() {
            for (index, name) in flags.enumerate() {
                if index > 0 {
                    line.push(b',');
                }
                line.extend_from_slice(name.as_bytes());
            }
            line.push(b' ');
        }
        if let Some(class) = expectation.class {
            push_field(line, b"class=", class);
        }
        if let Some(helper) = expectation.helper {
            push_text_field(line, b"helper=", helper);
        }
    }

    /// Every field ends in a space; conntrack drops the last one. The process that
    /// caused an event follows, then the newline, and the line goes out in one write.
    fn end_line<W: Write>(&mut self, out: &mut W, cause: Option<Cause<'_>>) -> io::Result<()> {
        if self.line.last() == Some(&b' ') {
            self.line.pop();
        }
        if let Some(cause) = cause {
            push_userspace(&mut self.line, cause);
        }
        self.line.push(b'\n');
        out.write_all(&self.line)
    }

    fn format(&mut self, entry: &Entry<'_>) {
        let line = &mut self.line;
        if self.options.extended {
            push_padded(line, entry.family.name(), 8);
            push_decimal(line, entry.family.raw());
            line.push(b' ');
        }
        push_padded(line, entry.proto_name().unwrap_or("unknown"), 8);
        push_decimal(line, entry.protonum());
        line.push(b' ');
        if let Some(timeout) = entry.timeout {
            push_decimal(line, timeout);
            line.push(b' ');
        }
        if let Some(state) = entry.state {
            line.extend_from_slice(state.name().as_bytes());
            line.push(b' ');
        }

        push_tuple(line, entry.family, &entry.original);
        if let Some(zone) = entry.original.zone {
            push_field(line, b"zone-orig=", zone);
        }
        push_counters(line, entry.counters_original);
        if entry.is_unreplied() {
            line.extend_from_slice(b"[UNREPLIED] ");
        }

        push_tuple(line, entry.family, &entry.reply);
        if let Some(zone) = entry.reply.zone {
            push_field(line, b"zone-reply=", zone);
        }
        push_counters(line, entry.counters_reply);
        if entry.has_status(IPS_HW_OFFLOAD_BIT) {
            line.extend_from_slice(b"[HW_OFFLOAD] ");
        } else if entry.has_status(IPS_OFFLOAD_BIT) {
            line.extend_from_slice(b"[OFFLOAD] ");
        } else if entry.has_status(IPS_ASSURED_BIT) {
            line.extend_from_slice(b"[ASSURED] ");
        }

        if let Some(mark) = entry.mark {
            push_field(line, b"mark=", mark);
        }
        if let Some(secmark) = entry.secmark {
            push_field(line, b"secmark=", secmark);
        }
        if let Some(secctx) = entry.secctx {
            push_text_field(line, b"secctx=", secctx);
        }
        if let Some(zone) = entry.zone {
            push_field(line, b"zone=", zone);
        }
        if let Some(start) = entry.timestamp_start {
            push_field(
                line,
                b"delta-time=",
                delta_time(start, entry.timestamp_stop, self.now),
            );
        }
        if self.options.ktimestamp {
            if let Some(start) = entry.timestamp_start {
                push_bracketed_time(line, b"[start=", start);
            }
            if let Some(stop) = entry.timestamp_stop {
                push_bracketed_time(line, b"[stop=", stop);
            }
        }
        if let Some(helper) = entry.helper {
            push_text_field(line, b"helper=", helper);
        }
        if let Some(use_count) = entry.use_count {
            push_field(line, b"use=", use_count);
        }
        if self.options.id {
            if let Some(id) = entry.id {
                push_field(line, b"id=", id);
            }
        }
        if let (Some(map), Some(labels)) = (self.labels, entry.labels) {
            // As libnetfilter_conntrack: "labels=" and each named bit followed by a comma,
            // then the last character (that comma, or the '=' when no bit has a name) is
            // replaced by the field's space.
            line.extend_from_slice(b"labels=");
            for name in labels.bits().filter_map(|bit| map.name(bit)) {
                line.extend_from_slice(name.as_bytes());
                line.push(b',');
            }
            line.pop();
            line.push(b' ');
        }
    }
}

/// The line, after the namespace's `[LABEL] ` and an event's time (with `-o timestamp`)
/// and tag, and before the process that caused it. conntrack stamps an expectation
/// listed with the time of printing, and an expectation event with its time in the
/// listing's padded form; it adds no `[USERSPACE]` to expectation events.
impl Print for ClassicPrinter<'_> {
    fn print<W: Write>(&mut self, out: &mut W, record: Record, frame: &Frame) -> io::Result<()> {
        self.line.clear();
        frame.push_line_head(&mut self.line);
        let mut cause = None;
        match (record, frame.event) {
            (Record::Entry(entry), None) => self.format(entry),
            (Record::Entry(entry), Some(event)) => {
                self.now = unix_now_seconds();
                if self.timestamp {
                    push_event_time(&mut self.line, event.time);
                }
                self.line.extend_from_slice(event.kind.tag().as_bytes());
                self.format(entry);
                cause = event.cause;
            }
            (Record::Expectation(expectation), event) => {
                if self.timestamp {
                    let time = match event {
                        Some(event) => UNIX_EPOCH + Duration::from_nanos(event.time),
                        None => SystemTime::now(),
                    };
                    push_timestamp(&mut self.line, time);
                }
                if let Some(event) = event {
                    self.line.extend_from_slice(event.kind.tag().as_bytes());
                }
                self.format_expectation(expectation);
            }
        }
        self.end_line(out, cause)
    }

    fn finish<W: Write>(&mut self, _out: &mut W) -> io::Result<()> {
        Ok(())
    }
}

/// delta-time: seconds from start to stop, or to now for an entry still alive. The
/// subtraction is conntrack's: whole seconds of each, as a signed time_t printed unsigned.
fn delta_time(start_ns: u64, stop_ns: Option<u64>, now: i64) -> u64 {
    let start = (start_ns / 1_000_000_000) as i64;
    let stop = match stop_ns {
        Some(stop) if stop != 0 => (stop / 1_000_000_000) as i64,
        _ => now,
    };
    stop.wrapping_sub(start) as u64
}

fn push_padded(line: &mut Vec<u8>, text: &str, width: usize) {
    line.extend_from_slice(text.as_bytes());
    for _ in text.len()..width {
        line.push(b' ');
    }
    line.push(b' ');
}

/// `key` and the kernel's text as it came (helper names, security contexts).
fn push_text_field(line: &mut Vec<u8>, key: &[u8], text: &[u8]) {
    line.extend_from_slice(key);
    line.extend_from_slice(text);
    line.push(b' ');
}

fn push_field(line: &mut Vec<u8>, key: &[u8], value: impl itoa::Integer) {
    line.extend_from_slice(key);
    push_decimal(line, value);
    line.push(b' ');
}

fn push_tuple(line: &mut Vec<u8>, family: Family, tuple: &Tuple) {
    push_tuple_named(line, family, tuple, b"src=", b"dst=");
}

/// A tuple's addresses under the given keys (`mask-src=`...), then its layer 4.
/// libnetfilter_conntrack prints the addresses of a v4 or v6 entry, zero when the kernel
/// left one out, and no addresses at all for another family.
fn push_tuple_named(line: &mut Vec<u8>, family: Family, tuple: &Tuple, src: &[u8], dst: &[u8]) {
    if let Some(zero) = family.zero_address() {
        line.extend_from_slice(src);
        push_ip(line, tuple.src.unwrap_or(zero));
        line.push(b' ');
        line.extend_from_slice(dst);
        push_ip(line, tuple.dst.unwrap_or(zero));
        line.push(b' ');
    }
    push_l4(line, tuple.l4);
}

fn push_l4(line: &mut Vec<u8>, l4: L4) {
    match l4 {
        L4::Ports { sport, dport } => {
            push_field(line, b"sport=", sport);
            push_field(line, b"dport=", dport);
        }
        L4::Icmp {
            icmp_type,
            code,
            id,
        } => {
            push_field(line, b"type=", icmp_type);
            push_field(line, b"code=", code);
            push_field(line, b"id=", id);
        }
        L4::Gre { srckey, dstkey } => {
            line.extend_from_slice(b"srckey=0x");
            push_hex(line, srckey.into());
            line.extend_from_slice(b" dstkey=0x");
            push_hex(line, dstkey.into());
            line.push(b' ');
        }
        L4::None => {}
    }
}

fn push_counters(line: &mut Vec<u8>, counters: Option<Counters>) {
    if let Some(counters) = counters {
        push_field(line, b"packets=", counters.packets);
        push_field(line, b"bytes=", counters.bytes);
    }
}

fn push_bracketed_time(line: &mut Vec<u8>, key: &[u8], nanoseconds: u64) {
    line.extend_from_slice(key);
    crate::output::push_ctime(line, (nanoseconds / 1_000_000_000) as i64);
    line.extend_from_slice(b"] ");
}
