//! Netlink I/O: the ctnetlink socket and the multipart dump loop.
//!
//! This module moves bytes and checks the netlink envelope (sequence numbers, errors,
//! NLMSG_DONE, NLM_F_DUMP_INTR). It hands each conntrack message's attribute bytes to a
//! caller-supplied function while they are still in the receive buffer, so a whole batch
//! is decoded and printed before the next `recv`. It knows nothing of the entry model.

pub mod netns;
pub mod request;

use std::io;
use std::sync::mpsc;

use anyhow::{Context, Result, anyhow, bail};
use netlink_packet_core::NetlinkBuffer;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

use crate::kernel::*;
pub use request::DumpRequest;

/// The kernel caps one dump datagram at 32 KiB (netlink_dump, SKB_WITH_OVERHEAD(32768));
/// twice that leaves room, and MSG_TRUNC tells us if a future kernel sends more.
const RECEIVE_BUFFER_LEN: usize = 64 * 1024;

/// The socket receive buffer asked for when the user gives no `-b`: large enough that a
/// slow reader does not overrun it on a busy table. The kernel caps it at rmem_max.
const DEFAULT_SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// One conntrack message of a dump, still in the receive buffer.
#[derive(Debug, Clone, Copy)]
pub struct CtMessage<'a> {
    /// The nfgenmsg family: the entry's layer-3 protocol.
    pub family: u8,
    /// The attributes after the nfgenmsg header.
    pub attributes: &'a [u8],
}

/// What the dump loop saw besides the entries themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DumpStats {
    /// Conntrack messages handed to the caller.
    pub messages: u64,
    /// Bytes received from the kernel, envelopes included.
    pub bytes: u64,
    /// The kernel flagged NLM_F_DUMP_INTR: the table changed while it was being dumped,
    /// so an entry may be missing or shown twice.
    pub interrupted: bool,
}

/// A netlink socket talking to ctnetlink in the current network namespace.
pub struct Conntrack {
    socket: Socket,
    buffer: Vec<u8>,
    sequence: u32,
}

impl Conntrack {
    /// Opens the socket; `socket_buffer` is the `-b` size, forced past rmem_max when
    /// we have the right to (as conntrack does).
    pub fn open(socket_buffer: Option<usize>) -> Result<Conntrack> {
        let mut socket = Socket::new(NETLINK_NETFILTER).map_err(open_error)?;
        socket
            .bind_auto()
            .context("cannot bind the netlink socket")?;
        socket
            .connect(&SocketAddr::new(0, 0))
            .context("cannot connect the netlink socket to the kernel")?;
        set_socket_buffer(&socket, socket_buffer.unwrap_or(DEFAULT_SOCKET_BUFFER))?;
        Ok(Conntrack {
            socket,
            buffer: vec![0; RECEIVE_BUFFER_LEN],
            // Any start works; a time-derived one makes stale replies from an earlier
            // user of a recycled port id stand out.
            sequence: std::process::id(),
        })
    }

