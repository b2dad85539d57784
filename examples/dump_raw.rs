//! Dumps the conntrack table (or with `--expect` the expectation table, with `--stats`
//! the per-CPU statistics) over ctnetlink and writes the kernel's datagrams to stdout
//! untouched, or with `--discard` throws them away.
//!
//! Two uses: capturing fixtures for the decoder tests (tests/fixtures/capture.sh), and
//! the benchmark's floor: the cost of the dump itself, with no decoding or printing.
//!
//!     cargo run --release --example dump_raw -- [--discard] [--expect|--stats] [--netns NAME] > dump.bin

use std::io::{self, Write};

use anyhow::{Result, bail};
use ct::kernel::*;
use ct::netlink::{Conntrack, Request, netns};

fn main() -> Result<()> {
    let mut discard = false;
    let mut request = Request::dump_entries(AF_UNSPEC, Vec::new());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--discard" => discard = true,
            "--expect" => {
                request = Request::dump(
                    NFNL_SUBSYS_CTNETLINK_EXP,
                    IPCTNL_MSG_EXP_GET,
                    AF_UNSPEC,
                    "the expectation dump",
                )
            }
            "--stats" => {
                request = Request::dump(
                    NFNL_SUBSYS_CTNETLINK,
                    IPCTNL_MSG_CT_GET_STATS_CPU,
                    AF_UNSPEC,
                    "the statistics dump",
                )
            }
            "--netns" => match args.next() {
                Some(name) => netns::enter(&name)?,
                None => bail!("--netns needs a namespace"),
            },
            other => bail!(
                "unknown argument {other}; usage: dump_raw [--discard] [--expect|--stats] [--netns NAME]"
            ),
        }
    }
    let mut conntrack = Conntrack::open(None)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let stats = conntrack.dump_datagrams(&request, |datagram| {
        if !discard {
            out.write_all(datagram)?;
        }
        Ok(())
    })?;
    out.flush()?;
    eprintln!("{} messages, {} bytes", stats.messages, stats.bytes);
    Ok(())
}
