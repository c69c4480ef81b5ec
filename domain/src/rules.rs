//! Versioned rule sets (DOMAIN.md §0.4): every number a rule uses lives here, next to its
//! rule id, its source and any INFERRED / CONFLICT note. Code elsewhere reads parameters from
//! a [`RuleSet`]; it never hard-codes a deadline, share or threshold.
//!
//! Seed files: \[000\] 000_5a4e8a35e68842e8.txt (2009 trial), \[001\] 001_fb3c8f7d7777c6f3.txt
//! (2010 agreement), \[002\] 002_59c7ae5e83dc120d.txt (Copenhagen memo), \[003\]
//! 003_532c043554107ee2.txt (2008 action plan), \[004\] 004_29a2444e953dfa53.txt (Quick Care 2012).
//! Today's law (`L2014`) is sourced from public pages listed per rule (DOMAIN.md Appendix C).
//!
//! A rule set is plain data with public fields: a municipality that wants to run, say, R2012
//! with \[004\]'s wording of A7 can build `RuleSet { refund: …, ..RuleSet::get(RuleSetId::R2012).clone() }`.

use crate::facts::{Category, ContactMode, ExemptionGround, WeeklyHours};
use crate::weeks::{DueBy, Period};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! seed {
    (s000 $(, $tag:literal)?) => { concat!("[000", $(" ", $tag,)? "] 000_5a4e8a35e68842e8.txt") };
    (s001 $(, $tag:literal)?) => { concat!("[001", $(" ", $tag,)? "] 001_fb3c8f7d7777c6f3.txt") };
    (s002 $(, $tag:literal)?) => { concat!("[002", $(" ", $tag,)? "] 002_59c7ae5e83dc120d.txt") };
    (s003 $(, $tag:literal)?) => { concat!("[003", $(" ", $tag,)? "] 003_532c043554107ee2.txt") };
    (s004 $(, $tag:literal)?) => { concat!("[004", $(" ", $tag,)? "] 004_29a2444e953dfa53.txt") };
}

macro_rules! rule_ids {
    ($($(#[doc = $doc:literal])* $v:ident = $s:literal,)*) => {
        /// Stable rule identifiers: `T-nn` from DOMAIN.md §2, `AL-nn` alerts from §2.6,
        /// `<seed>-<tag>` for rules named only by their seed (e.g. `001-I2` = [001 I2]),
        /// `SDL-…`/`STAR-…` for today's law. Serialized as the string shown.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum RuleId { $($(#[doc = $doc])* #[serde(rename = $s)] $v,)* }

        impl RuleId {
            pub const ALL: &'static [RuleId] = &[$(RuleId::$v,)*];

            pub const fn as_str(self) -> &'static str {
                match self { $(RuleId::$v => $s,)* }
            }
        }
    };
}

rule_ids! {
    /// Employer period of 21 sick days.
    T01 = "T-01",
    /// Employer period of 30 calendar days.
    T01b = "T-01b",
    /// Insured unemployed: state pays weeks 1–4.
    T02 = "T-02",
    /// Employer notifies the municipality.
    T03 = "T-03",
    /// Insured unemployed report sickness within a week.
    T03b = "T-03b",
    /// Information form returned within 8 days.
    T05 = "T-05",
    /// Penalty for a late information form.
    T05c = "T-05c",
    /// Employer conversation ("4-week conversation").
    T07 = "T-07",
    /// Employer may call a conversation within the first 3 weeks.
    T07b = "T-07b",
    /// First follow-up by the end of sick week 8.
    T11 = "T-11",
    /// Follow-up cadence, R2008.
    T13 = "T-13",
    /// Follow-up cadence and contact form, P22.
    T13b = "T-13b",
    /// Follow-up plan at the latest at the 2nd follow-up.
    T15 = "T-15",
    /// Trial: weekly contact talks after the 8-week talk.
    T18c = "T-18c",
    /// Trial: partly back or in offers of min. 10 h/week four weeks later; down to 1 h.
    T18d = "T-18d",
    /// Trial: course lasts up to 4 months.
    T18e = "T-18e",
    /// Week 13/26/52 risk milestones with the exclusion curve.
    Al19 = "AL-19",
    /// Trial exemption grounds.
    TrialExemption = "000-friholdelse",
    /// Least-sick rule.
    I2 = "001-I2",
    /// Exemption/standby for the most sick.
    I3 = "001-I3",
    /// No in-person talk if full return within the first 13 weeks.
    I4 = "001-I4",
    /// No in-person talk if surgery within 13 weeks of the follow-up.
    I5 = "001-I5",
    /// Gradual return always before active offers.
    I6 = "001-I6",
    /// No employer contact at the first follow-up in two situations.
    I7 = "001-I7",
    /// 2011 refund model: 50 % high / 30 % low.
    Refund2011 = "001-refusion",
    /// 50 % refund of offers' operating costs, no ceiling (as of 2010).
    OperatingCost = "001-drift",
    /// Common ceiling of 13,700 DKK per full-year person from 2011.
    OperatingCostCeiling = "001-loft",
    /// Refund 65/35 in weeks 8–52 as described after the 2009 reform.
    Refund2009 = "002-1.1",
    /// Wage subsidy not at the person's current workplace.
    WageSubsidyWorkplace = "002-1.2",
    /// Offers for all sick-listed (and, in R2008, only via revalidering).
    P20 = "003-P20",
    /// Activity-dependent refund and its 10-hour threshold; no refund from week 53.
    P21 = "003-P21",
    /// Financing table as described in 2012.
    Fig3 = "004-fig3",
    /// Today's visitation categories.
    Sdl12 = "SDL-12",
    /// Today's category 1: the municipality sets the follow-up.
    Sdl13a = "SDL-13a",
    /// Today's categories 2 and 3: four follow-ups in the first half year, then agreed.
    Sdl13b = "SDL-13b",
    /// Today's category 3: rehabilitation team.
    Sdl13d = "SDL-13d",
    /// Today's reassessment around sick week 22.
    Star22 = "STAR-22",
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reasoned decision for the case record: every refusal names the rule and why, so it can
/// be shown to the caseworker and stand in an appeal (DOMAIN.md §4.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    Refused { rule_id: RuleId, reason: String },
}

impl Verdict {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Verdict::Allowed)
    }

    pub(crate) fn refused<T>(rule: &Rule<T>, reason: impl fmt::Display) -> Self {
        Verdict::Refused {
            rule_id: rule.id,
            reason: format!("{reason} — {}", rule.cite()),
        }
    }
}

/// A parameter or rule with its provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rule<T = ()> {
    pub id: RuleId,
    /// Seed tag and file, or the public source for today's law.
    pub source: &'static str,
    /// INFERRED / CONFLICT / GENERAL KNOWLEDGE remarks; empty when the source states it plainly.
    pub note: &'static str,
    pub value: T,
}

impl<T> Rule<T> {
    /// "T-11 [003 F1 ch3] 003_…txt" — for reasons shown to caseworkers and appeal records.
    pub fn cite(&self) -> String {
        format!("{} {}", self.id, self.source)
    }

    fn provenance(&self) -> RuleRef {
        RuleRef {
            id: self.id,
            source: self.source,
            note: self.note,
        }
    }
}

const fn rule<T>(id: RuleId, source: &'static str, note: &'static str, value: T) -> Rule<T> {
    Rule {
        id,
        source,
        note,
        value,
    }
}

