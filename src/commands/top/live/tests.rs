//! The live view's unit tests: keys against [`App`], and the frames drawn from it.

use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::Settings;
use super::app::{Action, App, parse_fields, parse_filter};
use super::draw::{COLUMN_GAP, draw, elide, fit_widths};
use crate::commands::top::Reading;
use crate::filter::Filter;
use crate::model::entry::{Entry, tcp_entry};
use crate::model::group::{Grouping, SortBy};
use crate::output::top::fields_text;

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
