//! The table's statistics: the kernel's per-CPU counters and the global entry count.

use std::borrow::Cow;

use super::table::Table;
use crate::kernel::{CTA_STATS_EXP_NAMES, CTA_STATS_NAMES};

/// conntrack 1.4.7 names the four attributes after the last it knows `unknown1` to
/// `unknown4`, so that a newer kernel's counters still show; ct names them the same.
const UNKNOWN_NAMES: [&str; 4] = ["unknown1", "unknown2", "unknown3", "unknown4"];

/// A table's counters: the expectations' for the expectation table, the connections'
/// for the others (the dying and unconfirmed lists are the connections' too).
impl Table {
    /// The counters' names by attribute number, as conntrack prints them.
    pub fn counter_names(self) -> &'static [(u16, &'static str)] {
        if self.holds_expectations() {
            &CTA_STATS_EXP_NAMES
        } else {
            &CTA_STATS_NAMES
        }
    }

    /// The name conntrack prints for counter `attribute`; `None` for one it does not
    /// print. Past the last counter it knows, conntrack -S (not -S expect) prints four
    /// more as `unknown1` to `unknown4`.
    pub fn counter_name(self, attribute: u16) -> Option<&'static str> {
        let names = self.counter_names();
        if let Some((_, name)) = names.iter().find(|(number, _)| *number == attribute) {
            return Some(name);
        }
        if self.holds_expectations() {
            return None;
        }
        let last = names.last().map_or(0, |(number, _)| *number);
        attribute
            .checked_sub(last + 1)
            .and_then(|index| UNKNOWN_NAMES.get(usize::from(index)).copied())
    }
}

/// One CPU's counters, in conntrack's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuStats {
    pub cpu: u16,
    /// (name, value) of every counter, named as conntrack names it: from the attribute
    /// number over netlink, from the column header in /proc/net/stat/nf_conntrack.
    pub counters: Vec<(Cow<'static, str>, u32)>,
}

/// What the kernel says of the whole table (IPCTNL_MSG_CT_GET_STATS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GlobalStats {
    /// Entries in the table now (CTA_STATS_GLOBAL_ENTRIES).
    pub entries: Option<u32>,
    /// The table's limit, net.netfilter.nf_conntrack_max (CTA_STATS_GLOBAL_MAX_ENTRIES).
    pub max_entries: Option<u32>,
}

impl GlobalStats {
    /// How full the table is, in percent of its limit.
    pub fn fill_percent(&self) -> Option<f64> {
        match (self.entries, self.max_entries) {
            (Some(entries), Some(max)) if max > 0 => {
                Some(f64::from(entries) * 100.0 / f64::from(max))
            }
            _ => None,
        }
    }
}

/// The table's state in one line, as `ct top` heads its groups: how full, and the
/// counters that say packets are being lost to a full table.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Headline {
    pub global: GlobalStats,
    /// No room for a new entry: its packet was dropped (insert_failed, drop), or an
    /// unassured entry was evicted to make room (early_drop). Summed over the CPUs.
    pub insert_failed: Option<u64>,
    pub drop: Option<u64>,
    pub early_drop: Option<u64>,
    /// With `--all-netns`: how many namespaces are summed up.
    pub namespaces: Option<Namespaces>,
}

impl Headline {
    pub fn new(global: GlobalStats, cpus: &[CpuStats]) -> Headline {
        let totals = totals(cpus);
        let total = |wanted: &str| {
            totals
                .iter()
                .find(|(name, _)| *name == wanted)
                .map(|(_, value)| *value)
        };
        Headline {
            global,
            insert_failed: total("insert_failed"),
            drop: total("drop"),
            early_drop: total("early_drop"),
            namespaces: None,
        }
    }
}

impl Headline {
    /// Many namespaces' headlines as one: entries and counters summed, and the
    /// fullest namespace named, since limits are per namespace and do not add up.
    pub fn of_namespaces(each: &[(&'static str, Headline)]) -> Headline {
        let sum = |value: fn(&Headline) -> Option<u64>| {
            each.iter()
                .filter_map(|(_, headline)| value(headline))
                .reduce(|a, b| a + b)
        };
        let entries = each
            .iter()
            .filter_map(|(_, headline)| headline.global.entries)
            .fold(0u32, u32::saturating_add);
        let fullest = each
            .iter()
            .filter_map(|(netns, headline)| Some((*netns, headline.global.fill_percent()?)))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        Headline {
            global: GlobalStats {
                entries: Some(entries),
                max_entries: None,
            },
            insert_failed: sum(|h| h.insert_failed),
            drop: sum(|h| h.drop),
            early_drop: sum(|h| h.early_drop),
            namespaces: Some(Namespaces {
                count: each.len(),
                fullest,
            }),
        }
    }
}

/// How many namespaces a headline covers, and which is the fullest (how full, percent).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Namespaces {
    pub count: usize,
    pub fullest: Option<(&'static str, f64)>,
}

/// The column of /proc/net/stat/nf_conntrack that is not a per-CPU counter: every CPU's
/// line repeats the table's entry count there.
const PROC_ENTRIES: &str = "entries";

/// Each counter summed over all CPUs, in the order of the first CPU that has it. Sums
/// are 64-bit: a busy host's CPUs together can pass 2^32. The /proc file's `entries`,
/// the same on every line, is taken once.
pub fn totals(cpus: &[CpuStats]) -> Vec<(&str, u64)> {
    let mut totals: Vec<(&str, u64)> = Vec::new();
    for cpu in cpus {
        for (name, value) in &cpu.counters {
            let value = u64::from(*value);
            match totals.iter_mut().find(|(n, _)| n == name) {
                Some((_, total)) if name == PROC_ENTRIES => *total = (*total).max(value),
                Some((_, total)) => *total += value,
                None => totals.push((name, value)),
            }
        }
    }
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::*;

    #[test]
    fn totals_add_every_cpu_in_64_bits() {
        let cpu = |cpu, found, drop| CpuStats {
            cpu,
            counters: vec![("found".into(), found), ("drop".into(), drop)],
        };
        let cpus = [cpu(0, u32::MAX, 1), cpu(1, 2, 3)];
        assert_eq!(
            totals(&cpus),
            [("found", u64::from(u32::MAX) + 2), ("drop", 4)]
        );
    }

    #[test]
    fn the_proc_files_entries_are_counted_once() {
        let cpu = |cpu| CpuStats {
            cpu,
            counters: vec![("entries".into(), 7), ("found".into(), 1)],
        };
        assert_eq!(totals(&[cpu(0), cpu(1)]), [("entries", 7), ("found", 2)]);
    }

    #[test]
    fn fill_level() {
        let stats = GlobalStats {
            entries: Some(50),
            max_entries: Some(200),
        };
        assert_eq!(stats.fill_percent(), Some(25.0));
        assert_eq!(GlobalStats::default().fill_percent(), None);
    }

    #[test]
    fn names_as_conntrack_prints_them() {
        assert_eq!(
            Table::Conntrack.counter_name(CTA_STATS_CHAIN_TOOLONG),
            Some("chaintoolong")
        );
        assert_eq!(
            Table::Expect.counter_name(CTA_STATS_EXP_DELETE),
            Some("expect_delete")
        );
        assert_eq!(Table::Expect.counter_name(9), None);
        assert_eq!(Table::Conntrack.counter_name(16), Some("unknown1"));
        assert_eq!(Table::Conntrack.counter_name(19), Some("unknown4"));
        assert_eq!(Table::Conntrack.counter_name(20), None);
        assert_eq!(Table::Conntrack.counter_name(0), None);
    }
}
