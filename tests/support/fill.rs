//! Fills a namespace's conntrack table fast, for tests and benchmarks that need tens or
//! hundreds of thousands of entries (`conntrack -I` costs a process per entry).
//!
//! Entries are created with IPCTNL_MSG_CT_NEW messages built by netlink-packet-netfilter,
//! sent hundreds per datagram, each acknowledged. Shared by the integration tests
//! (`#[path]`-included) and by `examples/fill_table.rs`, which the benchmark runs.
#![allow(dead_code)]

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsRawFd;

use netlink_packet_core::{
    DefaultNla, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage,
    NetlinkPayload,
};
use netlink_packet_netfilter::conntrack::{
    ConntrackAttribute, ConntrackMessage, IPTuple, ProtoTuple, Protocol, Tuple,
};
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

/// CTA_ZONE (linux/netfilter/nfnetlink_conntrack.h); not typed by the crate.
const CTA_ZONE: u16 = 18;
/// Messages per datagram: small enough that the acks fit the socket's receive buffer.
const BATCH: usize = 256;

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

/// Creates the entries in the network namespace at `/run/netns/<netns>`, from a thread
/// of its own (setns affects only the calling thread).
pub fn fill(netns: &str, spec: FillSpec) -> Result<(), String> {
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || {
        let file = File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
        // SAFETY: plain syscall on a descriptor `file` keeps open.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
        }
        fill_here(spec)
    })
    .join()
    .map_err(|_| "fill thread panicked".to_string())?
}

/// Creates the entries in the calling thread's network namespace.
pub fn fill_here(spec: FillSpec) -> Result<(), String> {
    let socket = open()?;
    send_all(&socket, spec, |spec, i, sequence| {
        new_entry(spec, i, sequence)
    })
}

/// Deletes the entries `fill_here(spec)` made, in the calling thread's namespace.
pub fn delete_here(spec: FillSpec) -> Result<(), String> {
    let socket = open()?;
    send_all(&socket, spec, |spec, i, sequence| {
        delete_entry(spec, i, sequence)
    })
}

/// Until `stop` is set, creates `spec.count` entries and deletes them again, over and
/// over, in the network namespace `netns`: thousands of changes a second, while a test
/// dumps the table. Returns how many entries were created (and deleted).
pub fn churn(
    netns: &str,
    spec: FillSpec,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Result<u64, String>> {
    let path = format!("/run/netns/{netns}");
    std::thread::spawn(move || {
        let file = File::open(&path).map_err(|e| format!("open {path}: {e}"))?;
        // SAFETY: plain syscall on a descriptor `file` keeps open.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
        }
        let mut changed = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            fill_here(spec)?;
            delete_here(spec)?;
            changed += u64::from(spec.count);
        }
        Ok(changed)
    })
}

fn open() -> Result<Socket, String> {
    let mut socket = Socket::new(NETLINK_NETFILTER).map_err(|e| format!("socket: {e}"))?;
    socket.bind_auto().map_err(|e| format!("bind: {e}"))?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(|e| format!("connect: {e}"))?;
    Ok(socket)
}

/// Sends one message per entry of `spec`, built by `message`, in acknowledged batches.
fn send_all(
    socket: &Socket,
    spec: FillSpec,
    message: impl Fn(&FillSpec, u32, u32) -> Vec<u8>,
) -> Result<(), String> {
    let mut sequence = 0u32;
    let mut datagram = Vec::with_capacity(BATCH * 160);
    let mut index = 0u32;
    while index < spec.count {
        datagram.clear();
        let batch_end = spec.count.min(index + BATCH as u32);
        for i in index..batch_end {
            sequence += 1;
            datagram.extend_from_slice(&message(&spec, i, sequence));
        }
        socket
            .send(&datagram, 0)
            .map_err(|e| format!("send: {e}"))?;
        read_acks(socket, (batch_end - index) as usize)?;
        index = batch_end;
    }
    Ok(())
}

fn read_acks(socket: &Socket, mut expected: usize) -> Result<(), String> {
    let mut buffer = vec![0u8; 64 * 1024];
    while expected > 0 {
        let n = socket
            .recv(&mut &mut buffer[..], 0)
            .map_err(|e| format!("recv: {e}"))?;
        let mut at = 0;
        while at + 20 <= n {
            let length = u32::from_ne_bytes(buffer[at..at + 4].try_into().unwrap()) as usize;
            let kind = u16::from_ne_bytes(buffer[at + 4..at + 6].try_into().unwrap());
            if kind == 2 {
                // NLMSG_ERROR: 0 is the ack, anything else is why the entry was refused.
                let code = i32::from_ne_bytes(buffer[at + 16..at + 20].try_into().unwrap());
                if code != 0 {
                    return Err(format!(
                        "the kernel refused an entry: {}",
                        std::io::Error::from_raw_os_error(-code)
                    ));
                }
                expected -= 1;
            }
            at += (length.max(16) + 3) & !3;
        }
    }
    Ok(())
}

/// Entry `i` of a fill: 10.(base).x.y:port → 10.255.0.1:53.
fn endpoints(spec: &FillSpec, i: u32) -> (IpAddr, IpAddr, u16) {
    let src = IpAddr::V4(Ipv4Addr::new(
        10,
        spec.base,
        (i >> 16) as u8,
        (i >> 8) as u8,
    ));
    let dst = IpAddr::V4(Ipv4Addr::new(10, 255, 0, 1));
    (src, dst, 1024 + (i & 0xff) as u16)
}

fn tuple(from: IpAddr, to: IpAddr, from_port: u16, to_port: u16) -> Vec<Tuple> {
    vec![
        Tuple::Ip(vec![
            IPTuple::SourceAddress(from),
            IPTuple::DestinationAddress(to),
        ]),
        Tuple::Proto(vec![
            ProtoTuple::Protocol(Protocol::Udp),
            ProtoTuple::SourcePort(from_port),
            ProtoTuple::DestinationPort(to_port),
        ]),
    ]
}

fn zone_attribute(spec: &FillSpec) -> Option<ConntrackAttribute> {
    spec.zone.map(|zone| {
        ConntrackAttribute::Other(DefaultNla::new(CTA_ZONE, zone.to_be_bytes().to_vec()))
    })
}

fn new_entry(spec: &FillSpec, i: u32, sequence: u32) -> Vec<u8> {
    let (src, dst, sport) = endpoints(spec, i);
    let mut attributes = vec![
        ConntrackAttribute::CtaTupleOrig(tuple(src, dst, sport, 53)),
        ConntrackAttribute::CtaTupleReply(tuple(dst, src, 53, sport)),
        ConntrackAttribute::CtaTimeout(spec.timeout),
        ConntrackAttribute::CtaMark(spec.mark),
    ];
    attributes.extend(zone_attribute(spec));
    let flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK;
    message(ConntrackMessage::New(attributes), flags, sequence)
}

fn delete_entry(spec: &FillSpec, i: u32, sequence: u32) -> Vec<u8> {
    let (src, dst, sport) = endpoints(spec, i);
    let mut attributes = vec![ConntrackAttribute::CtaTupleOrig(tuple(src, dst, sport, 53))];
    attributes.extend(zone_attribute(spec));
    message(
        ConntrackMessage::Delete(attributes),
        NLM_F_REQUEST | NLM_F_ACK,
        sequence,
    )
}

fn message(body: ConntrackMessage, flags: u16, sequence: u32) -> Vec<u8> {
    let body = NetfilterMessage::new(NetfilterHeader::new(NetfilterProtoFamily::IPv4, 0, 0), body);
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = sequence;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(body));
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    bytes
}
