//! The rotation form: its fields as sent, and the participant picker,
//! one select per position listing the team's members, so a manager picks
//! who takes part and in which order without typing e-mails or needing
//! JavaScript. The old `participants` field (one e-mail a line) is still
//! read, for scripts that post it.

use crate::db::teams::Member;
use crate::error::{AppError, AppResult};
use crate::ops::rotations::RotationFields;
use crate::web::forms::Choice;

/// The values a rotation form shows.
pub struct RotationFormValues {
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub weekday: String,
    pub time: String,
    pub start_date: String,
    /// The participants in order, as e-mails (or whatever was sent).
    pub chosen: Vec<String>,
    pub primary_sla: String,
    pub secondary_sla: String,
}

/// One position of the picker: "1", with every member to choose from.
pub struct Position {
    pub number: usize,
    pub choices: Vec<Choice>,
}

/// How many empty positions follow the chosen ones, while members remain.
const SPARE: usize = 2;

/// The picker's positions: the chosen people in order, then up to two
/// empty ones (never more positions than there are people to pick, never
/// fewer than the two a rotation needs). A value that is not a member (a
/// refused form) stays selected, marked, so nothing typed is lost.
pub fn positions(members: &[Member], chosen: &[String]) -> Vec<Position> {
    let count = (chosen.len() + SPARE).min(members.len().max(chosen.len())).max(2);
    (0..count)
        .map(|i| {
            let picked = chosen.get(i).map(|s| s.trim()).unwrap_or_default();
            let mut choices: Vec<Choice> = members
                .iter()
                .map(|m| Choice {
                    value: m.email.clone(),
                    label: label(m, members),
                    selected: !picked.is_empty() && m.email.eq_ignore_ascii_case(picked),
                })
                .collect();
            if !picked.is_empty() && !choices.iter().any(|c| c.selected) {
                choices.push(Choice {
                    value: picked.to_owned(),
                    label: format!("{picked} (not a member)"),
                    selected: true,
                });
            }
            Position { number: i + 1, choices }
        })
        .collect()
}

/// A member's name, with the e-mail only when two members share the name.
fn label(m: &Member, members: &[Member]) -> String {
    if members.iter().filter(|o| o.name == m.name).count() > 1 {
        format!("{} ({})", m.name, m.email)
    } else {
        m.name.clone()
    }
}

/// A rotation form as posted. Read from the pairs because the picker
/// sends `participant` once per position, in order.
#[derive(Default)]
pub struct RotationForm {
    pub slug: String,
    pub name: String,
    pub timezone: String,
    pub handoff_weekday: String,
    pub handoff_time: String,
    pub start_date: String,
    /// Each position's choice, "" for "—".
    pub picked: Vec<String>,
    /// The old field: one e-mail a line.
    pub typed: String,
    pub primary_sla: String,
    pub secondary_sla: String,
}

impl RotationForm {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = RotationForm::default();
        for (key, value) in pairs {
            match key.as_str() {
                "slug" => f.slug = value,
                "name" => f.name = value,
                "timezone" => f.timezone = value,
                "handoff_weekday" => f.handoff_weekday = value,
                "handoff_time" => f.handoff_time = value,
                "start_date" => f.start_date = value,
                "participant" => f.picked.push(value),
                "participants" => f.typed = value,
                "primary_sla" => f.primary_sla = value,
                "secondary_sla" => f.secondary_sla = value,
                _ => {}
            }
        }
        f
    }

    /// Whether the picker was used; otherwise the old field is read.
    fn uses_picker(&self) -> bool {
        self.picked.iter().any(|p| !p.trim().is_empty())
    }

    /// The participants as sent, in order, blanks dropped.
    fn chosen(&self) -> Vec<String> {
        let all: Vec<&str> = if self.uses_picker() {
            self.picked.iter().map(String::as_str).collect()
        } else {
            self.typed.lines().collect()
        };
        all.into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    pub fn values(&self) -> RotationFormValues {
        RotationFormValues {
            slug: self.slug.clone(),
            name: self.name.clone(),
            timezone: self.timezone.clone(),
            weekday: self.handoff_weekday.clone(),
            time: self.handoff_time.clone(),
            start_date: self.start_date.clone(),
            chosen: self.chosen(),
            primary_sla: self.primary_sla.clone(),
            secondary_sla: self.secondary_sla.clone(),
        }
    }

    /// The fields for `ops::rotations`. Picked people are checked here,
    /// against the team's `members`, so the message names the position and
    /// the person; e-mails typed in the old field are checked by `ops`.
    pub fn fields(&self, members: &[Member], team_name: &str) -> AppResult<RotationFields> {
        let participants = if self.uses_picker() {
            picked_emails(&self.picked, members, team_name)?
        } else {
            self.chosen()
        };
        let minutes = |label: &str, v: &str| {
            v.trim()
                .parse::<i32>()
                .map_err(|_| AppError::Unprocessable(format!("The {label} SLA \"{v}\" is not a number of minutes")))
        };
        Ok(RotationFields {
            name: Some(self.name.clone()),
            timezone: Some(self.timezone.clone()),
            handoff_weekday: Some(self.handoff_weekday.clone()),
            handoff_time: Some(self.handoff_time.clone()),
            start_date: Some(self.start_date.clone()),
            participants: Some(participants),
            primary_sla_minutes: Some(minutes("primary", &self.primary_sla)?),
            secondary_sla_minutes: Some(minutes("secondary", &self.secondary_sla)?),
        })
    }
}

