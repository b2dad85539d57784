//! ct run as `conntrack` (argv\[0\]'s file name): conntrack 1.4.7's command line, its
//! messages and exit codes, carried out by ct's own commands.
//!
//! The stages are ct's: [`parse`] reads the words as conntrack's `do_parse` does (with
//! [`getopt`], glibc's getopt_long as conntrack calls it, and [`options`], conntrack's
//! tables) into a typed [`parse::Parsed`]; `lower` turns it into the arguments of ct's
//! own command and so into its plan (plan::List, Get, Delete, Flush, Count, Stats,
//! Watch, Create, Update), which runs as under ct's own name; [`restore`] runs each
//! line of a `-R` file the same way. Messages start with [`BANNER`] where
//! conntrack's start with `conntrack v1.4.7 (conntrack-tools): `, and a parameter
//! problem ends with conntrack's "Try" line and exit status 2. What ct does otherwise
//! than conntrack is listed, with the reason, in docs/differences.md.

pub mod getopt;
mod lower;
pub mod options;
pub mod parse;
pub mod restore;

use std::io::Write;
use std::path::Path;

use crate::commands::Stderr;
use crate::labelmap::CONNLABEL_CONF;
pub use crate::model::table::Table;
use options::Command;

/// What ct's messages start with in the conntrack mode: conntrack's banner, with ct
/// and its version where conntrack names conntrack-tools.
pub const BANNER: &str = concat!("conntrack v1.4.7 (ct ", env!("CARGO_PKG_VERSION"), "): ");

/// What `-V` prints.
pub const VERSION: &str = concat!("conntrack v1.4.7 (ct ", env!("CARGO_PKG_VERSION"), ")");

/// conntrack's line after a parameter problem.
pub const TRY: &str = "Try `conntrack -h' or 'conntrack --help' for more information.";

/// A command line conntrack would refuse, or a command ct cannot carry out: the
/// message (after the banner) and conntrack's kind of problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub message: String,
    /// PARAMETER_PROBLEM (exit 2, with the Try line) or OTHER_PROBLEM (exit 1).
    pub parameter: bool,
}

impl Failure {
    pub fn parameter(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            parameter: true,
        }
    }

    pub fn other(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            parameter: false,
        }
    }

    /// What conntrack writes on stderr for it.
    pub fn text(&self) -> String {
        if self.parameter {
            format!("{BANNER}{}\n{TRY}\n", self.message)
        } else {
            format!("{BANNER}{}\n", self.message)
        }
    }

    pub fn exit_code(&self) -> u8 {
        if self.parameter { 2 } else { 1 }
    }
}

/// True when ct was started under the name `conntrack`.
pub fn invoked_as_conntrack(argv0: &std::ffi::OsStr) -> bool {
    Path::new(argv0).file_name() == Some(std::ffi::OsStr::new("conntrack"))
}

/// Runs conntrack's command line as the system gave it; the exit status. A word that
/// is not UTF-8 is refused (exit 2) before anything runs.
pub fn main_os(args: impl IntoIterator<Item = std::ffi::OsString>) -> u8 {
    match words(args) {
        Ok(argv) => main(argv),
        Err(failure) => report(Err(failure)),
    }
}

/// The command line's words as text. ct reads conntrack's options as UTF-8 (its
/// addresses, names and numbers are ASCII); a word that is not is refused, named by its
/// position and an escaped excerpt. The program's own name is only printed in the
/// usage, so it is read lossily.
pub fn words(args: impl IntoIterator<Item = std::ffi::OsString>) -> Result<Vec<String>, Failure> {
    use std::os::unix::ffi::OsStrExt;
    let mut argv = Vec::new();
    for (at, word) in args.into_iter().enumerate() {
        match word.into_string() {
            Ok(word) => argv.push(word),
            Err(word) if at == 0 => argv.push(word.to_string_lossy().into_owned()),
            Err(word) => return Err(not_utf8(&format!("argument {at}"), word.as_bytes())),
        }
    }
    Ok(argv)
}

/// The refusal of `what` (an argument, a line of a `-R` file), which is not UTF-8 text:
/// at most 32 of its bytes, escaped.
fn not_utf8(what: &str, bytes: &[u8]) -> Failure {
    const EXCERPT: usize = 32;
    let shown = &bytes[..bytes.len().min(EXCERPT)];
    let more = if bytes.len() > EXCERPT { "..." } else { "" };
    Failure::parameter(format!(
        "{what} is not UTF-8 text: `{}{more}'; give conntrack's options as UTF-8",
        shown.escape_ascii()
    ))
}

