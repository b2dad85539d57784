//! The program runs here on the interpreter of `bpf.rs`, which runs the instructions
//! as the kernel does (net/core/filter.c), on event messages built as ctnetlink lays
//! them out.

use super::*;
use crate::decode::decode_entry;
use crate::model::event::EventKind;

use crate::filter::bpf::testing::{message, run};

// -----------------------------------------------------------------------------------
// Messages
// -----------------------------------------------------------------------------------

use crate::netlink::attributes::raw::{attr, nest};

/// CTA_PROTOINFO holding one nest (of a tracker), with or without a state.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Protoinfo {
    nest: u16,
    state: Option<u8>,
}

const TCP_ESTABLISHED: Protoinfo = Protoinfo {
    nest: CTA_PROTOINFO_TCP,
    state: Some(3),
};

/// A conntrack entry event as ctnetlink lays it out; what is None is left out.
#[derive(Debug, Clone)]
struct Event {
    kind: EventKind,
    family: u8,
    protonum: Option<u8>,
    /// Source and destination of the original tuple, then of the reply tuple.
    original: [Option<IpAddr>; 2],
    reply: [Option<IpAddr>; 2],
    /// Source and destination port (GRE: key) of the original tuple, then of the
    /// reply tuple; each tuple with a protocol has them.
    ports: [(u16, u16); 2],
    protoinfo: Option<Protoinfo>,
    mark: Option<u32>,
    zone: Option<u16>,
    status: Option<u32>,
}

/// A new TCP entry from `src` to `dst`, established, with every attribute the
/// program reads but the zone.
fn tcp(src: &str, dst: &str) -> Event {
    let (src, dst): (IpAddr, IpAddr) = (src.parse().unwrap(), dst.parse().unwrap());
    Event {
        kind: EventKind::New,
        family: crate::model::entry::Family::of(src).raw(),
        protonum: Some(IPPROTO_TCP),
        original: [Some(src), Some(dst)],
        reply: [Some(dst), Some(src)],
        ports: [(40000, 80), (80, 40000)],
        protoinfo: Some(TCP_ESTABLISHED),
        mark: Some(0),
        zone: None,
        status: Some(1 << IPS_CONFIRMED_BIT | 1 << IPS_SEEN_REPLY_BIT),
    }
}

fn udp(src: &str, dst: &str) -> Event {
    Event {
        protonum: Some(IPPROTO_UDP),
        protoinfo: None,
        ..tcp(src, dst)
    }
}

impl Event {
    fn attributes(&self) -> Vec<u8> {
        let mut bytes = self.tuple(CTA_TUPLE_ORIG, self.original, self.ports[0]);
        bytes.extend(self.tuple(CTA_TUPLE_REPLY, self.reply, self.ports[1]));
        if let Some(zone) = self.zone {
            bytes.extend(attr(CTA_ZONE, &zone.to_be_bytes()));
        }
        if let Some(status) = self.status {
            bytes.extend(attr(CTA_STATUS, &status.to_be_bytes()));
        }
        bytes.extend(attr(CTA_TIMEOUT, &120u32.to_be_bytes()));
        if let Some(Protoinfo {
            nest: tracker,
            state,
        }) = self.protoinfo
        {
            // The state is attribute 1 in every tracker's nest.
            let state: Vec<Vec<u8>> = state
                .iter()
                .map(|s| attr(CTA_PROTOINFO_TCP_STATE, &[*s]))
                .collect();
            bytes.extend(nest(CTA_PROTOINFO, &[nest(tracker, &state)]));
        }
        if let Some(mark) = self.mark {
            bytes.extend(attr(CTA_MARK, &mark.to_be_bytes()));
        }
        bytes.extend(attr(CTA_ID, &0x1234u32.to_be_bytes()));
        bytes
    }

