//! Fills a namespace's conntrack table fast, for tests and benchmarks that need tens or
//! hundreds of thousands of entries (`conntrack -I` costs a process per entry).
//!
//! Entries are created with the requests of ct's own create operation
//! (`ct::netlink::create_request` of a `ct::model::create::NewEntry`) and sent by
//! `Conntrack::send_batch`: hundreds per datagram, each acknowledged. Shared by the
//! kernel tests and by `examples/fill_table.rs`, which the benchmark runs; both include
//! it by path. Tests that have a `common::Netns` call `fill_here` inside
//! `Netns::run_in`; the example, which cannot include tests/support/common.rs, names
//! the namespace (`fill`). Deleting, updating and churning these entries is the kernel
//! tests' alone (changes.rs).

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use anyhow::{Result, anyhow};
use ct::kernel::*;
use ct::model::create::NewEntry;
use ct::model::entry::{L4, Tuple};
use ct::netlink::{Conntrack, Request};

/// Requests built at a time: `send_batch` cuts them into datagrams, and a fill of
/// 250,000 entries never holds all its requests at once.
const CHUNK: u32 = 4096;

/// What to create: `count` UDP entries 10.(base).x.y:port → 10.255.0.1:53 (or, with
/// `ipv6`, fd00::(base):x:y → fd00::ff:0:1), each unique.
#[derive(Debug, Clone, Copy)]
pub struct FillSpec {
    pub count: u32,
    /// The second octet of the source addresses, so separate fills never collide.
    pub base: u8,
    pub mark: u32,
    pub zone: Option<u16>,
    /// Seconds before the entries expire.
    pub timeout: u32,
    /// IPv6 entries instead of IPv4 ones.
    pub ipv6: bool,
}

impl Default for FillSpec {
    fn default() -> Self {
        FillSpec {
            count: 1000,
            base: 0,
            mark: 0,
            zone: None,
            timeout: 600,
            ipv6: false,
        }
    }
}

impl FillSpec {
    /// The original tuple of entry `i`: 10.(base).(i >> 16).(i >> 8), port 1024 + (i & 0xff),
    /// to 10.255.0.1:53; with `ipv6`, fd00::(base):(i >> 16):(i >> 8) to fd00::ff:0:1.
    pub fn original(&self, i: u32) -> Tuple {
        let (high, low) = ((i >> 16) as u8, (i >> 8) as u8);
        let (src, dst) = if self.ipv6 {
            let src = Ipv6Addr::new(
                0xfd00,
                0,
                0,
                0,
                0,
                self.base.into(),
                high.into(),
                low.into(),
            );
            (
                IpAddr::V6(src),
                IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0xff, 0, 1)),
            )
        } else {
            let src = Ipv4Addr::new(10, self.base, high, low);
            (IpAddr::V4(src), IpAddr::V4(Ipv4Addr::new(10, 255, 0, 1)))
        };
        udp(src, dst, 1024 + (i & 0xff) as u16, 53)
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
pub fn create_request(spec: FillSpec, i: u32) -> Request {
    let mut entry = NewEntry::new(spec.original(i), spec.timeout);
    entry.mark = Some(spec.mark);
    entry.zone = spec.zone;
    ct::netlink::create_request(&entry)
}

/// Sends `request(i)` for every entry of `spec`, a chunk at a time; the first entry the
/// kernel refuses ends the fill with its errno.
pub fn send(
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
