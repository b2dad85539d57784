//! Printers for `ct top`: the groups as a table for people (under the table's
//! headline), as JSON Lines (one object per group) and as plain `key=value` lines for
//! grep. The live view draws the same texts ([`headline`], [`push_value`]).

use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::IpAddr;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};
use tabled::builder::Builder;

use super::table::{human_bytes, human_count, render};
use crate::labelmap::{LabelMap, label_name};
use crate::model::entry::{LabelBits, proto_name};
use crate::model::group::{Group, Grouping, KeyField, KeyValue, SortBy};
use crate::model::stats::Headline;

/// What a `ct top` printer shows.
pub struct TopView<'a> {
    pub grouping: &'a Grouping,
    /// The groups to show, in order.
    pub groups: Vec<Group<'a>>,
    pub order: SortBy,
    /// Entries in the whole table (the kernel's count, or the entries of a saved dump),
    /// for each group's share.
    pub table_entries: u64,
    /// The kernel's view of the table; none for a saved dump.
    pub headline: Option<Headline>,
    pub labels: Option<&'a LabelMap>,
    /// Seconds since the previous grouping, when new entries were counted against one.
    pub interval: Option<f64>,
}

impl TopView<'_> {
    /// The group's entries in percent of the table's (at most 100: the table can
    /// shrink between the count and the dump).
    pub fn share(&self, group: &Group<'_>) -> f64 {
        let total = self.table_entries.max(self.grouping.entries());
        if total == 0 {
            return 0.0;
        }
        (group.totals.entries as f64 * 100.0 / total as f64).min(100.0)
    }

    /// New entries a second in `group`, when rates are known.
    pub fn rate(&self, group: &Group<'_>) -> Option<f64> {
        let interval = self.interval.filter(|_| self.grouping.has_rates())?;
        Some(group.totals.new as f64 / interval.max(0.001))
    }

    /// How many groups and entries are not shown.
    fn hidden(&self) -> (usize, u64) {
        let shown: u64 = self.groups.iter().map(|g| g.totals.entries).sum();
        (
            self.grouping.len().saturating_sub(self.groups.len()),
            self.grouping.entries().saturating_sub(shown),
        )
    }

    /// The second line: what is grouped, and how.
    pub fn summary(&self) -> String {
        let by: Vec<String> = self.grouping.fields().iter().map(|f| f.name()).collect();
        format!(
            "{} in {} by {}, sorted by {}",
            super::count(
                self.grouping.entries(),
                "matching entry",
                "matching entries"
            ),
            super::count(self.grouping.len() as u64, "group", "groups"),
            by.join(","),
            self.order
        )
    }
}

/// The table's headline: `entries 1234 of 262144 (0.5% full)  insert_failed 0  drop 0
/// early_drop 0`; for a saved dump, its entry count alone.
pub fn headline(headline: Option<&Headline>, table_entries: u64) -> String {
    let Some(headline) = headline else {
        return format!("entries {table_entries} (saved dump)");
    };
    let mut text = String::new();
    let _ = write!(
        text,
        "entries {}",
        headline.global.entries.map_or(table_entries, u64::from)
    );
    if let Some(limit) = headline.global.max_entries {
        let _ = write!(text, " of {limit}");
    }
    if let Some(full) = headline.global.fill_percent() {
        let _ = write!(text, " ({full:.1}% full)");
    }
    if let Some(namespaces) = headline.namespaces {
        let _ = write!(
            text,
            " in {}",
            super::count(namespaces.count as u64, "namespace", "namespaces")
        );
        if let Some((netns, full)) = namespaces.fullest {
            let _ = write!(text, " (fullest: {netns}, {full:.1}%)");
        }
    }
    for (name, value) in [
        ("insert_failed", headline.insert_failed),
        ("drop", headline.drop),
        ("early_drop", headline.early_drop),
    ] {
        if let Some(value) = value {
            let _ = write!(text, "  {name} {value}");
        }
    }
    text
}

