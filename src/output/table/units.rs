//! Human units for counts and bytes: 1.2k, 5.6M, 1.5K.

use std::io::Write;

use super::write::text_of;
use crate::output::push_decimal;

/// 999, 1.2k, 34k, 5.6M: three significant figures at most, powers of 1000.
pub fn human_count(value: u64) -> String {
    text_of(|text| push_human_count(text, value))
}

/// 999B, 1.2K, 34K, 5.6M: powers of 1024, as `ls -h`.
pub fn human_bytes(value: u64) -> String {
    text_of(|text| push_human_bytes(text, value))
}

pub(super) fn push_human_count(text: &mut Vec<u8>, value: u64) {
    push_human(text, value, 1000.0, ["", "k", "M", "G", "T", "P", "E"]);
}

pub(super) fn push_human_bytes(text: &mut Vec<u8>, value: u64) {
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
