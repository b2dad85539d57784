//! `ct create` (conntrack -I, and -A with --exist-ok) and `ct restore` (conntrack -R of
//! `-o save` lines): entries made from a plan or from saved lines, through
//! [`Conntrack::create_entries`], and `-D` lines deleted through the delete op.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};

use anyhow::{Context, Result, anyhow};

use super::{Stderr, connect, prefix};
use crate::input::UnreadableDump;
use crate::model::create::{Creation, Existing, NewEntry, TrackerExtras};
use crate::model::expect::NewExpectation;
use crate::netlink::{Conntrack, DeleteBatch, Deletion};
use crate::output::excerpt;
use crate::output::save::read::parse_saved;
use crate::plan;

pub fn run(plan: plan::Create) -> Result<()> {
    let mut conntrack = connect(&plan.target)?;
    let summary = match conntrack.create(&plan.entry, plan.existing)? {
        Creation::Existed => {
            "0 flow entries have been created (one with this tuple exists and was kept)."
        }
        _ => "1 flow entries have been created.",
    };
    let _ = writeln!(Stderr, "{}{summary}", prefix());
    Ok(())
}

/// `ct create expect`: one expectation, "ct: 1 expectations have been created." on
/// stderr; the kernel's refusal is an error in its words (exit 1).
pub fn run_expect(plan: plan::CreateExpect) -> Result<()> {
    match answer_expect(&plan)? {
        Creation::Created => {
            let _ = writeln!(Stderr, "{}1 expectations have been created.", prefix());
            Ok(())
        }
        Creation::Existed => Err(anyhow!(
            "cannot create the expectation: {}",
            NewExpectation::refusal(libc::EEXIST)
        )),
        Creation::Refused(errno) => Err(anyhow!(
            "cannot create the expectation: {}",
            NewExpectation::refusal(errno)
        )),
    }
}

/// The plan's expectation sent to the kernel, and its answer as it is (conntrack's -I
/// expect words a refusal its own way).
pub fn answer_expect(plan: &plan::CreateExpect) -> Result<Creation> {
    connect(&plan.target)?.create_expectation(&plan.expectation)
}

/// The plan's entry sent to the kernel, and its answer as it is: an existing entry or
/// a refusal is no error here (conntrack's -I and -A word them their own way).
pub fn answer(plan: &plan::Create) -> Result<Creation> {
    let mut conntrack = connect(&plan.target)?;
    Ok(conntrack
        .create_entries(std::slice::from_ref(&plan.entry))?
        .pop()
        .unwrap_or(Creation::Created))
}

/// What one saved line asks for.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// `-I` (fail on an existing entry) or `-A` (keep it).
    Create(NewEntry, Existing),
    /// `-D`: the entry of this original tuple and zone.
    Delete(NewEntry),
}

impl Step {
    fn is_create(&self) -> bool {
        matches!(self, Step::Create(..))
    }
}

/// What the lines did, for the summary.
#[derive(Debug, Default)]
struct Tally {
    created: u64,
    kept: u64,
    deleted: u64,
    failed: u64,
}

pub fn restore(plan: plan::Restore) -> Result<()> {
    let plan::Restore { target, file } = plan;
    let name = if file == "-" {
        "standard input".to_string()
    } else {
        file.clone()
    };
    let reader: Box<dyn BufRead> = if file == "-" {
        Box::new(BufReader::new(io::stdin()))
    } else {
        Box::new(BufReader::new(
            File::open(&file).with_context(|| format!("cannot open {file}"))?,
        ))
    };
    let steps = read_steps(reader, &name)?;
    let mut conntrack = connect(&target)?;
    let mut tally = Tally::default();
    // Runs of the same kind go together, many to a datagram; the order of the lines
    // holds between runs.
    for run in steps.chunk_by(|a, b| a.1.is_create() == b.1.is_create()) {
        if run[0].1.is_create() {
            create_run(&mut conntrack, run, &name, &mut tally)?;
        } else {
            delete_run(&mut conntrack, run, &name, &mut tally)?;
        }
    }
    let mut err = Stderr;
    let _ = writeln!(
        err,
        "{}{} flow entries have been created.",
        prefix(),
        tally.created
    );
    if tally.kept > 0 {
        let _ = writeln!(
            err,
            "{}{} flow entries existed already and were kept (-A lines).",
            prefix(),
            tally.kept
        );
    }
    if tally.deleted > 0 {
        let _ = writeln!(
            err,
            "{}{} flow entries have been deleted.",
            prefix(),
            tally.deleted
        );
    }
    if tally.failed > 0 {
        return Err(anyhow!(
            "{} of the lines of {name} failed (each is reported above)",
            tally.failed
        ));
    }
    Ok(())
}

