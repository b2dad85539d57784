//! The table's layout: columns two spaces apart, no line ending in a space, the widths
//! of every row known before the first is written. The entry table keeps its rows in
//! [`Cells`] and writes them itself; the small tables go through tabled ([`render`]),
//! laid out the same to the byte.

use std::io::{self, Write};

use tabled::builder::Builder;
use tabled::grid::util::string::get_line_width;
use tabled::settings::object::Columns;
use tabled::settings::{Alignment, Padding, Style};

/// How one column of [`Cells`] is written.
#[derive(Debug, Clone, Copy)]
pub(super) struct Heading {
    pub(super) name: &'static str,
    pub(super) right_aligned: bool,
}

/// Spaces between two columns: what tabled's blank style (a space between columns) and
/// a right padding of one make, as [`render`] sets them.
const GAP: usize = 2;

/// The longest cell kept, in bytes; a longer one (only a LABELS cell with very long
/// names could be) is cut at a character boundary.
const MAX_CELL: usize = u16::MAX as usize;

/// The rows of a table, kept compact until the widths are known: each cell is formatted
/// once, straight into one byte arena, and remembered by its length alone (two bytes);
/// the widest cell of each column is tracked as rows arrive. For the default columns of
/// a UDP flow that is about 55 bytes a row, where tabled's `Builder` held a `String` per
/// cell (228 MiB at 250,000 rows).
///
/// Written by hand rather than by tabled: tabled's renderers for long inputs measure
/// every cell again with an ANSI parser (`IterTable`, `CompactTable`), and even its grid
/// given these cells and their widths (`PeekableGrid`) looks its configuration up cell by
/// cell and pads a character at a time. Rendering 250,000 rows of five columns into
/// memory on the bench machine took 670 ms with `IterTable`, 320-480 ms with
/// `CompactTable`, 120-190 ms with `PeekableGrid` and 16-25 ms with this writer, where
/// the whole table may cost 1.3 times `ct list` (about 120 ms more at that size). The
/// small tables, which tabled does well, it still renders ([`render`]); this writer lays
/// cells out as it does, to the byte (tested).
pub(super) struct Cells {
    /// Every cell's text (UTF-8), back to back, row after row.
    text: Vec<u8>,
    /// The length in bytes of each cell, one per column per row.
    lengths: Vec<u16>,
    /// The widest cell of each column so far, in terminal columns.
    pub(super) widths: Vec<usize>,
    /// Whether each column's cells need measuring; the others are plain ASCII, as wide as
    /// they are long (most cells: measuring every one cost a tenth of the user time of
    /// `ct list -o table`).
    measured: Vec<bool>,
}

impl Cells {
    /// `measured`: for each column, whether its cells may be other than plain ASCII.
    pub(super) fn new(measured: Vec<bool>) -> Self {
        Cells {
            text: Vec::new(),
            lengths: Vec::new(),
            widths: vec![0; measured.len()],
            measured,
        }
    }

    /// How many terminal columns `cell` of column `column` takes.
    fn width(&self, column: usize, cell: &[u8]) -> usize {
        if self.measured[column] {
            width(cell)
        } else {
            cell.len()
        }
    }

    /// Appends the next cell of the row being added, in column `column`: `write`
    /// appends its text.
    pub(super) fn push(&mut self, column: usize, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.text.len();
        write(&mut self.text);
        if self.text.len() - start > MAX_CELL {
            let mut end = start + MAX_CELL;
            // A UTF-8 continuation byte is 0b10xxxxxx: back up to where a character starts.
            while end > start && self.text[end] & 0xc0 == 0x80 {
                end -= 1;
            }
            self.text.truncate(end);
        }
        let cell = &self.text[start..];
        let width = self.width(column, cell);
        self.widths[column] = self.widths[column].max(width);
        // Cut to MAX_CELL above, so it fits.
        self.lengths.push(cell.len() as u16);
    }

    /// Writes the header and every row, a line at a time; `layout` has one entry per
    /// column, `None` for a column left out.
    pub(super) fn write<W: Write>(
        &self,
        out: &mut W,
        layout: &[Option<Heading>],
    ) -> io::Result<()> {
        let columns = layout.len();
        let widths: Vec<usize> = layout
            .iter()
            .zip(&self.widths)
            .map(|(heading, &cells)| heading.map_or(0, |h| cells.max(h.name.len())))
            .collect();
        let mut line = Vec::with_capacity(256);
        let mut writer = LineWriter::new(&mut line);
        for (heading, &column_width) in layout.iter().zip(&widths) {
            if let Some(heading) = heading {
                let name = heading.name.as_bytes();
                writer.cell(name, name.len(), column_width, heading.right_aligned);
            }
        }
        writer.end();
        out.write_all(&line)?;
        if columns == 0 {
            return Ok(());
        }
        let mut offset = 0;
        for row in self.lengths.chunks_exact(columns) {
            line.clear();
            let mut writer = LineWriter::new(&mut line);
            for (column, ((&length, heading), &column_width)) in
                row.iter().zip(layout).zip(&widths).enumerate()
            {
                let cell = &self.text[offset..offset + usize::from(length)];
                offset += usize::from(length);
                if let Some(heading) = heading {
                    let width = self.width(column, cell);
                    writer.cell(cell, width, column_width, heading.right_aligned);
                }
            }
            writer.end();
            out.write_all(&line)?;
        }
        Ok(())
    }
}

