//! Drawing: an [`App`] turned into a frame, nothing else.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, HighlightSpacing, Paragraph, Row, Table};

use super::app::{App, EntryList, Page, PromptKind};
use crate::output::table::{human_bytes, human_count};
use crate::output::top::{TopView, fields_text, headline, push_value};

/// Drawn before the selected row; it also marks the row where colours do not show.
const SELECTED: &str = "> ";
/// Key columns are cut no narrower than this before number columns are dropped.
const MIN_KEY_WIDTH: u16 = 8;
/// Blank cells between columns, as in the table printed once.
pub(super) const COLUMN_GAP: u16 = 2;

pub(super) fn draw(frame: &mut Frame, app: &mut App) {
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
pub(super) fn fit_widths(mut widths: Vec<u16>, keys: usize, available: u16) -> Vec<u16> {
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
pub(super) fn elide(text: &str, width: usize) -> String {
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
