//! Fills a namespace's conntrack table fast, for tests and benchmarks that need tens or
//! hundreds of thousands of entries (`conntrack -I` costs a process per entry).
//!
//! Entries are created with IPCTNL_MSG_CT_NEW requests built on ct's own netlink layer
//! (`ct::netlink::Request`, `ct::netlink::attributes`) and sent by
//! `Conntrack::send_batch`: hundreds per datagram, each acknowledged. Shared by the
//! integration tests (`#[path]`-included) and by `examples/fill_table.rs`, which the
//! benchmark runs. Tests that have a `common::Netns` call `fill_here` and `delete_here`
//! inside `Netns::run_in`; the example, which cannot include tests/common, names the
//! namespace (`fill`, `churn`).
#![allow(dead_code)]

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use anyhow::{Result, anyhow};
use ct::kernel::*;
use ct::model::entry::{L4, Tuple};
use ct::netlink::attributes::{be16, be32, tuple};
use ct::netlink::{Conntrack, Request};
use netlink_packet_core::DefaultNla;

/// Requests built at a time: `send_batch` cuts them into datagrams, and a fill of
/// 250,000 entries never holds all its requests at once.
const CHUNK: u32 = 4096;

/// What to create: `count` UDP entries 10.(base).x.y:port → 10.255.0.1:53, each unique.
#[derive(Debug, Clone, Copy)]
pub struct FillSpec {
    pub count: u32,
    /// The second octet of the source addresses, so separate fills never collide.
    pub base: u8,
    pub mark: u32,
    pub zone: Option<u16>,
    /// Seconds before the entries expire.
    pub timeout: u32,
}

impl Default for FillSpec {
    fn default() -> Self {
        FillSpec {
            count: 1000,
            base: 0,
            mark: 0,
            zone: None,
            timeout: 600,
        }
    }
}

impl FillSpec {
    /// The original tuple of entry `i`: 10.(base).(i >> 16).(i >> 8), port 1024 + (i & 0xff),
    /// to 10.255.0.1:53.
    pub fn original(&self, i: u32) -> Tuple {
        udp(
            IpAddr::V4(Ipv4Addr::new(
                10,
                self.base,
                (i >> 16) as u8,
                (i >> 8) as u8,
            )),
            IpAddr::V4(Ipv4Addr::new(10, 255, 0, 1)),
            1024 + (i & 0xff) as u16,
            53,
        )
    }
}

/// Creates the entries in the network namespace `netns` (a name from `ip netns list` or
/// a path), from a thread of its own.
pub fn fill(netns: &str, spec: FillSpec) -> Result<()> {
    let netns = netns.to_string();
    std::thread::spawn(move || {
        ct::netlink::netns::enter(&netns)?;
        fill_here(spec)
    })
    .join()
    .map_err(|_| anyhow!("the fill thread panicked"))?
}

/// Creates the entries in the calling thread's network namespace.
pub fn fill_here(spec: FillSpec) -> Result<()> {
    fill_with(&mut Conntrack::open(None)?, spec)
}

/// Creates the entries over `conntrack`'s socket (whose port id their events name).
pub fn fill_with(conntrack: &mut Conntrack, spec: FillSpec) -> Result<()> {
    send(conntrack, spec, "create", &[], |i| create_request(spec, i))
}

/// The request that creates entry `i` of `spec`.
fn create_request(spec: FillSpec, i: u32) -> Request {
    let original = spec.original(i);
    let reply = reversed(&original);
    let mut attributes = vec![
        tuple(CTA_TUPLE_ORIG, &original, None),
        tuple(CTA_TUPLE_REPLY, &reply, None),
        be32(CTA_TIMEOUT, spec.timeout),
        be32(CTA_MARK, spec.mark),
    ];
    attributes.extend(spec.zone.map(|zone| be16(CTA_ZONE, zone)));
    let mut request = Request::single(
        NFNL_SUBSYS_CTNETLINK,
        IPCTNL_MSG_CT_NEW,
        AF_INET,
        attributes,
        "the entry creation",
    );
    request.flags |= NLM_F_CREATE | NLM_F_EXCL;
    request
}

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

/// Sends `request(i)` for every entry of `spec`, a chunk at a time; the first entry the
/// kernel refuses ends the fill with its errno.
fn send(
    conntrack: &mut Conntrack,
    spec: FillSpec,
    verb: &str,
    tolerated: &[i32],
    request: impl Fn(u32) -> Request,
) -> Result<()> {
    let mut start = 0;
    while start < spec.count {
        let end = spec.count.min(start.saturating_add(CHUNK));
        let requests: Vec<Request> = (start..end).map(&request).collect();
        conntrack.send_batch(&requests, |index, errno| {
            if tolerated.contains(&errno) {
                return Ok(());
            }
            let i = start + index as u32;
            Err(anyhow!(
                "the kernel refused to {verb} entry {i} ({}): {}",
                describe(&spec.original(i)),
                io::Error::from_raw_os_error(errno)
            ))
        })?;
        start = end;
    }
    Ok(())
}

fn udp(src: IpAddr, dst: IpAddr, sport: u16, dport: u16) -> Tuple {
    Tuple {
        src: Some(src),
        dst: Some(dst),
        protonum: IPPROTO_UDP,
        l4: L4::Ports { sport, dport },
        zone: None,
    }
}

/// `src:sport -> dst:dport`, for messages.
fn describe(tuple: &Tuple) -> String {
    let (sport, dport) = tuple.ports().unwrap_or_default();
    let address = |a: Option<IpAddr>| a.map_or("?".to_string(), |a| a.to_string());
    format!(
        "{}:{sport} -> {}:{dport}",
        address(tuple.src),
        address(tuple.dst)
    )
}

/// The reply direction of an un-NATed `original`.
fn reversed(original: &Tuple) -> Tuple {
    let (sport, dport) = original.ports().unwrap_or_default();
    Tuple {
        src: original.dst,
        dst: original.src,
        l4: L4::Ports {
            sport: dport,
            dport: sport,
        },
        ..*original
    }
}
