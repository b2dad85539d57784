//! Events (`ct watch`): each entry or expectation introduced by what happened to it.
//!
//! The classic line and the XML are `conntrack -E`'s, byte for byte: the tag
//! (`    [NEW] `) before the line, `-o timestamp`'s `[seconds.microseconds]` before the
//! tag, and ` [USERSPACE] portid=N progname=X` after the line when a process caused the
//! change. Two choices follow conntrack-tools 1.4.8 rather than the 1.4.7 many
//! distributions ship: the time is the kernel's own event time when it sends one, and
//! the XML carries no `[USERSPACE]` text (it made the document invalid). `-o save` writes
//! the command that repeats the change (`-A`, `-U`, `-D`). JSON puts the event's kind,
//! time and cause first in the entry's object.

use std::io::{self, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::classic::ClassicPrinter;
use super::json::JsonPrinter;
use super::save::SavePrinter;
use super::xml::XmlPrinter;
use super::{push_decimal, timestamp_prefix, unix_now_seconds};
use crate::labelmap::LabelMap;
use crate::model::entry::Entry;
use crate::model::event::EventKind;
use crate::model::expect::Expectation;
use crate::output::Format;

/// What the event says besides the entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    pub kind: EventKind,
    /// When it happened, in nanoseconds since the epoch: the kernel's time
    /// (CTA_TIMESTAMP_EVENT) when it sent one, else when ct received the event.
    pub time: u64,
    /// The process whose request made the change, when one did.
    pub cause: Option<Cause<'a>>,
}

/// The process behind a change: the netlink port id of its socket (the event message's
/// `nlmsg_pid`) and, when it could be found, the program's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cause<'a> {
    pub portid: u32,
    pub program: Option<&'a str>,
}

/// The event printer for the chosen format (`-o table` never gets here: a stream
/// cannot be aligned).
pub struct EventPrinter<'m> {
    format: EventFormat<'m>,
    /// `-o timestamp`.
    timestamp: bool,
    /// What goes before and after the entry, rebuilt for each event.
    head: Vec<u8>,
    tail: Vec<u8>,
}

enum EventFormat<'m> {
    Classic(ClassicPrinter<'m>),
    Json(JsonPrinter<'m>),
    Xml(XmlPrinter<'m>),
    Save(SavePrinter),
}

impl<'m> EventPrinter<'m> {
    /// The printer of entry events (`expectations` false) or expectation events.
    pub fn new(
        format: &Format,
        timestamp: bool,
        labels: Option<&'m LabelMap>,
        expectations: bool,
    ) -> Self {
        let now = unix_now_seconds();
        let format = match format {
            Format::Classic(options) => {
                EventFormat::Classic(ClassicPrinter::new(*options, labels, now))
            }
            Format::Json | Format::Table { .. } => EventFormat::Json(JsonPrinter::new(labels)),
            Format::Save => EventFormat::Save(SavePrinter::new("-A")),
            Format::Xml { .. } if expectations => {
                EventFormat::Xml(XmlPrinter::for_expectations(timestamp))
            }
            Format::Xml { ktimestamp } => {
                EventFormat::Xml(XmlPrinter::new(*ktimestamp, labels, now))
            }
        };
        EventPrinter {
            format,
            timestamp,
            head: Vec::with_capacity(64),
            tail: Vec::with_capacity(64),
        }
    }

    /// Writes one entry event, in one write.
    pub fn print<W: Write>(
        &mut self,
        out: &mut W,
        event: &Event<'_>,
        entry: &Entry<'_>,
    ) -> io::Result<()> {
        self.head.clear();
        self.tail.clear();
        match &mut self.format {
            EventFormat::Classic(printer) => {
                printer.set_now(unix_now_seconds());
                if self.timestamp {
                    push_event_time(&mut self.head, event.time);
                }
                self.head.extend_from_slice(event.kind.tag().as_bytes());
                if let Some(cause) = event.cause {
                    push_userspace(&mut self.tail, cause);
                }
                printer.print_framed(out, &self.head, entry, &self.tail)
            }
            EventFormat::Json(printer) => {
                push_json_head(&mut self.head, event)?;
                printer.print_headed(out, &self.head, entry)
            }
            EventFormat::Xml(printer) => {
                printer.set_now(unix_now_seconds());
                printer.print_event(out, entry, event.kind, self.timestamp)
            }
            EventFormat::Save(printer) => {
                if let Some(cause) = event.cause {
                    push_userspace(&mut self.tail, cause);
                }
                printer.print(out, save_command(event.kind), entry, &self.tail)
            }
        }
    }

    /// Writes one expectation event. conntrack adds no `[USERSPACE]` to these, and its
    /// `-o timestamp` prefix is the one of `conntrack -L` (padded with spaces).
    pub fn print_expectation<W: Write>(
        &mut self,
        out: &mut W,
        event: &Event<'_>,
        expectation: &Expectation<'_>,
    ) -> io::Result<()> {
        self.head.clear();
        match &mut self.format {
            EventFormat::Classic(printer) => {
                if self.timestamp {
                    let time = UNIX_EPOCH + Duration::from_nanos(event.time);
                    self.head.extend_from_slice(&timestamp_prefix(time));
                }
                self.head.extend_from_slice(event.kind.tag().as_bytes());
                printer.print_expectation_framed(out, &self.head, expectation)
            }
            EventFormat::Json(printer) => {
                push_json_head(&mut self.head, event)?;
                printer.print_expectation_headed(out, &self.head, expectation)
            }
            EventFormat::Xml(printer) => {
                printer.print_expectation_event(out, expectation, event.kind)
            }
            // Refused for expectations before printing, as conntrack has no such line.
            EventFormat::Save(_) => Ok(()),
        }
    }

    /// Writes what ends the output (XML's closing tag), if anything was printed.
    pub fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        match &mut self.format {
            EventFormat::Xml(printer) => printer.finish(out),
            EventFormat::Classic(_) | EventFormat::Json(_) | EventFormat::Save(_) => Ok(()),
        }
    }
}

/// The conntrack command `-o save` writes for an event: add, update or delete.
fn save_command(kind: EventKind) -> &'static str {
    match kind {
        EventKind::New => "-A",
        EventKind::Update => "-U",
        EventKind::Destroy => "-D",
    }
}

