//! Statistics messages → [`CpuStats`] and [`GlobalStats`].

use super::*;
use crate::model::stats::{CpuStats, GlobalStats};
use crate::model::table::Table;

/// One per-CPU statistics message (IPCTNL_MSG_CT_GET_STATS_CPU or
/// IPCTNL_MSG_EXP_GET_STATS_CPU): the CPU is the nfgenmsg res_id, every attribute a
/// big-endian u32 counter. The counters come out in attribute order, named as conntrack
/// names them; one conntrack would not print is left out, as there.
pub fn decode_cpu_stats(kind: Table, cpu: u16, attributes: &[u8]) -> Result<CpuStats> {
    let mut numbered = Vec::new();
    for attribute in attrs(attributes, "the statistics") {
        let (number, value) = attribute?;
        let value = be_u32(value, "CTA_STATS_*")?;
        if let Some(name) = kind.counter_name(number) {
            numbered.push((number, name, value));
        }
    }
    numbered.sort_by_key(|&(number, _, _)| number);
    let counters = numbered
        .into_iter()
        .map(|(_, name, value)| (name.into(), value))
        .collect();
    Ok(CpuStats { cpu, counters })
}

/// `/proc/net/stat/nf_conntrack`, which conntrack reads where netlink refuses: a line
/// of column names, then a line per CPU of hexadecimal values. As conntrack, CPUs are
/// numbered by line; a value that is not hexadecimal reads as 0 (strtol).
pub fn decode_proc_stats(text: &str) -> Vec<CpuStats> {
    let mut lines = text.lines();
    let names: Vec<&str> = lines
        .next()
        .map(|header| header.split_whitespace().collect())
        .unwrap_or_default();
    lines
        .zip(0u16..)
        .map(|(line, cpu)| CpuStats {
            cpu,
            counters: names
                .iter()
                .zip(line.split_whitespace())
                .map(|(name, value)| {
                    let value = u32::from_str_radix(value, 16).unwrap_or(0);
                    (name.to_string().into(), value)
                })
                .collect(),
        })
        .collect()
}

/// The answer to IPCTNL_MSG_CT_GET_STATS.
pub fn decode_global_stats(attributes: &[u8]) -> Result<GlobalStats> {
    let mut stats = GlobalStats::default();
    for attribute in attrs(attributes, "the global statistics") {
        let (kind, value) = attribute?;
        match kind {
            CTA_STATS_GLOBAL_ENTRIES => {
                stats.entries = Some(be_u32(value, "CTA_STATS_GLOBAL_ENTRIES")?)
            }
            CTA_STATS_GLOBAL_MAX_ENTRIES => {
                stats.max_entries = Some(be_u32(value, "CTA_STATS_GLOBAL_MAX_ENTRIES")?)
            }
            _ => {}
        }
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_in_attribute_order_named_as_conntrack() {
        #[rustfmt::skip]
        let bytes = [
            8, 0, 9, 0, 0, 0, 1, 0,      // CTA_STATS_INSERT_FAILED 256
            8, 0, 2, 0, 0, 0, 0, 5,      // CTA_STATS_FOUND 5
            8, 0, 17, 0, 0, 0, 0, 1,     // a newer kernel's counter: unknown2
            8, 0, 40, 0, 0, 0, 0, 1,     // one conntrack would not show
        ];
        assert_eq!(
            decode_cpu_stats(Table::Conntrack, 1, &bytes).unwrap(),
            CpuStats {
                cpu: 1,
                counters: vec![
                    ("found".into(), 5),
                    ("insert_failed".into(), 256),
                    ("unknown2".into(), 1)
                ],
            }
        );
    }

    #[test]
    fn proc_columns_and_hex_values() {
        let text = "entries  clashres found\n00000003  0000000a 00000010\n00000001  00000000 zz\n";
        let cpus = decode_proc_stats(text);
        assert_eq!(cpus.len(), 2);
        assert_eq!(
            cpus[0].counters,
            vec![
                ("entries".into(), 3),
                ("clashres".into(), 10),
                ("found".into(), 16)
            ]
        );
        assert_eq!(cpus[1].cpu, 1);
        assert_eq!(cpus[1].counters[2], ("found".into(), 0));
        assert!(decode_proc_stats("").is_empty());
    }

    #[test]
    fn a_short_counter_is_an_error() {
        let bytes = [6, 0, 2, 0, 0, 5, 0, 0];
        assert_eq!(
            decode_cpu_stats(Table::Conntrack, 0, &bytes)
                .unwrap_err()
                .to_string(),
            "invalid CTA_STATS_* value: 2 bytes instead of 4 bytes"
        );
    }

    #[test]
    fn global_entries_and_limit() {
        let bytes = [8, 0, 1, 0, 0, 0, 0, 7, 8, 0, 2, 0, 0, 4, 0, 0];
        assert_eq!(
            decode_global_stats(&bytes).unwrap(),
            GlobalStats {
                entries: Some(7),
                max_entries: Some(262144),
            }
        );
    }
}
