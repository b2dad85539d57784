//! Printers: one module per output format, each writing entries to any `io::Write`.
//!
//! Printers never print on their own (no `println!`); they format into a line buffer
//! they own and reuse, then hand the finished line to the writer in one call. The small
//! formatting helpers here are shared so that numbers and addresses are written the
//! same way, without going through `fmt` and without allocating.

pub mod classic;
pub mod event;
pub mod format;
pub mod json;
pub mod save;
pub mod stats;
pub mod table;
pub mod top;
pub mod xml;

use std::io::{self, Write};

use crate::labelmap::LabelMap;
use crate::model::entry::Entry;
use crate::model::expect::Expectation;

pub use format::Format;

/// A count in ct's own words, its noun agreeing with it: "1 group", "2 groups", "0
/// groups". Lines that copy conntrack's keep conntrack's plural ("1 flow entries have
/// been shown.") and do not use this.
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The printer for the chosen format.
pub enum Printer<'m> {
    Classic(classic::ClassicPrinter<'m>),
    Json(json::JsonPrinter<'m>),
    Xml(xml::XmlPrinter<'m>),
    Table(table::TablePrinter<'m>),
    Save(save::SavePrinter),
}

impl<'m> Printer<'m> {
    /// The printer for `format`. `now` is the time delta-time counts to.
    pub fn new(format: &Format, labels: Option<&'m LabelMap>, now: i64) -> Self {
        match format {
            Format::Classic(options) => {
                Printer::Classic(classic::ClassicPrinter::new(*options, labels, now))
            }
            Format::Json => Printer::Json(json::JsonPrinter::new(labels)),
            Format::Save => Printer::Save(save::SavePrinter::new("-A")),
            Format::Xml { ktimestamp } => {
                Printer::Xml(xml::XmlPrinter::new(*ktimestamp, labels, now))
            }
            Format::Table { columns, color } => {
                Printer::Table(table::TablePrinter::new(columns.clone(), *color, labels))
            }
        }
    }

    pub fn print<W: Write>(&mut self, out: &mut W, entry: &Entry<'_>) -> io::Result<()> {
        match self {
            Printer::Classic(p) => p.print(out, entry),
            Printer::Json(p) => p.print(out, entry),
            Printer::Xml(p) => p.print(out, entry),
            Printer::Table(p) => {
                p.add(entry);
                Ok(())
            }
            Printer::Save(p) => p.print_listed(out, entry),
        }
    }

    /// Prints `entry` tagged with the namespace it is in (`--all-netns`): `[LABEL] `
    /// before conntrack's line, a `netns` object first in JSON, the NETNS column of
    /// the table. XML and `-o save` have no place for it and are refused before.
    pub fn print_in<W: Write>(
        &mut self,
        out: &mut W,
        entry: &Entry<'_>,
        netns: &NetnsTag,
    ) -> io::Result<()> {
        match self {
            Printer::Classic(p) => {
                out.write_all(&netns.prefix)?;
                p.print(out, entry)
            }
            Printer::Save(p) => {
                out.write_all(&netns.prefix)?;
                p.print_listed(out, entry)
            }
            Printer::Json(p) => p.print_headed(out, &netns.json_head, entry),
            Printer::Xml(p) => p.print(out, entry),
            Printer::Table(p) => {
                p.set_netns(Some(&netns.label));
                p.add(entry);
                Ok(())
            }
        }
    }

    /// Readies the printer for entries of many namespaces: the table gains its NETNS
    /// column.
    pub fn show_namespaces(&mut self) {
        if let Printer::Table(p) = self {
            p.show_namespaces();
        }
    }

    /// The printer of deleted entries: as `new`, but `-o save` writes each as the
    /// command that deletes it (`-D`), as `conntrack -D -o save` does.
    pub fn for_deleted(self) -> Self {
        match self {
            Printer::Save(_) => Printer::Save(save::SavePrinter::new("-D")),
            other => other,
        }
    }

    /// Writes what ends the output (XML's closing tag) after the last entry.
    pub fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        match self {
            Printer::Xml(p) => p.finish(out),
            Printer::Table(p) => p.finish(out),
            Printer::Classic(_) | Printer::Json(_) | Printer::Save(_) => Ok(()),
        }
    }
}

/// The printer of expectations for the chosen format.
pub enum ExpectPrinter<'m> {
    /// conntrack's line; `timestamp` (`-o timestamp`) puts the time of printing first,
    /// as `conntrack -L expect -o timestamp` does.
    Classic {
        printer: classic::ClassicPrinter<'m>,
        timestamp: bool,
    },
    Json(json::JsonPrinter<'m>),
    Xml(xml::XmlPrinter<'m>),
    Table(table::ExpectTablePrinter),
}

impl ExpectPrinter<'_> {
    /// The printer for `format`; `timestamp` is `-o timestamp`.
    pub fn new(format: &Format, timestamp: bool) -> Self {
        match format {
            // Commands refuse -o save for expectations before printing; were one to get
            // here, conntrack's line is what conntrack prints for it.
            Format::Save => ExpectPrinter::Classic {
                printer: classic::ClassicPrinter::new(Default::default(), None, 0),
                timestamp,
            },
            Format::Classic(options) => ExpectPrinter::Classic {
                printer: classic::ClassicPrinter::new(*options, None, 0),
                timestamp,
            },
            Format::Json => ExpectPrinter::Json(json::JsonPrinter::new(None)),
            Format::Xml { .. } => ExpectPrinter::Xml(xml::XmlPrinter::for_expectations(timestamp)),
            Format::Table { .. } => ExpectPrinter::Table(table::ExpectTablePrinter::new()),
        }
    }

    pub fn print<W: Write>(
        &mut self,
        out: &mut W,
        expectation: &Expectation<'_>,
    ) -> io::Result<()> {
        match self {
            ExpectPrinter::Classic { printer, timestamp } => {
                if *timestamp {
                    out.write_all(&timestamp_prefix(std::time::SystemTime::now()))?;
                }
                printer.print_expectation(out, expectation)
            }
            ExpectPrinter::Json(p) => p.print_expectation(out, expectation),
            ExpectPrinter::Xml(p) => p.print_expectation(out, expectation),
            ExpectPrinter::Table(p) => {
                p.add(expectation);
                Ok(())
            }
        }
    }

    /// Writes what ends the output (XML's closing tag, the table).
    pub fn finish<W: Write>(&mut self, out: &mut W) -> io::Result<()> {
        match self {
            ExpectPrinter::Xml(p) => p.finish(out),
            ExpectPrinter::Table(p) => p.finish(out),
            ExpectPrinter::Classic { .. } | ExpectPrinter::Json(_) => Ok(()),
        }
    }
}

/// A namespace as each format tags what comes from it (`--all-netns`).
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
    pub fn of(namespace: &crate::netlink::netns::Namespace) -> NetnsTag {
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
        NetnsTag {
            prefix: format!("[{label}] ").into_bytes(),
            json_head,
            label,
        }
    }
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

/// conntrack's `-o timestamp` prefix: `[seconds.microseconds]` and a tab, each number
/// left-aligned and padded with spaces to 8 and 6 columns (`"[%-8ld.%-6ld]\t"`).
pub fn timestamp_prefix(time: std::time::SystemTime) -> Vec<u8> {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("[{:<8}.{:<6}]\t", since.as_secs(), since.subsec_micros()).into_bytes()
}

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Appends `value` in decimal.
pub fn push_decimal(line: &mut Vec<u8>, value: impl itoa::Integer) {
    let mut buffer = itoa::Buffer::new();
    line.extend_from_slice(buffer.format(value).as_bytes());
}

/// Appends `value` in lowercase hexadecimal without leading zeros, like printf's `%x`.
pub fn push_hex(line: &mut Vec<u8>, value: u32) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 8];
    let mut start = digits.len();
    let mut rest = value;
    loop {
        start -= 1;
        digits[start] = DIGITS[(rest & 0xf) as usize];
        rest >>= 4;
        if rest == 0 {
            break;
        }
    }
    line.extend_from_slice(&digits[start..]);
}

