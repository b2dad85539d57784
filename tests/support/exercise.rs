//! Runs bytes through everything that reads what the kernel sends or a file holds: the
//! netlink message walk, the entry, expectation and statistics decoders, the saved-dump
//! reader (`--input`), the filter, `ct top`'s grouping and every printer (event printers
//! and `-o save` included). Shared by the property test
//! (tests/offline/decode_proptest.rs), the fuzz regression test and the fuzz target (fuzz/),
//! which include it by path. Whatever the bytes, this must not panic.

use std::sync::OnceLock;

use ct::decode::decode_entry;
use ct::decode::expect::decode_expectation;
use ct::decode::stats::{decode_cpu_stats, decode_global_stats, decode_proc_stats};
use ct::filter::Filter;
use ct::input::SavedDump;
use ct::labelmap::LabelMap;
use ct::model::entry::Entry;
use ct::model::event::EventKind;
use ct::model::expect::Expectation;
use ct::model::group::{Grouping, KeyField, SortBy};
use ct::model::stats::{CpuStats, GlobalStats};
use ct::model::table::Table;
use ct::netlink::{DumpStats, walk_datagram};
use ct::output::classic::{ClassicOptions, ClassicPrinter};
use ct::output::event::{Cause, Event};
use ct::output::json::JsonPrinter;
use ct::output::save::SavePrinter;
use ct::output::stats::{print_classic, print_json, print_table};
use ct::output::table::TablePrinter;
use ct::output::top::push_value;
use ct::output::xml::XmlPrinter;
use ct::output::{Format, Frame, Print, Printer, Record, Settings};

/// A fixed "now" for delta-time, so runs are repeatable.
const NOW: i64 = 1_795_600_000;

fn label_map() -> &'static LabelMap {
    static MAP: OnceLock<LabelMap> = OnceLock::new();
    MAP.get_or_init(|| LabelMap::parse(include_str!("../fixtures/connlabel.conf")))
}

/// Treats `bytes` as a datagram of netlink messages and prints every entry,
/// expectation and statistics message in it, each read as every kind (a message's type
/// says what it is, but the decoders must survive any bytes).
pub fn exercise_datagram(bytes: &[u8]) {
    let mut printers = Printers::new();
    let mut stats = DumpStats::default();
    let _ = walk_datagram(bytes, None, "the capture", &mut stats, &mut |message| {
        printers.every_kind(message.family, message.res_id, message.attributes);
        Ok(())
    });
    printers.finish();
}

/// Treats `attributes` as one message's attributes and prints what they decode to.
pub fn exercise_entry(family: u8, attributes: &[u8]) {
    let mut printers = Printers::new();
    printers.every_kind(family, 0, attributes);
    printers.finish();
}

/// Treats `bytes` as a saved dump (`--input`): every line read as conntrack's text, a
/// /proc line, ct's JSON or a `-o save` line, and every entry read filtered, printed by
/// the printers a saved dump's reader most often meets (conntrack's line with every
/// modifier, JSON, XML, save) and grouped by every key of `ct top`. Lighter than the netlink exercise, so
/// that the fuzzer spends its time in the readers.
pub fn exercise_saved(bytes: &[u8]) {
    let source: Box<dyn std::io::Read> = Box::new(std::io::Cursor::new(bytes.to_vec()));
    let Ok(mut dump) =
        SavedDump::from_reader("fuzz".into(), source, Some(NOW), Some(label_map().clone()))
    else {
        return;
    };
    let all = ClassicOptions {
        extended: true,
        id: true,
        ktimestamp: true,
    };
    let mut classic = ClassicPrinter::new(all, Some(label_map()), dump.captured_at());
    let mut json = JsonPrinter::new(Some(label_map()));
    let mut xml = XmlPrinter::new(true, Some(label_map()), dump.captured_at());
    let mut save = SavePrinter::new("-A");
    let keys = [
        "src",
        "dst/24/64",
        "sport",
        "dport",
        "proto",
        "state",
        "zone",
        "mark",
        "nat",
        "helper",
        "label",
        "family",
        "flag:ASSURED",
    ];
    let fields = keys.map(|key| KeyField::parse(key).unwrap()).to_vec();
    let mut grouping = Grouping::new(fields);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let _ = dump.read(&mut errors, |entry| {
        let _ = Filter::default().matches(entry);
        out.clear();
        let record = Record::Entry(entry);
        classic.print(&mut out, record, &Frame::NONE).unwrap();
        json.print(&mut out, record, &Frame::NONE).unwrap();
        xml.print(&mut out, record, &Frame::NONE).unwrap();
        save.print(&mut out, record, &Frame::NONE).unwrap();
        grouping.add(entry);
        Ok(())
    });
    xml.finish(&mut out).unwrap();
    for group in grouping.top(SortBy::Entries, 5) {
        let mut text = String::new();
        for value in group.key {
            push_value(&mut text, value, Some(label_map()));
        }
    }
}

/// The statistics printers on what the /proc fallback reads from any text.
pub fn exercise_proc_stats(text: &str) {
    let cpus = decode_proc_stats(text);
    print_stats(&cpus, &GlobalStats::default());
}

