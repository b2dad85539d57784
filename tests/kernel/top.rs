//! `ct top` printed once, against groups the test computes itself from `conntrack -L`'s
//! lines for the same table: every key, prefixes, filters, -n, the headline, and real
//! traffic's counters and NAT. Needs root (see tests/support/common.rs).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::process::Command;

use crate::common::*;
use serde_json::{Value, json};

/// One line of `conntrack -L -o extended`, the fields a group key can take.
#[derive(Debug, Clone)]
struct Row {
    family: String,
    proto: Value,
    state: Value,
    src: IpAddr,
    dst: IpAddr,
    sport: Value,
    dport: Value,
    mark: u64,
    zone: u64,
    assured: bool,
    /// Where the reply goes back to and comes from: source NAT shows in the first,
    /// destination NAT in the second.
    reply_src: IpAddr,
    reply_dst: IpAddr,
    packets: u64,
    bytes: u64,
}

fn parse_row(line: &str) -> Row {
    let words: Vec<&str> = line.split_whitespace().collect();
    let first = |key: &str| {
        words
            .iter()
            .find_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
    };
    let nth = |key: &str, n: usize| {
        words
            .iter()
            .filter_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .nth(n)
            .unwrap_or_else(|| panic!("no {key} #{n} in {line}"))
    };
    let sum = |key: &str| -> u64 {
        words
            .iter()
            .filter_map(|w| w.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .map(|v| v.parse::<u64>().unwrap())
            .sum()
    };
    let number = |key: &str| first(key).map_or(Value::Null, |v| json!(v.parse::<u64>().unwrap()));
    let proto = match words[2] {
        "unknown" => json!(words[3]),
        name => json!(name),
    };
    let state = if words[5].contains('=') || words[5].starts_with('[') {
        Value::Null
    } else {
        json!(words[5])
    };
    Row {
        family: words[0].to_string(),
        proto,
        state,
        src: nth("src", 0).parse().unwrap(),
        dst: nth("dst", 0).parse().unwrap(),
        sport: number("sport"),
        dport: number("dport"),
        mark: first("mark").map_or(0, |v| v.parse().unwrap()),
        zone: first("zone").map_or(0, |v| v.parse().unwrap()),
        assured: words.contains(&"[ASSURED]"),
        reply_src: nth("src", 1).parse().unwrap(),
        reply_dst: nth("dst", 1).parse().unwrap(),
        packets: sum("packets"),
        bytes: sum("bytes"),
    }
}

fn conntrack_rows(ns: &Netns) -> Vec<Row> {
    ns.conntrack(&["-L", "-o", "extended"])
        .lines()
        .filter(|line| !line.is_empty())
        .map(parse_row)
        .collect()
}

/// `address` cut to its family's prefix length, as `src/LEN4/LEN6` shows it.
fn network(address: IpAddr, v4: u32, v6: u32) -> String {
    match address {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - v4).unwrap_or(0);
            format!("{}/{v4}", std::net::Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - v6).unwrap_or(0);
            format!("{}/{v6}", std::net::Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

/// The value `ct top -o json` gives `key` for `row`.
fn key_value(key: &str, row: &Row) -> Value {
    match key {
        "family" => json!(row.family),
        "proto" => row.proto.clone(),
        "state" => row.state.clone(),
        "src" => json!(row.src.to_string()),
        "dst" => json!(row.dst.to_string()),
        "sport" => row.sport.clone(),
        "dport" => row.dport.clone(),
        "mark" => json!(row.mark),
        "zone" => json!(row.zone),
        "ASSURED" => json!(row.assured),
        "src/24" => json!(network(row.src, 24, 24)),
        "dst/16/64" => json!(network(row.dst, 16, 64)),
        "nat" => {
            let snat = (row.reply_dst != row.src).then(|| row.reply_dst.to_string());
            let dnat = (row.reply_src != row.dst).then(|| row.reply_src.to_string());
            match (snat, dnat) {
                (None, None) => Value::Null,
                (snat, dnat) => json!({ "snat": snat, "dnat": dnat }),
            }
        }
        other => panic!("no expectation for key {other}"),
    }
}

/// Per group (its key values as JSON, in `--by` order): entries, packets, bytes.
type Groups = BTreeMap<String, (u64, u64, u64)>;

fn expected_groups(rows: &[Row], keys: &[&str]) -> Groups {
    let mut groups = Groups::new();
    for row in rows {
        let values: Vec<Value> = keys.iter().map(|key| key_value(key, row)).collect();
        let group = groups
            .entry(serde_json::to_string(&values).unwrap())
            .or_default();
        group.0 += 1;
        group.1 += row.packets;
        group.2 += row.bytes;
    }
    groups
}

/// `ct top ... -o json` in `ns`, as groups, with the share each line claims checked
/// against `total` and the order checked (entries never grow down the list).
fn ct_groups(ns: &Netns, keys: &[&str], extra: &[&str], total: u64) -> Groups {
    let by = keys.join(",").replace("ASSURED", "flag:assured");
    let bin = ct_bin();
    let mut argv = vec![
        bin.as_str(),
        "top",
        "--by",
        &by,
        "-o",
        "json",
        "-n",
        "100000",
    ];
    argv.extend_from_slice(extra);
    let out = ns.exec_ok(&argv);
    let mut groups = Groups::new();
    let mut last = u64::MAX;
    for line in out.lines() {
        let object: Value = serde_json::from_str(line).unwrap();
        let entries = object["entries"].as_u64().unwrap();
        assert!(entries <= last, "not sorted by entries: {out}");
        last = entries;
        let share = (entries as f64 * 10000.0 / total as f64).round() / 100.0;
        assert_eq!(object["share_percent"].as_f64().unwrap(), share, "{line}");
        let values: Vec<Value> = keys.iter().map(|key| object[key].clone()).collect();
        let counters = (
            object["packets"].as_u64().unwrap_or(0),
            object["bytes"].as_u64().unwrap_or(0),
        );
        let previous = groups.insert(
            serde_json::to_string(&values).unwrap(),
            (entries, counters.0, counters.1),
        );
        assert!(previous.is_none(), "a group printed twice: {line}");
    }
    groups
}

fn mixed_table() -> Netns {
    let ns = Netns::new();
    let mut entries = shapes::tcp_states(230);
    entries.extend(shapes::icmp(230));
    entries.extend(shapes::gre_and_unknown(230));
    entries.extend(shapes::zones(230));
    entries.extend(shapes::sctp_states("10.230.20.1", "10.230.20.2", 7));
    for (i, mark) in [1, 1, 1, 7, 7, 0x10].iter().enumerate() {
        entries.push(format!(
            "-p udp -s 10.230.21.{} -d 10.230.22.1 --sport {} --dport 53 -t 100 -m {mark}",
            i % 2 + 1,
            1000 + i
        ));
    }
    for i in 0..5 {
        entries.push(format!(
            "-p tcp -s fd00:230::1:{} -d fd00:230:0:{i}::1 --sport {} --dport 443 --state ESTABLISHED -t 100 -u SEEN_REPLY,ASSURED",
            i % 2 + 1,
            2000 + i
        ));
    }
    ns.insert_bulk(&entries);
    ns
}

#[test]
fn groups_equal_conntrack_for_every_key() {
    require_kernel!();
    let ns = mixed_table();
    let rows = conntrack_rows(&ns);
    assert!(rows.len() > 40, "the table is too small: {}", rows.len());
    let total = rows.len() as u64;
    for keys in [
        &["src"][..],
        &["dst"],
        &["sport"],
        &["dport"],
        &["proto"],
        &["state"],
        &["zone"],
        &["mark"],
        &["family"],
        &["ASSURED"],
        &["src/24"],
        &["dst/16/64"],
        &["proto", "state"],
        &["family", "dport", "zone", "ASSURED"],
    ] {
        assert_eq!(
            ct_groups(&ns, keys, &[], total),
            expected_groups(&rows, keys),
            "--by {keys:?}"
        );
    }
}

#[test]
fn filters_choose_the_entries_grouped() {
    require_kernel!();
    let ns = mixed_table();
    let rows = conntrack_rows(&ns);
    let total = rows.len() as u64;
    let tcp: Vec<Row> = rows
        .iter()
        .filter(|row| row.proto == json!("tcp"))
        .cloned()
        .collect();
    assert_eq!(
        ct_groups(&ns, &["state"], &["-p", "tcp"], total),
        expected_groups(&tcp, &["state"])
    );
    let marked: Vec<Row> = rows.iter().filter(|row| row.mark == 1).cloned().collect();
    assert_eq!(
        ct_groups(&ns, &["src"], &["-m", "1"], total),
        expected_groups(&marked, &["src"])
    );
}

#[test]
fn n_keeps_the_largest_groups_and_plain_is_one_line_each() {
    require_kernel!();
    let ns = mixed_table();
    let rows = conntrack_rows(&ns);
    let expected = expected_groups(&rows, &["dport"]);
    let mut sizes: Vec<u64> = expected.values().map(|group| group.0).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let bin = ct_bin();
    let out = ns.exec_ok(&[&bin, "top", "--by", "dport", "-o", "plain", "-n", "3"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    for (line, size) in lines.iter().zip(&sizes) {
        let words: Vec<&str> = line.split(' ').collect();
        assert_eq!(words.len(), 3, "{line}");
        assert!(words[0].starts_with("dport="), "{line}");
        assert_eq!(words[1], format!("entries={size}"), "{line}");
        let share = *size as f64 * 100.0 / rows.len() as f64;
        assert_eq!(words[2], format!("share={share:.1}%"), "{line}");
    }
}

#[test]
fn the_headline_is_the_tables_state() {
    require_kernel!();
    let ns = mixed_table();
    let count: u64 = ns.conntrack(&["-C"]).trim().parse().unwrap();
    let max: u64 = ns
        .exec_ok(&["cat", "/proc/sys/net/netfilter/nf_conntrack_max"])
        .trim()
        .parse()
        .unwrap();
    let stats = ns.conntrack(&["-S"]);
    let total = |name: &str| -> u64 {
        stats
            .split_whitespace()
            .filter_map(|w| w.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .map(|v| v.parse::<u64>().unwrap())
            .sum()
    };
    let bin = ct_bin();
    let out = ns.exec_ok(&[&bin, "top", "--by", "proto", "-n", "2"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        format!(
            "entries {count} of {max} ({:.1}% full)  insert_failed {}  drop {}  early_drop {}",
            count as f64 * 100.0 / max as f64,
            total("insert_failed"),
            total("drop"),
            total("early_drop")
        )
    );
    let groups = expected_groups(&conntrack_rows(&ns), &["proto"]);
    assert_eq!(
        lines[1],
        format!(
            "{count} matching entries in {} groups by proto, sorted by entries",
            groups.len()
        )
    );
    assert_eq!(lines[2], "");
    assert_eq!(lines[3], "PROTO  ENTRIES  SHARE");
    assert_eq!(lines.len(), 7, "{out}");
    let hidden_groups = groups.len() - 2;
    let mut sizes: Vec<u64> = groups.values().map(|group| group.0).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let hidden: u64 = sizes[2..].iter().sum();
    assert_eq!(
        lines[6],
        format!("({hidden_groups} more groups with {hidden} entries)")
    );
}

#[test]
fn jq_sums_the_groups_to_the_table() {
    require_kernel!();
    let ns = mixed_table();
    let count = ns.conntrack(&["-C"]).trim().to_string();
    let bin = ct_bin();
    let summed = ns.exec_ok(&[
        "sh",
        "-c",
        &format!("{bin} top --by proto,state -o json -n 1000 | jq -s 'map(.entries) | add'"),
    ]);
    assert_eq!(summed.trim(), count);
    let shares = ns.exec_ok(&[
        "sh",
        "-c",
        &format!(
            "{bin} top --by family -o json | jq -r '[.family, .entries, .share_percent] | @tsv'"
        ),
    ]);
    let rows = conntrack_rows(&ns);
    let v4 = rows.iter().filter(|row| row.family == "ipv4").count();
    let v6 = rows.len() - v4;
    let share = |n: usize| (n as f64 * 10000.0 / rows.len() as f64).round() / 100.0;
    assert_eq!(
        shares,
        format!("ipv4\t{v4}\t{}\nipv6\t{v6}\t{}\n", share(v4), share(v6))
    );
}

#[test]
fn real_traffic_counters_and_nat() {
    require_kernel!();
    let mut topology = Topology::new();
    topology.generate_all_traffic();
    let router = &topology.router;
    // Counters stop moving once the traffic is over; compare until two readings agree.
    let mut attempts = 0;
    loop {
        let rows = conntrack_rows(router);
        let total = rows.len() as u64;
        let keys = ["nat", "proto"];
        let ours = ct_groups(router, &keys, &[], total);
        let theirs = expected_groups(&rows, &keys);
        if ours == theirs || attempts == 5 {
            assert_eq!(ours, theirs);
            assert!(
                ours.keys().any(|key| key.contains("snat")),
                "no masqueraded group: {ours:?}"
            );
            assert!(ours.values().any(|group| group.2 > 0), "no bytes counted");
            break;
        }
        attempts += 1;
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

#[test]
fn bad_keys_and_sorts_exit_2_with_nothing_on_stdout() {
    for args in [
        &["top", "--by", "colour"][..],
        &["top", "--by", "src/33/200"],
        &["top", "--by", "proto/8"],
        &["top", "--by", "flag:NOPE"],
        &["top", "--sort", "speed"],
        &["top", "-n", "0"],
        &["top", "-o", "xml"],
    ] {
        let out = run(Command::new(ct_bin()).args(args));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("error: "),
            "{args:?}"
        );
    }
}