/// A key's value as text, the same in every format that prints text: `-` where the
/// entry has none (no ports, no state, no NAT...).
pub fn push_value(text: &mut String, value: &KeyValue, labels: Option<&LabelMap>) {
    let _ = match *value {
        KeyValue::Family(raw) => write!(text, "{}", KeyValue::family_name(raw)),
        KeyValue::Proto(protonum) => match proto_name(protonum) {
            Some(name) => write!(text, "{name}"),
            None => write!(text, "{protonum}"),
        },
        KeyValue::State(Some(name)) => write!(text, "{name}"),
        KeyValue::Address(Some(address)) => write!(text, "{address}"),
        KeyValue::Network(address, length) => write!(text, "{address}/{length}"),
        KeyValue::Port(Some(port)) => write!(text, "{port}"),
        KeyValue::Zone(zone) => write!(text, "{zone}"),
        KeyValue::Mark(Some(mark)) => write!(text, "{mark}"),
        KeyValue::Nat { snat, dnat } if snat.is_some() || dnat.is_some() => {
            push_nat(text, snat, dnat);
            Ok(())
        }
        KeyValue::Helper(name) if !name.as_bytes().is_empty() => {
            write!(text, "{}", String::from_utf8_lossy(name.as_bytes()))
        }
        KeyValue::Labels(bits) if bits != 0 => {
            push_labels(text, bits, labels);
            Ok(())
        }
        KeyValue::Flag(set) => write!(text, "{}", if set { "yes" } else { "no" }),
        KeyValue::Netns(label) => write!(text, "{label}"),
        KeyValue::State(None)
        | KeyValue::Address(None)
        | KeyValue::Port(None)
        | KeyValue::Mark(None)
        | KeyValue::Nat { .. }
        | KeyValue::Helper(_)
        | KeyValue::Labels(_) => write!(text, "-"),
    };
}

/// `snat:192.0.2.1`, `dnat:10.0.0.7`, or both joined by a comma.
fn push_nat(text: &mut String, snat: Option<IpAddr>, dnat: Option<IpAddr>) {
    let mut first = true;
    for (kind, address) in [("snat", snat), ("dnat", dnat)] {
        if let Some(address) = address {
            if !first {
                text.push(',');
            }
            let _ = write!(text, "{kind}:{address}");
            first = false;
        }
    }
}

/// The label names (or bit numbers), comma-separated, lowest bit first.
fn push_labels(text: &mut String, bits: u128, labels: Option<&LabelMap>) {
    for (index, bit) in LabelBits::from_u128(bits).labels().bits().enumerate() {
        if index > 0 {
            text.push(',');
        }
        text.push_str(&label_name(labels, bit));
    }
}

fn value_text(value: &KeyValue, labels: Option<&LabelMap>) -> String {
    let mut text = String::new();
    push_value(&mut text, value, labels);
    text
}

/// How `ct top` prints the groups once (`-o`): the plan picks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopFormat {
    /// [`print_table`].
    Table,
    /// [`print_json`].
    Json,
    /// [`print_plain`].
    Plain,
}

/// Prints `view` in `format`.
pub fn print<W: Write>(out: &mut W, view: &TopView<'_>, format: TopFormat) -> io::Result<()> {
    match format {
        TopFormat::Table => print_table(out, view),
        TopFormat::Json => print_json(out, view),
        TopFormat::Plain => print_plain(out, view),
    }
}

/// For people: the headline, what is grouped, then one row per group.
pub fn print_table<W: Write>(out: &mut W, view: &TopView<'_>) -> io::Result<()> {
    writeln!(
        out,
        "{}",
        headline(view.headline.as_ref(), view.table_entries)
    )?;
    writeln!(out, "{}", view.summary())?;
    writeln!(out)?;
    let fields = view.grouping.fields();
    let counters = view.grouping.has_counters();
    let rates = view.grouping.has_rates() && view.interval.is_some();
    let mut header: Vec<String> = fields.iter().map(|f| f.name().to_uppercase()).collect();
    header.extend(["ENTRIES", "SHARE"].map(String::from));
    if rates {
        header.push("NEW/S".into());
    }
    if counters {
        header.extend(["PACKETS", "BYTES"].map(String::from));
    }
    let numbers: Vec<usize> = (fields.len()..header.len()).collect();
    let mut rows = Builder::new();
    rows.push_record(header);
    for group in &view.groups {
        let mut row: Vec<String> = group
            .key
            .iter()
            .map(|value| value_text(value, view.labels))
            .collect();
        row.push(group.totals.entries.to_string());
        row.push(format!("{:.1}%", view.share(group)));
        if let Some(rate) = view.rate(group).filter(|_| rates) {
            row.push(format!("{rate:.1}"));
        }
        if counters {
            row.push(human_count(group.totals.packets));
            row.push(human_bytes(group.totals.bytes));
        }
        rows.push_record(row);
    }
    writeln!(out, "{}", render(rows, &numbers))?;
    let (groups, entries) = view.hidden();
    if groups > 0 {
        writeln!(
            out,
            "({} with {})",
            super::count(groups as u64, "more group", "more groups"),
            super::count(entries, "entry", "entries")
        )?;
    }
    Ok(())
}

