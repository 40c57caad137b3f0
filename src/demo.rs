//! A believable organisation to look around in: two teams in different
//! zones, a manager and a few engineers each, rotations that began weeks ago.

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use sqlx::{Connection, PgConnection, PgPool, Postgres};

use crate::clock::Clock;
use crate::db::shifts::ShiftView;
use crate::db::teams::Team;
use crate::db::users::User;
use crate::domain::role::Role;
use crate::domain::swap::Action;
use crate::ops::Ctx;
use crate::ops::swaps::{Ask, act, ask};

use crate::db;
use crate::db::pages::Report;
use crate::db::teams::TeamRole;
use crate::domain::schedule::local_to_instant;
use crate::ops::members::set_member;
use crate::ops::pages::{Derive, record};
use crate::ops::rotations::{RotationFields, create_rotation};
use crate::ops::teams::create_team;
use crate::ops::users::{NewUserInput, create_user};

pub const PASSWORD: &str = "rota-demo-password";
pub const ADMIN_EMAIL: &str = "admin@example.com";

pub struct Demo {
    pub created: bool,
    pub sign_ins: Vec<(String, String)>,
}

struct Person {
    email: &'static str,
    name: &'static str,
    tz: &'static str,
}

const PLATFORM: &[Person] = &[
    Person {
        email: "alex@example.com",
        name: "Alex Morgan",
        tz: "Europe/London",
    },
    Person {
        email: "priya@example.com",
        name: "Priya Shah",
        tz: "Europe/London",
    },
    Person {
        email: "sam@example.com",
        name: "Sam Okafor",
        tz: "Europe/London",
    },
    Person {
        email: "jo@example.com",
        name: "Jo Lee",
        tz: "Europe/Dublin",
    },
    Person {
        email: "ravi@example.com",
        name: "Ravi Patel",
        tz: "Europe/London",
    },
];

const PAYMENTS: &[Person] = &[
    Person {
        email: "maria@example.com",
        name: "Maria Garcia",
        tz: "America/New_York",
    },
    Person {
        email: "dan@example.com",
        name: "Dan Brooks",
        tz: "America/New_York",
    },
    Person {
        email: "lena@example.com",
        name: "Lena Fischer",
        tz: "America/Chicago",
    },
    Person {
        email: "tom@example.com",
        name: "Tom Wright",
        tz: "America/New_York",
    },
];

/// Pages each demo team had lately: days ago, local time, minutes, summary.
const PAGES: &[(i64, &str, i64, &str)] = &[
    (2, "03:12", 95, "Checkout p99 latency above 2s for 10 minutes"),
    (4, "14:05", 25, "Disk on db-2 is 90% full"),
    (6, "23:40", 40, "Payment webhook queue backing up"),
    (11, "10:30", 15, "Certificate expires in 7 days"),
    (13, "02:50", 70, "Primary database failover"),
];

