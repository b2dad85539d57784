//! `ct list expect` and `ct count expect` against `conntrack -L expect` on real FTP and
//! TFTP expectations: the client talks to the server through the router namespace of
//! tests/support/common.rs, whose nftables assign the ftp and tftp helpers, over IPv4
//! and IPv6, with the router masquerading and without. Needs root.

use crate::common::*;

use crate::common::expectations::make_expectations;

/// Expectation lines with the ticking timeout (the first word) masked, sorted.
fn normalised(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|line| match line.split_once(' ') {
            Some((_, rest)) if !line.starts_with('<') => format!("T {rest}"),
            _ => mask_xml_timeout(line),
        })
        .collect();
    lines.sort();
    lines
}

fn mask_xml_timeout(line: &str) -> String {
    match (line.find("<timeout>"), line.find("</timeout>")) {
        (Some(start), Some(end)) => format!("{}<timeout>T{}", &line[..start], &line[end..]),
        _ => line.to_string(),
    }
}

fn ct_in(ns: &Netns, args: &[&str]) -> (String, String) {
    let bin = ct_bin();
    let mut argv = vec![bin.as_str()];
    argv.extend_from_slice(args);
    let out = ns.exec(&argv);
    assert!(
        out.status.success(),
        "ct {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn compare_with_conntrack(router: &Netns, nat: bool) {
    let v4 = router.conntrack(&["-L", "expect"]);
    let v6 = router.conntrack(&["-L", "expect", "-f", "ipv6"]);
    // FTP active and passive and TFTP, per family.
    assert_eq!((v4.lines().count(), v6.lines().count()), (3, 3), "{v4}{v6}");
    for (args, expected) in [
        (&["list", "expect", "-f", "ipv4"][..], v4.clone()),
        (&["list", "expect", "-f", "ipv6"][..], v6.clone()),
        (&["list", "expect"][..], format!("{v4}{v6}")),
        (
            &["L", "expect", "-o", "extended,id"][..],
            format!("{v4}{v6}"),
        ),
    ] {
        let (out, err) = ct_in(router, args);
        assert_eq!(normalised(&out), normalised(&expected), "ct {args:?}");
        let count = expected.lines().count();
        assert_eq!(err, format!("ct: {count} expectations have been shown.\n"));
    }
    for family in ["ipv4", "ipv6"] {
        let theirs = router.conntrack(&["-L", "expect", "-f", family, "-o", "xml"]);
        let (ours, _) = ct_in(router, &["list", "expect", "-f", family, "-o", "xml"]);
        assert_eq!(normalised(&ours), normalised(&theirs), "-f {family} -o xml");
    }
    // With masquerade the expected connection goes to the router's own address.
    let router_side = v4
        .lines()
        .any(|l| l.contains(&format!("dst={ROUTER_SERVER_SIDE_V4} ")));
    assert_eq!(router_side, nat, "{v4}");
    // conntrack -C expect counts IPv4 only; ct counts both, or what -f says.
    assert_eq!(router.conntrack(&["-C", "expect"]), "3\n");
    assert_eq!(ct_in(router, &["count", "expect"]).0, "6\n");
    assert_eq!(ct_in(router, &["count", "expect", "-f", "ipv4"]).0, "3\n");
}

#[test]
fn ftp_and_tftp_expectations_through_a_masquerading_router() {
    require_kernel!();
    let topology = Topology::new();
    let _held = make_expectations(&topology);
    compare_with_conntrack(&topology.router, true);
}

#[test]
fn ftp_and_tftp_expectations_without_nat() {
    require_kernel!();
    let topology = Topology::new();
    topology
        .router
        .exec_ok(&["nft", "delete", "table", "ip", "nat"]);
    topology
        .router
        .exec_ok(&["nft", "delete", "table", "ip6", "nat"]);
    let _held = make_expectations(&topology);
    compare_with_conntrack(&topology.router, false);
}

#[test]
fn expectations_are_filtered_by_what_applies_to_them() {
    require_kernel!();
    let topology = Topology::new();
    let _held = make_expectations(&topology);
    let router = &topology.router;
    let lines = |args: &[&str]| {
        let mut argv = vec!["list", "expect", "--quiet"];
        argv.extend_from_slice(args);
        ct_in(router, &argv).0.lines().count()
    };
    assert_eq!(lines(&["--helper", "tftp"]), 2);
    assert_eq!(lines(&["--helper", "ftp", "-f", "ipv6"]), 2);
    assert_eq!(lines(&["-p", "udp"]), 2);
    assert_eq!(lines(&["--dport", "50021"]), 2);
    assert_eq!(lines(&["-d", SERVER_V4]), 1, "the passive data connection");
    assert_eq!(lines(&["--addr", CLIENT_V6]), 3);
    assert_eq!(lines(&["--port", "21"]), 4, "every FTP master");
    assert_eq!(lines(&["-s", "10.0.0.0/8", "--helper", "ftp"]), 2);
    assert_eq!(
        ct_in(router, &["count", "expect", "--helper", "ftp"]).0,
        "4\n"
    );

    let bin = ct_bin();
    let out = router.exec(&[bin.as_str(), "list", "expect", "-m", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: -m/--mark does not apply to expectations; they can be filtered by -f, -p, \
         -s, -d, --sport, --dport, --addr, --port and --helper\n\n\
         For more information, try 'ct list --help'.\n"
    );
}

#[test]
fn an_empty_expectation_table() {
    require_kernel!();
    let ns = Netns::new();
    assert_eq!(
        ct_in(&ns, &["list", "expect"]),
        (
            String::new(),
            "ct: 0 expectations have been shown.\n".to_string()
        )
    );
    assert_eq!(
        ct_in(&ns, &["list", "expect", "-o", "xml"]).0,
        "",
        "as conntrack: no document at all"
    );
    assert_eq!(ct_in(&ns, &["count", "expect"]).0, "0\n");
    assert_eq!(
        ct_in(&ns, &["list", "dying"]),
        (
            String::new(),
            "ct: 0 flow entries have been shown.\n".to_string()
        )
    );
    assert_eq!(ct_in(&ns, &["list", "unconfirmed"]).0, "");
}

/// `ct delete expect` deletes exactly the expectations `ct list expect` shows with the
/// same filter, printed as listed; a second time finds nothing (exit 1); `ct flush
/// expect` empties the table.
#[test]
fn expectations_are_deleted_by_filter_and_flushed() {
    require_kernel!();
    let topology = Topology::new();
    let _held = make_expectations(&topology);
    let router = &topology.router;
    let listed = |args: &[&str]| {
        let mut argv = vec!["list", "expect", "--quiet"];
        argv.extend_from_slice(args);
        let (out, _) = ct_in(router, &argv);
        let mut lines: Vec<String> = out.lines().map(mask_timeout).collect();
        lines.sort();
        lines
    };
    let before = listed(&[]);
    let tftp = listed(&["--helper", "tftp"]);
    assert_eq!((before.len(), tftp.len()), (6, 2));
    let (deleted, said) = ct_in(router, &["delete", "expect", "--helper", "tftp"]);
    let mut deleted: Vec<String> = deleted.lines().map(mask_timeout).collect();
    deleted.sort();
    assert_eq!(deleted, tftp);
    assert_eq!(said, "ct: 2 expectations have been deleted.\n");
    let after = listed(&[]);
    let expected: Vec<String> = before.into_iter().filter(|l| !tftp.contains(l)).collect();
    assert_eq!(after, expected);

    let bin = ct_bin();
    let again = router.exec(&[&bin, "delete", "expect", "--helper", "tftp"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&again.stderr),
        "ct: 0 expectations have been deleted.\n"
    );

    let (out, said) = ct_in(router, &["flush", "expect"]);
    assert_eq!(
        (out.as_str(), said.as_str()),
        ("", "ct: expectation table has been emptied.\n")
    );
    assert!(listed(&[]).is_empty());
}

/// An expectation line with its ticking timeout (the first word) masked.
fn mask_timeout(line: &str) -> String {
    match line.split_once(' ') {
        Some((_, rest)) => format!("T {rest}"),
        None => line.to_string(),
    }
}
