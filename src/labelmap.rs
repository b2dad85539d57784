//! Connlabel names: the bit-number → name map conntrack reads from
//! `/etc/xtables/connlabel.conf`.
//!
//! conntrack prints an entry's labels by name only, and only names this file gives, so
//! `ct` reads the same file with the same rules as libnetfilter_conntrack's
//! `__labelmap_new`: lines starting with `#` are comments; a line is a number below 1024
//! (decimal, `0x` hex or `0` octal, as strtoul reads it) then a name of letters, digits,
//! spaces and dashes; the first line for a bit or a name wins.

use std::io;
use std::path::Path;

/// Where conntrack-tools looks for label names.
pub const CONNLABEL_CONF: &str = "/etc/xtables/connlabel.conf";

/// The highest label bit plus one, as libnetfilter_conntrack's MAX_BITS.
const MAX_BITS: u64 = 1024;

/// Label names by bit number.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelMap {
    names: Vec<Option<String>>,
}

impl LabelMap {
    /// Reads the map from `path`.
    pub fn load(path: &Path) -> io::Result<LabelMap> {
        let text = std::fs::read(path)?;
        Ok(LabelMap::parse(&String::from_utf8_lossy(&text)))
    }

    /// Parses the text of a connlabel.conf.
    pub fn parse(text: &str) -> LabelMap {
        let mut names: Vec<Option<String>> = Vec::new();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let Some((bit, rest)) = leading_number(line) else {
                continue;
            };
            let name = rest.trim_matches(|c| matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c'));
            if name.is_empty() || !is_sane(name) {
                continue;
            }
            let bit = bit as usize;
            let taken_bit = names.get(bit).is_some_and(Option::is_some);
            let taken_name = names.iter().flatten().any(|known| known == name);
            if taken_bit || taken_name {
                continue;
            }
            if names.len() <= bit {
                names.resize(bit + 1, None);
            }
            names[bit] = Some(name.to_owned());
        }
        LabelMap { names }
    }

    /// The name of label bit `bit`, if the map gives one.
    pub fn name(&self, bit: u32) -> Option<&str> {
        self.names.get(bit as usize)?.as_deref()
    }

    /// The bit a label name stands for.
    pub fn bit(&self, name: &str) -> Option<u32> {
        let index = self.names.iter().position(|n| n.as_deref() == Some(name))?;
        u32::try_from(index).ok()
    }
}

/// A label bit as text for people: its name from `map`, or its number.
pub fn label_name(map: Option<&LabelMap>, bit: u32) -> String {
    match map.and_then(|map| map.name(bit)) {
        Some(name) => name.to_string(),
        None => bit.to_string(),
    }
}

/// strtoul(line, &end, 0) for the label number: skips leading blanks, reads an optional
/// `0x` hex, leading-`0` octal or decimal number, and rejects numbers of MAX_BITS or more.
fn leading_number(line: &str) -> Option<(u64, &str)> {
    let trimmed = line.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (radix, digits) = if let Some(hex) = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .filter(|h| h.starts_with(|c: char| c.is_ascii_hexdigit()))
    {
        (16, hex)
    } else if trimmed.starts_with('0') {
        (8, trimmed)
    } else {
        (10, trimmed)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    if end == 0 {
        return None;
    }
    let value = u64::from_str_radix(&digits[..end], radix).unwrap_or(u64::MAX);
    (value < MAX_BITS).then(|| (value, &digits[end..]))
}

/// libnetfilter_conntrack accepts only these characters in a label name.
fn is_sane(name: &str) -> bool {
    name.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b' ' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_libnetfilter_conntrack() {
        let map = LabelMap::parse(
            "# comment\n0 zero\n1\tone \n0x5 five\n010 eight\n1 again\nbad line\n\
             2 not;sane\n1024 too-big\n3 zero\n",
        );
        assert_eq!(map.name(0), Some("zero"));
        assert_eq!(map.name(1), Some("one"));
        assert_eq!(map.name(5), Some("five"));
        assert_eq!(map.name(8), Some("eight"));
        assert_eq!(map.name(2), None);
        assert_eq!(map.name(3), None, "a name already taken is ignored");
        assert_eq!(map.name(4000), None);
        assert_eq!(map.bit("five"), Some(5));
    }
}