/// Provenance of an exemption ground, for verdicts that cite it.
pub const fn exemption_rule(ground: ExemptionGround) -> Rule {
    use ExemptionGround::*;
    match ground {
        TreatmentIsObstacle
        | EarlyRetirementCaseStarted
        | Terminal
        | PregnancyRelated
        | FixedTreatmentAndReturnPlan => rule(
            RuleId::TrialExemption,
            seed!(s000),
            "friholdelse from the intensive effort; offers must never counteract recovery \
             ([001 appendix])",
            (),
        ),
        Standby => rule(
            RuleId::I3,
            seed!(s001, "I3, I9"),
            "exempt from offers and meetings",
            (),
        ),
        CriticallyIll => rule(
            RuleId::T13b,
            seed!(s003, "P22"),
            "no 3-monthly talks for the critically ill",
            (),
        ),
        LeastSick => rule(RuleId::I2, seed!(s001, "I2"), "no new active offers", ()),
        ReturnWithin13Weeks => rule(RuleId::I4, seed!(s001, "I4"), "no in-person summons", ()),
        SurgeryWithin13Weeks => rule(RuleId::I5, seed!(s001, "I5"), "no in-person summons", ()),
    }
}

/// Provenance of one rule, for listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleRef {
    pub id: RuleId,
    pub source: &'static str,
    pub note: &'static str,
}

/// The regimes of DOMAIN.md §0.4 plus today's law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RuleSetId {
    R2008,
    P2008,
    R2009,
    A2010,
    R2012,
    /// The law in force today (2014 reform, follow-up model from 5 January 2015).
    L2014,
}

/// One Appendix A disagreement between the sources and how this rule set resolves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// Appendix A number, e.g. "A9".
    pub id: &'static str,
    pub topic: &'static str,
    pub resolution: &'static str,
}

/// One step of a follow-up cadence: the deadline is the earliest of a slot's steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Step {
    AfterPrevious(Period),
    AfterFirstSickDay(Period),
}

/// Follow-up cadence for one category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CategoryCadence {
    /// Deadline steps for the 2nd follow-up (earliest wins); empty = no statutory deadline.
    pub second: &'static [Step],
    /// Deadline steps for every later follow-up.
    pub then: &'static [Step],
    /// Statutory cadence only up to this long after D0; afterwards the next talk is the one
    /// agreed with the person (SDL § 13b).
    pub statutory_until: Option<Period>,
}

/// "At least N follow-ups within a period of D0" (SDL § 13b).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinFollowUps {
    pub count: u32,
    pub within: Period,
}

/// Consequence of a late information form (T-05c).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormPenalty {
    /// R2008: benefit lost for the whole sickness period.
    WholePeriod,
    /// P17: lost only from the due date until the form arrives.
    DelayOnly,
}

/// The trial "Aktive – hurtigere tilbage" (\[000\]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Trial {
    /// T-18c: weekly contact talks from shortly after the 8-week talk.
    pub weekly_contact: Rule<Period>,
    /// T-18d: partly back at work or in offers this long after the 8-week talk.
    pub active_within: Rule<Period>,
    /// T-18d: the trial's hour rule (min. 10, down to 1).
    pub min_hours: Rule<MinHours>,
    /// T-18e: total course length from the 8-week talk.
    pub course_length: Rule<Period>,
}

/// Modes a relief allows instead of attendance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Relief<T> {
    pub within: T,
    pub modes: &'static [ContactMode],
}

/// I7: when the jobcentre need not contact the employer at the first follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EmployerContactRelief {
    /// Full-time return certain within this period of the scheduled talk.
    pub certain_return_within: Period,
    /// Categories never contacted at the first follow-up.
    pub not_for: &'static [Category],
}

/// Contact-form rules (DOMAIN.md §3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ContactRules {
    /// Modes for a follow-up when no relief applies (for today's law: the first follow-up).
    pub default: Rule<&'static [ContactMode]>,
    /// Modes from the 2nd follow-up on, at the person's choice (SDL § 13b).
    pub later: Option<Rule<&'static [ContactMode]>>,
    /// P22: phone allowed for these categories while the person is in an offer.
    pub phone_in_offer: Option<Rule<&'static [Category]>>,
    /// I4: full return expected within the first N weeks of absence.
    pub soon_return: Option<Rule<Relief<u32>>>,
    /// I5: surgery within a period of the follow-up date.
    pub surgery: Option<Rule<Relief<Period>>>,
    /// I3/I9: standby = follow-up without contact.
    pub standby: Option<Rule<&'static [ContactMode]>>,
    /// I7: employer contact at the first follow-up.
    pub employer_contact: Option<Rule<EmployerContactRelief>>,
}

/// A4: whether the hour threshold itself qualifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// "minimum 10 hours" (≥).
    AtLeast,
    /// "more than 10 hours" (>).
    MoreThan,
}

/// Minimum weekly hours of an active offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MinHours {
    pub min: WeeklyHours,
    pub comparison: Comparison,
    /// Fewer hours accepted when the municipality documents the person manages no more.
    pub fewer_with_documentation: bool,
    /// Lowest documented level accepted (trial: 1 h/week); `None` = any positive level.
    pub floor: Option<WeeklyHours>,
}

impl MinHours {
    /// Whether `hours` meets the threshold without any documented reduction.
    pub fn met_by(&self, hours: WeeklyHours) -> bool {
        match self.comparison {
            Comparison::AtLeast => hours >= self.min,
            Comparison::MoreThan => hours > self.min,
        }
    }
}

/// A8: restriction on wage subsidy for the sick-listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WageSubsidyPolicy {
    /// [003 P20]: employed sick-listed cannot get wage subsidy at all.
    EmployedExcluded,
    /// [002 §1.2]: not at the person's current workplace.
    NotAtOwnWorkplace,
}

/// Offer rules (DOMAIN.md §3.2–3.4, §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OfferRules {
    /// Whether the jobcentre may give offers to every sick-listed person.
    pub for_all: Rule<bool>,
    /// I2: least sick — no new offers when full return is expected within this period of the follow-up.
    pub least_sick: Option<Rule<Period>>,
    /// I6: gradual return before active offers.
    pub partial_return_first: Option<Rule>,
    pub min_hours: Option<Rule<MinHours>>,
    pub wage_subsidy: Option<Rule<WageSubsidyPolicy>>,
}

/// Shares of one day's benefit expense, in basis points (sum 10,000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shares {
    pub employer: u32,
    pub municipality: u32,
    pub state: u32,
}

impl Shares {
    pub const fn new(employer: u32, municipality: u32, state: u32) -> Self {
        Self {
            employer,
            municipality,
            state,
        }
    }

    pub const EMPLOYER: Shares = Shares::new(10_000, 0, 0);
    pub const STATE: Shares = Shares::new(0, 0, 10_000);
    pub const MUNICIPALITY: Shares = Shares::new(0, 10_000, 0);
}

/// Municipality/state split for a range of sick weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Band {
    pub first_week: u32,
    /// Inclusive; `None` = open-ended.
    pub last_week: Option<u32>,
    pub passive: Shares,
    pub active: Shares,
}

/// What counts as "active" for the high refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Qualifying {
    /// Refund independent of activity.
    Nothing,
    /// Partial return, or any offer meeting the hour rule ([003 P21], \[002\], \[004\] wording).
    AnyOffer,
    /// Partial return, work placement, wage subsidy or ordinary education (\[001\]).
    WorkplaceOriented,
}

