//! The text a new handoff starts from: what happened (the week's pages),
//! what to watch, what to fix first, the coming week's swaps and leave, and
//! the open items carried over from the previous handoff.

use chrono::Duration;

use crate::domain::recovery::{OutOfHours, Sla};

/// One of the outgoing week's pages, as the template lists it.
#[derive(Debug, Clone)]
pub struct PageLine {
    /// When it fired, in the rotation's zone: "Tue 3 Nov 03:07".
    pub fired: String,
    pub summary: String,
    pub source: String,
    /// "Alex (primary)", when someone responded.
    pub responder: Option<String>,
    /// Minutes from firing to acknowledgement.
    pub ack_minutes: Option<i64>,
    pub sla: Sla,
    pub spent: Duration,
    pub out_of_hours: OutOfHours,
}

#[derive(Debug, Clone, Default)]
pub struct TemplateInput {
    /// "Weekly, week from Tue 10 Nov 2026".
    pub title: String,
    pub pages: Vec<PageLine>,
    /// "Alex, Tue 3 Nov" for each recovery day the week's pages granted.
    pub recovery_days: Vec<String>,
    /// The coming week's swaps and leave, one line each. `None` while Rota
    /// does not record them.
    pub swaps_and_leave: Option<Vec<String>>,
    /// Unticked items of the previous handoff (see [`open_items`]).
    pub carried_over: Vec<String>,
}

pub const WHAT_HAPPENED: &str = "## What happened";
pub const ONGOING: &str = "## Ongoing issues and what to watch";
pub const FOLLOW_UPS: &str = "## Follow-ups for engineering";
pub const SWAPS_AND_LEAVE: &str = "## The coming week's swaps and leave";
pub const CARRIED_OVER: &str = "## Open items carried over";

/// "1 h 45 min", "5 min".
pub fn spent(d: Duration) -> String {
    let minutes = d.num_minutes().max(0);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn out_of_hours_words(o: OutOfHours) -> &'static str {
    match o {
        OutOfHours::Sleep => "in sleep hours",
        OutOfHours::Weekend => "at the weekend",
        OutOfHours::Holiday => "on a holiday",
        OutOfHours::Working => "in working hours",
    }
}

fn page_line(p: &PageLine) -> String {
    let who = p.responder.as_deref().unwrap_or("nobody on call");
    let ack = match (p.ack_minutes, p.sla) {
        (Some(m), Sla::Met) => format!("acknowledged in {m} min, SLA met"),
        (Some(m), _) => format!("acknowledged in {m} min, SLA missed"),
        (None, Sla::NoData) => "no acknowledgement data (its tool never reports one)".to_owned(),
        (None, _) => "never acknowledged, SLA missed".to_owned(),
    };
    format!(
        "- {} — {} ({}) · {who} · {ack} · {} spent, {}",
        p.fired,
        one_line(&p.summary),
        one_line(&p.source),
        spent(p.spent),
        out_of_hours_words(p.out_of_hours)
    )
}

/// The starting text of a handoff.
pub fn render(input: &TemplateInput) -> String {
    let mut out = format!("# Handoff: {}\n\n{WHAT_HAPPENED}\n\n", input.title);
    if input.pages.is_empty() {
        out.push_str("No pages this week.\n");
    } else {
        let total: Duration = input.pages.iter().map(|p| p.spent).sum();
        let missed = input
            .pages
            .iter()
            .filter(|p| !matches!(p.sla, Sla::Met | Sla::NoData))
            .count();
        let woke = input
            .pages
            .iter()
            .filter(|p| p.out_of_hours == OutOfHours::Sleep)
            .count();
        let plural = |n: usize, one: &str, many: &str| if n == 1 { one.to_owned() } else { many.to_owned() };
        let judged = input.pages.iter().filter(|p| p.sla != Sla::NoData).count();
        let sla = match (missed, judged) {
            (_, 0) => "no acknowledgement data".to_owned(),
            (0, _) => "all within the SLA".to_owned(),
            (n, _) => format!("{n} missed the SLA"),
        };
        out.push_str(&format!(
            "{} {}, {sla}, {woke} in sleep hours; {} spent in all.\n\n",
            input.pages.len(),
            plural(input.pages.len(), "page", "pages"),
            spent(total)
        ));
        for p in &input.pages {
            out.push_str(&page_line(p));
            out.push('\n');
        }
    }
    if !input.recovery_days.is_empty() {
        out.push_str(&format!(
            "\nRecovery days granted: {}.\n",
            input.recovery_days.join("; ")
        ));
    }

    out.push_str(&format!("\n{ONGOING}\n\n- [ ] \n"));

    out.push_str(&format!("\n{FOLLOW_UPS}\n\nWhat woke people, to be fixed first:\n\n"));
    let mut out_of_hours: Vec<&PageLine> = input
        .pages
        .iter()
        .filter(|p| p.out_of_hours != OutOfHours::Working)
        .collect();
    // Sleep first, then weekends and holidays; the longest first within each.
    out_of_hours.sort_by_key(|p| (p.out_of_hours != OutOfHours::Sleep, -p.spent.num_minutes()));
    if out_of_hours.is_empty() {
        out.push_str("- [ ] \n");
    }
    for p in out_of_hours {
        out.push_str(&format!(
            "- [ ] {} — {} {}, {} ({})\n",
            one_line(&p.summary),
            p.responder.as_deref().unwrap_or("nobody on call"),
            out_of_hours_words(p.out_of_hours),
            p.fired,
            spent(p.spent)
        ));
    }

    out.push_str(&format!("\n{SWAPS_AND_LEAVE}\n\n"));
    match &input.swaps_and_leave {
        None => out.push_str("Rota does not record swaps and leave yet: list any you know of.\n\n- \n"),
        Some(lines) if lines.is_empty() => out.push_str("None.\n"),
        Some(lines) => {
            for l in lines {
                out.push_str(&format!("- {}\n", one_line(l)));
            }
        }
    }

    out.push_str(&format!("\n{CARRIED_OVER}\n\n"));
    if input.carried_over.is_empty() {
        out.push_str("None from the previous handoff.\n");
    }
    for item in &input.carried_over {
        out.push_str(&format!("- [ ] {item}\n"));
    }
    out.push_str("\n_Tick an item (`[x]`) when it is done; unticked items carry over to the next handoff._\n");
    out
}

/// The unticked task items (`- [ ] …`) of a handoff, in order, once each:
/// what the next handoff carries over.
pub fn open_items(body: &str) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for line in body.lines() {
        let line = line.trim_start();
        let rest = ["- [ ]", "* [ ]", "+ [ ]"]
            .iter()
            .find_map(|marker| line.strip_prefix(marker));
        let Some(rest) = rest else { continue };
        let item = one_line(rest);
        if !item.is_empty() && !items.contains(&item) {
            items.push(item);
        }
    }
    items
}
