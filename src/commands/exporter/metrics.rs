//! What one scrape learns of one namespace, and how it is written as Prometheus metrics.
//!
//! A reading is small whatever the table's size: the kernel's counters (read at every
//! scrape, at a cost that does not grow with the table), and unless `--no-breakdown`,
//! the breakdown: the entries counted by (protocol, state), zone and a few status flags
//! as the one dump streams in. A namespace the kernel counts no entries in is not dumped.
//! Only the optional top-address lists keep one counter per address seen, which is why
//! they are off unless asked for.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::time::Instant;

use anyhow::Result;
use prometheus::core::{Collector, GenericCounterVec, GenericGaugeVec};
use prometheus::{Opts, Registry, TextEncoder};

use crate::filter::Filter;
use crate::kernel::IPS_ASSURED_BIT;
use crate::model::entry::{Entry, proto_name};
use crate::model::stats::{CpuStats, GlobalStats};
use crate::model::table::Table;
use crate::netlink::Conntrack;

/// What a reading collects beyond the fixed metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Dump each namespace that holds entries for the breakdown (off with
    /// `--no-breakdown`).
    pub breakdown: bool,
    /// One counter series per CPU rather than their sum.
    pub per_cpu: bool,
    /// How many of the busiest source and destination addresses to keep, if any.
    pub top_sources: Option<usize>,
    pub top_destinations: Option<usize>,
}

/// Entries by the status flags the metrics name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub assured: u64,
    pub unreplied: u64,
    pub snat: u64,
    pub dnat: u64,
}

/// One namespace's table, as one scrape read it.
#[derive(Debug, Default)]
pub struct NamespaceReading {
    pub global: GlobalStats,
    pub expectations: u32,
    pub cpus: Vec<CpuStats>,
    /// `None` when it was not asked for (`--no-breakdown`) or not read.
    pub breakdown: Option<Breakdown>,
}

/// What only a dump of the table tells: its entries counted as they streamed in.
#[derive(Debug, Default)]
pub struct Breakdown {
    /// Entries by (protocol number, tracker state; `None` for stateless protocols).
    pub by_state: BTreeMap<(u8, Option<&'static str>), u64>,
    pub by_zone: BTreeMap<u16, u64>,
    pub by_status: StatusCounts,
    pub top_sources: Vec<(IpAddr, u64)>,
    pub top_destinations: Vec<(IpAddr, u64)>,
}

/// Reads the kernel's counters: a request each, whatever the table holds.
pub fn read_counters(conntrack: &mut Conntrack) -> Result<NamespaceReading> {
    Ok(NamespaceReading {
        global: conntrack.global_stats()?,
        cpus: conntrack.cpu_stats(Table::Conntrack)?,
        expectations: conntrack.count_all_expectations()?,
        breakdown: None,
    })
}

/// Dumps the table once, counting each entry as it arrives: nothing per entry outlives
/// its message. `entries` is the kernel's count, read just before: a table it counts
/// empty is not dumped (a dump walks the host's whole hash table, whatever the
/// namespace holds), and breaks down as an empty dump would. Where ctnetlink was refused
/// (the count came from the sysctl instead), the dump is tried all the same, so that a
/// refusal is reported (conntrack_scrape_errors_total) whatever the table holds.
///
/// A dump not begun by `deadline`, or still streaming then, fails with [`PastDeadline`]:
/// the dump is abandoned (the caller drops the socket, which ends it in the kernel) and
/// what it had counted is dropped with it, never shown as the table's.
pub fn read_breakdown(
    conntrack: &mut Conntrack,
    entries: Option<u32>,
    options: Options,
    deadline: Instant,
) -> Result<Breakdown> {
    let mut breakdown = Breakdown::default();
    if entries == Some(0) && crate::netlink::ops::proc_fallback().is_none() {
        return Ok(breakdown);
    }
    if Instant::now() >= deadline {
        return Err(PastDeadline.into());
    }
    let mut counted = 0u32;
    let mut sources = options.top_sources.map(|_| HashMap::new());
    let mut destinations = options.top_destinations.map(|_| HashMap::new());
    conntrack.entries(
        Table::Conntrack,
        &Filter::default(),
        |entry, _| {
            counted = counted.wrapping_add(1);
            if counted % DEADLINE_CHECK_EVERY == 0 && Instant::now() >= deadline {
                return Err(PastDeadline.into());
            }
            breakdown.count(entry);
            count_address(&mut sources, entry.original.src);
            count_address(&mut destinations, entry.original.dst);
            Ok(())
        },
        // An entry that cannot be decoded is left out, as `ct top` leaves it out of its
        // groups; conntrack_entries (the kernel's count) still includes it.
        |_| Ok(()),
    )?;
    breakdown.top_sources = largest(sources, options.top_sources);
    breakdown.top_destinations = largest(destinations, options.top_destinations);
    Ok(breakdown)
}

/// Entries counted between two looks at the clock while a dump streams: a look costs
/// tens of nanoseconds, an entry about as much to count.
const DEADLINE_CHECK_EVERY: u32 = 256;

/// A breakdown's dump that had not finished by the scrape's deadline.
#[derive(Debug)]
pub struct PastDeadline;

impl std::fmt::Display for PastDeadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the scrape's deadline (--scrape-timeout) passed before the dump ended")
    }
}