/// Refund regime for benefit payments (DOMAIN.md §5.1–5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Refund {
    /// T-02: weeks in which the state pays all for insured unemployed.
    pub unemployed_state_weeks: Rule<u32>,
    pub bands: &'static [Band],
    pub qualifying: Qualifying,
}

/// Refund of offers' operating costs (DOMAIN.md §5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OperatingCost {
    /// Refund rate in basis points.
    pub rate: u32,
    /// Ceiling per full-year person in øre; `None` = no ceiling.
    pub ceiling_per_full_year_person: Option<i64>,
    /// Benefit weeks that make one full-year person (helårsperson).
    pub weeks_per_full_year_person: u32,
}

/// One point of the exclusion curve: share not in work a year later, in basis points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RiskPoint {
    pub week: u32,
    pub exclusion: u32,
}

/// AL-19: weeks at which a case escalates, with the exclusion curve they are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Risk {
    pub alert_weeks: &'static [u32],
    pub curve: &'static [RiskPoint],
}

impl Risk {
    /// Exclusion rate (bp) at a week the curve states.
    pub fn exclusion_at(&self, week: u32) -> Option<u32> {
        self.curve
            .iter()
            .find(|p| p.week == week)
            .map(|p| p.exclusion)
    }
}

/// One regime's complete rule set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSet {
    pub id: RuleSetId,
    pub title: &'static str,
    /// Applies to cases whose first sick day is on or after this date.
    pub effective_from: NaiveDate,
    pub effective_from_note: &'static str,
    /// False for proposals (P2008): never picked by date, only by name.
    pub selectable_by_date: bool,
    /// T-01 / T-01b.
    pub employer_period: Rule<Period>,
    /// T-03.
    pub employer_notification: Option<Rule<DueBy>>,
    /// T-03b.
    pub unemployed_self_report: Option<Rule<DueBy>>,
    /// T-05: return period from dispatch.
    pub information_form: Rule<Period>,
    /// T-05c.
    pub late_form_penalty: Rule<FormPenalty>,
    /// T-07.
    pub employer_conversation: Option<Rule<DueBy>>,
    /// T-07b: optional earlier conversation (advisory deadline).
    pub employer_conversation_early: Option<Rule<DueBy>>,
    /// T-11.
    pub first_follow_up: Rule<DueBy>,
    /// Per category, indexed One, Two, Three.
    pub cadence: [Rule<CategoryCadence>; 3],
    pub min_follow_ups: Option<Rule<MinFollowUps>>,
    /// T-15: the follow-up at which the plan must exist.
    pub follow_up_plan_by: Option<Rule<u32>>,
    pub trial: Option<Trial>,
    /// Reassessment deadline (today's law).
    pub reassessment: Option<Rule<DueBy>>,
    /// Category 3 to the rehabilitation team within this period of visitation (today's law).
    pub rehabilitation_team: Option<Rule<Period>>,
    /// Category 1 when full return is expected by this deadline (today's law).
    pub category_one_if_back_by: Option<Rule<DueBy>>,
    pub contact: ContactRules,
    pub offers: OfferRules,
    pub refund: Option<Rule<Refund>>,
    pub operating_cost: Option<Rule<OperatingCost>>,
    pub risk: Rule<Risk>,
    pub conflicts: &'static [Conflict],
}

impl RuleSet {
    /// Every rule set, oldest first.
    pub fn all() -> &'static [RuleSet] {
        &ALL
    }

    /// Names a rule set explicitly (e.g. to compare regimes on the same facts).
    pub fn get(id: RuleSetId) -> &'static RuleSet {
        match id {
            RuleSetId::R2008 => &ALL[0],
            RuleSetId::P2008 => &ALL[1],
            RuleSetId::R2009 => &ALL[2],
            RuleSetId::A2010 => &ALL[3],
            RuleSetId::R2012 => &ALL[4],
            RuleSetId::L2014 => &ALL[5],
        }
    }

    /// The enacted rule set for a case, chosen by its first sick day; `None` before the first.
    pub fn in_force_on(first_sick_day: NaiveDate) -> Option<&'static RuleSet> {
        ALL.iter()
            .filter(|rs| rs.selectable_by_date && rs.effective_from <= first_sick_day)
            .max_by_key(|rs| rs.effective_from)
    }

    pub fn cadence_for(&self, category: Category) -> &Rule<CategoryCadence> {
        &self.cadence[category.index()]
    }

    /// Appendix A conflicts this rule set takes a position on.
    pub fn conflicts(&self) -> &'static [Conflict] {
        self.conflicts
    }

    /// Every rule in the set with its provenance, for audit listings.
    pub fn rules(&self) -> Vec<RuleRef> {
        let mut out = vec![self.employer_period.provenance()];
        let mut opt = |r: Option<RuleRef>| out.extend(r);
        opt(self.employer_notification.as_ref().map(Rule::provenance));
        opt(self.unemployed_self_report.as_ref().map(Rule::provenance));
        opt(Some(self.information_form.provenance()));
        opt(Some(self.late_form_penalty.provenance()));
        opt(self.employer_conversation.as_ref().map(Rule::provenance));
        opt(self
            .employer_conversation_early
            .as_ref()
            .map(Rule::provenance));
        opt(Some(self.first_follow_up.provenance()));
        for c in &self.cadence {
            opt(Some(c.provenance()));
        }
        opt(self.min_follow_ups.as_ref().map(Rule::provenance));
        opt(self.follow_up_plan_by.as_ref().map(Rule::provenance));
        if let Some(t) = &self.trial {
            opt(Some(t.weekly_contact.provenance()));
            opt(Some(t.active_within.provenance()));
            opt(Some(t.min_hours.provenance()));
            opt(Some(t.course_length.provenance()));
        }
        opt(self.reassessment.as_ref().map(Rule::provenance));
        opt(self.rehabilitation_team.as_ref().map(Rule::provenance));
        opt(self.category_one_if_back_by.as_ref().map(Rule::provenance));
        let c = &self.contact;
        opt(Some(c.default.provenance()));
        opt(c.later.as_ref().map(Rule::provenance));
        opt(c.phone_in_offer.as_ref().map(Rule::provenance));
        opt(c.soon_return.as_ref().map(Rule::provenance));
        opt(c.surgery.as_ref().map(Rule::provenance));
        opt(c.standby.as_ref().map(Rule::provenance));
        opt(c.employer_contact.as_ref().map(Rule::provenance));
        let o = &self.offers;
        opt(Some(o.for_all.provenance()));
        opt(o.least_sick.as_ref().map(Rule::provenance));
        opt(o.partial_return_first.as_ref().map(Rule::provenance));
        opt(o.min_hours.as_ref().map(Rule::provenance));
        opt(o.wage_subsidy.as_ref().map(Rule::provenance));
        if let Some(r) = &self.refund {
            opt(Some(r.provenance()));
            opt(Some(r.value.unemployed_state_weeks.provenance()));
        }
        opt(self.operating_cost.as_ref().map(Rule::provenance));
        opt(Some(self.risk.provenance()));
        out
    }
}

const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(d) => d,
        None => panic!("invalid rule-set date"),
    }
}

// ---------------------------------------------------------------------------------------------
// Shared data
// ---------------------------------------------------------------------------------------------

use ContactMode::{Digital, InPerson, Letter, NoContact, Phone};
use Period::{Days, Months, Weeks};

