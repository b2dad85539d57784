//! The kernel operations, one typed method each on [`Conntrack`]: what the commands ask
//! of the kernel, in model types. Requests, subsystems and message types stay in here.
//!
//! Entries and expectations are streamed to a callback as they are decoded, borrowed
//! from the receive buffer (nothing is allocated per entry); the statistics fall back to
//! /proc where the kernel refuses ctnetlink, read in the namespace of the socket.

use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow, bail};

use super::attributes::{be16, be32, expect_tuple, new_entry, tuple};
use super::message::Reply;
use super::{Conntrack, DumpStats, KernelError, Message, Request, kernel_errno};
use crate::decode::DecodeError;
use crate::decode::entry::decode_entry;
use crate::decode::expect::decode_expectation;
use crate::decode::stats::{decode_cpu_stats, decode_global_stats, decode_proc_stats};
use crate::filter::Filter;
use crate::kernel::*;
use crate::model::create::{Creation, Existing, NewEntry};
use crate::model::entry::{Entry, Family, Tuple};
use crate::model::event::{EventKind, EventSet};
use crate::model::expect::{Expectation, NewExpectation};
use crate::model::stats::{CpuStats, GlobalStats};
use crate::model::table::Table;
use crate::model::update::Changes;

/// Where the kernel keeps the counters for readers without ctnetlink.
const PROC_STATS: &str = "/proc/net/stat/nf_conntrack";

/// The expectations, one a line, for root even without CAP_NET_ADMIN.
const PROC_EXPECTATIONS: &str = "/proc/net/nf_conntrack_expect";

/// The sysctls beside the netlink counters, per network namespace.
const CONNTRACK_COUNT_SYSCTL: &str = "/proc/sys/net/netfilter/nf_conntrack_count";
const CONNTRACK_MAX_SYSCTL: &str = "/proc/sys/net/netfilter/nf_conntrack_max";
const EXPECT_MAX_SYSCTL: &str = "/proc/sys/net/netfilter/nf_conntrack_expect_max";

/// Why numbers came from /proc, once one did: the kernel refused ctnetlink.
static PROC_FALLBACK: OnceLock<String> = OnceLock::new();

/// Why a number came from /proc instead of ctnetlink, if one did: for the one note a
/// command prints once its output is out.
pub fn proc_fallback() -> Option<&'static str> {
    PROC_FALLBACK.get().map(String::as_str)
}

/// Remembers that the kernel refused ctnetlink and a number came from /proc instead.
fn note_proc_fallback(refused: &anyhow::Error) {
    PROC_FALLBACK.get_or_init(|| match kernel_errno(refused) {
        Some(libc::EPERM | libc::EACCES) => {
            "without CAP_NET_ADMIN the kernel refuses ctnetlink".to_string()
        }
        _ => format!("{refused:#}"),
    });
}

/// An entry as the kernel sent it: its family and attributes, for an operation that
/// sends them back (deleting exactly this entry).
#[derive(Debug, Clone, Copy)]
pub struct Dumped<'m> {
    pub family: u8,
    pub attributes: &'m [u8],
}

/// The tuple `get` looks an entry up by.
#[derive(Debug, Clone, Copy)]
pub struct TupleLookup<'t> {
    /// AF_INET or AF_INET6.
    pub family: u8,
    /// CTA_TUPLE_ORIG or CTA_TUPLE_REPLY.
    pub direction: u16,
    pub tuple: &'t Tuple,
    /// The entry's zone (CTA_ZONE).
    pub zone: Option<u16>,
    /// The zone of the tuple's direction (CTA_TUPLE_ZONE).
    pub tuple_zone: Option<u16>,
}

/// An expectation as dumped, still in the receive buffer: handed by
/// [`Conntrack::expectations`] beside the decoded expectation, for a caller that must
/// keep it past the dump ([`DumpedExpectation::hold`]).
#[derive(Debug, Clone, Copy)]
pub struct DumpedExpectation<'m> {
    family: u8,
    attributes: &'m [u8],
}

impl DumpedExpectation<'_> {
    /// A copy that outlives the receive buffer.
    pub fn hold(&self) -> HeldExpectation {
        HeldExpectation {
            family: self.family,
            attributes: self.attributes.to_vec(),
        }
    }
}

/// An expectation kept after its dump, to be shown or deleted once the dump is over
/// (deleting while dumping would change what the dump walks).
#[derive(Debug, Clone)]
pub struct HeldExpectation {
    family: u8,
    attributes: Vec<u8>,
}

impl HeldExpectation {
    /// The expectation, borrowed from what is held.
    pub fn expectation(&self) -> Result<Expectation<'_>, DecodeError> {
        decode_expectation(self.family, &self.attributes)
    }
}

