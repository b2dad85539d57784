//! The kernel runs the event filter (`ct::filter::events`): it takes every
//! program ct makes; of 2,051 new entries, only those that can match a narrow filter
//! reach a socket with the program attached, while a socket without one hears them all;
//! and a socket that asks for some kinds of event hears only those.
//!
//! The tests that need conntrack each run in a `common::Netns` of their own, their
//! sockets opened inside it by `Netns::run_in`, and are skipped, saying why, where kernel
//! tests cannot run (`require_kernel!`); the checker and attach error tests need neither.

use crate::changes;
use crate::fill;

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use crate::common::Netns;
use crate::fill::FillSpec;
use anyhow::{Context, anyhow};
use ct::decode::decode_entry;
use ct::filter::events::program;
use ct::filter::{Filter, MarkMatch};
use ct::kernel::*;
use ct::model::create::NewEntry;
use ct::model::entry::{L4, ProtoState, Tuple};
use ct::model::event::{EventKind, EventSet};
use ct::netlink::attach_program as attach;
use ct::netlink::{Conntrack, Request};

/// How long a receive waits before the test fails rather than hangs.
const RECEIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// TCP_CONNTRACK_SYN_SENT and TCP_CONNTRACK_ESTABLISHED.
const SYN_SENT: u8 = 1;
const ESTABLISHED: u8 = 3;

/// A socket in the event `groups`, with `program` attached first when there is one, so
/// that no event gets past it.
fn listener(groups: &[u32], program: Option<Vec<libc::sock_filter>>) -> Conntrack {
    let mut conntrack = Conntrack::open(Some(8 << 20)).unwrap();
    set_receive_timeout(conntrack.raw_fd(), RECEIVE_TIMEOUT);
    if let Some(program) = program {
        attach(conntrack.raw_fd(), &program).unwrap();
    }
    conntrack.join_groups(groups).unwrap();
    conntrack
}

/// SO_RCVTIMEO: a receive that waits longer fails with EAGAIN.
fn set_receive_timeout(fd: RawFd, timeout: Duration) {
    let value = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: the pointer and length describe `value`, which outlives the call.
    let result = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&value as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    assert_eq!(result, 0, "SO_RCVTIMEO: {}", io::Error::last_os_error());
}

/// True when nothing waits on the socket.
fn nothing_queued(conntrack: &Conntrack) -> bool {
    let mut byte = [0u8; 1];
    // SAFETY: the pointer and length describe `byte`, which outlives the call.
    let result = unsafe {
        libc::recv(
            conntrack.raw_fd(),
            byte.as_mut_ptr().cast(),
            byte.len(),
            libc::MSG_DONTWAIT | libc::MSG_PEEK,
        )
    };
    result < 0 && io::Error::last_os_error().kind() == io::ErrorKind::WouldBlock
}

/// One event as a socket heard it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Heard {
    kind: EventKind,
    original: Tuple,
}

/// Receives events until `last`, which it includes; and counts, for each of `filters`,
/// the events it matches.
fn receive_until(
    conntrack: &mut Conntrack,
    last: Heard,
    filters: &[&Filter],
) -> (Vec<Heard>, Vec<usize>) {
    let mut heard = Vec::new();
    let mut matching = vec![0; filters.len()];
    while !heard.contains(&last) {
        conntrack
            .receive_events(|message| {
                let kind = EventKind::of_message(message.message_type, message.flags)
                    .ok_or_else(|| anyhow!("not an event: {message:?}"))?;
                let entry = decode_entry(message.family, message.attributes)?;
                for (count, filter) in matching.iter_mut().zip(filters) {
                    *count += usize::from(filter.matches(&entry));
                }
                heard.push(Heard {
                    kind,
                    original: entry.original,
                });
                Ok(())
            })
            .with_context(|| format!("after {} events, waiting for {last:?}", heard.len()))
            .unwrap();
    }
    (heard, matching)
}

/// The original tuple of an entry from `src` to 10.255.0.1.
fn original(protonum: u8, src: Ipv4Addr, sport: u16) -> Tuple {
    Tuple {
        src: Some(IpAddr::V4(src)),
        dst: Some(IpAddr::V4(Ipv4Addr::new(10, 255, 0, 1))),
        protonum,
        l4: L4::Ports { sport, dport: 53 },
        zone: None,
    }
}

/// A request creating the un-NATed entry `original`, with `mark`, and a TCP state when
/// given: ct's own create operation's request.
fn create(original: &Tuple, mark: u32, tcp_state: Option<u8>) -> Request {
    let mut entry = NewEntry::new(*original, 600);
    entry.mark = Some(mark);
    entry.state = tcp_state.map(ProtoState::Tcp);
    ct::netlink::create_request(&entry)
}

