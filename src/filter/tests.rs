//! Predicate tests. Each quirk taken from conntrack says which behaviour it follows.

use super::*;
use crate::model::entry::{Counters, Family, Labels, Status, Tuple};

fn ports(sport: u16, dport: u16) -> L4 {
    L4::Ports { sport, dport }
}

fn tuple(src: &str, dst: &str, protonum: u8, l4: L4) -> Tuple {
    Tuple {
        src: Some(src.parse().unwrap()),
        dst: Some(dst.parse().unwrap()),
        protonum,
        l4,
        zone: None,
    }
}

/// A TCP entry 10.0.0.1:40000 → 10.0.0.2:80, replied, ESTABLISHED, mark 0.
fn tcp() -> Entry<'static> {
    let mut entry = Entry::new(
        Family::Ipv4,
        tuple("10.0.0.1", "10.0.0.2", IPPROTO_TCP, ports(40000, 80)),
        tuple("10.0.0.2", "10.0.0.1", IPPROTO_TCP, ports(80, 40000)),
    );
    entry.timeout = Some(100);
    entry.state = Some(ProtoState::Tcp(3));
    entry.status = Some(Status(
        1 << IPS_SEEN_REPLY_BIT | 1 << IPS_ASSURED_BIT | 1 << IPS_CONFIRMED_BIT,
    ));
    entry.mark = Some(0);
    entry.use_count = Some(1);
    entry.id = Some(1);
    entry.counters_original = Some(Counters::default());
    entry.counters_reply = Some(Counters::default());
    entry
}

/// The same connection masqueraded to 192.0.2.9:61000 on its way out.
fn snat() -> Entry<'static> {
    let mut entry = tcp();
    entry.reply = tuple("10.0.0.2", "192.0.2.9", IPPROTO_TCP, ports(80, 61000));
    entry.status = Some(Status(
        entry.status.unwrap().0
            | 1 << IPS_SRC_NAT_BIT
            | 1 << IPS_SRC_NAT_DONE_BIT
            | 1 << IPS_DST_NAT_DONE_BIT,
    ));
    entry
}

/// Port-forwarded: sent to 10.0.0.2:80, answered by 10.0.0.7:8080.
fn dnat() -> Entry<'static> {
    let mut entry = tcp();
    entry.reply = tuple("10.0.0.7", "10.0.0.1", IPPROTO_TCP, ports(8080, 40000));
    entry.status = Some(Status(
        entry.status.unwrap().0
            | 1 << IPS_DST_NAT_BIT
            | 1 << IPS_SRC_NAT_DONE_BIT
            | 1 << IPS_DST_NAT_DONE_BIT,
    ));
    entry
}

fn shows(filter: &Filter, entry: &Entry<'_>) -> bool {
    filter.matches(entry)
}

#[test]
fn empty_filter_shows_everything() {
    assert!(shows(&Filter::default(), &tcp()));
}

#[test]
fn protocol_lists_are_ored() {
    let f = Filter {
        protocols: vec![IPPROTO_UDP, IPPROTO_TCP],
        ..Default::default()
    };
    assert!(shows(&f, &tcp()));
    let f = Filter {
        protocols: vec![IPPROTO_UDP],
        ..Default::default()
    };
    assert!(!shows(&f, &tcp()));
}

#[test]
fn family() {
    let v6 = Filter {
        family: Some(AF_INET6),
        ..Default::default()
    };
    assert!(!shows(&v6, &tcp()));
}

#[test]
fn addresses_per_direction_and_any() {
    let at = |s: &str| Some(s.parse::<AddrMatch>().unwrap());
    let f = Filter {
        orig_src: at("10.0.0.0/24"),
        reply_dst: at("10.0.0.1"),
        ..Default::default()
    };
    assert!(shows(&f, &tcp()));
    assert!(
        !shows(&f, &snat()),
        "the reply goes to the masquerade address"
    );
    let any = Filter {
        any_addr: at("192.0.2.9"),
        ..Default::default()
    };
    assert!(shows(&any, &snat()));
    assert!(!shows(&any, &tcp()));
    let v6 = Filter {
        orig_src: at("::/0"),
        ..Default::default()
    };
    assert!(
        !shows(&v6, &tcp()),
        "a v6 prefix never matches a v4 address"
    );
}

