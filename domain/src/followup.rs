//! Follow-up talks (opfølgning): when each talk is due under a category cadence, and which
//! contact forms a talk may use (DOMAIN.md §2.3, §2.5, §3.5).
//!
//! Cadence semantics (T-13, T-13b, SDL § 13b):
//! - the first talk is due by the rule set's T-11 deadline whatever the category;
//! - each later talk is due from the previous one under the category in force at that talk,
//!   so a re-visitation at a follow-up changes the cadence from that follow-up on;
//! - a visitation between talks into a stricter category tightens the pending deadline at once;
//!   into a looser one it waits for the next talk (INFERRED: never lets a deadline slip);
//! - with no visitation recorded, the strictest cadence is assumed (INFERRED, noted);
//! - while an exemption that spares the person meetings is in force (standby, terminal,
//!   critically ill) the clock pauses; open-ended, the deadline lapses (INFERRED).

use crate::facts::{CaseFacts, Category, ContactMode, ExemptionGround, FollowUp};
use crate::rules::{CategoryCadence, Rule, RuleId, RuleSet, Step, Verdict, exemption_rule};
use crate::weeks::{add_days, end_of_sick_week};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One talk the jobcentre owes, and whether it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUpSlot {
    /// Which talk this is (1 = first follow-up).
    pub number: u32,
    pub rule_id: RuleId,
    /// Category whose cadence set the deadline; `None` for the first talk.
    pub category: Option<Category>,
    /// `None` when no statutory deadline exists (e.g. today's category 1, or after six months
    /// without an agreed date).
    pub due: Option<NaiveDate>,
    pub met_on: Option<NaiveDate>,
    /// Suspended by an exemption.
    pub suspended: bool,
    pub note: String,
}

fn step_date(step: Step, d0: NaiveDate, previous: NaiveDate) -> NaiveDate {
    match step {
        Step::AfterPrevious(p) => p.after(previous),
        Step::AfterFirstSickDay(p) => p.after(d0),
    }
}

/// Moves `due` later by the days between `from` and it that a meeting-exemption covers;
/// `None` when an open-ended exemption stops the clock.
fn pause_for_exemptions(facts: &CaseFacts, from: NaiveDate, due: NaiveDate) -> Option<NaiveDate> {
    let needed = due.signed_duration_since(from).num_days();
    let (mut counted, mut day) = (0, from);
    while counted < needed {
        day = add_days(day, 1);
        match facts
            .exemptions
            .iter()
            .find(|e| e.ground.scope().meetings && e.covers(day))
        {
            Some(e) if e.to.is_none() => return None,
            Some(_) => {}
            None => counted += 1,
        }
    }
    Some(day)
}

/// The deadline one category's cadence gives for talk `number` after `previous`.
fn category_due(
    rule: &Rule<CategoryCadence>,
    number: u32,
    d0: NaiveDate,
    previous: &FollowUp,
) -> (Option<NaiveDate>, String) {
    let steps = if number == 2 {
        rule.value.second
    } else {
        rule.value.then
    };
    let candidates: Vec<NaiveDate> = steps
        .iter()
        .map(|s| step_date(*s, d0, previous.held_on))
        .collect();
    let Some(due) = candidates.iter().min().copied() else {
        return (None, format!("no statutory cadence: {}", rule.note));
    };
    let mut note = String::from(rule.note);
    if candidates.len() > 1 {
        let listed: Vec<String> = candidates.iter().map(NaiveDate::to_string).collect();
        note = format!("earliest of {} ({note})", listed.join(" and "));
    }
    if due < previous.held_on {
        note = format!("{note}; this deadline passed before the previous talk was held");
    }
    match rule.value.statutory_until.map(|p| p.after(d0)) {
        Some(limit) if due > limit => match previous.next_agreed_on {
            Some(agreed) => (
                Some(agreed),
                format!("after {limit}: talk agreed with the person"),
            ),
            None => (
                None,
                format!("after {limit} the talk is agreed with the person; none recorded"),
            ),
        },
        _ => (Some(due), note),
    }
}

