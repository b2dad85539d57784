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

use std::io::{self, Write};
use std::net::IpAddr;

use clap::ValueEnum;
use tabled::builder::Builder;
use tabled::grid::util::string::get_line_width;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Padding, Style};

use super::{push_decimal, push_hex, push_ip};
use crate::kernel::{IPS_ASSURED_BIT, IPS_HW_OFFLOAD_BIT, IPS_OFFLOAD_BIT};
use crate::labelmap::LabelMap;
use crate::model::entry::{Counters, Entry, L4, Tuple, proto_name};
use crate::model::expect::Expectation;

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
    /// The namespace of the entries being added, for the NETNS column.
    netns: Option<String>,
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
            netns: None,
        }
    }

    /// Puts the NETNS column first (`--all-netns`), unless the user's columns hold it.
    pub fn show_namespaces(&mut self) {
        if !self.columns.contains(&Column::Netns) {
            self.columns.insert(0, Column::Netns);
            self.cells = Cells::new(measuring(&self.columns, self.color));
        }
    }

    /// The namespace of the entries added from now on.
    pub fn set_netns(&mut self, label: Option<&str>) {
        self.netns = label.map(String::from);
    }

    /// Keeps the entry's cells for the table.
    pub fn add(&mut self, entry: &Entry<'_>) {
        let (color, labels) = (self.color, self.labels);
        for (index, &column) in self.columns.iter().enumerate() {
            let netns = self.netns.as_deref();
            self.cells.push(index, |text| match column {
                Column::Netns => text.extend_from_slice(netns.unwrap_or_default().as_bytes()),
                _ => write_cell(text, column, entry, color, labels),
            });
        }
    }

    /// Writes the table: the header, then a line per entry. An empty dump prints the
    /// header alone.
    pub fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
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

fn measuring(columns: &[Column], color: bool) -> Vec<bool> {
    columns.iter().map(|c| c.needs_measuring(color)).collect()
}

/// How one column of [`Cells`] is written.
#[derive(Debug, Clone, Copy)]
struct Heading {
    name: &'static str,
    right_aligned: bool,
}

/// Spaces between two columns: what tabled's blank style (a space between columns) and
/// a right padding of one make, as [`render`] sets them.
const GAP: usize = 2;

/// The longest cell kept, in bytes; a longer one (only a LABELS cell with very long
/// names could be) is cut at a character boundary.
const MAX_CELL: usize = u16::MAX as usize;

/// The rows of a table, kept compact until the widths are known: each cell is formatted
/// once, straight into one byte arena, and remembered by its length alone (two bytes);
/// the widest cell of each column is tracked as rows arrive. For the default columns of
/// a UDP flow that is about 55 bytes a row, where tabled's `Builder` held a `String` per
/// cell (228 MiB at 250,000 rows).
///
/// Written by hand rather than by tabled: tabled's renderers for long inputs measure
/// every cell again with an ANSI parser (`IterTable`, `CompactTable`), and even its grid
/// given these cells and their widths (`PeekableGrid`) looks its configuration up cell by
/// cell and pads a character at a time. Rendering 250,000 rows of five columns into
/// memory on the bench machine took 670 ms with `IterTable`, 320-480 ms with
/// `CompactTable`, 120-190 ms with `PeekableGrid` and 16-25 ms with this writer, where
/// the whole table may cost 1.3 times `ct list` (about 120 ms more at that size). The
/// small tables, which tabled does well, it still renders ([`render`]); this writer lays
/// cells out as it does, to the byte (tested).
struct Cells {
    /// Every cell's text (UTF-8), back to back, row after row.
    text: Vec<u8>,
    /// The length in bytes of each cell, one per column per row.
    lengths: Vec<u16>,
    /// The widest cell of each column so far, in terminal columns.
    widths: Vec<usize>,
    /// Whether each column's cells need measuring; the others are plain ASCII, as wide as
    /// they are long (most cells: measuring every one cost a tenth of the user time of
    /// `ct list -o table`).
    measured: Vec<bool>,
}

impl Cells {
    /// `measured`: for each column, whether its cells may be other than plain ASCII.
    fn new(measured: Vec<bool>) -> Self {
        Cells {
            text: Vec::new(),
            lengths: Vec::new(),
            widths: vec![0; measured.len()],
            measured,
        }
    }

    /// How many terminal columns `cell` of column `column` takes.
    fn width(&self, column: usize, cell: &[u8]) -> usize {
        if self.measured[column] {
            width(cell)
        } else {
            cell.len()
        }
    }

    /// Appends the next cell of the row being added, in column `column`: `write`
    /// appends its text.
    fn push(&mut self, column: usize, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.text.len();
        write(&mut self.text);
        if self.text.len() - start > MAX_CELL {
            let mut end = start + MAX_CELL;
            // A UTF-8 continuation byte is 0b10xxxxxx: back up to where a character starts.
            while end > start && self.text[end] & 0xc0 == 0x80 {
                end -= 1;
            }
            self.text.truncate(end);
        }
        let cell = &self.text[start..];
        let width = self.width(column, cell);
        self.widths[column] = self.widths[column].max(width);
        // Cut to MAX_CELL above, so it fits.
        self.lengths.push(cell.len() as u16);
    }

