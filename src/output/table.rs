//! `-o table`: an aligned table for people at a terminal, rendered with tabled.
//!
//! One row per entry, never wrapped; every line of the table has the same width. The
//! default columns fit a 120-column terminal for IPv4 traffic: protocol, state, the
//! original source and destination, the address NAT rewrote the connection to (only
//! where it did), TTL, flags, mark, and packets/bytes in human units when accounting is
//! on. Default columns that are empty in every row are left out. Aligning columns needs
//! every row's width, so unlike the other formats this one keeps the rows in memory until
//! the dump ends; use the classic line or JSON for tables of hundreds of thousands.

use std::io::{self, Write};
use std::net::IpAddr;

use clap::ValueEnum;
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Padding, Style};

use super::push_ip;
use crate::kernel::*;
use crate::labelmap::{LabelMap, label_name};
use crate::model::entry::{Entry, proto_name};
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
    /// Original source address and port.
    Src,
    /// Original destination address and port.
    Dst,
    /// Where NAT rewrote the connection: SNAT to the reply's destination, DNAT to the
    /// reply's source.
    Nat,
    /// Seconds left.
    Ttl,
    /// ASSURED, UNREPLIED, OFFLOAD, HW_OFFLOAD as short words.
    Flags,
    Mark,
    Zone,
    /// Packets, both directions together.
    Packets,
    /// Bytes, both directions together.
    Bytes,
    Helper,
    Use,
    Id,
    Labels,
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
        }
    }

    fn right_aligned(self) -> bool {
        matches!(
            self,
            Column::Ttl | Column::Packets | Column::Bytes | Column::Use | Column::Id
        )
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

/// The columns shown when `--columns` is not given.
pub const DEFAULT_COLUMNS: [Column; 11] = [
    Column::Proto,
    Column::State,
    Column::Src,
    Column::Dst,
    Column::Nat,
    Column::Ttl,
    Column::Flags,
    Column::Mark,
    Column::Packets,
    Column::Bytes,
    Column::Labels,
];

/// Prints entries as an aligned table when the dump ends.
pub struct TablePrinter<'m> {
    columns: Vec<Column>,
    /// Names for label bits; bits without one show as numbers.
    labels: Option<&'m LabelMap>,
    /// The user chose the columns: show them even when empty.
    chosen: bool,
    color: bool,
    /// The rows so far, straight into tabled's builder (the header goes in at the end).
    rows: Builder,
    /// Whether any row has something in each column.
    filled: Vec<bool>,
}

impl<'m> TablePrinter<'m> {
    /// `columns`: what `--columns` gave, or `None` for the defaults. `color`: whether
    /// to colour the state and NAT cells. `labels`: names for the LABELS column.
    pub fn new(columns: Option<Vec<Column>>, color: bool, labels: Option<&'m LabelMap>) -> Self {
        let chosen = columns.is_some();
        let columns = columns.unwrap_or_else(|| DEFAULT_COLUMNS.to_vec());
        TablePrinter {
            filled: vec![false; columns.len()],
            columns,
            labels,
            chosen,
            color,
            rows: Builder::new(),
        }
    }

    /// Keeps the entry's cells for the table.
    pub fn add(&mut self, entry: &Entry<'_>) {
        let row: Vec<String> = self
            .columns
            .iter()
            .map(|&column| cell(column, entry, self.color, self.labels))
            .collect();
        for (filled, cell) in self.filled.iter_mut().zip(&row) {
            *filled |= !cell.is_empty();
        }
        self.rows.push_record(row);
    }

    /// Renders the table; nothing at all for an empty dump.
    pub fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        if self.rows.count_records() == 0 {
            return Ok(());
        }
        let mut builder = std::mem::take(&mut self.rows);
        builder.insert_record(0, self.columns.iter().map(|c| c.header()));
        // Default columns empty in every row go; from the right, so indexes hold.
        let mut shown = self.columns.clone();
        for index in (0..self.columns.len()).rev() {
            if !self.chosen && !self.filled[index] {
                builder.remove_column(index);
                shown.remove(index);
            }
        }
        let right_aligned: Vec<usize> = (0..shown.len())
            .filter(|&position| shown[position].right_aligned())
            .collect();
        writeln!(out, "{}", render(builder, &right_aligned))
    }
}

