//! Saved dumps: a table read from a file instead of the kernel (`--input FILE`, `-` for
//! standard input), for support bundles analysed on another machine.
//!
//! A line is whatever `conntrack -L` printed (any of `-o extended,id,ktimestamp,labels`),
//! a line of `/proc/net/nf_conntrack` ([`crate::output::classic::read`]), one of ct's own
//! JSON Lines ([`crate::output::json::read`]), or a command line of `-o save`, conntrack's
//! or ct's ([`crate::output::save::read`]); the first character
//! tells which, line by line. Each line becomes an [`Entry`] and goes through the same
//! filters and printers as a dumped one.
//!
//! The first line that is not blank decides whether the file is a saved table at all:
//! when it is in none of those formats (conntrack's XML, ct's table, event lines, any
//! other file), nothing is read and [`UnreadableDump`] names what it looks like. After
//! it, a line that cannot be read is reported with its number, skipped and counted;
//! nothing stops the reading but an I/O error. A line longer than [`MAX_LINE`] bytes is
//! reported from its start without being held whole. Messages quote input through
//! [`excerpt`], at most [`EXCERPT_CHARS`] characters of it.

// The readers live beside their writers, in `output`; these names keep the line loop short.
use crate::output::classic::read as text;
use crate::output::json::read as json;
use crate::output::save::read as save;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};

use crate::labelmap::LabelMap;
use crate::model::entry::Entry;
pub use crate::output::{EXCERPT_CHARS, Excerpt, excerpt};

/// How much of the start of a dump is searched for the time it was taken.
const CAPTURE_TIME_WINDOW: usize = 64 * 1024;

/// The lines conntrack and ct print on stderr after a listing: harmless when a dump was
/// saved with `2>&1`, and skipped without a word.
const SUMMARY_ENDING: &str = " flow entries have been shown.";

/// The longest line read: a saved entry takes a few hundred bytes, a few kilobytes with
/// every label named. A longer line is reported by its start and skipped, its rest read
/// past in pieces, so that a huge line costs no more memory than this.
pub const MAX_LINE: usize = 64 * 1024;

/// A file that is not a saved table: its first line is in no format `--input` reads.
/// The message names the format it looks like; the command exits 2.
#[derive(Debug)]
pub struct UnreadableDump(pub String);

impl fmt::Display for UnreadableDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnreadableDump {}

/// What to save a table with instead, for [`UnreadableDump`]'s message.
const READABLE: &str =
    "save the table with conntrack -L, -L -o extended or -L -o save, or with ct list -o json";

/// An open saved dump.
pub struct SavedDump {
    /// The file's name as the user gave it, for messages (`-` is "standard input").
    name: String,
    reader: Box<dyn BufRead>,
    /// When the dump was taken (Unix seconds): what `delta-time=N` counts back from, and
    /// the "now" of printers, so that the text read back prints the same.
    captured_at: i64,
    labels: Option<LabelMap>,
}

/// What reading a dump found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadStats {
    /// Entries read, before any filter.
    pub entries: u64,
    /// Lines that could not be read (each reported as it was met).
    pub skipped: u64,
}

impl SavedDump {
    /// Opens `path` (`-`: standard input). `labels` names the label bits for
    /// `labels=name,...` (a number in a label list is a bit number either way).
    pub fn open(path: &str, labels: Option<LabelMap>) -> Result<SavedDump> {
        let (name, source, modified): (String, Box<dyn Read>, Option<i64>) = if path == "-" {
            ("standard input".into(), Box::new(io::stdin()), None)
        } else {
            let file = File::open(path).with_context(|| format!("cannot open {path}"))?;
            let modified = file
                .metadata()
                .and_then(|meta| meta.modified())
                .ok()
                .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
                .and_then(|since| i64::try_from(since.as_secs()).ok());
            (path.to_string(), Box::new(file), modified)
        };
        Self::from_reader(name, source, modified, labels)
    }