#[test]
fn ports_per_direction_and_any() {
    let f = Filter {
        orig_dport: Some(80),
        reply_dport: Some(40000),
        ..Default::default()
    };
    assert!(shows(&f, &tcp()));
    let f = Filter {
        reply_sport: Some(8080),
        ..Default::default()
    };
    assert!(
        shows(&f, &dnat()),
        "conntrack --reply-port-src sees the forwarded port"
    );
    assert!(!shows(&f, &tcp()));
    let any = Filter {
        any_port: Some(61000),
        ..Default::default()
    };
    assert!(shows(&any, &snat()));
}

#[test]
fn ports_never_match_a_protocol_without_ports() {
    let mut icmp = tcp();
    let echo = L4::Icmp {
        icmp_type: 8,
        code: 0,
        id: 80,
    };
    icmp.original = tuple("10.0.0.1", "10.0.0.2", IPPROTO_ICMP, echo);
    icmp.reply = icmp.original;
    let f = Filter {
        any_port: Some(80),
        ..Default::default()
    };
    assert!(!shows(&f, &icmp));
}

/// A GRE entry 10.0.0.1 → 10.0.0.2 with keys 0x10 → 0x20, the reply's key rewritten to
/// `reply_dstkey`.
fn gre(reply_dstkey: u16) -> Entry<'static> {
    let mut entry = tcp();
    let keys = |srckey, dstkey| L4::Gre { srckey, dstkey };
    entry.original = tuple("10.0.0.1", "10.0.0.2", IPPROTO_GRE, keys(0x10, 0x20));
    entry.reply = tuple(
        "10.0.0.2",
        "10.0.0.1",
        IPPROTO_GRE,
        keys(0x20, reply_dstkey),
    );
    entry.state = None;
    entry
}

#[test]
fn gre_keys_per_direction_and_only_gre() {
    let keys = |orig_key_src, orig_key_dst, reply_key_src, reply_key_dst| Filter {
        orig_key_src,
        orig_key_dst,
        reply_key_src,
        reply_key_dst,
        ..Default::default()
    };
    assert!(shows(&keys(Some(0x10), Some(0x20), None, None), &gre(0x10)));
    assert!(shows(&keys(None, None, Some(0x20), Some(0x10)), &gre(0x10)));
    assert!(!shows(&keys(Some(0x11), None, None, None), &gre(0x10)));
    assert!(!shows(&keys(None, Some(0x10), None, None), &gre(0x10)));
    // NAT rewrote the reply's key: each direction is compared as it is.
    assert!(shows(&keys(None, None, None, Some(0x99)), &gre(0x99)));
    assert!(!shows(&keys(None, None, None, Some(0x10)), &gre(0x99)));
    // A TCP entry whose ports are the numbers has no keys; a GRE entry no ports.
    let mut tcp_16 = tcp();
    tcp_16.original = tuple("10.0.0.1", "10.0.0.2", IPPROTO_TCP, ports(0x10, 0x20));
    assert!(!shows(&keys(Some(0x10), None, None, None), &tcp_16));
    let port_16 = Filter {
        orig_sport: Some(0x10),
        ..Default::default()
    };
    assert!(!shows(&port_16, &gre(0x10)));
}

