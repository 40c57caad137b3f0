//! A believable organisation to look around in: two teams in different
//! zones, a manager and a few engineers each, rotations that began weeks ago.

use chrono::{DateTime, Duration, NaiveTime, Utc};
use sqlx::PgPool;

use crate::db;
use crate::db::pages::Report;
use crate::db::teams::TeamRole;
use crate::domain::schedule::local_to_instant;
use crate::ops::members::set_member;
use crate::ops::pages::record;
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
            };
            record(&mut tx, &report, None, now).await.map_err(err)?;
        }
    }
    tx.commit().await?;
    Ok(Demo {
        created: true,
        sign_ins,
    })
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
