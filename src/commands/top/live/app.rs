//! The live view's state: what the screen shows and what the keys change. It never
//! touches the socket or the terminal; a key that needs the kernel returns an [`Action`].

use std::time::{Duration, Instant};

use anyhow::Result;
use clap::Parser;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::widgets::TableState;

use super::Settings;
use crate::cli::FilterArgs;
use crate::commands::top::{Reading, Tables, read_table};
use crate::filter::Filter;
use crate::labelmap::LabelMap;
use crate::model::group::{Grouping, KeyField, KeyValue, SortBy};
use crate::output::classic::{ClassicOptions, ClassicPrinter};
use crate::output::printer::push_line_tag;
use crate::output::top::{TopView, push_value};
use crate::output::unix_now_seconds;
use crate::output::{Frame, Print, Record};
use crate::plan;

/// What a key asks of the loop that owns the socket.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Action {
    None,
    /// Read the table now (the grouping or the filter changed).
    Refresh,
    /// List the entries of the group with this key.
    Open(Vec<KeyValue>),
}

/// Which screen is up.
pub(super) enum Page {
    Groups,
    Entries(EntryList),
}

/// One group's entries as conntrack's lines, as they were when the group was opened.
pub(super) struct EntryList {
    /// The group's key, as `src=10.0.0.1 dport=80`.
    pub(super) title: String,
    pub(super) lines: Vec<String>,
    /// How many entries the group had (more than `lines` when they were cut).
    pub(super) total: u64,
    /// The first line and column shown.
    pub(super) top: usize,
    pub(super) left: usize,
}

/// At most this many entries of an opened group are kept, so that opening a group of a
/// million entries does not hold a million lines.
const MAX_ENTRY_LINES: usize = 10_000;

/// The one-line prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PromptKind {
    By,
    Filter,
}

pub(super) struct Prompt {
    pub(super) kind: PromptKind,
    pub(super) text: String,
}

/// A line for the status bar, until the next key.
pub(super) struct Notice {
    pub(super) text: String,
    pub(super) error: bool,
}

/// The live view's state: what is shown and what the keys change.
pub(super) struct App {
    pub(super) fields: Vec<KeyField>,
    pub(super) filter: Filter,
    /// The filter as typed at the `f` prompt; `None` while the command line's is used.
    filter_text: Option<String>,
    /// Whether the command line gave a filter.
    filtered_on_command_line: bool,
    pub(super) order: SortBy,
    pub(super) limit: usize,
    pub(super) interval: Duration,
    pub(super) labels: Option<LabelMap>,
    /// The latest reading that succeeded, and when it was taken.
    pub(super) reading: Option<(Reading, Instant)>,
    /// Seconds between that reading and the one before, when new entries were counted.
    pub(super) rate_seconds: Option<f64>,
    /// The next reading must not count new entries against the last one: the filter
    /// changed, so entries the old one hid would all look new.
    pub(super) forget_ids: bool,
    pub(super) paused: bool,
    pub(super) table: TableState,
    /// Rows the group table showed at the last draw, for PgUp and PgDn.
    pub(super) page_rows: usize,
    pub(super) page: Page,
    pub(super) prompt: Option<Prompt>,
    pub(super) message: Option<Notice>,
    /// Why the last reading failed, until one succeeds.
    pub(super) refresh_error: Option<String>,
    pub(super) quit: bool,
}

impl App {
    pub(super) fn new(settings: Settings) -> App {
        App {
            fields: settings.fields,
            filter: settings.filter,
            filter_text: None,
            filtered_on_command_line: settings.filtered,
            order: settings.order,
            limit: settings.limit,
            interval: settings.interval,
            labels: settings.labels,
            reading: None,
            rate_seconds: None,
            forget_ids: false,
            paused: false,
            table: TableState::default().with_selected(0),
            page_rows: 10,
            page: Page::Groups,
            prompt: None,
            message: None,
            refresh_error: None,
            quit: false,
        }
    }

    /// Reads the table again. On failure the last reading stays on screen with the
    /// error under it, and the next interval tries again.
    pub(super) fn refresh(&mut self, tables: &mut Tables) {
        let previous = match self.reading.as_mut() {
            Some((reading, _)) if !self.forget_ids => Some(&mut reading.grouping),
            _ => None,
        };
        let grouping = Grouping::following(self.fields.clone(), previous);
        match read_table(tables, &self.filter, grouping) {
            Ok(reading) => self.take_reading(reading, Instant::now()),
            Err(err) => self.refresh_error = Some(format!("reading the table failed: {err:#}")),
        }
    }

    /// Makes `reading`, taken at `at`, the one shown.
    pub(super) fn take_reading(&mut self, reading: Reading, at: Instant) {
        self.rate_seconds = match &self.reading {
            Some((_, before)) if reading.grouping.has_rates() => {
                Some(at.duration_since(*before).as_secs_f64())
            }
            _ => None,
        };
        match reading.skipped.as_slice() {
            [] => {}
            [only] => self.show_error(only.clone()),
            [first, rest @ ..] => {
                self.show_error(format!("{first} (and {} more)", rest.len()));
            }
        }
        self.reading = Some((reading, at));
        self.forget_ids = false;
        self.refresh_error = None;
        self.clamp_selection();
    }

