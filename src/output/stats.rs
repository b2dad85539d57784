//! Printers for `ct stats`: conntrack's per-CPU lines, a table for people, one JSON
//! object for scripts; and `ct count`'s number. Under `--all-netns` the caller hands
//! over each namespace's [`NetnsTag`] and the printer puts it where the format wants it
//! (`[LABEL] ` before each line, a `netns` member first in the JSON object), as the
//! entries' printers do.

use std::io::{self, Write};

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use tabled::builder::Builder;

use super::NetnsTag;
use super::push_decimal;
use super::table::render;
use crate::model::stats::{CpuStats, GlobalStats, Headline, totals};
use crate::model::table::Table;

/// How `ct stats` prints (the plan makes it from `-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsFormat {
    /// conntrack's per-CPU lines ([`print_classic`]).
    Classic,
    /// One JSON object ([`print_json`]).
    Json,
    /// A table for people ([`print_table`], [`print_namespaces_table`]).
    Table,
}

/// `conntrack -C`'s line: the number and a newline, after `netns`'s `[LABEL] ` when
/// given.
pub fn print_count<W: Write>(out: &mut W, count: u64, netns: Option<&NetnsTag>) -> io::Result<()> {
    let mut line = Vec::with_capacity(32);
    if let Some(tag) = netns {
        line.extend_from_slice(&tag.prefix);
    }
    push_decimal(&mut line, count);
    line.push(b'\n');
    out.write_all(&line)
}

/// `conntrack -S` (and `-S expect`), byte for byte: `cpu=N` left-aligned in four
/// columns and a tab, then each counter as `name=value ` (the model already holds them
/// in conntrack's order and names); each line after `netns`'s `[LABEL] ` when given.
pub fn print_classic<W: Write>(
    out: &mut W,
    cpus: &[CpuStats],
    netns: Option<&NetnsTag>,
) -> io::Result<()> {
    let mut line = Vec::with_capacity(256);
    for cpu in cpus {
        line.clear();
        if let Some(tag) = netns {
            line.extend_from_slice(&tag.prefix);
        }
        line.extend_from_slice(b"cpu=");
        let start = line.len();
        push_decimal(&mut line, cpu.cpu);
        while line.len() - start < 4 {
            line.push(b' ');
        }
        line.push(b'\t');
        for (name, value) in &cpu.counters {
            line.extend_from_slice(name.as_bytes());
            line.push(b'=');
            push_decimal(&mut line, *value);
            line.push(b' ');
        }
        line.push(b'\n');
        out.write_all(&line)?;
    }
    Ok(())
}

/// One JSON object: `netns` first when given (the namespace, as entries carry it),
/// `table` (conntrack or expect), `global` (entries, limit, fill level, when known),
/// `totals` (each counter summed over the CPUs) and `cpus` (one object per CPU, its
/// number as `cpu`). Counters are named as conntrack names them.
pub fn print_json<W: Write>(
    out: &mut W,
    kind: Table,
    global: &GlobalStats,
    cpus: &[CpuStats],
    netns: Option<&NetnsTag>,
) -> io::Result<()> {
    let view = JsonStats {
        table: kind.name(),
        global: JsonGlobal {
            entries: global.entries,
            max_entries: global.max_entries,
            fill_percent: global.fill_percent(),
        },
        totals: Counters {
            cpu: None,
            counters: totals(cpus),
        },
        cpus: cpus
            .iter()
            .map(|cpu| Counters {
                cpu: Some(cpu.cpu),
                counters: cpu
                    .counters
                    .iter()
                    .map(|(name, value)| (name.as_ref(), u64::from(*value)))
                    .collect(),
            })
            .collect(),
    };
    let mut object = serde_json::to_vec(&view).map_err(io::Error::other)?;
    // The namespace's member goes right after the object's opening brace.
    if let Some(tag) = netns.filter(|_| object.first() == Some(&b'{')) {
        object.splice(1..1, tag.json_head.iter().copied());
    }
    object.push(b'\n');
    out.write_all(&object)
}

#[derive(Serialize)]
struct JsonStats<'a> {
    table: &'static str,
    global: JsonGlobal,
    totals: Counters<'a>,
    cpus: Vec<Counters<'a>>,
}

#[derive(Serialize)]
struct JsonGlobal {
    #[serde(skip_serializing_if = "Option::is_none")]
    entries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_entries: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fill_percent: Option<f64>,
}

/// Counters as one JSON object of `name: value`, after `cpu` when it is one CPU's.
struct Counters<'a> {
    cpu: Option<u16>,
    counters: Vec<(&'a str, u64)>,
}

