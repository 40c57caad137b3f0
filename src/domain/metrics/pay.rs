//! The pay report: per person per calendar month, the hours on call by role
//! and what they cost out of hours, for standby pay schemes.

use serde::Serialize;

use super::{Inputs, Period, figures};

/// One person's month for the pay report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayRow {
    pub month: String,
    pub email: String,
    pub name: String,
    pub hours_primary: f64,
    pub hours_secondary: f64,
    pub out_of_hours_pages: u32,
    pub sleep_interruptions: u32,
    pub recovery_days_granted: u32,
    pub recovery_days_taken: u32,
    pub recovery_days_worked_anyway: u32,
}

/// Per person per calendar month of `period`: hours on call by role,
/// out-of-hours pages and recovery days.
pub fn pay_rows(inputs: &Inputs, period: &Period) -> Vec<PayRow> {
    let mut rows = Vec::new();
    for (label, from, to) in period.months() {
        let month = Period {
            from,
            to,
            tz: period.tz,
        };
        let mut people = figures(inputs, &month).people;
        people.sort_by(|a, b| a.name.cmp(&b.name).then(a.email.cmp(&b.email)));
        rows.extend(people.into_iter().map(|p| PayRow {
            month: label.clone(),
            email: p.email,
            name: p.name,
            hours_primary: p.hours_primary,
            hours_secondary: p.hours_secondary,
            out_of_hours_pages: p.out_of_hours_pages,
            sleep_interruptions: p.sleep_interruptions,
            recovery_days_granted: p.recovery_granted,
            recovery_days_taken: p.recovery_taken,
            recovery_days_worked_anyway: p.recovery_worked_anyway,
        }));
    }
    rows
}