impl std::error::Error for PastDeadline {}

impl Breakdown {
    fn count(&mut self, entry: &Entry<'_>) {
        let state = entry.state.map(|state| state.name());
        *self.by_state.entry((entry.protonum(), state)).or_default() += 1;
        *self.by_zone.entry(entry.zone.unwrap_or(0)).or_default() += 1;
        let status = &mut self.by_status;
        status.assured += u64::from(entry.has_status(IPS_ASSURED_BIT));
        status.unreplied += u64::from(entry.is_unreplied());
        // NAT as `ct list --src-nat`/`--dst-nat` and ct top's nat key define it.
        status.snat += u64::from(entry.source_nat().is_some());
        status.dnat += u64::from(entry.destination_nat().is_some());
    }
}

fn count_address(counts: &mut Option<HashMap<IpAddr, u64>>, address: Option<IpAddr>) {
    if let (Some(counts), Some(address)) = (counts, address) {
        *counts.entry(address).or_default() += 1;
    }
}

/// The `limit` addresses with the most entries, largest first (ties by address, so the
/// series do not flap between equal counts).
fn largest(counts: Option<HashMap<IpAddr, u64>>, limit: Option<usize>) -> Vec<(IpAddr, u64)> {
    let (Some(counts), Some(limit)) = (counts, limit) else {
        return Vec::new();
    };
    let mut all: Vec<(IpAddr, u64)> = counts.into_iter().collect();
    all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    all.truncate(limit);
    all
}

/// A namespace's place in a scrape: its reading, if it could be read, and how long that
/// took.
#[derive(Debug)]
pub struct NamespaceScrape {
    pub netns: String,
    pub reading: Option<NamespaceReading>,
    pub seconds: f64,
    /// Its breakdown's dump was abandoned at the scrape's deadline (the reading holds
    /// the counters only).
    pub timed_out: bool,
}

/// What outlives a scrape: the exporter's own counters.
#[derive(Debug, Default, Clone)]
pub struct Lifetime {
    /// Failed readings, by namespace label, since the exporter started.
    pub errors: BTreeMap<String, u64>,
    /// Readings whose breakdown was abandoned at the deadline, by namespace label.
    pub timeouts: BTreeMap<String, u64>,
    /// Readings of the kernel since the exporter started (fewer than scrapes when
    /// concurrent scrapes share one).
    pub readings: u64,
}

/// The label value of the state of a stateless protocol's entries (UDP, ICMP, GRE...):
/// empty, which PromQL treats as the label being absent.
pub const NO_STATE: &str = "";