/// What an event socket hears: the events of one table, how reliably, and which of
/// them the kernel drops before queueing them.
#[derive(Debug, Clone, Copy)]
pub struct Subscription<'f> {
    /// The table whose events are wanted: entries (conntrack) or expectations.
    pub table: Table,
    /// Which events (`-e`): the multicast groups joined.
    pub events: EventSet,
    /// NETLINK_BROADCAST_ERROR (`--reliable`): the kernel keeps a DESTROY event it could
    /// not deliver and sends it again.
    pub reliable: bool,
    /// The filter whose BPF program (`filter::events`) drops in the kernel the events it
    /// rules out; None to attach none (`--no-kernel-filter`). The program reads entry
    /// attributes, so expectation events are filtered in ct alone.
    pub filter: Option<&'f Filter>,
}

/// One event, still in the receive buffer: decoded only when asked, so that events
/// not wanted cost nothing.
#[derive(Debug, Clone, Copy)]
pub struct Event<'m> {
    pub kind: EventKind,
    /// The socket of the process whose request caused it (0 when the kernel did).
    pub portid: u32,
    expectation: bool,
    family: u8,
    attributes: &'m [u8],
}

impl<'m> Event<'m> {
    /// The entry of a connection event; None for an expectation's.
    pub fn entry(&self) -> Option<Result<Entry<'m>, DecodeError>> {
        (!self.expectation).then(|| decode_entry(self.family, self.attributes))
    }

    /// The expectation of an expectation event; None for a connection's.
    pub fn expectation(&self) -> Option<Result<Expectation<'m>, DecodeError>> {
        self.expectation
            .then(|| decode_expectation(self.family, self.attributes))
    }

    /// The event a message carries, if it carries one.
    fn of(message: &Message<'m>) -> Option<Event<'m>> {
        let kind = EventKind::of_message(message.message_type, message.flags)?;
        let expectation = match message.subsystem {
            NFNL_SUBSYS_CTNETLINK => false,
            NFNL_SUBSYS_CTNETLINK_EXP => true,
            _ => return None,
        };
        Some(Event {
            kind,
            portid: message.portid,
            expectation,
            family: message.family,
            attributes: message.attributes,
        })
    }
}

/// What the kernel answered one deletion of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    Deleted,
    /// ENOENT: the entry had gone already (timed out, or deleted by someone else).
    AlreadyGone,
    /// Any other errno: the kernel refused.
    Refused(i32),
}

impl Deletion {
    fn of_errno(errno: i32) -> Deletion {
        match errno {
            0 => Deletion::Deleted,
            libc::ENOENT => Deletion::AlreadyGone,
            errno => Deletion::Refused(errno),
        }
    }

    /// The error a refusal is, for the user.
    pub fn refusal(errno: i32) -> anyhow::Error {
        super::message::kernel_error(errno, DELETE_ENTRY)
    }
}

const DELETE_ENTRY: &str = "the deletion of an entry";

/// The request that creates `entry`, failing on an existing one: what
/// [`Conntrack::create_entries`] sends, for the tests and the benchmark's table filling,
/// which send many through [`Conntrack::send_batch`].
pub fn create_request(entry: &NewEntry) -> Request {
    Request {
        subsystem: NFNL_SUBSYS_CTNETLINK,
        message_type: IPCTNL_MSG_CT_NEW,
        flags: NLM_F_CREATE | NLM_F_EXCL,
        family: entry.family.raw(),
        version: NFNETLINK_V0,
        attributes: new_entry(entry),
        operation: "the creation of an entry",
    }
}

/// Entries to delete: the attributes of their delete requests, copied from the dump
/// (the original tuple, the zone and the id, so that only this very entry goes), and,
/// for those to be printed once deleted, their attributes as dumped.
#[derive(Default)]
pub struct DeleteBatch {
    /// Each request's family and span in `requests`.
    request_spans: Vec<(u8, std::ops::Range<usize>)>,
    requests: Vec<u8>,
    /// Each entry's family and span in `dumped`.
    entry_spans: Vec<(u8, std::ops::Range<usize>)>,
    dumped: Vec<u8>,
}

impl DeleteBatch {
    pub fn len(&self) -> usize {
        self.request_spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.request_spans.is_empty()
    }

    /// Queues the deletion of `entry`; `keep` keeps its attributes to decode it again
    /// once deleted ([`DeleteBatch::entry`]).
    pub fn add(&mut self, entry: Dumped<'_>, keep: bool) {
        let start = self.requests.len();
        super::attributes::copy_raw(
            entry.attributes,
            &[CTA_TUPLE_ORIG, CTA_ZONE, CTA_ID],
            &mut self.requests,
        );
        self.request_spans
            .push((entry.family, start..self.requests.len()));
        let start = self.dumped.len();
        if keep {
            self.dumped.extend_from_slice(entry.attributes);
        }
        self.entry_spans
            .push((entry.family, start..self.dumped.len()));
    }

