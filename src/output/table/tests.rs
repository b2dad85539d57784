//! The printers' tests: the entry table's columns, alignment and colours, the
//! expectation table, `--color`.

use super::write::{CYAN, DIM, GREEN, RED, RESET, YELLOW};
use super::*;
use crate::kernel::*;
use crate::model::entry::{Counters, Family, L4, Labels, ProtoState, Status, Tuple};

fn tuple(src: &str, dst: &str, protonum: u8, l4: L4) -> Tuple {
    Tuple {
        src: Some(src.parse().unwrap()),
        dst: Some(dst.parse().unwrap()),
        protonum,
        l4,
        zone: None,
    }
}

fn ports(sport: u16, dport: u16) -> L4 {
    L4::Ports { sport, dport }
}

/// A masqueraded HTTPS connection with accounting.
fn entry() -> Entry<'static> {
    let mut entry = Entry::new(
        Family::Ipv4,
        tuple("10.0.0.1", "93.184.216.34", IPPROTO_TCP, ports(40000, 443)),
        tuple("93.184.216.34", "192.0.2.1", IPPROTO_TCP, ports(443, 61000)),
    );
    entry.timeout = Some(431999);
    entry.state = Some(ProtoState::Tcp(3));
    entry.status = Some(Status(
        1 << IPS_SEEN_REPLY_BIT
            | 1 << IPS_ASSURED_BIT
            | 1 << IPS_SRC_NAT_BIT
            | 1 << IPS_SRC_NAT_DONE_BIT,
    ));
    entry.mark = Some(0);
    entry.use_count = Some(1);
    entry.id = Some(7);
    entry.counters_original = Some(Counters {
        packets: 1500,
        bytes: 2_000_000,
    });
    entry.counters_reply = Some(Counters {
        packets: 1000,
        bytes: 100_000,
    });
    entry
}

/// An unanswered UDP flow without NAT, state or counters.
fn udp(sport: u16) -> Entry<'static> {
    let mut entry = Entry::new(
        Family::Ipv4,
        tuple("10.0.0.1", "10.0.0.53", IPPROTO_UDP, ports(sport, 53)),
        tuple("10.0.0.53", "10.0.0.1", IPPROTO_UDP, ports(53, sport)),
    );
    entry.timeout = Some(30);
    entry.status = Some(Status(1 << IPS_CONFIRMED_BIT));
    entry
}

/// A ping from 10.0.0.1 to 10.0.0.2 with ICMP id `id`, unanswered.
fn ping(id: u16) -> Entry<'static> {
    let request = L4::Icmp {
        icmp_type: 8,
        code: 0,
        id,
    };
    let reply = L4::Icmp {
        icmp_type: 0,
        code: 0,
        id,
    };
    let mut entry = Entry::new(
        Family::Ipv4,
        tuple("10.0.0.1", "10.0.0.2", IPPROTO_ICMP, request),
        tuple("10.0.0.2", "10.0.0.1", IPPROTO_ICMP, reply),
    );
    entry.timeout = Some(29);
    entry.status = Some(Status(1 << IPS_CONFIRMED_BIT));
    entry
}