/// Sends the creation requests, in the calling thread's namespace.
fn send(requests: &[Request]) {
    Conntrack::open(None)
        .unwrap()
        .send_batch(requests, |index, errno| {
            Err(anyhow!(
                "the kernel refused entry {index}: {}",
                io::Error::from_raw_os_error(errno)
            ))
        })
        .unwrap();
}

/// The tuples' text, sorted: tuples have no order of their own.
fn sorted(tuples: impl IntoIterator<Item = Tuple>) -> Vec<String> {
    let mut text: Vec<String> = tuples.into_iter().map(|t| format!("{t:?}")).collect();
    text.sort();
    text
}

/// Of 2,051 new entries, a socket with `-s 10.9.0.0/16 -p udp` hears the 51 UDP ones from
/// 10.9.x.x, one with `-m 7 --state ESTABLISHED` the 51 with mark 7 and that state or none,
/// and one without a program all of them.
#[test]
fn only_entries_that_can_match_reach_the_socket() {
    require_kernel!();
    Netns::new().run_in(|| {
        let by_address = Filter {
            protocols: vec![IPPROTO_UDP],
            orig_src: Some("10.9.0.0/16".parse().unwrap()),
            family: Some(AF_INET),
            ..Default::default()
        };
        let by_mark_and_state = Filter {
            mark: Some(MarkMatch {
                value: 7,
                mask: u32::MAX,
            }),
            states: vec![ProtoState::Tcp(ESTABLISHED)],
            ..Default::default()
        };
        let new = [NFNLGRP_CONNTRACK_NEW];
        let mut everything = listener(&new, None);
        let mut addressed = listener(&new, program(&by_address, EventSet::ALL));
        let mut marked = listener(&new, program(&by_mark_and_state, EventSet::ALL));

        // 1,900 UDP entries from 10.0.x.x, mark 0: the wrong source.
        fill::fill_here(FillSpec {
            count: 1900,
            base: 0,
            ..Default::default()
        })
        .unwrap();
        // 50 UDP entries from 10.9.0.0, mark 0: the right source and protocol.
        let udp_from_10_9 = FillSpec {
            count: 50,
            base: 9,
            ..Default::default()
        };
        fill::fill_here(udp_from_10_9).unwrap();
        // 50 established TCP entries from 10.9.1.x and 50 in SYN_SENT from 10.9.2.x, all
        // with mark 7: the wrong protocol; the right mark, and a right and a wrong state.
        let tcp = |third: u8, i: u8| original(IPPROTO_TCP, Ipv4Addr::new(10, 9, third, i), 1000);
        let established: Vec<Tuple> = (0..50).map(|i| tcp(1, i)).collect();
        let syn_sent: Vec<Tuple> = (0..50).map(|i| tcp(2, i)).collect();
        let mut requests: Vec<Request> = (established.iter())
            .map(|t| create(t, 7, Some(ESTABLISHED)))
            .collect();
        requests.extend(syn_sent.iter().map(|t| create(t, 7, Some(SYN_SENT))));
        send(&requests);
        // Last, an entry every socket hears: UDP from 10.9.255.1, mark 7, no state.
        let sentinel = original(IPPROTO_UDP, Ipv4Addr::new(10, 9, 255, 1), 9);
        send(&[create(&sentinel, 7, None)]);

        let last = Heard {
            kind: EventKind::New,
            original: sentinel,
        };
        let filters = [&by_address, &by_mark_and_state];
        let (all, matching) = receive_until(&mut everything, last, &filters);
        assert_eq!((all.len(), matching), (2051, vec![51, 50]));

        let mut expected: Vec<Tuple> = (0..50).map(|i| udp_from_10_9.original(i)).collect();
        expected.push(sentinel);
        let (heard, matching) = receive_until(&mut addressed, last, &[&by_address]);
        assert_eq!(matching, [heard.len()]);
        assert_eq!(sorted(heard.iter().map(|h| h.original)), sorted(expected));
        assert!(nothing_queued(&addressed));

        let mut expected = established;
        expected.push(sentinel);
        let (heard, matching) = receive_until(&mut marked, last, &[&by_mark_and_state]);
        // The sentinel has no state: it passes the program but not the filter.
        assert_eq!(matching, [heard.len() - 1]);
        assert_eq!(sorted(heard.iter().map(|h| h.original)), sorted(expected));
        assert!(nothing_queued(&marked));
    });
}