    /// Queues the deletion of the entry `tuple` (its original tuple) names in `zone`, for
    /// an entry known by its tuple alone (a saved `-D` line); the entry is not kept.
    pub fn add_tuple(&mut self, family: u8, tuple: &Tuple, zone: Option<u16>) {
        use netlink_packet_core::Emitable;
        let start = self.requests.len();
        let mut attributes = vec![super::attributes::tuple(CTA_TUPLE_ORIG, tuple, tuple.zone)];
        attributes.extend(zone.map(|zone| be16(CTA_ZONE, zone)));
        for attribute in attributes {
            let at = self.requests.len();
            self.requests.resize(at + attribute.buffer_len(), 0);
            attribute.emit(&mut self.requests[at..]);
        }
        self.request_spans
            .push((family, start..self.requests.len()));
        let kept = self.dumped.len();
        self.entry_spans.push((family, kept..kept));
    }

    /// The `index`th entry as it was dumped, if it was kept.
    pub fn entry(&self, index: usize) -> Option<Result<Entry<'_>, DecodeError>> {
        let (family, span) = self.entry_spans.get(index)?;
        (!span.is_empty()).then(|| decode_entry(*family, &self.dumped[span.clone()]))
    }
}

/// What the kernel did with one update of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// Updated; the entry as the kernel has it now ([`UpdatedEntry::entry`]).
    Updated(UpdatedEntry),
    /// ENOENT: the entry had gone already (timed out, or deleted meanwhile).
    AlreadyGone,
    /// The kernel took the update, but the entry that was read is no longer there under
    /// its id: it went, and the update may have changed an entry made since with the
    /// same tuple (the kernel does not check CTA_ID on an update).
    Replaced,
    /// Any other errno: the kernel refused the update of this entry.
    Refused(i32),
}

/// An updated entry as the kernel sent it back, kept until it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdatedEntry {
    family: u8,
    attributes: Vec<u8>,
}

impl UpdatedEntry {
    /// The entry, decoded from what the kernel sent.
    pub fn entry(&self) -> Result<Entry<'_>, DecodeError> {
        decode_entry(self.family, &self.attributes)
    }
}

impl Update {
    /// The error a refusal is, in words that say why the kernel refuses and what to do.
    pub fn refusal(errno: i32) -> anyhow::Error {
        let reason = match errno {
            libc::EBUSY => {
                "the kernel does not change those status bits (EBUSY): it sets EXPECTED and \
                 CONFIRMED itself, and never clears SEEN_REPLY or ASSURED; the entry's status \
                 may have changed since it was read"
            }
            libc::EPERM => {
                "the entry has FIXED_TIMEOUT and the kernel refuses it a new timeout (EPERM); \
                 nothing of it was changed"
            }
            libc::ENOSPC => {
                "the entry has no room for labels (ENOSPC): the kernel gives an entry a label \
                 area only when it is made while something in its namespace uses labels (an \
                 nft rule with `ct label set`, or iptables' connlabel); add such a rule, and \
                 entries made after it can be labelled"
            }
            libc::EOPNOTSUPP => "the kernel does not change this on an existing entry (EOPNOTSUPP)",
            _ => return super::message::kernel_error(errno, UPDATE_ENTRY),
        };
        anyhow::Error::new(KernelError {
            errno,
            message: format!("the kernel refused to update an entry: {reason}"),
        })
    }
}

const UPDATE_ENTRY: &str = "the update of an entry";
const GET_UPDATED: &str = "the get of an updated entry";

/// Entries to update: for each, its update request (the original tuple and the zone,
/// copied from the dump, with the changes) and the get that reads it back by tuple,
/// zone and id.
#[derive(Default)]
pub struct UpdateBatch {
    /// Each entry's family, and the spans of its update and its get in `requests`.
    spans: Vec<(u8, std::ops::Range<usize>, std::ops::Range<usize>)>,
    requests: Vec<u8>,
}

impl UpdateBatch {
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Queues the update of `dumped` (decoded as `entry`) by `changes`. The new status
    /// is the entry's as dumped with the bits to set: the kernel takes CTA_STATUS whole.
    pub fn add(&mut self, entry: &Entry<'_>, dumped: Dumped<'_>, changes: &Changes) {
        use super::attributes::raw::attr;
        let start = self.requests.len();
        super::attributes::copy_raw(
            dumped.attributes,
            &[CTA_TUPLE_ORIG, CTA_ZONE],
            &mut self.requests,
        );
        // The kernel's order of changes (ctnetlink_change_conntrack): timeout, status,
        // mark, labels; the first it refuses stops the rest.
        if let Some(timeout) = changes.timeout {
            self.requests
                .extend(attr(CTA_TIMEOUT, &timeout.to_be_bytes()));
        }
        if changes.status != 0 {
            let old = entry.status.map_or(0, |status| status.0);
            self.requests
                .extend(attr(CTA_STATUS, &(old | changes.status).to_be_bytes()));
        }
        if let Some(mark) = changes.mark {
            self.requests
                .extend(attr(CTA_MARK, &mark.value.to_be_bytes()));
            self.requests
                .extend(attr(CTA_MARK_MASK, &mark.mask.to_be_bytes()));
        }
        if let Some(labels) = changes.labels {
            self.requests
                .extend(attr(CTA_LABELS, labels.values().labels().0));
            self.requests
                .extend(attr(CTA_LABELS_MASK, labels.mask().labels().0));
        }
        let update = start..self.requests.len();
        super::attributes::copy_raw(
            dumped.attributes,
            &[CTA_TUPLE_ORIG, CTA_ZONE, CTA_ID],
            &mut self.requests,
        );
        self.spans.push((
            dumped.family,
            update.clone(),
            update.end..self.requests.len(),
        ));
    }
}

