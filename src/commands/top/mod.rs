//! `ct top`: the entries grouped by what they have in common, the largest groups
//! first, under the table's headline, as a table, JSON Lines or plain lines.
//!
//! Each reading is one dump, grouped as it streams in: nothing per entry is kept. On a
//! terminal the readings repeat in the live view ([`live`]).

pub mod live;

use std::io::Write;

use anyhow::{Context, Result};

use super::{Stderr, connect, load_labels, stdout};
use crate::filter::Filter;
use crate::labelmap::LabelMap;
use crate::model::entry::Entry;
use crate::model::group::{Grouping, SortBy, intern_netns};
use crate::model::stats::Headline;
use crate::model::table::Table;
use crate::netlink::Conntrack;
use crate::netlink::netns::Namespace;
use crate::output::top::{self, TopView};
use crate::plan::{self, Source, Target};

pub fn run(plan: plan::Top) -> Result<()> {
    let plan::Top {
        source,
        filter,
        labels,
        live,
        by,
        sort,
        limit,
        interval,
        format,
    } = plan;
    let labels = load_labels(&labels);
    let order = sort.order();
    let grouping = Grouping::new(by.clone());
    let reading = match source {
        Source::Saved(saved) => read_saved(&saved, &filter, grouping)?,
        Source::Kernel(target) => {
            let mut tables = match target.all() {
                true => Tables::All(target.clone()),
                false => Tables::One(connect(&target)?),
            };
            if live {
                let settings = live::Settings {
                    fields: by,
                    filtered: filter != Filter::default(),
                    filter,
                    order,
                    limit,
                    interval,
                    labels,
                };
                return live::run(tables, settings);
            }
            // What was skipped is said even when nothing could be read.
            let mut skipped = Vec::new();
            let reading = read_table_noting(&mut tables, &filter, grouping, &mut skipped);
            for problem in &skipped {
                writeln!(Stderr, "{}{problem}", crate::commands::prefix())?;
            }
            reading?
        }
    };
    for problem in &reading.skipped {
        writeln!(Stderr, "{}{problem}", crate::commands::prefix())?;
    }
    let view = reading.view(order, limit, labels.as_ref(), None);
    let mut out = stdout();
    top::print(&mut out, &view, format)?;
    out.flush()?;
    Ok(())
}

/// One reading of the table: its headline and its entries, grouped.
pub struct Reading {
    /// The kernel's view of the table; none for a saved dump.
    pub headline: Option<Headline>,
    /// Entries in a saved dump, before filters (the kernel's count stands for it
    /// otherwise).
    pub saved_entries: Option<u64>,
    pub grouping: Grouping,
    /// Why entries the kernel sent could not be decoded, one message each: kept for the
    /// caller to report, since the live view cannot write to stderr under its screen.
    pub skipped: Vec<String>,
}

impl Reading {
    /// The first `limit` groups in `order`, ready to print.
    pub fn view<'a>(
        &'a self,
        order: SortBy,
        limit: usize,
        labels: Option<&'a LabelMap>,
        interval: Option<f64>,
    ) -> TopView<'a> {
        let table_entries = self
            .headline
            .and_then(|headline| headline.global.entries)
            .map(u64::from)
            .or(self.saved_entries)
            .unwrap_or(self.grouping.entries());
        TopView {
            grouping: &self.grouping,
            groups: self.grouping.top(order, limit),
            order,
            table_entries,
            headline: self.headline,
            labels,
            interval,
        }
    }
}

/// Where `ct top` reads: one namespace's table, or every namespace's (`--all-netns`),
/// found again at each reading so that the live view sees namespaces come and go.
pub enum Tables {
    One(Conntrack),
    All(Target),
}