const IN_PERSON: &[ContactMode] = &[InPerson];
const REMOTE: &[ContactMode] = &[Phone, Digital, Letter];
const CITIZEN_CHOICE: &[ContactMode] = &[InPerson, Phone, Digital];
const NO_CONTACT: &[ContactMode] = &[NoContact];
const HALF: Shares = Shares::new(0, 5_000, 5_000);

const RISK: Rule<Risk> = rule(
    RuleId::Al19,
    concat!(seed!(s004, "fig.7"), "; DOMAIN.md §6.5, AL-19"),
    "Exclusion rate = share of those still on benefit at week w not in work during the \
     following year (AE-Rådet 2007, 2004 cohort). Data, not law: identical in every rule set.",
    Risk {
        alert_weeks: &[13, 26, 52],
        curve: &[
            RiskPoint {
                week: 1,
                exclusion: 1_580,
            },
            RiskPoint {
                week: 5,
                exclusion: 2_670,
            },
            RiskPoint {
                week: 13,
                exclusion: 4_330,
            },
            RiskPoint {
                week: 26,
                exclusion: 5_950,
            },
            RiskPoint {
                week: 52,
                exclusion: 7_520,
            },
            RiskPoint {
                week: 78,
                exclusion: 8_280,
            },
        ],
    },
);

const EVERY_4_WEEKS: CategoryCadence = CategoryCadence {
    second: &[Step::AfterPrevious(Weeks(4))],
    then: &[Step::AfterPrevious(Weeks(4))],
    statutory_until: None,
};
const EVERY_8_WEEKS: CategoryCadence = CategoryCadence {
    second: &[Step::AfterPrevious(Weeks(8))],
    then: &[Step::AfterPrevious(Weeks(8))],
    statutory_until: None,
};

/// [003 P22] cat 1 and 3 (A9): 2nd talk by the earlier of D0 + 3 months and first talk + 4 weeks.
const P22_CAT_1_3: CategoryCadence = CategoryCadence {
    second: &[
        Step::AfterFirstSickDay(Months(3)),
        Step::AfterPrevious(Weeks(4)),
    ],
    then: &[Step::AfterPrevious(Months(3))],
    statutory_until: None,
};
macro_rules! p22_note_1_3 {
    () => {
        "CONFLICT A9: P22 says 'no later than 3 months after the first sick day, i.e. 4 weeks \
         after the first talk' — equal only if the first talk is around week 9. Both deadlines \
         are computed and the earlier is used. Not for critically ill persons (record an \
         exemption)."
    };
}
macro_rules! p22_inherited {
    () => {
        "INFERRED: the P22 cadence is assumed enacted by the 2009 reform and unchanged through \
         2014 ([002] and [004] state only the first talk by week 8). "
    };
}

/// The P22 cadence per category; `inherited` marks sets that carry the proposal over.
const fn p22(inherited: bool) -> [Rule<CategoryCadence>; 3] {
    let (note_1_3, note_2) = if inherited {
        (concat!(p22_inherited!(), p22_note_1_3!()), p22_inherited!())
    } else {
        (p22_note_1_3!(), "")
    };
    let src = seed!(s003, "P22");
    [
        rule(RuleId::T13b, src, note_1_3, P22_CAT_1_3),
        rule(RuleId::T13b, src, note_2, EVERY_4_WEEKS),
        rule(RuleId::T13b, src, note_1_3, P22_CAT_1_3),
    ]
}

const CONFLICT_A1_21: Conflict = Conflict {
    id: "A1",
    topic: "Employer period: 21 sick days [003] vs 30 calendar days [004]",
    resolution: "21 days in this rule set; R2012 and L2014 use 30 calendar days",
};
const CONFLICT_A1_30: Conflict = Conflict {
    id: "A1",
    topic: "Employer period: 21 sick days [003] vs 30 calendar days [004]",
    resolution: "30 calendar days in this rule set; R2008–A2010 use 21 days",
};
const CONFLICT_A2_WEEK4: Conflict = Conflict {
    id: "A2",
    topic: "Employer notification by sick week 4 [003 F1] vs jobcentre learns after 6 weeks [002]",
    resolution: "notification due D27 here; R2009–R2012 use D41 (INFERRED from [002])",
};
const CONFLICT_A2_WEEK6: Conflict = Conflict {
    id: "A2",
    topic: "Employer notification by sick week 4 [003 F1] vs jobcentre learns after 6 weeks [002]",
    resolution: "notification due by the end of sick week 6 (D41), INFERRED from [002 §2.2]; \
                 R2008/P2008 use D27",
};
const CONFLICT_A3: Conflict = Conflict {
    id: "A3",
    topic: "Employer conversation by sick week 4 [003 P06] vs within the first 3 weeks [003 P26]",
    resolution: "both kept: T-07 binding at D27, T-07b advisory at D20, both met by the same \
                 conversation",
};
const CONFLICT_A4_GTE: Conflict = Conflict {
    id: "A4",
    topic: "Activity threshold '> 10 h/week' [003 P21 overview; 004] vs 'minimum 10' [003 P21 \
            detail; 000]",
    resolution: "MinHours.comparison = AtLeast (≥) with documented reductions; R2012 uses MoreThan",
};
const CONFLICT_A4_GT: Conflict = Conflict {
    id: "A4",
    topic: "Activity threshold '> 10 h/week' [003 P21 overview; 004] vs 'minimum 10' [003 P21 \
            detail; 000]",
    resolution: "MinHours.comparison = MoreThan (>) as [004 fig.3] prints it; earlier sets use ≥",
};
const CONFLICT_A5: Conflict = Conflict {
    id: "A5",
    topic: "Refund window: after sick week 4 [003 P21] vs weeks 8–52 [002] vs weeks 9–52 [004]",
    resolution: "each rule set carries its own band table (P2008: 5–52, R2009: 8–52, A2010/R2012: \
                 9–52)",
};
const CONFLICT_A6: Conflict = Conflict {
    id: "A6",
    topic: "[004] prose (weeks 5–52 = 70/30; weeks 1–4 employer+state) vs its table (weeks 5–8 = \
            50/50)",
    resolution: "bands follow the table; the prose is recorded here only",
};
const CONFLICT_A7: Conflict = Conflict {
    id: "A7",
    topic: "[004]: any activation under act ch. 10–12 > 10 h gives 50/50 vs [001]: guidance & \
            upskilling gets only the low rate",
    resolution: "Qualifying::WorkplaceOriented per [001]; Qualifying::AnyOffer reproduces [004]'s \
                 wording",
};
const CONFLICT_A8_P20: Conflict = Conflict {
    id: "A8",
    topic: "Wage subsidy: employed excluded [003 P20] vs not at the current workplace [002]",
    resolution: "WageSubsidyPolicy::EmployedExcluded here; later sets use NotAtOwnWorkplace",
};
const CONFLICT_A8_002: Conflict = Conflict {
    id: "A8",
    topic: "Wage subsidy: employed excluded [003 P20] vs not at the current workplace [002]",
    resolution: "WageSubsidyPolicy::NotAtOwnWorkplace here; P2008 uses EmployedExcluded",
};
const CONFLICT_A9: Conflict = Conflict {
    id: "A9",
    topic: "Cadence every 8/4 weeks (R2008) vs 3 months / 4 weeks (P22); P22 equates D0 + 3 months \
            with first talk + 4 weeks",
    resolution: "for the 2nd talk in categories 1 and 3 both deadlines are computed and the \
                 earlier is used; the follow-up deadline's note says so",
};
const CONFLICT_A21: Conflict = Conflict {
    id: "A21",
    topic: "Duration limit of sickness benefit mentioned but not given in [003]",
    resolution: "not encoded; only the week-52 refund limit is",
};