impl Conntrack {
    /// Dumps `table` (the conntrack table, or the dying or unconfirmed list) and hands
    /// every entry that passes `filter` to `on_entry`, borrowed from the receive buffer
    /// with its attributes as dumped; an entry that cannot be decoded goes to
    /// `on_undecodable` and the dump goes on. The conntrack table is dumped with as much
    /// of the filter as the kernel applies; the filter is checked here for every entry
    /// whatever the kernel did. The expectation table holds no entries: it is read by
    /// [`Conntrack::expectations`].
    pub fn entries<F, U>(
        &mut self,
        table: Table,
        filter: &Filter,
        mut on_entry: F,
        mut on_undecodable: U,
    ) -> Result<DumpStats>
    where
        F: FnMut(&Entry<'_>, Dumped<'_>) -> Result<()>,
        U: FnMut(DecodeError) -> Result<()>,
    {
        let mut on_message =
            |message: Message<'_>| hand_entry(&message, filter, &mut on_entry, &mut on_undecodable);
        let (message_type, operation) = match table {
            Table::Conntrack => return self.dump_entries(filter, on_message),
            Table::Expect => bail!(
                "ct asked for the entries of the expectation table, which holds \
                 expectations (a bug in ct; please report it)"
            ),
            Table::Dying => (IPCTNL_MSG_CT_GET_DYING, "the dump of the dying list"),
            Table::Unconfirmed => (
                IPCTNL_MSG_CT_GET_UNCONFIRMED,
                "the dump of the unconfirmed list",
            ),
        };
        let request = Request::dump(NFNL_SUBSYS_CTNETLINK, message_type, AF_UNSPEC, operation);
        self.dump(&request, &mut on_message)
    }

    /// The one entry `lookup` names, handed to `on_entry` (or to `on_undecodable`); the
    /// kernel's ENOENT when there is none comes back as a [`KernelError`].
    pub fn get<F, U>(
        &mut self,
        lookup: TupleLookup<'_>,
        mut on_entry: F,
        mut on_undecodable: U,
    ) -> Result<DumpStats>
    where
        F: FnMut(&Entry<'_>) -> Result<()>,
        U: FnMut(DecodeError) -> Result<()>,
    {
        let mut attributes = vec![tuple(lookup.direction, lookup.tuple, lookup.tuple_zone)];
        attributes.extend(lookup.zone.map(|zone| be16(CTA_ZONE, zone)));
        let request = Request::single(
            NFNL_SUBSYS_CTNETLINK,
            IPCTNL_MSG_CT_GET,
            lookup.family,
            attributes,
            "the get request",
        );
        self.request(&request, |message| {
            if !message.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW) {
                return Ok(());
            }
            match decode_entry(message.family, message.attributes) {
                Ok(entry) => on_entry(&entry),
                Err(err) => on_undecodable(err),
            }
        })
    }

    /// Sends the deletions of `batch`, many to a datagram, each acknowledged, and says
    /// what the kernel answered each, refusals included: what it did delete is known
    /// even when it refused some.
    pub fn delete_entries(&mut self, batch: &DeleteBatch) -> Result<Vec<Deletion>> {
        let requests: Vec<(u8, &[u8])> = batch
            .request_spans
            .iter()
            .map(|(family, span)| (*family, &batch.requests[span.clone()]))
            .collect();
        let mut answers = vec![Deletion::Deleted; requests.len()];
        self.send_raw_batch(
            NFNL_SUBSYS_CTNETLINK,
            IPCTNL_MSG_CT_DELETE,
            DELETE_ENTRY,
            &requests,
            |index, errno| {
                answers[index] = Deletion::of_errno(errno);
                Ok(())
            },
        )?;
        Ok(answers)
    }

    /// Creates each of `entries` (IPCTNL_MSG_CT_NEW with NLM_F_CREATE and NLM_F_EXCL,
    /// as conntrack -I and -A send it: an existing entry is never changed), many to a
    /// datagram, each acknowledged, and says what the kernel answered each.
    pub fn create_entries(&mut self, entries: &[NewEntry]) -> Result<Vec<Creation>> {
        // The requests are built a chunk at a time: a restore of a million lines never
        // holds a million requests.
        const CHUNK: usize = 4096;
        // `send_batch` returns Ok only once the kernel has acknowledged every request,
        // each once: an entry it named no error for was created.
        let mut answers = vec![Creation::Created; entries.len()];
        for (chunk, slice) in entries.chunks(CHUNK).enumerate() {
            let requests: Vec<Request> = slice.iter().map(create_request).collect();
            self.send_batch(&requests, |index, errno| {
                answers[chunk * CHUNK + index] = Creation::of_errno(errno);
                Ok(())
            })?;
        }
        Ok(answers)
    }

