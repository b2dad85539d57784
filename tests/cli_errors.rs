//! How `ct` fails: bad command lines exit 2 with nothing on stdout, runtime errors exit 1
//! with a message that says what to do, and a reader that goes away ends ct quietly.

mod common;
#[path = "support/fill.rs"]
mod fill;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{Netns, ct_bin, ct_command};

fn ct(args: &[&str]) -> std::process::Output {
    ct_command().args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn bad_values_exit_2_naming_the_flag_with_nothing_on_stdout() {
    let cases: &[(&[&str], &str)] = &[
        (&["list", "-o", "bogus"], "'--output <LIST>'"),
        (&["list", "-o", "extended,nope"], "'--output <LIST>'"),
        (&["list", "-f", "ipv5"], "'--family <FAMILY>'"),
        (&["list", "-b", "0"], "'--buffer-size <BYTES>'"),
        (&["list", "-b", "lots"], "'--buffer-size <BYTES>'"),
        (&["list", "--netns"], "--netns <NAME|PATH|PID>"),
        (&["list", "--no-such-flag"], "'--no-such-flag'"),
        (&["frobnicate"], "'frobnicate'"),
        (&[], "Usage: ct <COMMAND>"),
    ];
    for (args, mention) in cases {
        let out = ct(args);
        assert_eq!(out.status.code(), Some(2), "ct {args:?}");
        assert_eq!(text(&out.stdout), "", "ct {args:?} printed on stdout");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(mention), "ct {args:?}: {stderr}");
    }
}

#[test]
fn help_and_version_go_to_stdout_and_exit_0() {
    let help = ct(&["list", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("--netns <NAME|PATH|PID>"));
    let version = ct(&["--version"]);
    assert_eq!(
        text(&version.stdout),
        format!("ct {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn without_cap_net_admin_says_to_run_as_root() {
    require_kernel!();
    let ns = Netns::new();
    let expected =
        "ct: permission denied reading the conntrack table; run as root or with CAP_NET_ADMIN\n";
    // An unprivileged user, and root with CAP_NET_ADMIN dropped: both are refused by the
    // kernel when the dump is asked for.
    for drop in [
        &["--reuid=65534", "--regid=65534", "--clear-groups"][..],
        &["--inh-caps=-net_admin", "--bounding-set=-net_admin"][..],
    ] {
        let mut args = vec!["setpriv"];
        args.extend_from_slice(drop);
        let bin = ct_bin();
        args.extend([bin.as_str(), "list"]);
        let out = ns.exec(&args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{drop:?}: {}",
            text(&out.stderr)
        );
        assert_eq!(text(&out.stdout), "");
        assert_eq!(text(&out.stderr), expected, "{drop:?}");
    }
}

#[test]
fn a_missing_namespace_is_named() {
    require_kernel!();
    let name = format!("ct-test-{}-missing", std::process::id());
    let out = ct(&["list", "--netns", &name]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        format!(
            "ct: network namespace '{name}' not found (/run/netns/{name} does not exist); \
             `ip netns list` shows the named ones\n"
        )
    );
    let out = ct(&["list", "--netns", "/nonexistent/ns/net"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("ct: network namespace '/nonexistent/ns/net' not found"));
    // A file that is not a namespace.
    let out = ct(&["list", "--netns", "/etc/hostname"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "ct: '/etc/hostname' (/etc/hostname) is not a network namespace\n"
    );
}

/// `ct list | head -1` on a 30k-entry table: ct stops at the first failed write, exits 0
/// and says nothing.
#[test]
fn a_reader_that_goes_away_ends_ct_quietly() {
    require_kernel!();
    let ns = Netns::new();
    ns.run_in(|| {
        fill::fill_here(fill::FillSpec {
            count: 30_000,
            ..Default::default()
        })
    })
    .unwrap();
    let mut child = ct_command()
        .args(["list", "--netns", ns.name()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (its end of the pipe dropped above).
    let out = child.wait_with_output().unwrap();
    assert!(first.starts_with("udp      17 "), "{first}");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn summary_counts_entries_on_stderr_only() {
    require_kernel!();
    let ns = Netns::new();
    ns.run_in(|| {
        fill::fill_here(fill::FillSpec {
            count: 1234,
            ..Default::default()
        })
    })
    .unwrap();
    let out = ct(&["list", "--netns", ns.name()]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout).lines().count(), 1234);
    assert_eq!(
        text(&out.stderr),
        "ct: 1234 flow entries have been shown.\n"
    );
}
