//! Printing results: aligned tables for people (bold headers only on a terminal), the protobuf
//! JSON mapping for scripts.

use std::io::IsTerminal as _;

use super::proto;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables for people.
    Table,
    /// One JSON document on stdout: the response message in the protobuf JSON mapping with the
    /// .proto field names.
    Json,
}

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub format: Format,
    /// Colours and bold only when stdout is a terminal and NO_COLOR is unset.
    pub styled: bool,
}

impl Output {
    pub fn new(format: Format) -> Self {
        let styled = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Self { format, styled }
    }

    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// Prints a message as JSON (when asked) or runs `human` to print it for people.
    pub fn message<M: prost::Message>(&self, message: &M, full_name: &str, human: impl FnOnce()) {
        if self.json() {
            println!("{}", proto::to_json(message, full_name));
        } else {
            human();
        }
    }

    pub fn bold(&self, text: &str) -> String {
        if self.styled {
            let style = anstyle::Style::new().bold();
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    /// Red for trouble (overdue, late), when styled.
    pub fn alarm(&self, text: &str) -> String {
        if self.styled {
            let style = anstyle::Style::new()
                .fg_color(Some(anstyle::AnsiColor::Red.into()))
                .bold();
            format!("{style}{text}{style:#}")
        } else {
            text.to_owned()
        }
    }

    /// `key  value` lines, keys aligned.
    pub fn fields(&self, rows: &[(&str, String)]) {
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (key, value) in rows {
            let pad = " ".repeat(width - key.len());
            println!("{}{pad}  {value}", self.bold(key));
        }
    }

    pub fn table(&self, table: &Table) {
        print!("{}", table.render(|h| self.bold(h)));
    }
}

/// Rows under headers, each column as wide as its widest cell.
#[derive(Debug, Default)]
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Self {
            headers: headers.iter().map(|h| (*h).to_owned()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self, header_style: impl Fn(&str) -> String) -> String {
        let columns = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: Vec<String>, style: &dyn Fn(&str) -> String| {
            let mut out = String::new();
            for (i, cell) in cells.iter().enumerate().take(columns) {
                let last = i + 1 == columns;
                out.push_str(&style(cell));
                if !last {
                    out.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
                }
            }
            out.push('\n');
            out
        };
        let mut out = line(self.headers.clone(), &header_style);
        for row in &self.rows {
            out.push_str(&line(row.clone(), &|c: &str| c.to_owned()));
        }
        out
    }
}

/// An instant for people: RFC 3339 in UTC to the second; `-` when absent.
pub fn when(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map_or_else(
            || "-".to_owned(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

/// The protobuf timestamp of an instant (to the second).
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

/// A cell for an optional value: `-` when empty.
pub fn or_dash(value: &str) -> String {
    if value.is_empty() {
        "-".to_owned()
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_their_widest_cell() {
        let mut table = Table::new(&["case", "state"]);
        table.row(vec!["a1".into(), "open".into()]);
        table.row(vec!["b".into(), "closed".into()]);
        assert_eq!(
            table.render(|h| h.to_owned()),
            "case  state\na1    open\nb     closed\n"
        );
    }
}