/// Appends an address as glibc's `inet_ntop` writes it, which is what conntrack prints.
pub fn push_ip(line: &mut Vec<u8>, address: IpAddr) {
    match address {
        IpAddr::V4(v4) => push_ipv4(line, v4),
        IpAddr::V6(v6) => push_ipv6(line, v6),
    }
}

pub fn push_ipv4(line: &mut Vec<u8>, address: Ipv4Addr) {
    // Formatted on the stack and copied once: addresses are the most printed values, and
    // a profile (callgrind) showed pushing digit by digit costing a tenth of `ct list`.
    let mut text = [0u8; 15];
    let mut len = 0;
    for (i, octet) in address.octets().into_iter().enumerate() {
        if i > 0 {
            text[len] = b'.';
            len += 1;
        }
        if octet >= 100 {
            text[len] = b'0' + octet / 100;
            len += 1;
        }
        if octet >= 10 {
            text[len] = b'0' + octet / 10 % 10;
            len += 1;
        }
        text[len] = b'0' + octet % 10;
        len += 1;
    }
    line.extend_from_slice(&text[..len]);
}

/// glibc's inet_ntop6: the first longest run of two or more zero words becomes `::`,
/// and an IPv4-compatible (`::a.b.c.d`) or IPv4-mapped (`::ffff:a.b.c.d`) address ends in
/// dotted quad. Rust's `Display` differs on the IPv4-compatible form, hence this.
pub fn push_ipv6(line: &mut Vec<u8>, address: Ipv6Addr) {
    let words = address.segments();
    let (run_start, run_len) = longest_zero_run(&words);
    let mut i = 0;
    while i < 8 {
        if run_len > 0 && i == run_start {
            line.push(b':');
            if i + run_len == 8 {
                line.push(b':');
            }
            i += run_len;
            continue;
        }
        if i != 0 {
            line.push(b':');
        }
        let embeds_ipv4 =
            i == 6 && run_start == 0 && (run_len == 6 || (run_len == 5 && words[5] == 0xffff));
        if embeds_ipv4 {
            let [.., a, b, c, d] = address.octets();
            push_ipv4(line, Ipv4Addr::new(a, b, c, d));
            return;
        }
        push_hex(line, u32::from(words[i]));
        i += 1;
    }
}