    /// Writes the header and every row, a line at a time; `layout` has one entry per
    /// column, `None` for a column left out.
    fn write<W: Write>(&self, out: &mut W, layout: &[Option<Heading>]) -> io::Result<()> {
        let columns = layout.len();
        let widths: Vec<usize> = layout
            .iter()
            .zip(&self.widths)
            .map(|(heading, &cells)| heading.map_or(0, |h| cells.max(h.name.len())))
            .collect();
        let mut line = Vec::with_capacity(256);
        let mut writer = LineWriter::new(&mut line);
        for (heading, &column_width) in layout.iter().zip(&widths) {
            if let Some(heading) = heading {
                let name = heading.name.as_bytes();
                writer.cell(name, name.len(), column_width, heading.right_aligned);
            }
        }
        writer.end();
        out.write_all(&line)?;
        if columns == 0 {
            return Ok(());
        }
        let mut offset = 0;
        for row in self.lengths.chunks_exact(columns) {
            line.clear();
            let mut writer = LineWriter::new(&mut line);
            for (column, ((&length, heading), &column_width)) in
                row.iter().zip(layout).zip(&widths).enumerate()
            {
                let cell = &self.text[offset..offset + usize::from(length)];
                offset += usize::from(length);
                if let Some(heading) = heading {
                    let width = self.width(column, cell);
                    writer.cell(cell, width, column_width, heading.right_aligned);
                }
            }
            writer.end();
            out.write_all(&line)?;
        }
        Ok(())
    }
}

/// Builds one line of a table. Spaces owed before the next cell are only written when a
/// cell with something in it follows, so no line ends in spaces.
struct LineWriter<'a> {
    line: &'a mut Vec<u8>,
    /// Spaces owed.
    pending: usize,
    first: bool,
}

impl<'a> LineWriter<'a> {
    fn new(line: &'a mut Vec<u8>) -> Self {
        LineWriter {
            line,
            pending: 0,
            first: true,
        }
    }

    /// Puts `cell`, `width` columns wide, in a column `column_width` wide.
    fn cell(&mut self, cell: &[u8], width: usize, column_width: usize, right_aligned: bool) {
        if !self.first {
            self.pending += GAP;
        }
        self.first = false;
        let room = column_width.saturating_sub(width);
        if cell.is_empty() {
            self.pending += column_width;
            return;
        }
        if right_aligned {
            self.pending += room;
        }
        push_spaces(self.line, self.pending);
        self.line.extend_from_slice(cell);
        self.pending = if right_aligned { 0 } else { room };
    }

    fn end(self) {
        self.line.push(b'\n');
    }
}

fn push_spaces(line: &mut Vec<u8>, count: usize) {
    line.resize(line.len() + count, b' ');
}

/// How many terminal columns `cell` takes: its length for plain ASCII (nearly every
/// cell), else as tabled measures it (escape sequences take none, wide characters two).
fn width(cell: &[u8]) -> usize {
    if cell.iter().all(|&b| b.is_ascii() && b != 0x1b) {
        cell.len()
    } else {
        std::str::from_utf8(cell).map_or(cell.len(), get_line_width)
    }
}

/// Renders rows (the header first) as ct's tables look: no borders, two spaces between
/// columns, the columns at `right_aligned` aligned right, no line ending in a space.
/// Shared by the small tables ct prints (expectations, statistics).
pub fn render(builder: Builder, right_aligned: &[usize]) -> String {
    let mut table = builder.build();
    table.with(Style::blank()).with(Padding::new(0, 1, 0, 0));
    for &position in right_aligned {
        table.modify(Columns::one(position), Alignment::right());
    }
    // tabled pads every cell to its column's width, the last one included.
    let text = table.to_string();
    let mut trimmed = String::with_capacity(text.len());
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            trimmed.push('\n');
        }
        trimmed.push_str(line.trim_end_matches(' '));
    }
    trimmed
}

/// `ct list expect -o table`: one row per expectation, aligned once all are in (there
/// are few: a helper announces one or two per master connection).
pub struct ExpectTablePrinter {
    rows: Builder,
}

impl Default for ExpectTablePrinter {
    fn default() -> Self {
        Self::new()
    }
}

impl ExpectTablePrinter {
    const HEADER: [&'static str; 7] = [
        "PROTO",
        "SOURCE",
        "DESTINATION",
        "MASTER",
        "HELPER",
        "TTL",
        "FLAGS",
    ];

    pub fn new() -> Self {
        ExpectTablePrinter {
            rows: Builder::new(),
        }
    }

    /// Keeps the expectation's cells: where the expected connection may come from (`*`
    /// for any address; the port only when the mask fixes it), where it goes, the master
    /// connection, the helper, the seconds left and the flags.
    pub fn add(&mut self, expectation: &Expectation<'_>) {
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
    pub fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        let mut builder = std::mem::take(&mut self.rows);
        builder.insert_record(0, Self::HEADER);
        writeln!(out, "{}", render(builder, &[5]))
    }
}

/// The text `write` appends, as a `String` (for the few cells of the small tables).
fn text_of(write: impl FnOnce(&mut Vec<u8>)) -> String {
    let mut text = Vec::new();
    write(&mut text);
    String::from_utf8_lossy(&text).into_owned()
}