    fn tuple(
        &self,
        kind: u16,
        [src, dst]: [Option<IpAddr>; 2],
        (sport, dport): (u16, u16),
    ) -> Vec<u8> {
        let address = |address: Option<IpAddr>, side: Side| {
            let (v4, v6) = side.attributes();
            address.map(|address| match address {
                IpAddr::V4(a) => attr(v4, &a.octets()),
                IpAddr::V6(a) => attr(v6, &a.octets()),
            })
        };
        let ip: Vec<Vec<u8>> = [address(src, Side::Source), address(dst, Side::Destination)]
            .into_iter()
            .flatten()
            .collect();
        let mut children = vec![nest(CTA_TUPLE_IP, &ip)];
        if let Some(protonum) = self.protonum {
            children.push(nest(
                CTA_TUPLE_PROTO,
                &[
                    attr(CTA_PROTO_NUM, &[protonum]),
                    attr(CTA_PROTO_SRC_PORT, &sport.to_be_bytes()),
                    attr(CTA_PROTO_DST_PORT, &dport.to_be_bytes()),
                ],
            ));
        }
        nest(kind, &children)
    }

    fn message(&self) -> Vec<u8> {
        let (message_type, flags) = match self.kind {
            EventKind::New => (IPCTNL_MSG_CT_NEW, NLM_F_CREATE | NLM_F_EXCL),
            EventKind::Update => (IPCTNL_MSG_CT_NEW, 0),
            EventKind::Destroy => (IPCTNL_MSG_CT_DELETE, 0),
        };
        message(
            NFNL_SUBSYS_CTNETLINK,
            message_type,
            flags,
            self.family,
            &self.attributes(),
        )
    }
}

// -----------------------------------------------------------------------------------
// Verdicts
// -----------------------------------------------------------------------------------

/// True when the program for `filter` and `events` keeps `message` (no program keeps
/// everything).
fn keeps(filter: &Filter, events: EventSet, message: &[u8]) -> bool {
    let Some(program) = program(filter, events) else {
        return true;
    };
    let verdict = run(&program, message);
    assert!(verdict == ACCEPT || verdict == DROP, "verdict {verdict:#x}");
    verdict == ACCEPT
}

/// True when the program for `filter` (and every kind) keeps `event`.
fn passes(filter: &Filter, event: &Event) -> bool {
    keeps(filter, EventSet::ALL, &event.message())
}

fn net(text: &str) -> AddrMatch {
    text.parse().unwrap()
}

const NEW_ONLY: EventSet = EventSet {
    new: true,
    update: false,
    destroy: false,
};

#[test]
fn nothing_to_judge_attaches_nothing() {
    assert!(program(&Filter::default(), EventSet::ALL).is_none());
    let user_space_only = Filter {
        orig_dport: Some(80),
        any_addr: Some(net("10.0.0.0/8")),
        labels: vec![3],
        helper: Some("ftp".to_string()),
        orig_zone: Some(4),
        // Every status and every mark match these.
        status: Some(StatusMatch::default()),
        mark: Some(MarkMatch { value: 0, mask: 0 }),
        ..Default::default()
    };
    assert!(program(&user_space_only, EventSet::ALL).is_none());
    assert!(program(&user_space_only, NEW_ONLY).is_some());
}

#[test]
fn only_the_kinds_asked_for_pass() {
    let subsets = (0..8).map(|bits| EventSet {
        new: bits & 1 != 0,
        update: bits & 2 != 0,
        destroy: bits & 4 != 0,
    });
    let kinds = [EventKind::New, EventKind::Update, EventKind::Destroy];
    for events in subsets {
        for kind in kinds {
            let event = Event {
                kind,
                ..tcp("10.0.0.1", "10.0.0.2")
            };
            let message = event.message();
            assert_eq!(
                keeps(&Filter::default(), events, &message),
                events.contains(kind),
                "{kind:?} with {events:?}"
            );
            // Expectation events are numbered alike.
            let mut expectation = message.clone();
            expectation[SUBSYSTEM_BYTE as usize] = NFNL_SUBSYS_CTNETLINK_EXP;
            assert_eq!(
                keeps(&Filter::default(), events, &expectation),
                events.contains(kind)
            );
        }
    }
    let nothing = EventSet {
        new: false,
        update: false,
        destroy: false,
    };
    // What is no event passes: an error (type 2, as DELETE's), a message of another
    // subsystem, a ctnetlink message of another type.
    let mut error = message(0, NLMSG_ERROR as u8, 0, 0, &[0; 20]);
    error.truncate(20);
    assert!(keeps(&Filter::default(), nothing, &error));
    let queue = message(3, IPCTNL_MSG_CT_DELETE, 0, AF_INET, &[]);
    assert!(keeps(&Filter::default(), nothing, &queue));
    let get = message(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET, 0, AF_INET, &[]);
    assert!(keeps(&Filter::default(), nothing, &get));
}

