//! Deletes, updates and churns the entries fill.rs creates, for the kernel tests (the
//! fill example only creates). The requests go out through `fill::send`, a chunk at a
//! time, as the fill's do.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use anyhow::Result;
use ct::kernel::*;
use ct::netlink::attributes::{be16, tuple};
use ct::netlink::{Conntrack, Request};
use netlink_packet_core::DefaultNla;

use crate::fill::{FillSpec, create_request, send};

/// Deletes the entries `fill_here(spec)` made, in the calling thread's namespace.
pub fn delete_here(spec: FillSpec) -> Result<()> {
    delete_with(&mut Conntrack::open(None)?, spec)
}

/// Deletes the entries `fill_with(spec)` made, over `conntrack`'s socket.
pub fn delete_with(conntrack: &mut Conntrack, spec: FillSpec) -> Result<()> {
    send(conntrack, spec, "delete", &[], |i| delete_request(spec, i))
}

/// The request that deletes entry `i` of `spec`.
fn delete_request(spec: FillSpec, i: u32) -> Request {
    let mut attributes = vec![tuple(CTA_TUPLE_ORIG, &spec.original(i), None)];
    attributes.extend(spec.zone.map(|zone| be16(CTA_ZONE, zone)));
    Request::single(
        NFNL_SUBSYS_CTNETLINK,
        IPCTNL_MSG_CT_DELETE,
        AF_INET,
        attributes,
        "the entry deletion",
    )
}

/// Changes the entries `fill_with(spec)` made, over `conntrack`'s socket: each gets the
/// attributes `change(i)` (CTA_MARK, CTA_LABELS...). An update is IPCTNL_MSG_CT_NEW
/// without NLM_F_CREATE; the kernel sends an UPDATE event for it.
pub fn update_with(
    conntrack: &mut Conntrack,
    spec: FillSpec,
    change: impl Fn(u32) -> Vec<DefaultNla>,
) -> Result<()> {
    send(conntrack, spec, "update", &[], |i| {
        let mut attributes = vec![tuple(CTA_TUPLE_ORIG, &spec.original(i), None)];
        attributes.extend(spec.zone.map(|zone| be16(CTA_ZONE, zone)));
        attributes.extend(change(i));
        Request::single(
            NFNL_SUBSYS_CTNETLINK,
            IPCTNL_MSG_CT_NEW,
            AF_INET,
            attributes,
            "the entry update",
        )
    })
}

/// Until `stop` is set, creates `spec.count` entries and deletes them again, over and
/// over, in the network namespace `netns`: thousands of changes a second, while a test
/// dumps the table. Returns how many entries were created (and deleted).
pub fn churn(netns: &str, spec: FillSpec, stop: Arc<AtomicBool>) -> JoinHandle<Result<u64>> {
    churn_tolerating(netns, spec, stop, &[])
}

/// `churn` beside a test that may itself delete churned entries (`ct delete -p udp`):
/// an entry already gone (ENOENT) or still there (EEXIST) is not an error.
pub fn churn_alongside(
    netns: &str,
    spec: FillSpec,
    stop: Arc<AtomicBool>,
) -> JoinHandle<Result<u64>> {
    churn_tolerating(netns, spec, stop, &[libc::ENOENT, libc::EEXIST])
}

fn churn_tolerating(
    netns: &str,
    spec: FillSpec,
    stop: Arc<AtomicBool>,
    tolerated: &'static [i32],
) -> JoinHandle<Result<u64>> {
    let netns = netns.to_string();
    std::thread::spawn(move || {
        ct::netlink::netns::enter(&netns)?;
        let mut conntrack = Conntrack::open(None)?;
        let mut changed = 0;
        while !stop.load(Ordering::Relaxed) {
            send(&mut conntrack, spec, "create", tolerated, |i| {
                create_request(spec, i)
            })?;
            send(&mut conntrack, spec, "delete", tolerated, |i| {
                delete_request(spec, i)
            })?;
            changed += u64::from(spec.count);
        }
        Ok(changed)
    })
}