/// The metrics of one scrape in the text exposition format (0.0.4).
pub fn render(
    scrapes: &[NamespaceScrape],
    lifetime: &Lifetime,
    options: Options,
) -> Result<String> {
    let metrics = Metrics::new(options)?;
    for scrape in scrapes {
        metrics.add_scrape(scrape)?;
    }
    metrics.add_lifetime(lifetime)?;
    let mut text = String::new();
    TextEncoder::new().encode_utf8(&metrics.registry.gather(), &mut text)?;
    Ok(text)
}

type GaugeVec = GenericGaugeVec<prometheus::core::AtomicI64>;
type FloatGaugeVec = GenericGaugeVec<prometheus::core::AtomicF64>;
type CounterVec = GenericCounterVec<prometheus::core::AtomicU64>;

/// The families of one scrape, in a registry made for it: every value is the kernel's
/// (or the exporter's lifetime counter) at this scrape, set once.
struct Metrics {
    registry: Registry,
    options: Options,
    entries: GaugeVec,
    limit: GaugeVec,
    expectations: GaugeVec,
    by_state: GaugeVec,
    by_zone: GaugeVec,
    by_status: GaugeVec,
    top_sources: GaugeVec,
    top_destinations: GaugeVec,
    duration: FloatGaugeVec,
    errors: CounterVec,
    timeouts: CounterVec,
    readings: CounterVec,
    build_info: GaugeVec,
    /// conntrack_stat_<name>_total, made as the kernel names its counters.
    stats: std::cell::RefCell<BTreeMap<String, CounterVec>>,
}

impl Metrics {
    fn new(options: Options) -> Result<Metrics> {
        let registry = Registry::new();
        let netns = &["netns"];
        Ok(Metrics {
            entries: register(
                &registry,
                "conntrack_entries",
                "Entries in the conntrack table (the kernel's count, as conntrack -C).",
                netns,
            )?,
            limit: register(
                &registry,
                "conntrack_entries_limit",
                "The table's limit, net.netfilter.nf_conntrack_max; new connections are dropped beyond it.",
                netns,
            )?,
            expectations: register(
                &registry,
                "conntrack_expectations",
                "Expectations: connections helpers (ftp, sip, tftp...) announced.",
                netns,
            )?,
            by_state: register(
                &registry,
                "conntrack_entries_by_state",
                "Entries by layer-4 protocol and tracker state (state is empty for stateless protocols such as udp and icmp).",
                &["netns", "proto", "state"],
            )?,
            by_zone: register(
                &registry,
                "conntrack_entries_by_zone",
                "Entries by conntrack zone (0 is the default zone).",
                &["netns", "zone"],
            )?,
            by_status: register(
                &registry,
                "conntrack_entries_by_status",
                "Entries with a status: assured, unreplied (no reply seen), snat or dnat (NAT rewrote the source or destination).",
                &["netns", "status"],
            )?,
            top_sources: register(
                &registry,
                "conntrack_top_source_entries",
                "Entries of the source addresses with the most entries (--top-sources).",
                &["netns", "address"],
            )?,
            top_destinations: register(
                &registry,
                "conntrack_top_destination_entries",
                "Entries of the destination addresses with the most entries (--top-destinations).",
                &["netns", "address"],
            )?,
            duration: register(
                &registry,
                "conntrack_scrape_duration_seconds",
                "Seconds the last reading of the namespace's table took.",
                netns,
            )?,
            errors: register(
                &registry,
                "conntrack_scrape_errors_total",
                "Readings of a namespace that failed (it vanished, or the kernel refused) since the exporter started.",
                netns,
            )?,
            timeouts: register(
                &registry,
                "conntrack_scrape_timeouts_total",
                "Readings of a namespace whose breakdown (by state, zone, status, top addresses) was abandoned at the deadline (--scrape-timeout) since the exporter started; that scrape carried its counts only.",
                netns,
            )?,
            readings: register(
                &registry,
                "conntrack_exporter_readings_total",
                "Readings of the kernel since the exporter started; concurrent scrapes share one.",
                &[],
            )?,
            build_info: register(
                &registry,
                "conntrack_exporter_build_info",
                "Always 1; the version label says which ct serves these metrics.",
                &["version"],
            )?,
            stats: Default::default(),
            options,
            registry,
        })
    }

