//! The metrics page's tables and charts, built from one [`Report`].

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::table::{Table, num, pct, pct_opt, secs};
use crate::domain::metrics::{FAIR_LIMIT, Figures, RecoveryUse};
use crate::ops::metrics::Report;
use crate::web::charts::{Bar, Chart};

fn day(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d").to_string()
}

fn short(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%-d %b").to_string()
}

pub fn summary(r: &Report) -> Table {
    let mut t = Table::new(
        "summary",
        "This period against the previous one",
        "",
        vec!["Figure", "This period", "Previous period"],
    );
    let rec = |f: &Figures| {
        let sum = |u: &RecoveryUse| (u.granted, u.taken);
        let (a, b) = (sum(&f.recovery.managers), sum(&f.recovery.others));
        (a.0 + b.0, a.1 + b.1)
    };
    let (c, p) = (&r.current, &r.previous);
    let share = |f: &Figures| {
        pct(if f.pages == 0 {
            0.0
        } else {
            f64::from(f.out_of_hours_pages) / f64::from(f.pages)
        })
    };
    for (label, now, before) in [
        ("Pages", c.pages.to_string(), p.pages.to_string()),
        (
            "Out-of-hours pages",
            c.out_of_hours_pages.to_string(),
            p.out_of_hours_pages.to_string(),
        ),
        ("Out of hours (%)", share(c), share(p)),
        (
            "Sleep interruptions",
            c.sleep_interruptions.to_string(),
            p.sleep_interruptions.to_string(),
        ),
        ("Recovery days granted", rec(c).0.to_string(), rec(p).0.to_string()),
        ("Recovery days taken", rec(c).1.to_string(), rec(p).1.to_string()),
    ] {
        t.push(vec![label.into(), now, before]);
    }
    t
}

pub fn weeks(r: &Report, tz: Tz) -> (Table, Chart) {
    let mut t = Table::new(
        "weeks",
        "Pages per week",
        "Weeks of seven days from the start of the period; the previous period's week in the same place beside it.",
        vec!["Week from", "Pages", "Previous period"],
    );
    let mut bars = Vec::new();
    for (i, w) in r.current.weeks.iter().enumerate() {
        let before = r.previous.weeks.get(i).map(|p| p.pages.to_string()).unwrap_or_default();
        t.push(vec![day(w.starts_at, tz), w.pages.to_string(), before]);
        bars.push(Bar::new(
            short(w.starts_at, tz),
            f64::from(w.pages),
            w.pages.to_string(),
            "bar",
        ));
    }
    let chart = Chart::vertical(
        "weeks-chart",
        "Pages per week",
        &format!(
            "{} pages over {} weeks; the busiest week had {}.",
            r.current.pages,
            r.current.weeks.len(),
            r.current.weeks.iter().map(|w| w.pages).max().unwrap_or(0)
        ),
        bars,
    );
    (t, chart)
}

fn class_label(class: &str) -> &'static str {
    match class {
        "sleep" => "Sleep hours",
        "weekend" => "Weekend",
        "holiday" => "Holiday",
        _ => "Working hours",
    }
}

pub fn out_of_hours(r: &Report) -> (Table, Chart) {
    let mut t = Table::new(
        "out-of-hours",
        "When pages came",
        "In the responder's zone: sleep when any of the work fell in sleep hours, else what its start was.",
        vec!["When", "Pages", "Share (%)", "Previous pages", "Previous share (%)"],
    );
    let mut bars = Vec::new();
    for (c, p) in r.current.out_of_hours.iter().zip(&r.previous.out_of_hours) {
        t.push(vec![
            class_label(&c.class).into(),
            c.pages.to_string(),
            pct(c.share),
            p.pages.to_string(),
            pct(p.share),
        ]);
        bars.push(Bar::new(
            class_label(&c.class),
            c.share,
            format!("{}% ({})", pct(c.share), c.pages),
            format!("bar bar-{}", c.class),
        ));
    }
    let sleep = r.current.out_of_hours.first().map_or(0.0, |c| c.share);
    let chart = Chart::horizontal(
        "ooh-chart",
        "Share of pages out of hours",
        &format!("{}% of pages came in sleep hours.", pct(sleep)),
        bars,
        &[],
    );
    (t, chart)
}

pub fn acknowledgement(r: &Report) -> Table {
    let mut t = Table::new(
        "acknowledgement",
        "Acknowledgement and SLA by role",
        "Seconds from firing to acknowledgement (nearest-rank percentiles). Within SLA counts unacknowledged pages as missed, and leaves out pages with no acknowledgement data (from Alertmanager or Grafana, which never report one, when Rota did not page them).",
        vec![
            "Role",
            "Pages",
            "Acknowledged",
            "p50 (s)",
            "p90 (s)",
            "Within SLA",
            "Within SLA (%)",
            "No acknowledgement data",
            "Previous p50 (s)",
            "Previous p90 (s)",
            "Previous within SLA (%)",
        ],
    );
    for (c, p) in r.current.roles.iter().zip(&r.previous.roles) {
        t.push(vec![
            c.role.clone(),
            c.pages.to_string(),
            c.acknowledged.to_string(),
            secs(c.ack_p50_seconds),
            secs(c.ack_p90_seconds),
            c.within_sla.to_string(),
            pct_opt(c.within_sla_share),
            c.no_acknowledgement_data.to_string(),
            secs(p.ack_p50_seconds),
            secs(p.ack_p90_seconds),
            pct_opt(p.within_sla_share),
        ]);
    }
    t
}

