//! The rota drawn as a timeline: weeks across, one lane per role and one
//! for recovery days, covers, overrides and leave drawn where they fall,
//! a line for now. Server-side SVG: the geometry is worked out here and
//! written as attributes (the CSP allows no inline styles), colours come
//! from the stylesheet so dark mode and print follow. It is a picture of
//! the table beside it, built from the same rows, so it costs no query.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;

use super::WeekRow;
use crate::db::leave::NeedsCover;
use crate::db::recovery::RecoveryDay;
use crate::domain::role::Role;
use crate::domain::schedule::local_to_instant;
use crate::domain::swap::ChangeKind;

/// The role lanes' labels column.
const LABEL_W: i64 = 92;
/// A week's width: room for a name such as "Maria Garcia" in its bar.
const WEEK_W: i64 = 112;
const HEAD_H: i64 = 40;
const BAR_H: i64 = 28;
const LINE_H: i64 = 12;
/// Roughly how wide a character of the bars' 12px text is (a little
/// more than most fonts need, so a name never runs out of its bar).
const CHAR_W: f64 = 6.8;
/// Colours in the palette (`tl-c0` …): people beyond it share one.
const COLOURS: usize = 8;

/// One person's part of a role, for the picture.
pub struct Part {
    pub role: Role,
    pub user_id: i64,
    pub name: String,
    pub shift_id: i64,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub change: Option<ChangeKind>,
    pub replaces: Option<String>,
}

/// Who reads the page and what the picture draws around them.
pub struct Context<'a> {
    pub me: i64,
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub colours: &'a HashMap<i64, usize>,
    pub leave: &'a [NeedsCover],
    pub recovery: &'a [RecoveryDay],
}

pub struct Timeline {
    /// Makes the pattern's id unique on the page.
    pub slug: String,
    pub width: i64,
    pub height: i64,
    pub week_w: i64,
    pub weeks: Vec<WeekHead>,
    pub lanes: Vec<Lane>,
    pub segments: Vec<Segment>,
    pub marks: Vec<Mark>,
    pub notes: Vec<Note>,
    pub now_x: Option<i64>,
    /// The legend: everyone drawn, with their colour.
    pub people: Vec<Chip>,
}

pub struct WeekHead {
    pub x: i64,
    pub label: String,
    pub current: bool,
}

pub struct Lane {
    pub y: i64,
    pub h: i64,
    pub label: &'static str,
}

/// A stretch of a role held by one person.
pub struct Segment {
    pub week: String,
    pub role: &'static str,
    pub person: String,
    /// `shift`, or what put them there: `cover`, `swap`, `override`, `leave`.
    pub kind: &'static str,
    pub colour: usize,
    pub mine: bool,
    pub x: i64,
    pub y: i64,
    pub w: i64,
    /// The name as it fits in the bar; empty when nothing fits.
    pub text: String,
    /// Where the name starts: after the colour chip, or alone in a narrow bar.
    pub text_x: i64,
    pub chip: bool,
}

/// Leave over a shift, or a recovery day.
pub struct Mark {
    pub kind: &'static str,
    pub week: String,
    pub person: String,
    pub colour: usize,
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
}

/// A line of small text under a lane: what changed, whose day off.
pub struct Note {
    pub x: i64,
    pub y: i64,
    pub text: String,
}

pub struct Chip {
    pub name: String,
    pub colour: usize,
    pub me: bool,
}

/// Where an instant falls across the drawn weeks.
struct Scale<'a> {
    weeks: &'a [WeekRow],
}

impl Scale<'_> {
    fn x(&self, t: DateTime<Utc>) -> i64 {
        for (i, w) in self.weeks.iter().enumerate() {
            let left = LABEL_W + i as i64 * WEEK_W;
            if t < w.starts_at {
                return left;
            }
            if t < w.ends_at {
                let span = (w.ends_at - w.starts_at).num_seconds().max(1) as f64;
                let frac = (t - w.starts_at).num_seconds() as f64 / span;
                return left + (frac * WEEK_W as f64).round() as i64;
            }
        }
        LABEL_W + self.weeks.len() as i64 * WEEK_W
    }

    fn week_of(&self, t: DateTime<Utc>) -> Option<&WeekRow> {
        self.weeks.iter().find(|w| w.starts_at <= t && t < w.ends_at)
    }
}

/// Colours by person, in order of name, so a page always agrees with itself.
pub fn colours<'a>(people: impl Iterator<Item = (i64, &'a str)>) -> HashMap<i64, usize> {
    let mut named: Vec<(&str, i64)> = people.map(|(id, name)| (name, id)).collect();
    named.sort();
    named.dedup_by_key(|(_, id)| *id);
    named
        .iter()
        .enumerate()
        .map(|(i, (_, id))| (*id, i % COLOURS))
        .collect()
}

