//! Failures that need the kernel to provoke (issue 5); the command-line and permission
//! failures are in cli_errors.rs.

use crate::fill;

use crate::common::Netns;
use ct::kernel::*;
use ct::netlink::Conntrack;

/// Joining the new-entry events group delivers one IPCTNL_MSG_CT_NEW message, flagged
/// NLM_F_CREATE, per entry created: the multicast path the event commands build on.
#[test]
fn joined_groups_deliver_new_entry_events() {
    require_kernel!();
    let ns = Netns::new();
    let created = ns.run_in(|| {
        let mut conntrack = Conntrack::open(None).unwrap();
        conntrack.join_groups(&[NFNLGRP_CONNTRACK_NEW]).unwrap();
        fill::fill_here(fill::FillSpec {
            count: 25,
            ..Default::default()
        })
        .unwrap();
        let mut created = 0;
        while created < 25 {
            conntrack
                .receive_events(|message| {
                    assert!(message.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW));
                    assert_ne!(message.flags & NLM_F_CREATE, 0, "a new entry's event");
                    let entry = ct::decode::decode_entry(message.family, message.attributes)?;
                    assert_eq!(entry.original.dst, Some("10.255.0.1".parse().unwrap()));
                    created += 1;
                    Ok(())
                })
                .unwrap();
        }
        created
    });
    assert_eq!(created, 25);
}

/// A ctnetlink socket whose receive buffer overruns gets ENOBUFS, and ct's receive path
/// turns it into a message that says so and suggests -b. A dump never overruns (the
/// kernel fills the next datagram only when the last one was read), so the overrun is
/// made the way it happens in the field: a socket subscribed to conntrack events with a
/// small buffer, while thousands of entries are created.
#[test]
fn an_overrun_receive_buffer_says_enobufs_and_suggests_b() {
    require_kernel!();
    let ns = Netns::new();
    let message = ns.run_in(|| {
        let mut conntrack = Conntrack::open(Some(4096)).unwrap();
        conntrack.join_groups(&[NFNLGRP_CONNTRACK_NEW]).unwrap();
        fill::fill_here(fill::FillSpec {
            count: 3_000,
            ..Default::default()
        })
        .unwrap();
        for _ in 0..10_000 {
            if let Err(err) = conntrack.receive_events(|_| Ok(())) {
                return err.to_string();
            }
        }
        panic!("3,000 events into a 4 KiB buffer did not overrun it");
    });
    assert_eq!(
        message,
        "the netlink socket's receive buffer overran (ENOBUFS) and entries were lost; \
         retry with a larger buffer, e.g. -b 16777216"
    );
}
