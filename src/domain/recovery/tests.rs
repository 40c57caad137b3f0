use super::*;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

const LONDON: Tz = chrono_tz::Europe::London;
const NEW_YORK: Tz = chrono_tz::America::New_York;

fn none() -> BTreeSet<NaiveDate> {
    BTreeSet::new()
}

fn grant(engagements: &[(&str, &str)], tz: Tz, holidays: &BTreeSet<NaiveDate>) -> Vec<(Trigger, NaiveDate)> {
    let e: Vec<_> = engagements.iter().map(|(a, b)| (t(a), t(b))).collect();
    let found: Vec<Trigger> = triggers(&e, tz, &Policy::default(), holidays).into_iter().collect();
    assign_days(&found, holidays, &none())
}

#[test]
fn a_page_at_3am_on_a_tuesday_grants_that_tuesday() {
    let g = grant(&[("2026-03-03T03:07:12Z", "2026-03-03T04:52:00Z")], LONDON, &none());
    assert_eq!(g, vec![(Trigger::Night(d("2026-03-03")), d("2026-03-03"))]);
    assert_eq!(
        classify(t("2026-03-03T03:07:12Z"), LONDON, &Policy::default(), &none()),
        OutOfHours::Sleep
    );
}

#[test]
fn two_pages_in_one_night_grant_one_day() {
    let g = grant(
        &[
            ("2026-03-03T01:00:00Z", "2026-03-03T01:20:00Z"),
            ("2026-03-03T05:00:00Z", "2026-03-03T05:10:00Z"),
        ],
        LONDON,
        &none(),
    );
    assert_eq!(g.len(), 1);
}

#[test]
fn a_night_into_saturday_grants_the_monday() {
    let g = grant(&[("2026-03-07T02:00:00Z", "2026-03-07T02:30:00Z")], LONDON, &none());
    assert_eq!(g, vec![(Trigger::Night(d("2026-03-07")), d("2026-03-09"))]);
}

#[test]
fn weekend_daytime_counts_from_the_threshold() {
    let long = grant(&[("2026-03-07T14:20:00Z", "2026-03-07T15:35:00Z")], LONDON, &none());
    assert_eq!(long, vec![(Trigger::Day(d("2026-03-07")), d("2026-03-09"))]);
    assert!(grant(&[("2026-03-07T14:20:00Z", "2026-03-07T14:50:00Z")], LONDON, &none()).is_empty());
    assert_eq!(
        classify(t("2026-03-07T14:20:00Z"), LONDON, &Policy::default(), &none()),
        OutOfHours::Weekend
    );
}

#[test]
fn a_holiday_moves_the_recovery_day_on() {
    let holidays: BTreeSet<NaiveDate> = [d("2026-03-09")].into();
    let g = grant(&[("2026-03-07T14:20:00Z", "2026-03-07T15:35:00Z")], LONDON, &holidays);
    assert_eq!(g[0].1, d("2026-03-10"));
    let tuesday: BTreeSet<NaiveDate> = [d("2026-03-03")].into();
    let g = grant(&[("2026-03-03T03:07:12Z", "2026-03-03T04:52:00Z")], LONDON, &tuesday);
    assert_eq!(g[0].1, d("2026-03-04"));
}

#[test]
fn the_night_the_clocks_go_forward_in_new_york_is_still_a_night() {
    let at = t("2026-03-08T07:10:00Z"); // 03:10 EDT
    assert_eq!(classify(at, NEW_YORK, &Policy::default(), &none()), OutOfHours::Sleep);
    let g = grant(&[("2026-03-08T07:10:00Z", "2026-03-08T07:40:00Z")], NEW_YORK, &none());
    assert_eq!(g, vec![(Trigger::Night(d("2026-03-08")), d("2026-03-09"))]);
}

#[test]
fn two_grants_never_share_a_day() {
    let g = grant(
        &[
            ("2026-03-07T02:00:00Z", "2026-03-07T02:30:00Z"),
            ("2026-03-08T02:00:00Z", "2026-03-08T02:30:00Z"),
        ],
        LONDON,
        &none(),
    );
    let days: Vec<NaiveDate> = g.iter().map(|(_, day)| *day).collect();
    assert_eq!(days, vec![d("2026-03-09"), d("2026-03-10")]);
}

#[test]
fn an_evening_page_before_sleep_hours_grants_nothing() {
    assert!(grant(&[("2026-03-03T19:00:00Z", "2026-03-03T20:30:00Z")], LONDON, &none()).is_empty());
    assert_eq!(
        classify(t("2026-03-03T19:00:00Z"), LONDON, &Policy::default(), &none()),
        OutOfHours::Working
    );
}

#[test]
fn an_evening_page_worked_past_bedtime_counts_as_sleep() {
    let p = Policy::default();
    assert_eq!(
        classify(t("2026-03-03T21:50:00Z"), LONDON, &p, &none()),
        OutOfHours::Working
    );
    assert_eq!(
        classify_engagement(
            t("2026-03-03T21:50:00Z"),
            t("2026-03-04T01:00:00Z"),
            LONDON,
            &p,
            &none()
        ),
        OutOfHours::Sleep
    );
    assert_eq!(
        classify_engagement(
            t("2026-03-03T19:00:00Z"),
            t("2026-03-03T20:00:00Z"),
            LONDON,
            &p,
            &none()
        ),
        OutOfHours::Working
    );
}

#[test]
fn sla_compares_acknowledgement_with_the_role() {
    let fired = t("2026-03-03T03:07:15Z");
    assert_eq!(sla(fired, Some(t("2026-03-03T03:09:40Z")), Some(5)), Sla::Met);
    assert_eq!(sla(fired, Some(t("2026-03-03T03:19:40Z")), Some(5)), Sla::Missed);
    assert_eq!(sla(fired, None, Some(5)), Sla::Unacknowledged);
}

#[test]
fn a_page_nobody_could_acknowledge_has_no_acknowledgement_data() {
    let fired = t("2026-03-03T03:07:12Z");
    let acked = Some(t("2026-03-03T03:09:40Z"));
    // Alertmanager never acknowledges: unless Rota paged it, no data.
    assert_eq!(judge(fired, None, Some(5), "alertmanager", false), Sla::NoData);
    assert_eq!(judge(fired, None, Some(5), "grafana", false), Sla::NoData);
    assert_eq!(judge(fired, None, Some(5), "alertmanager", true), Sla::Unacknowledged);
    // Someone acknowledged it in Rota all the same: judged.
    assert_eq!(judge(fired, acked, Some(5), "alertmanager", false), Sla::Met);
    // PagerDuty and people's own reports can say: unacknowledged is missed.
    assert_eq!(judge(fired, None, Some(5), "pagerduty", false), Sla::Unacknowledged);
    assert_eq!(judge(fired, None, Some(5), "manual", false), Sla::Unacknowledged);
    assert_eq!(Sla::NoData.label(), "no acknowledgement data");
}

#[test]
fn policy_changes_are_checked_and_keep_what_is_not_named() {
    let p = Policy::default();
    let later = p.changed(Some("23:30"), None, Some(90)).unwrap();
    assert_eq!(later.sleep_start, NaiveTime::from_hms_opt(23, 30, 0).unwrap());
    assert_eq!(later.sleep_end, p.sleep_end);
    assert_eq!(later.day_threshold, Duration::minutes(90));
    assert!(
        p.changed(Some("25:00"), None, None)
            .unwrap_err()
            .0
            .contains("is not a time of day")
    );
    assert!(p.changed(None, None, Some(0)).is_err());
    assert!(p.changed(Some("08:00"), None, None).is_err(), "start equal to end");
}