    fn add_scrape(&self, scrape: &NamespaceScrape) -> Result<()> {
        let netns = scrape.netns.as_str();
        self.duration
            .get_metric_with_label_values(&[netns])?
            .set(scrape.seconds);
        // Shown at 0 from the first scrape, so that rate() and alerts see it start.
        self.errors.get_metric_with_label_values(&[netns])?;
        self.timeouts.get_metric_with_label_values(&[netns])?;
        let Some(reading) = &scrape.reading else {
            return Ok(());
        };
        set(
            &self.entries,
            &[netns],
            reading.global.entries.map(u64::from),
        )?;
        set(
            &self.limit,
            &[netns],
            reading.global.max_entries.map(u64::from),
        )?;
        set(
            &self.expectations,
            &[netns],
            Some(u64::from(reading.expectations)),
        )?;
        self.add_cpu_counters(netns, &reading.cpus)?;
        let Some(breakdown) = &reading.breakdown else {
            return Ok(());
        };
        for ((protonum, state), count) in &breakdown.by_state {
            let proto = proto_label(*protonum);
            let state = state.unwrap_or(NO_STATE);
            set(&self.by_state, &[netns, &proto, state], Some(*count))?;
        }
        for (zone, count) in &breakdown.by_zone {
            set(&self.by_zone, &[netns, &zone.to_string()], Some(*count))?;
        }
        let status = breakdown.by_status;
        for (name, count) in [
            ("assured", status.assured),
            ("unreplied", status.unreplied),
            ("snat", status.snat),
            ("dnat", status.dnat),
        ] {
            set(&self.by_status, &[netns, name], Some(count))?;
        }
        for (address, count) in &breakdown.top_sources {
            set(
                &self.top_sources,
                &[netns, &address.to_string()],
                Some(*count),
            )?;
        }
        for (address, count) in &breakdown.top_destinations {
            set(
                &self.top_destinations,
                &[netns, &address.to_string()],
                Some(*count),
            )?;
        }
        Ok(())
    }

    /// The per-CPU counters, summed (in 64 bits) or one series per CPU.
    fn add_cpu_counters(&self, netns: &str, cpus: &[CpuStats]) -> Result<()> {
        if self.options.per_cpu {
            for cpu in cpus {
                let cpu_label = cpu.cpu.to_string();
                for (name, value) in &cpu.counters {
                    self.add_stat(name, &[netns, &cpu_label], u64::from(*value))?;
                }
            }
        } else {
            for (name, value) in crate::model::stats::totals(cpus) {
                self.add_stat(name, &[netns], value)?;
            }
        }
        Ok(())
    }

    fn add_stat(&self, kernel_name: &str, labels: &[&str], value: u64) -> Result<()> {
        let Some(name) = stat_metric_name(kernel_name) else {
            return Ok(());
        };
        let mut stats = self.stats.borrow_mut();
        let family = match stats.get(&name) {
            Some(family) => family.clone(),
            None => {
                let label_names: &[&str] = if self.options.per_cpu {
                    &["netns", "cpu"]
                } else {
                    &["netns"]
                };
                let family: CounterVec =
                    register(&self.registry, &name, &stat_help(kernel_name), label_names)?;
                stats.insert(name, family.clone());
                family
            }
        };
        family.get_metric_with_label_values(labels)?.inc_by(value);
        Ok(())
    }

    fn add_lifetime(&self, lifetime: &Lifetime) -> Result<()> {
        for (netns, count) in &lifetime.errors {
            self.errors
                .get_metric_with_label_values(&[netns.as_str()])?
                .inc_by(*count);
        }
        for (netns, count) in &lifetime.timeouts {
            self.timeouts
                .get_metric_with_label_values(&[netns.as_str()])?
                .inc_by(*count);
        }
        self.readings
            .get_metric_with_label_values::<&str>(&[])?
            .inc_by(lifetime.readings);
        set(&self.build_info, &[env!("CARGO_PKG_VERSION")], Some(1))
    }
}

