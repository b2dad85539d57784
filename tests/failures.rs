//! Failures that need the kernel to provoke (issue 5); the command-line and permission
//! failures are in cli_errors.rs.

mod common;
#[path = "support/fill.rs"]
mod fill;

use common::Netns;
use ct::kernel::NFNLGRP_CONNTRACK_NEW;
use netlink_sys::{Socket, protocols::NETLINK_NETFILTER};

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
        let mut socket = Socket::new(NETLINK_NETFILTER).unwrap();
        socket.bind_auto().unwrap();
        socket.add_membership(NFNLGRP_CONNTRACK_NEW).unwrap();
        socket.set_rx_buf_sz(4096).unwrap();
        fill::fill_here(fill::FillSpec {
            count: 3_000,
            ..Default::default()
        })
        .unwrap();
        let mut buffer = vec![0u8; 64 * 1024];
        for _ in 0..10_000 {
            if let Err(err) = ct::netlink::receive(&socket, &mut buffer) {
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