fn slot_after(
    rs: &RuleSet,
    facts: &CaseFacts,
    previous: &FollowUp,
    number: u32,
    window_end: NaiveDate, // exclusive
) -> FollowUpSlot {
    let d0 = facts.first_sick_day;
    let mut categories: Vec<Category> = facts.category_on(previous.held_on).into_iter().collect();
    categories.extend(
        facts
            .visitations
            .iter()
            .filter(|v| v.on > previous.held_on && v.on < window_end)
            .map(|v| v.category),
    );
    let assumed = categories.is_empty();
    if assumed {
        categories = Category::ALL.to_vec();
    }
    let option = |c: Category| {
        let rule = rs.cadence_for(c);
        let (due, note) = category_due(rule, number, d0, previous);
        (due, c, rule.id, note)
    };
    // Earliest deadline wins; a category without one only counts when none has one.
    let key = |due: &Option<NaiveDate>| (due.is_none(), *due);
    let mut best = option(categories[0]);
    for c in &categories[1..] {
        let o = option(*c);
        if key(&o.0) < key(&best.0) {
            best = o;
        }
    }
    let (due, category, rule_id, mut note) = best;
    if assumed {
        note = format!("no visitation recorded: strictest cadence assumed; {note}");
    }
    let mut suspended = false;
    let due = due.map(
        |due| match pause_for_exemptions(facts, previous.held_on, due) {
            Some(paused) if paused != due => {
                note = format!("{note}; clock paused by an exemption (was {due})");
                paused
            }
            Some(_) => due,
            None => {
                suspended = true;
                note = format!("{note}; suspended by an open-ended exemption from meetings");
                due
            }
        },
    );
    FollowUpSlot {
        number,
        rule_id,
        category: Some(category),
        due,
        met_on: None,
        suspended,
        note,
    }
}

/// All follow-up talks owed up to `as_of`: one slot per talk held plus the next pending one.
pub fn follow_up_slots(rs: &RuleSet, facts: &CaseFacts, as_of: NaiveDate) -> Vec<FollowUpSlot> {
    let facts = facts.known_on(as_of);
    let held = &facts.follow_ups;
    let first = &rs.first_follow_up;
    let mut slots = vec![FollowUpSlot {
        number: 1,
        rule_id: first.id,
        category: None,
        due: Some(first.value.date(facts.first_sick_day)),
        met_on: held.first().map(|f| f.held_on),
        suspended: false,
        note: first.note.to_string(),
    }];
    for (k, previous) in held.iter().enumerate() {
        let next = held.get(k + 1);
        let number = u32::try_from(k + 2).unwrap_or(u32::MAX);
        // Visitations strictly before the talk that meets this slot (or through as_of) count.
        let window_end = next.map_or(add_days(as_of, 1), |n| n.held_on);
        let mut slot = slot_after(rs, &facts, previous, number, window_end);
        slot.met_on = next.map(|n| n.held_on);
        slots.push(slot);
    }
    slots
}

/// When the next follow-up talk is due, if a statutory deadline exists.
pub fn next_follow_up_due(rs: &RuleSet, facts: &CaseFacts, as_of: NaiveDate) -> Option<NaiveDate> {
    follow_up_slots(rs, facts, as_of)
        .into_iter()
        .find(|s| s.met_on.is_none() && !s.suspended)
        .and_then(|s| s.due)
}

/// T-18c: weekly contact talks for trial participants, from the 8-week talk to the end of the
/// course (T-18e). Every follow-up after the first counts as a contact.
pub fn weekly_contact_slots(
    rs: &RuleSet,
    facts: &CaseFacts,
    as_of: NaiveDate,
) -> Vec<FollowUpSlot> {
    let facts = facts.known_on(as_of);
    let (Some(trial), true, Some(first)) = (&rs.trial, facts.trial, facts.follow_ups.first())
    else {
        return Vec::new();
    };
    let course_end = trial.course_length.value.after(first.held_on);
    let mut slots = Vec::new();
    let mut previous = first.held_on;
    let mut contacts = facts.follow_ups.iter().skip(1).map(|f| f.held_on);
    for number in 1u32.. {
        let due = trial.weekly_contact.value.after(previous);
        if due > course_end {
            break;
        }
        let exempt = facts
            .exemptions
            .iter()
            .find(|e| e.ground.scope().intensive_effort && e.covers(due));
        let met_on = contacts.next();
        let note = match exempt {
            Some(e) => format!("exempt from the intensive effort ({:?})", e.ground),
            None => trial.weekly_contact.note.to_string(),
        };
        slots.push(FollowUpSlot {
            number,
            rule_id: trial.weekly_contact.id,
            category: None,
            due: Some(due),
            met_on,
            suspended: exempt.is_some(),
            note,
        });
        match met_on {
            Some(on) if exempt.is_none() => previous = on,
            _ => break,
        }
    }
    slots
}