#[test]
fn the_family() {
    let v6_only = Filter {
        family: Some(AF_INET6),
        ..Default::default()
    };
    assert!(passes(&v6_only, &tcp("fd00::1", "fd00::2")));
    assert!(!passes(&v6_only, &tcp("10.0.0.1", "10.0.0.2")));
}

#[test]
fn any_of_the_protocols() {
    let tcp_or_udp = Filter {
        protocols: vec![IPPROTO_UDP, IPPROTO_TCP, IPPROTO_UDP],
        ..Default::default()
    };
    let with_protocol = |protonum| Event {
        protonum,
        ..tcp("10.0.0.1", "10.0.0.2")
    };
    assert!(passes(&tcp_or_udp, &with_protocol(Some(IPPROTO_TCP))));
    assert!(passes(&tcp_or_udp, &with_protocol(Some(IPPROTO_UDP))));
    assert!(!passes(&tcp_or_udp, &with_protocol(Some(IPPROTO_SCTP))));
    assert!(!passes(&tcp_or_udp, &with_protocol(Some(0))));
    // No CTA_TUPLE_PROTO: cannot be judged.
    assert!(passes(&tcp_or_udp, &with_protocol(None)));
    let icmp = Filter {
        protocols: vec![IPPROTO_ICMP],
        ..Default::default()
    };
    assert!(!passes(&icmp, &with_protocol(Some(IPPROTO_TCP))));
}

/// GRE keys are judged in the kernel: a key is the tuple's port attribute, and only
/// a GRE tuple has keys.
#[test]
fn gre_keys_of_each_direction() {
    let gre = |ports| Event {
        protonum: Some(IPPROTO_GRE),
        protoinfo: None,
        ports,
        ..tcp("10.0.0.1", "10.0.0.2")
    };
    let event = gre([(0x10, 0x20), (0x20, 0x10)]);
    let keys = |orig_key_src, orig_key_dst, reply_key_src, reply_key_dst| Filter {
        orig_key_src,
        orig_key_dst,
        reply_key_src,
        reply_key_dst,
        ..Default::default()
    };
    assert!(passes(&keys(Some(0x10), None, None, None), &event));
    assert!(passes(&keys(Some(0x10), Some(0x20), None, None), &event));
    assert!(passes(&keys(None, None, Some(0x20), Some(0x10)), &event));
    assert!(!passes(&keys(Some(0x11), None, None, None), &event));
    assert!(!passes(&keys(Some(0x10), Some(0x21), None, None), &event));
    assert!(!passes(&keys(None, None, None, Some(0x11)), &event));
    // NAT rewrote the reply's key: each direction has its own.
    let natted = gre([(0x10, 0x20), (0x20, 0x99)]);
    assert!(passes(&keys(Some(0x10), None, None, Some(0x99)), &natted));
    assert!(!passes(&keys(None, None, None, Some(0x10)), &natted));
    // A TCP entry whose ports are the keys has no keys.
    let tcp_ports = Event {
        ports: [(0x10, 0x20), (0x20, 0x10)],
        ..tcp("10.0.0.1", "10.0.0.2")
    };
    assert!(!passes(&keys(Some(0x10), None, None, None), &tcp_ports));
    // No protocol in the tuple: cannot be judged.
    let unknown = Event {
        protonum: None,
        ..event.clone()
    };
    assert!(passes(&keys(Some(0x11), None, None, None), &unknown));
}