/// "Priya S.": the notes under a lane have a week's width.
fn short(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    match (words.first(), words.last()) {
        (Some(first), Some(last)) if words.len() > 1 => {
            format!("{first} {}.", last.chars().next().unwrap_or(' '))
        }
        _ => name.to_owned(),
    }
}

/// The name, or as much of it as fits in `w` pixels (`pad` of them taken).
fn fitting(name: &str, mine: bool, w: i64, pad: i64) -> String {
    // The reader's own name is bold, so wider.
    let (star, pad) = if mine { ("★ ", pad + 8) } else { ("", pad) };
    let room = ((w - pad) as f64 / CHAR_W).floor() as usize;
    let first = name.split_whitespace().next().unwrap_or(name);
    [
        format!("{star}{name}"),
        format!("{star}{}", short(name)),
        format!("{star}{first}"),
    ]
    .into_iter()
    .find(|t| t.chars().count() <= room)
    .unwrap_or_default()
}

/// The name with its colour chip; in a bar too narrow for both, the name.
fn label(name: &str, mine: bool, w: i64) -> (String, bool) {
    let with_chip = fitting(name, mine, w, 26);
    if with_chip.is_empty() {
        (fitting(name, mine, w, 10), false)
    } else {
        (with_chip, true)
    }
}

fn change_word(kind: Option<ChangeKind>) -> (&'static str, &'static str) {
    match kind {
        Some(ChangeKind::Swap) => ("swap", "Swap"),
        Some(ChangeKind::Override) => ("override", "Override"),
        Some(ChangeKind::Leave) => ("leave", "Leave swap"),
        Some(ChangeKind::Cover) | None => ("cover", "Cover"),
    }
}

pub fn draw(rows: &[WeekRow], slug: &str, c: &Context) -> Timeline {
    let scale = Scale { weeks: rows };
    let mut tl = Timeline {
        slug: slug.to_owned(),
        width: LABEL_W + rows.len() as i64 * WEEK_W + 8,
        height: 0,
        week_w: WEEK_W,
        weeks: heads(rows, c.now),
        lanes: Vec::new(),
        segments: Vec::new(),
        marks: Vec::new(),
        notes: Vec::new(),
        now_x: None,
        people: Vec::new(),
    };
    let mut y = HEAD_H;
    for (role, label) in [(Role::Primary, "Primary"), (Role::Secondary, "Secondary")] {
        let lines = role_lane(&mut tl, &scale, role, y, c);
        let h = BAR_H + 12 + lines as i64 * LINE_H;
        tl.lanes.push(Lane { y, h, label });
        y += h;
    }
    let lines = recovery_lane(&mut tl, &scale, y, c);
    let h = 24 + 8 + lines as i64 * LINE_H;
    tl.lanes.push(Lane {
        y,
        h,
        label: "Recovery",
    });
    // Room under the last lane for the scroll box's bar.
    tl.height = y + h + 12;
    let (first, last) = (rows.first().map(|w| w.starts_at), rows.last().map(|w| w.ends_at));
    if first.is_some_and(|f| f <= c.now) && last.is_some_and(|l| c.now < l) {
        tl.now_x = Some(scale.x(c.now));
    }
    tl.people = legend(rows, c);
    tl
}

fn heads(rows: &[WeekRow], now: DateTime<Utc>) -> Vec<WeekHead> {
    rows.iter()
        .enumerate()
        .map(|(i, w)| WeekHead {
            x: LABEL_W + i as i64 * WEEK_W,
            label: w.head.clone(),
            current: w.starts_at <= now && now < w.ends_at,
        })
        .collect()
}