fn print_stats(cpus: &[CpuStats], global: &GlobalStats) {
    let mut out = Vec::new();
    print_classic(&mut out, cpus, None).unwrap();
    print_json(&mut out, Table::Conntrack, global, cpus, None).unwrap();
    print_table(&mut out, Table::Expect, global, cpus).unwrap();
}

/// One printer of each format, with every option that changes what is printed on.
struct Printers {
    expectations: Vec<Printer<'static>>,
    plain: ClassicPrinter<'static>,
    full: ClassicPrinter<'static>,
    json: JsonPrinter<'static>,
    xml: XmlPrinter<'static>,
    table: TablePrinter<'static>,
    save: SavePrinter,
    /// Event printers: entries and expectations, of every event format.
    events: Vec<Printer<'static>>,
    out: Vec<u8>,
}

impl Printers {
    fn new() -> Self {
        let all = ClassicOptions {
            extended: true,
            id: true,
            ktimestamp: true,
        };
        let formats = [
            Format::Classic(ClassicOptions::default()),
            Format::Json,
            Format::Xml { ktimestamp: false },
            Format::Table {
                columns: None,
                color: true,
            },
        ];
        Printers {
            expectations: formats
                .iter()
                .flat_map(|format| {
                    [false, true].map(|timestamp| {
                        let settings = Settings {
                            table: Table::Expect,
                            timestamp,
                            ..Settings::default()
                        };
                        Printer::new(format, settings)
                    })
                })
                .collect(),
            plain: ClassicPrinter::new(ClassicOptions::default(), None, NOW),
            full: ClassicPrinter::new(all, Some(label_map()), NOW),
            json: JsonPrinter::new(Some(label_map())),
            xml: XmlPrinter::new(true, Some(label_map()), NOW),
            table: TablePrinter::new(None, true, Some(label_map())),
            save: SavePrinter::new("-A"),
            events: [
                Format::Classic(all),
                Format::Json,
                Format::Xml { ktimestamp: true },
                Format::Save,
            ]
            .iter()
            .flat_map(|format| {
                [Table::Conntrack, Table::Expect].map(|table| {
                    let settings = Settings {
                        table,
                        labels: Some(label_map()),
                        now: NOW,
                        timestamp: true,
                        ..Settings::default()
                    };
                    Printer::new(format, settings)
                })
            })
            .collect(),
            out: Vec::new(),
        }
    }

    fn print(&mut self, entry: &Entry<'_>) {
        let _ = Filter::default().matches(entry);
        self.out.clear();
        let record = Record::Entry(entry);
        let out = &mut self.out;
        self.plain.print(out, record, &Frame::NONE).unwrap();
        self.full.print(out, record, &Frame::NONE).unwrap();
        self.json.print(out, record, &Frame::NONE).unwrap();
        self.xml.print(out, record, &Frame::NONE).unwrap();
        self.table.print(out, record, &Frame::NONE).unwrap();
        self.save.print(out, record, &Frame::NONE).unwrap();
        for (event, printer) in EVENTS.iter().cycle().zip(&mut self.events) {
            let frame = Frame {
                netns: None,
                event: Some(*event),
            };
            printer.print(out, record, &frame).unwrap();
        }
    }

    fn every_kind(&mut self, family: u8, cpu: u16, attributes: &[u8]) {
        if let Ok(entry) = decode_entry(family, attributes) {
            self.print(&entry);
        }
        if let Ok(expectation) = decode_expectation(family, attributes) {
            self.print_expectation(&expectation);
        }
        for kind in [Table::Conntrack, Table::Expect] {
            if let Ok(cpu) = decode_cpu_stats(kind, cpu, attributes) {
                let global = decode_global_stats(attributes).unwrap_or_default();
                print_stats(&[cpu], &global);
            }
        }
    }

    fn print_expectation(&mut self, expectation: &Expectation<'_>) {
        let _ = Filter::default().matches_expectation(expectation);
        let record = Record::Expectation(expectation);
        for printer in &mut self.expectations {
            printer.print(&mut self.out, record, &Frame::NONE).unwrap();
        }
        for (event, printer) in EVENTS.iter().cycle().zip(&mut self.events) {
            let frame = Frame {
                netns: None,
                event: Some(*event),
            };
            printer.print(&mut self.out, record, &frame).unwrap();
        }
    }

    fn finish(mut self) {
        self.xml.finish(&mut self.out).unwrap();
        self.table.finish(&mut self.out).unwrap();
        for printer in &mut self.expectations {
            printer.finish(&mut self.out).unwrap();
        }
        for printer in &mut self.events {
            printer.finish(&mut self.out).unwrap();
        }
    }
}

/// Events of every kind, with and without the process that caused them.
const EVENTS: [Event<'static>; 3] = [
    Event {
        kind: EventKind::New,
        time: 1_764_091_234_000_042_999,
        cause: None,
    },
    Event {
        kind: EventKind::Update,
        time: 0,
        cause: Some(Cause {
            portid: 42,
            program: Some("conntrack"),
        }),
    },
    Event {
        kind: EventKind::Destroy,
        time: u64::MAX,
        cause: Some(Cause {
            portid: u32::MAX,
            program: None,
        }),
    },
];
