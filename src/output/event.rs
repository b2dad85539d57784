//! Events (`ct watch`): what happened to an entry or expectation, the frame each
//! printer puts around it (`Frame::event`).
//!
//! The classic line and the XML are `conntrack -E`'s, byte for byte: the tag
//! (`    [NEW] `) before the line, `-o timestamp`'s `[seconds.microseconds]` before the
//! tag, and ` [USERSPACE] portid=N progname=X` after the line when a process caused the
//! change. Two choices follow conntrack-tools 1.4.8 rather than the 1.4.7 many
//! distributions ship: the time is the kernel's own event time when it sends one, and
//! the XML carries no `[USERSPACE]` text (it made the document invalid). `-o save` writes
//! the command that repeats the change (`-A`, `-U`, `-D`). JSON puts the event's kind,
//! time and cause first in the entry's object.

use std::io;
use std::time::{SystemTime, UNIX_EPOCH};

use super::push_decimal;
use crate::model::event::EventKind;

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

/// The conntrack command `-o save` writes for an event: add, update or delete.
pub(super) fn save_command(kind: EventKind) -> &'static str {
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
pub(super) fn push_event_time(line: &mut Vec<u8>, nanos: u64) {
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
pub(super) fn push_userspace(line: &mut Vec<u8>, cause: Cause<'_>) {
    line.extend_from_slice(b" [USERSPACE] portid=");
    push_decimal(line, cause.portid);
    if let Some(program) = cause.program {
        line.extend_from_slice(b" progname=");
        line.extend_from_slice(program.as_bytes());
    }
}

/// `"event":"new","time":N,` and, for a change a process made,
/// `"userspace":{"portid":N,"program":"name"},`.
pub(super) fn push_json_head(line: &mut Vec<u8>, event: &Event<'_>) -> io::Result<()> {
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