/// Creates the demo organisation unless it is there already.
pub async fn create(pool: &PgPool, now: DateTime<Utc>) -> anyhow::Result<Demo> {
    let mut tx = pool.begin().await?;
    let sign_ins = vec![
        (ADMIN_EMAIL.to_owned(), "admin".to_owned()),
        (PLATFORM[0].email.to_owned(), "Platform manager".to_owned()),
        (PLATFORM[1].email.to_owned(), "Platform engineer".to_owned()),
        (PAYMENTS[0].email.to_owned(), "Payments manager".to_owned()),
    ];
    if db::teams::by_slug(&mut tx, "platform").await?.is_some() {
        return Ok(Demo {
            created: false,
            sign_ins,
        });
    }
    let err = |e: crate::error::AppError| anyhow::anyhow!("demo: {e}");
    let admin = match db::users::by_email(&mut tx, ADMIN_EMAIL).await? {
        Some(a) => a,
        None => create_user(
            &mut tx,
            NewUserInput {
                email: ADMIN_EMAIL,
                name: "Ada Admin",
                timezone: Some("Europe/London"),
                password: Some(PASSWORD),
                is_admin: true,
            },
        )
        .await
        .map_err(err)?,
    };
    for (slug, name, tz, people) in [
        ("platform", "Platform", "Europe/London", PLATFORM),
        ("payments", "Payments", "America/New_York", PAYMENTS),
    ] {
        let team = create_team(&mut tx, slug, name, tz).await.map_err(err)?;
        for (i, p) in people.iter().enumerate() {
            if db::users::by_email(&mut tx, p.email).await?.is_none() {
                create_user(
                    &mut tx,
                    NewUserInput {
                        email: p.email,
                        name: p.name,
                        timezone: Some(p.tz),
                        password: Some(PASSWORD),
                        is_admin: false,
                    },
                )
                .await
                .map_err(err)?;
            }
            let role = if i == 0 { TeamRole::Manager } else { TeamRole::Member };
            set_member(&mut tx, &team, admin.id, p.email, role, now)
                .await
                .map_err(err)?;
        }
        let start = (now - Duration::weeks(8)).with_timezone(&team.tz()).date_naive();
        let fields = RotationFields {
            name: Some(format!("{name} weekly")),
            start_date: Some(start.to_string()),
            participants: Some(people.iter().map(|p| p.email.to_owned()).collect()),
            ..RotationFields::default()
        };
        create_rotation(&mut tx, &team, admin.id, "weekly", &fields, now)
            .await
            .map_err(err)?;
        let rotation = db::rotations::by_slug(&mut tx, team.id, "weekly").await?.map(|r| r.id);
        for (days_ago, time, minutes, summary) in PAGES {
            let date = (now - Duration::days(*days_ago)).with_timezone(&team.tz()).date_naive();
            let fired = local_to_instant(team.tz(), date, NaiveTime::parse_from_str(time, "%H:%M")?);
            if fired >= now {
                continue;
            }
            let report = Report {
                team_id: team.id,
                rotation_id: rotation,
                source: "alertmanager".into(),
                dedup_key: format!("demo-{days_ago}-{time}"),
                summary: (*summary).into(),
                link: None,
                severity: Some("page".into()),
                fired_at: fired,
                acknowledged_at: Some(fired + Duration::minutes(2)),
                resolved_at: Some((fired + Duration::minutes(*minutes)).min(now)),
                worked_until: None,
                page: false,
            };
            record(&mut tx, &report, None, Derive::Now, now).await.map_err(err)?;
        }
        changes(&mut tx, &team, &admin, now).await?;
    }
    tx.commit().await?;
    Ok(Demo {
        created: true,
        sign_ins,
    })
}