#[test]
fn icmp_type_code_and_id_of_the_original_direction() {
    let mut ping = tcp();
    ping.original = tuple(
        "10.0.0.1",
        "10.0.0.2",
        IPPROTO_ICMP,
        L4::Icmp {
            icmp_type: 8,
            code: 0,
            id: 77,
        },
    );
    ping.reply = tuple(
        "10.0.0.2",
        "10.0.0.1",
        IPPROTO_ICMP,
        L4::Icmp {
            icmp_type: 0,
            code: 0,
            id: 77,
        },
    );
    let f = |icmp_type, icmp_code, icmp_id| Filter {
        icmp_type,
        icmp_code,
        icmp_id,
        ..Default::default()
    };
    assert!(shows(&f(Some(8), Some(0), Some(77)), &ping));
    assert!(
        !shows(&f(Some(0), None, None), &ping),
        "the reply's type is not compared"
    );
    assert!(!shows(&f(None, None, Some(78)), &ping));
    assert!(!shows(&f(Some(8), None, None), &tcp()));
}

#[test]
fn states_without_a_protocol_mean_any_protocol_with_that_state() {
    let states = resolve_states(&["established".into()], &[]).unwrap();
    assert_eq!(states, [ProtoState::Tcp(3), ProtoState::Sctp(4)]);
    let f = Filter {
        states,
        ..Default::default()
    };
    assert!(shows(&f, &tcp()));
    let mut sctp = tcp();
    sctp.state = Some(ProtoState::Sctp(4));
    assert!(shows(&f, &sctp));
    let mut udp = tcp();
    udp.state = None;
    assert!(!shows(&f, &udp));
}

#[test]
fn state_names_are_checked_against_the_selected_protocols() {
    assert_eq!(
        resolve_states(&["ESTABLISHED".into()], &[IPPROTO_UDP]),
        Err("no state 'ESTABLISHED' in the selected protocols".into())
    );
    assert_eq!(
        resolve_states(&["COOKIE_WAIT".into()], &[IPPROTO_TCP]),
        Err("no state 'COOKIE_WAIT' in the selected protocols".into())
    );
    assert_eq!(
        resolve_states(&["NOPE".into()], &[]),
        Err("no state 'NOPE' in tcp, sctp or dccp".into())
    );
    // conntrack accepts LISTEN for TCP state 9 (SYN_SENT2 today).
    assert_eq!(
        resolve_states(&["LISTEN".into()], &[IPPROTO_TCP]),
        Ok(vec![ProtoState::Tcp(9)])
    );
    assert_eq!(
        resolve_states(&["OPEN".into(), "TIME_WAIT".into()], &[]),
        Ok(vec![ProtoState::Dccp(4), ProtoState::Tcp(7)])
    );
}

/// conntrack's mark_cmp and the kernel's filter: `(mark & mask) == value`, the value is
/// not masked, so `-m 5/0x4` shows nothing and `-m 4/0x4` shows marks 4, 5, 6, 7, 12...
#[test]
fn mark_and_mask_combine_as_in_conntrack() {
    let with_mark = |mark| {
        let mut e = tcp();
        e.mark = Some(mark);
        e
    };
    let f = |value, mask| Filter {
        mark: Some(MarkMatch { value, mask }),
        ..Default::default()
    };
    assert!(!shows(&f(5, 4), &with_mark(5)));
    assert!(shows(&f(4, 4), &with_mark(5)));
    assert!(shows(&f(4, 4), &with_mark(6)));
    assert!(!shows(&f(4, 4), &with_mark(3)));
    assert!(shows(&f(5, u32::MAX), &with_mark(5)));
    let mut unmarked = tcp();
    unmarked.mark = None;
    assert!(
        !shows(&f(0, u32::MAX), &unmarked),
        "no CTA_MARK: conntrack's attr_is_set"
    );
}