/// A new family in `registry`.
fn register<C>(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<C>
where
    C: MetricVec,
{
    let family = C::create(Opts::new(name, help), labels)?;
    registry.register(Box::new(family.clone()))?;
    Ok(family)
}

/// The vector types `register` makes.
trait MetricVec: Collector + Clone + 'static {
    fn create(opts: Opts, labels: &[&str]) -> prometheus::Result<Self>;
}

impl MetricVec for GaugeVec {
    fn create(opts: Opts, labels: &[&str]) -> prometheus::Result<Self> {
        GaugeVec::new(opts, labels)
    }
}

impl MetricVec for FloatGaugeVec {
    fn create(opts: Opts, labels: &[&str]) -> prometheus::Result<Self> {
        FloatGaugeVec::new(opts, labels)
    }
}

impl MetricVec for CounterVec {
    fn create(opts: Opts, labels: &[&str]) -> prometheus::Result<Self> {
        CounterVec::new(opts, labels)
    }
}

/// Sets a gauge, if there is a value (a kernel that does not report the limit leaves
/// conntrack_entries_limit out rather than claiming 0).
fn set(family: &GaugeVec, labels: &[&str], value: Option<u64>) -> Result<()> {
    if let Some(value) = value {
        let value = i64::try_from(value).unwrap_or(i64::MAX);
        family.get_metric_with_label_values(labels)?.set(value);
    }
    Ok(())
}

/// conntrack's protocol name, or the number for a protocol it has no tracker for.
fn proto_label(protonum: u8) -> String {
    proto_name(protonum).map_or_else(|| protonum.to_string(), String::from)
}

/// `conntrack_stat_<name>_total` for a per-CPU counter; `None` for `entries`, the one
/// name that is not a counter (a gauge each CPU's line of the /proc file repeats,
/// exported as conntrack_entries).
fn stat_metric_name(kernel_name: &str) -> Option<String> {
    if kernel_name == "entries" || kernel_name.is_empty() {
        return None;
    }
    // Names come from ct's table of attribute names, or from the /proc file's header
    // where netlink is refused: keep to what a metric name may hold.
    let clean: String = kernel_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    Some(format!("conntrack_stat_{clean}_total"))
}