impl Tables {
    /// Runs `each` on the socket of every table with its namespace's interned label
    /// (empty for one table), through `commands::for_each_place` and its error policy:
    /// a namespace that cannot be read is noted in `problems` (the live view cannot
    /// write to stderr under its screen) and skipped.
    fn for_each(
        &mut self,
        problems: &mut Vec<String>,
        mut each: impl FnMut(&mut Conntrack, &'static str) -> Result<()>,
    ) -> Result<()> {
        let target = match self {
            Tables::One(conntrack) => return each(conntrack, ""),
            Tables::All(target) => target,
        };
        super::for_each_place(
            &target.scope,
            |problem| problems.push(problem),
            |place| {
                let label = intern_netns(&place.tag().map(Namespace::label).unwrap_or_default());
                let mut conntrack = Conntrack::open_at(place, target.socket_buffer)?;
                each(&mut conntrack, label)
            },
        )
    }

    /// Dumps every table and hands each entry that passes `filter` to `each` with its
    /// namespace's label; under `--all-netns` a namespace the kernel counts empty is
    /// not dumped (`commands::may_hold_entries`). Entries that cannot be decoded are
    /// noted in `problems`.
    pub fn for_each_entry(
        &mut self,
        filter: &Filter,
        problems: &mut Vec<String>,
        mut each: impl FnMut(&Entry<'_>, &'static str),
    ) -> Result<()> {
        let mut undecodable = Vec::new();
        let all = matches!(self, Tables::All(_));
        self.for_each(problems, |conntrack, netns| {
            if all && !super::may_hold_entries(conntrack) {
                return Ok(());
            }
            dump(conntrack, filter, &mut undecodable, |entry| {
                each(entry, netns)
            })
        })?;
        problems.append(&mut undecodable);
        Ok(())
    }
}

/// Dumps the table behind `conntrack`, handing each entry that passes `filter` to
/// `each` and noting each one that cannot be decoded in `undecodable`.
fn dump(
    conntrack: &mut Conntrack,
    filter: &Filter,
    undecodable: &mut Vec<String>,
    mut each: impl FnMut(&Entry<'_>),
) -> Result<()> {
    conntrack.entries(
        Table::Conntrack,
        filter,
        |entry, _| {
            each(entry);
            Ok(())
        },
        |err| {
            undecodable.push(format!("skipped an entry the kernel sent: {err}"));
            Ok(())
        },
    )?;
    Ok(())
}

/// Reads the headline, then dumps the tables into `grouping` (with as much of `filter`
/// as the kernel takes, the rest checked here).
pub fn read_table(tables: &mut Tables, filter: &Filter, grouping: Grouping) -> Result<Reading> {
    let mut skipped = Vec::new();
    read_table_noting(tables, filter, grouping, &mut skipped).map(|mut reading| {
        reading.skipped = skipped;
        reading
    })
}

/// [`read_table`], noting what was skipped in `skipped` whether or not it failed. Each
/// namespace is entered once per reading, for its headline and then its entries.
fn read_table_noting(
    tables: &mut Tables,
    filter: &Filter,
    mut grouping: Grouping,
    skipped: &mut Vec<String>,
) -> Result<Reading> {
    let mut headlines = Vec::new();
    let mut undecodable = Vec::new();
    let all = matches!(tables, Tables::All(_));
    tables.for_each(skipped, |conntrack, netns| {
        let global = conntrack.global_stats()?;
        let empty = global.entries == Some(0);
        headlines.push((
            netns,
            Headline::new(global, &conntrack.cpu_stats(Table::Conntrack)?),
        ));
        // Under --all-netns a namespace the kernel counts empty is not dumped (see
        // `commands::may_hold_entries`); its headline still counts.
        if empty && all {
            return Ok(());
        }
        grouping.set_netns(netns);
        dump(conntrack, filter, &mut undecodable, |entry| {
            grouping.add(entry)
        })
    })?;
    skipped.append(&mut undecodable);
    // One table's headline, or the sum of every namespace's with the fullest named.
    let headline = match tables {
        Tables::One(_) => headlines
            .pop()
            .map(|(_, headline)| headline)
            .context("the kernel sent no statistics")?,
        Tables::All(_) => Headline::of_namespaces(&headlines),
    };
    Ok(Reading {
        headline: Some(headline),
        saved_entries: None,
        grouping,
        skipped: Vec::new(),
    })
}

/// Groups the entries of a saved dump that pass `filter`.
pub fn read_saved(saved: &plan::Saved, filter: &Filter, mut grouping: Grouping) -> Result<Reading> {
    let mut dump = super::open_saved(saved)?;
    let stats = dump.read(&mut Stderr, |entry| {
        add_if_matching(&mut grouping, filter, entry);
        Ok(())
    })?;
    Ok(Reading {
        headline: None,
        saved_entries: Some(stats.entries),
        grouping,
        skipped: Vec::new(),
    })
}

fn add_if_matching(grouping: &mut Grouping, filter: &Filter, entry: &Entry<'_>) {
    if filter.matches(entry) {
        grouping.add(entry);
    }
}