/// conntrack's -u: every listed flag set (a comma list is an AND); UNREPLIED means
/// SEEN_REPLY is clear.
#[test]
fn status_as_in_conntrack() {
    let f = |text: &str| Filter {
        status: Some(text.parse().unwrap()),
        ..Default::default()
    };
    assert!(shows(&f("ASSURED,SEEN_REPLY"), &tcp()));
    assert!(!shows(&f("ASSURED,EXPECTED"), &tcp()));
    assert!(!shows(&f("UNREPLIED"), &tcp()));
    let mut unreplied = tcp();
    unreplied.status = Some(Status(1 << IPS_CONFIRMED_BIT));
    assert!(shows(&f("UNREPLIED"), &unreplied));
    assert!(shows(&f("!ASSURED"), &unreplied));
    // conntrack 1.4.7 shows nothing for a mix of set and negated flags (its kernel
    // request cannot express it); ct shows what the words say.
    assert!(shows(&f("CONFIRMED,UNREPLIED"), &unreplied));
}

/// conntrack compares zones non-strictly: no zone attribute means zone 0.
#[test]
fn zone_absent_is_zone_zero() {
    let mut orig_only = tcp();
    orig_only.original.zone = Some(9);
    let f = |zone, orig, reply| Filter {
        zone,
        orig_zone: orig,
        reply_zone: reply,
        ..Default::default()
    };
    assert!(shows(&f(Some(0), None, None), &orig_only));
    assert!(shows(&f(None, Some(9), None), &orig_only));
    assert!(!shows(&f(Some(9), None, None), &orig_only));
    let mut whole = tcp();
    whole.zone = Some(7);
    assert!(shows(&f(Some(7), None, None), &whole));
    assert!(
        shows(&f(None, Some(0), None), &whole),
        "--orig-zone 0 shows a zone-7 entry"
    );
    assert!(!shows(&f(None, Some(7), None), &whole));
}

/// conntrack's filter_nat: -n matches source NAT (address or port rewritten); with an
/// address, the reply's destination; -g with an address, the reply's source.
#[test]
fn nat_as_in_conntrack() {
    let nat = |text: &str| Some(text.parse::<NatMatch>().unwrap());
    let src = |text| Filter {
        src_nat: nat(text),
        ..Default::default()
    };
    let dst = |text| Filter {
        dst_nat: nat(text),
        ..Default::default()
    };
    let any = |text| Filter {
        any_nat: nat(text),
        ..Default::default()
    };
    assert!(shows(&src(""), &snat()));
    assert!(!shows(&src(""), &tcp()));
    assert!(!shows(&src(""), &dnat()));
    assert!(shows(&src("192.0.2.9"), &snat()));
    assert!(shows(&src("192.0.2.9:61000"), &snat()));
    assert!(!shows(&src("192.0.2.9:61001"), &snat()));
    assert!(!shows(&src("192.0.2.8"), &snat()));
    assert!(shows(&dst(""), &dnat()));
    assert!(shows(&dst("10.0.0.7:8080"), &dnat()));
    assert!(!shows(&dst(""), &snat()));
    assert!(shows(&any(""), &snat()) && shows(&any(""), &dnat()) && !shows(&any(""), &tcp()));
    assert!(shows(&any("10.0.0.7"), &dnat()));
}

#[test]
fn labels_must_all_be_set() {
    let bits = [0b10_0001u8, 0, 0, 0];
    let mut labelled = tcp();
    labelled.labels = Some(Labels(&bits));
    let f = |labels: &[u32]| Filter {
        labels: labels.to_vec(),
        ..Default::default()
    };
    assert!(shows(&f(&[0, 5]), &labelled));
    assert!(!shows(&f(&[0, 1]), &labelled));
    assert!(!shows(&f(&[0]), &tcp()));
}

#[test]
fn conditions_are_anded() {
    let f = Filter {
        protocols: vec![IPPROTO_TCP],
        orig_dport: Some(80),
        mark: Some(MarkMatch {
            value: 1,
            mask: u32::MAX,
        }),
        ..Default::default()
    };
    assert!(!shows(&f, &tcp()), "the mark differs");
}