impl Serialize for Counters<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.counters.len() + 1))?;
        if let Some(cpu) = self.cpu {
            map.serialize_entry("cpu", &cpu)?;
        }
        for (name, value) in &self.counters {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// For people: the table's fill level, then every counter with its total and its value
/// on each CPU.
pub fn print_table<W: Write>(
    out: &mut W,
    kind: Table,
    global: &GlobalStats,
    cpus: &[CpuStats],
) -> io::Result<()> {
    let number = |value: Option<u32>| value.map(|v| v.to_string()).unwrap_or_default();
    let mut headline = Builder::new();
    headline.push_record(["TABLE", "ENTRIES", "LIMIT", "FULL"]);
    headline.push_record([
        kind.name().to_string(),
        number(global.entries),
        number(global.max_entries),
        global
            .fill_percent()
            .map(|p| format!("{p:.1}%"))
            .unwrap_or_default(),
    ]);
    writeln!(out, "{}", render(headline, &[1, 2, 3]))?;
    writeln!(out)?;

    let mut counters = Builder::new();
    let mut header = vec!["COUNTER".to_string(), "TOTAL".to_string()];
    header.extend(cpus.iter().map(|cpu| format!("CPU{}", cpu.cpu)));
    counters.push_record(header);
    for (name, total) in totals(cpus) {
        let mut row = vec![name.to_string(), total.to_string()];
        for cpu in cpus {
            let value = cpu.counters.iter().find(|(n, _)| n == name);
            row.push(value.map(|(_, v)| v.to_string()).unwrap_or_default());
        }
        counters.push_record(row);
    }
    let right: Vec<usize> = (1..cpus.len() + 2).collect();
    writeln!(out, "{}", render(counters, &right))
}

/// `--all-netns -o table`: one row per namespace, its fill level and the counters
/// that say a table is full (summed over its CPUs).
pub fn print_namespaces_table<W: Write>(
    out: &mut W,
    kind: Table,
    rows: &[(String, Headline)],
) -> io::Result<()> {
    let number = |value: Option<u64>| value.map(|v| v.to_string()).unwrap_or_default();
    let mut table = Builder::new();
    table.push_record(
        [
            "NETNS",
            "TABLE",
            "ENTRIES",
            "LIMIT",
            "FULL",
            "INSERT_FAILED",
            "DROP",
            "EARLY_DROP",
        ]
        .map(String::from),
    );
    for (label, headline) in rows {
        table.push_record([
            label.clone(),
            kind.name().to_string(),
            number(headline.global.entries.map(u64::from)),
            number(headline.global.max_entries.map(u64::from)),
            headline
                .global
                .fill_percent()
                .map(|p| format!("{p:.1}%"))
                .unwrap_or_default(),
            number(headline.insert_failed),
            number(headline.drop),
            number(headline.early_drop),
        ]);
    }
    writeln!(out, "{}", render(table, &[2, 3, 4, 5, 6, 7]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpus() -> Vec<CpuStats> {
        let cpu = |cpu, found, failed, unknown| CpuStats {
            cpu,
            counters: vec![
                ("found".into(), found),
                ("insert_failed".into(), failed),
                ("unknown1".into(), unknown),
            ],
        };
        vec![cpu(0, 1, 2, 5), cpu(12345, 3, 4, 6)]
    }

    #[test]
    fn classic_is_conntrack_s() {
        let mut out = Vec::new();
        print_classic(&mut out, &cpus(), None).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "cpu=0   \tfound=1 insert_failed=2 unknown1=5 \n\
             cpu=12345\tfound=3 insert_failed=4 unknown1=6 \n"
        );
    }

    #[test]
    fn json_totals_are_the_sum_of_the_cpus() {
        let mut out = Vec::new();
        let global = GlobalStats {
            entries: Some(1),
            max_entries: Some(4),
        };
        print_json(&mut out, Table::Conntrack, &global, &cpus(), None).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                r#"{"table":"conntrack","global":{"entries":1,"max_entries":4,"fill_percent":25.0},"#,
                r#""totals":{"found":4,"insert_failed":6,"unknown1":11},"#,
                r#""cpus":[{"cpu":0,"found":1,"insert_failed":2,"unknown1":5},"#,
                r#"{"cpu":12345,"found":3,"insert_failed":4,"unknown1":6}]}"#,
                "\n"
            )
        );
    }

    fn blue() -> NetnsTag {
        NetnsTag::of(&crate::model::netns::Namespace {
            inode: 4026532281,
            name: Some("blue".into()),
            pid: Some(7),
            container: None,
            initial: false,
            path: "/run/netns/blue".into(),
            spec: "/run/netns/blue".into(),
        })
    }

    #[test]
    fn counts_and_statistics_carry_the_namespace_tag_the_printer_puts() {
        let mut out = Vec::new();
        print_count(&mut out, 42, None).unwrap();
        print_count(&mut out, 7, Some(&blue())).unwrap();
        print_classic(&mut out, &cpus(), Some(&blue())).unwrap();
        let global = GlobalStats {
            entries: Some(1),
            max_entries: None,
        };
        print_json(
            &mut out,
            Table::Expect,
            &global,
            &cpus()[..1],
            Some(&blue()),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                "42\n",
                "[blue] 7\n",
                "[blue] cpu=0   \tfound=1 insert_failed=2 unknown1=5 \n",
                "[blue] cpu=12345\tfound=3 insert_failed=4 unknown1=6 \n",
                r#"{"netns":{"label":"blue","name":"blue","inode":4026532281,"pid":7},"#,
                r#""table":"expect","global":{"entries":1},"#,
                r#""totals":{"found":1,"insert_failed":2,"unknown1":5},"#,
                r#""cpus":[{"cpu":0,"found":1,"insert_failed":2,"unknown1":5}]}"#,
                "\n"
            )
        );
    }

    #[test]
    fn table_for_people() {
        let mut out = Vec::new();
        let global = GlobalStats {
            entries: Some(1),
            max_entries: Some(4),
        };
        print_table(&mut out, Table::Conntrack, &global, &cpus()[..1]).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            concat!(
                "TABLE      ENTRIES  LIMIT   FULL\n",
                "conntrack        1      4  25.0%\n",
                "\n",
                "COUNTER        TOTAL  CPU0\n",
                "found              1     1\n",
                "insert_failed      2     2\n",
                "unknown1           5     5\n",
            )
        );
    }
}
