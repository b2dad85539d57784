//! The commands, one file each: a short composition of the stages (plan → netlink →
//! decode → filter → output). What more than one command needs to do the same way
//! (open the socket in the right namespace, set up stdout, read label names) is here.

pub mod count;
pub mod expect;
pub mod get;
pub mod help;
pub mod list;
pub mod stats;

use std::io::{self, IsTerminal, StdoutLock};
use std::path::Path;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::labelmap::LabelMap;
use crate::netlink::{Conntrack, netns};
use crate::plan::{LabelSource, Target};

/// Runs the command the user asked for.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::List(args) => list::run(&args),
        Command::Count(args) => count::run(&args),
        Command::Stats(args) => stats::run(&args),
        Command::Get(args) => get::run(&args),
        Command::Completions { shell } => help::completions(shell),
        Command::Man { page } => help::man(page),
    }
}

/// Opens the ctnetlink socket in the namespace `target` names.
pub fn connect(target: &Target) -> Result<Conntrack> {
    if let Some(netns) = &target.netns {
        netns::enter(netns)?;
    }
    Conntrack::open(target.socket_buffer)
}

/// Standard output, buffered, and whether it is a terminal (which then wants every line
/// as soon as it is written).
pub fn stdout() -> (io::BufWriter<StdoutLock<'static>>, bool) {
    let stdout = io::stdout();
    let terminal = stdout.is_terminal();
    (
        io::BufWriter::with_capacity(64 * 1024, stdout.lock()),
        terminal,
    )
}

/// The label map for `-o labels`. A missing or unreadable file is not fatal: conntrack
/// then prints no labels, and so does ct, after saying why.
pub fn load_labels(source: &LabelSource) -> Option<LabelMap> {
    match source {
        LabelSource::None => None,
        LabelSource::Map(map) => Some(map.clone()),
        LabelSource::FileIfPresent(path) => LabelMap::load(Path::new(path)).ok(),
        LabelSource::File(path) => match LabelMap::load(Path::new(path)) {
            Ok(map) => Some(map),
            Err(err) => {
                eprintln!("ct: cannot read label names from {path}: {err}; labels are not shown");
                None
            }
        },
    }
}

/// True when `err` comes from writing to a reader that went away (`ct list | head`).
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