    /// Sends `request` and feeds every conntrack message of the reply to `on_message`,
    /// up to NLMSG_DONE. An error from `on_message` stops the dump and is returned.
    ///
    /// Two threads share the work, so that the kernel fills the next datagram while this
    /// one is decoded and printed: a reader thread receives into a small pool of buffers
    /// and passes each full one over; the calling thread walks it and hands it back.
    pub fn dump<F>(&mut self, request: &DumpRequest, mut on_message: F) -> Result<DumpStats>
    where
        F: FnMut(CtMessage<'_>) -> Result<()>,
    {
        self.send_request(request)?;
        let sequence = self.sequence;
        let socket = &self.socket;
        std::thread::scope(|scope| {
            let (full_tx, full_rx) = mpsc::sync_channel(BUFFERS_IN_FLIGHT);
            let (free_tx, free_rx) = mpsc::channel();
            for _ in 0..BUFFERS_IN_FLIGHT {
                let _ = free_tx.send(vec![0u8; RECEIVE_BUFFER_LEN]);
            }
            scope.spawn(move || read_datagrams(socket, &free_rx, &full_tx));
            let mut stats = DumpStats::default();
            // Returning early drops both channel ends, which ends the reader thread at its
            // next hand-over.
            for received in full_rx {
                let (buffer, length) = received?;
                stats.bytes += length as u64;
                let batch = walk_batch(
                    &buffer[..length],
                    Some(sequence),
                    &mut stats,
                    &mut on_message,
                )?;
                if batch == Batch::Done {
                    return Ok(stats);
                }
                let _ = free_tx.send(buffer);
            }
            Err(anyhow!(
                "the netlink reader stopped before the end of the dump"
            ))
        })
    }

    /// Tries `requests` in turn until the kernel accepts one, and dumps with it. A
    /// request the kernel refuses before sending any entry (an older kernel that does not
    /// know a filter attribute) is followed by the next, less filtered one. Returns the
    /// stats and the index of the request used.
    pub fn dump_first_accepted<F>(
        &mut self,
        requests: &[DumpRequest],
        mut on_message: F,
    ) -> Result<(DumpStats, usize)>
    where
        F: FnMut(CtMessage<'_>) -> Result<()>,
    {
        let mut last_error = None;
        for (index, request) in requests.iter().enumerate() {
            let mut delivered = false;
            let result = self.dump(request, |message| {
                delivered = true;
                on_message(message)
            });
            match result {
                Ok(stats) => return Ok((stats, index)),
                Err(err) if !delivered && is_refused_request(&err) => last_error = Some(err),
                Err(err) => return Err(err),
            }
        }
        Err(last_error.unwrap_or_else(|| anyhow!("no dump request to send")))
    }

    /// Like [`Conntrack::dump`], but hands over each datagram as the kernel sent it, for
    /// capturing fixtures and for measuring the cost of the dump alone.
    pub fn dump_datagrams<F>(
        &mut self,
        request: &DumpRequest,
        mut on_datagram: F,
    ) -> Result<DumpStats>
    where
        F: FnMut(&[u8]) -> Result<()>,
    {
        self.run_dump(request, |batch, sequence, stats| {
            on_datagram(batch)?;
            walk_batch(batch, Some(sequence), stats, &mut |_| Ok(()))
        })
    }

    fn send_request(&mut self, request: &DumpRequest) -> Result<()> {
        self.sequence = self.sequence.wrapping_add(1);
        let bytes = request.to_bytes(self.sequence);
        self.socket
            .send(&bytes, 0)
            .context("cannot send the dump request to the kernel")?;
        Ok(())
    }

    fn run_dump<F>(&mut self, request: &DumpRequest, mut on_batch: F) -> Result<DumpStats>
    where
        F: FnMut(&[u8], u32, &mut DumpStats) -> Result<Batch>,
    {
        self.send_request(request)?;
        let mut stats = DumpStats::default();
        loop {
            let received = receive(&self.socket, &mut self.buffer)?;
            stats.bytes += received as u64;
            if on_batch(&self.buffer[..received], self.sequence, &mut stats)? == Batch::Done {
                return Ok(stats);
            }
        }
    }
}

/// How many receive buffers the reader thread may fill ahead of the printer.
const BUFFERS_IN_FLIGHT: usize = 4;

/// The reader thread of [`Conntrack::dump`]: receives datagrams into free buffers and
/// passes them on, up to the one that ends the dump or an error.
fn read_datagrams(
    socket: &Socket,
    free: &mpsc::Receiver<Vec<u8>>,
    full: &mpsc::SyncSender<Result<(Vec<u8>, usize)>>,
) {
    while let Ok(mut buffer) = free.recv() {
        match receive(socket, &mut buffer) {
            Ok(length) => {
                let last = ends_dump(&buffer[..length]);
                if full.send(Ok((buffer, length))).is_err() || last {
                    return;
                }
            }
            Err(err) => {
                let _ = full.send(Err(err));
                return;
            }
        }
    }
}

/// True when a datagram holds NLMSG_DONE or NLMSG_ERROR (or cannot be walked): nothing
/// follows it. Only the headers are read.
fn ends_dump(mut datagram: &[u8]) -> bool {
    while !datagram.is_empty() {
        let Ok(message) = NetlinkBuffer::new_checked(datagram) else {
            return true;
        };
        if matches!(message.message_type(), NLMSG_DONE | NLMSG_ERROR) {
            return true;
        }
        let advance = nlmsg_align(message.length() as usize);
        datagram = datagram.get(advance..).unwrap_or_default();
    }
    false
}

/// Receives one datagram from a netlink socket into `buffer`, saying what to do when the
/// socket's receive buffer overran (ENOBUFS).
pub fn receive(socket: &Socket, buffer: &mut [u8]) -> Result<usize> {
    loop {
        match socket.recv(&mut &mut buffer[..], libc::MSG_TRUNC) {
            Ok(0) => bail!("the kernel closed the netlink socket in the middle of the dump"),
            Ok(n) if n > buffer.len() => bail!(
                "a netlink message of {n} bytes did not fit the {}-byte receive buffer",
                buffer.len()
            ),
            Ok(n) => return Ok(n),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(receive_error(err)),
        }
    }
}

/// What a failed `recv` means for the user.
fn receive_error(err: io::Error) -> anyhow::Error {
    if err.raw_os_error() == Some(libc::ENOBUFS) {
        anyhow!(
            "the netlink socket's receive buffer overran (ENOBUFS) and entries were lost; \
             retry with a larger buffer, e.g. -b 16777216"
        )
    } else {
        anyhow::Error::new(err).context("cannot read the dump from the kernel")
    }
}

/// Whether a datagram ended the dump.
#[derive(Debug, PartialEq, Eq)]
pub enum Batch {
    More,
    Done,
}

/// Walks the netlink messages of one received datagram (or of a captured dump), handing
/// each conntrack message to `on_message`. `sequence`, when given, is the one every
/// message must carry.
pub fn walk_batch<F>(
    mut batch: &[u8],
    sequence: Option<u32>,
    stats: &mut DumpStats,
    on_message: &mut F,
) -> Result<Batch>
where
    F: FnMut(CtMessage<'_>) -> Result<()>,
{
    while !batch.is_empty() {
        let message = NetlinkBuffer::new_checked(batch)
            .map_err(|err| anyhow!("the kernel sent a malformed netlink message: {err}"))?;
        let length = message.length() as usize;
        if let Some(expected) = sequence.filter(|&s| s != message.sequence_number()) {
            bail!(
                "unexpected netlink reply (sequence {}, expected {expected})",
                message.sequence_number()
            );
        }
        if message.flags() & NLM_F_DUMP_INTR != 0 {
            stats.interrupted = true;
        }
        let payload = message.payload();
        match message.message_type() {
            NLMSG_DONE => {
                check_errno(payload, "the end of the dump")?;
                return Ok(Batch::Done);
            }
            NLMSG_ERROR => {
                check_errno(payload, "the dump request")?;
                // An error message carrying 0 is an acknowledgement: nothing follows.
                return Ok(Batch::Done);
            }
            NLMSG_OVERRUN => bail!("the kernel reported a netlink overrun; retry with a larger -b"),
            NLMSG_NOOP => {}
            kind if is_conntrack_entry(kind) => {
                let Some((header, attributes)) = payload.split_at_checked(NFGENMSG_LEN) else {
                    bail!("the kernel sent a conntrack message too short for its nfgenmsg header");
                };
                stats.messages += 1;
                on_message(CtMessage {
                    family: header[0],
                    attributes,
                })?;
            }
            _ => {}
        }
        // Messages are padded to 4 bytes; the last one of a datagram may not be.
        let advance = nlmsg_align(length);
        batch = batch.get(advance..).unwrap_or_default();
    }
    Ok(Batch::More)
}

fn is_refused_request(err: &anyhow::Error) -> bool {
    err.downcast_ref::<KernelError>()
        .is_some_and(KernelError::is_refused_request)
}

fn is_conntrack_entry(kind: u16) -> bool {
    nfnl_subsys_id(kind) == NFNL_SUBSYS_CTNETLINK && nfnl_msg_type(kind) == IPCTNL_MSG_CT_NEW
}

/// Reads the errno the kernel put at the start of an NLMSG_ERROR or NLMSG_DONE payload
/// and turns a non-zero one into an error that says what to do.
fn check_errno(payload: &[u8], during: &str) -> Result<()> {
    let Some(raw) = payload.get(..4) else {
        // NLMSG_DONE of old kernels may carry no errno at all.
        return Ok(());
    };
    let code = i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
    if code >= 0 {
        return Ok(());
    }
    // Saturating: -i32::MIN does not fit; no kernel sends it, a corrupted message might
    // (found by the fuzzer, issue 5).
    Err(kernel_error(code.saturating_neg(), during))
}

/// An error the kernel answered a request with, kept typed so callers can tell a
/// refused filter (EINVAL, EOPNOTSUPP) from other failures.
#[derive(Debug)]
pub struct KernelError {
    pub errno: i32,
    message: String,
}

impl std::fmt::Display for KernelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for KernelError {}

impl KernelError {
    /// The kernel did not accept what the request asked for, as an older kernel does
    /// with a filter attribute it does not know.
    pub fn is_refused_request(&self) -> bool {
        matches!(self.errno, libc::EINVAL | libc::EOPNOTSUPP)
    }
}

fn kernel_error(errno: i32, during: &str) -> anyhow::Error {
    anyhow::Error::new(KernelError {
        errno,
        message: kernel_error_message(errno, during),
    })
}

fn kernel_error_message(errno: i32, during: &str) -> String {
    let os = io::Error::from_raw_os_error(errno);
    match errno {
        libc::EPERM | libc::EACCES => {
            "permission denied reading the conntrack table; run as root or with CAP_NET_ADMIN"
                .to_string()
        }
        libc::EOPNOTSUPP | libc::EPROTONOSUPPORT | libc::ENOENT => format!(
            "the kernel has no ctnetlink ({os}); load it with `modprobe nf_conntrack_netlink`"
        ),
        libc::ENOBUFS => "the kernel ran out of buffer space during the dump (ENOBUFS); \
                          retry with a larger -b/--buffer-size"
            .to_string(),
        _ => format!("the kernel refused {during}: {os}"),
    }
}

fn open_error(err: io::Error) -> anyhow::Error {
    match err.raw_os_error() {
        Some(libc::EPROTONOSUPPORT) | Some(libc::EAFNOSUPPORT) => anyhow!(
            "this kernel has no netfilter netlink ({err}); \
             load it with `modprobe nf_conntrack_netlink`"
        ),
        Some(libc::EPERM) | Some(libc::EACCES) => {
            anyhow!("permission denied opening netlink socket; run as root or with CAP_NET_ADMIN")
        }
        _ => anyhow::Error::new(err).context("cannot open a netlink socket"),
    }
}

/// Sets SO_RCVBUF; with CAP_NET_ADMIN, SO_RCVBUFFORCE goes past net.core.rmem_max.
fn set_socket_buffer(socket: &Socket, size: usize) -> Result<()> {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(size).unwrap_or(libc::c_int::MAX);
    let set = |option| {
        // SAFETY: the pointer and length describe `value`, which outlives the call.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                option,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        }
    };
    if set(libc::SO_RCVBUFFORCE) == 0 || set(libc::SO_RCVBUF) == 0 {
        return Ok(());
    }
    Err(io::Error::last_os_error()).context("cannot set the netlink socket's receive buffer size")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: u16, flags: u16, sequence: u32, payload: &[u8]) -> Vec<u8> {
        let length = NLMSG_HDRLEN + payload.len();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(length as u32).to_ne_bytes());
        bytes.extend_from_slice(&kind.to_ne_bytes());
        bytes.extend_from_slice(&flags.to_ne_bytes());
        bytes.extend_from_slice(&sequence.to_ne_bytes());
        bytes.extend_from_slice(&0u32.to_ne_bytes());
        bytes.extend_from_slice(payload);
        while bytes.len() % 4 != 0 {
            bytes.push(0);
        }
        bytes
    }

    const CT_NEW: u16 = (NFNL_SUBSYS_CTNETLINK as u16) << 8 | IPCTNL_MSG_CT_NEW as u16;

    /// (family, attribute bytes) of each message the walk handed over.
    type Seen = Vec<(u8, Vec<u8>)>;

    fn walk(batch: &[u8]) -> (Result<Batch>, DumpStats, Seen) {
        let mut stats = DumpStats::default();
        let mut seen = Vec::new();
        let result = walk_batch(batch, Some(9), &mut stats, &mut |m: CtMessage<'_>| {
            seen.push((m.family, m.attributes.to_vec()));
            Ok(())
        });
        (result, stats, seen)
    }

