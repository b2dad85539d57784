//! Runs bytes through everything that reads what the kernel sends: the netlink message
//! walk, the entry decoder, the filter and every printer. Shared by the property test
//! (tests/decode_proptest.rs), the fuzz regression test and the fuzz target (fuzz/),
//! which include it by path. Whatever the bytes, this must not panic.
#![allow(dead_code)]

use std::sync::OnceLock;

use ct::decode::decode_entry;
use ct::filter::Filter;
use ct::labelmap::LabelMap;
use ct::model::entry::Entry;
use ct::netlink::{DumpStats, walk_datagram};
use ct::output::classic::{ClassicOptions, ClassicPrinter};
use ct::output::json::JsonPrinter;
use ct::output::table::TablePrinter;
use ct::output::xml::XmlPrinter;

/// A fixed "now" for delta-time, so runs are repeatable.
const NOW: i64 = 1_795_600_000;

fn label_map() -> &'static LabelMap {
    static MAP: OnceLock<LabelMap> = OnceLock::new();
    MAP.get_or_init(|| LabelMap::parse(include_str!("../fixtures/connlabel.conf")))
}

/// Treats `bytes` as a datagram of netlink messages and prints every entry in it.
pub fn exercise_datagram(bytes: &[u8]) {
    let mut printers = Printers::new();
    let mut stats = DumpStats::default();
    let _ = walk_datagram(bytes, None, "the capture", &mut stats, &mut |message| {
        if let Ok(entry) = decode_entry(message.family, message.attributes) {
            printers.print(&entry);
        }
        Ok(())
    });
    printers.finish();
}

/// Treats `attributes` as one conntrack message's attributes and prints the entry.
pub fn exercise_entry(family: u8, attributes: &[u8]) {
    if let Ok(entry) = decode_entry(family, attributes) {
        let mut printers = Printers::new();
        printers.print(&entry);
        printers.finish();
    }
}

/// One printer of each format, with every option that changes what is printed on.
struct Printers {
    plain: ClassicPrinter<'static>,
    full: ClassicPrinter<'static>,
    json: JsonPrinter<'static>,
    xml: XmlPrinter<'static>,
    table: TablePrinter<'static>,
    out: Vec<u8>,
}

impl Printers {
    fn new() -> Self {
        let all = ClassicOptions {
            extended: true,
            id: true,
            ktimestamp: true,
        };
        Printers {
            plain: ClassicPrinter::new(ClassicOptions::default(), None, NOW),
            full: ClassicPrinter::new(all, Some(label_map()), NOW),
            json: JsonPrinter::new(Some(label_map())),
            xml: XmlPrinter::new(true, Some(label_map()), NOW),
            table: TablePrinter::new(None, true, Some(label_map())),
            out: Vec::new(),
        }
    }

    fn print(&mut self, entry: &Entry<'_>) {
        let _ = Filter::default().matches(entry);
        self.out.clear();
        self.plain.print(&mut self.out, entry).unwrap();
        self.full.print(&mut self.out, entry).unwrap();
        self.json.print(&mut self.out, entry).unwrap();
        self.xml.print(&mut self.out, entry).unwrap();
        self.table.add(entry);
    }

    fn finish(mut self) {
        self.xml.finish(&mut self.out).unwrap();
        self.table.finish(&mut self.out).unwrap();
    }
}