// ---------------------------------------------------------------------------------------------
// R2008 — rules in force when the 2008 action plan was written ("today" in [003]).
// ---------------------------------------------------------------------------------------------

const R2008: RuleSet = RuleSet {
    id: RuleSetId::R2008,
    title: "Rules in force in 2008 ([003] fact boxes)",
    effective_from: ymd(2006, 7, 3),
    effective_from_note: "INFERRED: the modernised sickness benefit act in force 3 July 2006 \
                          ([003 ch1]); the fact-box rules are assumed to hold from then until the \
                          2009 reform.",
    selectable_by_date: true,
    employer_period: rule(
        RuleId::T01,
        seed!(s003, "ch1 box, P25"),
        "first 21 sick days",
        Days(21),
    ),
    employer_notification: Some(rule(
        RuleId::T03,
        seed!(s003, "F1 ch3"),
        "'senest i fjerde sygeuge'",
        DueBy::EndOfSickWeek(4),
    )),
    unemployed_self_report: Some(rule(
        RuleId::T03b,
        seed!(s003, "F1 ch3, P15"),
        "to the benefits office [F1]; P15 says to the a-kasse (A23)",
        DueBy::AfterFirstSickDay(Weeks(1)),
    )),
    information_form: rule(
        RuleId::T05,
        seed!(s003, "F1 ch3"),
        "'inden otte dage'",
        Days(8),
    ),
    late_form_penalty: rule(
        RuleId::T05c,
        seed!(s003, "P17"),
        "R2008: benefit lost for the whole period",
        FormPenalty::WholePeriod,
    ),
    employer_conversation: None,
    employer_conversation_early: None,
    first_follow_up: rule(
        RuleId::T11,
        seed!(s003, "F1 ch3"),
        "'inden udgangen af ottende sygeuge i alle sager'",
        DueBy::EndOfSickWeek(8),
    ),
    cadence: [
        rule(
            RuleId::T13,
            seed!(s003, "F1 ch3"),
            "category 1: at least every 8th week",
            EVERY_8_WEEKS,
        ),
        rule(
            RuleId::T13,
            seed!(s003, "F1 ch3"),
            "category 2: at least every 4th week",
            EVERY_4_WEEKS,
        ),
        rule(
            RuleId::T13,
            seed!(s003, "F1 ch3"),
            "category 3: at least every 8th week",
            EVERY_8_WEEKS,
        ),
    ],
    min_follow_ups: None,
    follow_up_plan_by: Some(rule(
        RuleId::T15,
        seed!(s003, "F1 ch3"),
        "'senest ved den anden opfølgning'",
        2,
    )),
    trial: None,
    reassessment: None,
    rehabilitation_team: None,
    category_one_if_back_by: None,
    contact: ContactRules {
        default: rule(
            RuleId::T13,
            seed!(s003, "F1 ch3"),
            "INFERRED: follow-up talks are in person by default (DOMAIN.md §3.5)",
            IN_PERSON,
        ),
        later: None,
        phone_in_offer: None,
        soon_return: None,
        surgery: None,
        standby: None,
        employer_contact: None,
    },
    offers: OfferRules {
        for_all: rule(
            RuleId::P20,
            seed!(s003, "P20, F2 ch1"),
            "offers only for persons entitled to revalidering, rarely before half a year \
             ([002 §1.1])",
            false,
        ),
        least_sick: None,
        partial_return_first: None,
        min_hours: None,
        wage_subsidy: None,
    },
    refund: Some(rule(
        RuleId::P21,
        seed!(s003, "P21"),
        "refund 50 % independent of activity ('hæves fra 50'); none from sick week 53",
        Refund {
            unemployed_state_weeks: rule(
                RuleId::T02,
                seed!(s003, "ch1 box"),
                "INFERRED: state share of weeks 1–4 as in [004 fig.3]",
                4,
            ),
            bands: &[
                Band {
                    first_week: 1,
                    last_week: Some(52),
                    passive: HALF,
                    active: HALF,
                },
                Band {
                    first_week: 53,
                    last_week: None,
                    passive: Shares::MUNICIPALITY,
                    active: Shares::MUNICIPALITY,
                },
            ],
            qualifying: Qualifying::Nothing,
        },
    )),
    operating_cost: None,
    risk: RISK,
    conflicts: &[CONFLICT_A1_21, CONFLICT_A2_WEEK4, CONFLICT_A21],
};

// ---------------------------------------------------------------------------------------------
// P2008 — the action plan's proposals [003 P01–P30] plus the 2009 trial [000].
// ---------------------------------------------------------------------------------------------

const P21_MIN_HOURS: MinHours = MinHours {
    min: WeeklyHours::hours(10),
    comparison: Comparison::AtLeast,
    fewer_with_documentation: true,
    floor: None,
};

const TRIAL: Trial = Trial {
    weekly_contact: rule(
        RuleId::T18c,
        seed!(s000),
        "'kort efter 8. ugers samtalen'; first weekly talk INFERRED one week after it",
        Weeks(1),
    ),
    active_within: rule(
        RuleId::T18d,
        seed!(s000),
        "'efter yderligere 4 uger' partly back or in offers",
        Weeks(4),
    ),
    min_hours: rule(
        RuleId::T18d,
        seed!(s000),
        "'min. 10 timer ugentlig' … 'helt ned til 1 time om ugen'",
        MinHours {
            min: WeeklyHours::hours(10),
            comparison: Comparison::AtLeast,
            fewer_with_documentation: true,
            floor: Some(WeeklyHours::hours(1)),
        },
    ),
    course_length: rule(
        RuleId::T18e,
        seed!(s000),
        "'op til 4 måneder'; INFERRED counted from the 8-week talk",
        Months(4),
    ),
};

