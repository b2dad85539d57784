//! The netlink envelope: walking a datagram's messages and reading the kernel's answers.
//!
//! A netfilter message is a netlink header (type, flags, sequence), the nfgenmsg header
//! (family, version, res_id) and attributes. [`Message`] keeps all of that but the
//! attributes' meaning, which belongs to the decoders; [`walk_datagram`] checks the
//! envelope (sequence numbers, errors, NLMSG_DONE, NLM_F_DUMP_INTR) and hands on every
//! ctnetlink and ctnetlink_exp message while it is still in the receive buffer.

use std::io;

use anyhow::{Result, anyhow, bail};
use netlink_packet_core::NetlinkBuffer;

use crate::kernel::*;

/// One netfilter message of a reply or an event, still in the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// NFNL_SUBSYS_CTNETLINK (entries, statistics) or NFNL_SUBSYS_CTNETLINK_EXP
    /// (expectations and their statistics).
    pub subsystem: u8,
    /// The subsystem's message type: IPCTNL_MSG_CT_NEW, IPCTNL_MSG_EXP_NEW, ...
    pub message_type: u8,
    /// The netlink header's flags (NLM_F_MULTI, NLM_F_CREATE for a new-entry event...).
    pub flags: u16,
    /// The netlink header's port id: in an event, the socket of the process whose
    /// request caused it (0 when the kernel itself did).
    pub portid: u32,
    /// The nfgenmsg family: the entry's layer-3 protocol.
    pub family: u8,
    /// The nfgenmsg res_id, in host order: the CPU number of a per-CPU statistics reply.
    pub res_id: u16,
    /// The attributes after the nfgenmsg header.
    pub attributes: &'a [u8],
}

impl Message<'_> {
    /// True for a message of `subsystem` with type `message_type`.
    pub fn is(&self, subsystem: u8, message_type: u8) -> bool {
        self.subsystem == subsystem && self.message_type == message_type
    }
}

/// What a receive loop saw besides the messages themselves.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DumpStats {
    /// Netfilter messages handed to the caller.
    pub messages: u64,
    /// Bytes received from the kernel, envelopes included.
    pub bytes: u64,
    /// The kernel flagged NLM_F_DUMP_INTR: the table changed while it was being dumped,
    /// so an entry may be missing or shown twice.
    pub interrupted: bool,
}

impl DumpStats {
    /// Counts `other`'s messages and bytes in, and its interruption.
    pub fn add(&mut self, other: &DumpStats) {
        self.messages += other.messages;
        self.bytes += other.bytes;
        self.interrupted |= other.interrupted;
    }
}

/// Whether a datagram ended the reply.
#[derive(Debug, PartialEq, Eq)]
pub enum Batch {
    More,
    Done,
}