#[test]
fn ipv4_addresses_under_their_masks() {
    let event = tcp("10.1.2.3", "192.0.2.80");
    let cases = [
        ("10.0.0.0/8", "192.0.2.0/24", true),
        ("10.1.2.3", "192.0.2.80/32", true),
        ("10.1.0.0/16", "192.0.0.0/16", true),
        ("10.2.0.0/16", "192.0.2.80", false),
        ("10.1.2.3", "192.0.2.81", false),
        ("11.0.0.0/8", "0.0.0.0/0", false),
        ("0.0.0.0/0", "0.0.0.0/0", true),
    ];
    for (src, dst, expected) in cases {
        let original = Filter {
            orig_src: Some(net(src)),
            orig_dst: Some(net(dst)),
            ..Default::default()
        };
        assert_eq!(passes(&original, &event), expected, "-s {src} -d {dst}");
        // The reply tuple holds the same addresses the other way round.
        let reply = Filter {
            reply_src: Some(net(dst)),
            reply_dst: Some(net(src)),
            ..Default::default()
        };
        assert_eq!(passes(&reply, &event), expected, "-r {dst} -q {src}");
    }
    // conntrack's --mask-src takes any mask, even a non-contiguous one.
    let odd = AddrMatch::exact("10.0.2.0".parse().unwrap())
        .with_mask("255.0.255.0".parse().unwrap())
        .unwrap();
    let odd_mask = Filter {
        orig_src: Some(odd),
        ..Default::default()
    };
    assert!(passes(&odd_mask, &event));
    assert!(!passes(&odd_mask, &tcp("10.1.3.3", "192.0.2.80")));
}

#[test]
fn ipv6_addresses_under_their_masks() {
    let event = tcp("2001:db8:1:2:3:4:5:6", "fd00::80");
    let cases = [
        ("2001:db8:1:2::/64", true),
        ("2001:db8:1:3::/64", false),
        ("2001:db8::/32", true),
        ("2001:db9::/32", false),
        ("2001:db8:1:2:3:4:5:6", true),
        ("2001:db8:1:2:3:4:5:7", false),
        ("2001:db8:1:2:3:4:5:0/112", true),
        ("::/0", true),
    ];
    for (src, expected) in cases {
        let filter = Filter {
            orig_src: Some(net(src)),
            ..Default::default()
        };
        assert_eq!(passes(&filter, &event), expected, "-s {src}");
    }
}

#[test]
fn an_address_of_the_other_family_cannot_match() {
    for (wanted, event) in [
        ("10.0.0.0/8", tcp("fd00::1", "fd00::2")),
        ("0.0.0.0/0", tcp("fd00::1", "fd00::2")),
        ("fd00::/8", tcp("10.0.0.1", "10.0.0.2")),
        ("::/0", tcp("10.0.0.1", "10.0.0.2")),
    ] {
        let filter = Filter {
            orig_dst: Some(net(wanted)),
            ..Default::default()
        };
        assert!(!passes(&filter, &event), "-d {wanted}");
        // Neither family's address: cannot be judged.
        let no_addresses = Event {
            original: [None, None],
            ..event
        };
        assert!(passes(&filter, &no_addresses), "-d {wanted}");
    }
    // Without the CTA_TUPLE_REPLY addresses, only the original ones are judged.
    let filter = Filter {
        orig_src: Some(net("10.0.0.0/8")),
        reply_src: Some(net("192.0.2.0/24")),
        ..Default::default()
    };
    let event = Event {
        reply: [None, None],
        ..tcp("10.0.0.1", "10.0.0.2")
    };
    assert!(passes(&filter, &event));
    assert!(!passes(&filter, &tcp("10.0.0.1", "10.0.0.2")));
}

#[test]
fn states_match_their_own_tracker_only() {
    let filter = Filter {
        states: vec![ProtoState::Tcp(3), ProtoState::Tcp(1), ProtoState::Sctp(4)],
        ..Default::default()
    };
    let with = |nest, state| Event {
        protoinfo: Some(Protoinfo { nest, state }),
        ..tcp("10.0.0.1", "10.0.0.2")
    };
    assert!(passes(&filter, &with(CTA_PROTOINFO_TCP, Some(3))));
    assert!(passes(&filter, &with(CTA_PROTOINFO_TCP, Some(1))));
    assert!(!passes(&filter, &with(CTA_PROTOINFO_TCP, Some(2))));
    assert!(!passes(&filter, &with(CTA_PROTOINFO_TCP, Some(4))));
    assert!(passes(&filter, &with(CTA_PROTOINFO_SCTP, Some(4))));
    assert!(!passes(&filter, &with(CTA_PROTOINFO_SCTP, Some(3))));
    // No DCCP state is wanted.
    assert!(!passes(&filter, &with(CTA_PROTOINFO_DCCP, Some(3))));
    // What cannot be judged: no CTA_PROTOINFO (UDP, an update), a nest without a
    // state, the nest of an unknown tracker.
    assert!(passes(&filter, &udp("10.0.0.1", "10.0.0.2")));
    assert!(passes(&filter, &with(CTA_PROTOINFO_TCP, None)));
    assert!(passes(&filter, &with(9, Some(0))));
    let dccp_only = Filter {
        states: vec![ProtoState::Dccp(4)],
        ..Default::default()
    };
    assert!(!passes(&dccp_only, &with(CTA_PROTOINFO_TCP, Some(4))));
    assert!(passes(&dccp_only, &with(CTA_PROTOINFO_DCCP, Some(4))));
}