    /// Creates one entry; an existing one is an error or kept as it is, as `existing`
    /// says. The kernel's refusal comes back as an error in words for people.
    pub fn create(&mut self, entry: &NewEntry, existing: Existing) -> Result<Creation> {
        let answer = self
            .create_entries(std::slice::from_ref(entry))?
            .pop()
            .unwrap_or(Creation::Created);
        match answer.reason(existing) {
            Some(reason) => Err(anyhow!("cannot create the entry: {reason}")),
            None => Ok(answer),
        }
    }

    /// Sends the updates of `batch` (IPCTNL_MSG_CT_NEW without NLM_F_CREATE: an existing
    /// entry only), many to a datagram, each acknowledged, then reads each updated entry
    /// back by its tuple, zone and id (the get honours CTA_ID, the update does not), and
    /// says what became of each.
    pub fn update_entries(&mut self, batch: &UpdateBatch) -> Result<Vec<Update>> {
        let requests: Vec<(u8, &[u8])> = batch
            .spans
            .iter()
            .map(|(family, update, _)| (*family, &batch.requests[update.clone()]))
            .collect();
        let mut errnos = vec![0; requests.len()];
        self.send_raw_batch(
            NFNL_SUBSYS_CTNETLINK,
            IPCTNL_MSG_CT_NEW,
            UPDATE_ENTRY,
            &requests,
            |index, errno| {
                errnos[index] = errno;
                Ok(())
            },
        )?;
        // Each entry updated is read back, many gets to a datagram.
        let updated: Vec<usize> = (0..errnos.len()).filter(|&i| errnos[i] == 0).collect();
        let gets: Vec<(u8, &[u8])> = updated
            .iter()
            .map(|&i| {
                let (family, _, get) = &batch.spans[i];
                (*family, &batch.requests[get.clone()])
            })
            .collect();
        let mut answers: Vec<Update> = errnos
            .iter()
            .map(|&errno| match errno {
                0 => Update::Replaced,
                libc::ENOENT => Update::AlreadyGone,
                errno => Update::Refused(errno),
            })
            .collect();
        self.send_raw_batch_replies(
            NFNL_SUBSYS_CTNETLINK,
            IPCTNL_MSG_CT_GET,
            GET_UPDATED,
            &gets,
            |index, reply| {
                let entry = updated[index];
                match reply {
                    Reply::Message(message)
                        if message.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW) =>
                    {
                        answers[entry] = Update::Updated(UpdatedEntry {
                            family: message.family,
                            attributes: message.attributes.to_vec(),
                        });
                        Ok(())
                    }
                    Reply::Message(_) | Reply::Ack(0) => Ok(()),
                    // Not there under its id: it went, or was replaced, meanwhile.
                    Reply::Ack(libc::ENOENT) => Ok(()),
                    Reply::Ack(errno) => Err(super::message::kernel_error(errno, GET_UPDATED)),
                }
            },
        )?;
        Ok(answers)
    }

    /// Dumps with IPCTNL_MSG_CT_GET_CTRZERO, which zeroes the counters of every entry
    /// it sends (in the same step: nothing counted between is lost), with the requests
    /// of `zeroing`, whose filter the kernel applies exactly, and hands each entry that
    /// passes `filter` (every one the kernel sent) to `on_entry` with the counters as
    /// they were. No request is retried with less: that would zero more.
    pub fn entries_zeroing<F, U>(
        &mut self,
        zeroing: &crate::filter::flush::Zeroing,
        filter: &Filter,
        mut on_entry: F,
        mut on_undecodable: U,
    ) -> Result<DumpStats>
    where
        F: FnMut(&Entry<'_>, Dumped<'_>) -> Result<()>,
        U: FnMut(DecodeError) -> Result<()>,
    {
        let mut total = DumpStats::default();
        for request in zeroing.requests() {
            let stats = self.dump(request, |message| {
                hand_entry(&message, filter, &mut on_entry, &mut on_undecodable)
            })?;
            total.add(&stats);
        }
        Ok(total)
    }

    /// Deletes what `flush` was made for (see [`crate::filter::flush::Flush`]).
    pub fn flush(&mut self, flush: &crate::filter::flush::Flush) -> Result<()> {
        for request in flush.requests() {
            self.request(request, |_| Ok(()))?;
        }
        Ok(())
    }

    /// Dumps the expectations of the filter's family, or of both, and hands each one
    /// that passes `filter` to `on_expectation`, with what keeps it past the dump; one
    /// that cannot be decoded goes to `on_undecodable`.
    pub fn expectations<F, U>(
        &mut self,
        filter: &Filter,
        mut on_expectation: F,
        mut on_undecodable: U,
    ) -> Result<DumpStats>
    where
        F: FnMut(&Expectation<'_>, DumpedExpectation<'_>) -> Result<()>,
        U: FnMut(DecodeError) -> Result<()>,
    {
        let request = crate::filter::dump::expectation_dump(filter);
        self.dump(&request, |message| {
            // A dump answers with IPCTNL_MSG_EXP_NEW messages.
            if !message.is(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_NEW) {
                return Ok(());
            }
            match decode_expectation(message.family, message.attributes) {
                Ok(expectation) if filter.matches_expectation(&expectation) => on_expectation(
                    &expectation,
                    DumpedExpectation {
                        family: message.family,
                        attributes: message.attributes,
                    },
                ),
                Ok(_) => Ok(()),
                Err(err) => on_undecodable(err),
            }
        })
    }

    /// The one expectation a connection of `expected` (of `family`, in `zone`) would
    /// match, handed to `on_expectation` (or to `on_undecodable`); the kernel's ENOENT
    /// when there is none comes back as a [`KernelError`].
    ///
    /// IPCTNL_MSG_EXP_GET without NLM_F_DUMP, carrying CTA_EXPECT_TUPLE: the kernel
    /// (ctnetlink_get_expect) looks the tuple up with nf_ct_expect_find_get, which
    /// compares it with each expectation's tuple under that expectation's mask, so a
    /// field the mask leaves out (the source port of ftp's and tftp's) may be anything.
    /// conntrack -G expect sends its tuple as CTA_EXPECT_MASTER instead, which the kernel
    /// reads only without CTA_EXPECT_TUPLE and then looks up the same way.
    pub fn get_expectation<F, U>(
        &mut self,
        family: Family,
        expected: &Tuple,
        zone: Option<u16>,
        mut on_expectation: F,
        mut on_undecodable: U,
    ) -> Result<DumpStats>
    where
        F: FnMut(&Expectation<'_>) -> Result<()>,
        U: FnMut(DecodeError) -> Result<()>,
    {
        let mut attributes = vec![expect_tuple(expected)];
        attributes.extend(zone.map(|zone| be16(CTA_EXPECT_ZONE, zone)));
        let request = Request::single(
            NFNL_SUBSYS_CTNETLINK_EXP,
            IPCTNL_MSG_EXP_GET,
            family.raw(),
            attributes,
            "the get request of an expectation",
        );
        self.request(&request, |message| {
            // The kernel answers with one IPCTNL_MSG_EXP_NEW message, as a dump does.
            if !message.is(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_NEW) {
                return Ok(());
            }
            match decode_expectation(message.family, message.attributes) {
                Ok(expectation) => on_expectation(&expectation),
                Err(err) => on_undecodable(err),
            }
        })
    }

    /// The expectations that pass `filter`; one that cannot be decoded is not counted.
    pub fn count_expectations(&mut self, filter: &Filter) -> Result<u64> {
        let mut counted = 0u64;
        self.expectations(
            filter,
            |_, _| {
                counted += 1;
                Ok(())
            },
            |_| Ok(()),
        )?;
        Ok(counted)
    }

    /// Every expectation, of both families (the kernel keeps no counter of them); where
    /// the kernel refuses the dump, the lines of /proc/net/nf_conntrack_expect, which
    /// root can read without CAP_NET_ADMIN.
    pub fn count_all_expectations(&mut self) -> Result<u32> {
        let counted = match self.count_expectations(&Filter::default()) {
            Err(err) if err.downcast_ref::<KernelError>().is_some() => {
                match self.read_proc(PROC_EXPECTATIONS) {
                    Ok(text) => {
                        note_proc_fallback(&err);
                        text.iter().filter(|&&byte| byte == b'\n').count() as u64
                    }
                    Err(proc_err) => {
                        return Err(anyhow!(
                            "{err:#}; and {PROC_EXPECTATIONS}, where the expectations can \
                             be counted too, cannot be read ({proc_err})"
                        ));
                    }
                }
            }
            other => other?,
        };
        Ok(u32::try_from(counted).unwrap_or(u32::MAX))
    }

    /// Creates one expectation (IPCTNL_MSG_EXP_NEW with NLM_F_CREATE and NLM_F_EXCL, as
    /// conntrack -I expect sends it) and says what the kernel answered: an existing one
    /// is [`Creation::Existed`], a refusal [`Creation::Refused`] with its errno.
    pub fn create_expectation(&mut self, expectation: &NewExpectation) -> Result<Creation> {
        let request = Request {
            subsystem: NFNL_SUBSYS_CTNETLINK_EXP,
            message_type: IPCTNL_MSG_EXP_NEW,
            flags: NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            family: expectation.family.raw(),
            version: NFNETLINK_V0,
            attributes: super::attributes::new_expectation(expectation),
            operation: "the creation of an expectation",
        };
        match self.request(&request, |_| Ok(())) {
            Ok(_) => Ok(Creation::Created),
            Err(err) => match kernel_errno(&err) {
                Some(errno) => Ok(Creation::of_errno(errno)),
                None => Err(err),
            },
        }
    }

    /// Deletes one expectation (by its family, tuple and id); false when it was already
    /// gone.
    pub fn delete_expectation(&mut self, expectation: &Expectation<'_>) -> Result<bool> {
        let mut attributes = vec![expect_tuple(&expectation.expected)];
        attributes.extend(expectation.id.map(|id| be32(CTA_EXPECT_ID, id)));
        let request = Request::single(
            NFNL_SUBSYS_CTNETLINK_EXP,
            IPCTNL_MSG_EXP_DELETE,
            expectation.family.raw(),
            attributes,
            "the deletion of an expectation",
        );
        match self.request(&request, |_| Ok(())) {
            Ok(_) => Ok(true),
            Err(err) if kernel_errno(&err) == Some(libc::ENOENT) => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Deletes every expectation in one request.
    pub fn flush_expectations(&mut self) -> Result<()> {
        let request = Request::single(
            NFNL_SUBSYS_CTNETLINK_EXP,
            IPCTNL_MSG_EXP_DELETE,
            AF_UNSPEC,
            Vec::new(),
            "the expectation flush",
        );
        self.request(&request, |_| Ok(()))?;
        Ok(())
    }

    /// The per-CPU counters over ctnetlink; where the kernel refuses, from
    /// /proc/net/stat/nf_conntrack, as conntrack falls back (that file holds the
    /// expectation counters too, so `-S expect` shows the same).
    pub fn cpu_stats(&mut self, kind: Table) -> Result<Vec<CpuStats>> {
        let (subsystem, message_type) = if kind.holds_expectations() {
            (NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_GET_STATS_CPU)
        } else {
            (NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS_CPU)
        };
        let request = Request::dump(subsystem, message_type, AF_UNSPEC, "the statistics dump");
        let mut cpus = Vec::new();
        let result = self.dump(&request, |message| {
            // The kernel answers IPCTNL_MSG_EXP_GET_STATS_CPU under NFNL_SUBSYS_CTNETLINK
            // (ctnetlink_exp_stat_fill_info), not the expectation subsystem it was asked on.
            if message.message_type == message_type {
                cpus.push(decode_cpu_stats(kind, message.res_id, message.attributes)?);
            }
            Ok(())
        });
        match result {
            Ok(_) => Ok(cpus),
            Err(err) if err.downcast_ref::<KernelError>().is_some() => {
                let text = self.read_proc_string(PROC_STATS).map_err(|proc_err| {
                    anyhow!(
                        "{err:#}; and {PROC_STATS} cannot be read either ({proc_err}): this \
                         kernel offers no conntrack statistics"
                    )
                })?;
                note_proc_fallback(&err);
                Ok(decode_proc_stats(&text))
            }
            Err(err) => Err(err),
        }
    }

    /// The number of entries and the table's limit (IPCTNL_MSG_CT_GET_STATS); where the
    /// kernel refuses, the nf_conntrack_count and nf_conntrack_max sysctls, as
    /// conntrack -C falls back.
    pub fn global_stats(&mut self) -> Result<GlobalStats> {
        match self.global_stats_over_netlink() {
            Err(err) if err.downcast_ref::<KernelError>().is_some() => {
                let entries = self
                    .require_sysctl_number(CONNTRACK_COUNT_SYSCTL)
                    .with_context(|| format!("{err:#}; and the sysctl fallback failed"))?;
                note_proc_fallback(&err);
                Ok(GlobalStats {
                    entries: Some(entries),
                    max_entries: self.read_sysctl_number(CONNTRACK_MAX_SYSCTL),
                })
            }
            other => other,
        }
    }

    /// The entries and the limit of the expectations' table, or of the connections'
    /// (whose the dying and unconfirmed lists are).
    pub fn table_stats(&mut self, kind: Table) -> Result<GlobalStats> {
        if !kind.holds_expectations() {
            return self.global_stats();
        }
        Ok(GlobalStats {
            entries: Some(self.count_all_expectations()?),
            max_entries: self.read_sysctl_number(EXPECT_MAX_SYSCTL),
        })
    }

    /// The kernel's count of the whole table (with its fallback, see
    /// [`Conntrack::global_stats`]).
    pub fn count_entries(&mut self) -> Result<u64> {
        self.global_stats()?
            .entries
            .map(u64::from)
            .context("the kernel's statistics carry no entry count")
    }

    fn global_stats_over_netlink(&mut self) -> Result<GlobalStats> {
        let request = Request::single(
            NFNL_SUBSYS_CTNETLINK,
            IPCTNL_MSG_CT_GET_STATS,
            AF_UNSPEC,
            Vec::new(),
            "the statistics request",
        );
        let mut global = GlobalStats::default();
        self.request(&request, |message| {
            if message.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS) {
                global = decode_global_stats(message.attributes)?;
            }
            Ok(())
        })?;
        if global.max_entries.is_none() {
            // Kernels before 4.19 send only the count; the limit is a sysctl there.
            global.max_entries = self.read_sysctl_number(CONNTRACK_MAX_SYSCTL);
        }
        Ok(global)
    }

    /// Subscribes this socket to `subscription`'s events: joins their multicast groups,
    /// asks for reliable delivery if wanted, and attaches the filter's program where it
    /// can judge anything.
    pub fn subscribe(&mut self, subscription: &Subscription<'_>) -> Result<()> {
        let Subscription {
            table,
            events,
            reliable,
            filter,
        } = *subscription;
        self.join_groups(&events.groups(table))?;
        if reliable {
            self.request_reliable_delivery()?;
        }
        if let Some(filter) = filter.filter(|_| !table.holds_expectations()) {
            if let Some(program) = crate::filter::events::program(filter, events) {
                self.attach_event_filter(&program)?;
            }
        }
        Ok(())
    }

    /// Receives the next datagram of events (after [`Conntrack::subscribe`]) without
    /// waiting, and hands each event in it to `on_event`; see
    /// [`Conntrack::try_receive_messages`].
    pub fn try_receive_events<F>(&mut self, mut on_event: F) -> Result<super::EventReceive>
    where
        F: FnMut(Event<'_>) -> Result<()>,
    {
        self.try_receive_messages(|message| match Event::of(&message) {
            Some(event) => on_event(event),
            None => Ok(()),
        })
    }

    /// A number from a sysctl of the socket's namespace, if it can be read.
    fn read_sysctl_number(&self, path: &str) -> Option<u32> {
        self.read_proc_string(path).ok()?.trim().parse().ok()
    }

    /// The same, for a caller that cannot do without it.
    fn require_sysctl_number(&self, path: &str) -> Result<u32> {
        let text = self
            .read_proc_string(path)
            .with_context(|| format!("cannot open {path}"))?;
        text.trim()
            .parse()
            .with_context(|| format!("cannot read a number from {path}"))
    }

    /// A file of /proc as text, read in the socket's namespace.
    fn read_proc_string(&self, path: &str) -> std::io::Result<String> {
        String::from_utf8(self.read_proc(path)?).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )
        })
    }
}