/// A cover already applied, a swap waiting for approval and some leave
/// that needs cover, so every part of the flow has something to show.
/// Each is tried on its own: one that does not fit this week's schedule is
/// left out.
async fn changes(tx: &mut PgConnection, team: &Team, admin: &User, now: DateTime<Utc>) -> anyhow::Result<()> {
    let ctx = Ctx {
        clock: Clock::fixed(now),
        mail: false,
    };
    let shifts = db::shifts::for_team(tx, team.id, now, now + Duration::weeks(8), None).await?;
    let primaries: Vec<&ShiftView> = shifts
        .iter()
        .filter(|s| s.role == Role::Primary && s.starts_at > now + Duration::days(6))
        .collect();
    let on_call_in = |w: &ShiftView| -> Vec<i64> {
        shifts
            .iter()
            .filter(|s| s.starts_at < w.ends_at && w.starts_at < s.ends_at)
            .map(|s| s.user_id)
            .collect()
    };
    let members = db::teams::members(tx, team.id).await?;
    let mut attempt = tx.begin().await?;
    let tried: anyhow::Result<()> = async {
        // Friday night of the first full week ahead, covered by someone free.
        let week = primaries.first().ok_or_else(|| anyhow::anyhow!("no week"))?;
        let busy = on_call_in(week);
        let cover = members
            .iter()
            .find(|m| m.role == TeamRole::Member && !busy.contains(&m.user_id))
            .ok_or_else(|| anyhow::anyhow!("nobody free"))?;
        let tz = team.tz();
        let friday = (0..7)
            .map(|d| week.starts_at.with_timezone(&tz).date_naive() + Duration::days(d))
            .find(|d| d.weekday() == Weekday::Fri)
            .ok_or_else(|| anyhow::anyhow!("no Friday"))?;
        let from = local_to_instant(tz, friday, NaiveTime::from_hms_opt(18, 0, 0).unwrap_or_default());
        let to = local_to_instant(
            tz,
            friday + Duration::days(1),
            NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default(),
        );
        let holder = db::users::by_id(&mut attempt, week.user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("holder"))?;
        let coverer = db::users::by_id(&mut attempt, cover.user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("cover"))?;
        let ask_for = Ask {
            shift_id: week.id,
            counterpart_shift_id: None,
            cover_email: Some(&cover.email),
            starts_at: Some(from),
            ends_at: Some(to),
            note: "Family dinner on Friday",
        };
        let r = ask(&mut attempt, &ctx, team, &holder, &ask_for)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        act(&mut attempt, &ctx, &coverer, r.id, Action::Accept, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        act(&mut attempt, &ctx, admin, r.id, Action::Approve, Some("Fine by me"))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }
    .await;
    finish(attempt, tried, "cover").await?;

    let mut attempt = tx.begin().await?;
    let tried: anyhow::Result<()> = async {
        // Two later weeks, exchanged by agreement and waiting for a manager.
        let (a, b) = (primaries.get(2), primaries.get(4));
        let (a, b) = a.zip(b).ok_or_else(|| anyhow::anyhow!("too few weeks"))?;
        let asker = db::users::by_id(&mut attempt, a.user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("asker"))?;
        let other = db::users::by_id(&mut attempt, b.user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("other"))?;
        let ask_for = Ask {
            shift_id: a.id,
            counterpart_shift_id: Some(b.id),
            cover_email: None,
            starts_at: None,
            ends_at: None,
            note: "Wedding that week",
        };
        let r = ask(&mut attempt, &ctx, team, &asker, &ask_for)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        act(&mut attempt, &ctx, &other, r.id, Action::Accept, None)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }
    .await;
    finish(attempt, tried, "swap").await?;

    let mut attempt = tx.begin().await?;
    let tried: anyhow::Result<()> = async {
        // Leave over someone's week: it shows as needing cover.
        let week = primaries.get(3).ok_or_else(|| anyhow::anyhow!("too few weeks"))?;
        let away = db::users::by_id(&mut attempt, week.user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("away"))?;
        let first = week.starts_at.with_timezone(&away.tz()).date_naive() + Duration::days(2);
        crate::ops::leave::put(&mut attempt, &ctx, &away, first, first + Duration::days(2))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }
    .await;
    finish(attempt, tried, "leave").await?;

    let mut attempt = tx.begin().await?;
    let tried = handoffs(&mut attempt, team, now).await;
    finish(attempt, tried, "handoffs").await
}

/// The last few weeks' handoffs, written before each handoff and
/// acknowledged after it, so the history and search have something in them.
async fn handoffs(conn: &mut PgConnection, team: &Team, now: DateTime<Utc>) -> anyhow::Result<()> {
    use crate::ops::handoffs::{Draft, acknowledge, between, find, rotation_rules, save};
    let rotations = rotation_rules(conn, Some(&[team.id]))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let past = between(conn, &rotations, now - Duration::weeks(4), now)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for h in past.iter().filter(|h| h.boundary.at + Duration::hours(3) < now) {
        let (Some(writer), Some(reader)) = (&h.people.outgoing_primary, &h.people.incoming_primary) else {
            continue;
        };
        let writer = db::users::by_id(conn, writer.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("writer"))?;
        let reader = db::users::by_id(conn, reader.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("reader"))?;
        let body = format!(
            "## What happened\n\nA quiet week for {}, apart from the disk alert on db-2 (cleared by rotating logs).\n\n\
             ## Ongoing issues and what to watch\n\n- [ ] The certificate renewal job is flaky: check it ran on Monday\n\n\
             ## Follow-ups for engineering\n\n- Make the disk alert page only above 95%: it woke nobody but it will\n",
            team.name
        );
        let draft = Draft {
            body,
            submit: true,
            expected_revision: None,
        };
        save(
            conn,
            team,
            h,
            &writer,
            false,
            &draft,
            h.boundary.at - Duration::hours(1),
            "",
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let h = find(conn, team, &h.rotation_slug, h.boundary.week_start)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        acknowledge(conn, team, &h, &reader, h.boundary.at + Duration::hours(2))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(())
}

async fn finish(attempt: sqlx::Transaction<'_, Postgres>, tried: anyhow::Result<()>, what: &str) -> anyhow::Result<()> {
    match tried {
        Ok(()) => attempt.commit().await?,
        Err(e) => {
            tracing::info!(error = %e, "demo: left out the {what}");
            attempt.rollback().await?;
        }
    }
    Ok(())
}

pub fn print_sign_in(demo: &Demo, base_url: &str) {
    eprintln!();
    if demo.created {
        eprintln!("Created the demo organisation: teams Platform (Europe/London) and Payments (America/New_York).");
    } else {
        eprintln!("The demo organisation is already there.");
    }
    eprintln!("Open {base_url}/login and sign in with any of these (password: {PASSWORD}):");
    for (email, who) in &demo.sign_ins {
        eprintln!("  {email:<22} {who}");
    }
    eprintln!();
}