#[test]
fn the_mark_under_its_mask() {
    let filter = Filter {
        mark: Some("0x10/0xf0".parse().unwrap()),
        ..Default::default()
    };
    let with = |mark| Event {
        mark,
        ..tcp("10.0.0.1", "10.0.0.2")
    };
    assert!(passes(&filter, &with(Some(0x1f))));
    assert!(passes(&filter, &with(Some(0xffff_ff10))));
    assert!(!passes(&filter, &with(Some(0x20))));
    assert!(!passes(&filter, &with(Some(0))));
    assert!(passes(&filter, &with(None)));
    let exact = Filter {
        mark: Some("7".parse().unwrap()),
        ..Default::default()
    };
    assert!(passes(&exact, &with(Some(7))));
    assert!(!passes(&exact, &with(Some(0x107))));
    // A value outside its mask matches no mark.
    let impossible = Filter {
        mark: Some("5/0x4".parse().unwrap()),
        ..Default::default()
    };
    assert!(!passes(&impossible, &with(Some(5))));
    assert!(!passes(&impossible, &with(Some(4))));
}

#[test]
fn the_zone() {
    let filter = Filter {
        zone: Some(5),
        ..Default::default()
    };
    let with = |zone| Event {
        zone,
        ..tcp("10.0.0.1", "10.0.0.2")
    };
    assert!(passes(&filter, &with(Some(5))));
    assert!(!passes(&filter, &with(Some(6))));
    assert!(!passes(&filter, &with(Some(0x0500))));
    assert!(passes(&filter, &with(None)));
}

#[test]
fn status_bits_set_and_clear() {
    // `-u ASSURED,UNREPLIED` asks for no entry; `-u ASSURED,!EXPECTED` for some.
    let filter = Filter {
        status: Some("ASSURED,!EXPECTED".parse().unwrap()),
        ..Default::default()
    };
    let with = |status| Event {
        status,
        ..tcp("10.0.0.1", "10.0.0.2")
    };
    let assured = 1 << IPS_ASSURED_BIT;
    assert!(passes(&filter, &with(Some(assured))));
    assert!(passes(
        &filter,
        &with(Some(assured | 1 << IPS_CONFIRMED_BIT))
    ));
    assert!(!passes(&filter, &with(Some(1 << IPS_CONFIRMED_BIT))));
    assert!(!passes(
        &filter,
        &with(Some(assured | 1 << IPS_EXPECTED_BIT))
    ));
    assert!(passes(&filter, &with(None)));
}