/// The HELP of a per-CPU counter: what it counts, for the ones worth alerting on.
fn stat_help(kernel_name: &str) -> String {
    let what = match kernel_name {
        "found" => "Lookups that found an existing entry",
        "invalid" => "Packets conntrack could not track (malformed, or out of window)",
        "insert" => "Entries inserted",
        "insert_failed" => {
            "Entries that could not be inserted (a clash, or a full table): their packet was dropped"
        }
        "drop" => "Packets dropped because the table was full and no entry could be evicted",
        "early_drop" => "Unassured entries evicted to make room in a full table",
        "error" => {
            "Packets the protocol trackers reported as errors (ICMP errors that matched no entry...)"
        }
        "search_restart" => "Lookups restarted because the hash table was resized under them",
        "clash_resolve" => "Insertion clashes resolved by reusing the existing entry",
        "chaintoolong" => "Insertions refused because a hash chain was too long",
        "ignore" => "Packets already tracked or untracked, ignored",
        "searched" => "Hash table entries looked at (no longer counted since Linux 4.10)",
        "new" => "Entries created (no longer counted since Linux 4.10)",
        "delete" => "Entries deleted (no longer counted since Linux 4.10)",
        "delete_list" => "Entries deleted from the list (no longer counted since Linux 4.10)",
        _ => "A per-CPU conntrack counter the kernel reports",
    };
    format!("{what}; the kernel's {kernel_name} counter of conntrack -S.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn sample() -> NamespaceScrape {
        let mut breakdown = Breakdown::default();
        breakdown.by_state.insert((6, Some("ESTABLISHED")), 2);
        breakdown.by_state.insert((17, None), 1);
        breakdown.by_zone.insert(0, 3);
        breakdown.by_status.assured = 2;
        let reading = NamespaceReading {
            global: GlobalStats {
                entries: Some(3),
                max_entries: Some(262144),
            },
            expectations: 1,
            cpus: vec![
                CpuStats {
                    cpu: 0,
                    counters: vec![(Cow::Borrowed("found"), 2), (Cow::Borrowed("drop"), 1)],
                },
                CpuStats {
                    cpu: 1,
                    counters: vec![(Cow::Borrowed("found"), 5), (Cow::Borrowed("drop"), 0)],
                },
            ],
            breakdown: Some(breakdown),
        };
        NamespaceScrape {
            netns: "host".into(),
            reading: Some(reading),
            seconds: 0.25,
            timed_out: false,
        }
    }

    #[test]
    fn renders_sums_states_and_lifetime_counters() {
        let lifetime = Lifetime {
            errors: [("gone".to_string(), 2)].into(),
            timeouts: [("slow".to_string(), 3)].into(),
            readings: 7,
        };
        let text = render(&[sample()], &lifetime, Options::default()).unwrap();
        for line in [
            "# TYPE conntrack_entries gauge",
            "conntrack_entries{netns=\"host\"} 3",
            "conntrack_entries_limit{netns=\"host\"} 262144",
            "conntrack_expectations{netns=\"host\"} 1",
            "# TYPE conntrack_stat_found_total counter",
            "conntrack_stat_found_total{netns=\"host\"} 7",
            "conntrack_stat_drop_total{netns=\"host\"} 1",
            "conntrack_entries_by_state{netns=\"host\",proto=\"tcp\",state=\"ESTABLISHED\"} 2",
            "conntrack_entries_by_state{netns=\"host\",proto=\"udp\",state=\"\"} 1",
            "conntrack_entries_by_zone{netns=\"host\",zone=\"0\"} 3",
            "conntrack_entries_by_status{netns=\"host\",status=\"assured\"} 2",
            "conntrack_entries_by_status{netns=\"host\",status=\"dnat\"} 0",
            "conntrack_scrape_duration_seconds{netns=\"host\"} 0.25",
            "conntrack_scrape_errors_total{netns=\"gone\"} 2",
            "conntrack_scrape_errors_total{netns=\"host\"} 0",
            "conntrack_scrape_timeouts_total{netns=\"slow\"} 3",
            "conntrack_scrape_timeouts_total{netns=\"host\"} 0",
            "conntrack_exporter_readings_total 7",
        ] {
            assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
        }
        assert!(text.contains("# HELP conntrack_stat_drop_total Packets dropped"));
        assert!(!text.contains("conntrack_top_source_entries"), "{text}");
    }

    #[test]
    fn per_cpu_series_carry_the_cpu() {
        let options = Options {
            per_cpu: true,
            ..Options::default()
        };
        let text = render(&[sample()], &Lifetime::default(), options).unwrap();
        assert!(
            text.contains("conntrack_stat_found_total{cpu=\"1\",netns=\"host\"} 5"),
            "{text}"
        );
    }

    #[test]
    fn entries_is_no_counter_and_odd_names_are_cleaned() {
        assert_eq!(stat_metric_name("entries"), None);
        assert_eq!(
            stat_metric_name("insert_failed").as_deref(),
            Some("conntrack_stat_insert_failed_total")
        );
        assert_eq!(
            stat_metric_name("Weird-Name").as_deref(),
            Some("conntrack_stat_weird_name_total")
        );
    }

    #[test]
    fn largest_keeps_the_top_with_stable_ties() {
        let counts: HashMap<IpAddr, u64> = [
            ("10.0.0.3".parse().unwrap(), 1),
            ("10.0.0.2".parse().unwrap(), 5),
            ("10.0.0.1".parse().unwrap(), 1),
        ]
        .into();
        let top = largest(Some(counts), Some(2));
        assert_eq!(
            top,
            vec![
                ("10.0.0.2".parse().unwrap(), 5),
                ("10.0.0.1".parse().unwrap(), 1)
            ]
        );
    }
}
