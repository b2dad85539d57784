//! `ct completions` and `ct man`: the shell completion scripts and manual pages,
//! generated from the command line's own definition so they never drift from it.

use std::io::{self, Write};

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::{Cli, ManPage};

/// `ct completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> Result<()> {
    let mut out = io::stdout().lock();
    clap_complete::generate(shell, &mut Cli::command(), "ct", &mut out);
    out.flush()?;
    Ok(())
}

/// `ct man [COMMAND]`: ct(1), or the page of one command, such as ct-list(1).
pub fn man(page: Option<ManPage>) -> Result<()> {
    let mut ct = Cli::command();
    ct.build();
    let command = match page {
        None => ct,
        Some(page) => ct
            .find_subcommand(page.command())
            .cloned()
            .with_context(|| format!("ct has no {} command", page.command()))?
            .name(page.page_name()),
    };
    let mut out = io::stdout().lock();
    clap_mangen::Man::new(command).render(&mut out)?;
    out.flush()?;
    Ok(())
}
