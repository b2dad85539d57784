//! The kernel operations, one typed method each on [`Conntrack`]: what the commands ask
//! of the kernel, in model types. Requests, subsystems and message types stay in here.
//!
//! Expectations are streamed to a callback as they are decoded, borrowed from the
//! receive buffer (nothing is allocated per entry); the statistics fall back to
//! /proc where the kernel refuses ctnetlink, read in the namespace of the socket.

use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};

use super::attributes::{be32, expect_tuple};
use super::{Conntrack, DumpStats, KernelError, Request, kernel_errno};
use crate::decode::DecodeError;
use crate::decode::expect::decode_expectation;
use crate::decode::stats::{decode_cpu_stats, decode_global_stats, decode_proc_stats};
use crate::filter::Filter;
use crate::kernel::*;
use crate::model::expect::Expectation;
use crate::model::stats::{CpuStats, GlobalStats, StatsKind};

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

impl Conntrack {
    /// Dumps the expectations of the filter's family, or of both, and hands each one
    /// that passes `filter` to `on_expectation` with its attributes as dumped; one that
    /// cannot be decoded goes to `on_undecodable`.
    pub fn expectations<F, U>(
        &mut self,
        filter: &Filter,
        mut on_expectation: F,
        mut on_undecodable: U,
    ) -> Result<DumpStats>
    where
        F: FnMut(&Expectation<'_>, Dumped<'_>) -> Result<()>,
        U: FnMut(DecodeError) -> Result<()>,
    {
        let request = Request::dump(
            NFNL_SUBSYS_CTNETLINK_EXP,
            IPCTNL_MSG_EXP_GET,
            filter.family.unwrap_or(AF_UNSPEC),
            "the expectation dump",
        );
        self.dump(&request, |message| {
            // A dump answers with IPCTNL_MSG_EXP_NEW messages.
            if !message.is(NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_NEW) {
                return Ok(());
            }
            match decode_expectation(message.family, message.attributes) {
                Ok(expectation) if filter.matches_expectation(&expectation) => on_expectation(
                    &expectation,
                    Dumped {
                        family: message.family,
                        attributes: message.attributes,
                    },
                ),
                Ok(_) => Ok(()),
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

    /// Deletes one expectation (by its tuple and id); false when it was already gone.
    pub fn delete_expectation(
        &mut self,
        family: u8,
        expectation: &Expectation<'_>,
    ) -> Result<bool> {
        let mut attributes = vec![expect_tuple(&expectation.expected)];
        attributes.extend(expectation.id.map(|id| be32(CTA_EXPECT_ID, id)));
        let request = Request::single(
            NFNL_SUBSYS_CTNETLINK_EXP,
            IPCTNL_MSG_EXP_DELETE,
            family,
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
    pub fn cpu_stats(&mut self, kind: StatsKind) -> Result<Vec<CpuStats>> {
        let (subsystem, message_type) = match kind {
            StatsKind::Conntrack => (NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_GET_STATS_CPU),
            StatsKind::Expect => (NFNL_SUBSYS_CTNETLINK_EXP, IPCTNL_MSG_EXP_GET_STATS_CPU),
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

    /// The entries and the limit of the connections' or the expectations' table.
    pub fn table_stats(&mut self, kind: StatsKind) -> Result<GlobalStats> {
        Ok(match kind {
            StatsKind::Conntrack => self.global_stats()?,
            StatsKind::Expect => GlobalStats {
                entries: Some(self.count_all_expectations()?),
                max_entries: self.read_sysctl_number(EXPECT_MAX_SYSCTL),
            },
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