/// Walks the netlink messages of one received datagram (or of a captured dump), handing
/// each netfilter message to `on_message`. `sequence`, when given, is the one every
/// message must carry; `during` names the operation in error messages ("the conntrack
/// dump"). NLMSG_DONE, or an NLMSG_ERROR (an acknowledgement when it carries 0), ends
/// the reply.
pub fn walk_datagram<F>(
    mut datagram: &[u8],
    sequence: Option<u32>,
    during: &str,
    stats: &mut DumpStats,
    on_message: &mut F,
) -> Result<Batch>
where
    F: FnMut(Message<'_>) -> Result<()>,
{
    while !datagram.is_empty() {
        let message = NetlinkBuffer::new_checked(datagram)
            .map_err(|err| anyhow!("the kernel sent a malformed netlink message: {err}"))?;
        let length = message.length() as usize;
        if let Some(expected) = sequence.filter(|&s| s != message.sequence_number()) {
            bail!(
                "unexpected netlink reply to {during} (sequence {}, expected {expected})",
                message.sequence_number()
            );
        }
        if message.flags() & NLM_F_DUMP_INTR != 0 {
            stats.interrupted = true;
        }
        let payload = message.payload();
        match message.message_type() {
            NLMSG_DONE => {
                check_errno(payload, during)?;
                return Ok(Batch::Done);
            }
            NLMSG_ERROR => {
                check_errno(payload, during)?;
                return Ok(Batch::Done);
            }
            NLMSG_OVERRUN => bail!("the kernel reported a netlink overrun; retry with a larger -b"),
            kind if is_ctnetlink(kind) => {
                let conntrack = conntrack_message(&message, payload)?;
                stats.messages += 1;
                on_message(conntrack)?;
            }
            // NLMSG_NOOP and other subsystems' messages carry nothing for us.
            _ => {}
        }
        // Messages are padded to 4 bytes; the last one of a datagram may not be.
        let advance = nlmsg_align(length);
        datagram = datagram.get(advance..).unwrap_or_default();
    }
    Ok(Batch::More)
}

/// True when a datagram holds NLMSG_DONE or NLMSG_ERROR (or cannot be walked): nothing
/// follows it. Only the headers are read.
pub fn ends_reply(mut datagram: &[u8]) -> bool {
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

/// The acknowledgements in a datagram answering a batch: (sequence, errno) for every
/// NLMSG_ERROR, errno 0 for success. Other messages are passed over.
pub fn acknowledgements(datagram: &[u8]) -> impl Iterator<Item = Result<(u32, i32)>> + '_ {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let message = match next_message(&mut rest) {
                Ok((message, _)) => message,
                Err(err) => return Some(Err(err)),
            };
            if message.message_type() == NLMSG_ERROR {
                return Some(
                    errno_of(message.payload())
                        .map(|errno| (message.sequence_number(), errno))
                        .ok_or_else(|| {
                            anyhow!("the kernel sent an acknowledgement without an errno")
                        }),
                );
            }
        }
        None
    })
}

/// The next netlink message of `rest`, with the bytes it starts (its length is the
/// header's word, which the caller bounds), and `rest` moved past it. A malformed
/// message is an error and ends the walk: `rest` is emptied.
fn next_message<'a>(rest: &mut &'a [u8]) -> Result<(NetlinkBuffer<&'a [u8]>, &'a [u8])> {
    let whole = *rest;
    let message = NetlinkBuffer::new_checked(whole).map_err(|err| {
        *rest = &[];
        anyhow!("the kernel sent a malformed netlink message: {err}")
    })?;
    *rest = whole
        .get(nlmsg_align(message.length() as usize)..)
        .unwrap_or_default();
    Ok((message, whole))
}

/// What answers one request of a batch whose requests are answered by a message (a
/// get): the message, then the acknowledgement; or the error alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    Message(Message<'a>),
    /// The acknowledgement (0) or the error that ends the request's reply.
    Ack(i32),
}

/// The conntrack messages and acknowledgements of a datagram, each with its sequence
/// number; other messages are passed over.
pub fn replies(datagram: &[u8]) -> impl Iterator<Item = Result<(u32, Reply<'_>)>> + '_ {
    let mut rest = datagram;
    std::iter::from_fn(move || {
        while !rest.is_empty() {
            let (message, whole) = match next_message(&mut rest) {
                Ok(next) => next,
                Err(err) => return Some(Err(err)),
            };
            let sequence = message.sequence_number();
            let kind = message.message_type();
            let length = (message.length() as usize).min(whole.len());
            let payload = whole.get(NLMSG_HDRLEN..length).unwrap_or_default();
            if kind == NLMSG_ERROR {
                return Some(
                    errno_of(payload)
                        .map(|errno| (sequence, Reply::Ack(errno)))
                        .ok_or_else(|| {
                            anyhow!("the kernel sent an acknowledgement without an errno")
                        }),
                );
            }
            if is_ctnetlink(kind) {
                return Some(
                    conntrack_message(&message, payload)
                        .map(|conntrack| (sequence, Reply::Message(conntrack))),
                );
            }
        }
        None
    })
}

/// A ctnetlink message of `message`, whose payload is `payload`: its nfgenmsg header
/// read, its attributes after it.
fn conntrack_message<'p>(message: &NetlinkBuffer<&[u8]>, payload: &'p [u8]) -> Result<Message<'p>> {
    let kind = message.message_type();
    let Some((header, attributes)) = payload.split_at_checked(NFGENMSG_LEN) else {
        bail!("the kernel sent a conntrack message too short for its nfgenmsg header");
    };
    Ok(Message {
        subsystem: nfnl_subsys_id(kind),
        message_type: nfnl_msg_type(kind),
        flags: message.flags(),
        portid: message.port_number(),
        family: header[0],
        res_id: u16::from_be_bytes([header[2], header[3]]),
        attributes,
    })
}