#[test]
fn values_of_an_unexpected_size_are_let_through() {
    let filter = Filter {
        protocols: vec![IPPROTO_UDP],
        orig_src: Some(net("192.0.2.0/24")),
        states: vec![ProtoState::Tcp(1)],
        mark: Some("7".parse().unwrap()),
        zone: Some(3),
        status: Some("ASSURED".parse().unwrap()),
        ..Default::default()
    };
    let event = tcp("10.0.0.1", "10.0.0.2");
    assert!(!passes(&filter, &event));
    // Each attribute a check reads, alone in a message and of a size the kernel
    // never gives it: the check cannot judge it.
    let odd = |kind: u16, size: usize| attr(kind, &vec![0xa5; size]);
    let cases: [(&str, Vec<u8>, Filter); 5] = [
        (
            "mark",
            odd(CTA_MARK, 2),
            Filter {
                mark: filter.mark,
                ..Default::default()
            },
        ),
        (
            "zone",
            odd(CTA_ZONE, 4),
            Filter {
                zone: filter.zone,
                ..Default::default()
            },
        ),
        (
            "status",
            odd(CTA_STATUS, 8),
            Filter {
                status: filter.status,
                ..Default::default()
            },
        ),
        (
            "protocol",
            nest(
                CTA_TUPLE_ORIG,
                &[nest(CTA_TUPLE_PROTO, &[odd(CTA_PROTO_NUM, 4)])],
            ),
            Filter {
                protocols: filter.protocols.clone(),
                ..Default::default()
            },
        ),
        (
            "address",
            nest(
                CTA_TUPLE_ORIG,
                &[nest(CTA_TUPLE_IP, &[odd(CTA_IP_V4_SRC, 16)])],
            ),
            Filter {
                orig_src: filter.orig_src,
                ..Default::default()
            },
        ),
    ];
    for (what, attribute, filter) in cases {
        let bytes = message(
            NFNL_SUBSYS_CTNETLINK,
            IPCTNL_MSG_CT_NEW,
            0,
            AF_INET,
            &attribute,
        );
        assert!(keeps(&filter, EventSet::ALL, &bytes), "{what}");
    }
    let odd_state = nest(
        CTA_PROTOINFO,
        &[nest(CTA_PROTOINFO_TCP, &[odd(CTA_PROTOINFO_TCP_STATE, 2)])],
    );
    let bytes = message(
        NFNL_SUBSYS_CTNETLINK,
        IPCTNL_MSG_CT_NEW,
        0,
        AF_INET,
        &odd_state,
    );
    let states = Filter {
        states: filter.states.clone(),
        ..Default::default()
    };
    assert!(keeps(&states, EventSet::ALL, &bytes));
    // A mark attribute cut off by the end of the message, whose declared length the
    // kernel's search refuses: not found.
    let mut cut = message(
        NFNL_SUBSYS_CTNETLINK,
        IPCTNL_MSG_CT_NEW,
        0,
        AF_INET,
        &attr(CTA_MARK, &[0; 4]),
    );
    cut.truncate(cut.len() - 2);
    assert!(keeps(&filter, EventSet::ALL, &cut));
    // A message cut before its nfgenmsg header.
    let mut short = event.message();
    short.truncate(18);
    assert!(keeps(&filter, EventSet::ALL, &short));
}

#[test]
fn checks_too_long_for_a_jump_are_left_out() {
    // 256 wanted TCP states: their jumps cannot reach past the other trackers.
    let every_tcp_state = (0..=255).map(ProtoState::Tcp);
    let filter = Filter {
        states: every_tcp_state.chain([ProtoState::Sctp(4)]).collect(),
        mark: Some("7".parse().unwrap()),
        ..Default::default()
    };
    let program = program(&filter, EventSet::ALL).unwrap();
    assert!(program.len() < 100, "{} instructions", program.len());
    let dccp = Event {
        protoinfo: Some(Protoinfo {
            nest: CTA_PROTOINFO_DCCP,
            state: Some(1),
        }),
        mark: Some(7),
        ..tcp("10.0.0.1", "10.0.0.2")
    };
    // The state check is out, the mark check is in.
    assert!(passes(&filter, &dccp));
    assert!(!passes(
        &filter,
        &Event {
            mark: Some(8),
            ..dccp
        }
    ));
}