/// Builds one line of a table. Spaces owed before the next cell are only written when a
/// cell with something in it follows, so no line ends in spaces.
struct LineWriter<'a> {
    line: &'a mut Vec<u8>,
    /// Spaces owed.
    pending: usize,
    first: bool,
}

impl<'a> LineWriter<'a> {
    fn new(line: &'a mut Vec<u8>) -> Self {
        LineWriter {
            line,
            pending: 0,
            first: true,
        }
    }

    /// Puts `cell`, `width` columns wide, in a column `column_width` wide.
    fn cell(&mut self, cell: &[u8], width: usize, column_width: usize, right_aligned: bool) {
        if !self.first {
            self.pending += GAP;
        }
        self.first = false;
        let room = column_width.saturating_sub(width);
        if cell.is_empty() {
            self.pending += column_width;
            return;
        }
        if right_aligned {
            self.pending += room;
        }
        push_spaces(self.line, self.pending);
        self.line.extend_from_slice(cell);
        self.pending = if right_aligned { 0 } else { room };
    }

    fn end(self) {
        self.line.push(b'\n');
    }
}

fn push_spaces(line: &mut Vec<u8>, count: usize) {
    line.resize(line.len() + count, b' ');
}

/// How many terminal columns `cell` takes: its length for plain ASCII (nearly every
/// cell), else as tabled measures it (escape sequences take none, wide characters two).
fn width(cell: &[u8]) -> usize {
    if cell.iter().all(|&b| b.is_ascii() && b != 0x1b) {
        cell.len()
    } else {
        std::str::from_utf8(cell).map_or(cell.len(), get_line_width)
    }
}

/// Renders rows (the header first) as ct's tables look: no borders, two spaces between
/// columns, the columns at `right_aligned` aligned right, no line ending in a space.
/// Shared by the small tables ct prints (expectations, statistics).
pub fn render(builder: Builder, right_aligned: &[usize]) -> String {
    let mut table = builder.build();
    table.with(Style::blank()).with(Padding::new(0, 1, 0, 0));
    for &position in right_aligned {
        table.modify(Columns::one(position), Alignment::right());
    }
    // tabled pads every cell to its column's width, the last one included.
    let text = table.to_string();
    let mut trimmed = String::with_capacity(text.len());
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            trimmed.push('\n');
        }
        trimmed.push_str(line.trim_end_matches(' '));
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlong_cell_is_cut_where_a_character_starts() {
        let mut cells = Cells::new(vec![true, false]);
        cells.push(0, |text| {
            text.push(b'a');
            text.extend("é".repeat(MAX_CELL).bytes());
        });
        cells.push(1, |text| text.push(b'x'));
        assert_eq!(usize::from(cells.lengths[0]), MAX_CELL);
        assert!(std::str::from_utf8(&cells.text).is_ok());
        assert_eq!(cells.widths[0], 1 + (MAX_CELL - 1) / 2);
        let mut out = Vec::new();
        let heading = |name| {
            Some(Heading {
                name,
                right_aligned: false,
            })
        };
        cells
            .write(&mut out, &[heading("A"), heading("B")])
            .unwrap();
        assert!(String::from_utf8(out).unwrap().ends_with("  x\n"));
    }

    /// The entry table is written by `Cells`, the small tables by tabled: the same cells
    /// must come out the same either way.
    #[test]
    fn cells_are_laid_out_as_tabled_lays_them_out() {
        let rows: [[&str; 5]; 4] = [
            ["tcp", "ESTABLISHED", "10.0.0.1:1", "431999", ""],
            ["udplite", "", "[fd00::1]:53", "7", "x"],
            ["", "", "", "", ""],
            ["icmp", "é wide ✓", "10.0.0.1 id=1", "", "longest cell here"],
        ];
        let header = ["A", "STATE", "SOURCE", "TTL", "Z"];
        let right = [false, false, false, true, false];

        let mut builder = Builder::new();
        builder.push_record(header);
        for row in rows {
            builder.push_record(row);
        }
        let tabled = render(builder, &[3]) + "\n";

        let mut cells = Cells::new(vec![true; 5]);
        for row in rows {
            for (column, cell) in row.iter().enumerate() {
                cells.push(column, |text| text.extend_from_slice(cell.as_bytes()));
            }
        }
        let layout: Vec<Option<Heading>> = header
            .iter()
            .zip(right)
            .map(|(&name, right_aligned)| {
                Some(Heading {
                    name,
                    right_aligned,
                })
            })
            .collect();
        let mut ours = Vec::new();
        cells.write(&mut ours, &layout).unwrap();
        assert_eq!(String::from_utf8(ours).unwrap(), tabled);
    }

    #[test]
    fn small_tables_end_no_line_in_a_space() {
        let mut builder = Builder::new();
        builder.push_record(["NAME", "VALUE", "NOTE"]);
        builder.push_record(["a", "1", ""]);
        builder.push_record(["bbbb", "22", "long note"]);
        assert_eq!(
            render(builder, &[1]),
            "NAME  VALUE  NOTE\na         1\nbbbb     22  long note"
        );
    }
}
