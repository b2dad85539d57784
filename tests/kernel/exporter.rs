//! `ct exporter`: scraped by a real Prometheus in a test namespace and compared with
//! conntrack's counts there; --all-netns; promtool on its output and on the alert rules;
//! the deployment manifests; abuse (malformed, slow, oversized requests, concurrent
//! scrapes); memory over 100 scrapes of a 20,000-entry table. Needs root (see
//! tests/support/common.rs) and the Debian package `prometheus` (prometheus, promtool).

use crate::fill;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Each test namespace is fresh, so the default ports never collide between tests.
const EXPORTER: &str = "127.0.0.1:9447";
const PROMETHEUS: &str = "127.0.0.1:9090";

/// A process killed (and reaped) on drop.
struct Guard(Child);

impl Guard {
    fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `ct exporter --listen 127.0.0.1:9447 ARGS` inside `ns`, once it answers.
fn start_exporter(ns: &Netns, args: &[&str]) -> Guard {
    start_exporter_logging(ns, args, Stdio::null())
}

/// [`start_exporter`] with its standard error going to `stderr`.
fn start_exporter_logging(ns: &Netns, args: &[&str], stderr: Stdio) -> Guard {
    let mut argv = vec![ct_bin()];
    argv.extend(["exporter", "--listen", EXPORTER].map(String::from));
    argv.extend(args.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let child = ns
        .exec_cmd(&argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("spawn ct exporter");
    let guard = Guard(child);
    wait_until(ns, "the exporter to answer", || {
        get(ns, EXPORTER, "/").is_ok_and(|(status, _)| status == 200)
    });
    guard
}

/// Polls `ready` for up to 30 s.
fn wait_until(ns: &Netns, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} in {}",
            ns.name()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A TCP connection to `addr` inside `ns` (made by a thread that entered it; the socket
/// stays there).
fn connect(ns: &Netns, addr: &str) -> std::io::Result<TcpStream> {
    let addr: SocketAddr = addr.parse().unwrap();
    ns.run_in(|| TcpStream::connect_timeout(&addr, Duration::from_secs(5)))
}

/// A GET over HTTP/1.1, connection closed after: (status, body).
fn get(ns: &Netns, addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    let stream = connect(ns, addr)?;
    request(
        stream,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"),
    )
}

/// Sends `raw` and reads the response to its end: (status, body); status 0 when the
/// server closed without answering.
fn request(mut stream: TcpStream, raw: &str) -> std::io::Result<(u16, String)> {
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    stream.write_all(raw.as_bytes())?;
    let mut response = Vec::new();
    // A reset after a refused request still leaves what was read.
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, body)| body.to_string());
    Ok((status, body))
}

/// The body of a successful scrape.
fn scrape(ns: &Netns) -> String {
    let (status, body) = get(ns, EXPORTER, "/metrics").expect("scrape");
    assert_eq!(status, 200, "{body}");
    body
}

/// The value of the series `series` (name and labels exactly as written) in a scrape.
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
}

/// `conntrack -C` in `ns`.
fn conntrack_count(ns: &Netns) -> f64 {
    ns.conntrack(&["-C"]).trim().parse().unwrap()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ct-exporter-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A Prometheus in `ns` scraping the exporter every second; its data in `dir`.
fn start_prometheus(ns: &Netns, dir: &Path) -> Guard {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
             scrape_configs:\n  - job_name: ct\n    static_configs:\n      - targets: ['{EXPORTER}']\n"
        ),
    )
    .unwrap();
    let child = ns
        .exec_cmd(&[
            "prometheus",
            &format!("--config.file={}", config.display()),
            &format!("--storage.tsdb.path={}", dir.join("data").display()),
            &format!("--web.listen-address={PROMETHEUS}"),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
        .spawn()
        .expect("spawn prometheus");
    Guard(child)
}

/// Percent-encodes a PromQL query for a URL.
fn encode(query: &str) -> String {
    query
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'.' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The values of an instant query through Prometheus's HTTP API, by their series'
/// labels; none until Prometheus has scraped.
fn query(ns: &Netns, promql: &str) -> Vec<(serde_json::Value, f64)> {
    let Ok((200, body)) = get(
        ns,
        PROMETHEUS,
        &format!("/api/v1/query?query={}", encode(promql)),
    ) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&body) else {
        return Vec::new();
    };
    json["data"]["result"]
        .as_array()
        .map(|results| {
            results
                .iter()
                .map(|r| {
                    (
                        r["metric"].clone(),
                        r["value"][1].as_str().unwrap().parse().unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The one value of `promql`, waiting until Prometheus has it.
fn query_one(ns: &Netns, promql: &str) -> f64 {
    let mut found = Vec::new();
    wait_until(ns, &format!("Prometheus to answer {promql}"), || {
        found = query(ns, promql);
        !found.is_empty()
    });
    assert_eq!(found.len(), 1, "{promql}: {found:?}");
    found[0].1
}

/// Known entries: 3 TCP ESTABLISHED, 2 TCP SYN_SENT, 4 UDP, 1 in zone 7.
fn insert_known_entries(ns: &Netns) {
    for i in 1..=3 {
        ns.insert(&format!(
            "-p tcp -s 10.230.0.{i} -d 10.230.1.1 --sport 4000 --dport 443 --state ESTABLISHED -u SEEN_REPLY,ASSURED -t 600"
        ));
    }
    for i in 1..=2 {
        ns.insert(&format!(
            "-p tcp -s 10.230.0.{i} -d 10.230.1.2 --sport 5000 --dport 80 --state SYN_SENT -t 600"
        ));
    }
    for i in 1..=4 {
        ns.insert(&format!(
            "-p udp -s 10.230.2.{i} -d 10.230.1.3 --sport 53000 --dport 53 -t 600"
        ));
    }
    ns.insert("-p udp -s 10.230.3.1 -d 10.230.1.3 --sport 1 --dport 2 -t 600 -w 7");
}

#[test]
fn prometheus_scrapes_what_conntrack_counts() {
    require_kernel!();
    let ns = Netns::new();
    insert_known_entries(&ns);
    let _exporter = start_exporter(&ns, &[]);
    let dir = temp_dir("prometheus");
    let _prometheus = start_prometheus(&ns, &dir);

    let label = format!("netns=\"{}\"", ns.name());
    let entries = query_one(&ns, "conntrack_entries");
    assert_eq!(entries, conntrack_count(&ns));
    assert_eq!(entries, 10.0);

    let listing = ns.conntrack(&["-L"]);
    let lines = |pred: &dyn Fn(&str) -> bool| listing.lines().filter(|l| pred(l)).count() as f64;
    let established = query_one(
        &ns,
        &format!("conntrack_entries_by_state{{{label},proto=\"tcp\",state=\"ESTABLISHED\"}}"),
    );
    assert_eq!(
        established,
        lines(&|l| l.starts_with("tcp") && l.contains(" ESTABLISHED "))
    );
    let syn_sent = query_one(
        &ns,
        "conntrack_entries_by_state{proto=\"tcp\",state=\"SYN_SENT\"}",
    );
    assert_eq!(
        syn_sent,
        lines(&|l| l.starts_with("tcp") && l.contains(" SYN_SENT "))
    );
    // A stateless protocol's state is empty: the label is absent to PromQL.
    let udp = query_one(&ns, "conntrack_entries_by_state{proto=\"udp\",state=\"\"}");
    assert_eq!(udp, lines(&|l| l.starts_with("udp")));
    assert_eq!(query_one(&ns, "conntrack_entries_by_zone{zone=\"7\"}"), 1.0);
    assert_eq!(
        query_one(&ns, "conntrack_entries_by_status{status=\"assured\"}"),
        lines(&|l| l.contains("[ASSURED]"))
    );
    assert_eq!(
        query_one(&ns, "conntrack_entries_by_status{status=\"unreplied\"}"),
        lines(&|l| l.contains("[UNREPLIED]"))
    );
    assert_eq!(query_one(&ns, "conntrack_exporter_build_info"), 1.0);
    let limit: f64 = ns
        .sh("cat /proc/sys/net/netfilter/nf_conntrack_max")
        .trim()
        .parse()
        .unwrap();
    assert_eq!(query_one(&ns, "conntrack_entries_limit"), limit);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn all_netns_labels_each_namespace() {
    require_kernel!();
    let namespaces = [Netns::new(), Netns::new(), Netns::new()];
    for (n, ns) in namespaces.iter().enumerate() {
        for i in 0..=n {
            ns.insert(&format!(
                "-p udp -s 10.231.{n}.{i} -d 10.231.9.9 --sport 1 --dport 2 -t 600"
            ));
        }
    }
    let _exporter = start_exporter(&namespaces[0], &["--all-netns"]);
    let body = scrape(&namespaces[0]);
    for ns in &namespaces {
        let series = format!("conntrack_entries{{netns=\"{}\"}}", ns.name());
        assert_eq!(value(&body, &series), Some(conntrack_count(ns)), "{series}");
    }
}

#[test]
fn one_other_namespace_and_top_addresses() {
    require_kernel!();
    let (home, other) = (Netns::new(), Netns::new());
    insert_known_entries(&other);
    let _exporter = start_exporter(
        &home,
        &["--netns", other.name(), "--per-cpu", "--top-sources", "2"],
    );
    let body = scrape(&home);
    let label = format!("netns=\"{}\"", other.name());
    assert_eq!(
        value(&body, &format!("conntrack_entries{{{label}}}")),
        Some(10.0),
        "{body}"
    );
    // The busiest sources: 10.230.0.1 and .2 have two entries each.
    for address in ["10.230.0.1", "10.230.0.2"] {
        let series = format!("conntrack_top_source_entries{{address=\"{address}\",{label}}}");
        assert_eq!(value(&body, &series), Some(2.0), "{series} in {body}");
    }
    assert!(
        body.contains("conntrack_stat_found_total{cpu=\"0\","),
        "{body}"
    );
    assert!(
        !body.contains("conntrack_top_destination_entries{"),
        "{body}"
    );
}

#[test]
fn bad_listen_is_a_usage_error() {
    let out = run(Command::new(ct_bin()).args(["exporter", "--listen", "localhost"]));
    assert_eq!(out.status.code(), Some(2));
    let out = run(Command::new(ct_bin()).args(["exporter", "--netns", "x", "--all-netns"]));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn promtool_accepts_the_metrics_and_the_rules() {
    require_kernel!();
    let ns = Netns::new();
    insert_known_entries(&ns);
    let _exporter = start_exporter(&ns, &["--top-sources", "3", "--top-destinations", "3"]);
    let body = scrape(&ns);
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (apt-get install prometheus)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    run_ok(Command::new("promtool").args(["check", "rules", "deploy/prometheus/alerts.yml"]));
}

#[test]
fn systemd_unit_verifies() {
    let unit = std::fs::read_to_string("deploy/systemd/ct-exporter.service").unwrap();
    for needed in [
        "ExecStart=/usr/local/bin/ct exporter",
        "AmbientCapabilities=CAP_NET_ADMIN",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
    ] {
        assert!(unit.contains(needed), "no {needed} in the unit");
    }
    let Some(analyze) = find_program("systemd-analyze") else {
        return;
    };
    // Verified with the binary under test in ExecStart (systemd checks it exists).
    let dir = temp_dir("unit");
    let path = dir.join("ct-exporter.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/ct", &ct_bin())).unwrap();
    let out = run(Command::new(analyze)
        .args(["verify", "--man=no"])
        .arg(&path));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn daemonset_parses_with_what_it_needs() {
    use yaml_rust2::YamlLoader;
    let text = std::fs::read_to_string("deploy/kubernetes/daemonset.yaml").unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    let doc = &docs[0];
    assert_eq!(doc["kind"].as_str(), Some("DaemonSet"));
    let pod = &doc["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"].as_bool(), Some(true));
    assert_eq!(pod["hostNetwork"].as_bool(), Some(true));
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert_eq!(args.first(), Some(&"exporter"), "{args:?}");
    assert!(args.contains(&"--all-netns"), "{args:?}");
    let added: Vec<&str> = container["securityContext"]["capabilities"]["add"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|c| c.as_str())
        .collect();
    for capability in ["NET_ADMIN", "SYS_ADMIN", "SYS_PTRACE"] {
        assert!(added.contains(&capability), "{added:?}");
    }
    assert_eq!(
        container["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/metrics")
    );
    let mount = &container["volumeMounts"][0];
    assert_eq!(mount["mountPath"].as_str(), Some("/run/netns"));
    assert_eq!(mount["mountPropagation"].as_str(), Some("HostToContainer"));
    assert_eq!(mount["readOnly"].as_bool(), Some(true));
    let annotations = &doc["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"].as_str(), Some("true"));
}

/// One abusive request's kind.
fn abuse(ns: &Netns, n: usize) -> u16 {
    let Ok(stream) = connect(ns, EXPORTER) else {
        return 1;
    };
    let big = "a".repeat(64 * 1024);
    let raw = match n % 6 {
        0 => "GARBAGE\r\n\r\n".to_string(),
        1 => "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_string(),
        2 => "GET /nope HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_string(),
        3 => format!("GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: {big}\r\n\r\n"),
        4 => "DELETE / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_string(),
        _ => "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n\x00\x01garbage after"
            .to_string(),
    };
    request(stream, &raw).map_or(1, |(status, _)| status)
}

#[test]
fn abuse_leaves_it_serving_and_concurrent_scrapes_share_readings() {
    require_kernel!();
    let ns = Netns::new();
    // Enough entries that a reading takes a while and scrapes overlap it.
    ns.run_in(|| {
        fill::fill_here(fill::FillSpec {
            count: 5000,
            ..Default::default()
        })
    })
    .unwrap();
    let exporter = start_exporter(&ns, &[]);
    let started = Instant::now();

    // Slow clients: 30 that send nothing, 10 that dribble a byte every 300 ms. They
    // are closed by the header timeout, not served.
    let mut slow: Vec<TcpStream> = (0..30).map(|_| connect(&ns, EXPORTER).unwrap()).collect();
    let dribblers: Vec<_> = (0..10)
        .map(|_| {
            let mut stream = connect(&ns, EXPORTER).unwrap();
            std::thread::spawn(move || {
                let start = Instant::now();
                for byte in b"GET /metrics HTTP/1.1\r\nHost: t\r\n".iter().cycle() {
                    if stream.write_all(&[*byte]).is_err() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(300));
                    if start.elapsed() > Duration::from_secs(20) {
                        break;
                    }
                }
                start.elapsed()
            })
        })
        .collect();

    // 1,000 malformed, oversized, wrong-method and wrong-path requests from 8 threads.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let ns = &ns;
                scope.spawn(move || (0..125).map(|i| abuse(ns, w * 125 + i)).collect::<Vec<_>>())
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    for (n, status) in statuses.iter().enumerate() {
        let allowed: &[u16] = match n % 6 {
            0 => &[400, 0],
            1 | 4 => &[405],
            2 => &[404],
            3 => &[431, 0],
            _ => &[200, 400],
        };
        assert!(
            allowed.contains(status),
            "request {n} (kind {}): {status}",
            n % 6
        );
    }

    // The silent clients were cut off by the header timeout.
    for stream in &mut slow {
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut buf = [0u8; 256];
        let read = stream.read(&mut buf);
        assert!(
            matches!(read, Ok(0) | Err(_)) || String::from_utf8_lossy(&buf).contains("408"),
            "a silent client was answered: {read:?}"
        );
    }
    for dribbler in dribblers {
        let lasted = dribbler.join().unwrap();
        assert!(
            lasted < Duration::from_secs(15),
            "a dribbling client lasted {lasted:?}"
        );
    }

    // 20 concurrent scrapes share readings.
    let before = value(&scrape(&ns), "conntrack_exporter_readings_total").unwrap();
    let barrier = std::sync::Barrier::new(20);
    let bodies: Vec<String> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..20)
            .map(|_| {
                let (ns, barrier) = (&ns, &barrier);
                scope.spawn(move || {
                    let stream = connect(ns, EXPORTER).unwrap();
                    barrier.wait();
                    let (status, body) = request(
                        stream,
                        "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                    )
                    .unwrap();
                    assert_eq!(status, 200);
                    body
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let readings = bodies
        .iter()
        .map(|body| value(body, "conntrack_exporter_readings_total").unwrap())
        .fold(0.0, f64::max)
        - before;
    eprintln!("20 concurrent scrapes: {readings} readings");
    assert!(readings < 20.0, "20 scrapes took {readings} readings");

    // Still serving, with the right values.
    let body = scrape(&ns);
    let series = format!("conntrack_entries{{netns=\"{}\"}}", ns.name());
    assert_eq!(value(&body, &series), Some(conntrack_count(&ns)));
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    drop(exporter);
}

/// The exporter's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

#[test]
fn memory_stays_flat_over_100_scrapes_of_20000_entries() {
    require_kernel!();
    let ns = Netns::new();
    ns.run_in(|| {
        fill::fill_here(fill::FillSpec {
            count: 20_000,
            ..Default::default()
        })
    })
    .unwrap();
    let exporter = start_exporter(&ns, &[]);
    let series = format!(
        "conntrack_entries_by_state{{netns=\"{}\",proto=\"udp\",state=\"\"}}",
        ns.name()
    );
    let mut after_10 = 0;
    for n in 1..=100 {
        let body = scrape(&ns);
        assert_eq!(value(&body, &series), Some(20_000.0), "scrape {n}");
        if n == 10 {
            after_10 = rss_kib(exporter.pid());
        }
    }
    let after_100 = rss_kib(exporter.pid());
    eprintln!("RSS after scrape 10: {after_10} KiB, after 100: {after_100} KiB");
    assert!(
        after_100 <= after_10 + 2048,
        "RSS grew from {after_10} KiB (scrape 10) to {after_100} KiB (scrape 100)"
    );
    assert!(after_100 < 32 * 1024, "RSS {after_100} KiB");
}

#[test]
fn a_vanished_namespace_is_counted_as_an_error_and_serving_goes_on() {
    require_kernel!();
    let home = Netns::new();
    let other = Netns::new();
    let name = other.name().to_string();
    let _exporter = start_exporter(&home, &["--netns", &name]);
    let errors = format!("conntrack_scrape_errors_total{{netns=\"{name}\"}}");
    assert_eq!(value(&scrape(&home), &errors), Some(0.0));
    drop(other);
    let body = scrape(&home);
    assert_eq!(value(&body, &errors), Some(1.0), "{body}");
    assert_eq!(
        value(&body, &format!("conntrack_entries{{netns=\"{name}\"}}")),
        None
    );
    assert_eq!(value(&scrape(&home), &errors), Some(2.0));
}

/// A namespace a scrape cannot read is said on stderr in the words of every command
/// that skips a namespace (docs/namespaces.md), once per scrape.
#[test]
fn a_namespace_a_scrape_cannot_read_is_reported_as_skipped() {
    require_kernel!();
    let home = Netns::new();
    let other = Netns::new();
    let name = other.name().to_string();
    let log = TempFile::new("exporter-stderr", "");
    let stderr = std::fs::OpenOptions::new()
        .append(true)
        .open(log.path_str())
        .unwrap();
    let _exporter = start_exporter_logging(&home, &["--netns", &name], stderr.into());
    scrape(&home);
    drop(other);
    scrape(&home);
    let path = format!("/run/netns/{name}");
    let skipped = format!(
        "ct: network namespace {name}: network namespace '{path}' not found ({path} does not \
         exist); `ip netns list` shows the named ones; skipped"
    );
    assert_eq!(
        std::fs::read_to_string(log.path_str()).unwrap(),
        format!("ct: serving metrics on http://{EXPORTER}/metrics\n{skipped}\n")
    );
}

/// Sends `raw`, ends the sending side and reads the answer: (status, head and body).
fn send_and_close(ns: &Netns, raw: &str) -> (u16, String) {
    let mut stream = connect(ns, EXPORTER).unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    read_response(stream)
}

/// Everything the server sends until it closes: (status, head and body).
fn read_response(mut stream: TcpStream) -> (u16, String) {
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, response)
}

/// `head` (a request line, maybe after blank lines), then Host and Connection: close;
/// the whole response.
fn ask(ns: &Netns, head: &str) -> (u16, String) {
    let mut stream = connect(ns, EXPORTER).unwrap();
    let raw = format!("{head}Host: t\r\nConnection: close\r\n\r\n");
    stream.write_all(raw.as_bytes()).unwrap();
    read_response(stream)
}

/// Any method but GET and HEAD is 405 (with Allow), whatever the path, `OPTIONS *`
/// included; a request that is only blank lines is 400, as a malformed one; a client
/// that sends nothing is closed on.
#[test]
fn methods_are_checked_before_paths_and_empty_requests_are_bad() {
    require_kernel!();
    let ns = Netns::new();
    let _exporter = start_exporter(&ns, &[]);
    for request_line in [
        "OPTIONS * HTTP/1.1",
        "OPTIONS /metrics HTTP/1.1",
        "OPTIONS /nope HTTP/1.1",
        "PUT /nope HTTP/1.1",
        "PATCH / HTTP/1.1",
    ] {
        let (status, response) = ask(&ns, &format!("{request_line}\r\n"));
        assert_eq!(status, 405, "{request_line}: {response}");
        assert!(
            response.contains("\r\nallow: GET, HEAD\r\n"),
            "{request_line}: {response}"
        );
    }
    assert_eq!(ask(&ns, "GET /nope HTTP/1.1\r\n").0, 404);
    for blank in ["\r\n", "\r\n\r\n", "\n", "\r\n\r\n\r\n\r\n"] {
        let (status, response) = send_and_close(&ns, blank);
        assert_eq!(status, 400, "{blank:?}: {response}");
        assert!(
            response.ends_with("\r\n\r\nan empty request; the metrics are at /metrics\n"),
            "{response}"
        );
    }
    assert_eq!(send_and_close(&ns, "GARBAGE\r\n").0, 400);
    assert_eq!(send_and_close(&ns, "").0, 0);
    // Blank lines before a request are skipped, as RFC 9112 allows.
    let (status, response) = ask(&ns, "\r\n\r\nGET / HTTP/1.1\r\n");
    assert_eq!(status, 200, "{response}");
}

/// Without CAP_NET_ADMIN, CAP_SYS_ADMIN or CAP_SYS_PTRACE (so /proc/1/ns/net cannot be
/// looked into), the exporter in the initial namespace still labels it `host`; that it
/// cannot read the table is counted as a scrape error of `host`.
#[test]
fn the_initial_namespace_is_host_without_rights() {
    require_kernel!();
    // The kernel registers net.core.netdev_max_backlog in the initial namespace only.
    if !Path::new("/proc/sys/net/core/netdev_max_backlog").exists() {
        eprintln!("skipped: the tests do not run in the initial network namespace");
        return;
    }
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = free.local_addr().unwrap().to_string();
    drop(free);
    let bin = ct_bin();
    for drop in [
        &["--reuid=65534", "--regid=65534", "--clear-groups"][..],
        &[
            "--inh-caps=-net_admin,-sys_admin,-sys_ptrace",
            "--bounding-set=-net_admin,-sys_admin,-sys_ptrace",
        ],
    ] {
        let child = Command::new("setpriv")
            .args(drop)
            .args([bin.as_str(), "exporter", "--listen", &addr])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let _guard = Guard(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        let body = loop {
            let answer = TcpStream::connect(&addr).and_then(|stream| {
                request(
                    stream,
                    "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                )
            });
            match answer {
                Ok((200, body)) => break body,
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(100)),
                other => panic!("{drop:?}: no scrape in 30 s: {other:?}"),
            }
        };
        assert_eq!(
            value(&body, "conntrack_scrape_errors_total{netns=\"host\"}"),
            Some(1.0),
            "{drop:?}: {body}"
        );
    }
}

/// The families of a scrape, by their `# TYPE` lines.
fn families(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(String::from)
        .collect()
}

#[test]
fn no_breakdown_exports_the_kernels_counts_only() {
    require_kernel!();
    let ns = Netns::new();
    insert_known_entries(&ns);
    let _exporter = start_exporter(&ns, &["--no-breakdown"]);
    let body = scrape(&ns);
    let label = format!("netns=\"{}\"", ns.name());
    assert_eq!(
        value(&body, &format!("conntrack_entries{{{label}}}")),
        Some(conntrack_count(&ns))
    );
    assert_eq!(
        value(&body, &format!("conntrack_expectations{{{label}}}")),
        Some(0.0)
    );
    let (stats, others): (Vec<String>, Vec<String>) = families(&body)
        .into_iter()
        .partition(|family| family.starts_with("conntrack_stat_"));
    assert_eq!(
        others,
        [
            "conntrack_entries",
            "conntrack_entries_limit",
            "conntrack_expectations",
            "conntrack_exporter_build_info",
            "conntrack_exporter_readings_total",
            "conntrack_scrape_duration_seconds",
            "conntrack_scrape_errors_total",
            "conntrack_scrape_timeouts_total",
        ],
        "{body}"
    );
    assert!(
        stats
            .iter()
            .any(|family| family == "conntrack_stat_insert_total"),
        "{body}"
    );
    assert_eq!(
        value(&body, &format!("conntrack_stat_insert_total{{{label}}}")),
        Some(10.0)
    );

    // The top lists are breakdowns too: asking for both is a usage error.
    let out = ns.exec(&[
        &ct_bin(),
        "exporter",
        "--no-breakdown",
        "--top-sources",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--top-sources"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// strace attached to a running process (all its threads), recording what it sends
/// over netlink; detached (SIGINT) on drop.
struct Strace {
    child: Child,
    log: PathBuf,
}

impl Strace {
    fn attach(pid: u32, tag: &str) -> Strace {
        let log =
            std::env::temp_dir().join(format!("ct-exporter-strace-{tag}-{}", std::process::id()));
        let errors = log.with_extension("err");
        let child = Command::new("strace")
            .args(["-f", "-e", "trace=sendto,sendmsg", "-o"])
            .arg(&log)
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&errors).unwrap())
            .spawn()
            .expect("spawn strace");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(&errors).is_ok_and(|text| text.contains("attached")) {
            assert!(Instant::now() < deadline, "strace did not attach");
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = std::fs::remove_file(errors);
        Strace { child, log }
    }

    /// Dump requests of the conntrack table (IPCTNL_MSG_CT_GET with NLM_F_DUMP) sent so
    /// far. strace names them where it knows the socket is netfilter's, and gives the
    /// numbers (0x101, 0x300) where it attached after the socket was made.
    fn table_dumps(&self) -> usize {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| {
                (line.contains("IPCTNL_MSG_CT_GET,") || line.contains("nlmsg_type=0x101 "))
                    && (line.contains("NLM_F_DUMP") || line.contains("|0x300"))
            })
            .count()
    }
}

impl Drop for Strace {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

#[test]
fn an_empty_namespace_is_not_dumped_and_breaks_down_as_empty() {
    require_kernel!();
    let ns = Netns::new();
    let exporter = start_exporter(&ns, &[]);
    let strace = Strace::attach(exporter.pid(), "empty");
    let body = scrape(&ns);
    assert_eq!(strace.table_dumps(), 0, "{body}");
    // As a dump of an empty table breaks down: the status counts at 0, no states, no zones.
    let label = format!("netns=\"{}\"", ns.name());
    assert_eq!(
        value(&body, &format!("conntrack_entries{{{label}}}")),
        Some(0.0)
    );
    for status in ["assured", "dnat", "snat", "unreplied"] {
        let series = format!("conntrack_entries_by_status{{{label},status=\"{status}\"}}");
        assert_eq!(value(&body, &series), Some(0.0), "{series}");
    }
    assert!(!body.contains("conntrack_entries_by_state"), "{body}");
    assert!(!body.contains("conntrack_entries_by_zone"), "{body}");

    // One entry, and the next scrape dumps the table once.
    ns.insert("-p udp -s 10.232.0.1 -d 10.232.0.2 --sport 1 --dport 2 -t 600");
    let body = scrape(&ns);
    assert_eq!(strace.table_dumps(), 1, "{body}");
    assert_eq!(
        value(
            &body,
            &format!("conntrack_entries_by_zone{{{label},zone=\"0\"}}")
        ),
        Some(1.0)
    );
}

#[test]
fn a_scrape_past_its_deadline_returns_the_counts_and_names_what_it_skipped() {
    require_kernel!();
    let full = [Netns::new(), Netns::new(), Netns::new()];
    let empty = Netns::new();
    for ns in &full {
        ns.run_in(|| {
            fill::fill_here(fill::FillSpec {
                count: 17_000,
                ..Default::default()
            })
        })
        .unwrap();
    }
    let _exporter = start_exporter(&full[0], &["--all-netns", "--scrape-timeout", "0.001"]);
    let body = scrape(&full[0]);
    for ns in &full {
        let label = format!("netns=\"{}\"", ns.name());
        assert_eq!(
            value(&body, &format!("conntrack_entries{{{label}}}")),
            Some(17_000.0),
            "{label}"
        );
        assert!(
            value(&body, &format!("conntrack_entries_limit{{{label}}}")).is_some(),
            "{label}"
        );
        assert_eq!(
            value(
                &body,
                &format!("conntrack_scrape_timeouts_total{{{label}}}")
            ),
            Some(1.0),
            "{label}"
        );
        assert_eq!(
            value(&body, &format!("conntrack_scrape_errors_total{{{label}}}")),
            Some(0.0),
            "{label}"
        );
        // Abandoned, not half-counted.
        for family in ["by_state", "by_zone", "by_status"] {
            let prefix = format!("conntrack_entries_{family}{{{label},");
            assert!(
                !body.lines().any(|line| line.starts_with(&prefix)),
                "{prefix} in {body}"
            );
        }
    }
    // An empty namespace is not dumped, so no deadline skips its breakdown.
    let label = format!("netns=\"{}\"", empty.name());
    assert_eq!(
        value(
            &body,
            &format!("conntrack_scrape_timeouts_total{{{label}}}")
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &body,
            &format!("conntrack_entries_by_status{{{label},status=\"assured\"}}")
        ),
        Some(0.0)
    );
}

#[test]
fn a_bad_scrape_timeout_is_a_usage_error() {
    require_kernel!();
    let ns = Netns::new();
    for bad in ["0", "-1", "soon"] {
        let out = ns.exec(&[&ct_bin(), "exporter", "--scrape-timeout", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(out.stdout.is_empty(), "{bad}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("'{bad}'")), "{bad}: {stderr}");
    }
}
