//! Bar charts drawn on the server as SVG: no JavaScript, a title and a
//! description for screen readers, the value written beside every bar (so
//! a printout in black and white still reads), and the page always shows
//! the same numbers as a table next to it. Text goes through askama's
//! escaping, since labels such as alert sources come from outside.

use askama::Template;

/// One bar: its label, its value and how the value is written.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub shown: String,
    /// A CSS class for its fill (`bar-sleep`, `bar-over`, …).
    pub class: String,
}

impl Bar {
    pub fn new(label: impl Into<String>, value: f64, shown: impl Into<String>, class: impl Into<String>) -> Self {
        Bar {
            label: label.into(),
            value,
            shown: shown.into(),
            class: class.into(),
        }
    }
}

/// A bar with its geometry worked out.
pub struct Drawn {
    pub label: String,
    pub shown: String,
    pub class: String,
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    pub label_x: i64,
    pub label_y: i64,
    pub value_x: i64,
    pub value_y: i64,
}

/// A reference line, such as the equal share.
pub struct Marker {
    pub x: i64,
    pub label: String,
}

#[derive(Template)]
#[template(path = "chart.svg")]
pub struct Chart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub width: i64,
    pub height: i64,
    pub vertical: bool,
    pub bars: Vec<Drawn>,
    pub markers: Vec<Marker>,
    /// The plot's baseline (vertical charts) or left edge (horizontal).
    pub base: i64,
    pub top: i64,
}

const WIDTH: i64 = 640;
const ROW: i64 = 26;
const LABEL_W: i64 = 170;
const VALUE_W: i64 = 70;
const PLOT_H: i64 = 160;
/// The width of one character of a value at the charts' 12 px, rounded up.
const VALUE_CHAR_W: i64 = 7;

fn scale(value: f64, max: f64, span: i64) -> i64 {
    if max <= 0.0 {
        0
    } else {
        ((value / max) * span as f64).round() as i64
    }
}

impl Chart {
    /// One bar per row, label on the left, value on the right; `markers`
    /// are values at which to draw a labelled line.
    pub fn horizontal(id: &str, title: &str, desc: &str, bars: Vec<Bar>, markers: &[(f64, &str)]) -> Chart {
        let max = bars
            .iter()
            .map(|b| b.value)
            .chain(markers.iter().map(|m| m.0))
            .fold(0.0, f64::max);
        // Room on the right for the longest value written, so that
        // "3.00× (above 1.5×)" is never cut off at the edge.
        let value_w = bars
            .iter()
            .map(|b| b.shown.chars().count() as i64 * VALUE_CHAR_W + 12)
            .fold(VALUE_W, i64::max);
        let span = (WIDTH - LABEL_W - value_w).max(WIDTH / 4);
        let top = if markers.is_empty() { 4 } else { 18 };
        let drawn = bars
            .into_iter()
            .enumerate()
            .map(|(i, b)| {
                let y = top + i as i64 * ROW;
                let w = scale(b.value, max, span);
                Drawn {
                    x: LABEL_W,
                    y: y + 4,
                    w,
                    h: ROW - 8,
                    label_x: LABEL_W - 6,
                    label_y: y + ROW / 2 + 4,
                    value_x: LABEL_W + w + 6,
                    value_y: y + ROW / 2 + 4,
                    label: b.label,
                    shown: b.shown,
                    class: b.class,
                }
            })
            .collect::<Vec<_>>();
        let height = top + drawn.len() as i64 * ROW + 4;
        Chart {
            id: id.into(),
            title: title.into(),
            desc: desc.into(),
            width: WIDTH,
            height,
            vertical: false,
            markers: markers
                .iter()
                .map(|(v, l)| Marker {
                    x: LABEL_W + scale(*v, max, span),
                    label: (*l).into(),
                })
                .collect(),
            bars: drawn,
            base: LABEL_W,
            top,
        }
    }

    /// One column per bar (weeks along the bottom).
    pub fn vertical(id: &str, title: &str, desc: &str, bars: Vec<Bar>) -> Chart {
        let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
        let n = bars.len().max(1) as i64;
        let left = 8;
        let slot = ((WIDTH - 2 * left) / n).max(4);
        let top = 16;
        let base = top + PLOT_H;
        // Every label when they fit, else every few.
        let every = ((n * 44) / WIDTH + 1).max(1) as usize;
        let drawn = bars
            .into_iter()
            .enumerate()
            .map(|(i, b)| {
                let h = scale(b.value, max, PLOT_H);
                let x = left + i as i64 * slot;
                Drawn {
                    x: x + slot / 8,
                    y: base - h,
                    w: (slot - slot / 4).max(2),
                    h,
                    label_x: x + slot / 2,
                    label_y: base + 14,
                    value_x: x + slot / 2,
                    value_y: base - h - 3,
                    label: if i % every == 0 { b.label } else { String::new() },
                    shown: if slot >= 18 { b.shown } else { String::new() },
                    class: b.class,
                }
            })
            .collect();
        Chart {
            id: id.into(),
            title: title.into(),
            desc: desc.into(),
            width: WIDTH,
            height: base + 22,
            vertical: true,
            bars: drawn,
            markers: Vec::new(),
            base,
            top,
        }
    }

    /// The SVG markup, for `|safe` in a page (its text is escaped here).
    pub fn svg(&self) -> String {
        self.render().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_a_title_a_description_and_escaped_labels() {
        let c = Chart::horizontal(
            "wake",
            "What wakes us",
            "Sleep interruptions by alert source",
            vec![
                Bar::new("<db> & co", 3.0, "3", "bar-sleep"),
                Bar::new("web", 1.0, "1", "bar-sleep"),
            ],
            &[],
        );
        let svg = c.svg();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("<title id=\"wake-title\">What wakes us</title>"), "{svg}");
        assert!(svg.contains("<desc id=\"wake-desc\">Sleep interruptions by alert source</desc>"));
        assert!(
            svg.contains("&#60;db&#62; &#38; co") || svg.contains("&lt;db&gt; &amp; co"),
            "{svg}"
        );
        assert!(!svg.contains("<db>"));
        assert!(!svg.contains("<script"));
        // The longest bar spans the plot; the other a third of it.
        assert!(svg.contains("width=\"400\""), "{svg}");
        assert!(svg.contains("width=\"133\""), "{svg}");
    }

    #[test]
    fn a_long_value_fits_inside_the_chart() {
        let c = Chart::horizontal(
            "load",
            "Load",
            "Load against an equal share",
            vec![
                Bar::new("Priya", 3.0, "3.00× (above 1.5×)", "bar bar-over"),
                Bar::new("Ravi", 1.0, "1.00×", "bar"),
            ],
            &[(1.0, "equal share")],
        );
        let longest = c
            .bars
            .iter()
            .map(|b| b.value_x + 7 * b.shown.chars().count() as i64)
            .max();
        assert!(
            longest.is_some_and(|end| end <= c.width),
            "a value runs past {}",
            c.width
        );
    }

    #[test]
    fn an_empty_chart_still_renders() {
        let c = Chart::vertical(
            "weeks",
            "Pages per week",
            "none",
            vec![Bar::new("1 Jan", 0.0, "0", "bar")],
        );
        assert!(c.svg().contains("Pages per week"));
    }
}
