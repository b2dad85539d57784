//! `conntrack -R FILE` (`--load-file`, only as the first option): every line of the
//! file split into words as conntrack splits it (iptables-restore's rules: blanks
//! between words, double quotes around one, backslash escapes inside quotes), blank
//! lines and `#` lines skipped, and every line parsed before anything runs. A line that
//! does not parse, or a command that cannot come from a file, fails the whole file
//! with exit 2 and nothing done. Then the lines run in order through the same lowering
//! as a command line, without their summaries; the first failure stops the file with
//! exit 1.

use std::io::Read;
use std::path::Path;

use super::Failure;
use super::options::Command;
use super::parse::{self, Labels, Notes, Parsed};

/// conntrack's buffer for one word.
const WORD_MAX: usize = 1024;

/// One line's words, conntrack's `add_param_to_argv`; None for a line conntrack skips
/// (blank, or a comment). Leading spaces and tabs are skipped first.
pub fn split_line(line: &str) -> Result<Option<Vec<String>>, Failure> {
    let line = line.trim_start_matches([' ', '\t']);
    if line.is_empty() || line.starts_with('\n') || line.starts_with('#') {
        return Ok(None);
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quote_open, mut escaped) = (false, false);
    let push = |word: &mut String, c: char| -> Result<(), Failure> {
        word.push(c);
        if word.len() >= WORD_MAX {
            return Err(Failure::parameter("Parameter too long!"));
        }
        Ok(())
    };
    for c in line.chars() {
        if quote_open {
            if escaped {
                push(&mut word, c)?;
                escaped = false;
                continue;
            } else if c == '\\' {
                escaped = true;
                continue;
            } else if c == '"' {
                quote_open = false;
            } else {
                push(&mut word, c)?;
                continue;
            }
        } else if c == '"' {
            quote_open = true;
            continue;
        }
        match c {
            '"' => {}
            ' ' | '\t' | '\n' => {
                if word.is_empty() {
                    continue;
                }
            }
            _ => {
                push(&mut word, c)?;
                continue;
            }
        }
        words.push(std::mem::take(&mut word));
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(Some(words))
}

/// The commands a file may hold, conntrack's words for those it may not.
fn refused_in_file(command: Option<Command>) -> Option<&'static str> {
    Some(match command {
        Some(Command::Create | Command::Add | Command::Update | Command::Delete)
        | Some(Command::Flush) => return None,
        Some(Command::List) => "-L",
        Some(Command::Get) => "-G",
        Some(Command::Event) => "-E",
        Some(Command::Version) => "-V",
        Some(Command::Help) => "-h",
        Some(Command::ExpList) => "-L expect",
        // conntrack's own table says so.
        Some(Command::ExpCreate) => "-C expect",
        Some(Command::ExpDelete) => "-D expect",
        Some(Command::ExpGet) => "-G expect",
        Some(Command::ExpFlush) => "-F expect",
        Some(Command::ExpEvent) => "-E expect",
        Some(Command::Count) => "-C",
        Some(Command::ExpCount) => "-C expect",
        Some(Command::Stats) => "-S",
        Some(Command::ExpStats) => "-S expect",
        None => "unknown",
    })
}

/// Every line of `text` parsed, with the program's name `program` before its words,
/// as conntrack parses a file: the first line that fails fails the file; then each
/// command must be one a file may hold. Warnings go to `notes`.
pub fn parse_file(
    program: &str,
    text: &str,
    labels: &mut Labels,
    notes: &mut Notes,
) -> Result<Vec<Parsed>, Failure> {
    let mut commands = Vec::new();
    let mut handler = None;
    for line in text.split_inclusive('\n') {
        let Some(words) = split_line(line)? else {
            continue;
        };
        let mut argv = vec![program.to_string()];
        argv.extend(words);
        let parsed = parse::parse(&argv, labels, notes, handler)?;
        // conntrack keeps the protocol handler of an earlier line in a global.
        handler = parsed.handler;
        commands.push(parsed);
    }
    if let Some(text) = commands.iter().find_map(|c| refused_in_file(c.command)) {
        return Err(Failure::parameter(format!(
            "Cannot use command `{text}' with --load-file"
        )));
    }
    Ok(commands)
}

/// A `-R` file's text; a line that is not UTF-8 is refused by its number (ct reads
/// conntrack's options as UTF-8, as on the command line).
pub(super) fn text_of<'b>(name: &str, bytes: &'b [u8]) -> Result<&'b str, Failure> {
    std::str::from_utf8(bytes).map_err(|err| {
        let valid = &bytes[..err.valid_up_to()];
        let start = valid
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |at| at + 1);
        let end = bytes[start..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(bytes.len(), |at| start + at);
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        super::not_utf8(&format!("line {line} of {name}"), &bytes[start..end])
    })
}

/// `-R FILE`: the file read and parsed whole, as conntrack does before it runs a line;
/// then each line run in order, until one fails.
pub fn run(argv: &[String], labels_path: &Path) -> Result<u8, Failure> {
    let program = argv.first().map_or("conntrack", String::as_str);
    let Some(file) = argv.get(2) else {
        return Err(Failure::parameter(
            "-R needs a file to read, or - for standard input",
        ));
    };
    let name = if file == "-" {
        "/dev/stdin"
    } else {
        file.as_str()
    };
    let mut bytes = Vec::new();
    let read = if file == "-" {
        std::io::stdin().lock().read_to_end(&mut bytes)
    } else {
        std::fs::File::open(name).and_then(|mut file| file.read_to_end(&mut bytes))
    };
    if read.is_err() {
        return Err(Failure::parameter(format!(
            "Failed to open file {name} for reading"
        )));
    }
    let text = text_of(name, &bytes)?;
    let mut labels = Labels::new(labels_path);
    let mut notes = Notes::default();
    let parsed = parse_file(program, text, &mut labels, &mut notes);
    for note in &notes.0 {
        use std::io::Write;
        let _ = writeln!(crate::commands::Stderr, "{note}");
    }
    // Each line runs as it would from the command line, without its summary; the
    // first that fails stops the file.
    // conntrack's -o sets bits of one global mask, and every line is parsed before
    // any runs: each runs with the output of them all.
    let mut lines = parsed?;
    let output = lines.iter().fold(0, |bits, line| bits | line.values.output);
    for line in &mut lines {
        line.values.output = output;
    }
    for line in lines {
        match super::lower::run_from(&line, super::lower::Source::File)? {
            0 => {}
            code => return Ok(code),
        }
    }
    Ok(0)
}