/// Nanoseconds since the epoch, now.
pub fn unix_now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_nanos() as u64)
        .unwrap_or(0)
}

/// `conntrack -E -o timestamp`'s prefix: `[seconds.microseconds]` and a tab, the
/// microseconds in six digits (`"[%-.8ld.%-.6ld]\t"`).
fn push_event_time(line: &mut Vec<u8>, nanos: u64) {
    let micros = nanos / 1_000 % 1_000_000;
    line.push(b'[');
    push_decimal(line, nanos / 1_000_000_000);
    line.push(b'.');
    let digits = line.len();
    push_decimal(line, micros);
    let padding = 6 - (line.len() - digits);
    line.splice(digits..digits, std::iter::repeat_n(b'0', padding));
    line.extend_from_slice(b"]\t");
}

/// ` [USERSPACE] portid=N progname=X`, or without the name when it was not found.
fn push_userspace(line: &mut Vec<u8>, cause: Cause<'_>) {
    line.extend_from_slice(b" [USERSPACE] portid=");
    push_decimal(line, cause.portid);
    if let Some(program) = cause.program {
        line.extend_from_slice(b" progname=");
        line.extend_from_slice(program.as_bytes());
    }
}

/// `"event":"new","time":N,` and, for a change a process made,
/// `"userspace":{"portid":N,"program":"name"},`.
fn push_json_head(line: &mut Vec<u8>, event: &Event<'_>) -> io::Result<()> {
    line.extend_from_slice(b"\"event\":\"");
    line.extend_from_slice(event.kind.name().as_bytes());
    line.extend_from_slice(b"\",\"time\":");
    push_decimal(line, event.time);
    line.push(b',');
    if let Some(cause) = event.cause {
        line.extend_from_slice(b"\"userspace\":{\"portid\":");
        push_decimal(line, cause.portid);
        if let Some(program) = cause.program {
            line.extend_from_slice(b",\"program\":");
            serde_json::to_writer(&mut *line, program).map_err(io::Error::other)?;
        }
        line.extend_from_slice(b"},");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_time_has_six_digits_of_microseconds() {
        let mut line = Vec::new();
        push_event_time(&mut line, 1_764_091_234_000_042_999);
        assert_eq!(line, b"[1764091234.000042]\t");
        line.clear();
        push_event_time(&mut line, 1_764_091_234_999_999_000);
        assert_eq!(line, b"[1764091234.999999]\t");
    }

    #[test]
    fn the_userspace_suffix_names_the_program_when_known() {
        let mut line = Vec::new();
        push_userspace(
            &mut line,
            Cause {
                portid: 4242,
                program: Some("conntrack"),
            },
        );
        assert_eq!(line, b" [USERSPACE] portid=4242 progname=conntrack");
        line.clear();
        push_userspace(
            &mut line,
            Cause {
                portid: 7,
                program: None,
            },
        );
        assert_eq!(line, b" [USERSPACE] portid=7");
    }

    #[test]
    fn the_json_head_escapes_the_program_name() {
        let mut line = Vec::new();
        let event = Event {
            kind: EventKind::Destroy,
            time: 12,
            cause: Some(Cause {
                portid: 9,
                program: Some("a\"b"),
            }),
        };
        push_json_head(&mut line, &event).unwrap();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            r#""event":"destroy","time":12,"userspace":{"portid":9,"program":"a\"b"},"#
        );
    }
}
