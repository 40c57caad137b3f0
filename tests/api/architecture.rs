//! The shape in ARCHITECTURE.md, checked: the two faces never import each
//! other, SQL lives only in `db` (run through `db::sql`), the layers below
//! never reach up, and no source file grows past about 500 lines.

use std::path::{Path, PathBuf};

fn sources(under: &str) -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        for entry in std::fs::read_dir(dir).expect("source folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source file");
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(under), &mut out);
    out
}

/// Every line of the files under `under` that contains one of `needles`.
fn offending(under: &str, needles: &[&str]) -> Vec<String> {
    sources(under)
        .into_iter()
        .flat_map(|(path, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, line)| needles.iter().any(|n| line.contains(n)))
                .map(|(i, line)| format!("{}:{}: {}", path.display(), i + 1, line.trim()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_faces_never_import_each_other() {
    assert_eq!(offending("web", &["crate::api"]), Vec::<String>::new());
    assert_eq!(offending("api", &["crate::web"]), Vec::<String>::new());
}

#[test]
fn sql_lives_only_in_db() {
    let outside_db: Vec<String> = offending("", &["sqlx::query", "use sqlx::{query", "use sqlx::query"])
        .into_iter()
        .filter(|line| {
            !line.contains(&format!(
                "src{}db{}",
                std::path::MAIN_SEPARATOR,
                std::path::MAIN_SEPARATOR
            ))
        })
        .collect();
    assert_eq!(outside_db, Vec::<String>::new());
}

/// `db::sql` is the one door to sqlx's statements: there they are made
/// safe for PgBouncer in transaction mode (unnamed, each in a transaction).
#[test]
fn db_runs_statements_through_the_pgbouncer_safe_door() {
    let door = format!("src{0}db{0}sql.rs", std::path::MAIN_SEPARATOR);
    let around: Vec<String> = offending("db", &["sqlx::query", "use sqlx::{query", "use sqlx::query", "raw_sql"])
        .into_iter()
        .filter(|line| !line.contains(&door))
        .collect();
    assert_eq!(around, Vec::<String>::new());
}

#[test]
fn lower_layers_never_reach_up() {
    let up = [
        "crate::ops",
        "crate::web",
        "crate::api",
        "crate::auth",
        "crate::app",
        "crate::state",
    ];
    assert_eq!(offending("db", &up), Vec::<String>::new());
    let io = [
        "crate::db",
        "crate::ops",
        "crate::web",
        "crate::api",
        "crate::state",
        "sqlx::",
    ];
    assert_eq!(offending("domain", &io), Vec::<String>::new());
    assert_eq!(
        offending("ops", &["crate::web", "crate::api", "crate::app"]),
        Vec::<String>::new()
    );
}

#[test]
fn no_source_file_is_over_about_500_lines() {
    let long: Vec<String> = sources("")
        .into_iter()
        .filter(|(_, text)| text.lines().count() > 520)
        .map(|(path, text)| format!("{}: {} lines", path.display(), text.lines().count()))
        .collect();
    assert_eq!(long, Vec::<String>::new());
}
