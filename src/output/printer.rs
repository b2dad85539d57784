//! The one printer interface: every format prints a [`Record`] (an entry or an
//! expectation) with its [`Frame`] (the namespace it is in, the event it came with), and
//! [`Printer`] is the one dispatch over the formats.
//!
//! The framing is passed in, never added by the caller around what a printer wrote: the
//! namespace tag is rendered once, by [`NetnsTag::of`], and each format puts it where it
//! belongs (`[LABEL] ` before the line, a `netns` member first in a JSON object, the
//! NETNS cell of the table); an event's kind, time and cause likewise. Counts and
//! statistics are framed the same way, by their printers in `output::stats`.

use std::io::{self, Write};

use super::Format;
use super::classic::ClassicPrinter;
use super::event::{Event, push_json_head};
use super::json::JsonPrinter;
use super::save::SavePrinter;
use super::table::TablePrinter;
use super::xml::XmlPrinter;
use crate::labelmap::LabelMap;
use crate::model::entry::Entry;
use crate::model::expect::Expectation;
use crate::model::table::Table;

/// What a printer prints.
#[derive(Debug, Clone, Copy)]
pub enum Record<'r, 'a> {
    Entry(&'r Entry<'a>),
    Expectation(&'r Expectation<'a>),
}

/// What is printed around a record besides the record itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Frame<'f> {
    /// The namespace the record comes from (`--all-netns`).
    pub netns: Option<&'f NetnsTag>,
    /// The event that brought it (`ct watch`).
    pub event: Option<Event<'f>>,
}

impl Frame<'_> {
    /// A record on its own: `ct list` of one namespace.
    pub const NONE: Frame<'static> = Frame {
        netns: None,
        event: None,
    };

    /// Appends what starts a line of text: the namespace's `[LABEL] `.
    pub fn push_line_head(&self, line: &mut Vec<u8>) {
        if let Some(netns) = self.netns {
            line.extend_from_slice(&netns.prefix);
        }
    }

    /// Appends the members a JSON object starts with, each followed by a comma: the
    /// namespace's `"netns":{...},`, then the event's `"event":...,"time":...,`.
    pub fn push_json_head(&self, line: &mut Vec<u8>) -> io::Result<()> {
        if let Some(netns) = self.netns {
            line.extend_from_slice(&netns.json_head);
        }
        if let Some(event) = &self.event {
            push_json_head(line, event)?;
        }
        Ok(())
    }
}

/// A format's printer. `print` writes one record with its frame, in one write (the
/// table keeps it until `finish`); `finish` writes what ends the output (XML's closing
/// tag, the table) after the last record.
pub trait Print {
    fn print<W: Write>(&mut self, out: &mut W, record: Record, frame: &Frame) -> io::Result<()>;

    fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()>;
}

/// What a command's printer is made for, besides the format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings<'m> {
    /// The table printed: for the expectation table, XML's document is `<expect>`, the
    /// table is the expectation table, and `-o save` (refused for it) falls back to
    /// conntrack's line.
    pub table: Table,
    /// Names for label bits, when `-o labels` (or JSON, the table) wants them.
    pub labels: Option<&'m LabelMap>,
    /// The time `delta-time` counts to (events count to the time of each event).
    pub now: i64,
    /// `-o timestamp`: the time before each expectation and each event; nothing for
    /// entries listed, as in conntrack.
    pub timestamp: bool,
    /// Records come from many namespaces (`--all-netns`): the table gains its NETNS
    /// column.
    pub namespaces: bool,
}

