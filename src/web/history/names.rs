//! What history's sentences need to name people and rotations: the audit
//! log records people by e-mail and rotations by short name, and a reader
//! knows them by name.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use serde_json::Value;

/// The names the sentences use, gathered once per page.
#[derive(Debug, Default, Clone)]
pub struct Names {
    /// E-mail → display name ("Ravi Patel", or "Ravi Patel (left)").
    pub people: HashMap<String, String>,
    /// Rotation short name → name.
    pub rotations: HashMap<String, String>,
    /// Rotation id → (short name, name), for entries that record the id.
    pub rotation_ids: HashMap<i64, (String, String)>,
    /// (rotation short name, week start) → who submitted that handoff.
    pub authors: HashMap<(String, NaiveDate), String>,
    /// The team has more than one rotation, so a sentence says which.
    pub several_rotations: bool,
}

impl Names {
    /// The person's name; their e-mail when no account has it (an
    /// invitation to someone who has not joined), "someone" for nothing.
    pub fn person(&self, email: Option<&str>) -> String {
        match email.map(str::trim).filter(|e| !e.is_empty()) {
            Some(e) => self
                .people
                .get(&e.to_lowercase())
                .cloned()
                .unwrap_or_else(|| e.to_owned()),
            None => "someone".into(),
        }
    }

    /// The rotation's name, by short name (the short name when it is gone).
    pub fn rotation(&self, slug: &str) -> String {
        self.rotations.get(slug).cloned().unwrap_or_else(|| slug.to_owned())
    }

    /// " in Weekly" when the team has several rotations; empty otherwise.
    pub fn in_rotation(&self, slug: Option<&str>) -> String {
        match slug.filter(|_| self.several_rotations) {
            Some(s) => format!(" in {}", self.rotation(s)),
            None => String::new(),
        }
    }
}

/// Keys under which entries record a person by e-mail.
const PERSON_KEYS: [&str; 2] = ["email", "responder"];

/// Every e-mail an entry's before and after record, for one lookup.
pub fn emails_in(values: &[Option<&Value>], into: &mut BTreeSet<String>) {
    fn walk(v: &Value, into: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        (k, Value::String(s)) if PERSON_KEYS.contains(&k) => {
                            into.insert(s.trim().to_lowercase());
                        }
                        ("participants", Value::Array(list)) => {
                            into.extend(list.iter().filter_map(Value::as_str).map(|s| s.trim().to_lowercase()));
                        }
                        _ => walk(value, into),
                    }
                }
            }
            Value::Array(list) => list.iter().for_each(|v| walk(v, into)),
            _ => {}
        }
    }
    for v in values.iter().flatten() {
        walk(v, into);
    }
}

/// The week a handoff entry is about, if it is one.
pub fn handoff_week(action: &str, after: Option<&Value>) -> Option<(String, NaiveDate)> {
    if !action.starts_with("handoff.") {
        return None;
    }
    let after = after?;
    let slug = after.get("rotation")?.as_str()?.to_owned();
    let week = after.get("week_start")?.as_str()?.parse().ok()?;
    Some((slug, week))
}
