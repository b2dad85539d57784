//! `ct top` on a terminal: the groups redrawn every `--interval`, with each group's new
//! entries a second, and keys to regroup, re-sort, filter, pause and open a group.
//!
//! The parts are kept apart so that each can be read (and tested) alone:
//! - [`App`] is everything the screen shows and the keys change; it never touches the
//!   socket or the terminal. A key that needs the kernel returns an [`Action`].
//! - [`run`] owns the socket and the terminal: it reads the table when due, carries
//!   out actions, draws, and waits for keys in between.
//! - the `draw_*` functions turn an `App` into a frame, nothing else.
//! - [`TerminalGuard`] puts the terminal back however the view ends.

use std::io;
use std::sync::Once;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use clap::Parser;
use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen};
use crossterm::{cursor, execute};
use ratatui::Frame;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row, Table, TableState};

use super::{Reading, Tables, read_table};
use crate::cli::FilterArgs;
use crate::filter::Filter;
use crate::labelmap::LabelMap;
use crate::model::group::{Grouping, KeyField, KeyValue, SortBy};
use crate::output::classic::{ClassicOptions, ClassicPrinter};
use crate::output::table::{human_bytes, human_count};
use crate::output::top::{TopView, fields_text, headline, push_value};
use crate::output::unix_now_seconds;
use crate::plan;

/// What the command line decided for the live view.
pub struct Settings {
    pub fields: Vec<KeyField>,
    pub filter: Filter,
    /// Whether the command line gave a filter (its text is not kept; the summary says
    /// only that there is one).
    pub filtered: bool,
    pub order: SortBy,
    /// At most this many groups are listed (`-n`).
    pub limit: usize,
    pub interval: Duration,
    pub labels: Option<LabelMap>,
}

/// Draws the live view on the terminal until the user quits. Only setting the terminal
/// up can fail the command; a failed reading is shown and retried.
pub fn run(mut tables: Tables, settings: Settings) -> Result<()> {
    let mut screen = Screen::open().context("cannot set up the terminal for the live view")?;
    let mut app = App::new(settings);
    app.refresh(&mut tables);
    let mut next_reading = Instant::now() + app.interval;
    while !app.quit {
        screen.terminal.draw(|frame| draw(frame, &mut app))?;
        // Waiting on the keyboard rather than sleeping: a key is handled at once, and
        // the reading still comes on time.
        let wait = if app.paused {
            Duration::from_secs(3600)
        } else {
            next_reading.saturating_duration_since(Instant::now())
        };
        if event::poll(wait)? {
            match app.on_event(event::read()?) {
                Action::None => {}
                Action::Refresh => {
                    app.refresh(&mut tables);
                    next_reading = Instant::now() + app.interval;
                }
                Action::Open(key) => app.open(&mut tables, &key),
            }
        }
        if !app.paused && Instant::now() >= next_reading {
            app.refresh(&mut tables);
            next_reading = Instant::now() + app.interval;
        }
    }
    Ok(())
}

/// What a key asks of the loop that owns the socket.
#[derive(Debug, PartialEq, Eq)]
enum Action {
    None,
    /// Read the table now (the grouping or the filter changed).
    Refresh,
    /// List the entries of the group with this key.
    Open(Vec<KeyValue>),
}

/// Which screen is up.
enum Page {
    Groups,
    Entries(EntryList),
}

/// One group's entries as conntrack's lines, as they were when the group was opened.
struct EntryList {
    /// The group's key, as `src=10.0.0.1 dport=80`.
    title: String,
    lines: Vec<String>,
    /// How many entries the group had (more than `lines` when they were cut).
    total: u64,
    /// The first line and column shown.
    top: usize,
    left: usize,
}

/// At most this many entries of an opened group are kept, so that opening a group of a
/// million entries does not hold a million lines.
const MAX_ENTRY_LINES: usize = 10_000;

/// The one-line prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PromptKind {
    By,
    Filter,
}