const P2008: RuleSet = RuleSet {
    id: RuleSetId::P2008,
    title: "Proposals of the 2008 action plan ([003] P01–P30) and the 2009 trial [000]",
    effective_from: ymd(2009, 1, 1),
    effective_from_note: "INFERRED: proposals, never chosen by date; named explicitly to compare \
                          with R2008/R2009.",
    selectable_by_date: false,
    employer_conversation: Some(rule(
        RuleId::T07,
        seed!(s003, "P06"),
        "'senest i fjerde sygeuge'",
        DueBy::EndOfSickWeek(4),
    )),
    employer_conversation_early: Some(rule(
        RuleId::T07b,
        seed!(s003, "P26"),
        "CONFLICT A3: employer MAY call a conversation 'inden for de første tre uger' — advisory",
        DueBy::EndOfSickWeek(3),
    )),
    late_form_penalty: rule(
        RuleId::T05c,
        seed!(s003, "P17"),
        "lost only from the due date until the form is received",
        FormPenalty::DelayOnly,
    ),
    cadence: p22(false),
    trial: Some(TRIAL),
    contact: ContactRules {
        default: rule(
            RuleId::T13b,
            seed!(s003, "P22"),
            "'Alle samtaler skal være personlige, med mindre den syge er i tilbud'",
            IN_PERSON,
        ),
        phone_in_offer: Some(rule(
            RuleId::T13b,
            seed!(s003, "P22"),
            "categories 1 and 3 by phone while in an offer; category 2 always in person",
            &[Category::One, Category::Three],
        )),
        ..R2008.contact
    },
    offers: OfferRules {
        for_all: rule(
            RuleId::P20,
            seed!(s003, "P20"),
            "offers for all sick-listed",
            true,
        ),
        min_hours: Some(rule(
            RuleId::P21,
            seed!(s003, "P21"),
            "CONFLICT A4: detail 'minimum 10 timer' (≥) vs overview 'mere end 10 timer'; fewer if \
             the municipality documents it",
            P21_MIN_HOURS,
        )),
        wage_subsidy: Some(rule(
            RuleId::P20,
            seed!(s003, "P20"),
            "CONFLICT A8: employed sick-listed cannot get wage subsidy (they have partial return)",
            WageSubsidyPolicy::EmployedExcluded,
        )),
        ..R2008.offers
    },
    refund: Some(rule(
        RuleId::P21,
        seed!(s003, "P21"),
        "65 % if partly back or in an offer ≥ 10 h/week, else 35 %, after sick week 4; none from \
         week 53. Weeks 1–4 INFERRED at the R2008 level (50 %).",
        Refund {
            unemployed_state_weeks: rule(
                RuleId::T02,
                seed!(s003, "ch1 box"),
                "INFERRED: unchanged from R2008",
                4,
            ),
            bands: &[
                Band {
                    first_week: 1,
                    last_week: Some(4),
                    passive: HALF,
                    active: HALF,
                },
                Band {
                    first_week: 5,
                    last_week: Some(52),
                    passive: Shares::new(0, 6_500, 3_500),
                    active: Shares::new(0, 3_500, 6_500),
                },
                Band {
                    first_week: 53,
                    last_week: None,
                    passive: Shares::MUNICIPALITY,
                    active: Shares::MUNICIPALITY,
                },
            ],
            qualifying: Qualifying::AnyOffer,
        },
    )),
    operating_cost: Some(rule(
        RuleId::OperatingCost,
        seed!(s001),
        "INFERRED: [001] describes 50 % without ceiling as the rule 'today' (2010); assumed from \
         the 2009 reform",
        OperatingCost {
            rate: 5_000,
            ceiling_per_full_year_person: None,
            weeks_per_full_year_person: 52,
        },
    )),
    conflicts: &[
        CONFLICT_A1_21,
        CONFLICT_A2_WEEK4,
        CONFLICT_A3,
        CONFLICT_A4_GTE,
        CONFLICT_A5,
        CONFLICT_A8_P20,
        CONFLICT_A9,
        CONFLICT_A21,
    ],
    ..R2008
};

// ---------------------------------------------------------------------------------------------
// R2009 — after the 2009 reform as described by [002] and the trial [000].
// ---------------------------------------------------------------------------------------------

const R2009: RuleSet = RuleSet {
    id: RuleSetId::R2009,
    title: "Rules after the 2009 reform ([002], [000])",
    effective_from: ymd(2009, 1, 1),
    effective_from_note: "INFERRED: [002] is undated and calls the reform 'new rules'; the trial \
                          [000] started in the first half of January 2009.",
    selectable_by_date: true,
    employer_notification: Some(rule(
        RuleId::T03,
        seed!(s002, "§2.2"),
        "CONFLICT A2, INFERRED: the jobcentre learns of the case 'after 6 weeks'; modelled as \
         notification by the end of sick week 6",
        DueBy::EndOfSickWeek(6),
    )),
    employer_conversation: Some(rule(
        RuleId::T07,
        seed!(s002, "§1.3, §2.2"),
        "'4-ugers samtalen'",
        DueBy::EndOfSickWeek(4),
    )),
    employer_conversation_early: None,
    cadence: p22(true),
    offers: OfferRules {
        for_all: rule(
            RuleId::P20,
            seed!(s002, "§1.1"),
            "offers for all sick-listed",
            true,
        ),
        min_hours: Some(rule(
            RuleId::P21,
            seed!(s003, "P21"),
            "INFERRED: [002] states no hours; P21's ≥ 10 h with documented reductions carried over",
            P21_MIN_HOURS,
        )),
        wage_subsidy: Some(rule(
            RuleId::WageSubsidyWorkplace,
            seed!(s002, "§1.2"),
            "CONFLICT A8: 'Kan ikke anvendes på sygemeldtes hidtidige arbejdsplads'",
            WageSubsidyPolicy::NotAtOwnWorkplace,
        )),
        ..P2008.offers
    },
    refund: Some(rule(
        RuleId::Refund2009,
        seed!(s002, "§1.1"),
        "'mellem 8. og 52. uge' 65 % if active or part-time sick, else 35 %; weeks 1–7 INFERRED \
         50 %",
        Refund {
            unemployed_state_weeks: rule(
                RuleId::T02,
                seed!(s003, "ch1 box"),
                "INFERRED: unchanged from R2008",
                4,
            ),
            bands: &[
                Band {
                    first_week: 1,
                    last_week: Some(7),
                    passive: HALF,
                    active: HALF,
                },
                Band {
                    first_week: 8,
                    last_week: Some(52),
                    passive: Shares::new(0, 6_500, 3_500),
                    active: Shares::new(0, 3_500, 6_500),
                },
                Band {
                    first_week: 53,
                    last_week: None,
                    passive: Shares::MUNICIPALITY,
                    active: Shares::MUNICIPALITY,
                },
            ],
            qualifying: Qualifying::AnyOffer,
        },
    )),
    conflicts: &[
        CONFLICT_A1_21,
        CONFLICT_A2_WEEK6,
        CONFLICT_A4_GTE,
        CONFLICT_A5,
        CONFLICT_A8_002,
        CONFLICT_A9,
        CONFLICT_A21,
    ],
    ..P2008
};

// ---------------------------------------------------------------------------------------------
// A2010 — the 2010 agreement [001]: refund model and ceiling from 1 January 2011, eleven
// initiatives during 2011.
// ---------------------------------------------------------------------------------------------

const A2010_CONTACT: ContactRules = ContactRules {
    soon_return: Some(rule(
        RuleId::I4,
        seed!(s001, "I4"),
        "'inden for de første 13 ugers sygefravær' = by D90; phone, digital or letter",
        Relief {
            within: 13,
            modes: REMOTE,
        },
    )),
    surgery: Some(rule(
        RuleId::I5,
        seed!(s001, "I5"),
        "'inden for 13 uger regnet fra opfølgningstidspunktet' = follow-up date + 91 days \
         (DOMAIN.md AL-12)",
        Relief {
            within: Weeks(13),
            modes: REMOTE,
        },
    )),
    standby: Some(rule(
        RuleId::I3,
        seed!(s001, "I3, I9"),
        "diagnosis on the list and the person opts in: 'opfølgning uden kontakt'",
        NO_CONTACT,
    )),
    employer_contact: Some(rule(
        RuleId::I7,
        seed!(s001, "I7"),
        "no contact if return on full time is certain within 13 weeks of the scheduled talk, or \
         category 3",
        EmployerContactRelief {
            certain_return_within: Weeks(13),
            not_for: &[Category::Three],
        },
    )),
    ..P2008.contact
};

const A2010_REFUND: Refund = Refund {
    unemployed_state_weeks: rule(
        RuleId::T02,
        seed!(s004, "fig.3"),
        "INFERRED: [001] is silent; [004] describes the same law in 2012",
        4,
    ),
    bands: &[
        Band {
            first_week: 1,
            last_week: Some(8),
            passive: HALF,
            active: HALF,
        },
        Band {
            first_week: 9,
            last_week: Some(52),
            passive: Shares::new(0, 7_000, 3_000),
            active: Shares::new(0, 5_000, 5_000),
        },
        Band {
            first_week: 53,
            last_week: None,
            passive: Shares::MUNICIPALITY,
            active: Shares::MUNICIPALITY,
        },
    ],
    qualifying: Qualifying::WorkplaceOriented,
};