/// A PPTP expectation's expected connection is GRE: `--srckey`/`--dstkey` are its keys,
/// as `--sport`/`--dport` are an FTP expectation's ports; the reply keys say nothing.
#[test]
fn gre_keys_of_an_expected_connection() {
    use crate::model::expect::Expectation;
    let keys = |srckey, dstkey| L4::Gre { srckey, dstkey };
    let expected = tuple("10.0.0.2", "10.0.0.1", IPPROTO_GRE, keys(0, 0x20));
    let master = tuple("10.0.0.1", "10.0.0.2", IPPROTO_TCP, ports(40000, 1723));
    let expectation = Expectation {
        family: Family::Ipv4,
        expected,
        mask: expected,
        master,
        timeout: None,
        id: None,
        flags: None,
        class: None,
        zone: None,
        helper: None,
        nat: None,
        function: None,
    };
    let dstkey = |key| Filter {
        orig_key_dst: Some(key),
        ..Default::default()
    };
    assert!(dstkey(0x20).matches_expectation(&expectation));
    assert!(!dstkey(0x21).matches_expectation(&expectation));
    let reply = Filter {
        reply_key_src: Some(0x20),
        ..Default::default()
    };
    assert_eq!(reply.not_for_expectations(), Some("--reply-key-src"));
    assert_eq!(dstkey(0x20).not_for_expectations(), None);
}