struct Prompt {
    kind: PromptKind,
    text: String,
}

/// A line for the status bar, until the next key.
struct Notice {
    text: String,
    error: bool,
}

/// The live view's state: what is shown and what the keys change.
struct App {
    fields: Vec<KeyField>,
    filter: Filter,
    /// The filter as typed at the `f` prompt; `None` while the command line's is used.
    filter_text: Option<String>,
    /// Whether the command line gave a filter.
    filtered_on_command_line: bool,
    order: SortBy,
    limit: usize,
    interval: Duration,
    labels: Option<LabelMap>,
    /// The latest reading that succeeded, and when it was taken.
    reading: Option<(Reading, Instant)>,
    /// Seconds between that reading and the one before, when new entries were counted.
    rate_seconds: Option<f64>,
    /// The next reading must not count new entries against the last one: the filter
    /// changed, so entries the old one hid would all look new.
    forget_ids: bool,
    paused: bool,
    table: TableState,
    /// Rows the group table showed at the last draw, for PgUp and PgDn.
    page_rows: usize,
    page: Page,
    prompt: Option<Prompt>,
    message: Option<Notice>,
    /// Why the last reading failed, until one succeeds.
    refresh_error: Option<String>,
    quit: bool,
}

impl App {
    fn new(settings: Settings) -> App {
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
    fn refresh(&mut self, tables: &mut Tables) {
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
    fn take_reading(&mut self, reading: Reading, at: Instant) {
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
    fn open(&mut self, tables: &mut Tables, key: &[KeyValue]) {
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

    fn on_event(&mut self, event: Event) -> Action {
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
    fn selected_key(&self) -> Option<Vec<KeyValue>> {
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
    fn summary(&self, view: &TopView<'_>) -> String {
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
fn parse_fields(text: &str) -> Result<Vec<KeyField>, String> {
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
fn parse_filter(text: &str) -> Result<Filter, String> {
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
                    line.extend_from_slice(format!("[{netns}] ").as_bytes());
                }
                // Writing into a Vec cannot fail.
                let _ = printer.print(&mut line, entry);
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

// ---------------------------------------------------------------------------------------
// Drawing
// ---------------------------------------------------------------------------------------

/// Drawn before the selected row; it also marks the row where colours do not show.
const SELECTED: &str = "> ";
/// Key columns are cut no narrower than this before number columns are dropped.
const MIN_KEY_WIDTH: u16 = 8;
/// Blank cells between columns, as in the table printed once.
const COLUMN_GAP: u16 = 2;

fn draw(frame: &mut Frame, app: &mut App) {
    let [main, status] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(frame.area());
    match &app.page {
        Page::Groups => draw_groups(frame, app, main),
        Page::Entries(list) => {
            app.page_rows = usize::from(main.height.saturating_sub(1));
            draw_entries(frame, list, main);
        }
    }
    draw_status(frame, app, status);
}

/// The headline, the summary and the table of groups.
fn draw_groups(frame: &mut Frame, app: &mut App, area: Rect) {
    let [headline_area, summary_area, table_area] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
    ])
    .areas(area);
    app.page_rows = usize::from(table_area.height.saturating_sub(1));
    let Some((reading, _)) = &app.reading else {
        frame.render_widget(Paragraph::new("reading the table..."), headline_area);
        return;
    };
    let view = reading.view(app.order, app.limit, app.labels.as_ref(), app.rate_seconds);
    let headline = headline(view.headline.as_ref(), view.table_entries);
    frame.render_widget(Paragraph::new(headline), headline_area);
    frame.render_widget(Paragraph::new(app.summary(&view)), summary_area);
    if view.groups.is_empty() {
        let none = Paragraph::new("no entries match").style(Style::new().fg(Color::DarkGray));
        frame.render_widget(none, table_area);
        return;
    }
    let columns = Columns::of(&view);
    let available = table_area.width.saturating_sub(SELECTED.len() as u16);
    let widths = fit_widths(columns.widths(), columns.keys, available);
    frame.render_stateful_widget(columns.table(&widths), table_area, &mut app.table);
}

/// The group table's text, before it is fitted to the screen.
struct Columns {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The first `keys` columns are the key's; the rest are numbers.
    keys: usize,
}

impl Columns {
    fn of(view: &TopView<'_>) -> Columns {
        let fields = view.grouping.fields();
        let counters = view.grouping.has_counters();
        let mut header: Vec<String> = fields.iter().map(|f| f.name().to_uppercase()).collect();
        // NEW/S is always there: "-" until a second reading gives something to count.
        header.extend(["ENTRIES", "SHARE", "NEW/S"].map(String::from));
        if counters {
            header.extend(["PACKETS", "BYTES"].map(String::from));
        }
        let rows = view
            .groups
            .iter()
            .map(|group| {
                let mut row: Vec<String> = group
                    .key
                    .iter()
                    .map(|value| {
                        let mut text = String::new();
                        push_value(&mut text, value, view.labels);
                        text
                    })
                    .collect();
                row.push(group.totals.entries.to_string());
                row.push(format!("{:.1}%", view.share(group)));
                row.push(
                    view.rate(group)
                        .map_or("-".into(), |rate| format!("{rate:.1}")),
                );
                if counters {
                    row.push(human_count(group.totals.packets));
                    row.push(human_bytes(group.totals.bytes));
                }
                row
            })
            .collect();
        Columns {
            header,
            rows,
            keys: fields.len(),
        }
    }

    /// Each column's natural width: its widest text.
    fn widths(&self) -> Vec<u16> {
        (0..self.header.len())
            .map(|column| {
                let widest = self
                    .rows
                    .iter()
                    .map(|row| text_width(&row[column]))
                    .max()
                    .unwrap_or(0);
                widest.max(text_width(&self.header[column])) as u16
            })
            .collect()
    }

    /// The table with `widths` (as many columns as there are widths).
    fn table(&self, widths: &[u16]) -> Table<'_> {
        let row = |texts: &[String]| {
            Row::new(
                texts
                    .iter()
                    .zip(widths)
                    .enumerate()
                    .map(|(column, (text, width))| self.cell(column, text, *width)),
            )
        };
        Table::new(
            self.rows.iter().map(|texts| row(texts)),
            widths.iter().map(|width| Constraint::Length(*width)),
        )
        .header(row(&self.header).style(Style::new().add_modifier(Modifier::BOLD)))
        .column_spacing(COLUMN_GAP)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .highlight_symbol(SELECTED)
        .highlight_spacing(HighlightSpacing::Always)
    }

    /// Key values left-aligned and elided to fit; numbers right-aligned.
    fn cell(&self, column: usize, text: &str, width: u16) -> Cell<'static> {
        if column < self.keys {
            Cell::from(elide(text, usize::from(width)))
        } else {
            Cell::from(Line::from(text.to_string()).alignment(Alignment::Right))
        }
    }
}

/// Column widths that fit `available` cells, [`COLUMN_GAP`] between columns: the widest key
/// column is narrowed first (its values elided with …), down to [`MIN_KEY_WIDTH`]; then
/// number columns are dropped from the right, all but ENTRIES.
fn fit_widths(mut widths: Vec<u16>, keys: usize, available: u16) -> Vec<u16> {
    let gap = u32::from(COLUMN_GAP);
    let total = |widths: &[u16]| widths.iter().map(|w| u32::from(*w) + gap).sum::<u32>() - gap;
    while !widths.is_empty() && total(&widths) > u32::from(available) {
        let widest = (0..keys)
            .filter(|column| widths[*column] > MIN_KEY_WIDTH)
            .max_by_key(|column| widths[*column]);
        match widest {
            Some(column) => widths[column] -= 1,
            None if widths.len() > keys + 1 => {
                widths.pop();
            }
            None => break,
        }
    }
    widths
}

fn text_width(text: &str) -> usize {
    text.chars().count()
}

/// `text` cut to `width` characters, the last one … when something was cut.
fn elide(text: &str, width: usize) -> String {
    if text_width(text) <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    if width > 0 {
        cut.push('…');
    }
    cut
}

/// An opened group: its key and count, then its entries' lines.
fn draw_entries(frame: &mut Frame, list: &EntryList, area: Rect) {
    let [title_area, lines_area] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let mut title = format!(
        "{}: {}",
        list.title,
        crate::output::count(list.total, "entry", "entries")
    );
    if (list.lines.len() as u64) < list.total {
        title.push_str(&format!(" (the first {} shown)", list.lines.len()));
    }
    let title = Paragraph::new(title).style(Style::new().add_modifier(Modifier::BOLD));
    frame.render_widget(title, title_area);
    let shown: Vec<Line> = list
        .lines
        .iter()
        .skip(list.top)
        .take(usize::from(lines_area.height))
        .map(|line| Line::from(line.chars().skip(list.left).collect::<String>()))
        .collect();
    frame.render_widget(Paragraph::new(shown), lines_area);
}

/// The bottom line: the prompt being typed, a message, the last reading's error, or
/// the keys; on the right, PAUSED or how often the view refreshes.
fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let right = if app.paused {
        Span::styled(" PAUSED ", Style::new().fg(Color::Black).bg(Color::Yellow))
    } else {
        Span::styled(
            format!(" every {}s", app.interval.as_secs_f64()),
            Style::new().fg(Color::DarkGray),
        )
    };
    let [left_area, right_area] =
        Layout::horizontal([Constraint::Min(0), Constraint::Length(right.width() as u16)])
            .areas(area);
    frame.render_widget(Paragraph::new(Line::from(right)), right_area);
    if let Some(prompt) = &app.prompt {
        let label = match prompt.kind {
            PromptKind::By => format!("group by (now {}): ", fields_text(&app.fields)),
            PromptKind::Filter => "filter (ct list's flags, empty for none): ".to_string(),
        };
        let text = format!("{label}{}", prompt.text);
        let cursor = area.x + (text_width(&text) as u16).min(left_area.width.saturating_sub(1));
        frame.render_widget(Paragraph::new(text), left_area);
        frame.set_cursor_position((cursor, area.y));
        return;
    }
    let error = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
    let line = match (&app.message, &app.refresh_error) {
        (Some(message), _) if message.error => Line::styled(message.text.clone(), error),
        (Some(message), _) => Line::raw(message.text.clone()),
        (None, Some(failure)) => Line::styled(failure.clone(), error),
        (None, None) => Line::styled(key_help(&app.page), Style::new().fg(Color::DarkGray)),
    };
    frame.render_widget(Paragraph::new(line), left_area);
}

fn key_help(page: &Page) -> &'static str {
    match page {
        Page::Groups => "q quit  s sort  b group by  f filter  space pause  ↑↓ Enter open",
        Page::Entries(_) => "Esc back  ↑↓ PgUp PgDn Home End scroll  ←→ sideways",
    }
}

// ---------------------------------------------------------------------------------------
// The terminal
// ---------------------------------------------------------------------------------------

/// The terminal in raw mode on the alternate screen, with the cursor hidden, for as
/// long as it lives.
struct Screen {
    terminal: Terminal<CrosstermBackend<io::Stdout>>,
    // Dropped after the terminal, so that ratatui's own clean-up happens first.
    _guard: TerminalGuard,
}

impl Screen {
    fn open() -> io::Result<Screen> {
        install_panic_hook();
        crossterm::terminal::enable_raw_mode()?;
        // From here on any failure must put the terminal back: the guard does.
        let guard = TerminalGuard;
        execute!(io::stdout(), EnterAlternateScreen, cursor::Hide)?;
        let terminal = Terminal::new(CrosstermBackend::new(io::stdout()))?;
        Ok(Screen {
            terminal,
            _guard: guard,
        })
    }
}

/// Puts the terminal back as it was when dropped: on a normal quit and on every error
/// path alike.
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Leaves the alternate screen, shows the cursor and ends raw mode; errors are ignored,
/// there is nothing better to do with them on the way out.
fn restore_terminal() {
    let _ = execute!(io::stdout(), LeaveAlternateScreen, cursor::Show);
    let _ = crossterm::terminal::disable_raw_mode();
}

/// A panic restores the terminal before the default hook prints the message, which
/// would otherwise land on the alternate screen, in raw mode, and vanish.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore_terminal();
            default(info);
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::entry::{Entry, tcp_entry};
    use ratatui::backend::TestBackend;

    fn settings(by: &str) -> Settings {
        Settings {
            fields: parse_fields(by).unwrap(),
            filter: Filter::default(),
            filtered: false,
            order: SortBy::Entries,
            limit: 20,
            interval: Duration::from_secs(2),
            labels: None,
        }
    }

    fn entry(id: u32, src: &str, dport: u16) -> Entry<'static> {
        let mut entry = tcp_entry(src, "10.240.9.9", 40000, dport);
        entry.id = Some(id);
        entry
    }

    /// Hands `app` a reading of `entries`, as `refresh` would, taken at `at`.
    fn read(app: &mut App, entries: &[Entry<'_>], at: Instant) {
        let previous = app
            .reading
            .as_mut()
            .map(|(reading, _)| &mut reading.grouping);
        let mut grouping = Grouping::following(app.fields.clone(), previous);
        for entry in entries {
            grouping.add(entry);
        }
        let reading = Reading {
            headline: None,
            saved_entries: None,
            grouping,
            skipped: Vec::new(),
        };
        app.take_reading(reading, at);
    }

    fn screen(app: &mut App, width: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal.draw(|frame| draw(frame, app)).unwrap();
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_string()
            })
            .collect()
    }

