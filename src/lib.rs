//! `ct`: an inspector for the Linux conntrack table.
//!
//! The data takes one path, and each stage is one module:
//! command line ([`cli`]) → resolved plan ([`config`]) → netlink request and dump
//! ([`netlink`]) → decoded entry ([`decode`] into the model of [`entry`]) → printer
//! ([`output`]) → stdout. This file is the only place the stages meet.

pub mod cli;
pub mod config;
pub mod decode;
pub mod entry;
pub mod kernel;
pub mod labelmap;
pub mod netlink;
pub mod output;

use std::io::{self, IsTerminal, Write};
use std::path::Path;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::config::{LabelSource, ListPlan};
use crate::labelmap::LabelMap;
use crate::netlink::Conntrack;
use crate::output::classic::ClassicPrinter;

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::List(args) => list(&ListPlan::from_args(&args)),
    }
}

/// `ct list`: dumps the table and prints every entry as it arrives.
pub fn list(plan: &ListPlan) -> Result<()> {
    if let Some(netns) = &plan.netns {
        netlink::netns::enter(netns)?;
    }
    let mut conntrack = Conntrack::open(plan.socket_buffer)?;
    let labels = load_labels(&plan.labels);

    let stdout = io::stdout();
    let interactive = stdout.is_terminal();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let mut printer = ClassicPrinter::new(plan.classic, labels.as_ref(), unix_now());
    let mut shown: u64 = 0;
    let stats = conntrack.dump(&plan.request, |message| {
        match decode::decode_entry(message.family, message.attributes) {
            Ok(entry) => {
                printer.print(&mut out, &entry)?;
                shown += 1;
            }
            Err(err) => eprintln!("ct: skipped an entry the kernel sent: {err}"),
        }
        // On a terminal, show each batch as it comes rather than at the end.
        if interactive {
            out.flush()?;
        }
        Ok(())
    })?;
    out.flush()?;
    if stats.interrupted {
        eprintln!(
            "ct: warning: the table changed during the dump (NLM_F_DUMP_INTR); \
             entries may be missing or shown twice"
        );
    }
    eprintln!("ct: {shown} flow entries have been shown.");
    Ok(())
}

/// The label map for `-o labels`. A missing or unreadable file is not fatal: conntrack
/// then prints no labels, and so does ct, after saying why.
fn load_labels(source: &LabelSource) -> Option<LabelMap> {
    match source {
        LabelSource::None => None,
        LabelSource::Map(map) => Some(map.clone()),
        LabelSource::File(path) => match LabelMap::load(Path::new(path)) {
            Ok(map) => Some(map),
            Err(err) => {
                eprintln!("ct: cannot read label names from {path}: {err}; labels are not shown");
                None
            }
        },
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// True when `err` comes from writing to a reader that went away (`ct list | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
