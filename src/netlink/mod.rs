//! Netlink I/O: the ctnetlink socket and one method per kernel operation.
//!
//! The commands call the typed operations of [`ops`]: entries matching a filter, one
//! entry by tuple, expectations, statistics (with their /proc fallback), deleting and
//! flushing, events; each returns model types and keeps requests and message types to
//! itself. Beneath them, [`Conntrack`] sends [`Request`]s and receives the answers:
//! multipart dumps of any message type, single requests answered by one message and an
//! acknowledgement, batches of acknowledged requests, and multicast groups for events.
//! Every answer goes through one message walk ([`message::walk_datagram`]), which checks
//! the envelope and hands each message on while it is still in the receive buffer.

pub mod attributes;
pub mod message;
pub mod netns;
pub mod ops;
pub mod request;

use std::io;
use std::sync::mpsc;

use anyhow::{Context, Result, anyhow, bail};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};

use crate::filter::Filter;
use crate::filter::bpf::MAX_INSTRUCTIONS;
use crate::kernel::*;
pub use message::{Batch, DumpStats, KernelError, Message, kernel_errno, walk_datagram};
pub use ops::{
    DeleteBatch, Deletion, Dumped, DumpedExpectation, Event, HeldExpectation, Subscription,
    TupleLookup, Update, UpdateBatch, UpdatedEntry, create_request,
};
pub use request::Request;

/// The kernel caps one dump datagram at 32 KiB (netlink_dump, SKB_WITH_OVERHEAD(32768));
/// twice that leaves room, and MSG_TRUNC tells us if a future kernel sends more.
const RECEIVE_BUFFER_LEN: usize = 64 * 1024;

/// The socket receive buffer asked for when the user gives no `-b`: large enough that a
/// slow reader does not overrun it on a busy table. The kernel caps it at rmem_max.
const DEFAULT_SOCKET_BUFFER: usize = 4 * 1024 * 1024;

/// How many batches the reader thread of a dump may fill ahead of the printer.
const BUFFERS_IN_FLIGHT: usize = 4;

/// The size of one batch of a dump's datagrams: the reader thread receives datagrams
/// into it back to back while the kernel has the next one ready (it prepares it in the
/// receive that takes the one before), until less than [`RECEIVE_BUFFER_LEN`] is left,
/// and hands the batch over whole: seven datagrams a hand-over instead of one.
const DUMP_BATCH_LEN: usize = 4 * RECEIVE_BUFFER_LEN;

/// How many batches of copied messages a dump run beside another may fill before it
/// waits for the first to end ([`Conntrack::dump_beside`]), and the size of each: a
/// megabyte in all, about 3,000 entries.
const HELD_BATCHES: usize = 4;
const HELD_BATCH_LEN: usize = DUMP_BATCH_LEN;

/// Requests per datagram in [`Conntrack::send_batch`]: small enough that their
/// acknowledgements fit the socket's receive buffer.
const BATCH_LEN: usize = 256;

/// Requests per datagram in [`Conntrack::send_raw_batch_replies`]: each is answered by
/// a message (an entry, a few hundred bytes in a buffer of its own) and an
/// acknowledgement, all queued before ct reads them.
const REPLY_BATCH_LEN: usize = 64;