fn is_ctnetlink(kind: u16) -> bool {
    matches!(
        nfnl_subsys_id(kind),
        NFNL_SUBSYS_CTNETLINK | NFNL_SUBSYS_CTNETLINK_EXP
    )
}

/// The errno at the start of an NLMSG_ERROR payload: 0 for an acknowledgement, else the
/// (positive) error number. `None` when the payload is too short to hold one.
pub fn errno_of(payload: &[u8]) -> Option<i32> {
    let raw = payload.get(..4)?;
    let code = i32::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
    // Saturating: -i32::MIN does not fit; no kernel sends it, a corrupted message might
    // (found by the fuzzer, issue 5).
    Some(code.min(0).saturating_neg())
}

/// Turns the errno of an NLMSG_ERROR or NLMSG_DONE payload into an error that says
/// what to do. NLMSG_DONE of old kernels may carry no errno at all.
fn check_errno(payload: &[u8], during: &str) -> Result<()> {
    match errno_of(payload) {
        None | Some(0) => Ok(()),
        Some(errno) => Err(kernel_error(errno, during)),
    }
}

/// An error the kernel answered a request with, kept typed so callers can tell a
/// refused filter (EINVAL, EOPNOTSUPP) or a missing entry (ENOENT) from other failures.
#[derive(Debug)]
pub struct KernelError {
    pub errno: i32,
    pub(crate) message: String,
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

/// The errno of the kernel's answer in `err`, if `err` is one.
pub fn kernel_errno(err: &anyhow::Error) -> Option<i32> {
    err.downcast_ref::<KernelError>().map(|e| e.errno)
}

pub(crate) fn kernel_error(errno: i32, during: &str) -> anyhow::Error {
    anyhow::Error::new(KernelError {
        errno,
        message: kernel_error_message(errno, during),
    })
}

fn kernel_error_message(errno: i32, during: &str) -> String {
    let os = io::Error::from_raw_os_error(errno);
    match errno {
        libc::EPERM | libc::EACCES => {
            // A delete or flush names itself so ("the flush", "the deletion of ...").
            let changes = during.contains("flush") || during.starts_with("the deletion");
            let doing = if changes { "changing" } else { "reading" };
            format!(
                "permission denied {doing} the conntrack table; run as root or with CAP_NET_ADMIN"
            )
        }
        libc::EOPNOTSUPP | libc::EPROTONOSUPPORT => format!(
            "the kernel has no ctnetlink ({os}); load it with `modprobe nf_conntrack_netlink`"
        ),
        libc::ENOBUFS => format!(
            "the kernel ran out of buffer space during {during} (ENOBUFS); \
             retry with a larger -b/--buffer-size"
        ),
        _ => format!("the kernel refused {during}: {os}"),
    }
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

    const CT_NEW: u16 = nfnl_type(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW);

    /// (subsystem, type, family, res_id, attribute bytes) of each message handed over.
    type Seen = Vec<(u8, u8, u8, u16, Vec<u8>)>;

    fn walk(batch: &[u8]) -> (Result<Batch>, DumpStats, Seen) {
        let mut stats = DumpStats::default();
        let mut seen = Vec::new();
        let result = walk_datagram(
            batch,
            Some(9),
            "the conntrack dump",
            &mut stats,
            &mut |m: Message<'_>| {
                seen.push((
                    m.subsystem,
                    m.message_type,
                    m.family,
                    m.res_id,
                    m.attributes.to_vec(),
                ));
                Ok(())
            },
        );
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
        assert_eq!(
            seen,
            vec![(
                NFNL_SUBSYS_CTNETLINK,
                IPCTNL_MSG_CT_NEW,
                AF_INET,
                0,
                vec![8, 0, 7, 0, 0, 0, 0, 30]
            )]
        );
        assert_eq!(stats.messages, 1);
        assert!(!stats.interrupted);
    }