/// 100 entries made and deleted: a socket in every group that asks for destructions only
/// hears the 100 DESTROY events, one that asks for new entries only the 100 NEW ones.
#[test]
fn only_the_kinds_asked_for_reach_the_socket() {
    require_kernel!();
    Netns::new().run_in(|| {
        let groups = [
            NFNLGRP_CONNTRACK_NEW,
            NFNLGRP_CONNTRACK_UPDATE,
            NFNLGRP_CONNTRACK_DESTROY,
        ];
        let only = |kind: EventKind| EventSet {
            new: kind == EventKind::New,
            update: kind == EventKind::Update,
            destroy: kind == EventKind::Destroy,
        };
        let any = Filter::default();
        let mut everything = listener(&groups, None);
        let mut destroyed = listener(&groups, program(&any, only(EventKind::Destroy)));
        let mut created = listener(&groups, program(&any, only(EventKind::New)));

        let spec = FillSpec {
            count: 100,
            base: 3,
            ..Default::default()
        };
        fill::fill_here(spec).unwrap();
        changes::delete_here(spec).unwrap();

        let last_of = |kind| Heard {
            kind,
            original: spec.original(spec.count - 1),
        };
        let (all, _) = receive_until(&mut everything, last_of(EventKind::Destroy), &[]);
        assert_eq!(all.len(), 200);
        for (socket, kind) in [
            (&mut destroyed, EventKind::Destroy),
            (&mut created, EventKind::New),
        ] {
            let (heard, _) = receive_until(socket, last_of(kind), &[]);
            assert_eq!(heard.len(), 100, "{kind:?}");
            assert!(heard.iter().all(|h| h.kind == kind), "{heard:?}");
            assert!(nothing_queued(socket), "{kind:?}");
        }
    });
}

/// The kernel's checker takes every program: jumps in range, scratch memory stored before
/// it is loaded, the netlink-attribute loads it knows. Any socket will do, and no root.
#[test]
fn the_kernel_takes_every_program() {
    let net = |text: &str| Some(text.parse().unwrap());
    let largest = Filter {
        family: Some(AF_INET6),
        protocols: (0..=250).collect(),
        orig_src: net("2001:db8::1/127"),
        orig_dst: net("2001:db8::/64"),
        reply_src: net("::/0"),
        reply_dst: net("fd00::1"),
        states: (0..100)
            .map(ProtoState::Tcp)
            .chain((0..50).map(ProtoState::Sctp))
            .chain((0..50).map(ProtoState::Dccp))
            .collect(),
        mark: Some("5/0xff".parse().unwrap()),
        zone: Some(9),
        status: Some("ASSURED,!EXPECTED".parse().unwrap()),
        orig_key_src: Some(0x10),
        reply_key_dst: Some(0xffff),
        ..Default::default()
    };
    let filters = [
        Filter {
            family: Some(AF_INET),
            ..Default::default()
        },
        Filter {
            protocols: vec![IPPROTO_TCP, IPPROTO_UDP],
            ..Default::default()
        },
        Filter {
            orig_src: net("10.0.0.0/8"),
            reply_dst: net("0.0.0.0/0"),
            ..Default::default()
        },
        Filter {
            states: vec![ProtoState::Tcp(3), ProtoState::Sctp(4)],
            ..Default::default()
        },
        Filter {
            zone: Some(0),
            ..Default::default()
        },
        Filter {
            orig_key_src: Some(0x10),
            orig_key_dst: Some(0x20),
            reply_key_src: Some(0x20),
            reply_key_dst: Some(0),
            ..Default::default()
        },
        Filter::default(),
        largest,
    ];
    let mut attached = 0;
    for filter in &filters {
        for bits in 0..8 {
            let events = EventSet {
                new: bits & 1 != 0,
                update: bits & 2 != 0,
                destroy: bits & 4 != 0,
            };
            let Some(program) = program(filter, events) else {
                continue;
            };
            let socket = UnixDatagram::unbound().unwrap();
            attach(socket.as_raw_fd(), &program)
                .unwrap_or_else(|err| panic!("{err:#}\n{filter:#?} {events:?}"));
            attached += 1;
        }
    }
    assert_eq!(attached, filters.len() * 8 - 1);
}

#[test]
fn attach_errors_say_what_failed() {
    let program = program(
        &Filter {
            zone: Some(1),
            ..Default::default()
        },
        EventSet::ALL,
    )
    .unwrap();
    let err = format!("{:#}", attach(-1, &program).unwrap_err());
    assert!(
        err.starts_with("cannot attach the event filter (a BPF program of ")
            && err.contains("setsockopt SO_ATTACH_FILTER")
            && err.ends_with("Bad file descriptor (os error 9)"),
        "{err}"
    );
    let socket = UnixDatagram::unbound().unwrap();
    let err = attach(socket.as_raw_fd(), &[]).unwrap_err().to_string();
    assert_eq!(
        err,
        "cannot attach an event filter of 0 instructions to the netlink socket: the kernel \
         takes 1 to 4096"
    );
}