#[test]
fn the_largest_programs_fit() {
    let v6 = net("2001:db8:1:2:3:4:5:6/127");
    let filter = Filter {
        family: Some(AF_INET6),
        protocols: (0..=255).collect(),
        orig_src: Some(v6),
        orig_dst: Some(v6),
        reply_src: Some(v6),
        reply_dst: Some(v6),
        states: (0..150)
            .map(ProtoState::Tcp)
            .chain((0..20).map(ProtoState::Sctp))
            .chain((0..20).map(ProtoState::Dccp))
            .collect(),
        mark: Some("5/0xff".parse().unwrap()),
        zone: Some(9),
        status: Some("ASSURED".parse().unwrap()),
        ..Default::default()
    };
    let program = program(&filter, NEW_ONLY).unwrap();
    assert!(program.len() <= MAX_INSTRUCTIONS);
    assert_eq!(
        program.last().map(|last| (last.code, last.k)),
        Some((RET_K, ACCEPT))
    );
    // The check of 256 protocols does not fit its jumps and is left out (harmlessly:
    // every protocol is wanted); the other checks are in.
    let event = Event {
        protonum: Some(IPPROTO_UDP),
        protoinfo: Some(Protoinfo {
            nest: CTA_PROTOINFO_TCP,
            state: Some(149),
        }),
        mark: Some(0x105),
        zone: Some(9),
        status: Some(1 << IPS_ASSURED_BIT),
        ..tcp("2001:db8:1:2:3:4:5:7", "2001:db8:1:2:3:4:5:6")
    };
    let mut reply = event.clone();
    reply.reply = event.original;
    assert!(passes(&filter, &reply));
    assert!(!passes(
        &filter,
        &Event {
            zone: Some(8),
            ..reply.clone()
        }
    ));
    assert!(!passes(
        &filter,
        &Event {
            protoinfo: Some(Protoinfo {
                nest: CTA_PROTOINFO_TCP,
                state: Some(150),
            }),
            ..reply
        }
    ));
}

// -----------------------------------------------------------------------------------
// Random filters and events
// -----------------------------------------------------------------------------------

/// A small deterministic generator (xorshift64*), so that a failure comes back.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn some<T>(&mut self, percent: usize, value: impl FnOnce(&mut Self) -> T) -> Option<T> {
        self.chance(percent).then(|| value(self))
    }
}

const V4_ADDRESSES: [&str; 4] = ["10.0.0.1", "10.0.1.2", "10.1.0.1", "192.0.2.1"];
const V6_ADDRESSES: [&str; 4] = ["fd00::1", "fd00::2", "fd00:0:0:1::1", "2001:db8::1"];
const PROTOCOLS: [u8; 7] = [
    IPPROTO_TCP,
    IPPROTO_UDP,
    IPPROTO_SCTP,
    IPPROTO_ICMP,
    IPPROTO_GRE,
    33,
    0,
];
/// Ports and GRE keys alike.
const PORTS: [u16; 3] = [0x10, 0x11, 80];
const TRACKERS: [u16; 3] = [CTA_PROTOINFO_TCP, CTA_PROTOINFO_SCTP, CTA_PROTOINFO_DCCP];
const MARKS: [u32; 5] = [0, 1, 7, 0x17, 0xffff_ffff];
const ZONES: [u16; 3] = [0, 1, 5];

fn random_address(random: &mut Random, v4: bool) -> IpAddr {
    let pool = if v4 { V4_ADDRESSES } else { V6_ADDRESSES };
    random.pick(&pool).parse().unwrap()
}

fn random_addr_match(random: &mut Random) -> AddrMatch {
    let v4 = random.chance(50);
    let address = random_address(random, v4);
    let prefix = if v4 {
        random.pick(&[0, 8, 16, 24, 31, 32])
    } else {
        random.pick(&[0, 16, 48, 64, 100, 127, 128])
    };
    net(&format!("{address}/{prefix}"))
}

fn random_state(random: &mut Random) -> ProtoState {
    let make = random.pick(&[ProtoState::Tcp, ProtoState::Sctp, ProtoState::Dccp]);
    make(random.below(5) as u8)
}

fn random_filter(random: &mut Random) -> Filter {
    let protocols = random.pick(&[0, 0, 1, 2, 3]);
    let states = random.pick(&[0, 0, 0, 1, 2, 3]);
    Filter {
        family: random.some(20, |r| r.pick(&[AF_INET, AF_INET6])),
        protocols: (0..protocols).map(|_| random.pick(&PROTOCOLS)).collect(),
        orig_src: random.some(25, random_addr_match),
        orig_dst: random.some(15, random_addr_match),
        reply_src: random.some(10, random_addr_match),
        reply_dst: random.some(10, random_addr_match),
        states: (0..states).map(|_| random_state(random)).collect(),
        mark: random.some(20, |r| MarkMatch {
            value: r.pick(&MARKS),
            mask: r.pick(&MARKS),
        }),
        zone: random.some(20, |r| r.pick(&ZONES)),
        status: random.some(20, |r| StatusMatch {
            set: r.below(16) as u32,
            clear: r.below(16) as u32 & !0b0011,
        }),
        orig_key_src: random.some(10, |r| r.pick(&PORTS)),
        orig_key_dst: random.some(10, |r| r.pick(&PORTS)),
        reply_key_src: random.some(10, |r| r.pick(&PORTS)),
        reply_key_dst: random.some(10, |r| r.pick(&PORTS)),
        ..Default::default()
    }
}