/// Draws one role's bars, the leave over them and the notes on what
/// changed; answers how many lines of notes the lane needs.
fn role_lane(tl: &mut Timeline, scale: &Scale, role: Role, y: i64, c: &Context) -> usize {
    let mut most = 0;
    for (i, w) in scale.weeks.iter().enumerate() {
        let mut lines = 0;
        let note_x = LABEL_W + i as i64 * WEEK_W + 4;
        let mut note = |tl: &mut Timeline, text: String| {
            tl.notes.push(Note {
                x: note_x,
                y: y + BAR_H + 16 + lines as i64 * LINE_H,
                text,
            });
            lines += 1;
        };
        for p in w.parts.iter().filter(|p| p.role == role) {
            let (x, end) = (scale.x(p.starts_at), scale.x(p.ends_at));
            let mine = p.user_id == c.me;
            let colour = c.colours.get(&p.user_id).copied().unwrap_or(0);
            let (text, chip) = label(&p.name, mine, end - x);
            let (kind, word) = match &p.replaces {
                Some(_) => change_word(p.change),
                None => ("shift", ""),
            };
            tl.segments.push(Segment {
                week: w.date.clone(),
                role: role.as_str(),
                person: p.name.clone(),
                kind,
                colour,
                mine,
                x,
                y: y + 4,
                w: (end - x).max(2),
                text,
                text_x: x + if chip { 22 } else { 6 },
                chip,
            });
            if let Some(other) = &p.replaces {
                note(tl, format!("{word} {}", short(&p.name)));
                let whole = p.starts_at <= w.starts_at && p.ends_at >= w.ends_at;
                let at = |t: DateTime<Utc>| t.with_timezone(&c.tz).format("%a %H:%M").to_string();
                note(
                    tl,
                    match whole {
                        true => format!("for {}", short(other)),
                        false => format!("{}–{}", at(p.starts_at), at(p.ends_at)),
                    },
                );
            }
            for l in c.leave.iter().filter(|l| l.shift_id == p.shift_id) {
                if l.reason == "recovery" {
                    // The day itself is drawn with the recovery days.
                    note(tl, format!("⚠ {} needs cover: recovery day off", short(&p.name)));
                    continue;
                }
                let (a, b) = (l.leave_starts_at.max(p.starts_at), l.leave_ends_at.min(p.ends_at));
                let x = scale.x(a);
                tl.marks.push(Mark {
                    kind: "leave",
                    week: w.date.clone(),
                    person: p.name.clone(),
                    colour,
                    x,
                    y: y + 4 + BAR_H - 7,
                    w: (scale.x(b) - x).max(2),
                    h: 7,
                });
                note(tl, format!("⚠ {} on leave", short(&p.name)));
            }
        }
        most = most.max(lines);
    }
    most
}

/// Each recovery day as a block over its day, its person named under it;
/// names of days close together are staggered over three lines.
fn recovery_lane(tl: &mut Timeline, scale: &Scale, y: i64, c: &Context) -> usize {
    let midnight = NaiveTime::MIN;
    let mut lines = 0;
    let mut drawn: Vec<(NaiveDate, i64)> = Vec::new();
    for d in c.recovery {
        let start = local_to_instant(c.tz, d.day, midnight);
        let end = local_to_instant(c.tz, d.day + Duration::days(1), midnight);
        let Some(week) = scale
            .week_of(start)
            .or_else(|| scale.week_of(end - Duration::seconds(1)))
        else {
            continue;
        };
        let x = scale.x(start);
        let line = drawn.iter().filter(|(_, dx)| (x - dx).abs() < WEEK_W * 3 / 4).count() % 3;
        drawn.push((d.day, x));
        lines = lines.max(line + 1);
        tl.marks.push(Mark {
            kind: "recovery",
            week: week.date.clone(),
            person: d.name.clone(),
            colour: c.colours.get(&d.user_id).copied().unwrap_or(0),
            x,
            y: y + 6,
            w: (scale.x(end) - x).max(4),
            h: 18,
        });
        tl.notes.push(Note {
            x,
            y: y + 24 + 12 + line as i64 * LINE_H,
            text: short(&d.name),
        });
    }
    lines
}

fn legend(rows: &[WeekRow], c: &Context) -> Vec<Chip> {
    let mut seen: Vec<(String, i64)> = rows
        .iter()
        .flat_map(|w| w.parts.iter().map(|p| (p.name.clone(), p.user_id)))
        .chain(c.recovery.iter().map(|d| (d.name.clone(), d.user_id)))
        .collect();
    seen.sort();
    seen.dedup_by_key(|(_, id)| *id);
    seen.into_iter()
        .map(|(name, id)| Chip {
            name,
            colour: c.colours.get(&id).copied().unwrap_or(0),
            me: id == c.me,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_shortened_only_when_the_bar_is_too_narrow() {
        assert_eq!(label("Maria Garcia", false, WEEK_W), ("Maria Garcia".into(), true));
        assert_eq!(
            label("Alexandria Montgomery", false, WEEK_W),
            ("Alexandria".into(), true)
        );
        assert_eq!(label("Ana Montgomery", false, WEEK_W), ("Ana M.".into(), true));
        assert_eq!(label("Priya Shah", true, WEEK_W), ("★ Priya S.".into(), true));
        assert_eq!(label("Priya Shah", true, 83), ("★ Priya".into(), true));
        assert_eq!(label("Ravi Patel", false, 53), ("Ravi".into(), false));
        assert_eq!(label("Sam Okafor", false, 11), (String::new(), false));
    }

    #[test]
    fn colours_follow_names_and_each_person_keeps_one() {
        let c = colours([(7, "Sam"), (3, "Alex"), (7, "Sam"), (5, "Priya")].into_iter());
        assert_eq!((c[&3], c[&5], c[&7]), (0, 1, 2));
    }
}