/// The printer of the chosen format: the one dispatch over formats.
pub enum Printer<'m> {
    Classic(ClassicPrinter<'m>),
    Json(JsonPrinter<'m>),
    Xml(XmlPrinter<'m>),
    Table(TablePrinter<'m>),
    Save(SavePrinter),
}

impl<'m> Printer<'m> {
    pub fn new(format: &Format, settings: Settings<'m>) -> Self {
        let Settings {
            table,
            labels,
            now,
            timestamp,
            namespaces,
        } = settings;
        let expectations = table.holds_expectations();
        match format {
            Format::Classic(options) => {
                Printer::Classic(ClassicPrinter::new(*options, labels, now).timestamped(timestamp))
            }
            // Commands refuse -o save for expectations before printing; were one to get
            // here, conntrack's line is what conntrack prints for it.
            Format::Save if expectations => Printer::Classic(
                ClassicPrinter::new(Default::default(), labels, now).timestamped(timestamp),
            ),
            Format::Save => Printer::Save(SavePrinter::new("-A")),
            Format::Json => Printer::Json(JsonPrinter::new(labels)),
            Format::Xml { .. } if expectations => {
                Printer::Xml(XmlPrinter::for_expectations(timestamp))
            }
            Format::Xml { ktimestamp } => {
                Printer::Xml(XmlPrinter::new(*ktimestamp, labels, now).timestamped(timestamp))
            }
            Format::Table { .. } if expectations => {
                Printer::Table(TablePrinter::for_expectations())
            }
            Format::Table { columns, color } => {
                let mut printer = TablePrinter::new(columns.clone(), *color, labels);
                if namespaces {
                    printer.show_namespaces();
                }
                Printer::Table(printer)
            }
        }
    }

    /// The printer of deleted entries: as `new`, but `-o save` writes each as the
    /// command that deletes it (`-D`), as `conntrack -D -o save` does.
    pub fn for_deleted(self) -> Self {
        match self {
            Printer::Save(_) => Printer::Save(SavePrinter::new("-D")),
            other => other,
        }
    }
}

impl Print for Printer<'_> {
    fn print<W: Write>(&mut self, out: &mut W, record: Record, frame: &Frame) -> io::Result<()> {
        match self {
            Printer::Classic(p) => p.print(out, record, frame),
            Printer::Json(p) => p.print(out, record, frame),
            Printer::Xml(p) => p.print(out, record, frame),
            Printer::Table(p) => p.print(out, record, frame),
            Printer::Save(p) => p.print(out, record, frame),
        }
    }

    fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        match self {
            Printer::Classic(p) => p.finish(out),
            Printer::Json(p) => p.finish(out),
            Printer::Xml(p) => p.finish(out),
            Printer::Table(p) => p.finish(out),
            Printer::Save(p) => p.finish(out),
        }
    }
}

/// A namespace as each format tags what comes from it (`--all-netns`), rendered once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetnsTag {
    /// The name people see: the namespace's name, `host`, or `net:INODE,pid:N,...`.
    pub label: String,
    /// `[LABEL] `, before conntrack's line.
    pub prefix: Vec<u8>,
    /// `"netns":{...},`, the first member of a JSON object.
    pub json_head: Vec<u8>,
}

impl NetnsTag {
    pub fn of(namespace: &crate::model::netns::Namespace) -> NetnsTag {
        let label = namespace.label();
        let object = JsonNetns {
            label: &label,
            name: namespace.name.as_deref(),
            inode: namespace.inode,
            pid: namespace.pid,
            container: namespace.container.as_deref(),
        };
        let mut json_head = b"\"netns\":".to_vec();
        // Strings and numbers always serialise.
        json_head.extend_from_slice(&serde_json::to_vec(&object).unwrap_or_default());
        json_head.push(b',');
        let mut prefix = Vec::new();
        push_line_tag(&mut prefix, &label);
        NetnsTag {
            prefix,
            json_head,
            label,
        }
    }
}

/// Appends a namespace's tag before a line of text: `[LABEL] `.
pub fn push_line_tag(line: &mut Vec<u8>, label: &str) {
    line.push(b'[');
    line.extend_from_slice(label.as_bytes());
    line.extend_from_slice(b"] ");
}