/// For grep: one line per group, `key=value` for each key, then `entries=`,
/// `share=` (percent), and `packets=` `bytes=` when accounting is on.
pub fn print_plain<W: Write>(out: &mut W, view: &TopView<'_>) -> io::Result<()> {
    let counters = view.grouping.has_counters();
    let names: Vec<String> = view.grouping.fields().iter().map(|f| f.name()).collect();
    let mut line = String::with_capacity(128);
    for group in &view.groups {
        line.clear();
        for (name, value) in names.iter().zip(group.key) {
            let _ = write!(line, "{name}=");
            push_value(&mut line, value, view.labels);
            line.push(' ');
        }
        let _ = write!(
            line,
            "entries={} share={:.1}%",
            group.totals.entries,
            view.share(group)
        );
        if counters {
            let _ = write!(
                line,
                " packets={} bytes={}",
                group.totals.packets, group.totals.bytes
            );
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// For jq: one object per group, its keys under their `--by` names, then `entries`,
/// `share_percent`, and `packets` and `bytes` when accounting is on. Values are typed:
/// ports, zones and marks are numbers, flags booleans, labels a list, NAT an object of
/// `snat`/`dnat`; what an entry does not have is null.
pub fn print_json<W: Write>(out: &mut W, view: &TopView<'_>) -> io::Result<()> {
    let counters = view.grouping.has_counters();
    let names: Vec<String> = view.grouping.fields().iter().map(|f| f.name()).collect();
    for group in &view.groups {
        let mut object = OrderedObject(Vec::with_capacity(names.len() + 4));
        for (name, value) in names.iter().zip(group.key) {
            object.0.push((name, json_value(value, view.labels)));
        }
        object.0.push(("entries", json!(group.totals.entries)));
        let share = (view.share(group) * 100.0).round() / 100.0;
        object.0.push(("share_percent", json!(share)));
        if counters {
            object.0.push(("packets", json!(group.totals.packets)));
            object.0.push(("bytes", json!(group.totals.bytes)));
        }
        serde_json::to_writer(&mut *out, &object).map_err(io::Error::other)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// A JSON object whose keys keep their order: the `--by` keys first, as typed.
struct OrderedObject<'a>(Vec<(&'a str, Value)>);

impl Serialize for OrderedObject<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

fn json_value(value: &KeyValue, labels: Option<&LabelMap>) -> Value {
    match *value {
        KeyValue::Port(port) => json!(port),
        KeyValue::Zone(zone) => json!(zone),
        KeyValue::Mark(mark) => json!(mark),
        KeyValue::Flag(set) => json!(set),
        KeyValue::Labels(bits) => LabelBits::from_u128(bits)
            .labels()
            .bits()
            .map(|bit| Value::String(label_name(labels, bit)))
            .collect(),
        KeyValue::Nat {
            snat: None,
            dnat: None,
        }
        | KeyValue::State(None)
        | KeyValue::Address(None) => Value::Null,
        KeyValue::Nat { snat, dnat } => json!({ "snat": snat, "dnat": dnat }),
        KeyValue::Helper(name) if name.as_bytes().is_empty() => Value::Null,
        _ => Value::String(value_text(value, labels)),
    }
}

/// The fields' names for a heading, `src,proto`.
pub fn fields_text(fields: &[KeyField]) -> String {
    fields
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::*;
    use crate::model::entry::{Counters, Entry, Family, L4, Labels, ProtoState, Tuple};
    use crate::model::stats::GlobalStats;

    fn entry(src: &str, protonum: u8, l4: L4) -> Entry<'static> {
        let tuple = |src: &str, dst: &str| Tuple {
            src: Some(src.parse().unwrap()),
            dst: Some(dst.parse().unwrap()),
            protonum,
            l4,
            zone: None,
        };
        Entry::new(Family::Ipv4, tuple(src, "10.9.9.9"), tuple("10.9.9.9", src))
    }

    fn grouping(by: &str, entries: &[Entry<'_>]) -> Grouping {
        let fields = by.split(',').map(|w| KeyField::parse(w).unwrap()).collect();
        let mut grouping = Grouping::new(fields);
        for entry in entries {
            grouping.add(entry);
        }
        grouping
    }

    fn view<'a>(grouping: &'a Grouping, limit: usize, headline: Option<Headline>) -> TopView<'a> {
        TopView {
            grouping,
            groups: grouping.top(SortBy::Entries, limit),
            order: SortBy::Entries,
            table_entries: 4,
            headline,
            labels: None,
            interval: None,
        }
    }

    fn sample() -> Vec<Entry<'static>> {
        let ports = L4::Ports {
            sport: 1000,
            dport: 80,
        };
        let mut established = entry("10.0.0.1", IPPROTO_TCP, ports);
        established.state = Some(ProtoState::Tcp(3));
        established.counters_original = Some(Counters {
            packets: 1500,
            bytes: 2048,
        });
        let ping = entry(
            "10.0.0.2",
            IPPROTO_ICMP,
            L4::Icmp {
                icmp_type: 8,
                code: 0,
                id: 1,
            },
        );
        vec![established, established, ping]
    }

    #[test]
    fn table_for_people() {
        let grouping = grouping("src,state,dport", &sample());
        let headline = Headline {
            global: GlobalStats {
                entries: Some(4),
                max_entries: Some(100),
            },
            insert_failed: Some(0),
            drop: Some(2),
            early_drop: Some(0),
            namespaces: None,
        };
        let mut out = Vec::new();
        print_table(&mut out, &view(&grouping, 1, Some(headline))).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                "entries 4 of 100 (4.0% full)  insert_failed 0  drop 2  early_drop 0\n",
                "3 matching entries in 2 groups by src,state,dport, sorted by entries\n",
                "\n",
                "SRC       STATE        DPORT  ENTRIES  SHARE  PACKETS  BYTES\n",
                "10.0.0.1  ESTABLISHED  80           2  50.0%     3.0k   4.0K\n",
                "(1 more group with 1 entry)\n",
            )
        );
    }

    #[test]
    fn plain_for_grep_and_json_for_jq() {
        let grouping = grouping("src,dport,nat,label", &sample());
        let mut plain = Vec::new();
        print_plain(&mut plain, &view(&grouping, 10, None)).unwrap();
        assert_eq!(
            String::from_utf8(plain).unwrap(),
            concat!(
                "src=10.0.0.1 dport=80 nat=- label=- entries=2 share=50.0% packets=3000 bytes=4096\n",
                "src=10.0.0.2 dport=- nat=- label=- entries=1 share=25.0% packets=0 bytes=0\n",
            )
        );
        let mut json = Vec::new();
        print_json(&mut json, &view(&grouping, 10, None)).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            concat!(
                r#"{"src":"10.0.0.1","dport":80,"nat":null,"label":[],"entries":2,"share_percent":50.0,"packets":3000,"bytes":4096}"#,
                "\n",
                r#"{"src":"10.0.0.2","dport":null,"nat":null,"label":[],"entries":1,"share_percent":25.0,"packets":0,"bytes":0}"#,
                "\n",
            )
        );
    }

    #[test]
    fn values_as_text() {
        let map = LabelMap::parse("0 zero\n5 five\n");
        let text = |value: KeyValue| {
            let mut text = String::new();
            push_value(&mut text, &value, Some(&map));
            text
        };
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "fd00::7".parse().unwrap();
        assert_eq!(
            text(KeyValue::Nat {
                snat: Some(a),
                dnat: Some(b)
            }),
            "snat:192.0.2.1,dnat:fd00::7"
        );
        assert_eq!(
            text(KeyValue::Nat {
                snat: None,
                dnat: Some(b)
            }),
            "dnat:fd00::7"
        );
        assert_eq!(text(KeyValue::Labels(1 | 1 << 5 | 1 << 7)), "zero,five,7");
        assert_eq!(text(KeyValue::Proto(IPPROTO_SCTP)), "sctp");
        assert_eq!(text(KeyValue::Proto(200)), "200");
        assert_eq!(text(KeyValue::Network(a, 24)), "192.0.2.1/24");
        assert_eq!(text(KeyValue::Flag(true)), "yes");
        assert_eq!(text(KeyValue::Family(AF_INET6)), "ipv6");
        let mut raw = [0u8; 16];
        raw[0..4].copy_from_slice(&(1u32 << 5).to_ne_bytes());
        let mut labelled = sample()[2];
        labelled.labels = Some(Labels(&raw));
        assert_eq!(
            KeyField::Label.value(&labelled, ""),
            KeyValue::Labels(1 << 5)
        );
    }
}
