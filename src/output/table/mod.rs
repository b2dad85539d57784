//! `-o table`: an aligned table for people at a terminal.
//!
//! One row per entry, never wrapped; columns are separated by two spaces and no line ends
//! in a space. The default columns fit a 120-column terminal for IPv4 traffic: protocol,
//! state, the original source and destination (with ICMP's id, type and code and GRE's
//! keys, so two pings are two rows), the address NAT rewrote the connection to (only
//! where it did), TTL, flags, mark, zone, packets/bytes in human units when accounting is
//! on, helper and labels. A default column that is empty in every row is left out, except
//! PROTO, SOURCE and DESTINATION: an empty table is their header alone.
//!
//! Aligning columns needs every row's width, so unlike the other formats this one keeps
//! the rows until the dump ends, compactly: each cell is formatted once into one byte
//! arena (`Cells`), the widest cell of each column is tracked as rows arrive, and the
//! table is written line by line at the end (20 MiB peak RSS for 250,000 entries, where
//! `ct list` takes 4). The small tables (`ct list expect`, `ct stats`) go through
//! tabled's own table ([`render`]); `Cells` writes the same layout, and a test holds
//! the two to the same bytes. Like every printer this one only formats: it writes to the
//! writer it is given, and neither decodes nor filters.
//!
//! Here are the columns, `--color` and the two printers; `layout.rs` lays the cells out
//! (`Cells`, [`render`]), `write.rs` says what each cell holds and `units.rs` writes
//! counts and bytes in human units.

use std::io::{self, Write};

use clap::ValueEnum;
use tabled::builder::Builder;

use crate::labelmap::LabelMap;
use crate::model::entry::Entry;
use crate::model::expect::Expectation;
use crate::output::printer::{Frame, Print, Record};

mod layout;
#[cfg(test)]
mod tests;
mod units;
mod write;

pub use layout::render;
use layout::{Cells, Heading};
pub use units::{human_bytes, human_count};
use write::{
    Detail, destination_detail, push_endpoint, push_helper, push_proto, source_detail, text_of,
    write_cell,
};

/// A column of `-o table`, as `--columns` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Column {
    /// ipv4 or ipv6.
    Family,
    /// Protocol name (or number).
    Proto,
    /// tcp/sctp/dccp state.
    State,
    /// Original source: address and port, ICMP id (`id=N`) or GRE key (`srckey=0xN`).
    Src,
    /// Original destination: address and port, ICMP type and code (`type=8 code=0`) or
    /// GRE key (`dstkey=0xN`).
    Dst,
    /// Where NAT rewrote the connection: SNAT to the reply's destination, DNAT to the
    /// reply's source.
    Nat,
    /// Seconds left.
    Ttl,
    /// ASSURED, UNREPLIED, OFFLOAD, HW_OFFLOAD as short words.
    Flags,
    Mark,
    /// The zone: `7` for both directions, `orig 7` or `reply 7` for one direction only.
    Zone,
    /// Packets, both directions together.
    Packets,
    /// Bytes, both directions together.
    Bytes,
    /// The conntrack helper following the connection, e.g. ftp.
    Helper,
    Use,
    Id,
    Labels,
    /// The network namespace the entry is in (`--all-netns`).
    Netns,
}

impl Column {
    fn header(self) -> &'static str {
        match self {
            Column::Family => "FAMILY",
            Column::Proto => "PROTO",
            Column::State => "STATE",
            Column::Src => "SOURCE",
            Column::Dst => "DESTINATION",
            Column::Nat => "NAT",
            Column::Ttl => "TTL",
            Column::Flags => "FLAGS",
            Column::Mark => "MARK",
            Column::Zone => "ZONE",
            Column::Packets => "PACKETS",
            Column::Bytes => "BYTES",
            Column::Helper => "HELPER",
            Column::Use => "USE",
            Column::Id => "ID",
            Column::Labels => "LABELS",
            Column::Netns => "NETNS",
        }
    }

    fn right_aligned(self) -> bool {
        matches!(
            self,
            Column::Ttl | Column::Packets | Column::Bytes | Column::Use | Column::Id
        )
    }

    /// Whether a cell of this column may be something else than plain ASCII: names from
    /// outside (helper, labels), or colour.
    fn needs_measuring(self, color: bool) -> bool {
        match self {
            Column::Helper | Column::Labels | Column::Netns => true,
            Column::State | Column::Nat => color,
            _ => false,
        }
    }
}

/// `--color`: when to colour the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ColorChoice {
    /// When stdout is a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Whether to colour, given where stdout goes and the NO_COLOR variable
    /// (no-color.org: present and not empty disables colour).
    pub fn resolve(self, stdout_is_terminal: bool, no_color: Option<&str>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_terminal && no_color.is_none_or(str::is_empty),
        }
    }
}

/// The columns shown when `--columns` is not given, each only when some row has
/// something in it (but see `ALWAYS_SHOWN`).
pub const DEFAULT_COLUMNS: [Column; 13] = [
    Column::Proto,
    Column::State,
    Column::Src,
    Column::Dst,
    Column::Nat,
    Column::Ttl,
    Column::Flags,
    Column::Mark,
    Column::Zone,
    Column::Packets,
    Column::Bytes,
    Column::Helper,
    Column::Labels,
];

/// What names a connection: shown even when every row leaves them empty, so that an
/// empty table still has a header.
const ALWAYS_SHOWN: [Column; 3] = [Column::Proto, Column::Src, Column::Dst];

/// Prints entries as an aligned table when the dump ends.
pub struct TablePrinter<'m> {
    columns: Vec<Column>,
    /// Names for label bits; bits without one show as numbers.
    labels: Option<&'m LabelMap>,
    /// The user chose the columns: show them even when empty.
    chosen: bool,
    color: bool,
    /// The rows so far.
    cells: Cells,
    /// The expectation table's rows, for a printer made for expectations.
    expectations: Option<ExpectTable>,
}