/// Runs conntrack's command line; the exit status.
pub fn main(argv: Vec<String>) -> u8 {
    crate::commands::set_prefix(BANNER);
    let labels_path = Path::new(CONNLABEL_CONF);
    if argv.len() > 2 && (argv[1] == "-R" || argv[1] == "--load-file") {
        return report(restore::run(&argv, labels_path));
    }
    let mut labels = parse::Labels::new(labels_path);
    let mut notes = parse::Notes::default();
    let parsed = parse::parse(&argv, &mut labels, &mut notes, None);
    write_notes(&notes);
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(failure) => return report(Err(failure)),
    };
    let program = argv.first().map_or("conntrack", String::as_str);
    match parsed.command {
        None | Some(Command::Help) => {
            let mut text = usage(program);
            if let (Some(protonum), Some(handler)) = (parsed.protonum, parsed.handler) {
                text.push_str(&parse::protocol_help(protonum, handler));
            }
            let _ = print_stdout(&text);
            0
        }
        Some(Command::Version) => {
            let _ = print_stdout(&format!("{VERSION}\n"));
            0
        }
        Some(_) => report(lower::run(&parsed)),
    }
}

fn write_notes(notes: &parse::Notes) {
    for note in &notes.0 {
        let _ = writeln!(Stderr, "{note}");
    }
}

fn print_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Writes a failure as conntrack does and gives the exit status.
fn report(outcome: Result<u8, Failure>) -> u8 {
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            let _ = Stderr.write_all(failure.text().as_bytes());
            failure.exit_code()
        }
    }
}

/// conntrack's usage, on stdout for `-h` and for no command.
pub fn usage(program: &str) -> String {
    format!(
        "Command line interface for the connection tracking system. Version 1.4.7\n\
         Usage: {program} [commands] [options]\n\
         \n\
         Commands:\n\
         \x20 -L [table] [options]\t\tList conntrack or expectation table\n\
         \x20 -G [table] parameters\t\tGet conntrack or expectation\n\
         \x20 -D [table] parameters\t\tDelete conntrack or expectation\n\
         \x20 -I [table] parameters\t\tCreate a conntrack or expectation\n\
         \x20 -U [table] parameters\t\tUpdate a conntrack\n\
         \x20 -E [table] [options]\t\tShow events\n\
         \x20 -F [table]\t\t\tFlush table\n\
         \x20 -C [table]\t\t\tShow counter\n\
         \x20 -S\t\t\t\tShow statistics\n\
         \n\
         Tables: conntrack, expect, dying, unconfirmed\n\
         \n\
         Conntrack parameters and options:\n\
         \x20 -n, --src-nat ip\t\t\tsource NAT ip\n\
         \x20 -g, --dst-nat ip\t\t\tdestination NAT ip\n\
         \x20 -j, --any-nat ip\t\t\tsource or destination NAT ip\n\
         \x20 -m, --mark mark\t\t\tSet mark\n\
         \x20 -c, --secmark secmark\t\t\tSet selinux secmark\n\
         \x20 -e, --event-mask eventmask\t\tEvent mask, eg. NEW,DESTROY\n\
         \x20 -z, --zero \t\t\t\tZero counters while listing\n\
         \x20 -o, --output type[,...]\t\tOutput format, eg. xml\n\
         \x20 -l, --label label[,...]\t\tconntrack labels\n\
         \n\
         Expectation parameters and options:\n\
         \x20 --tuple-src ip\tSource address in expect tuple\n\
         \x20 --tuple-dst ip\tDestination address in expect tuple\n\
         \n\
         Updating parameters and options:\n\
         \x20 --label-add label\tAdd label\n\
         \x20 --label-del label\tDelete label\n\
         \n\
         Common parameters and options:\n\
         \x20 -s, --src, --orig-src ip\t\tSource address from original direction\n\
         \x20 -d, --dst, --orig-dst ip\t\tDestination address from original direction\n\
         \x20 -r, --reply-src ip\t\tSource addres from reply direction\n\
         \x20 -q, --reply-dst ip\t\tDestination address from reply direction\n\
         \x20 -p, --protonum proto\t\tLayer 4 Protocol, eg. 'tcp'\n\
         \x20 -f, --family proto\t\tLayer 3 Protocol, eg. 'ipv6'\n\
         \x20 -t, --timeout timeout\t\tSet timeout\n\
         \x20 -u, --status status\t\tSet status, eg. ASSURED\n\
         \x20 -w, --zone value\t\tSet conntrack zone\n\
         \x20 --orig-zone value\t\tSet zone for original direction\n\
         \x20 --reply-zone value\t\tSet zone for reply direction\n\
         \x20 -b, --buffer-size\t\tNetlink socket buffer size\n\
         \x20 --mask-src ip\t\t\tSource mask address\n\
         \x20 --mask-dst ip\t\t\tDestination mask address\n\
         \n"
    )
}

/// An OS error in the C library's words, as conntrack prints them: "No such file or
/// directory" rather than Rust's "... (os error 2)".
fn os_error_text(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests;