fn table(columns: Option<Vec<Column>>, color: bool, entries: &[Entry<'_>]) -> String {
    let mut printer = TablePrinter::new(columns, color, None);
    for entry in entries {
        printer.add(entry, "");
    }
    finish(&mut printer)
}

fn finish(printer: &mut TablePrinter) -> String {
    let mut out = Vec::new();
    printer.finish(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn assert_no_trailing_space(table: &str) {
    for line in table.lines() {
        assert!(!line.ends_with(' '), "trailing space: {line:?} in\n{table}");
    }
}

/// Removes ANSI colour sequences (`ESC [ ... m`).
fn strip_ansi(text: &str) -> String {
    let mut plain = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('\x1b') {
        plain.push_str(&rest[..start]);
        let end = rest[start..]
            .find('m')
            .map_or(rest.len(), |m| start + m + 1);
        rest = &rest[end..];
    }
    plain.push_str(rest);
    plain
}

#[test]
fn default_columns_drop_the_empty_ones_and_align() {
    let mut udp = udp(40000);
    udp.counters_original = Some(Counters {
        packets: 1,
        bytes: 76,
    });
    assert_eq!(
        table(None, false, &[entry(), udp]),
        concat!(
            "PROTO  STATE        SOURCE          DESTINATION        NAT                      TTL  FLAGS      PACKETS  BYTES\n",
            "tcp    ESTABLISHED  10.0.0.1:40000  93.184.216.34:443  SNAT 192.0.2.1:61000  431999  ASSURED       2.5k   2.0M\n",
            "udp                 10.0.0.1:40000  10.0.0.53:53                                 30  UNREPLIED        1    76B\n",
        )
    );
}

#[test]
fn no_line_ends_in_a_space() {
    // The last column empty in some rows, right-aligned in others, chosen and empty
    // everywhere, and a NAT cell that ends a line.
    let mut labelled = udp(1);
    let bits = [0b1u8, 0, 0, 0];
    labelled.labels = Some(Labels(&bits));
    for columns in [
        None,
        Some(vec![Column::Proto, Column::Ttl]),
        Some(vec![Column::Src, Column::Helper]),
        Some(vec![Column::Src, Column::Nat]),
    ] {
        for color in [false, true] {
            let text = table(
                columns.clone(),
                color,
                &[entry(), udp(2), labelled, ping(3)],
            );
            assert_no_trailing_space(&text);
            assert!(text.ends_with('\n'));
        }
    }
}

#[test]
fn an_empty_table_is_its_header() {
    assert_eq!(table(None, false, &[]), "PROTO  SOURCE  DESTINATION\n");
    assert_eq!(
        table(Some(vec![Column::Id, Column::Ttl, Column::Zone]), true, &[]),
        "ID  TTL  ZONE\n"
    );
    // And the printer is ready for another table after it.
    let mut printer = TablePrinter::new(None, false, None);
    printer.add(&udp(1), "");
    assert_eq!(finish(&mut printer).lines().count(), 2);
    assert_eq!(finish(&mut printer), "PROTO  SOURCE  DESTINATION\n");
}

#[test]
fn chosen_columns_are_kept_even_when_empty() {
    assert_eq!(
        table(
            Some(vec![Column::Id, Column::Zone, Column::Proto]),
            false,
            &[entry()]
        ),
        "ID  ZONE  PROTO\n 7        tcp\n"
    );
}

#[test]
fn zone_and_helper_columns_appear_when_an_entry_has_them() {
    let plain = table(None, false, &[udp(1)]);
    assert!(
        !plain.contains("ZONE") && !plain.contains("HELPER"),
        "{plain}"
    );

    let mut both_ways = udp(2);
    both_ways.zone = Some(7);
    let mut original_only = udp(3);
    original_only.original.zone = Some(8);
    let mut reply_only = udp(4);
    reply_only.reply.zone = Some(9);
    let mut ftp = entry();
    ftp.helper = Some(b"ftp");
    assert_eq!(
        table(
            None,
            false,
            &[udp(1), both_ways, original_only, reply_only, ftp]
        ),
        concat!(
            "PROTO  STATE        SOURCE          DESTINATION        NAT                      TTL  FLAGS      ZONE     PACKETS  BYTES  HELPER\n",
            "udp                 10.0.0.1:1      10.0.0.53:53                                 30  UNREPLIED\n",
            "udp                 10.0.0.1:2      10.0.0.53:53                                 30  UNREPLIED  7\n",
            "udp                 10.0.0.1:3      10.0.0.53:53                                 30  UNREPLIED  orig 8\n",
            "udp                 10.0.0.1:4      10.0.0.53:53                                 30  UNREPLIED  reply 9\n",
            "tcp    ESTABLISHED  10.0.0.1:40000  93.184.216.34:443  SNAT 192.0.2.1:61000  431999  ASSURED                2.5k   2.0M  ftp\n",
        )
    );
}

#[test]
fn pings_to_one_host_are_told_apart_by_id_type_and_code() {
    let mut timestamp = ping(3);
    if let L4::Icmp { icmp_type, .. } = &mut timestamp.original.l4 {
        *icmp_type = 13;
    }
    let text = table(None, false, &[ping(1), ping(2), ping(3), timestamp]);
    assert_eq!(
        text,
        concat!(
            "PROTO  SOURCE         DESTINATION              TTL  FLAGS\n",
            "icmp   10.0.0.1 id=1  10.0.0.2 type=8 code=0    29  UNREPLIED\n",
            "icmp   10.0.0.1 id=2  10.0.0.2 type=8 code=0    29  UNREPLIED\n",
            "icmp   10.0.0.1 id=3  10.0.0.2 type=8 code=0    29  UNREPLIED\n",
            "icmp   10.0.0.1 id=3  10.0.0.2 type=13 code=0   29  UNREPLIED\n",
        )
    );
    let rows: std::collections::BTreeSet<&str> = text.lines().skip(1).collect();
    assert_eq!(rows.len(), 4, "{text}");
}

#[test]
fn nat_of_a_ping_and_gre_keys() {
    // A masqueraded ping whose id NAT changed (another client used it already).
    let mut masqueraded = ping(5);
    masqueraded.reply.dst = Some("192.0.2.1".parse().unwrap());
    masqueraded.reply.l4 = L4::Icmp {
        icmp_type: 0,
        code: 0,
        id: 6,
    };
    masqueraded.status = Some(Status(
        1 << IPS_SEEN_REPLY_BIT | 1 << IPS_SRC_NAT_BIT | 1 << IPS_SRC_NAT_DONE_BIT,
    ));
    let gre = |srckey, dstkey| L4::Gre { srckey, dstkey };
    let mut pptp = Entry::new(
        Family::Ipv6,
        tuple("fd00::1", "fd00::2", IPPROTO_GRE, gre(0x1234, 0xabcd)),
        tuple("fd00::2", "fd00::1", IPPROTO_GRE, gre(0xabcd, 0x1234)),
    );
    pptp.timeout = Some(118);
    assert_eq!(
        table(
            Some(vec![Column::Proto, Column::Src, Column::Dst, Column::Nat]),
            false,
            &[masqueraded, pptp]
        ),
        concat!(
            "PROTO  SOURCE                 DESTINATION             NAT\n",
            "icmp   10.0.0.1 id=5          10.0.0.2 type=8 code=0  SNAT 192.0.2.1 id=6\n",
            "gre    fd00::1 srckey=0x1234  fd00::2 dstkey=0xabcd\n",
        )
    );
}

#[test]
fn colours_say_how_the_connection_is_doing() {
    let with_state = |state, unreplied: bool| {
        let mut entry = entry();
        entry.state = Some(state);
        if unreplied {
            entry.status = Some(Status(1 << IPS_CONFIRMED_BIT));
        }
        table(Some(vec![Column::State]), true, &[entry])
    };
    let cases = [
        (ProtoState::Tcp(3), false, GREEN, "ESTABLISHED"),
        (ProtoState::Sctp(4), false, GREEN, "ESTABLISHED"),
        (ProtoState::Dccp(4), false, GREEN, "OPEN"),
        (ProtoState::Tcp(1), false, YELLOW, "SYN_SENT"),
        (ProtoState::Tcp(2), false, YELLOW, "SYN_RECV"),
        (ProtoState::Sctp(2), false, YELLOW, "COOKIE_WAIT"),
        (ProtoState::Dccp(1), false, YELLOW, "REQUEST"),
        // A handshake nobody answered is trouble...
        (ProtoState::Tcp(1), true, RED, "SYN_SENT"),
        (ProtoState::Sctp(2), true, RED, "COOKIE_WAIT"),
        (ProtoState::Dccp(1), true, RED, "REQUEST"),
        (ProtoState::Dccp(9), false, RED, "INVALID"),
        // ... the ways connections end are not.
        (ProtoState::Tcp(7), false, DIM, "TIME_WAIT"),
        (ProtoState::Tcp(8), false, DIM, "CLOSE"),
        (ProtoState::Tcp(4), false, DIM, "FIN_WAIT"),
        (ProtoState::Sctp(1), false, DIM, "CLOSED"),
        (ProtoState::Sctp(5), false, DIM, "SHUTDOWN_SENT"),
        (ProtoState::Dccp(7), false, DIM, "TIMEWAIT"),
    ];
    for (state, unreplied, colour, name) in cases {
        let text = with_state(state, unreplied);
        let cell = format!("{colour}{name}{RESET}");
        assert!(
            text.contains(&cell),
            "{state:?} unreplied={unreplied}: {text:?}"
        );
    }
    // NONE: no colour at all.
    assert!(!with_state(ProtoState::Tcp(0), false).contains('\x1b'));

    // The NAT cell is cyan; colour changes no width.
    let coloured = table(None, true, &[entry(), udp(1)]);
    assert!(
        coloured.contains(&format!("{CYAN}SNAT 192.0.2.1:61000{RESET}")),
        "{coloured:?}"
    );
    assert_eq!(
        strip_ansi(&coloured),
        table(None, false, &[entry(), udp(1)])
    );
    assert!(!table(None, false, &[entry()]).contains('\x1b'));
}

/// Issue 4's format tests found the LABELS column printing bit numbers where JSON
/// and conntrack print names.
#[test]
fn labels_by_name_where_the_map_has_one() {
    let map = LabelMap::parse("1 one\n5 five\n");
    let bits = [0b10_0011u8, 0, 0, 0];
    let mut labelled = entry();
    labelled.labels = Some(Labels(&bits));
    let mut printer = TablePrinter::new(Some(vec![Column::Labels]), false, Some(&map));
    printer.add(&labelled, "");
    assert_eq!(finish(&mut printer), "LABELS\n0,one,five\n");
}

#[test]
fn names_from_outside_cannot_break_a_line_or_colour_the_terminal() {
    let mut odd = udp(1);
    odd.helper = Some(b"ft\np\x1b[31m\xff");
    let text = table(Some(vec![Column::Helper, Column::Ttl]), false, &[odd]);
    assert_eq!(text, "HELPER      TTL\nft?p?[31m\u{fffd}   30\n");
}

#[test]
fn an_empty_expectation_table_is_its_header() {
    let mut out = Vec::new();
    TablePrinter::for_expectations().finish(&mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "PROTO  SOURCE  DESTINATION  MASTER  HELPER  TTL  FLAGS\n"
    );
}

#[test]
fn colour_choice() {
    assert!(ColorChoice::Auto.resolve(true, None));
    assert!(ColorChoice::Auto.resolve(true, Some("")));
    assert!(!ColorChoice::Auto.resolve(true, Some("1")));
    assert!(!ColorChoice::Auto.resolve(false, None));
    assert!(ColorChoice::Always.resolve(false, Some("1")));
    assert!(!ColorChoice::Never.resolve(true, None));
}