fn random_event(random: &mut Random) -> Event {
    let family = random.pick(&[AF_INET, AF_INET, AF_INET6, AF_INET6, 7]);
    let address = |random: &mut Random| {
        // Now and then an address of the other family, or none.
        let v4 = (family != AF_INET6) != random.chance(5);
        random.some(90, |r| random_address(r, v4))
    };
    let original = [address(random), address(random)];
    let reply = [address(random), address(random)];
    let port = |random: &mut Random| random.pick(&PORTS);
    let ports = [(port(random), port(random)), (port(random), port(random))];
    let protoinfo = random.some(75, |r| Protoinfo {
        nest: if r.chance(3) { 9 } else { r.pick(&TRACKERS) },
        state: r.some(95, |r| r.below(5) as u8),
    });
    Event {
        kind: random.pick(&[EventKind::New, EventKind::Update, EventKind::Destroy]),
        family,
        protonum: random.some(90, |r| r.pick(&PROTOCOLS)),
        original,
        reply,
        ports,
        protoinfo,
        mark: random.some(85, |r| r.pick(&MARKS) ^ r.below(2) as u32),
        zone: random.some(60, |r| r.pick(&ZONES)),
        status: random.some(85, |r| r.below(16) as u32),
    }
}

/// True when the event has every attribute the program reads, in a shape the
/// kernel sends: then the program must be exact, not only safe.
fn complete(event: &Event) -> bool {
    let v4 = event.family == AF_INET;
    let mut addresses = event.original.iter().chain(&event.reply);
    (v4 || event.family == AF_INET6)
        && event.protonum.is_some()
        && addresses.all(|a| a.is_some_and(|a| a.is_ipv4() == v4))
        && event
            .protoinfo
            .is_some_and(|p| TRACKERS.contains(&p.nest) && p.state.is_some())
        && event.mark.is_some()
        && event.zone.is_some()
        && event.status.is_some()
}

/// The promise the program makes: it never drops an event `Filter::matches` keeps;
/// and on a complete event it is exact.
#[test]
fn random_filters_never_drop_a_match() {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let (mut kept, mut dropped, mut exact) = (0, 0, 0);
    for case in 0..10_000 {
        let filter = random_filter(&mut random);
        let events = EventSet {
            new: random.chance(80),
            update: random.chance(80),
            destroy: random.chance(80),
        };
        let program = program(&filter, events);
        for _ in 0..10 {
            let event = random_event(&mut random);
            let attributes = event.attributes();
            let entry = decode_entry(event.family, &attributes).unwrap();
            let wanted = events.contains(event.kind) && filter.matches(&entry);
            let accepted = program
                .as_ref()
                .is_none_or(|program| run(program, &event.message()) == ACCEPT);
            let context = || format!("case {case}: {filter:#?}\n{events:?}\n{event:#?}");
            assert!(accepted || !wanted, "dropped a match: {}", context());
            if complete(&event) {
                assert_eq!(accepted, wanted, "not exact: {}", context());
                exact += 1;
            }
            kept += usize::from(wanted);
            dropped += usize::from(!accepted);
        }
    }
    // Enough of each to mean something (of 100,000 events).
    let counts = format!("{kept} kept, {dropped} dropped, {exact} complete events");
    assert!(kept > 5000 && dropped > 50000 && exact > 5000, "{counts}");
}

/// The state check finds every stateful tracker's nest, in the order of STATEFUL.
#[test]
fn every_stateful_tracker_has_its_protoinfo_attributes() {
    let listed: Vec<u8> = PROTOINFO_STATES.iter().map(|(p, _, _)| *p).collect();
    let stateful: Vec<u8> = STATEFUL.iter().map(|(p, _, _)| *p).collect();
    assert_eq!(listed, stateful);
}
