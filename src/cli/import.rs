//! `rota import pagerduty|opsgenie|grafana-oncall FILE --team SLUG`: a
//! schedule from another tool, reported as plain text. Public so tests run
//! it in-process.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

use crate::domain::import::Vendor;
use crate::ops::import::{self, Refusal, Report, Request};
use crate::ops::invitations::{self, Inviter};

/// What the command was asked.
pub struct Args<'a> {
    pub vendor: &'a str,
    pub text: &'a str,
    pub team: &'a str,
    pub rotation: Option<&'a str>,
    pub dry_run: bool,
    pub merge: bool,
}

/// The report (for standard output) on success; every problem, one a line,
/// on refusal (the command then exits non-zero).
pub async fn import(pool: &PgPool, base_url: &str, args: Args<'_>, now: DateTime<Utc>) -> Result<String, String> {
    let vendor = Vendor::parse(args.vendor).ok_or_else(|| {
        format!(
            "\"{}\" is not a tool Rota imports from; use pagerduty, opsgenie or grafana-oncall",
            args.vendor
        )
    })?;
    let request = Request {
        vendor,
        text: args.text,
        team: args.team,
        rotation: args.rotation,
        merge: args.merge,
        dry_run: args.dry_run,
    };
    let refused = |r: Refusal| r.lines().join("\n");
    let mut tx = pool
        .begin()
        .await
        .map_err(|e| format!("the database is not answering: {e}"))?;
    let report = import::run(&mut tx, Inviter::CommandLine, &request, now)
        .await
        .map_err(refused)?;
    tx.commit()
        .await
        .map_err(|e| format!("the import could not be saved: {e}"))?;
    Ok(text(&report, base_url))
}

/// The report as lines of text.
pub fn text(r: &Report, base_url: &str) -> String {
    let tz = r.plan.tz;
    let mut out = Vec::new();
    out.push(if r.dry_run {
        "Dry run: nothing was changed. Run it again without --dry-run to import.".to_owned()
    } else {
        "Imported.".to_owned()
    });
    out.push(format!(
        "{} schedule \"{}\" → rotation {} (\"{}\") in team {}, {}",
        r.plan.vendor.label(),
        r.plan.schedule_name,
        r.rotation_slug,
        r.rotation_name,
        r.team.slug,
        if r.merged {
            "merged into the existing rotation"
        } else {
            "a new rotation"
        }
    ));
    out.push(format!(
        "Handoff: {}; Rota's weeks begin {}",
        r.plan.handoff(),
        local(r.effective_from, tz)
    ));
    out.push(String::new());
    out.push("People, in rotation order:".into());
    for (i, email) in r.plan.participants.iter().enumerate() {
        if let Some(j) = r.people.iter().find(|j| j.user.email == *email) {
            out.push(format!("  {}. {} ({}): {}", i + 1, email, j.user.name, j.how.words()));
        }
    }
    for j in r.people.iter().filter(|j| !r.plan.participants.contains(&j.user.email)) {
        out.push(format!(
            "  also: {} ({}): {}, not in the rotation",
            j.user.email,
            j.user.name,
            j.how.words()
        ));
    }
    out.push(String::new());
    out.push(format!("The first weeks ({}):", tz.name()));
    for s in &r.shifts {
        out.push(format!(
            "  {} to {}  {:<9} {}",
            local(s.starts_at, tz),
            local(s.ends_at, tz),
            s.role.as_str(),
            s.email
        ));
    }
    if !r.overrides.is_empty() {
        out.push(String::new());
        out.push("Overrides:".into());
        for o in &r.overrides {
            let p = &o.planned;
            out.push(format!(
                "  {}: {} {} from {} to {}: {}",
                p.path,
                p.email,
                p.role.as_str(),
                local(p.starts_at, tz),
                local(p.ends_at, tz),
                o.skipped
                    .as_deref()
                    .map_or("applied".to_owned(), |why| format!("not applied, {why}"))
            ));
        }
    }
    section(&mut out, "Not carried over:", &r.plan.unmapped);
    section(&mut out, "Notes:", &r.plan.notes);
    if !r.invitations.is_empty() {
        out.push(String::new());
        out.push("Invitations: pass each link on (single use, valid 7 days):".into());
        for i in &r.invitations {
            out.push(format!(
                "  {}  {}",
                i.invitation.email,
                invitations::link(base_url, &i.token)
            ));
        }
    }
    out.join("\n")
}

fn section(out: &mut Vec<String>, title: &str, lines: &[String]) {
    if lines.is_empty() {
        return;
    }
    out.push(String::new());
    out.push(title.to_owned());
    out.extend(lines.iter().map(|l| format!("  - {l}")));
}

fn local(at: DateTime<Utc>, tz: Tz) -> String {
    at.with_timezone(&tz).format("%a %Y-%m-%d %H:%M").to_string()
}