/// The `netns` member of JSON: the label, then what identifies the namespace.
#[derive(serde::Serialize)]
struct JsonNetns<'a> {
    label: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    inode: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    container: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::kernel::IPPROTO_UDP;
    use crate::model::entry::{Family, L4, Tuple};
    use crate::model::event::EventKind;
    use crate::model::netns::Namespace;
    use crate::output::classic::ClassicOptions;
    use crate::output::event::Cause;

    fn udp() -> Entry<'static> {
        let tuple = |src: &str, dst: &str, sport, dport| Tuple {
            src: Some(src.parse().unwrap()),
            dst: Some(dst.parse().unwrap()),
            protonum: IPPROTO_UDP,
            l4: L4::Ports { sport, dport },
            zone: None,
        };
        let mut entry = Entry::new(
            Family::Ipv4,
            tuple("10.0.0.1", "10.0.0.2", 1000, 53),
            tuple("10.0.0.2", "10.0.0.1", 53, 1000),
        );
        entry.timeout = Some(30);
        entry
    }

    fn tag() -> NetnsTag {
        NetnsTag::of(&Namespace {
            inode: 4026532281,
            name: Some("blue".into()),
            pid: Some(7),
            container: None,
            initial: false,
            path: PathBuf::from("/run/netns/blue"),
            spec: "/run/netns/blue".into(),
        })
    }

    const EVENT: Event<'static> = Event {
        kind: EventKind::New,
        time: 1_764_091_234_000_042_999,
        cause: Some(Cause {
            portid: 42,
            program: Some("ct"),
        }),
    };

    fn printed(format: &Format, settings: Settings<'_>, frames: &[Frame<'_>]) -> String {
        let mut printer = Printer::new(format, settings);
        let mut out = Vec::new();
        for frame in frames {
            printer
                .print(&mut out, Record::Entry(&udp()), frame)
                .unwrap();
        }
        printer.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_classic_line_has_the_namespace_then_the_event_around_it() {
        let netns = tag();
        let frame = Frame {
            netns: Some(&netns),
            event: Some(EVENT),
        };
        let settings = Settings {
            timestamp: true,
            ..Settings::default()
        };
        let format = Format::Classic(ClassicOptions::default());
        assert_eq!(
            printed(&format, settings, &[frame, Frame::NONE]),
            "[blue] [1764091234.000042]\t    [NEW] udp      17 30 src=10.0.0.1 dst=10.0.0.2 \
             sport=1000 dport=53 src=10.0.0.2 dst=10.0.0.1 sport=53 dport=1000 \
             [USERSPACE] portid=42 progname=ct\n\
             udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1000 dport=53 src=10.0.0.2 \
             dst=10.0.0.1 sport=53 dport=1000\n"
        );
    }

    #[test]
    fn a_json_object_starts_with_the_namespace_then_the_event() {
        let netns = tag();
        let frame = Frame {
            netns: Some(&netns),
            event: Some(EVENT),
        };
        let text = printed(&Format::Json, Settings::default(), &[frame]);
        assert!(
            text.starts_with(
                "{\"netns\":{\"label\":\"blue\",\"name\":\"blue\",\"inode\":4026532281,\
                 \"pid\":7},\"event\":\"new\",\"time\":1764091234000042999,\
                 \"userspace\":{\"portid\":42,\"program\":\"ct\"},\"family\":\"ipv4\","
            ),
            "{text}"
        );
        assert!(text.ends_with("}\n") && text.lines().count() == 1, "{text}");
    }

    #[test]
    fn save_writes_the_event_command_after_the_namespace() {
        let netns = tag();
        let event = Event {
            kind: EventKind::Destroy,
            cause: None,
            ..EVENT
        };
        let framed = Frame {
            netns: Some(&netns),
            event: Some(event),
        };
        assert_eq!(
            printed(&Format::Save, Settings::default(), &[framed]),
            "[blue] -D -t 30 -s 10.0.0.1 -d 10.0.0.2 -r 10.0.0.2 -q 10.0.0.1 -p udp \
             --sport 1000 --dport 53 --reply-port-src 53 --reply-port-dst 1000\n"
        );
    }

    #[test]
    fn the_table_puts_the_namespace_in_its_netns_column() {
        let netns = tag();
        let framed = Frame {
            netns: Some(&netns),
            event: None,
        };
        let format = Format::Table {
            columns: None,
            color: false,
        };
        let settings = Settings {
            namespaces: true,
            ..Settings::default()
        };
        let table = printed(&format, settings, &[framed]);
        let rows: Vec<&str> = table.lines().collect();
        assert!(rows[0].starts_with("NETNS  PROTO"), "{table}");
        assert!(rows[1].starts_with("blue   udp"), "{table}");
    }
}