    /// Lists the entries of the group named `key`: a new dump with the current filter,
    /// keeping the entries the grouping puts in that group.
    pub(super) fn open(&mut self, tables: &mut Tables, key: &[KeyValue]) {
        let Some((reading, _)) = &self.reading else {
            return;
        };
        let grouping = Grouping::new(reading.grouping.fields().to_vec());
        match group_entries(tables, &self.filter, &grouping, key) {
            Ok((lines, total)) => {
                self.page = Page::Entries(EntryList {
                    title: key_text(grouping.fields(), key, self.labels.as_ref()),
                    lines,
                    total,
                    top: 0,
                    left: 0,
                });
            }
            Err(err) => self.show_error(format!("listing the group failed: {err:#}")),
        }
    }

    fn show_error(&mut self, text: String) {
        self.message = Some(Notice { text, error: true });
    }

    /// How many groups the table lists.
    fn rows(&self) -> usize {
        self.reading
            .as_ref()
            .map_or(0, |(reading, _)| reading.grouping.len().min(self.limit))
    }

    /// Keeps the selection on a row that exists (the list can shrink).
    fn clamp_selection(&mut self) {
        let last = self.rows().saturating_sub(1);
        let selected = self.table.selected().unwrap_or(0).min(last);
        self.table.select(Some(selected));
    }

    pub(super) fn on_event(&mut self, event: Event) -> Action {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.on_key(key),
            // A resize needs only the redraw that follows every event.
            _ => Action::None,
        }
    }

    fn on_key(&mut self, key: KeyEvent) -> Action {
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            self.quit = true;
            return Action::None;
        }
        // A message answers the key before; the next key clears it.
        self.message = None;
        if self.prompt.is_some() {
            return self.on_prompt_key(key);
        }
        match self.page {
            Page::Groups => self.on_groups_key(key),
            Page::Entries(ref mut list) => {
                if list.on_key(key, self.page_rows) {
                    self.page = Page::Groups;
                }
                Action::None
            }
        }
    }

    fn on_groups_key(&mut self, key: KeyEvent) -> Action {
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => self.quit = true,
            KeyCode::Char('s') => self.order = self.order.next(),
            KeyCode::Char('b') => self.start_prompt(PromptKind::By),
            KeyCode::Char('f') => self.start_prompt(PromptKind::Filter),
            KeyCode::Char(' ' | 'p') => {
                self.paused = !self.paused;
                // Resuming reads at once rather than showing a stale reading for
                // another interval.
                if !self.paused {
                    return Action::Refresh;
                }
            }
            KeyCode::Enter => return self.selected_key().map_or(Action::None, Action::Open),
            code => self.move_selection(code),
        }
        Action::None
    }

    /// Moves the selection for an arrow, page or Home/End key; other keys do nothing.
    fn move_selection(&mut self, code: KeyCode) {
        let rows = self.rows();
        let at = self.table.selected().unwrap_or(0);
        let page = self.page_rows.max(1);
        let to = match code {
            KeyCode::Up => at.saturating_sub(1),
            KeyCode::Down => at + 1,
            KeyCode::PageUp => at.saturating_sub(page),
            KeyCode::PageDown => at + page,
            KeyCode::Home => 0,
            KeyCode::End => rows,
            _ => return,
        };
        self.table.select(Some(to.min(rows.saturating_sub(1))));
    }

    /// The key of the selected group, in the order shown.
    pub(super) fn selected_key(&self) -> Option<Vec<KeyValue>> {
        let (reading, _) = self.reading.as_ref()?;
        let groups = reading.grouping.top(self.order, self.limit);
        let group = groups.get(self.table.selected()?)?;
        Some(group.key.to_vec())
    }

    fn start_prompt(&mut self, kind: PromptKind) {
        self.prompt = Some(Prompt {
            kind,
            text: String::new(),
        });
    }

    fn on_prompt_key(&mut self, key: KeyEvent) -> Action {
        let Some(prompt) = self.prompt.as_mut() else {
            return Action::None;
        };
        match key.code {
            KeyCode::Esc => self.prompt = None,
            KeyCode::Backspace => {
                prompt.text.pop();
            }
            KeyCode::Char(c) => prompt.text.push(c),
            KeyCode::Enter => {
                let Prompt { kind, text } = self.prompt.take().expect("a prompt is open");
                return self.apply_prompt(kind, &text);
            }
            _ => {}
        }
        Action::None
    }

    /// Applies what was typed at a prompt; a mistake leaves everything as it was and
    /// says why.
    fn apply_prompt(&mut self, kind: PromptKind, text: &str) -> Action {
        let applied = match kind {
            PromptKind::By => parse_fields(text).map(|fields| self.fields = fields),
            PromptKind::Filter => parse_filter(text).map(|filter| {
                self.filter = filter;
                self.filter_text = Some(text.trim().to_string());
                self.forget_ids = true;
            }),
        };
        match applied {
            Ok(()) => Action::Refresh,
            Err(err) => {
                self.show_error(err);
                Action::None
            }
        }
    }

    /// The second line: what is grouped and how, what is filtered, what is not shown.
    pub(super) fn summary(&self, view: &TopView<'_>) -> String {
        let mut text = view.summary();
        match &self.filter_text {
            Some(filter) if !filter.is_empty() => text.push_str(&format!(", filter {filter}")),
            Some(_) => {}
            None if self.filtered_on_command_line => text.push_str(", filtered"),
            None => {}
        }
        let hidden = view.grouping.len().saturating_sub(view.groups.len());
        if hidden > 0 {
            text.push_str(&format!(" ({hidden} more)"));
        }
        text
    }
}