/// ANSI colours, used only when colour is on.
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

/// Appends the cell of `column` for `entry`.
fn write_cell(
    text: &mut Vec<u8>,
    column: Column,
    entry: &Entry<'_>,
    color: bool,
    labels: Option<&LabelMap>,
) {
    match column {
        // Not the entry's: TablePrinter::add writes it.
        Column::Netns => {}
        Column::Family => text.extend_from_slice(entry.family.name().as_bytes()),
        Column::Proto => push_proto(text, entry.protonum()),
        Column::State => {
            if let Some(state) = entry.state {
                let name = state.name();
                let colour = state_colour(name, entry.is_unreplied()).filter(|_| color);
                paint(text, colour, |text| text.extend_from_slice(name.as_bytes()));
            }
        }
        Column::Src => push_endpoint(text, entry.original.src, source_detail(&entry.original)),
        Column::Dst => push_endpoint(
            text,
            entry.original.dst,
            destination_detail(&entry.original),
        ),
        Column::Nat => paint(text, color.then_some(CYAN), |text| push_nat(text, entry)),
        Column::Ttl => {
            if let Some(timeout) = entry.timeout {
                push_decimal(text, timeout);
            }
        }
        Column::Flags => push_flags(text, entry),
        Column::Mark => {
            if let Some(mark) = entry.mark.filter(|&m| m != 0) {
                push_decimal(text, mark);
            }
        }
        Column::Zone => push_zone(text, entry),
        Column::Packets => push_counted(text, entry, |c| c.packets, push_human_count),
        Column::Bytes => push_counted(text, entry, |c| c.bytes, push_human_bytes),
        Column::Helper => push_helper(text, entry.helper),
        Column::Use => {
            if let Some(count) = entry.use_count {
                push_decimal(text, count);
            }
        }
        Column::Id => {
            if let Some(id) = entry.id {
                push_decimal(text, id);
            }
        }
        Column::Labels => {
            if let Some(bits) = entry.labels {
                for (index, bit) in bits.bits().enumerate() {
                    if index > 0 {
                        text.push(b',');
                    }
                    match labels.and_then(|map| map.name(bit)) {
                        Some(name) => push_printable(text, name),
                        None => push_decimal(text, bit),
                    }
                }
            }
        }
    }
}

/// Appends what `write` appends, between `colour` and a reset when there is a colour
/// and something to colour.
fn paint(text: &mut Vec<u8>, colour: Option<&str>, write: impl FnOnce(&mut Vec<u8>)) {
    let Some(colour) = colour else {
        return write(text);
    };
    let start = text.len();
    text.extend_from_slice(colour.as_bytes());
    let content = text.len();
    write(text);
    if text.len() == content {
        text.truncate(start);
    } else {
        text.extend_from_slice(RESET.as_bytes());
    }
}

/// The colour of a tracker state: green where the connection is established, yellow
/// for a handshake under way, red for a handshake nobody answered (a TCP SYN, an SCTP
/// INIT, a DCCP REQUEST without reply) and for DCCP's INVALID, dim for the closing
/// states, which are how connections normally end (FIN_WAIT ... TIME_WAIT, CLOSE,
/// SCTP's SHUTDOWN_* and CLOSED, DCCP's CLOSEREQ, CLOSING, TIMEWAIT); none for NONE and
/// DCCP's IGNORE. The names are the kernel's (TCP_CONNTRACK_NAMES and its siblings).
fn state_colour(name: &str, unreplied: bool) -> Option<&'static str> {
    match name {
        "ESTABLISHED" | "OPEN" | "HEARTBEAT_SENT" | "HEARTBEAT_ACKED" => Some(GREEN),
        "SYN_SENT" | "COOKIE_WAIT" | "REQUEST" if unreplied => Some(RED),
        "SYN_SENT" | "SYN_RECV" | "SYN_SENT2" | "COOKIE_WAIT" | "COOKIE_ECHOED" | "REQUEST"
        | "RESPOND" | "PARTOPEN" => Some(YELLOW),
        "FIN_WAIT" | "CLOSE_WAIT" | "LAST_ACK" | "TIME_WAIT" | "CLOSE" | "CLOSED"
        | "SHUTDOWN_SENT" | "SHUTDOWN_RECD" | "SHUTDOWN_ACK_SENT" | "CLOSEREQ" | "CLOSING"
        | "TIMEWAIT" => Some(DIM),
        "INVALID" => Some(RED),
        _ => None,
    }
}

/// A protocol's name, or its number for one conntrack has no name for.
fn push_proto(text: &mut Vec<u8>, protonum: u8) {
    match proto_name(protonum) {
        Some(name) => text.extend_from_slice(name.as_bytes()),
        None => push_decimal(text, protonum),
    }
}