    #[test]
    fn entries_then_done() {
        let mut batch = message(
            CT_NEW,
            NLM_F_MULTI,
            9,
            &[AF_INET, 0, 0, 0, 8, 0, 7, 0, 0, 0, 0, 30],
        );
        batch.extend(message(NLMSG_DONE, NLM_F_MULTI, 9, &0i32.to_ne_bytes()));
        let (result, stats, seen) = walk(&batch);
        assert_eq!(result.unwrap(), Batch::Done);
        assert_eq!(seen, vec![(AF_INET, vec![8, 0, 7, 0, 0, 0, 0, 30])]);
        assert_eq!(stats.messages, 1);
        assert!(!stats.interrupted);
    }

    #[test]
    fn dump_intr_is_reported() {
        let batch = message(
            CT_NEW,
            NLM_F_MULTI | NLM_F_DUMP_INTR,
            9,
            &[AF_INET6, 0, 0, 0],
        );
        let (result, stats, _) = walk(&batch);
        assert_eq!(result.unwrap(), Batch::More);
        assert!(stats.interrupted);
    }

    #[test]
    fn eperm_says_to_run_as_root() {
        let batch = message(NLMSG_ERROR, 0, 9, &(-libc::EPERM).to_ne_bytes());
        let err = walk(&batch).0.unwrap_err().to_string();
        assert_eq!(
            err,
            "permission denied reading the conntrack table; run as root or with CAP_NET_ADMIN"
        );
    }