pub fn people(r: &Report) -> (Table, Chart) {
    let mut t = Table::new(
        "people",
        "Who carried the load",
        "Weeks are hours on call ÷ 168. Share: of the pages with a responder, against an equal share; \
         a load above 1.5 equal shares is highlighted.",
        vec![
            "Person",
            "Email",
            "Weeks as primary",
            "Weeks as secondary",
            "Hours on call",
            "Pages",
            "Sleep interruptions",
            "Hours engaged out of hours",
            "Recovery days granted",
            "Recovery days taken",
            "Worked anyway",
            "Share (%)",
            "Equal share (%)",
            "Load (× equal share)",
            "Above 1.5×",
            "Previous pages",
        ],
    );
    let mut bars = Vec::new();
    for p in &r.current.people {
        let before = r
            .previous
            .people
            .iter()
            .find(|q| q.email == p.email)
            .map_or(0, |q| q.pages);
        t.push_highlighted(
            vec![
                p.name.clone(),
                p.email.clone(),
                num(p.weeks_primary),
                num(p.weeks_secondary),
                num(p.hours_on_call),
                p.pages.to_string(),
                p.sleep_interruptions.to_string(),
                num(p.hours_engaged_out_of_hours),
                p.recovery_granted.to_string(),
                p.recovery_taken.to_string(),
                p.recovery_worked_anyway.to_string(),
                pct(p.share),
                pct(p.equal_share),
                num(p.load),
                if p.above_fair { "yes" } else { "no" }.into(),
                before.to_string(),
            ],
            p.above_fair,
        );
        bars.push(Bar::new(
            p.name.clone(),
            p.load,
            format!("{}×{}", num(p.load), if p.above_fair { " (above 1.5×)" } else { "" }),
            if p.above_fair { "bar bar-over" } else { "bar" },
        ));
    }
    let over = r.current.people.iter().filter(|p| p.above_fair).count();
    let chart = Chart::horizontal(
        "load-chart",
        "Each person's load against an equal share",
        &format!(
            "Load is a person's share of pages divided by an equal share; {over} of {} people are above {FAIR_LIMIT} equal shares.",
            r.current.people.len()
        ),
        bars,
        &[(1.0, "equal"), (FAIR_LIMIT, "1.5×")],
    );
    (t, chart)
}

pub fn sources(r: &Report) -> (Table, Chart) {
    let mut t = Table::new(
        "sources",
        "What wakes us",
        "Alert sources ranked by the sleep they cost: the list for engineering planning.",
        vec![
            "Source",
            "Sleep interruptions",
            "Out-of-hours pages",
            "Pages",
            "Previous sleep interruptions",
        ],
    );
    let mut bars = Vec::new();
    for s in &r.current.sources {
        let before = r
            .previous
            .sources
            .iter()
            .find(|q| q.source == s.source)
            .map_or(0, |q| q.sleep_interruptions);
        t.push(vec![
            s.source.clone(),
            s.sleep_interruptions.to_string(),
            s.out_of_hours_pages.to_string(),
            s.pages.to_string(),
            before.to_string(),
        ]);
        if bars.len() < 10 {
            bars.push(Bar::new(
                s.source.clone(),
                f64::from(s.sleep_interruptions),
                s.sleep_interruptions.to_string(),
                "bar bar-sleep",
            ));
        }
    }
    let chart = Chart::horizontal(
        "wake-chart",
        "What wakes us",
        &format!(
            "Sleep interruptions by alert source, the ten highest; the top one is {}.",
            r.current.sources.first().map_or("none", |s| s.source.as_str())
        ),
        bars,
        &[],
    );
    (t, chart)
}

pub fn recovery(r: &Report) -> Table {
    let mut t = Table::new(
        "recovery",
        "Managers set the example",
        "Recovery days of current members by the date of the day off. Taken (%) is of the days that have passed.",
        vec![
            "Who",
            "People",
            "Granted",
            "Taken",
            "Worked anyway",
            "Taken (%)",
            "Previous taken (%)",
        ],
    );
    for (label, c, p) in [
        ("Managers", &r.current.recovery.managers, &r.previous.recovery.managers),
        ("Everyone else", &r.current.recovery.others, &r.previous.recovery.others),
    ] {
        t.push(vec![
            label.into(),
            c.people.to_string(),
            c.granted.to_string(),
            c.taken.to_string(),
            c.worked_anyway.to_string(),
            pct_opt(c.taken_share),
            pct_opt(p.taken_share),
        ]);
    }
    t
}

/// A table with its chart, if it has one.
pub struct Section {
    pub table: Table,
    pub chart: Option<String>,
}

pub fn sections(r: &Report, tz: Tz) -> Vec<Section> {
    let (w, wc) = weeks(r, tz);
    let (o, oc) = out_of_hours(r);
    let (p, pc) = people(r);
    let (s, sc) = sources(r);
    vec![
        Section {
            table: summary(r),
            chart: None,
        },
        Section {
            table: w,
            chart: Some(wc.svg()),
        },
        Section {
            table: o,
            chart: Some(oc.svg()),
        },
        Section {
            table: acknowledgement(r),
            chart: None,
        },
        Section {
            table: p,
            chart: Some(pc.svg()),
        },
        Section {
            table: s,
            chart: Some(sc.svg()),
        },
        Section {
            table: recovery(r),
            chart: None,
        },
    ]
}
