//! Printers: one module per output format, each writing entries and expectations to any
//! `io::Write` through the one interface of `printer.rs` (a record and its frame: the
//! namespace, the event).
//!
//! Printers never print on their own (no `println!`); they format into a line buffer
//! they own and reuse, then hand the finished line to the writer in one call. The small
//! formatting helpers here are shared so that numbers and addresses are written the
//! same way, without going through `fmt` and without allocating.

pub mod classic;
pub mod event;
pub mod format;
pub mod json;
pub mod printer;
pub mod save;
pub mod stats;
pub mod table;
pub mod top;
pub mod xml;

use std::fmt;

pub use format::Format;
pub use printer::{Frame, NetnsTag, Print, Printer, Record, Settings};

/// The most characters of input a message quotes.
pub const EXCERPT_CHARS: usize = 80;

/// A piece of input as messages quote it: whole when it is at most [`EXCERPT_CHARS`]
/// characters long, else its first characters and "…", [`EXCERPT_CHARS`] in all, cut at
/// a character's boundary.
#[derive(Debug, Clone, Copy)]
pub struct Excerpt<'a>(&'a str);

/// `text` as a message quotes it: see [`Excerpt`]. Every message about a line's text
/// quotes it through this.
pub fn excerpt(text: &str) -> Excerpt<'_> {
    Excerpt(text)
}

impl fmt::Display for Excerpt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if text.char_indices().nth(EXCERPT_CHARS).is_none() {
            return f.write_str(text);
        }
        let cut = text
            .char_indices()
            .nth(EXCERPT_CHARS - 1)
            .map_or(text.len(), |(at, _)| at);
        write!(f, "{}…", &text[..cut])
    }
}

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

/// conntrack's `-o timestamp` prefix: `[seconds.microseconds]` and a tab, each number
/// left-aligned and padded with spaces to 8 and 6 columns (`"[%-8ld.%-6ld]\t"`).
pub fn push_timestamp(line: &mut Vec<u8>, time: std::time::SystemTime) {
    let since = time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    line.push(b'[');
    push_padded_decimal(line, since.as_secs(), 8);
    line.push(b'.');
    push_padded_decimal(line, since.subsec_micros(), 6);
    line.extend_from_slice(b"]\t");
}

/// Appends `value` in decimal, left-aligned and padded with spaces to `width` columns.
fn push_padded_decimal(line: &mut Vec<u8>, value: impl itoa::Integer, width: usize) {
    let start = line.len();
    push_decimal(line, value);
    let written = line.len() - start;
    line.extend(std::iter::repeat_n(b' ', width.saturating_sub(written)));
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
    fn the_timestamp_is_padded_as_conntrack_pads_it() {
        let at = |seconds, micros| {
            let mut line = Vec::new();
            let time = std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(seconds)
                + std::time::Duration::from_micros(micros);
            push_timestamp(&mut line, time);
            String::from_utf8(line).unwrap()
        };
        assert_eq!(at(1_764_091_234, 42), "[1764091234.42    ]\t");
        assert_eq!(at(5, 999_999), "[5       .999999]\t");
    }

    #[test]
    fn a_count_of_one_takes_the_singular() {
        assert_eq!(count(1, "group", "groups"), "1 group");
        assert_eq!(count(0, "group", "groups"), "0 groups");
        assert_eq!(count(2, "entry", "entries"), "2 entries");
        assert_eq!(count(1, "entry", "entries"), "1 entry");
    }
}