    #[test]
    fn subsystem_type_and_cpu_are_kept() {
        let stats_cpu = nfnl_type(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_GET_STATS_CPU);
        let batch = message(stats_cpu, NLM_F_MULTI, 9, &[AF_UNSPEC, 0, 0, 3]);
        let (_, _, seen) = walk(&batch);
        assert_eq!(
            seen,
            vec![(
                NFNL_SUBSYS_CTNETLINK_EXP,
                IPCTNL_MSG_EXP_GET_STATS_CPU,
                AF_UNSPEC,
                3,
                vec![]
            )]
        );
    }

    #[test]
    fn other_subsystems_are_passed_over() {
        let nftables = 10u16 << 8;
        let (result, stats, seen) = walk(&message(nftables, 0, 9, &[AF_INET, 0, 0, 0]));
        assert_eq!(result.unwrap(), Batch::More);
        assert!(seen.is_empty());
        assert_eq!(stats.messages, 0);
    }

    #[test]
    fn an_ack_ends_the_reply() {
        let mut ack = 0i32.to_ne_bytes().to_vec();
        ack.extend_from_slice(&[0; 16]);
        let (result, _, _) = walk(&message(NLMSG_ERROR, 0, 9, &ack));
        assert_eq!(result.unwrap(), Batch::Done);
    }

    #[test]
    fn acknowledgements_carry_sequence_and_errno() {
        let mut datagram = message(NLMSG_ERROR, 0, 4, &0i32.to_ne_bytes());
        datagram.extend(message(NLMSG_ERROR, 0, 5, &(-libc::ENOENT).to_ne_bytes()));
        datagram.extend(message(CT_NEW, 0, 6, &[AF_INET, 0, 0, 0]));
        let acks: Vec<_> = acknowledgements(&datagram).map(Result::unwrap).collect();
        assert_eq!(acks, [(4, 0), (5, libc::ENOENT)]);
        let cut = &datagram[..datagram.len() - 2];
        assert!(acknowledgements(cut).any(|ack| ack.is_err()));
    }

    #[test]
    fn replies_pair_messages_and_acknowledgements_with_their_sequence() {
        let mut datagram = message(CT_NEW, 0, 4, &[AF_INET6, 0, 0, 0, 8, 0, 8, 0, 1, 2, 3, 4]);
        datagram.extend(message(NLMSG_ERROR, 0, 4, &0i32.to_ne_bytes()));
        datagram.extend(message(NLMSG_ERROR, 0, 5, &(-libc::ENOENT).to_ne_bytes()));
        let answered: Vec<_> = replies(&datagram).map(Result::unwrap).collect();
        let [
            (4, Reply::Message(entry)),
            (4, Reply::Ack(0)),
            (5, Reply::Ack(libc::ENOENT)),
        ] = answered.as_slice()
        else {
            panic!("{answered:?}");
        };
        assert_eq!(entry.family, AF_INET6);
        assert_eq!(entry.attributes, [8, 0, 8, 0, 1, 2, 3, 4]);
        assert!(entry.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW));
        let short = message(CT_NEW, 0, 6, &[AF_INET, 0]);
        assert!(replies(&short).next().unwrap().is_err());
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
    fn other_errors_name_the_operation() {
        let batch = message(NLMSG_ERROR, 0, 9, &(-libc::ENOENT).to_ne_bytes());
        let err = walk(&batch).0.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the kernel refused the conntrack dump: No such file or directory (os error 2)"
        );
        assert_eq!(kernel_errno(&err), Some(libc::ENOENT));
    }

    /// Issue 5's fuzzer: an errno of i32::MIN overflowed its negation.
    #[test]
    fn an_absurd_errno_is_an_error_not_a_panic() {
        let batch = message(NLMSG_ERROR, 0, 9, &i32::MIN.to_ne_bytes());
        let err = walk(&batch).0.unwrap_err().to_string();
        assert!(
            err.starts_with("the kernel refused the conntrack dump: "),
            "{err}"
        );
    }

    #[test]
    fn wrong_sequence_is_an_error() {
        let batch = message(CT_NEW, NLM_F_MULTI, 8, &[AF_INET, 0, 0, 0]);
        let err = walk(&batch).0.unwrap_err().to_string();
        assert_eq!(
            err,
            "unexpected netlink reply to the conntrack dump (sequence 8, expected 9)"
        );
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
