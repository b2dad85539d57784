//! The `ct` binary: parse the command line, run the command, map the outcome to an exit
//! status, the same way for every command.
//!
//! Exit status: 0 success (also when the reader of stdout went away), 1 runtime error,
//! 2 usage error (clap's own exit code for a bad command line, and ours for flags that
//! do not fit together).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ct::cli::Cli::parse();
    let command = cli.command.name();
    match ct::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if ct::is_broken_pipe(&err) => ExitCode::SUCCESS,
        // Flags that do not fit together: reported like clap's own errors, exit 2.
        Err(err) if err.is::<ct::plan::UsageError>() => {
            eprintln!("error: {err}\n\nFor more information, try 'ct {command} --help'.");
            ExitCode::from(2)
        }
        Err(err) => {
            eprintln!("ct: {err:#}");
            ExitCode::from(1)
        }
    }
}