/// What tells one end of a flow apart beside its address.
#[derive(Debug, Clone, Copy)]
enum Detail {
    None,
    /// tcp, udp, udplite, sctp, dccp: `10.0.0.1:80`, `[fd00::1]:80`.
    Port(u16),
    /// ICMP's identifier, which the kernel keeps in the source half: `10.0.0.1 id=7`.
    IcmpId(u16),
    /// ICMP's type and code, in the destination half: `10.0.0.2 type=8 code=0`.
    IcmpType(u8, u8),
    /// A GRE key, in hex, named as conntrack names it: `srckey=0x1234`, `dstkey=0xabcd`.
    Key(&'static str, u16),
}

/// The source half of a tuple's layer-4 identity.
fn source_detail(tuple: &Tuple) -> Detail {
    match tuple.l4 {
        L4::Ports { sport, .. } => Detail::Port(sport),
        L4::Icmp { id, .. } => Detail::IcmpId(id),
        L4::Gre { srckey, .. } => Detail::Key("srckey", srckey),
        L4::None => Detail::None,
    }
}

/// The destination half of a tuple's layer-4 identity.
fn destination_detail(tuple: &Tuple) -> Detail {
    match tuple.l4 {
        L4::Ports { dport, .. } => Detail::Port(dport),
        L4::Icmp {
            icmp_type, code, ..
        } => Detail::IcmpType(icmp_type, code),
        L4::Gre { dstkey, .. } => Detail::Key("dstkey", dstkey),
        L4::None => Detail::None,
    }
}

/// `10.0.0.1:80`, `[fd00::1]:80`, `10.0.0.1 id=7`, `10.0.0.2 type=8 code=0`,
/// `10.0.0.1 srckey=0x1234`, or the bare address; nothing without an address.
fn push_endpoint(text: &mut Vec<u8>, address: Option<IpAddr>, detail: Detail) {
    let Some(address) = address else {
        return;
    };
    if let Detail::Port(port) = detail {
        let bracket = address.is_ipv6();
        if bracket {
            text.push(b'[');
        }
        push_ip(text, address);
        if bracket {
            text.push(b']');
        }
        text.push(b':');
        push_decimal(text, port);
        return;
    }
    push_ip(text, address);
    match detail {
        Detail::None | Detail::Port(_) => {}
        Detail::IcmpId(id) => {
            text.extend_from_slice(b" id=");
            push_decimal(text, id);
        }
        Detail::IcmpType(icmp_type, code) => {
            text.extend_from_slice(b" type=");
            push_decimal(text, icmp_type);
            text.extend_from_slice(b" code=");
            push_decimal(text, code);
        }
        Detail::Key(name, key) => {
            text.push(b' ');
            text.extend_from_slice(name.as_bytes());
            text.extend_from_slice(b"=0x");
            push_hex(text, key.into());
        }
    }
}

/// What NAT did (as `-n`/`-g` see it): `SNAT 192.0.2.1:61000`, `DNAT 10.0.0.7:8080`,
/// both, or nothing. The rewritten end is written as the SOURCE or DESTINATION column
/// writes it: an ICMP source with its id, a GRE end with its key.
fn push_nat(text: &mut Vec<u8>, entry: &Entry<'_>) {
    let rewrites = [
        ("SNAT", entry.source_nat(), source_detail(&entry.original)),
        (
            "DNAT",
            entry.destination_nat(),
            destination_detail(&entry.original),
        ),
    ];
    let mut first = true;
    for (word, rewrite, original) in rewrites {
        let Some(rewrite) = rewrite else {
            continue;
        };
        if !first {
            text.push(b' ');
        }
        first = false;
        text.extend_from_slice(word.as_bytes());
        // The rewritten end: its kind from the original tuple, its value (port, ICMP
        // id, GRE key) from the rewrite.
        let detail = match (original, rewrite.l4) {
            (Detail::Port(_), Some(value)) => Detail::Port(value),
            (Detail::IcmpId(_), Some(value)) => Detail::IcmpId(value),
            (Detail::Key(name, _), Some(value)) => Detail::Key(name, value),
            // ICMP has no destination half NAT could rewrite.
            _ => Detail::None,
        };
        if rewrite.address.is_some() {
            text.push(b' ');
            push_endpoint(text, rewrite.address, detail);
        }
    }
}

fn push_flags(text: &mut Vec<u8>, entry: &Entry<'_>) {
    let unreplied = entry.is_unreplied();
    if unreplied {
        text.extend_from_slice(b"UNREPLIED");
    }
    let word: &[u8] = if entry.has_status(IPS_HW_OFFLOAD_BIT) {
        b"HW_OFFLOAD"
    } else if entry.has_status(IPS_OFFLOAD_BIT) {
        b"OFFLOAD"
    } else if entry.has_status(IPS_ASSURED_BIT) {
        b"ASSURED"
    } else {
        return;
    };
    if unreplied {
        text.push(b',');
    }
    text.extend_from_slice(word);
}

/// `7` for an entry in zone 7 both ways (CTA_ZONE); `orig 7` or `reply 7` for a zone
/// of one direction only (CTA_TUPLE_ZONE, made by `--orig-zone`/`--reply-zone`).
fn push_zone(text: &mut Vec<u8>, entry: &Entry<'_>) {
    let zones = [
        ("", entry.zone),
        ("orig ", entry.original.zone),
        ("reply ", entry.reply.zone),
    ];
    let mut first = true;
    for (word, zone) in zones {
        let Some(zone) = zone else {
            continue;
        };
        if !first {
            text.push(b' ');
        }
        first = false;
        text.extend_from_slice(word.as_bytes());
        push_decimal(text, zone);
    }
}

fn push_helper(text: &mut Vec<u8>, helper: Option<&[u8]>) {
    if let Some(helper) = helper {
        push_printable(text, &String::from_utf8_lossy(helper));
    }
}

/// Appends `name` with control characters as `?`: helper names come from the kernel and
/// label names from a file, and neither may break a line or send a terminal escape.
fn push_printable(text: &mut Vec<u8>, name: &str) {
    if !name.chars().any(char::is_control) {
        text.extend_from_slice(name.as_bytes());
        return;
    }
    for c in name.chars() {
        let c = if c.is_control() { '?' } else { c };
        let mut buffer = [0; 4];
        text.extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
    }
}

/// Both directions' counter together, formatted; nothing without accounting.
fn push_counted(
    text: &mut Vec<u8>,
    entry: &Entry<'_>,
    field: impl Fn(&Counters) -> u64,
    push: fn(&mut Vec<u8>, u64),
) {
    match (entry.counters_original, entry.counters_reply) {
        (None, None) => {}
        // Saturating: the counters come from the kernel (or a corrupted message) and can
        // be anything; found by the fuzzer (issue 5).
        (a, b) => push(
            text,
            a.map(|c| field(&c))
                .unwrap_or(0)
                .saturating_add(b.map(|c| field(&c)).unwrap_or(0)),
        ),
    }
}

/// 999, 1.2k, 34k, 5.6M: three significant figures at most, powers of 1000.
pub fn human_count(value: u64) -> String {
    text_of(|text| push_human_count(text, value))
}

/// 999B, 1.2K, 34K, 5.6M: powers of 1024, as `ls -h`.
pub fn human_bytes(value: u64) -> String {
    text_of(|text| push_human_bytes(text, value))
}

fn push_human_count(text: &mut Vec<u8>, value: u64) {
    push_human(text, value, 1000.0, ["", "k", "M", "G", "T", "P", "E"]);
}

fn push_human_bytes(text: &mut Vec<u8>, value: u64) {
    push_human(text, value, 1024.0, ["B", "K", "M", "G", "T", "P", "E"]);
}

fn push_human(text: &mut Vec<u8>, value: u64, step: f64, units: [&str; 7]) {
    let mut scaled = value as f64;
    let mut unit = 0;
    while scaled >= step && unit < units.len() - 1 {
        scaled /= step;
        unit += 1;
    }
    // Writing into a Vec cannot fail.
    let _ = if unit == 0 {
        push_decimal(text, value);
        Ok(())
    } else if scaled < 10.0 {
        write!(text, "{scaled:.1}")
    } else {
        write!(text, "{scaled:.0}")
    };
    text.extend_from_slice(units[unit].as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::*;
    use crate::model::entry::{Family, Labels, ProtoState, Status};

    fn tuple(src: &str, dst: &str, protonum: u8, l4: L4) -> Tuple {
        Tuple {
            src: Some(src.parse().unwrap()),
            dst: Some(dst.parse().unwrap()),
            protonum,
            l4,
            zone: None,
        }
    }

    fn ports(sport: u16, dport: u16) -> L4 {
        L4::Ports { sport, dport }
    }

    /// A masqueraded HTTPS connection with accounting.
    fn entry() -> Entry<'static> {
        let mut entry = Entry::new(
            Family::Ipv4,
            tuple("10.0.0.1", "93.184.216.34", IPPROTO_TCP, ports(40000, 443)),
            tuple("93.184.216.34", "192.0.2.1", IPPROTO_TCP, ports(443, 61000)),
        );
        entry.timeout = Some(431999);
        entry.state = Some(ProtoState::Tcp(3));
        entry.status = Some(Status(
            1 << IPS_SEEN_REPLY_BIT
                | 1 << IPS_ASSURED_BIT
                | 1 << IPS_SRC_NAT_BIT
                | 1 << IPS_SRC_NAT_DONE_BIT,
        ));
        entry.mark = Some(0);
        entry.use_count = Some(1);
        entry.id = Some(7);
        entry.counters_original = Some(Counters {
            packets: 1500,
            bytes: 2_000_000,
        });
        entry.counters_reply = Some(Counters {
            packets: 1000,
            bytes: 100_000,
        });
        entry
    }

    /// An unanswered UDP flow without NAT, state or counters.
    fn udp(sport: u16) -> Entry<'static> {
        let mut entry = Entry::new(
            Family::Ipv4,
            tuple("10.0.0.1", "10.0.0.53", IPPROTO_UDP, ports(sport, 53)),
            tuple("10.0.0.53", "10.0.0.1", IPPROTO_UDP, ports(53, sport)),
        );
        entry.timeout = Some(30);
        entry.status = Some(Status(1 << IPS_CONFIRMED_BIT));
        entry
    }