    #[test]
    fn missing_ctnetlink_says_modprobe() {
        let batch = message(NLMSG_ERROR, 0, 9, &(-libc::EOPNOTSUPP).to_ne_bytes());
        let err = walk(&batch).0.unwrap_err().to_string();
        assert!(err.contains("modprobe nf_conntrack_netlink"), "{err}");
    }

    #[test]
    fn a_kernel_without_netfilter_netlink_says_modprobe() {
        let err = open_error(io::Error::from_raw_os_error(libc::EPROTONOSUPPORT)).to_string();
        assert_eq!(
            err,
            "this kernel has no netfilter netlink (Protocol not supported (os error 93)); \
             load it with `modprobe nf_conntrack_netlink`"
        );
        let err = open_error(io::Error::from_raw_os_error(libc::EPERM)).to_string();
        assert_eq!(
            err,
            "permission denied opening netlink socket; run as root or with CAP_NET_ADMIN"
        );
    }

    /// Issue 5's fuzzer: an errno of i32::MIN overflowed its negation.
    #[test]
    fn an_absurd_errno_is_an_error_not_a_panic() {
        let batch = message(NLMSG_ERROR, 0, 9, &i32::MIN.to_ne_bytes());
        let err = walk(&batch).0.unwrap_err().to_string();
        assert!(
            err.starts_with("the kernel refused the dump request: "),
            "{err}"
        );
    }

    #[test]
    fn wrong_sequence_is_an_error() {
        let batch = message(CT_NEW, NLM_F_MULTI, 8, &[AF_INET, 0, 0, 0]);
        let err = walk(&batch).0.unwrap_err().to_string();
        assert_eq!(err, "unexpected netlink reply (sequence 8, expected 9)");
    }

    #[test]
    fn truncated_message_is_an_error_not_a_panic() {
        let batch = message(CT_NEW, NLM_F_MULTI, 9, &[AF_INET, 0, 0, 0, 1, 2, 3, 4]);
        for cut in 1..batch.len() {
            let (result, _, _) = walk(&batch[..cut]);
            assert!(result.is_err(), "cut at {cut} was accepted");
        }
    }

    #[test]
    fn conntrack_message_without_nfgenmsg_is_an_error() {
        let batch = message(CT_NEW, NLM_F_MULTI, 9, &[AF_INET, 0]);
        assert!(walk(&batch).0.is_err());
    }
}
