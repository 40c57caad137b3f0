//! `rota export` and `rota restore` (see [`crate::ops::backup`]).

use std::path::{Path, PathBuf};

use crate::config::Settings;
use crate::db;
use crate::ops::backup::{self, Counts};

pub async fn export(settings: &Settings, output: Option<PathBuf>) -> anyhow::Result<()> {
    let pool = db::connect(&settings.database(), 2).await?.db;
    let now = chrono::Utc::now();
    let counts = match &output {
        Some(path) => {
            let file = tokio::fs::File::create(path)
                .await
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            let mut out = tokio::io::BufWriter::new(file);
            backup::export(&pool, &mut out, now).await?
        }
        None => {
            let mut out = tokio::io::BufWriter::new(tokio::io::stdout());
            backup::export(&pool, &mut out, now).await?
        }
    };
    let rows: u64 = counts.iter().map(|(_, n)| n).sum();
    let to = output.map_or("standard output".to_owned(), |p| p.display().to_string());
    eprintln!(
        "Exported {rows} rows from {} tables to {to}: {}.",
        counts.len(),
        summary(&counts)
    );
    Ok(())
}

pub async fn restore(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let text = if file.as_os_str() == "-" {
        let mut text = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut tokio::io::stdin(), &mut text).await?;
        text
    } else {
        tokio::fs::read_to_string(file)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?
    };
    // Postgres itself: a restore migrates, which needs a session.
    let target = settings.database();
    let url = target.listen_url.unwrap_or(target.url);
    let counts = backup::restore(&url, &text).await?;
    eprintln!(
        "Restored {}. Everyone signs in again; the server can start.",
        summary(&counts)
    );
    Ok(())
}

/// "3 teams, 12 users, …": the tables people recognise, with their rows.
fn summary(counts: &Counts) -> String {
    const SHOWN: [&str; 8] = [
        "teams",
        "users",
        "rotations",
        "shifts",
        "schedule_changes",
        "pages",
        "recovery_days",
        "handoffs",
    ];
    counts
        .iter()
        .filter(|(table, _)| SHOWN.contains(table))
        .map(|(table, n)| format!("{n} {}", table.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}