const CEILING: OperatingCost = OperatingCost {
    rate: 5_000,
    ceiling_per_full_year_person: Some(1_370_000),
    weeks_per_full_year_person: 52,
};

const A2010: RuleSet = RuleSet {
    id: RuleSetId::A2010,
    title: "2010 political agreement [001], in force from 1 January 2011",
    effective_from: ymd(2011, 1, 1),
    effective_from_note: "[001 appendix]: refund model and ceiling 'træder i kraft 1. januar \
                          2011'; the eleven initiatives 'i løbet af 2011' are applied from the \
                          same date (INFERRED).",
    contact: A2010_CONTACT,
    offers: OfferRules {
        least_sick: Some(rule(
            RuleId::I2,
            seed!(s001, "I2"),
            "employed, clear diagnosis, full return realistic within 8 weeks of the follow-up \
             (follow-up date + 56 days, DOMAIN.md AL-13): no new active offers",
            Weeks(8),
        )),
        partial_return_first: Some(rule(
            RuleId::I6,
            seed!(s001, "I6"),
            "no offer if gradual return is possible; combination allowed if it speeds return \
             (AL-14)",
            (),
        )),
        min_hours: Some(rule(
            RuleId::P21,
            seed!(s003, "P21"),
            "INFERRED: [001] states no hours (hour-for-hour refund only to be discussed); P21's \
             ≥ 10 h carried over",
            P21_MIN_HOURS,
        )),
        wage_subsidy: Some(rule(
            RuleId::WageSubsidyWorkplace,
            seed!(s002, "§1.2"),
            "INFERRED: carried over from R2009 (A8)",
            WageSubsidyPolicy::NotAtOwnWorkplace,
        )),
        ..R2009.offers
    },
    refund: Some(rule(
        RuleId::Refund2011,
        seed!(s001, "appendix"),
        "50 % for partial return, work placement, wage subsidy, ordinary education; 30 % for \
         other guidance & upskilling and passive periods. Week bands INFERRED from [004 fig.3].",
        A2010_REFUND,
    )),
    operating_cost: Some(rule(
        RuleId::OperatingCostCeiling,
        seed!(s001, "appendix"),
        "13,700 DKK per full-year person; the 50 % rate under the ceiling is INFERRED (old rate)",
        CEILING,
    )),
    trial: None,
    conflicts: &[
        CONFLICT_A1_21,
        CONFLICT_A2_WEEK6,
        CONFLICT_A4_GTE,
        CONFLICT_A5,
        CONFLICT_A7,
        CONFLICT_A8_002,
        CONFLICT_A9,
        CONFLICT_A21,
    ],
    ..R2009
};

// ---------------------------------------------------------------------------------------------
// R2012 — as described by Quick Care in 2012 [004] (LBK no. 1152 of 12/12/2011).
// ---------------------------------------------------------------------------------------------

const R2012: RuleSet = RuleSet {
    id: RuleSetId::R2012,
    title: "Rules as described in 2012 ([004], LBK no. 1152 of 12/12/2011)",
    effective_from: ymd(2012, 1, 1),
    effective_from_note: "INFERRED: [004] describes the rules in force in 2012 under the \
                          consolidated act of 12 December 2011.",
    employer_period: rule(
        RuleId::T01b,
        seed!(s004, "fig.3"),
        "30 calendar days",
        Days(30),
    ),
    first_follow_up: rule(
        RuleId::T11,
        seed!(s004, "§3.2"),
        "'first personal talk must be arranged within 8 weeks'",
        DueBy::EndOfSickWeek(8),
    ),
    offers: OfferRules {
        min_hours: Some(rule(
            RuleId::Fig3,
            seed!(s004, "fig.3"),
            "CONFLICT A4: 'mere end 10 timer om ugen' (>); documented reductions INFERRED from \
             [003 P21] ([004] is silent)",
            MinHours {
                comparison: Comparison::MoreThan,
                ..P21_MIN_HOURS
            },
        )),
        ..A2010.offers
    },
    refund: Some(rule(
        RuleId::Fig3,
        seed!(s004, "fig.3"),
        "table: employer 30 days; unemployed weeks 1–4 state; weeks 5–8 50/50; weeks 9–52 70/30 \
         or 50/50 if active; week 53 on municipality. CONFLICT A6/A7 (see conflicts()).",
        Refund {
            unemployed_state_weeks: rule(RuleId::T02, seed!(s004, "fig.3"), "", 4),
            ..A2010_REFUND
        },
    )),
    conflicts: &[
        CONFLICT_A1_30,
        CONFLICT_A2_WEEK6,
        CONFLICT_A4_GT,
        CONFLICT_A5,
        CONFLICT_A6,
        CONFLICT_A7,
        CONFLICT_A8_002,
        CONFLICT_A9,
        CONFLICT_A21,
    ],
    ..A2010
};

// ---------------------------------------------------------------------------------------------
// L2014 — the law in force today (DOMAIN.md Appendix C; verify before relying).
// ---------------------------------------------------------------------------------------------

const SDL_13B: &str = "sygedagpengeloven § 13b (elov.dk/sygedagpengeloven/paragraf/13b); \
                       STAR 'Sygedagpengeopfølgning'; DOMAIN.md Appendix C";

const L2014_CAT_2_3: CategoryCadence = CategoryCadence {
    second: &[Step::AfterPrevious(Weeks(4))],
    then: &[Step::AfterPrevious(Weeks(4))],
    statutory_until: Some(Months(6)),
};