    /// A dump read from `source`. The time it was taken comes from its first line
    /// that shows both `delta-time=` and `[start=...]`, else from `modified` (the file's
    /// time), else it is now.
    pub fn from_reader(
        name: String,
        mut source: Box<dyn Read>,
        modified: Option<i64>,
        labels: Option<LabelMap>,
    ) -> Result<SavedDump> {
        let mut head = Vec::with_capacity(CAPTURE_TIME_WINDOW);
        (&mut source)
            .take(CAPTURE_TIME_WINDOW as u64)
            .read_to_end(&mut head)
            .with_context(|| format!("cannot read {name}"))?;
        let captured_at = String::from_utf8_lossy(&head)
            .lines()
            .find_map(text::capture_time)
            .or(modified)
            .unwrap_or_else(crate::output::unix_now_seconds);
        let reader = BufReader::with_capacity(64 * 1024, Cursor::new(head).chain(source));
        Ok(SavedDump {
            name,
            reader: Box::new(reader),
            captured_at,
            labels,
        })
    }

    /// When the dump was taken: the "now" to print its entries with.
    pub fn captured_at(&self) -> i64 {
        self.captured_at
    }

    /// The label names used to read it, for printing with.
    pub fn labels(&self) -> Option<&LabelMap> {
        self.labels.as_ref()
    }

    /// Reads every line, hands each entry to `on_entry`, and reports each line that
    /// cannot be read on `errors` (`ct: FILE:LINE: what; skipped`). A file whose first
    /// line that is not blank is in no format ct reads is an [`UnreadableDump`] error,
    /// before any entry.
    pub fn read<E: Write>(
        &mut self,
        errors: &mut E,
        mut on_entry: impl FnMut(&Entry<'_>) -> Result<()>,
    ) -> Result<ReadStats> {
        let mut stats = ReadStats::default();
        let mut line = Vec::with_capacity(1024);
        let mut text_scratch = text::TextScratch::new();
        let mut json_scratch = json::JsonScratch::default();
        let context = text::TextContext {
            labels: self.labels.as_ref(),
            captured_at: self.captured_at,
        };
        let mut first = true;
        for number in 1u64.. {
            let Some(length) = read_line(&mut self.reader, &mut line, MAX_LINE)
                .with_context(|| format!("cannot read {}", self.name))?
            else {
                break;
            };
            let parsed = match std::str::from_utf8(&line) {
                Ok(text) if length > line.len() as u64 => Err(too_long(text, length)),
                Err(error) if length > line.len() as u64 => {
                    // Cut inside a character, or not text at all.
                    let start = line.get(..error.valid_up_to()).unwrap_or_default();
                    Err(too_long(
                        std::str::from_utf8(start).unwrap_or_default(),
                        length,
                    ))
                }
                Err(_) => Err("the line is not UTF-8 text".to_string()),
                Ok(text) => match text.trim_end_matches(['\n', '\r']) {
                    text if is_ignorable(text) => continue,
                    text if text.trim_start().starts_with('{') => {
                        json::parse_line(text, &mut json_scratch)
                    }
                    text if save::is_save_line(text) => save::parse_line(text),
                    text => text::parse_line(text, &context, &mut text_scratch),
                },
            };
            match parsed {
                Ok(entry) => {
                    first = false;
                    stats.entries += 1;
                    on_entry(&entry)?;
                }
                Err(why) => {
                    if std::mem::take(&mut first) {
                        if let Some(unreadable) = self.unreadable(&line, number) {
                            return Err(unreadable.into());
                        }
                    }
                    stats.skipped += 1;
                    writeln!(errors, "ct: {}:{number}: {why}; skipped", self.name)?;
                }
            }
        }
        if stats.skipped > 0 {
            writeln!(
                errors,
                "ct: skipped {} of {} that could not be read.",
                crate::output::count(stats.skipped, "line", "lines"),
                self.name
            )?;
        }
        Ok(stats)
    }

    /// The error for a file whose first line, `line` (its start, when it is long), could
    /// not be read: None when it is in the shape of a line ct reads (a wrong one, to be
    /// skipped like any other), else what the file looks like.
    fn unreadable(&self, line: &[u8], number: u64) -> Option<UnreadableDump> {
        let name = &self.name;
        // A long line's start may end inside a character.
        let text = match std::str::from_utf8(line) {
            Err(error) if error.error_len().is_none() => line.get(..error.valid_up_to()),
            _ => Some(line),
        };
        let Some(Ok(text)) = text.map(std::str::from_utf8) else {
            let text = String::from_utf8_lossy(line);
            if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
                return Some(UnreadableDump(format!(
                    "{name} looks like binary data, not a saved table; {READABLE}"
                )));
            }
            return Some(UnreadableDump(format!(
                "{name} is not UTF-8 text (line {number}), as saved tables are; {READABLE}"
            )));
        };
        let text = text.trim();
        let first_word = text.split_ascii_whitespace().next().unwrap_or_default();
        let readable_shape = text.starts_with('{')
            || save::is_save_line(text)
            || matches!(first_word, "ipv4" | "ipv6" | "unknown")
            || crate::model::entry::protonum_of(first_word).is_some();
        if readable_shape {
            return None;
        }
        let what = if text.starts_with("<?xml") || text.starts_with("<conntrack") {
            "conntrack's XML output (-o xml)"
        } else if text.starts_with("<flow") {
            "XML flows (conntrack or ct -o xml)"
        } else if first_word == "PROTO" {
            "ct's table (-o table)"
        } else if text.starts_with('[') {
            "event lines (conntrack -E, ct watch)"
        } else if first_word == "entries" {
            "ct top's output"
        } else if text.chars().any(|c| c.is_control() && !c.is_whitespace()) {
            "binary data"
        } else {
            return Some(UnreadableDump(format!(
                "{name} is not a saved table: line {number} ('{}') is none of conntrack -L \
                 text, /proc/net/nf_conntrack, ct's JSON Lines or -o save lines; {READABLE}",
                excerpt(text)
            )));
        };
        Some(UnreadableDump(format!(
            "{name} looks like {what}, which --input cannot read; {READABLE}"
        )))
    }
}

