//! A table of figures, shown as HTML and downloadable as CSV from the same
//! cells, so the two cannot differ.

use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::AppError;

pub struct Row {
    pub cells: Vec<String>,
    /// Drawn attention to (a load above 1.5 equal shares).
    pub highlight: bool,
}

pub struct Table {
    /// The CSV file's name and the section's anchor: `people`.
    pub key: &'static str,
    pub title: String,
    /// What the figures mean, under the title.
    pub note: String,
    pub columns: Vec<&'static str>,
    pub rows: Vec<Row>,
}

impl Table {
    pub fn new(
        key: &'static str,
        title: impl Into<String>,
        note: impl Into<String>,
        columns: Vec<&'static str>,
    ) -> Self {
        Table {
            key,
            title: title.into(),
            note: note.into(),
            columns,
            rows: Vec::new(),
        }
    }

    /// Whether a column holds figures (every non-empty cell is a number,
    /// a percentage, a duration or a ratio), so it is right-aligned in
    /// tabular figures.
    pub fn is_figures(&self, column: usize) -> bool {
        let mut cells = self
            .rows
            .iter()
            .filter_map(|r| r.cells.get(column))
            .filter(|c| !c.is_empty() && c.as_str() != "–")
            .peekable();
        cells.peek().is_some() && cells.all(|c| looks_like_figure(c))
    }

    /// [`Table::is_figures`] for every column, worked out once per table.
    pub fn figure_columns(&self) -> Vec<bool> {
        (0..self.columns.len()).map(|i| self.is_figures(i)).collect()
    }

    pub fn push(&mut self, cells: Vec<String>) {
        self.rows.push(Row {
            cells,
            highlight: false,
        });
    }

    pub fn push_highlighted(&mut self, cells: Vec<String>, highlight: bool) {
        self.rows.push(Row { cells, highlight });
    }

    pub fn to_csv(&self) -> Result<String, AppError> {
        let mut w = csv::Writer::from_writer(Vec::new());
        let fail = |e: csv::Error| AppError::Internal(anyhow::anyhow!("csv: {e}"));
        w.write_record(&self.columns).map_err(fail)?;
        for r in &self.rows {
            w.write_record(r.cells.iter().map(|c| defused(c).into_owned()))
                .map_err(fail)?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| AppError::Internal(anyhow::anyhow!("csv: {e}")))?;
        String::from_utf8(bytes).map_err(|e| AppError::Internal(anyhow::anyhow!("csv: {e}")))
    }
}

/// A cell a spreadsheet would run as a formula (an alert source named
/// `=HYPERLINK(…)`) is written as text.
fn defused(cell: &str) -> std::borrow::Cow<'_, str> {
    let formula = cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err();
    if formula {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// A CSV download named `file`.
pub fn csv_response(file: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file}\"")),
        ],
        body,
    )
        .into_response()
}

/// A share (0–1) as a percentage with one decimal: `66.7`.
pub fn pct(share: f64) -> String {
    format!("{:.1}", share * 100.0)
}

pub fn pct_opt(share: Option<f64>) -> String {
    share.map(pct).unwrap_or_default()
}

pub fn num(x: f64) -> String {
    format!("{x:.2}")
}

pub fn secs(s: Option<i64>) -> String {
    s.map(|s| s.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut t = Table::new("sources", "What wakes us", "", vec!["Source", "Pages"]);
        t.push(vec!["db, \"primary\"".into(), "3".into()]);
        t.push(vec!["=cmd()".into(), "-1".into()]);
        assert_eq!(
            t.to_csv().expect("csv"),
            "Source,Pages\n\"db, \"\"primary\"\"\",3\n'=cmd(),-1\n"
        );
    }
}

/// "673.00", "42%", "3.00×", "12m 30s", "-1": digits with a little
/// punctuation and unit letters, and at least one digit.
fn looks_like_figure(cell: &str) -> bool {
    cell.chars().any(|c| c.is_ascii_digit()) && cell.chars().all(|c| c.is_ascii_digit() || ".,:%×+-−–hms ".contains(c))
}

#[cfg(test)]
mod figure_tests {
    use super::*;

    #[test]
    fn columns_of_numbers_are_figures_and_names_are_not() {
        let mut t = Table::new("t", "T", "", vec!["Person", "Pages", "Load", "Median"]);
        t.push(vec!["Priya".into(), "673.00".into(), "3.00×".into(), "4m 10s".into()]);
        t.push(vec!["Ravi 2".into(), "12".into(), "".into(), "45%".into()]);
        assert!(!t.is_figures(0));
        assert!(t.is_figures(1) && t.is_figures(2) && t.is_figures(3));
        assert!(!t.is_figures(9), "a column with no cells is not figures");
    }
}