impl EntryList {
    /// Scrolls for a key; true when the key leaves the list.
    fn on_key(&mut self, key: KeyEvent, page: usize) -> bool {
        let last = self.lines.len().saturating_sub(1);
        let page = page.max(1);
        match key.code {
            KeyCode::Esc | KeyCode::Backspace | KeyCode::Char('q') => return true,
            KeyCode::Up => self.top = self.top.saturating_sub(1),
            KeyCode::Down => self.top = (self.top + 1).min(last),
            KeyCode::PageUp => self.top = self.top.saturating_sub(page),
            KeyCode::PageDown => self.top = (self.top + page).min(last),
            KeyCode::Home => self.top = 0,
            KeyCode::End => self.top = last.saturating_sub(page.saturating_sub(1)),
            // Sideways, for the ends of lines wider than the screen.
            KeyCode::Left => self.left = self.left.saturating_sub(SIDEWAYS_STEP),
            KeyCode::Right => self.left += SIDEWAYS_STEP,
            _ => {}
        }
        false
    }
}

const SIDEWAYS_STEP: usize = 10;

/// `--by`'s syntax: keys separated by commas.
pub(super) fn parse_fields(text: &str) -> Result<Vec<KeyField>, String> {
    let words: Vec<&str> = text
        .split(',')
        .map(str::trim)
        .filter(|word| !word.is_empty())
        .collect();
    if words.is_empty() {
        return Err("give one or more keys to group by, as src/24,dport".into());
    }
    words.into_iter().map(KeyField::parse).collect()
}

/// `ct list`'s filter flags, as typed at the `f` prompt: the same flags `ct top` takes
/// on its command line (so `-n` is not the source-NAT filter there either).
#[derive(Parser)]
#[command(
    name = "filter",
    no_binary_name = true,
    disable_help_flag = true,
    mut_arg("src_nat", |arg| arg.short(None))
)]
struct FilterLine {
    #[command(flatten)]
    filter: FilterArgs,
}

/// A filter from the flags in `text`, words split on spaces; empty is no filter.
pub(super) fn parse_filter(text: &str) -> Result<Filter, String> {
    let line = FilterLine::try_parse_from(text.split_whitespace()).map_err(|err| {
        // clap's first line is the error; the usage after it would not fit.
        let rendered = err.to_string();
        let first = rendered.lines().next().unwrap_or_default();
        first.strip_prefix("error: ").unwrap_or(first).to_string()
    })?;
    let (filter, _labels) = plan::filter(&line.filter).map_err(|err| err.to_string())?;
    Ok(filter)
}

/// Dumps the tables and keeps, as conntrack's lines, the entries that pass `filter` and
/// that `grouping` puts in the group named `key`; also returns how many there were.
fn group_entries(
    tables: &mut Tables,
    filter: &Filter,
    grouping: &Grouping,
    key: &[KeyValue],
) -> Result<(Vec<String>, u64)> {
    let mut printer = ClassicPrinter::new(ClassicOptions::default(), None, unix_now_seconds());
    let mut lines = Vec::new();
    let mut total = 0u64;
    let mut line = Vec::with_capacity(256);
    // Entries that do not decode are left out: stderr is under the screen.
    let mut problems = Vec::new();
    tables.for_each_entry(filter, &mut problems, |entry, netns| {
        if grouping.belongs(entry, netns, key) {
            total += 1;
            if lines.len() < MAX_ENTRY_LINES {
                line.clear();
                if !netns.is_empty() {
                    push_line_tag(&mut line, netns);
                }
                // Writing into a Vec cannot fail.
                let _ = printer.print(&mut line, Record::Entry(entry), &Frame::NONE);
                lines.push(String::from_utf8_lossy(&line).trim_end().to_string());
            }
        }
    })?;
    Ok((lines, total))
}

/// A group's key as `src=10.0.0.1 dport=80`.
fn key_text(fields: &[KeyField], key: &[KeyValue], labels: Option<&LabelMap>) -> String {
    let mut text = String::new();
    for (field, value) in fields.iter().zip(key) {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&field.name());
        text.push('=');
        push_value(&mut text, value, labels);
    }
    text
}