/// A netlink socket talking to ctnetlink in the current network namespace.
pub struct Conntrack {
    socket: Socket,
    buffer: Vec<u8>,
    sequence: u32,
    /// The namespace the socket was opened in from another thread
    /// ([`Conntrack::open_in`]); None for the process's own. Files of /proc that stand
    /// in for ctnetlink are read there.
    namespace: Option<netns::Namespace>,
    /// The `-b` size asked for, for a second socket opened beside this one
    /// ([`Conntrack::open_twin`]).
    socket_buffer: Option<usize>,
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
            // Any start works; a pid-derived one makes stale replies from an earlier
            // user of a recycled port id stand out.
            sequence: std::process::id(),
            namespace: None,
            socket_buffer,
        })
    }

    /// Opens the socket in `namespace`, from a thread that entered it
    /// ([`netns::open_in`]): the socket talks to that namespace's table, and the /proc
    /// fallbacks read that namespace's files.
    pub fn open_in(
        namespace: &netns::Namespace,
        socket_buffer: Option<usize>,
    ) -> Result<Conntrack> {
        let mut conntrack = netns::open_in(namespace, || Conntrack::open(socket_buffer))?;
        conntrack.namespace = Some(namespace.clone());
        Ok(conntrack)
    }

    /// Opens the socket where `place` says: in ct's own namespace, or from a thread
    /// that entered another ([`Conntrack::open_in`]).
    pub fn open_at(place: &netns::Place, socket_buffer: Option<usize>) -> Result<Conntrack> {
        match &place.namespace {
            None => Conntrack::open(socket_buffer),
            Some(namespace) => Conntrack::open_in(namespace, socket_buffer),
        }
    }

    /// Another socket to the same namespace's table, with the same `-b` size: for a dump
    /// that runs beside this socket's.
    fn open_twin(&self) -> Result<Conntrack> {
        match &self.namespace {
            None => Conntrack::open(self.socket_buffer),
            Some(namespace) => Conntrack::open_in(namespace, self.socket_buffer),
        }
    }

    /// A file of /proc (or /proc/sys) as the socket's namespace shows it.
    fn read_proc(&self, path: &str) -> io::Result<Vec<u8>> {
        match &self.namespace {
            None => std::fs::read(path),
            Some(namespace) => netns::read_in(namespace, path),
        }
    }

    /// Sends a dump `request` and feeds every message of the reply to `on_message`, up
    /// to NLMSG_DONE. An error from `on_message` stops the dump and is returned.
    ///
    /// Two threads share the work, so that the kernel fills the next datagrams while these
    /// are decoded and printed: a reader thread receives into a small pool of batches
    /// (several datagrams each, [`DUMP_BATCH_LEN`]) and passes each full one over; the
    /// calling thread walks it and hands it back.
    pub fn dump<F>(&mut self, request: &Request, mut on_message: F) -> Result<DumpStats>
    where
        F: FnMut(Message<'_>) -> Result<()>,
    {
        let sequence = self.send(request)?;
        let socket = &self.socket;
        std::thread::scope(|scope| {
            let (full_tx, full_rx) = mpsc::sync_channel(BUFFERS_IN_FLIGHT);
            let (free_tx, free_rx) = mpsc::channel();
            for _ in 0..BUFFERS_IN_FLIGHT {
                let _ = free_tx.send(Datagrams::new());
            }
            scope.spawn(move || read_datagrams(socket, &free_rx, &full_tx));
            let mut stats = DumpStats::default();
            // Returning early drops both channel ends, which ends the reader thread at its
            // next hand-over.
            for received in full_rx {
                let batch = received?;
                for datagram in batch.iter() {
                    stats.bytes += datagram.len() as u64;
                    let walked = walk_datagram(
                        datagram,
                        Some(sequence),
                        request.operation,
                        &mut stats,
                        &mut on_message,
                    )?;
                    if walked == Batch::Done {
                        return Ok(stats);
                    }
                }
                let _ = free_tx.send(batch);
            }
            Err(anyhow!(
                "the netlink reader stopped before the end of {}",
                request.operation
            ))
        })
    }

    /// Tries `requests` in turn until the kernel accepts one, and dumps with it. A
    /// request the kernel refuses before sending any message (an older kernel that does
    /// not know a filter attribute) is followed by the next, less filtered one. Returns
    /// the stats and the index of the request used.
    pub fn dump_first_accepted<F>(
        &mut self,
        requests: &[Request],
        mut on_message: F,
    ) -> Result<(DumpStats, usize)>
    where
        F: FnMut(Message<'_>) -> Result<()>,
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

    /// Dumps the conntrack table with as much of `filter` as the kernel can apply (see
    /// [`crate::filter::dump`]: one dump, or one per family), handing over every entry
    /// message, family by family. The caller still checks each entry against the filter.
    ///
    /// When there are two dumps and two cores, the second runs beside the first on a
    /// socket of its own ([`Conntrack::dump_beside`]): its kernel walk, which costs the
    /// whole table whatever it matches, overlaps the first's listing.
    pub fn dump_entries<F>(&mut self, filter: &Filter, mut on_message: F) -> Result<DumpStats>
    where
        F: FnMut(Message<'_>) -> Result<()>,
    {
        let dumps = crate::filter::dump::entry_dumps(filter);
        if let [first, second] = dumps.as_slice() {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            // Without a second socket the dumps are made one after the other, as on
            // one core.
            if let Some(twin) = (cores > 1).then(|| self.open_twin().ok()).flatten() {
                return self.dump_beside(first, second, twin, on_message);
            }
        }
        let mut total = DumpStats::default();
        for requests in &dumps {
            let (stats, _) = self.dump_first_accepted(requests, &mut on_message)?;
            total.add(&stats);
        }
        Ok(total)
    }

    /// Dumps with `first` on this socket and with `second` on `twin` at the same time,
    /// handing over every message of the first dump, then every message of the second:
    /// the order of one dump after the other. A thread copies the second dump's
    /// messages into at most [`HELD_BATCHES`] batches and then waits (and the kernel
    /// with it) until the first dump ends and the batches are handed over and free again.
    fn dump_beside<F>(
        &mut self,
        first: &[Request],
        second: &[Request],
        mut twin: Conntrack,
        mut on_message: F,
    ) -> Result<DumpStats>
    where
        F: FnMut(Message<'_>) -> Result<()>,
    {
        std::thread::scope(|scope| {
            let (full_tx, full_rx) = mpsc::channel::<HeldMessages>();
            let (free_tx, free_rx) = mpsc::channel::<HeldMessages>();
            for _ in 0..HELD_BATCHES {
                let _ = free_tx.send(HeldMessages::new());
            }
            let behind = scope.spawn(move || -> Result<DumpStats> {
                let stopped = || anyhow!("the dump beside stopped");
                let mut held = free_rx.recv().map_err(|_| stopped())?;
                let (stats, _) = twin.dump_first_accepted(second, |message| {
                    held.push(&message);
                    if held.is_full() {
                        let next = free_rx.recv().map_err(|_| stopped())?;
                        full_tx
                            .send(std::mem::replace(&mut held, next))
                            .map_err(|_| stopped())?;
                    }
                    Ok(())
                })?;
                full_tx.send(held).map_err(|_| stopped())?;
                Ok(stats)
            });
            // Returning early drops both channel ends, which ends the thread beside at
            // its next hand-over, and its dump with it.
            let (mut total, _) = self.dump_first_accepted(first, &mut on_message)?;
            for mut held in full_rx {
                for message in held.iter() {
                    on_message(message)?;
                }
                held.clear();
                let _ = free_tx.send(held);
            }
            let stats = behind
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            total.add(&stats);
            Ok(total)
        })
    }

    /// Sends a request that is not a dump and feeds the message that answers it, if
    /// any, to `on_message`, up to the acknowledgement; the kernel's error (ENOENT for
    /// a get that finds nothing) comes back as a [`KernelError`].
    pub fn request<F>(&mut self, request: &Request, mut on_message: F) -> Result<DumpStats>
    where
        F: FnMut(Message<'_>) -> Result<()>,
    {
        let sequence = self.send(request)?;
        self.receive_reply(sequence, request.operation, &mut on_message)
    }

    /// Like [`Conntrack::dump`], but in the calling thread, handing over each datagram
    /// as the kernel sent it: for capturing fixtures and for measuring the dump alone.
    pub fn dump_datagrams<F>(&mut self, request: &Request, mut on_datagram: F) -> Result<DumpStats>
    where
        F: FnMut(&[u8]) -> Result<()>,
    {
        let sequence = self.send(request)?;
        let mut stats = DumpStats::default();
        loop {
            let received = receive(&self.socket, &mut self.buffer)?;
            stats.bytes += received as u64;
            let datagram = &self.buffer[..received];
            on_datagram(datagram)?;
            let batch = walk_datagram(
                datagram,
                Some(sequence),
                request.operation,
                &mut stats,
                &mut |_| Ok(()),
            )?;
            if batch == Batch::Done {
                return Ok(stats);
            }
        }
    }

    /// Sends `requests`, each with NLM_F_ACK, many to a datagram, and collects every
    /// acknowledgement. `on_error(index, errno)` hears of each request the kernel
    /// refused and decides whether that stops the batch (by returning an error).
    pub fn send_batch<F>(&mut self, requests: &[Request], on_error: F) -> Result<()>
    where
        F: FnMut(usize, i32) -> Result<()>,
    {
        let operation = requests.first().map_or("a batch", |r| r.operation);
        self.send_acked(
            requests.len(),
            operation,
            on_error,
            |index, datagram, sequence| requests[index].append_to(datagram, sequence, NLM_F_ACK),
        )
    }

    /// Sends one `subsystem`/`message_type` request with NLM_F_ACK per item of
    /// `requests`, each a family and its attributes as bytes, many to a datagram, and
    /// collects the acknowledgements as [`Conntrack::send_batch`] does. For requests
    /// built from what the kernel sent (deleting dumped entries), with nothing to encode.
    pub fn send_raw_batch<F>(
        &mut self,
        subsystem: u8,
        message_type: u8,
        operation: &str,
        requests: &[(u8, &[u8])],
        on_error: F,
    ) -> Result<()>
    where
        F: FnMut(usize, i32) -> Result<()>,
    {
        self.send_acked(
            requests.len(),
            operation,
            on_error,
            |index, datagram, sequence| {
                let (family, attributes) = requests[index];
                append_raw(
                    datagram,
                    (subsystem, message_type),
                    sequence,
                    family,
                    attributes,
                );
            },
        )
    }

    /// Like [`Conntrack::send_raw_batch`], for requests answered by a message (gets):
    /// hands `on_reply(index, reply)` each message that answers a request and each
    /// request's acknowledgement or error.
    pub fn send_raw_batch_replies<F>(
        &mut self,
        subsystem: u8,
        message_type: u8,
        operation: &str,
        requests: &[(u8, &[u8])],
        mut on_reply: F,
    ) -> Result<()>
    where
        F: FnMut(usize, message::Reply<'_>) -> Result<()>,
    {
        let mut datagram = Vec::with_capacity(REPLY_BATCH_LEN * 160);
        for base in (0..requests.len()).step_by(REPLY_BATCH_LEN) {
            let chunk = REPLY_BATCH_LEN.min(requests.len() - base);
            datagram.clear();
            let first_sequence = self.sequence.wrapping_add(1);
            for (family, attributes) in &requests[base..base + chunk] {
                self.sequence = self.sequence.wrapping_add(1);
                append_raw(
                    &mut datagram,
                    (subsystem, message_type),
                    self.sequence,
                    *family,
                    attributes,
                );
            }
            self.socket
                .send(&datagram, 0)
                .with_context(|| format!("cannot send {operation} to the kernel"))?;
            let mut answered = Answered::new(first_sequence, chunk);
            while !answered.all() {
                let received = receive(&self.socket, &mut self.buffer)?;
                for reply in message::replies(&self.buffer[..received]) {
                    let (sequence, reply) = reply?;
                    let offset = if matches!(reply, message::Reply::Ack(_)) {
                        answered.acknowledge(sequence)?
                    } else {
                        answered.offset(sequence)?
                    };
                    on_reply(base + offset, reply)?;
                }
            }
        }
        Ok(())
    }

    /// Sends `count` acknowledged requests, [`BATCH_LEN`] to a datagram, each appended by
    /// `append(index, datagram, sequence)`, and collects the acknowledgements of each
    /// datagram before the next; see [`Conntrack::send_batch`] for `on_error`.
    fn send_acked<F, A>(
        &mut self,
        count: usize,
        operation: &str,
        mut on_error: F,
        mut append: A,
    ) -> Result<()>
    where
        F: FnMut(usize, i32) -> Result<()>,
        A: FnMut(usize, &mut Vec<u8>, u32),
    {
        let mut datagram = Vec::with_capacity(BATCH_LEN * 160);
        for base in (0..count).step_by(BATCH_LEN) {
            let chunk = BATCH_LEN.min(count - base);
            datagram.clear();
            let first_sequence = self.sequence.wrapping_add(1);
            for index in base..base + chunk {
                self.sequence = self.sequence.wrapping_add(1);
                append(index, &mut datagram, self.sequence);
            }
            self.socket
                .send(&datagram, 0)
                .with_context(|| format!("cannot send {operation} to the kernel"))?;
            self.collect_acks(first_sequence, chunk, |offset, errno| {
                on_error(base + offset, errno)
            })?;
        }
        Ok(())
    }

    /// Joins the multicast `groups` (NFNLGRP_CONNTRACK_NEW, ...) to receive events.
    pub fn join_groups(&mut self, groups: &[u32]) -> Result<()> {
        for &group in groups {
            self.socket
                .add_membership(group)
                .with_context(|| format!("cannot join netlink multicast group {group}"))?;
        }
        Ok(())
    }

    /// Attaches the event filter `program` (`filter::events::program`): the kernel runs
    /// it on each multicast message before queueing it on this socket.
    fn attach_event_filter(&mut self, program: &[libc::sock_filter]) -> Result<()> {
        attach_program(self.raw_fd(), program)
    }

    /// The socket's file descriptor, for socket options this type has no method for.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        self.socket.as_raw_fd()
    }

    /// Asks the kernel to report a multicast message it could not deliver to this
    /// socket (NETLINK_BROADCAST_ERROR): ctnetlink then keeps each DESTROY event it could
    /// not deliver and sends it again, instead of losing it.
    fn request_reliable_delivery(&self) -> Result<()> {
        let on: libc::c_int = 1;
        // SAFETY: the pointer and length describe `on`, which outlives the call.
        let result = unsafe {
            libc::setsockopt(
                self.raw_fd(),
                SOL_NETLINK,
                NETLINK_BROADCAST_ERROR,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if result != 0 {
            return Err(io::Error::last_os_error())
                .context("cannot ask for reliable event delivery (NETLINK_BROADCAST_ERROR)");
        }
        Ok(())
    }

    /// The socket's receive buffer as the kernel sized it (SO_RCVBUF: twice what was
    /// asked, for its bookkeeping), for messages that name it.
    pub fn socket_buffer(&self) -> Result<usize> {
        let mut size: libc::c_int = 0;
        let mut length = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: the pointers describe `size` and `length`, which outlive the call.
        let result = unsafe {
            libc::getsockopt(
                self.raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&mut size as *mut libc::c_int).cast(),
                &mut length,
            )
        };
        if result != 0 {
            return Err(io::Error::last_os_error())
                .context("cannot read the netlink socket's receive buffer size");
        }
        Ok(usize::try_from(size).unwrap_or(0))
    }

    /// Receives the next datagram of events without waiting, and feeds its messages to
    /// `on_message`. Says when there was nothing to read, and when the kernel dropped
    /// events because the socket's buffer was full (ENOBUFS), which does not end the
    /// stream: the next receive goes on with the events that did fit.
    pub fn try_receive_messages<F>(&mut self, mut on_message: F) -> Result<EventReceive>
    where
        F: FnMut(Message<'_>) -> Result<()>,
    {
        let received = loop {
            match self.socket.recv(
                &mut &mut self.buffer[..],
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
            ) {
                Ok(n) if n > self.buffer.len() => bail!(
                    "an event of {n} bytes did not fit the {}-byte receive buffer",
                    self.buffer.len()
                ),
                Ok(n) => break n,
                Err(err) => match err.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    Some(libc::EAGAIN) => return Ok(EventReceive::Nothing),
                    Some(libc::ENOBUFS) => return Ok(EventReceive::Overrun),
                    _ => return Err(receive_error(err)),
                },
            }
        };
        let stats = walk_events(&self.buffer[..received], &mut on_message)?;
        Ok(EventReceive::Received(stats.messages))
    }

    /// Receives the next datagram of events (after [`Conntrack::join_groups`]) and feeds
    /// its messages to `on_message`.
    pub fn receive_events<F>(&mut self, mut on_message: F) -> Result<DumpStats>
    where
        F: FnMut(Message<'_>) -> Result<()>,
    {
        let received = receive(&self.socket, &mut self.buffer)?;
        walk_events(&self.buffer[..received], &mut on_message)
    }

    /// Stamps `request` with the next sequence number and sends it.
    fn send(&mut self, request: &Request) -> Result<u32> {
        self.sequence = self.sequence.wrapping_add(1);
        self.socket
            .send(&request.to_bytes(self.sequence), 0)
            .with_context(|| format!("cannot send {} to the kernel", request.operation))?;
        Ok(self.sequence)
    }

    /// Receives datagrams until the reply to `sequence` ends.
    fn receive_reply<F>(
        &mut self,
        sequence: u32,
        during: &str,
        on_message: &mut F,
    ) -> Result<DumpStats>
    where
        F: FnMut(Message<'_>) -> Result<()>,
    {
        let mut stats = DumpStats::default();
        loop {
            let received = receive(&self.socket, &mut self.buffer)?;
            stats.bytes += received as u64;
            let batch = walk_datagram(
                &self.buffer[..received],
                Some(sequence),
                during,
                &mut stats,
                on_message,
            )?;
            if batch == Batch::Done {
                return Ok(stats);
            }
        }
    }

    /// Reads the acknowledgements of `count` requests numbered from `first_sequence`.
    fn collect_acks<F>(&mut self, first_sequence: u32, count: usize, mut on_error: F) -> Result<()>
    where
        F: FnMut(usize, i32) -> Result<()>,
    {
        // When this returns Ok, every request of the batch was answered, so one
        // `on_error` never named succeeded.
        let mut answered = Answered::new(first_sequence, count);
        while !answered.all() {
            let received = receive(&self.socket, &mut self.buffer)?;
            for ack in message::acknowledgements(&self.buffer[..received]) {
                let (sequence, errno) = ack?;
                let offset = answered.acknowledge(sequence)?;
                if errno != 0 {
                    on_error(offset, errno)?;
                }
            }
        }
        Ok(())
    }
}

/// The acknowledgements of one datagram of requests (sequence numbers `first` on), each
/// counted once: a repeated one, or one of a sequence not sent, is an error, so that
/// "all answered" means each request was.
struct Answered {
    first: u32,
    count: usize,
    seen: [bool; BATCH_LEN],
    acknowledged: usize,
}

impl Answered {
    fn new(first: u32, count: usize) -> Answered {
        debug_assert!(count <= BATCH_LEN && REPLY_BATCH_LEN <= BATCH_LEN);
        Answered {
            first,
            count: count.min(BATCH_LEN),
            seen: [false; BATCH_LEN],
            acknowledged: 0,
        }
    }

    /// The request `sequence` answers (its offset in the datagram).
    fn offset(&self, sequence: u32) -> Result<usize> {
        let offset = sequence.wrapping_sub(self.first) as usize;
        if offset >= self.count {
            bail!("unexpected netlink answer (sequence {sequence})");
        }
        Ok(offset)
    }

    /// Counts the acknowledgement of `sequence`; its request's offset.
    fn acknowledge(&mut self, sequence: u32) -> Result<usize> {
        let offset = self.offset(sequence)?;
        if std::mem::replace(&mut self.seen[offset], true) {
            bail!("netlink acknowledgement repeated (sequence {sequence})");
        }
        self.acknowledged += 1;
        Ok(offset)
    }

    fn all(&self) -> bool {
        self.acknowledged == self.count
    }
}

/// Appends one request with NLM_F_ACK whose attributes are already bytes.
fn append_raw(
    datagram: &mut Vec<u8>,
    (subsystem, message_type): (u8, u8),
    sequence: u32,
    family: u8,
    attributes: &[u8],
) {
    let kind = (u16::from(subsystem) << 8) | u16::from(message_type);
    let length = NLMSG_HDRLEN + NFGENMSG_LEN + attributes.len();
    datagram.extend_from_slice(&(length as u32).to_ne_bytes());
    datagram.extend_from_slice(&kind.to_ne_bytes());
    datagram.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
    datagram.extend_from_slice(&sequence.to_ne_bytes());
    datagram.extend_from_slice(&0u32.to_ne_bytes());
    datagram.extend_from_slice(&[family, NFNETLINK_V0, 0, 0]);
    datagram.extend_from_slice(attributes);
}

/// Walks a datagram of events (no sequence number to check: the kernel sent them
/// unasked), handing each message to `on_message`.
fn walk_events<F>(datagram: &[u8], on_message: &mut F) -> Result<DumpStats>
where
    F: FnMut(Message<'_>) -> Result<()>,
{
    let mut stats = DumpStats {
        bytes: datagram.len() as u64,
        ..DumpStats::default()
    };
    walk_datagram(datagram, None, "the event stream", &mut stats, on_message)?;
    Ok(stats)
}

/// What [`Conntrack::try_receive_messages`] (or `try_receive_events`) found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventReceive {
    /// A datagram with this many messages, each handed over.
    Received(u64),
    /// Nothing waiting.
    Nothing,
    /// The kernel dropped events: the socket's receive buffer was full (ENOBUFS).
    Overrun,
}

/// Datagrams received back to back into one buffer: what the reader thread of
/// [`Conntrack::dump`] hands over at a time.
struct Datagrams {
    bytes: Vec<u8>,
    /// Where each datagram ends in `bytes`.
    ends: Vec<usize>,
}

impl Datagrams {
    fn new() -> Datagrams {
        Datagrams {
            bytes: vec![0; DUMP_BATCH_LEN],
            ends: Vec::with_capacity(DUMP_BATCH_LEN / RECEIVE_BUFFER_LEN * 8),
        }
    }

    fn used(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Room for one more datagram of the largest size the kernel sends.
    fn has_room(&self) -> bool {
        self.bytes.len() - self.used() >= RECEIVE_BUFFER_LEN
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| &self.bytes[start..end])
    }
}

/// Messages copied out of the receive buffer to be handed over later, each with its
/// envelope (everything a [`Message`] holds but the attributes) and where its attributes
/// end in one shared buffer: a batch is reused, and holding a message allocates nothing.
struct HeldMessages {
    attributes: Vec<u8>,
    heads: Vec<HeldHead>,
}

struct HeldHead {
    subsystem: u8,
    message_type: u8,
    flags: u16,
    portid: u32,
    family: u8,
    res_id: u16,
    /// Where the message's attributes end in [`HeldMessages::attributes`].
    end: usize,
}

impl HeldMessages {
    fn new() -> HeldMessages {
        HeldMessages {
            attributes: Vec::with_capacity(HELD_BATCH_LEN),
            heads: Vec::with_capacity(HELD_BATCH_LEN / 256),
        }
    }

    fn push(&mut self, message: &Message<'_>) {
        self.attributes.extend_from_slice(message.attributes);
        self.heads.push(HeldHead {
            subsystem: message.subsystem,
            message_type: message.message_type,
            flags: message.flags,
            portid: message.portid,
            family: message.family,
            res_id: message.res_id,
            end: self.attributes.len(),
        });
    }

    /// Too full to be sure of holding one more message of the largest size the kernel
    /// sends without growing.
    fn is_full(&self) -> bool {
        self.attributes.len() + RECEIVE_BUFFER_LEN > HELD_BATCH_LEN
    }

    fn clear(&mut self) {
        self.attributes.clear();
        self.heads.clear();
    }

    fn iter(&self) -> impl Iterator<Item = Message<'_>> {
        let starts = std::iter::once(0).chain(self.heads.iter().map(|head| head.end));
        starts.zip(&self.heads).map(|(start, head)| Message {
            subsystem: head.subsystem,
            message_type: head.message_type,
            flags: head.flags,
            portid: head.portid,
            family: head.family,
            res_id: head.res_id,
            attributes: &self.attributes[start..head.end],
        })
    }
}

/// The reader thread of [`Conntrack::dump`]: receives datagrams into free batches and
/// passes each on, up to the one that ends the reply or an error. A batch takes the
/// next datagram without waiting for it whenever the kernel already has it queued.
fn read_datagrams(
    socket: &Socket,
    free: &mpsc::Receiver<Datagrams>,
    full: &mpsc::SyncSender<Result<Datagrams>>,
) {
    while let Ok(mut batch) = free.recv() {
        batch.ends.clear();
        let mut last = false;
        while !last && batch.has_room() {
            let start = batch.used();
            let waiting = !batch.ends.is_empty();
            match receive_with(socket, &mut batch.bytes[start..], waiting) {
                Ok(Some(length)) => {
                    last = message::ends_reply(&batch.bytes[start..start + length]);
                    batch.ends.push(start + length);
                }
                Ok(None) => break,
                Err(err) => {
                    if !batch.ends.is_empty() {
                        let _ = full.send(Ok(batch));
                    }
                    let _ = full.send(Err(err));
                    return;
                }
            }
        }
        if full.send(Ok(batch)).is_err() || last {
            return;
        }
    }
}

/// Receives one datagram from a netlink socket into `buffer`, saying what to do when the
/// socket's receive buffer overran (ENOBUFS).
pub fn receive(socket: &Socket, buffer: &mut [u8]) -> Result<usize> {
    receive_with(socket, buffer, false)?
        .ok_or_else(|| anyhow!("the netlink socket had nothing to read"))
}

/// Like [`receive`]; with `only_waiting`, takes a datagram only if one is already
/// queued, and None when none is.
fn receive_with(socket: &Socket, buffer: &mut [u8], only_waiting: bool) -> Result<Option<usize>> {
    let flags = if only_waiting {
        libc::MSG_TRUNC | libc::MSG_DONTWAIT
    } else {
        libc::MSG_TRUNC
    };
    loop {
        match socket.recv(&mut &mut buffer[..], flags) {
            Ok(0) => bail!("the kernel closed the netlink socket in the middle of a reply"),
            Ok(n) if n > buffer.len() => bail!(
                "a netlink message of {n} bytes did not fit the {}-byte receive buffer",
                buffer.len()
            ),
            Ok(n) => return Ok(Some(n)),
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) if only_waiting && err.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(err) => return Err(receive_error(err)),
        }
    }
}

/// What a failed `recv` means for the user.
fn receive_error(err: io::Error) -> anyhow::Error {
    match err.raw_os_error() {
        Some(libc::ENOBUFS) => anyhow!(
            "the netlink socket's receive buffer overran (ENOBUFS) and entries were lost; \
             retry with a larger buffer, e.g. -b 16777216"
        ),
        Some(libc::EPERM) | Some(libc::EACCES) => anyhow!(
            "permission denied reading the conntrack table; run as root or with CAP_NET_ADMIN"
        ),
        _ => anyhow::Error::new(err).context("cannot read the kernel's answer"),
    }
}

fn is_refused_request(err: &anyhow::Error) -> bool {
    err.downcast_ref::<KernelError>()
        .is_some_and(KernelError::is_refused_request)
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

/// Attaches `program` to the socket `fd` (setsockopt SOL_SOCKET SO_ATTACH_FILTER with a
/// sock_fprog); errors name what failed.
pub fn attach_program(fd: std::os::fd::RawFd, program: &[libc::sock_filter]) -> Result<()> {
    if program.is_empty() || program.len() > MAX_INSTRUCTIONS {
        bail!(
            "cannot attach an event filter of {} instructions to the netlink socket: \
             the kernel takes 1 to {MAX_INSTRUCTIONS}",
            program.len()
        );
    }
    let fprog = libc::sock_fprog {
        len: program.len() as libc::c_ushort,
        // The kernel only reads through this pointer: it copies the instructions.
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` and the instructions it points to outlive the call, and the length
    // passed is that of `fprog`.
    let result = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if result != 0 {
        return Err(io::Error::last_os_error()).with_context(|| {
            format!(
                "cannot attach the event filter (a BPF program of {} instructions) to the \
                 netlink socket (setsockopt SO_ATTACH_FILTER)",
                program.len()
            )
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