/// Why a contact form is or is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ground {
    pub rule_id: RuleId,
    pub reason: String,
}

/// The contact forms a follow-up may use, with the rules that decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactVerdict {
    pub allowed: Vec<ContactMode>,
    pub grounds: Vec<Ground>,
}

impl ContactVerdict {
    pub fn allows(&self, mode: ContactMode) -> bool {
        self.allowed.contains(&mode)
    }

    /// Verdict on a mode the caseworker proposes or recorded.
    pub fn check(&self, mode: ContactMode) -> Verdict {
        if self.allows(mode) {
            return Verdict::Allowed;
        }
        let last = self.grounds.last();
        Verdict::Refused {
            rule_id: last.map_or(RuleId::T11, |g| g.rule_id),
            reason: format!(
                "{mode:?} not allowed; allowed: {:?} ({})",
                self.allowed,
                last.map_or("", |g| g.reason.as_str())
            ),
        }
    }
}

/// Forms that replace attendance when a person is spared it ([001 I4, I5]: "telefonsamtale,
/// digitalt eller ved brev").
const NOT_IN_PERSON: &[ContactMode] = &[
    ContactMode::Phone,
    ContactMode::Digital,
    ContactMode::Letter,
];

/// Allowed contact forms for a follow-up held on `on` (DOMAIN.md §3.5, [001 I4, I5]).
pub fn contact_modes(rs: &RuleSet, facts: &CaseFacts, on: NaiveDate) -> ContactVerdict {
    let facts = facts.known_on(on);
    let c = &rs.contact;
    let ground = |rule_id, reason: String| Ground { rule_id, reason };
    let mut grounds = Vec::new();

    if let Some(rule) = &c.standby
        && let Some(e) = facts
            .exemptions_on(on)
            .find(|e| e.ground == ExemptionGround::Standby)
    {
        grounds.push(ground(
            rule.id,
            format!("standby since {}: {}", e.from, rule.cite()),
        ));
        return ContactVerdict {
            allowed: rule.value.to_vec(),
            grounds,
        };
    }

    let number = facts.follow_ups.iter().filter(|f| f.held_on < on).count() + 1;
    let base = match &c.later {
        Some(later) if number > 1 => later,
        _ => &c.default,
    };
    let mut allowed = base.value.to_vec();
    grounds.push(ground(
        base.id,
        format!("follow-up no. {number}: {}", base.note),
    ));

    let category = facts.category_on(on);
    if let Some(rule) = &c.phone_in_offer
        && category.is_some_and(|cat| rule.value.contains(&cat))
        && facts.offers_on(on).next().is_some()
    {
        allowed.push(ContactMode::Phone);
        grounds.push(ground(
            rule.id,
            format!("in an offer, category {category:?}: {}", rule.note),
        ));
    }

    let prognosis = facts.prognosis_on(on);
    if let Some(rule) = &c.soon_return
        && let Some(back) = prognosis.and_then(|p| p.expected_full_return_on)
        && back <= end_of_sick_week(facts.first_sick_day, rule.value.within)
    {
        allowed = rule.value.modes.to_vec();
        grounds.push(ground(
            rule.id,
            format!(
                "full return expected {back}, within the first {} weeks",
                rule.value.within
            ),
        ));
    }
    if let Some(rule) = &c.surgery
        && let Some(surgery) = prognosis.and_then(|p| p.surgery_on)
        && on <= surgery
        && surgery <= rule.value.within.after(on)
    {
        allowed = rule.value.modes.to_vec();
        grounds.push(ground(rule.id, format!("surgery {surgery}: {}", rule.note)));
    }

    if let Some(e) = facts.exemptions_on(on).find(|e| e.ground.scope().in_person) {
        allowed.retain(|m| *m != ContactMode::InPerson);
        if allowed.is_empty() {
            allowed = NOT_IN_PERSON.to_vec();
        }
        let rule = exemption_rule(e.ground);
        grounds.push(ground(
            rule.id,
            format!("exempt from attendance ({:?}) since {}", e.ground, e.from),
        ));
    }
    allowed.sort();
    allowed.dedup();
    ContactVerdict { allowed, grounds }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::facts::{
        EmploymentStatus, Exemption, OfferPeriod, OfferType, Prognosis, Visitation, WeeklyHours,
    };
    use crate::rules::RuleSetId;
    use crate::weeks::day;

    fn d0() -> NaiveDate {
        NaiveDate::from_ymd_opt(2008, 3, 3).unwrap()
    }

    fn talk(on: NaiveDate) -> FollowUp {
        FollowUp {
            held_on: on,
            mode: ContactMode::InPerson,
            outcome: String::new(),
            next_agreed_on: None,
        }
    }

    fn visit(on: NaiveDate, category: Category) -> Visitation {
        Visitation {
            on,
            category,
            reason: "test".into(),
        }
    }

    fn case(category: Category, talks: &[i64]) -> CaseFacts {
        let mut f = CaseFacts::new(d0(), EmploymentStatus::Employed);
        f.visitations.push(visit(day(d0(), 40), category));
        f.follow_ups = talks.iter().map(|n| talk(day(d0(), *n))).collect();
        f
    }

    fn rs(id: RuleSetId) -> &'static RuleSet {
        RuleSet::get(id)
    }

    #[test]
    fn t11_first_follow_up_due_d55_in_every_rule_set() {
        let f = case(Category::One, &[]);
        for set in RuleSet::all() {
            assert_eq!(
                next_follow_up_due(set, &f, d0()),
                Some(day(d0(), 55)),
                "{:?}",
                set.id
            );
        }
    }

    #[test]
    fn t13_r2008_category_2_every_28_days_1_and_3_every_56() {
        let at = day(d0(), 60);
        assert_eq!(
            next_follow_up_due(rs(RuleSetId::R2008), &case(Category::Two, &[50]), at),
            Some(day(d0(), 78))
        );
        assert_eq!(
            next_follow_up_due(rs(RuleSetId::R2008), &case(Category::One, &[50]), at),
            Some(day(d0(), 106))
        );
        assert_eq!(
            next_follow_up_due(rs(RuleSetId::R2008), &case(Category::Three, &[50]), at),
            Some(day(d0(), 106))
        );
    }

    #[test]
    fn t13b_p22_category_1_takes_the_earlier_of_both_deadlines_a9() {
        // First talk on D50: D0 + 3 months = 2008-06-03 (D92); D50 + 4 weeks = D78 → D78.
        let slots = follow_up_slots(
            rs(RuleSetId::P2008),
            &case(Category::One, &[50]),
            day(d0(), 60),
        );
        assert_eq!(slots[1].due, Some(day(d0(), 78)));
        assert!(
            slots[1].note.starts_with("earliest of"),
            "{}",
            slots[1].note
        );
        // First talk early, on D20: 4 weeks later (D48) still wins over 3 months.
        let early = follow_up_slots(
            rs(RuleSetId::P2008),
            &case(Category::One, &[20]),
            day(d0(), 30),
        );
        assert_eq!(early[1].due, Some(day(d0(), 48)));
        // Third talk: every 3 months from the second.
        let third = follow_up_slots(
            rs(RuleSetId::P2008),
            &case(Category::One, &[50, 70]),
            day(d0(), 80),
        );
        assert_eq!(
            third[2].due,
            Some(NaiveDate::from_ymd_opt(2008, 8, 12).unwrap())
        );
    }

    #[test]
    fn t13b_p22_category_2_every_4_weeks() {
        let slots = follow_up_slots(
            rs(RuleSetId::P2008),
            &case(Category::Two, &[50, 75]),
            day(d0(), 80),
        );
        assert_eq!(slots[1].due, Some(day(d0(), 78)));
        assert_eq!(slots[1].met_on, Some(day(d0(), 75)));
        assert_eq!(slots[2].due, Some(day(d0(), 103)));
    }

    #[test]
    fn revisitation_at_a_follow_up_changes_cadence_from_there() {
        let mut f = case(Category::One, &[50, 100]);
        f.visitations.push(visit(day(d0(), 100), Category::Two));
        let slots = follow_up_slots(rs(RuleSetId::R2008), &f, day(d0(), 110));
        assert_eq!(
            slots[1].due,
            Some(day(d0(), 106)),
            "category 1 after the first talk"
        );
        assert_eq!(
            slots[2].due,
            Some(day(d0(), 128)),
            "category 2 after the re-visitation"
        );
        assert_eq!(slots[2].category, Some(Category::Two));
    }

    #[test]
    fn stricter_visitation_between_talks_tightens_at_once() {
        let mut f = case(Category::One, &[50]);
        f.visitations.push(visit(day(d0(), 60), Category::Two));
        assert_eq!(
            next_follow_up_due(rs(RuleSetId::R2008), &f, day(d0(), 61)),
            Some(day(d0(), 78))
        );
        assert_eq!(
            next_follow_up_due(rs(RuleSetId::R2008), &f, day(d0(), 59)),
            Some(day(d0(), 106))
        );
    }

    #[test]
    fn no_visitation_assumes_strictest_cadence() {
        let mut f = case(Category::One, &[50]);
        f.visitations.clear();
        let slots = follow_up_slots(rs(RuleSetId::R2008), &f, day(d0(), 60));
        assert_eq!(slots[1].due, Some(day(d0(), 78)));
        assert!(slots[1].note.contains("strictest"));
    }

    #[test]
    fn sdl_13b_every_4_weeks_then_agreed_after_six_months() {
        let d0 = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let mut f = CaseFacts::new(d0, EmploymentStatus::Employed);
        f.visitations.push(visit(day(d0, 50), Category::Two));
        f.follow_ups = [50, 78, 106, 134, 162]
            .iter()
            .map(|n| talk(day(d0, *n)))
            .collect();
        let slots = follow_up_slots(rs(RuleSetId::L2014), &f, day(d0, 170));
        assert_eq!(slots[1].due, Some(day(d0, 78)));
        assert_eq!(slots[4].due, Some(day(d0, 162)));
        // D162 + 28 = D190 is past D0 + 6 months (2026-07-05 = D181): agreed with the person.
        assert_eq!(slots[5].due, None);
        assert_eq!(slots[5].rule_id, RuleId::Sdl13b);
        f.follow_ups[4].next_agreed_on = Some(day(d0, 200));
        assert_eq!(
            next_follow_up_due(rs(RuleSetId::L2014), &f, day(d0, 170)),
            Some(day(d0, 200))
        );
    }

    #[test]
    fn sdl_13a_category_1_has_no_statutory_cadence() {
        let d0 = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let mut f = CaseFacts::new(d0, EmploymentStatus::Employed);
        f.visitations.push(visit(d0, Category::One));
        f.follow_ups.push(talk(day(d0, 30)));
        let slots = follow_up_slots(rs(RuleSetId::L2014), &f, day(d0, 40));
        assert_eq!((slots[1].due, slots[1].rule_id), (None, RuleId::Sdl13a));
    }

    #[test]
    fn standby_pauses_the_clock_and_open_ended_suspends() {
        let mut f = case(Category::Two, &[50]);
        f.exemptions.push(Exemption {
            ground: ExemptionGround::Standby,
            from: day(d0(), 60),
            to: Some(day(d0(), 69)),
            reason: String::new(),
        });
        let at = day(d0(), 70);
        assert_eq!(
            next_follow_up_due(rs(RuleSetId::A2010), &f, at),
            Some(day(d0(), 88))
        );
        f.exemptions[0].to = None;
        let slots = follow_up_slots(rs(RuleSetId::A2010), &f, at);
        assert!(slots[1].suspended);
        assert_eq!(next_follow_up_due(rs(RuleSetId::A2010), &f, at), None);
    }

    #[test]
    fn t18c_weekly_contact_in_the_trial() {
        let mut f = case(Category::Two, &[55, 62, 70]);
        f.trial = true;
        let slots = weekly_contact_slots(rs(RuleSetId::R2009), &f, day(d0(), 80));
        assert_eq!(slots[0].due, Some(day(d0(), 62)));
        assert_eq!(slots[0].met_on, Some(day(d0(), 62)));
        assert_eq!(slots[1].due, Some(day(d0(), 69)));
        assert_eq!(slots[1].met_on, Some(day(d0(), 70)), "met one day late");
        assert_eq!(slots[2].due, Some(day(d0(), 77)));
        assert_eq!(slots[2].met_on, None);
        assert!(
            weekly_contact_slots(rs(RuleSetId::A2010), &f, day(d0(), 80)).is_empty(),
            "no trial after 2010"
        );
        f.trial = false;
        assert!(weekly_contact_slots(rs(RuleSetId::R2009), &f, day(d0(), 80)).is_empty());
    }

    #[test]
    fn t18e_weekly_contact_ends_with_the_four_month_course() {
        let mut f = case(Category::Two, &[]);
        f.trial = true;
        let mut on = day(d0(), 55);
        while on < day(d0(), 250) {
            f.follow_ups.push(talk(on));
            on = day(on, 7);
        }
        let slots = weekly_contact_slots(rs(RuleSetId::R2009), &f, day(d0(), 250));
        let course_end = crate::weeks::Period::Months(4).after(day(d0(), 55));
        assert!(slots.iter().all(|s| s.due.unwrap() <= course_end));
        assert_eq!(slots.len(), 17);
    }

    #[test]
    fn contact_in_person_by_default_and_phone_in_offer_p22() {
        let mut f = case(Category::One, &[50]);
        let on = day(d0(), 70);
        assert_eq!(
            contact_modes(rs(RuleSetId::R2008), &f, on).allowed,
            vec![ContactMode::InPerson]
        );
        f.offers.push(OfferPeriod {
            from: day(d0(), 60),
            to: None,
            kind: OfferType::WorkPlacement,
            hours_per_week: WeeklyHours::hours(10),
            fewer_hours_reason: None,
        });
        let v = contact_modes(rs(RuleSetId::P2008), &f, on);
        assert!(v.allows(ContactMode::Phone) && v.allows(ContactMode::InPerson));
        f.visitations.push(visit(day(d0(), 50), Category::Two));
        let v = contact_modes(rs(RuleSetId::P2008), &f, on);
        assert_eq!(
            v.allowed,
            vec![ContactMode::InPerson],
            "category 2 always in person"
        );
        assert!(!v.check(ContactMode::Phone).is_allowed());
    }

    fn with_prognosis(back: Option<i64>, surgery: Option<i64>) -> CaseFacts {
        let mut f = case(Category::Two, &[]);
        f.prognoses.push(Prognosis {
            recorded_on: day(d0(), 30),
            clear_diagnosis: true,
            expected_full_return_on: back.map(|n| day(d0(), n)),
            surgery_on: surgery.map(|n| day(d0(), n)),
            partial_return_possible: None,
        });
        f
    }

    #[test]
    fn i4_no_attendance_when_back_within_13_weeks_of_absence() {
        let on = day(d0(), 50);
        let v = contact_modes(rs(RuleSetId::A2010), &with_prognosis(Some(90), None), on);
        assert_eq!(
            v.allowed,
            vec![
                ContactMode::Phone,
                ContactMode::Digital,
                ContactMode::Letter
            ]
        );
        assert_eq!(v.grounds.last().unwrap().rule_id, RuleId::I4);
        let v = contact_modes(rs(RuleSetId::A2010), &with_prognosis(Some(91), None), on);
        assert_eq!(v.allowed, vec![ContactMode::InPerson], "D91 is in week 14");
        let v = contact_modes(rs(RuleSetId::R2009), &with_prognosis(Some(60), None), on);
        assert_eq!(v.allowed, vec![ContactMode::InPerson], "I4 is A2010");
    }

    #[test]
    fn i5_no_attendance_when_surgery_within_13_weeks_of_the_follow_up() {
        let on = day(d0(), 50);
        let v = contact_modes(
            rs(RuleSetId::A2010),
            &with_prognosis(None, Some(50 + 91)),
            on,
        );
        assert!(!v.allows(ContactMode::InPerson));
        assert_eq!(v.grounds.last().unwrap().rule_id, RuleId::I5);
        let v = contact_modes(
            rs(RuleSetId::A2010),
            &with_prognosis(None, Some(50 + 92)),
            on,
        );
        assert!(v.allows(ContactMode::InPerson));
    }

    #[test]
    fn i3_standby_means_no_contact() {
        let mut f = case(Category::Three, &[]);
        f.exemptions.push(Exemption {
            ground: ExemptionGround::Standby,
            from: day(d0(), 20),
            to: None,
            reason: "diagnosis on the list; opted in".into(),
        });
        let v = contact_modes(rs(RuleSetId::A2010), &f, day(d0(), 50));
        assert_eq!(v.allowed, vec![ContactMode::NoContact]);
        assert_eq!(v.grounds[0].rule_id, RuleId::I3);
    }

    #[test]
    fn sdl_13b_first_in_person_then_the_persons_choice() {
        let d0 = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let mut f = CaseFacts::new(d0, EmploymentStatus::Employed);
        let first = contact_modes(rs(RuleSetId::L2014), &f, day(d0, 50));
        assert_eq!(first.allowed, vec![ContactMode::InPerson]);
        f.follow_ups.push(talk(day(d0, 50)));
        let later = contact_modes(rs(RuleSetId::L2014), &f, day(d0, 78));
        assert_eq!(
            later.allowed,
            vec![
                ContactMode::InPerson,
                ContactMode::Phone,
                ContactMode::Digital
            ]
        );
        assert!(!later.allows(ContactMode::Letter));
    }
}
