//! Saved dumps: a table read from a file instead of the kernel (`--input FILE`, `-` for
//! standard input), for support bundles analysed on another machine.
//!
//! A line is whatever `conntrack -L` printed (any of `-o extended,id,ktimestamp,labels`),
//! a line of `/proc/net/nf_conntrack` ([`text`]), or one of ct's own JSON Lines
//! ([`json`]); the first character tells which, line by line. Each line becomes an
//! [`Entry`] and goes through the same filters and printers as a dumped one. A line that
//! cannot be read is reported with its number, skipped and counted; nothing in a file
//! stops the reading but an I/O error.

pub mod json;
pub mod text;

use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Write};
use std::time::UNIX_EPOCH;

use anyhow::{Context, Result};

use crate::labelmap::LabelMap;
use crate::model::entry::Entry;

/// How much of the start of a dump is searched for the time it was taken.
const CAPTURE_TIME_WINDOW: usize = 64 * 1024;

/// The lines conntrack and ct print on stderr after a listing: harmless when a dump was
/// saved with `2>&1`, and skipped without a word.
const SUMMARY_ENDING: &str = " flow entries have been shown.";

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
    /// cannot be read on `errors` (`ct: FILE:LINE: what; skipped`).
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
        for number in 1u64.. {
            line.clear();
            let read = self
                .reader
                .read_until(b'\n', &mut line)
                .with_context(|| format!("cannot read {}", self.name))?;
            if read == 0 {
                break;
            }
            let parsed = match std::str::from_utf8(&line) {
                Err(_) => Err("the line is not UTF-8 text".to_string()),
                Ok(text) => match text.trim_end_matches(['\n', '\r']) {
                    text if is_ignorable(text) => continue,
                    text if text.trim_start().starts_with('{') => {
                        json::parse_line(text, &mut json_scratch)
                    }
                    text => text::parse_line(text, &context, &mut text_scratch),
                },
            };
            match parsed {
                Ok(entry) => {
                    stats.entries += 1;
                    on_entry(&entry)?;
                }
                Err(why) => {
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
}