    /// A ping from 10.0.0.1 to 10.0.0.2 with ICMP id `id`, unanswered.
    fn ping(id: u16) -> Entry<'static> {
        let request = L4::Icmp {
            icmp_type: 8,
            code: 0,
            id,
        };
        let reply = L4::Icmp {
            icmp_type: 0,
            code: 0,
            id,
        };
        let mut entry = Entry::new(
            Family::Ipv4,
            tuple("10.0.0.1", "10.0.0.2", IPPROTO_ICMP, request),
            tuple("10.0.0.2", "10.0.0.1", IPPROTO_ICMP, reply),
        );
        entry.timeout = Some(29);
        entry.status = Some(Status(1 << IPS_CONFIRMED_BIT));
        entry
    }

    fn table(columns: Option<Vec<Column>>, color: bool, entries: &[Entry<'_>]) -> String {
        let mut printer = TablePrinter::new(columns, color, None);
        for entry in entries {
            printer.add(entry);
        }
        finish(&mut printer)
    }

    fn finish(printer: &mut TablePrinter) -> String {
        let mut out = Vec::new();
        printer.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn assert_no_trailing_space(table: &str) {
        for line in table.lines() {
            assert!(!line.ends_with(' '), "trailing space: {line:?} in\n{table}");
        }
    }

    /// Removes ANSI colour sequences (`ESC [ ... m`).
    fn strip_ansi(text: &str) -> String {
        let mut plain = String::new();
        let mut rest = text;
        while let Some(start) = rest.find('\x1b') {
            plain.push_str(&rest[..start]);
            let end = rest[start..]
                .find('m')
                .map_or(rest.len(), |m| start + m + 1);
            rest = &rest[end..];
        }
        plain.push_str(rest);
        plain
    }

    #[test]
    fn default_columns_drop_the_empty_ones_and_align() {
        let mut udp = udp(40000);
        udp.counters_original = Some(Counters {
            packets: 1,
            bytes: 76,
        });
        assert_eq!(
            table(None, false, &[entry(), udp]),
            concat!(
                "PROTO  STATE        SOURCE          DESTINATION        NAT                      TTL  FLAGS      PACKETS  BYTES\n",
                "tcp    ESTABLISHED  10.0.0.1:40000  93.184.216.34:443  SNAT 192.0.2.1:61000  431999  ASSURED       2.5k   2.0M\n",
                "udp                 10.0.0.1:40000  10.0.0.53:53                                 30  UNREPLIED        1    76B\n",
            )
        );
    }

    #[test]
    fn no_line_ends_in_a_space() {
        // The last column empty in some rows, right-aligned in others, chosen and empty
        // everywhere, and a NAT cell that ends a line.
        let mut labelled = udp(1);
        let bits = [0b1u8, 0, 0, 0];
        labelled.labels = Some(Labels(&bits));
        for columns in [
            None,
            Some(vec![Column::Proto, Column::Ttl]),
            Some(vec![Column::Src, Column::Helper]),
            Some(vec![Column::Src, Column::Nat]),
        ] {
            for color in [false, true] {
                let text = table(
                    columns.clone(),
                    color,
                    &[entry(), udp(2), labelled, ping(3)],
                );
                assert_no_trailing_space(&text);
                assert!(text.ends_with('\n'));
            }
        }
    }

    #[test]
    fn an_empty_table_is_its_header() {
        assert_eq!(table(None, false, &[]), "PROTO  SOURCE  DESTINATION\n");
        assert_eq!(
            table(Some(vec![Column::Id, Column::Ttl, Column::Zone]), true, &[]),
            "ID  TTL  ZONE\n"
        );
        // And the printer is ready for another table after it.
        let mut printer = TablePrinter::new(None, false, None);
        printer.add(&udp(1));
        assert_eq!(finish(&mut printer).lines().count(), 2);
        assert_eq!(finish(&mut printer), "PROTO  SOURCE  DESTINATION\n");
    }

    #[test]
    fn chosen_columns_are_kept_even_when_empty() {
        assert_eq!(
            table(
                Some(vec![Column::Id, Column::Zone, Column::Proto]),
                false,
                &[entry()]
            ),
            "ID  ZONE  PROTO\n 7        tcp\n"
        );
    }

    #[test]
    fn zone_and_helper_columns_appear_when_an_entry_has_them() {
        let plain = table(None, false, &[udp(1)]);
        assert!(
            !plain.contains("ZONE") && !plain.contains("HELPER"),
            "{plain}"
        );

        let mut both_ways = udp(2);
        both_ways.zone = Some(7);
        let mut original_only = udp(3);
        original_only.original.zone = Some(8);
        let mut reply_only = udp(4);
        reply_only.reply.zone = Some(9);
        let mut ftp = entry();
        ftp.helper = Some(b"ftp");
        assert_eq!(
            table(
                None,
                false,
                &[udp(1), both_ways, original_only, reply_only, ftp]
            ),
            concat!(
                "PROTO  STATE        SOURCE          DESTINATION        NAT                      TTL  FLAGS      ZONE     PACKETS  BYTES  HELPER\n",
                "udp                 10.0.0.1:1      10.0.0.53:53                                 30  UNREPLIED\n",
                "udp                 10.0.0.1:2      10.0.0.53:53                                 30  UNREPLIED  7\n",
                "udp                 10.0.0.1:3      10.0.0.53:53                                 30  UNREPLIED  orig 8\n",
                "udp                 10.0.0.1:4      10.0.0.53:53                                 30  UNREPLIED  reply 9\n",
                "tcp    ESTABLISHED  10.0.0.1:40000  93.184.216.34:443  SNAT 192.0.2.1:61000  431999  ASSURED                2.5k   2.0M  ftp\n",
            )
        );
    }

    #[test]
    fn pings_to_one_host_are_told_apart_by_id_type_and_code() {
        let mut timestamp = ping(3);
        if let L4::Icmp { icmp_type, .. } = &mut timestamp.original.l4 {
            *icmp_type = 13;
        }
        let text = table(None, false, &[ping(1), ping(2), ping(3), timestamp]);
        assert_eq!(
            text,
            concat!(
                "PROTO  SOURCE         DESTINATION              TTL  FLAGS\n",
                "icmp   10.0.0.1 id=1  10.0.0.2 type=8 code=0    29  UNREPLIED\n",
                "icmp   10.0.0.1 id=2  10.0.0.2 type=8 code=0    29  UNREPLIED\n",
                "icmp   10.0.0.1 id=3  10.0.0.2 type=8 code=0    29  UNREPLIED\n",
                "icmp   10.0.0.1 id=3  10.0.0.2 type=13 code=0   29  UNREPLIED\n",
            )
        );
        let rows: std::collections::BTreeSet<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 4, "{text}");
    }

    #[test]
    fn nat_of_a_ping_and_gre_keys() {
        // A masqueraded ping whose id NAT changed (another client used it already).
        let mut masqueraded = ping(5);
        masqueraded.reply.dst = Some("192.0.2.1".parse().unwrap());
        masqueraded.reply.l4 = L4::Icmp {
            icmp_type: 0,
            code: 0,
            id: 6,
        };
        masqueraded.status = Some(Status(
            1 << IPS_SEEN_REPLY_BIT | 1 << IPS_SRC_NAT_BIT | 1 << IPS_SRC_NAT_DONE_BIT,
        ));
        let gre = |srckey, dstkey| L4::Gre { srckey, dstkey };
        let mut pptp = Entry::new(
            Family::Ipv6,
            tuple("fd00::1", "fd00::2", IPPROTO_GRE, gre(0x1234, 0xabcd)),
            tuple("fd00::2", "fd00::1", IPPROTO_GRE, gre(0xabcd, 0x1234)),
        );
        pptp.timeout = Some(118);
        assert_eq!(
            table(
                Some(vec![Column::Proto, Column::Src, Column::Dst, Column::Nat]),
                false,
                &[masqueraded, pptp]
            ),
            concat!(
                "PROTO  SOURCE                 DESTINATION             NAT\n",
                "icmp   10.0.0.1 id=5          10.0.0.2 type=8 code=0  SNAT 192.0.2.1 id=6\n",
                "gre    fd00::1 srckey=0x1234  fd00::2 dstkey=0xabcd\n",
            )
        );
    }

    #[test]
    fn colours_say_how_the_connection_is_doing() {
        let with_state = |state, unreplied: bool| {
            let mut entry = entry();
            entry.state = Some(state);
            if unreplied {
                entry.status = Some(Status(1 << IPS_CONFIRMED_BIT));
            }
            table(Some(vec![Column::State]), true, &[entry])
        };
        let cases = [
            (ProtoState::Tcp(3), false, GREEN, "ESTABLISHED"),
            (ProtoState::Sctp(4), false, GREEN, "ESTABLISHED"),
            (ProtoState::Dccp(4), false, GREEN, "OPEN"),
            (ProtoState::Tcp(1), false, YELLOW, "SYN_SENT"),
            (ProtoState::Tcp(2), false, YELLOW, "SYN_RECV"),
            (ProtoState::Sctp(2), false, YELLOW, "COOKIE_WAIT"),
            (ProtoState::Dccp(1), false, YELLOW, "REQUEST"),
            // A handshake nobody answered is trouble...
            (ProtoState::Tcp(1), true, RED, "SYN_SENT"),
            (ProtoState::Sctp(2), true, RED, "COOKIE_WAIT"),
            (ProtoState::Dccp(1), true, RED, "REQUEST"),
            (ProtoState::Dccp(9), false, RED, "INVALID"),
            // ... the ways connections end are not.
            (ProtoState::Tcp(7), false, DIM, "TIME_WAIT"),
            (ProtoState::Tcp(8), false, DIM, "CLOSE"),
            (ProtoState::Tcp(4), false, DIM, "FIN_WAIT"),
            (ProtoState::Sctp(1), false, DIM, "CLOSED"),
            (ProtoState::Sctp(5), false, DIM, "SHUTDOWN_SENT"),
            (ProtoState::Dccp(7), false, DIM, "TIMEWAIT"),
        ];
        for (state, unreplied, colour, name) in cases {
            let text = with_state(state, unreplied);
            let cell = format!("{colour}{name}{RESET}");
            assert!(
                text.contains(&cell),
                "{state:?} unreplied={unreplied}: {text:?}"
            );
        }
        // NONE: no colour at all.
        assert!(!with_state(ProtoState::Tcp(0), false).contains('\x1b'));

        // The NAT cell is cyan; colour changes no width.
        let coloured = table(None, true, &[entry(), udp(1)]);
        assert!(
            coloured.contains(&format!("{CYAN}SNAT 192.0.2.1:61000{RESET}")),
            "{coloured:?}"
        );
        assert_eq!(
            strip_ansi(&coloured),
            table(None, false, &[entry(), udp(1)])
        );
        assert!(!table(None, false, &[entry()]).contains('\x1b'));
    }

    /// Issue 4's format tests found the LABELS column printing bit numbers where JSON
    /// and conntrack print names.
    #[test]
    fn labels_by_name_where_the_map_has_one() {
        let map = LabelMap::parse("1 one\n5 five\n");
        let bits = [0b10_0011u8, 0, 0, 0];
        let mut labelled = entry();
        labelled.labels = Some(Labels(&bits));
        let mut printer = TablePrinter::new(Some(vec![Column::Labels]), false, Some(&map));
        printer.add(&labelled);
        assert_eq!(finish(&mut printer), "LABELS\n0,one,five\n");
    }

    #[test]
    fn names_from_outside_cannot_break_a_line_or_colour_the_terminal() {
        let mut odd = udp(1);
        odd.helper = Some(b"ft\np\x1b[31m\xff");
        let text = table(Some(vec![Column::Helper, Column::Ttl]), false, &[odd]);
        assert_eq!(text, "HELPER      TTL\nft?p?[31m\u{fffd}   30\n");
    }

    #[test]
    fn an_overlong_cell_is_cut_where_a_character_starts() {
        let mut cells = Cells::new(vec![true, false]);
        cells.push(0, |text| {
            text.push(b'a');
            text.extend("é".repeat(MAX_CELL).bytes());
        });
        cells.push(1, |text| text.push(b'x'));
        assert_eq!(usize::from(cells.lengths[0]), MAX_CELL);
        assert!(std::str::from_utf8(&cells.text).is_ok());
        assert_eq!(cells.widths[0], 1 + (MAX_CELL - 1) / 2);
        let mut out = Vec::new();
        let heading = |name| {
            Some(Heading {
                name,
                right_aligned: false,
            })
        };
        cells
            .write(&mut out, &[heading("A"), heading("B")])
            .unwrap();
        assert!(String::from_utf8(out).unwrap().ends_with("  x\n"));
    }

    /// The entry table is written by `Cells`, the small tables by tabled: the same cells
    /// must come out the same either way.
    #[test]
    fn cells_are_laid_out_as_tabled_lays_them_out() {
        let rows: [[&str; 5]; 4] = [
            ["tcp", "ESTABLISHED", "10.0.0.1:1", "431999", ""],
            ["udplite", "", "[fd00::1]:53", "7", "x"],
            ["", "", "", "", ""],
            ["icmp", "é wide ✓", "10.0.0.1 id=1", "", "longest cell here"],
        ];
        let header = ["A", "STATE", "SOURCE", "TTL", "Z"];
        let right = [false, false, false, true, false];

        let mut builder = Builder::new();
        builder.push_record(header);
        for row in rows {
            builder.push_record(row);
        }
        let tabled = render(builder, &[3]) + "\n";

        let mut cells = Cells::new(vec![true; 5]);
        for row in rows {
            for (column, cell) in row.iter().enumerate() {
                cells.push(column, |text| text.extend_from_slice(cell.as_bytes()));
            }
        }
        let layout: Vec<Option<Heading>> = header
            .iter()
            .zip(right)
            .map(|(&name, right_aligned)| {
                Some(Heading {
                    name,
                    right_aligned,
                })
            })
            .collect();
        let mut ours = Vec::new();
        cells.write(&mut ours, &layout).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), tabled);
    }

    #[test]
    fn small_tables_end_no_line_in_a_space() {
        let mut builder = Builder::new();
        builder.push_record(["NAME", "VALUE", "NOTE"]);
        builder.push_record(["a", "1", ""]);
        builder.push_record(["bbbb", "22", "long note"]);
        assert_eq!(
            render(builder, &[1]),
            "NAME  VALUE  NOTE\na         1\nbbbb     22  long note"
        );
    }

    #[test]
    fn an_empty_expectation_table_is_its_header() {
        let mut out = Vec::new();
        ExpectTablePrinter::new().finish(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "PROTO  SOURCE  DESTINATION  MASTER  HELPER  TTL  FLAGS\n"
        );
    }

    #[test]
    fn colour_choice() {
        assert!(ColorChoice::Auto.resolve(true, None));
        assert!(ColorChoice::Auto.resolve(true, Some("")));
        assert!(!ColorChoice::Auto.resolve(true, Some("1")));
        assert!(!ColorChoice::Auto.resolve(false, None));
        assert!(ColorChoice::Always.resolve(false, Some("1")));
        assert!(!ColorChoice::Never.resolve(true, None));
    }

    #[test]
    fn human_units() {
        assert_eq!(human_count(999), "999");
        assert_eq!(human_count(1234), "1.2k");
        assert_eq!(human_count(56_789), "57k");
        assert_eq!(human_bytes(1023), "1023B");
        assert_eq!(human_bytes(1536), "1.5K");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0G");
        assert_eq!(human_count(u64::MAX), "18E");
    }
}