/// The one step of every entry dump: a message that carries an entry is decoded; an
/// entry that passes `filter` goes to `on_entry`, one that cannot be decoded to
/// `on_undecodable`.
fn hand_entry<F, U>(
    message: &Message<'_>,
    filter: &Filter,
    on_entry: &mut F,
    on_undecodable: &mut U,
) -> Result<()>
where
    F: FnMut(&Entry<'_>, Dumped<'_>) -> Result<()>,
    U: FnMut(DecodeError) -> Result<()>,
{
    if !message.is(NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_NEW) {
        return Ok(());
    }
    match decode_entry(message.family, message.attributes) {
        Ok(entry) if filter.matches(&entry) => on_entry(
            &entry,
            Dumped {
                family: message.family,
                attributes: message.attributes,
            },
        ),
        Ok(_) => Ok(()),
        Err(err) => on_undecodable(err),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::output::classic::{ClassicOptions, ClassicPrinter};
    use crate::output::{Frame, Print, Record};

    #[test]
    fn a_bad_entry_is_reported_and_the_dump_goes_on() {
        // The smallest entry: an empty original tuple.
        let good: &[u8] = &[4, 0, CTA_TUPLE_ORIG as u8, 0x80];
        let bad: &[u8] = &[6, 0, CTA_MARK as u8, 0, 1, 2, 0, 0];
        let mut out = Vec::new();
        let mut errors = Vec::new();
        let mut printer = ClassicPrinter::new(ClassicOptions::default(), None, 0);
        let filter = Filter::default();
        let mut shown = 0;
        for attributes in [good, bad, good] {
            let message = Message {
                subsystem: NFNL_SUBSYS_CTNETLINK,
                message_type: IPCTNL_MSG_CT_NEW,
                flags: 0,
                portid: 0,
                family: AF_INET,
                res_id: 0,
                attributes,
            };
            hand_entry(
                &message,
                &filter,
                &mut |entry, _| {
                    shown += 1;
                    Ok(printer.print(&mut out, Record::Entry(entry), &Frame::NONE)?)
                },
                &mut |err| {
                    Ok(writeln!(
                        errors,
                        "ct: skipped an entry the kernel sent: {err}"
                    )?)
                },
            )
            .unwrap();
        }
        assert_eq!(shown, 2);
        let line = "unknown  0 src=0.0.0.0 dst=0.0.0.0 src=0.0.0.0 dst=0.0.0.0\n";
        assert_eq!(String::from_utf8(out).unwrap(), line.repeat(2));
        assert_eq!(
            String::from_utf8(errors).unwrap(),
            "ct: skipped an entry the kernel sent: \
             invalid CTA_MARK value: 2 bytes instead of 4 bytes\n"
        );
    }
}