/// Start and length of the first longest run of at least two zero words; length 0 if none.
fn longest_zero_run(words: &[u16; 8]) -> (usize, usize) {
    let (mut best_start, mut best_len) = (0, 0);
    let mut i = 0;
    while i < 8 {
        if words[i] != 0 {
            i += 1;
            continue;
        }
        let start = i;
        while i < 8 && words[i] == 0 {
            i += 1;
        }
        if i - start > best_len {
            (best_start, best_len) = (start, i - start);
        }
    }
    if best_len < 2 {
        (0, 0)
    } else {
        (best_start, best_len)
    }
}

/// Appends `seconds` since the epoch in local time as ctime(3) writes it, without the
/// newline: `Wed Nov 25 09:43:31 2026`. conntrack prints kernel timestamps so, and the
/// local zone comes from `TZ` or /etc/localtime as for any libc program.
pub fn push_ctime(line: &mut Vec<u8>, seconds: i64) {
    const DAYS: [&[u8; 3]; 7] = [b"Sun", b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat"];
    const MONTHS: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    let Some(tm) = local_time(seconds) else {
        // glibc's ctime returns NULL here; conntrack would crash. Print the number instead.
        push_decimal(line, seconds);
        return;
    };
    let day = DAYS.get(tm.tm_wday as usize).copied().unwrap_or(b"???");
    let month = MONTHS.get(tm.tm_mon as usize).copied().unwrap_or(b"???");
    line.extend_from_slice(day);
    line.push(b' ');
    line.extend_from_slice(month);
    // "%3d": the day of the month right-aligned in three columns.
    if tm.tm_mday < 10 {
        line.extend_from_slice(b"  ");
    } else {
        line.push(b' ');
    }
    push_decimal(line, tm.tm_mday);
    line.push(b' ');
    push_two_digits(line, tm.tm_hour);
    line.push(b':');
    push_two_digits(line, tm.tm_min);
    line.push(b':');
    push_two_digits(line, tm.tm_sec);
    line.push(b' ');
    push_decimal(line, i64::from(tm.tm_year) + 1900);
}

/// `seconds` since the epoch in the local time zone (TZ or /etc/localtime), or `None`
/// where the C library cannot convert it.
pub fn local_time(seconds: i64) -> Option<libc::tm> {
    let time: libc::time_t = seconds as libc::time_t;
    // SAFETY: localtime_r writes only into `tm`, which is plain old data; all-zero is a
    // valid value for it.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let converted = unsafe { !libc::localtime_r(&time, &mut tm).is_null() };
    converted.then_some(tm)
}

/// The current time in seconds since the epoch.
pub fn unix_now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Appends a number of at least two digits, as printf's `%02d`.
pub fn push_two_digits(line: &mut Vec<u8>, value: libc::c_int) {
    if (0..10).contains(&value) {
        line.push(b'0');
    }
    push_decimal(line, value);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv6_text(text: &str) -> String {
        let mut line = Vec::new();
        push_ipv6(&mut line, text.parse().unwrap());
        String::from_utf8(line).unwrap()
    }

    #[test]
    fn ipv6_like_glibc_inet_ntop() {
        assert_eq!(ipv6_text("::"), "::");
        assert_eq!(ipv6_text("::1"), "::1");
        assert_eq!(ipv6_text("fe80::1"), "fe80::1");
        assert_eq!(ipv6_text("fd00:200::1:0:0:1"), "fd00:200::1:0:0:1");
        assert_eq!(ipv6_text("1:0:2:0:0:3:0:4"), "1:0:2::3:0:4");
        assert_eq!(ipv6_text("1:0:0:2:0:0:3:4"), "1::2:0:0:3:4");
        assert_eq!(ipv6_text("1:2:3:4:5:6:7:0"), "1:2:3:4:5:6:7:0");
        assert_eq!(ipv6_text("1:2:3:4:5:6::"), "1:2:3:4:5:6::");
        assert_eq!(ipv6_text("::ffff:10.0.0.1"), "::ffff:10.0.0.1");
        assert_eq!(ipv6_text("::10.0.0.1"), "::10.0.0.1");
        assert_eq!(
            ipv6_text("2001:db8:abcd:12:ffff:ffff:ffff:ffff"),
            "2001:db8:abcd:12:ffff:ffff:ffff:ffff"
        );
    }

    #[test]
    fn ipv4_octets() {
        for (address, text) in [
            ("0.0.0.0", "0.0.0.0"),
            ("10.9.99.100", "10.9.99.100"),
            ("255.200.109.1", "255.200.109.1"),
        ] {
            let mut line = Vec::new();
            push_ipv4(&mut line, address.parse().unwrap());
            assert_eq!(line, text.as_bytes());
        }
    }

    #[test]
    fn hex_like_printf() {
        for (value, text) in [(0, "0"), (1, "1"), (0xabc, "abc"), (u32::MAX, "ffffffff")] {
            let mut line = Vec::new();
            push_hex(&mut line, value);
            assert_eq!(line, text.as_bytes());
        }
    }

    #[test]
    fn a_count_of_one_takes_the_singular() {
        assert_eq!(count(1, "group", "groups"), "1 group");
        assert_eq!(count(0, "group", "groups"), "0 groups");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
        assert_eq!(count(1, "entry", "entries"), "1 entry");
    }
}