    fn press(app: &mut App, code: KeyCode) -> Action {
        app.on_event(Event::Key(KeyEvent::from(code)))
    }

    fn type_text(app: &mut App, text: &str) {
        for c in text.chars() {
            press(app, KeyCode::Char(c));
        }
    }

    fn sample() -> Vec<Entry<'static>> {
        vec![
            entry(1, "10.240.0.1", 80),
            entry(2, "10.240.0.1", 80),
            entry(3, "10.240.0.1", 443),
            entry(4, "10.240.0.2", 443),
        ]
    }

    #[test]
    fn top_live_draws_groups_with_rates_at_80x24() {
        let mut app = App::new(settings("src"));
        let start = Instant::now();
        read(&mut app, &sample(), start);
        let mut more = sample();
        more.push(entry(5, "10.240.0.2", 443));
        more.push(entry(6, "10.240.0.2", 22));
        read(&mut app, &more, start + Duration::from_secs(2));
        let lines = screen(&mut app, 80, 24);
        assert_eq!(lines[0], "entries 6 (saved dump)");
        assert_eq!(
            lines[1],
            "6 matching entries in 2 groups by src, sorted by entries"
        );
        assert_eq!(lines[2], "  SRC         ENTRIES  SHARE  NEW/S");
        assert_eq!(lines[3], "> 10.240.0.1        3  50.0%    0.0");
        assert_eq!(lines[4], "  10.240.0.2        3  50.0%    1.0");
        assert!(lines[23].starts_with("q quit  s sort"), "{}", lines[23]);
        assert!(lines[23].ends_with("every 2s"), "{}", lines[23]);
    }

    #[test]
    fn top_live_keys_sort_regroup_pause_and_select() {
        let mut app = App::new(settings("src"));
        read(&mut app, &sample(), Instant::now());
        assert_eq!(press(&mut app, KeyCode::Char('s')), Action::None);
        assert_eq!(app.order, SortBy::New);
        press(&mut app, KeyCode::Char('b'));
        type_text(&mut app, "dport,src/24");
        assert!(screen(&mut app, 80, 24)[23].starts_with("group by (now src): dport,src/24"));
        assert_eq!(press(&mut app, KeyCode::Enter), Action::Refresh);
        assert_eq!(fields_text(&app.fields), "dport,src/24");
        // A bad key keeps the grouping and says why.
        press(&mut app, KeyCode::Char('b'));
        type_text(&mut app, "colour");
        assert_eq!(press(&mut app, KeyCode::Enter), Action::None);
        assert_eq!(fields_text(&app.fields), "dport,src/24");
        assert!(screen(&mut app, 80, 24)[23].starts_with("unknown key 'colour'"));
        // Esc in a prompt cancels it and does not quit.
        press(&mut app, KeyCode::Char('b'));
        press(&mut app, KeyCode::Esc);
        assert!(app.prompt.is_none() && !app.quit);
        press(&mut app, KeyCode::Char(' '));
        assert!(app.paused);
        assert!(screen(&mut app, 80, 24)[23].ends_with("PAUSED"));
        assert_eq!(press(&mut app, KeyCode::Char('p')), Action::Refresh);
        assert!(!app.paused);
        press(&mut app, KeyCode::End);
        assert_eq!(app.table.selected(), Some(1));
        press(&mut app, KeyCode::Down);
        assert_eq!(app.table.selected(), Some(1));
        press(&mut app, KeyCode::Home);
        let first = app.selected_key().unwrap();
        assert_eq!(press(&mut app, KeyCode::Enter), Action::Open(first));
        press(&mut app, KeyCode::Char('q'));
        assert!(app.quit);
    }

    #[test]
    fn top_live_filter_prompt_takes_ct_lists_flags() {
        let mut app = App::new(settings("src"));
        press(&mut app, KeyCode::Char('f'));
        type_text(&mut app, "-p tcp --dport 443");
        assert_eq!(press(&mut app, KeyCode::Enter), Action::Refresh);
        assert_ne!(app.filter, Filter::default());
        assert!(app.forget_ids);
        press(&mut app, KeyCode::Char('f'));
        // Each flag fine alone, not together: plan's check, shown and not applied.
        let before = app.filter.clone();
        type_text(&mut app, "-f ipv4 -s fd00:240::1");
        assert_eq!(press(&mut app, KeyCode::Enter), Action::None);
        assert_eq!(app.filter, before);
        let status = &screen(&mut app, 100, 24)[23];
        assert!(status.contains("fd00:240::1"), "{status}");
        press(&mut app, KeyCode::Char('f'));
        assert_eq!(press(&mut app, KeyCode::Enter), Action::Refresh);
        assert_eq!(app.filter, Filter::default());
        assert!(parse_filter("--bogus").unwrap_err().contains("--bogus"));
    }

    #[test]
    fn top_live_columns_fit_the_width() {
        // SRC and DST of 39 characters each, ENTRIES, SHARE, NEW/S, PACKETS, BYTES.
        let widths = vec![39, 39, 7, 5, 5, 7, 5];
        let fitted = fit_widths(widths.clone(), 2, 78);
        assert_eq!(fitted.len(), 7);
        assert_eq!(
            fitted.iter().map(|w| w + COLUMN_GAP).sum::<u16>() - COLUMN_GAP,
            78
        );
        assert!(fitted[0].abs_diff(fitted[1]) <= 1, "{fitted:?}");
        assert_eq!(fitted[2..], widths[2..]);
        // Too narrow for the keys at their least: number columns go, ENTRIES stays.
        assert_eq!(fit_widths(widths, 2, 35), vec![8, 8, 7, 5]);
        assert_eq!(elide("fd00:240::1234", 8), "fd00:24…");
        assert_eq!(elide("10.240.0.1", 10), "10.240.0.1");
    }
}
