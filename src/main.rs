//! The `ct` binary: parse the command line, run, map the outcome to an exit status.
//!
//! Exit status: 0 success (also when the reader of stdout went away), 1 runtime error,
//! 2 usage error (clap's own exit code for a bad command line).

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ct::cli::Cli::parse();
    match ct::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if ct::is_broken_pipe(&err) => ExitCode::SUCCESS,
        // Flags that do not fit together: reported like clap's own errors, exit 2.
        Err(err) if err.is::<ct::config::UsageError>() => {
            eprintln!("error: {err}\n\nFor more information, try 'ct list --help'.");
            ExitCode::from(2)
        }
        Err(err) => {
            eprintln!("ct: {err:#}");
            ExitCode::from(1)
        }
    }
}
