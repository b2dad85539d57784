//! Fills the conntrack table of a network namespace with N UDP entries, fast, for the
//! benchmark and for trying `ct` on a big table by hand:
//!
//!     ip netns add big
//!     cargo run --release --example fill_table -- big 250000 [--mark M] [--zone Z] [--base B]
//!     ct list --netns big | wc -l

#[path = "../tests/support/fill.rs"]
mod fill;

use anyhow::{Context, Result, bail};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: fill_table NETNS COUNT [--mark M] [--zone Z] [--base B] [--timeout S]";
    let netns = args.next().context(usage)?;
    if netns == "-h" || netns == "--help" {
        println!("{usage}");
        return Ok(());
    }
    let count = args.next().context(usage)?.parse().context("COUNT")?;
    let mut spec = fill::FillSpec {
        count,
        ..Default::default()
    };
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--mark" => spec.mark = value.parse().context("--mark")?,
            "--zone" => spec.zone = Some(value.parse().context("--zone")?),
            "--base" => spec.base = value.parse().context("--base")?,
            "--timeout" => spec.timeout = value.parse().context("--timeout")?,
            _ => bail!("unknown flag {flag}; {usage}"),
        }
    }
    fill::fill(&netns, spec).with_context(|| format!("filling the conntrack table of {netns}"))
}