/// Renders rows (the header first) as ct's tables look: no borders, one space between
/// columns, the columns at `right_aligned` aligned right. Shared by every table ct prints.
pub fn render(builder: Builder, right_aligned: &[usize]) -> String {
    let mut table = builder.build();
    table.with(Style::blank()).with(Padding::new(0, 1, 0, 0));
    for &position in right_aligned {
        table.modify(Columns::one(position), Alignment::right());
    }
    table.to_string()
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
            .map(|(sport, _)| sport);
        let source = if any_source {
            "*".to_string()
        } else {
            endpoint(expected.src, source_port)
        };
        let master_text = format!(
            "{} > {}",
            endpoint(master.src, master.ports().map(|p| p.0)),
            endpoint(master.dst, master.ports().map(|p| p.1))
        );
        self.rows.push_record([
            proto_text(expected.protonum),
            source,
            endpoint(expected.dst, expected.ports().map(|p| p.1)),
            master_text,
            expectation
                .helper
                .map(|h| String::from_utf8_lossy(h).into_owned())
                .unwrap_or_default(),
            expectation
                .timeout
                .map(|t| t.to_string())
                .unwrap_or_default(),
            expectation.flag_names().collect::<Vec<_>>().join(","),
        ]);
    }

    /// Renders the table; nothing at all when there was no expectation.
    pub fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        if self.rows.count_records() == 0 {
            return Ok(());
        }
        let mut builder = std::mem::take(&mut self.rows);
        builder.insert_record(0, Self::HEADER);
        writeln!(out, "{}", render(builder, &[5]))
    }
}

/// A protocol's name, or its number for one conntrack has no name for.
fn proto_text(protonum: u8) -> String {
    proto_name(protonum)
        .map(str::to_string)
        .unwrap_or_else(|| protonum.to_string())
}

/// ANSI colours, used only when colour is on.
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED: &str = "\x1b[31m";
const CYAN: &str = "\x1b[36m";
const RESET: &str = "\x1b[0m";