/// The members picked, in order: each a member of the team, none twice.
fn picked_emails(picked: &[String], members: &[Member], team_name: &str) -> AppResult<Vec<String>> {
    let mut emails: Vec<(usize, &Member)> = Vec::new();
    for (i, value) in picked.iter().enumerate().filter(|(_, v)| !v.trim().is_empty()) {
        let position = i + 1;
        let member = members
            .iter()
            .find(|m| m.email.eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| {
                AppError::Unprocessable(format!(
                    "Position {position}: {} is not a member of {team_name}; pick one of its members, or — to leave the position empty",
                    value.trim()
                ))
            })?;
        if let Some((first, _)) = emails.iter().find(|(_, m)| m.user_id == member.user_id) {
            return Err(AppError::Unprocessable(format!(
                "{} is picked twice (positions {first} and {position}); pick each person once",
                member.name
            )));
        }
        emails.push((position, member));
    }
    Ok(emails.into_iter().map(|(_, m)| m.email.clone()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::teams::TeamRole;

    fn member(id: i64, name: &str) -> Member {
        Member {
            user_id: id,
            email: format!("{}@example.com", name.to_lowercase()),
            name: name.into(),
            timezone: "UTC".into(),
            role: TeamRole::Member,
        }
    }

    #[test]
    fn the_picker_offers_two_spare_positions_but_never_more_than_the_team_has() {
        let team: Vec<Member> = ["Ana", "Ben", "Cy", "Dee", "Eve", "Fay"]
            .iter()
            .enumerate()
            .map(|(i, n)| member(i as i64, n))
            .collect();
        let chosen = vec!["ben@example.com".to_owned(), "ana@example.com".to_owned()];
        let p = positions(&team, &chosen);
        assert_eq!(p.len(), 4);
        assert!(p[0].choices.iter().any(|c| c.selected && c.label == "Ben"));
        assert!(p[2].choices.iter().all(|c| !c.selected));
        assert_eq!(positions(&team[..3], &chosen).len(), 3);
        assert_eq!(positions(&team, &[]).len(), 2);
    }

    #[test]
    fn a_refused_value_stays_selected_and_marked() {
        let team = vec![member(1, "Ana"), member(2, "Ben")];
        let p = positions(&team, &["zed@example.com".to_owned()]);
        let kept = p[0].choices.iter().find(|c| c.selected).unwrap();
        assert_eq!(kept.label, "zed@example.com (not a member)");
    }

    #[test]
    fn picked_people_are_members_and_each_once() {
        let team = vec![member(1, "Ana"), member(2, "Ben")];
        let pick = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            picked_emails(&pick(&["ben@example.com", "", "ana@example.com"]), &team, "Platform").unwrap(),
            vec!["ben@example.com", "ana@example.com"]
        );
        let twice = picked_emails(&pick(&["ana@example.com", "ANA@example.com"]), &team, "Platform");
        assert!(
            matches!(twice, Err(AppError::Unprocessable(m)) if m == "Ana is picked twice (positions 1 and 2); pick each person once")
        );
        let stranger = picked_emails(&pick(&["zed@example.com"]), &team, "Platform");
        assert!(
            matches!(stranger, Err(AppError::Unprocessable(m)) if m.starts_with("Position 1: zed@example.com is not a member of Platform"))
        );
    }
}
