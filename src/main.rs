//! The `ct` binary: parse the command line, run the command, map the outcome to an exit
//! status, the same way for every command.
//!
//! Exit status: 0 success (also when the reader of stdout went away), 1 runtime error
//! (also when stdout cannot be written, as on a full disk, and a delete that found
//! nothing, as conntrack's), 2 usage error (clap's own
//! exit code for a bad command line, and ours for flags that do not fit together).
//! Nothing here panics on a failed write: messages go through `commands::Stderr`, which
//! drops what stderr cannot take. (A standard output or error closed before ct starts
//! is /dev/null to it: Rust's runtime reopens closed standard descriptors so.)

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use ct::commands::Stderr;

fn main() -> ExitCode {
    // Started as `conntrack` (a link to ct): conntrack 1.4.7's command line, not clap.
    if std::env::args_os()
        .next()
        .is_some_and(|argv0| ct::conntrack::invoked_as_conntrack(&argv0))
    {
        return ExitCode::from(ct::conntrack::main_os(std::env::args_os()));
    }
    let cli = match ct::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return parse_failure(&err),
    };
    let command = cli.command.name();
    match ct::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if ct::is_broken_pipe(&err) => ExitCode::SUCCESS,
        // `ct delete` that found nothing: conntrack's exit status 1, the summary said it.
        Err(err) if err.is::<ct::commands::delete::NothingMatched>() => ExitCode::from(1),
        // Flags that do not fit together: reported like clap's own errors, exit 2.
        Err(err) if err.is::<ct::plan::UsageError>() => {
            let _ = writeln!(
                Stderr,
                "error: {err}\n\nFor more information, try 'ct {command} --help'."
            );
            ExitCode::from(2)
        }
        // `--input` of a file that is no saved table: a bad argument, exit 2.
        Err(err) if err.is::<ct::input::UnreadableDump>() => {
            let _ = writeln!(Stderr, "ct: {err}");
            ExitCode::from(2)
        }
        Err(err) => {
            let _ = writeln!(Stderr, "ct: {err:#}");
            ExitCode::from(1)
        }
    }
}

/// clap's verdict: help and version go to stdout (exit 0, or 1 if stdout cannot take
/// them), errors to stderr (exit 2).
fn parse_failure(err: &clap::Error) -> ExitCode {
    let code = u8::try_from(err.exit_code()).unwrap_or(2);
    match err.print() {
        // `ct top --help | head`: the reader went away, as for any output.
        Err(print_err) if print_err.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(print_err) if !err.use_stderr() => {
            let _ = writeln!(Stderr, "ct: cannot write to standard output: {print_err}");
            ExitCode::from(1)
        }
        _ => ExitCode::from(code),
    }
}