const L2014: RuleSet = RuleSet {
    id: RuleSetId::L2014,
    title: "Law in force today (2014 sickness-benefit reform)",
    effective_from: ymd(2015, 1, 5),
    effective_from_note: "Reform lov nr. 720 af 25. juni 2014: reassessment after 22 weeks from 1 \
                          July 2014, new visitation and follow-up model from 5 January 2015 \
                          (bm.dk news 05-01-2015). Cases starting between those dates get R2012 \
                          follow-up rules here.",
    selectable_by_date: true,
    employer_period: rule(
        RuleId::T01b,
        "GENERAL KNOWLEDGE: 30 calendar days (e.g. randers.dk 'Sygedagpenge'); [004 fig.3]",
        "verify",
        Days(30),
    ),
    employer_notification: Some(rule(
        RuleId::T03,
        "GENERAL KNOWLEDGE: notification within 5 weeks of the first absence day for refund \
         (randers.dk 'Sygedagpenge')",
        "not in Appendix C; verify",
        DueBy::AfterFirstSickDay(Weeks(5)),
    )),
    unemployed_self_report: None,
    information_form: rule(
        RuleId::T05,
        seed!(s003, "F1 ch3"),
        "INFERRED: 8 days carried over; Appendix C names the form without a period",
        Days(8),
    ),
    late_form_penalty: rule(
        RuleId::T05c,
        seed!(s003, "P17"),
        "INFERRED: carried over from P2008",
        FormPenalty::DelayOnly,
    ),
    employer_conversation: Some(rule(
        RuleId::T07,
        "GENERAL KNOWLEDGE: sygedagpengeloven § 7 a, 'senest 4 uger efter 1. sygedag' \
         (pav.medst.dk 24.2.3)",
        "4 weeks after D0 = D28 (not D27); verify",
        DueBy::AfterFirstSickDay(Weeks(4)),
    )),
    employer_conversation_early: None,
    first_follow_up: rule(
        RuleId::T11,
        SDL_13B,
        "'senest inden udgangen af ottende uge regnet fra første fraværsdag'; category 1 too \
         when absence exceeds 8 weeks (§ 13a stk. 1)",
        DueBy::EndOfSickWeek(8),
    ),
    cadence: [
        rule(
            RuleId::Sdl13a,
            "sygedagpengeloven § 13a (elov.dk/sygedagpengeloven/paragraf/13a)",
            "category 1: the municipality decides when and how; re-visitation to 2 or 3 if \
             absence exceeds 8 weeks — no statutory cadence",
            CategoryCadence {
                second: &[],
                then: &[],
                statutory_until: None,
            },
        ),
        rule(
            RuleId::Sdl13b,
            SDL_13B,
            "at least every 4th week (STAR) in the first half year; after six months the \
             follow-up is agreed with the person",
            L2014_CAT_2_3,
        ),
        rule(
            RuleId::Sdl13b,
            SDL_13B,
            "at least every 4th week (STAR) in the first half year; after six months the \
             follow-up is agreed with the person",
            L2014_CAT_2_3,
        ),
    ],
    min_follow_ups: Some(rule(
        RuleId::Sdl13b,
        SDL_13B,
        "categories 2 and 3: 'mindst fire gange inden for det første halve år regnet fra første \
         fraværsdag'",
        MinFollowUps {
            count: 4,
            within: Months(6),
        },
    )),
    follow_up_plan_by: None,
    trial: None,
    reassessment: Some(rule(
        RuleId::Star22,
        "STAR 'Sygedagpengeopfølgning' ('Revurdering ved 22. uge'); sygedagpengeloven § 24",
        "INFERRED: due by the end of sick week 22 for a continuous absence (the limit counts 22 \
         paid weeks in 9 months)",
        DueBy::EndOfSickWeek(22),
    )),
    rehabilitation_team: Some(rule(
        RuleId::Sdl13d,
        "cabiweb.dk 'visitationskategorier', 'rehabiliteringsteam'; DOMAIN.md Appendix C",
        "'within about 4 weeks of visitation' to category 3",
        Weeks(4),
    )),
    category_one_if_back_by: Some(rule(
        RuleId::Sdl12,
        "sygedagpengeloven § 12 (danskelove.dk/sygedagpengeloven/12)",
        "category 1 = full return expected within 8 weeks of the first absence day; 2 or 3 \
         otherwise (3 needs the interdisciplinary judgement)",
        DueBy::EndOfSickWeek(8),
    )),
    contact: ContactRules {
        default: rule(
            RuleId::Sdl13b,
            SDL_13B,
            "first follow-up: individual talk in person",
            IN_PERSON,
        ),
        later: Some(rule(
            RuleId::Sdl13b,
            SDL_13B,
            "after the first follow-up the person chooses in person, phone or digital; the \
             municipality may require attendance",
            CITIZEN_CHOICE,
        )),
        phone_in_offer: None,
        soon_return: None,
        surgery: None,
        standby: Some(rule(
            RuleId::I3,
            "STAR vejledning nr. 9208 af 21/3 2023, afsnit 9 'Standby-ordning'",
            "standby kept in today's law",
            NO_CONTACT,
        )),
        employer_contact: None,
    },
    offers: OfferRules {
        for_all: rule(RuleId::Sdl13b, SDL_13B, "offers per category (STAR)", true),
        least_sick: None,
        partial_return_first: None,
        min_hours: None,
        wage_subsidy: None,
    },
    refund: None,
    operating_cost: None,
    risk: RISK,
    conflicts: &[Conflict {
        id: "C1",
        topic: "Appendix C gives no refund or offer-hour rules for today's law",
        resolution: "refund and operating cost are None (reimbursement reports it); the 2016 \
                     refund reform is not encoded",
    }],
};

static ALL: [RuleSet; 6] = [R2008, P2008, R2009, A2010, R2012, L2014];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn in_force_by_first_sick_day() {
        let pick = |date| RuleSet::in_force_on(date).map(|rs| rs.id);
        assert_eq!(pick(d(2006, 7, 2)), None);
        assert_eq!(pick(d(2008, 6, 1)), Some(RuleSetId::R2008));
        assert_eq!(
            pick(d(2009, 1, 1)),
            Some(RuleSetId::R2009),
            "P2008 is never picked by date"
        );
        assert_eq!(pick(d(2011, 1, 1)), Some(RuleSetId::A2010));
        assert_eq!(pick(d(2012, 6, 1)), Some(RuleSetId::R2012));
        assert_eq!(pick(d(2014, 8, 1)), Some(RuleSetId::R2012));
        assert_eq!(pick(d(2026, 3, 1)), Some(RuleSetId::L2014));
    }

    #[test]
    fn named_sets_match_their_ids() {
        for rs in RuleSet::all() {
            assert_eq!(RuleSet::get(rs.id).id, rs.id);
        }
    }

    #[test]
    fn every_rule_carries_a_source() {
        for rs in RuleSet::all() {
            for r in rs.rules() {
                assert!(!r.source.is_empty(), "{:?} {} has no source", rs.id, r.id);
            }
            assert!(!rs.conflicts().is_empty(), "{:?} lists no conflicts", rs.id);
        }
    }

    #[test]
    fn seed_sources_name_their_files() {
        let rs = RuleSet::get(RuleSetId::R2008);
        assert_eq!(
            rs.first_follow_up.source,
            "[003 F1 ch3] 003_532c043554107ee2.txt"
        );
        assert!(rs.first_follow_up.cite().starts_with("T-11 [003 F1 ch3]"));
    }

    #[test]
    fn employer_period_a1() {
        assert_eq!(
            RuleSet::get(RuleSetId::R2008).employer_period.value,
            Days(21)
        );
        assert_eq!(
            RuleSet::get(RuleSetId::R2012).employer_period.value,
            Days(30)
        );
        assert_eq!(
            RuleSet::get(RuleSetId::R2012).employer_period.id,
            RuleId::T01b
        );
    }

    #[test]
    fn rule_ids_serialize_as_domain_strings() {
        assert_eq!(RuleId::T13b.to_string(), "T-13b");
        assert_eq!(RuleId::I2.as_str(), "001-I2");
        let mut seen = std::collections::HashSet::new();
        assert!(
            RuleId::ALL.iter().all(|r| seen.insert(r.as_str())),
            "ids are unique"
        );
    }

    #[test]
    fn min_hours_a4_flag() {
        let gte = RuleSet::get(RuleSetId::P2008)
            .offers
            .min_hours
            .unwrap()
            .value;
        let gt = RuleSet::get(RuleSetId::R2012)
            .offers
            .min_hours
            .unwrap()
            .value;
        assert!(gte.met_by(WeeklyHours::hours(10)));
        assert!(!gt.met_by(WeeklyHours::hours(10)));
        assert!(gt.met_by(WeeklyHours::minutes(601)));
    }

    #[test]
    fn risk_curve_al19() {
        let risk = RuleSet::get(RuleSetId::A2010).risk.value;
        assert_eq!(risk.alert_weeks, &[13, 26, 52]);
        assert_eq!(risk.exclusion_at(13), Some(4_330));
        assert_eq!(risk.exclusion_at(26), Some(5_950));
        assert_eq!(risk.exclusion_at(52), Some(7_520));
    }
}