fn cell(column: Column, entry: &Entry<'_>, color: bool, labels: Option<&LabelMap>) -> String {
    let paint = |text: String, colour: &str| {
        if color && !text.is_empty() {
            format!("{colour}{text}{RESET}")
        } else {
            text
        }
    };
    match column {
        Column::Family => entry.family.name().to_string(),
        Column::Proto => proto_text(entry.protonum()),
        Column::State => {
            let name = entry.state.map(|s| s.name()).unwrap_or("");
            let colour = match name {
                "ESTABLISHED" | "OPEN" => GREEN,
                "SYN_SENT" | "SYN_RECV" | "SYN_SENT2" | "COOKIE_WAIT" | "COOKIE_ECHOED"
                | "REQUEST" | "RESPOND" | "PARTOPEN" => YELLOW,
                _ => RED,
            };
            paint(name.to_string(), colour)
        }
        Column::Src => endpoint(entry.original.src, entry.original.ports().map(|p| p.0)),
        Column::Dst => endpoint(entry.original.dst, entry.original.ports().map(|p| p.1)),
        Column::Nat => paint(nat(entry), CYAN),
        Column::Ttl => entry.timeout.map(|t| t.to_string()).unwrap_or_default(),
        Column::Flags => flags(entry),
        Column::Mark => entry
            .mark
            .filter(|&m| m != 0)
            .map(|m| m.to_string())
            .unwrap_or_default(),
        Column::Zone => entry.zone.map(|z| z.to_string()).unwrap_or_default(),
        Column::Packets => counted(entry, |c| c.packets, human_count),
        Column::Bytes => counted(entry, |c| c.bytes, human_bytes),
        Column::Helper => entry
            .helper
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .unwrap_or_default(),
        Column::Use => entry.use_count.map(|u| u.to_string()).unwrap_or_default(),
        Column::Id => entry.id.map(|i| i.to_string()).unwrap_or_default(),
        Column::Labels => entry
            .labels
            .map(|l| {
                l.bits()
                    .map(|bit| label_name(labels, bit))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
    }
}

/// `10.0.0.1:80`, `[fd00::1]:80`, or the bare address for protocols without ports.
fn endpoint(address: Option<IpAddr>, port: Option<u16>) -> String {
    let Some(address) = address else {
        return String::new();
    };
    let mut text = Vec::with_capacity(48);
    let bracket = port.is_some() && address.is_ipv6();
    if bracket {
        text.push(b'[');
    }
    push_ip(&mut text, address);
    if bracket {
        text.push(b']');
    }
    if let Some(port) = port {
        text.push(b':');
        text.extend_from_slice(port.to_string().as_bytes());
    }
    String::from_utf8(text).unwrap_or_default()
}

/// What NAT did (as `-n`/`-g` see it): `SNAT 192.0.2.1:61000`, `DNAT 10.0.0.7:8080`,
/// both, or nothing.
fn nat(entry: &Entry<'_>) -> String {
    let mut parts = Vec::new();
    if let Some(snat) = entry.source_nat() {
        parts.push(format!("SNAT {}", endpoint(snat.address, snat.port)));
    }
    if let Some(dnat) = entry.destination_nat() {
        parts.push(format!("DNAT {}", endpoint(dnat.address, dnat.port)));
    }
    parts.join(" ")
}

fn flags(entry: &Entry<'_>) -> String {
    let mut words = Vec::new();
    if entry.is_unreplied() {
        words.push("UNREPLIED");
    }
    if entry.has_status(IPS_HW_OFFLOAD_BIT) {
        words.push("HW_OFFLOAD");
    } else if entry.has_status(IPS_OFFLOAD_BIT) {
        words.push("OFFLOAD");
    } else if entry.has_status(IPS_ASSURED_BIT) {
        words.push("ASSURED");
    }
    words.join(",")
}

/// Both directions' counter together, formatted; empty without accounting.
fn counted(
    entry: &Entry<'_>,
    field: impl Fn(&crate::model::entry::Counters) -> u64,
    format: fn(u64) -> String,
) -> String {
    match (entry.counters_original, entry.counters_reply) {
        (None, None) => String::new(),
        // Saturating: the counters come from the kernel (or a corrupted message) and can
        // be anything; found by the fuzzer (issue 5).
        (a, b) => format(
            a.map(|c| field(&c))
                .unwrap_or(0)
                .saturating_add(b.map(|c| field(&c)).unwrap_or(0)),
        ),
    }
}

/// 999, 1.2k, 34k, 5.6M: three significant figures at most, powers of 1000.
pub fn human_count(value: u64) -> String {
    human(value, 1000.0, ["", "k", "M", "G", "T", "P", "E"])
}

/// 999B, 1.2K, 34K, 5.6M: powers of 1024, as `ls -h`.
pub fn human_bytes(value: u64) -> String {
    human(value, 1024.0, ["B", "K", "M", "G", "T", "P", "E"])
}

fn human(value: u64, step: f64, units: [&str; 7]) -> String {
    let mut scaled = value as f64;
    let mut unit = 0;
    while scaled >= step && unit < units.len() - 1 {
        scaled /= step;
        unit += 1;
    }
    if unit == 0 {
        format!("{value}{}", units[0])
    } else if scaled < 10.0 {
        format!("{scaled:.1}{}", units[unit])
    } else {
        format!("{scaled:.0}{}", units[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::entry::{Counters, Family, L4, ProtoState, Status, Tuple};

    fn entry() -> Entry<'static> {
        let tuple = |src: &str, dst: &str, sport, dport| Tuple {
            src: Some(src.parse().unwrap()),
            dst: Some(dst.parse().unwrap()),
            protonum: IPPROTO_TCP,
            l4: L4::Ports { sport, dport },
            zone: None,
        };
        Entry {
            family: Family::Ipv4,
            original: tuple("10.0.0.1", "93.184.216.34", 40000, 443),
            reply: tuple("93.184.216.34", "192.0.2.1", 443, 61000),
            timeout: Some(431999),
            state: Some(ProtoState::Tcp(3)),
            status: Some(Status(
                1 << IPS_SEEN_REPLY_BIT
                    | 1 << IPS_ASSURED_BIT
                    | 1 << IPS_SRC_NAT_BIT
                    | 1 << IPS_SRC_NAT_DONE_BIT,
            )),
            mark: Some(0),
            secmark: None,
            zone: None,
            use_count: Some(1),
            id: Some(7),
            counters_original: Some(Counters {
                packets: 1500,
                bytes: 2_000_000,
            }),
            counters_reply: Some(Counters {
                packets: 1000,
                bytes: 100_000,
            }),
            timestamp_start: None,
            timestamp_stop: None,
            labels: None,
            secctx: None,
            helper: None,
        }
    }

    fn render(printer: &mut TablePrinter) -> String {
        let mut out = Vec::new();
        printer.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn default_columns_drop_the_empty_ones_and_align() {
        let mut printer = TablePrinter::new(None, false, None);
        printer.add(&entry());
        let mut udp = entry();
        udp.original.protonum = IPPROTO_UDP;
        udp.state = None;
        udp.status = Some(Status(1 << IPS_CONFIRMED_BIT));
        udp.reply = udp.original;
        udp.reply.src = udp.original.dst;
        udp.reply.dst = udp.original.src;
        udp.timeout = Some(30);
        udp.counters_original = Some(Counters {
            packets: 1,
            bytes: 76,
        });
        udp.counters_reply = None;
        printer.add(&udp);
        let table = render(&mut printer);
        assert_eq!(
            table,
            concat!(
                "PROTO  STATE        SOURCE          DESTINATION        NAT                      TTL  FLAGS      PACKETS  BYTES \n",
                "tcp    ESTABLISHED  10.0.0.1:40000  93.184.216.34:443  SNAT 192.0.2.1:61000  431999  ASSURED       2.5k   2.0M \n",
                "udp                 10.0.0.1:40000  93.184.216.34:443                            30  UNREPLIED        1    76B \n",
            )
        );
        let widths: Vec<usize> = table.lines().map(|l| l.chars().count()).collect();
        assert!(widths.iter().all(|&w| w == widths[0]), "{widths:?}");
    }

    #[test]
    fn chosen_columns_are_kept_even_when_empty() {
        let mut printer = TablePrinter::new(
            Some(vec![Column::Id, Column::Zone, Column::Proto]),
            false,
            None,
        );
        printer.add(&entry());
        assert_eq!(render(&mut printer), "ID  ZONE  PROTO \n 7        tcp   \n");
    }

    #[test]
    fn colour_only_when_asked() {
        let mut printer = TablePrinter::new(Some(vec![Column::State, Column::Nat]), true, None);
        printer.add(&entry());
        let table = render(&mut printer);
        assert!(table.contains("\x1b[32mESTABLISHED\x1b[0m"), "{table:?}");
        assert!(
            table.contains("\x1b[36mSNAT 192.0.2.1:61000\x1b[0m"),
            "{table:?}"
        );
        let mut plain = TablePrinter::new(Some(vec![Column::State]), false, None);
        plain.add(&entry());
        assert!(!render(&mut plain).contains('\x1b'));
    }

    /// Issue 4's format tests found the LABELS column printing bit numbers where JSON
    /// and conntrack print names.
    #[test]
    fn labels_by_name_where_the_map_has_one() {
        let map = LabelMap::parse("1 one\n5 five\n");
        let bits = [0b10_0011u8, 0, 0, 0];
        let mut labelled = entry();
        labelled.labels = Some(crate::model::entry::Labels(&bits));
        let mut printer = TablePrinter::new(Some(vec![Column::Labels]), false, Some(&map));
        printer.add(&labelled);
        assert_eq!(render(&mut printer), "LABELS     \n0,one,five \n");
    }

    #[test]
    fn an_empty_dump_prints_nothing() {
        assert_eq!(render(&mut TablePrinter::new(None, false, None)), "");
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
    }
}