/// Every field of `Filter`, set alone to a value the expectation below does not have,
/// is either refused for expectations (with its flag) or makes `matches_expectation`
/// say no: none is silently ignored by `list`/`count`/`delete`/`flush expect`.
#[test]
fn every_filter_field_is_refused_for_expectations_or_judged() {
    use crate::model::expect::Expectation;
    // An FTP data expectation 10.0.0.2 → 10.0.0.1:50000, of the master
    // 10.0.0.1:40000 → 10.0.0.2:21, made by the ftp helper.
    let expected = tuple("10.0.0.2", "10.0.0.1", IPPROTO_TCP, ports(0, 50000));
    let master = tuple("10.0.0.1", "10.0.0.2", IPPROTO_TCP, ports(40000, 21));
    let expectation = Expectation {
        family: Family::Ipv4,
        expected,
        mask: expected,
        master,
        timeout: Some(300),
        id: Some(1),
        flags: None,
        class: Some(0),
        zone: None,
        helper: Some(b"ftp"),
        nat: None,
        function: None,
    };
    assert!(Filter::default().matches_expectation(&expectation));
    let other = |text: &str| Some(AddrMatch::exact(text.parse().unwrap()));
    let nat = Some(NatMatch {
        addr: None,
        port: None,
    });
    // Named without `..`: a new field does not compile until it has a value here.
    let all = Filter {
        family: Some(AF_INET6),
        protocols: vec![IPPROTO_UDP],
        orig_src: other("10.0.0.9"),
        orig_dst: other("10.0.0.9"),
        reply_src: other("10.0.0.9"),
        reply_dst: other("10.0.0.9"),
        any_addr: other("10.0.0.9"),
        orig_sport: Some(9),
        orig_dport: Some(9),
        reply_sport: Some(9),
        reply_dport: Some(9),
        any_port: Some(9),
        orig_key_src: Some(9),
        orig_key_dst: Some(9),
        reply_key_src: Some(9),
        reply_key_dst: Some(9),
        icmp_type: Some(8),
        icmp_code: Some(0),
        icmp_id: Some(9),
        states: vec![ProtoState::Tcp(3)],
        mark: Some(MarkMatch { value: 1, mask: 1 }),
        zone: Some(9),
        orig_zone: Some(9),
        reply_zone: Some(9),
        status: Some(StatusMatch {
            set: 1 << IPS_ASSURED_BIT,
            clear: 0,
        }),
        src_nat: nat,
        dst_nat: nat,
        any_nat: nat,
        labels: vec![9],
        helper: Some("sip".into()),
        id: Some(9),
    };
    type Set = fn(&mut Filter, &Filter);
    // (field, copy it from `all`, the flag that refuses it for expectations, if any).
    let fields: &[(&str, Set, Option<&str>)] = &[
        ("family", |f, a| f.family = a.family, None),
        ("protocols", |f, a| f.protocols = a.protocols.clone(), None),
        ("orig_src", |f, a| f.orig_src = a.orig_src, None),
        ("orig_dst", |f, a| f.orig_dst = a.orig_dst, None),
        (
            "reply_src",
            |f, a| f.reply_src = a.reply_src,
            Some("-r/--reply-src"),
        ),
        (
            "reply_dst",
            |f, a| f.reply_dst = a.reply_dst,
            Some("-q/--reply-dst"),
        ),
        ("any_addr", |f, a| f.any_addr = a.any_addr, None),
        ("orig_sport", |f, a| f.orig_sport = a.orig_sport, None),
        ("orig_dport", |f, a| f.orig_dport = a.orig_dport, None),
        (
            "reply_sport",
            |f, a| f.reply_sport = a.reply_sport,
            Some("--reply-port-src"),
        ),
        (
            "reply_dport",
            |f, a| f.reply_dport = a.reply_dport,
            Some("--reply-port-dst"),
        ),
        ("any_port", |f, a| f.any_port = a.any_port, None),
        ("orig_key_src", |f, a| f.orig_key_src = a.orig_key_src, None),
        ("orig_key_dst", |f, a| f.orig_key_dst = a.orig_key_dst, None),
        (
            "reply_key_src",
            |f, a| f.reply_key_src = a.reply_key_src,
            Some("--reply-key-src"),
        ),
        (
            "reply_key_dst",
            |f, a| f.reply_key_dst = a.reply_key_dst,
            Some("--reply-key-dst"),
        ),
        (
            "icmp_type",
            |f, a| f.icmp_type = a.icmp_type,
            Some("--icmp-type"),
        ),
        (
            "icmp_code",
            |f, a| f.icmp_code = a.icmp_code,
            Some("--icmp-code"),
        ),
        ("icmp_id", |f, a| f.icmp_id = a.icmp_id, Some("--icmp-id")),
        (
            "states",
            |f, a| f.states = a.states.clone(),
            Some("--state"),
        ),
        ("mark", |f, a| f.mark = a.mark, Some("-m/--mark")),
        ("zone", |f, a| f.zone = a.zone, Some("-w/--zone")),
        (
            "orig_zone",
            |f, a| f.orig_zone = a.orig_zone,
            Some("--orig-zone"),
        ),
        (
            "reply_zone",
            |f, a| f.reply_zone = a.reply_zone,
            Some("--reply-zone"),
        ),
        ("status", |f, a| f.status = a.status, Some("-u/--status")),
        (
            "src_nat",
            |f, a| f.src_nat = a.src_nat,
            Some("-n/--src-nat"),
        ),
        (
            "dst_nat",
            |f, a| f.dst_nat = a.dst_nat,
            Some("-g/--dst-nat"),
        ),
        (
            "any_nat",
            |f, a| f.any_nat = a.any_nat,
            Some("-j/--any-nat"),
        ),
        (
            "labels",
            |f, a| f.labels = a.labels.clone(),
            Some("-l/--label"),
        ),
        ("helper", |f, a| f.helper = a.helper.clone(), None),
        ("id", |f, a| f.id = a.id, Some("--id")),
    ];
    let mut union = Filter::default();
    for (name, set, refused) in fields {
        set(&mut union, &all);
        let mut filter = Filter::default();
        set(&mut filter, &all);
        assert_eq!(filter.not_for_expectations(), *refused, "{name}");
        if refused.is_none() {
            assert!(
                !filter.matches_expectation(&expectation),
                "{name} is neither refused for expectations nor judged"
            );
        }
    }
    assert_eq!(union, all, "a field of Filter has no verdict in this test");
}
