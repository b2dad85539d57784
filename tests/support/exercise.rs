//! Runs bytes through everything that reads what the kernel sends: the netlink message
//! walk, the entry decoder, the filter and every printer with every option. Shared by
//! the property test (tests/decode_proptest.rs) and the fuzz target (fuzz/), which
//! include it by path. Whatever the bytes, this must not panic.
#![allow(dead_code)]

use ct::decode::decode_entry;
use ct::entry::Entry;
use ct::filter::Filter;
use ct::labelmap::LabelMap;
use ct::netlink::{DumpStats, walk_batch};
use ct::output::classic::{ClassicOptions, ClassicPrinter};
use ct::output::json::JsonPrinter;
use ct::output::table::TablePrinter;
use ct::output::xml::XmlPrinter;

/// Treats `bytes` as a datagram of netlink messages and prints every entry in it.
pub fn exercise_datagram(bytes: &[u8]) {
    let mut stats = DumpStats::default();
    let _ = walk_batch(bytes, None, &mut stats, &mut |message| {
        exercise_entry(message.family, message.attributes);
        Ok(())
    });
}

/// Treats `attributes` as one conntrack message's attributes and prints the entry.
pub fn exercise_entry(family: u8, attributes: &[u8]) {
    if let Ok(entry) = decode_entry(family, attributes) {
        print_everywhere(&entry);
    }
}

fn print_everywhere(entry: &Entry<'_>) {
    let map = LabelMap::parse("0 zero\n1 one\n5 five\n");
    let mut out = Vec::new();
    let _ = Filter::default().matches(entry);
    for bits in 0..8u8 {
        let options = ClassicOptions {
            extended: bits & 1 != 0,
            id: bits & 2 != 0,
            ktimestamp: bits & 4 != 0,
        };
        ClassicPrinter::new(options, Some(&map), 1_795_600_000)
            .print(&mut out, entry)
            .unwrap();
    }
    JsonPrinter::new(Some(&map)).print(&mut out, entry).unwrap();
    let mut xml = XmlPrinter::new(true, Some(&map), 1_795_600_000);
    xml.print(&mut out, entry).unwrap();
    xml.finish(&mut out).unwrap();
    let mut table = TablePrinter::new(None, true);
    table.add(entry);
    table.finish(&mut out).unwrap();
}