/// Every line read before anything is applied: a line that cannot be read is reported
/// by its number, and then nothing is applied (exit 2).
fn read_steps(mut reader: Box<dyn BufRead>, name: &str) -> Result<Vec<(u64, Step)>> {
    let mut steps = Vec::new();
    let mut bad = 0u64;
    let mut bytes = Vec::new();
    let mut number = 0u64;
    loop {
        bytes.clear();
        let read = reader
            .read_until(b'\n', &mut bytes)
            .with_context(|| format!("cannot read {name}"))?;
        if read == 0 {
            break;
        }
        number += 1;
        let mut report = |what: String| {
            bad += 1;
            let _ = writeln!(Stderr, "{}{name}:{number}: {what}", prefix());
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            report("not UTF-8 text".into());
            continue;
        };
        let line = text.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match step(line) {
            Ok(step) => steps.push((number, step)),
            Err(why) => report(format!("{why}: '{}'", excerpt(line))),
        }
    }
    if bad > 0 {
        return Err(UnreadableDump(format!(
            "{name}: {bad} line{} cannot be read (reported above); nothing was restored",
            if bad == 1 { "" } else { "s" }
        ))
        .into());
    }
    Ok(steps)
}

/// One saved line as what it asks for.
fn step(line: &str) -> Result<Step, String> {
    let command = line.split_ascii_whitespace().next().unwrap_or_default();
    if command == "-U" {
        return Err(
            "an -U (update) line is not restored; restore -I, -A and -D lines, or change \
             entries with ct update"
                .into(),
        );
    }
    let (entry, named) = parse_saved(line)?;
    let new = NewEntry::from_saved(&entry, named);
    if command != "-D" {
        // Tags or a role without their state would not be sent; a state without them
        // is refused by the kernel: the line is unreadable, as to conntrack -R.
        TrackerExtras::of(&new).check(new.original.protonum)?;
    }
    Ok(match command {
        "-I" => Step::Create(new, Existing::Fail),
        "-D" => Step::Delete(new),
        _ => Step::Create(new, Existing::Keep),
    })
}

fn create_run(
    conntrack: &mut Conntrack,
    run: &[(u64, Step)],
    name: &str,
    tally: &mut Tally,
) -> Result<()> {
    let entries: Vec<NewEntry> = run
        .iter()
        .filter_map(|(_, step)| match step {
            Step::Create(entry, _) => Some(*entry),
            Step::Delete(_) => None,
        })
        .collect();
    let answers = conntrack.create_entries(&entries)?;
    for ((number, step), answer) in run.iter().zip(answers) {
        let Step::Create(_, existing) = step else {
            continue;
        };
        match (answer, answer.reason(*existing)) {
            (_, Some(reason)) => {
                tally.failed += 1;
                let _ = writeln!(
                    Stderr,
                    "{}{name}:{number}: cannot create the entry: {reason}",
                    prefix()
                );
            }
            (Creation::Existed, None) => tally.kept += 1,
            _ => tally.created += 1,
        }
    }
    Ok(())
}

fn delete_run(
    conntrack: &mut Conntrack,
    run: &[(u64, Step)],
    name: &str,
    tally: &mut Tally,
) -> Result<()> {
    let mut batch = DeleteBatch::default();
    for (_, step) in run {
        if let Step::Delete(entry) = step {
            batch.add_tuple(entry.family.raw(), &entry.original, entry.zone);
        }
    }
    let answers = conntrack.delete_entries(&batch)?;
    for ((number, _), answer) in run.iter().zip(answers) {
        let why = match answer {
            Deletion::Deleted => {
                tally.deleted += 1;
                continue;
            }
            Deletion::AlreadyGone => "no entry has this tuple".to_string(),
            Deletion::Refused(errno) => format!("{:#}", Deletion::refusal(errno)),
        };
        tally.failed += 1;
        let _ = writeln!(
            Stderr,
            "{}{name}:{number}: cannot delete the entry: {why}",
            prefix()
        );
    }
    Ok(())
}