/// Reads the next line into `line` (its newline kept), at most `max` bytes of it; the
/// rest of a longer line is read past in the reader's pieces. Returns the line's whole
/// length, or None at the end of the input.
fn read_line(reader: &mut dyn BufRead, line: &mut Vec<u8>, max: usize) -> io::Result<Option<u64>> {
    line.clear();
    let mut length = 0u64;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok((length > 0).then_some(length));
        }
        let (piece, ends) = match available.iter().position(|&b| b == b'\n') {
            Some(newline) => (&available[..=newline], true),
            None => (available, false),
        };
        let room = max.saturating_sub(line.len()).min(piece.len());
        line.extend_from_slice(&piece[..room]);
        let used = piece.len();
        length += used as u64;
        reader.consume(used);
        if ends {
            return Ok(Some(length));
        }
    }
}

/// The message for a line longer than [`MAX_LINE`], quoting its start.
fn too_long(start: &str, length: u64) -> String {
    format!(
        "the line is {length} bytes long, longer than any saved entry ({MAX_LINE} bytes at \
         most): '{}'",
        excerpt(start)
    )
}

/// Blank lines, and the summary conntrack or ct print after a listing.
fn is_ignorable(line: &str) -> bool {
    let line = line.trim();
    line.is_empty()
        || (line.ends_with(SUMMARY_ENDING)
            && (line.starts_with("conntrack v") || line.starts_with("ct: ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(text: &'static str) -> SavedDump {
        SavedDump::from_reader("test".into(), Box::new(text.as_bytes()), Some(1000), None).unwrap()
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_counted() {
        let mut saved = dump(concat!(
            "udp      17 29 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 [UNREPLIED] src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1 mark=0 use=1\n",
            "\n",
            "garbage\n",
            "conntrack v1.4.7 (conntrack-tools): 2 flow entries have been shown.\n",
            "{\"family\":\"ipv4\"\n",
        ));
        let mut errors = Vec::new();
        let mut sources = Vec::new();
        let stats = saved
            .read(&mut errors, |entry| {
                sources.push(entry.original.src);
                Ok(())
            })
            .unwrap();
        assert_eq!(
            stats,
            ReadStats {
                entries: 1,
                skipped: 2
            }
        );
        assert_eq!(sources, [Some("10.0.0.1".parse().unwrap())]);
        let errors = String::from_utf8(errors).unwrap();
        let lines: Vec<&str> = errors.lines().collect();
        assert_eq!(lines.len(), 3, "{errors}");
        assert!(lines[0].starts_with("ct: test:3: "), "{errors}");
        assert!(lines[1].starts_with("ct: test:5: "), "{errors}");
        assert_eq!(
            lines[2],
            "ct: skipped 2 lines of test that could not be read."
        );
    }

    #[test]
    fn the_capture_time_comes_from_the_dump_else_the_file() {
        let timed = dump(
            "tcp      6 116 TIME_WAIT src=10.201.1.2 dst=10.201.2.2 sport=35316 dport=8080 packets=6 bytes=420 src=10.201.2.2 dst=10.201.2.1 sport=8080 dport=35316 packets=4 bytes=316 [ASSURED] mark=0 delta-time=4 [start=Wed Nov 25 10:14:07 2026] use=1\n",
        );
        let expected = text::capture_time("delta-time=4 [start=Wed Nov 25 10:14:07 2026]");
        assert!(expected.is_some());
        assert_eq!(Some(timed.captured_at()), expected);
        assert_eq!(dump("udp 17 1 src=1.2.3.4\n").captured_at(), 1000);
    }

    fn read_all(text: &str) -> (Result<ReadStats>, String) {
        let mut saved = SavedDump::from_reader(
            "test".into(),
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec())),
            Some(1000),
            None,
        )
        .unwrap();
        let mut errors = Vec::new();
        let stats = saved.read(&mut errors, |_| Ok(()));
        (stats, String::from_utf8(errors).unwrap())
    }

    #[test]
    fn excerpts_cut_at_a_character_and_say_so() {
        let short = "a".repeat(EXCERPT_CHARS);
        assert_eq!(excerpt(&short).to_string(), short);
        let long = "a".repeat(EXCERPT_CHARS + 1);
        assert_eq!(excerpt(&long).to_string(), format!("{}…", &long[..79]));
        let wide = "é".repeat(200);
        let cut = excerpt(&wide).to_string();
        assert_eq!(cut.chars().count(), EXCERPT_CHARS);
        assert_eq!(cut, format!("{}…", "é".repeat(79)));
        assert_eq!(excerpt("").to_string(), "");
    }

    /// Every reader quotes a long piece of a line by its start: the message stays short
    /// whatever the line.
    #[test]
    fn messages_quote_at_most_an_excerpt_of_a_line() {
        let long = "x".repeat(20_000);
        let start = "x".repeat(79);
        let udp = "udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1";
        let cases = [
            (
                format!("{long} 6 30"),
                format!("unknown protocol '{start}…'"),
            ),
            (
                format!("udp 17 30 src={long}"),
                format!("'{start}…' is not an address"),
            ),
            (
                format!("{udp} mark={long}"),
                format!("'mark={}…': '{start}…' is not a number", &start[..74]),
            ),
            (format!("{udp} {long}"), format!("unknown field '{start}…'")),
            (
                format!("{{\"family\":\"{long}\"}}"),
                format!("'family': unknown family '{start}…'"),
            ),
            (
                format!("{{\"{long}\":1}}"),
                format!("unknown key '{start}…'"),
            ),
            (
                format!("{{\"family\":\"ipv4\",\"timeout\":\"{long}\"}}"),
                format!(
                    "'timeout': invalid type: string \"{start}…\", expected an integer from 0 to \
                     4294967295"
                ),
            ),
            (
                format!("-A -s 10.0.0.1 -d 10.0.0.2 -p {long}"),
                format!("'-p {start}…': unknown protocol"),
            ),
        ];
        for (line, expected) in cases {
            let (stats, errors) = read_all(&format!("{udp}\n{line}\n"));
            assert_eq!(stats.unwrap().skipped, 1);
            let first = errors.lines().next().unwrap();
            assert_eq!(first, format!("ct: test:2: {expected}; skipped"));
        }
    }

    #[test]
    fn a_line_past_the_limit_is_reported_by_its_start() {
        let udp = "udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2 src=10.0.0.2 dst=10.0.0.1 sport=2 dport=1";
        // Long enough to span many reads of the reader's buffer, and not UTF-8 where
        // the limit cuts it.
        let mut long = "udp 17 30 ".to_string();
        long.push_str(&"é".repeat(MAX_LINE));
        let text = format!("{udp}\n{long}\n{udp}\n");
        let mut saved = SavedDump::from_reader(
            "test".into(),
            Box::new(std::io::Cursor::new(text.into_bytes())),
            Some(1000),
            None,
        )
        .unwrap();
        let mut errors = Vec::new();
        let mut entries = 0;
        let stats = saved
            .read(&mut errors, |_| {
                entries += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!((stats.entries, stats.skipped, entries), (2, 1, 2));
        let length = long.len() + 1;
        let quoted = format!("udp 17 30 {}…", "é".repeat(69));
        assert_eq!(
            String::from_utf8(errors).unwrap(),
            format!(
                "ct: test:2: the line is {length} bytes long, longer than any saved entry \
                 (65536 bytes at most): '{quoted}'; skipped\n\
                 ct: skipped 1 line of test that could not be read.\n"
            )
        );
    }

    #[test]
    fn read_line_keeps_at_most_its_limit() {
        let mut reader = std::io::BufReader::with_capacity(4, &b"abcdefghij\nxy\nz"[..]);
        let mut line = Vec::new();
        let mut lines = Vec::new();
        while let Some(length) = read_line(&mut reader, &mut line, 5).unwrap() {
            lines.push((length, String::from_utf8(line.clone()).unwrap()));
        }
        assert_eq!(
            lines,
            [
                (11, "abcde".to_string()),
                (3, "xy\n".into()),
                (1, "z".into())
            ]
        );
    }

    /// The first line that is not blank decides: a format ct does not read is refused
    /// by name, before anything is read; a wrong line of a format it reads is skipped.
    #[test]
    fn the_first_line_decides_whether_the_file_is_a_saved_table() {
        let advice = "save the table with conntrack -L, -L -o extended or -L -o save, or with \
                      ct list -o json";
        let cases = [
            (
                "\n<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<conntrack>\n",
                format!(
                    "test looks like conntrack's XML output (-o xml), which --input cannot read; {advice}"
                ),
            ),
            (
                "<flow><meta direction=\"original\"></meta></flow>\n",
                format!(
                    "test looks like XML flows (conntrack or ct -o xml), which --input cannot read; {advice}"
                ),
            ),
            (
                "PROTO  SOURCE      DESTINATION\n",
                format!(
                    "test looks like ct's table (-o table), which --input cannot read; {advice}"
                ),
            ),
            (
                "    [NEW] udp      17 30 src=10.0.0.1 dst=10.0.0.2 sport=1 dport=2\n",
                format!(
                    "test looks like event lines (conntrack -E, ct watch), which --input cannot read; {advice}"
                ),
            ),
            (
                "entries 12 of 262144 (0.0% full)\n",
                format!("test looks like ct top's output, which --input cannot read; {advice}"),
            ),
            (
                "\u{7f}ELF\u{2}\u{1}\n",
                format!("test looks like binary data, which --input cannot read; {advice}"),
            ),
            (
                "hello world\nudp 17 30 src=10.0.0.1\n",
                format!(
                    "test is not a saved table: line 1 ('hello world') is none of conntrack -L \
                     text, /proc/net/nf_conntrack, ct's JSON Lines or -o save lines; {advice}"
                ),
            ),
        ];
        for (text, expected) in cases {
            let (stats, errors) = read_all(text);
            let error = stats.unwrap_err();
            assert!(error.is::<UnreadableDump>(), "{text}");
            assert_eq!(error.to_string(), expected);
            assert_eq!(errors, "", "{text}");
        }
        // A first line too long to hold, cut inside a character, is still told by its
        // start.
        let long = format!("x{}\n", "é".repeat(MAX_LINE));
        let error = read_all(&long).0.unwrap_err();
        assert!(
            error.to_string().starts_with(&format!(
                "test is not a saved table: line 1 ('x{}…')",
                "é".repeat(78)
            )),
            "{error}"
        );
        // Not UTF-8 at all.
        let mut saved = SavedDump::from_reader(
            "test".into(),
            Box::new(&b"\xff\xfeu\x00d\x00p\x00\n"[..]),
            Some(1000),
            None,
        )
        .unwrap();
        let error = saved.read(&mut Vec::new(), |_| Ok(())).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("test looks like binary data, not a saved table; {advice}")
        );
        // A wrong line in a format ct reads is skipped, first or not.
        for first in [
            "udp 17 30 src=10.0.0.999",
            "{\"family\":1}",
            "-A -s x",
            "ipv4 2 x",
        ] {
            let (stats, errors) = read_all(&format!("{first}\n"));
            assert_eq!(stats.unwrap().skipped, 1, "{first}");
            assert!(errors.starts_with("ct: test:1: "), "{errors}");
        }
    }
}