impl<'m> TablePrinter<'m> {
    /// `columns`: what `--columns` gave, or `None` for the defaults. `color`: whether
    /// to colour the state and NAT cells. `labels`: names for the LABELS column.
    pub fn new(columns: Option<Vec<Column>>, color: bool, labels: Option<&'m LabelMap>) -> Self {
        let chosen = columns.is_some();
        let columns = columns.unwrap_or_else(|| DEFAULT_COLUMNS.to_vec());
        TablePrinter {
            cells: Cells::new(measuring(&columns, color)),
            columns,
            labels,
            chosen,
            color,
            expectations: None,
        }
    }

    /// `ct list expect -o table`: the expectation table, whose columns are its own.
    pub fn for_expectations() -> Self {
        TablePrinter {
            expectations: Some(ExpectTable::new()),
            ..TablePrinter::new(Some(Vec::new()), false, None)
        }
    }

    /// Puts the NETNS column first (`--all-netns`), unless the user's columns hold it.
    pub fn show_namespaces(&mut self) {
        if !self.columns.contains(&Column::Netns) {
            self.columns.insert(0, Column::Netns);
            self.cells = Cells::new(measuring(&self.columns, self.color));
        }
    }

    /// Keeps the entry's cells for the table; `netns` is its NETNS cell.
    fn add(&mut self, entry: &Entry<'_>, netns: &str) {
        let (color, labels) = (self.color, self.labels);
        for (index, &column) in self.columns.iter().enumerate() {
            self.cells.push(index, |text| match column {
                Column::Netns => text.extend_from_slice(netns.as_bytes()),
                _ => write_cell(text, column, entry, color, labels),
            });
        }
    }

    /// Writes the table: the header, then a line per entry. An empty dump prints the
    /// header alone.
    fn write_entries<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        let layout: Vec<Option<Heading>> = self
            .columns
            .iter()
            .enumerate()
            .map(|(index, &column)| {
                let shown =
                    self.chosen || ALWAYS_SHOWN.contains(&column) || self.cells.widths[index] > 0;
                shown.then(|| Heading {
                    name: column.header(),
                    right_aligned: column.right_aligned(),
                })
            })
            .collect();
        let written = self.cells.write(out, &layout);
        self.cells = Cells::new(measuring(&self.columns, self.color));
        written
    }
}

/// Rows are kept until `finish`, which aligns them: entries in the table of entries
/// (their namespace in its NETNS cell), expectations in the expectation table. A printer
/// shows the table it was made for; no command hands it the other kind.
impl Print for TablePrinter<'_> {
    fn print<W: Write>(&mut self, _: &mut W, record: Record, frame: &Frame) -> io::Result<()> {
        match (record, &mut self.expectations) {
            (Record::Entry(entry), None) => {
                let netns = frame.netns.map_or("", |netns| netns.label.as_str());
                self.add(entry, netns);
            }
            (Record::Expectation(expectation), Some(table)) => table.add(expectation),
            (Record::Entry(_), Some(_)) | (Record::Expectation(_), None) => {}
        }
        Ok(())
    }

    fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        match &mut self.expectations {
            Some(table) => table.finish(out),
            None => self.write_entries(out),
        }
    }
}

fn measuring(columns: &[Column], color: bool) -> Vec<bool> {
    columns.iter().map(|c| c.needs_measuring(color)).collect()
}

/// `ct list expect -o table`: one row per expectation, aligned once all are in (there
/// are few: a helper announces one or two per master connection).
struct ExpectTable {
    rows: Builder,
}

impl ExpectTable {
    const HEADER: [&'static str; 7] = [
        "PROTO",
        "SOURCE",
        "DESTINATION",
        "MASTER",
        "HELPER",
        "TTL",
        "FLAGS",
    ];

    fn new() -> Self {
        ExpectTable {
            rows: Builder::new(),
        }
    }

    /// Keeps the expectation's cells: where the expected connection may come from (`*`
    /// for any address; the port only when the mask fixes it), where it goes, the master
    /// connection, the helper, the seconds left and the flags.
    fn add(&mut self, expectation: &Expectation<'_>) {
        let (expected, mask, master) = (
            &expectation.expected,
            &expectation.mask,
            &expectation.master,
        );
        let any_source = mask.src.is_none_or(|m| m.is_unspecified());
        let source_port = expected
            .ports()
            .filter(|_| mask.ports().is_some_and(|(sport, _)| sport != 0))
            .map(|(sport, _)| Detail::Port(sport))
            .unwrap_or(Detail::None);
        let source = if any_source {
            "*".to_string()
        } else {
            text_of(|text| push_endpoint(text, expected.src, source_port))
        };
        let master_text = text_of(|text| {
            push_endpoint(text, master.src, source_detail(master));
            text.extend_from_slice(b" > ");
            push_endpoint(text, master.dst, destination_detail(master));
        });
        self.rows.push_record([
            text_of(|text| push_proto(text, expected.protonum)),
            source,
            text_of(|text| push_endpoint(text, expected.dst, destination_detail(expected))),
            master_text,
            text_of(|text| push_helper(text, expectation.helper)),
            expectation
                .timeout
                .map(|t| t.to_string())
                .unwrap_or_default(),
            expectation.flag_names().collect::<Vec<_>>().join(","),
        ]);
    }

    /// Renders the table; the header alone when there was no expectation.
    fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        let mut builder = std::mem::take(&mut self.rows);
        builder.insert_record(0, Self::HEADER);
        writeln!(out, "{}", render(builder, &[5]))
    }
}
