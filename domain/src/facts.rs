//! The facts of one sickness-benefit case, as plain data the store persists as events.
//!
//! Every rule in this crate is a function of these facts, a rule set and an `as_of` date,
//! so a timeline can be recomputed for any past date by replaying the facts known then.
//! Danish terms follow DOMAIN.md Appendix B.

pub use crate::case::EmploymentStatus;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Visitationskategori ([003 F1 ch3]; today's definitions: sygedagpengeloven § 12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Kategori 1: expected back quickly and without problems.
    One,
    /// Kategori 2: risk case (risikosag) — risk of a long course and losing labour-market attachment.
    Two,
    /// Kategori 3: long absence known in advance (today: plus needs an interdisciplinary effort).
    Three,
}

impl Category {
    pub const ALL: [Category; 3] = [Category::One, Category::Two, Category::Three];

    pub(crate) fn index(self) -> usize {
        match self {
            Category::One => 0,
            Category::Two => 1,
            Category::Three => 2,
        }
    }
}

/// Kontaktform of a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactMode {
    /// Personlig samtale (fysisk fremmøde).
    InPerson,
    /// Telefon.
    Phone,
    /// Digital (e.g. video or digital self-service).
    Digital,
    /// Brev.
    Letter,
    /// IngenKontakt: follow-up on the file without contacting the person (standby, [001 I9]).
    NoContact,
}

/// Whole minutes per week, so that "10 hours" thresholds compare exactly.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct WeeklyHours {
    minutes: u32,
}

impl WeeklyHours {
    pub const fn hours(hours: u32) -> Self {
        Self {
            minutes: hours.saturating_mul(60),
        }
    }

    pub const fn minutes(minutes: u32) -> Self {
        Self { minutes }
    }

    pub const fn as_minutes(self) -> u32 {
        self.minutes
    }
}

impl fmt::Display for WeeklyHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.minutes % 60 {
            0 => write!(f, "{} h/week", self.minutes / 60),
            m => write!(f, "{} h {} min/week", self.minutes / 60, m),
        }
    }
}

/// Visitation (or re-visitation at a follow-up, [003 F1 ch3] T-14).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visitation {
    pub on: NaiveDate,
    pub category: Category,
    /// The caseworker's grounds, kept for the appeal record.
    pub reason: String,
}

/// Opfølgningssamtale (follow-up talk) as held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub held_on: NaiveDate,
    pub mode: ContactMode,
    /// What was decided, free text for the case record.
    pub outcome: String,
    /// Next talk agreed with the person; after six months this is the only schedule (SDL § 13b).
    pub next_agreed_on: Option<NaiveDate>,
}

/// The caseworker's current health picture, as recorded; the latest one on or before a date counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prognosis {
    pub recorded_on: NaiveDate,
    /// Klar diagnose ([001 I2]).
    pub clear_diagnosis: bool,
    /// Forventet fuld raskmelding.
    pub expected_full_return_on: Option<NaiveDate>,
    /// Operationsdato, when surgery is scheduled ([001 I5]).
    pub surgery_on: Option<NaiveDate>,
    /// Whether a gradual return (delvis raskmelding) is possible now ([003 P19], [001 I6]);
    /// `None` until assessed.
    pub partial_return_possible: Option<bool>,
}

/// Fritagelsesgrund / friholdelsesgrund (DOMAIN.md §3.2 and Appendix B).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExemptionGround {
    /// BehandlingErHindring — treatment is an obstacle (\[000\]).
    TreatmentIsObstacle,
    /// FoertidspensionssagPaabegyndt — an early-retirement-pension case has started (\[000\]).
    EarlyRetirementCaseStarted,
    /// Terminalstadie (\[000\]; [002 §1.4]: offers not relevant).
    Terminal,
    /// GraviditetsbetingetSygdom (\[000\]).
    PregnancyRelated,
    /// FastBehandlingsOgTilbagevendensplan — fixed treatment and return plan the jobcentre
    /// obviously cannot support (\[000\]).
    FixedTreatmentAndReturnPlan,
    /// Standby — diagnosis on the list and the person opted in: follow-up without contact ([001 I3, I9]).
    Standby,
    /// Kritisk syg — no 3-monthly talks ([003 P22]).
    CriticallyIll,
    /// MindstSyg — clear diagnosis and full return within 8 weeks: no new offers ([001 I2]).
    LeastSick,
    /// TilbagevendenInden13Uger — exempts from in-person attendance only ([001 I4]).
    ReturnWithin13Weeks,
    /// OperationInden13Uger — exempts from in-person attendance only ([001 I5]).
    SurgeryWithin13Weeks,
}

/// What an exemption ground releases the person from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExemptionScope {
    /// No new active offers.
    pub offers: bool,
    /// No follow-up talks: statutory follow-up clocks pause (INFERRED, see `followup`).
    pub meetings: bool,
    /// Out of the trial's intensive effort (weekly contact, offers by week 12–13) (\[000\]).
    pub intensive_effort: bool,
    /// Not summoned to in-person talks.
    pub in_person: bool,
}

impl ExemptionGround {
    /// Scope per ground; the five trial grounds come from \[000\] (000_5a4e8a35e68842e8.txt),
    /// the rest from \[001\] (001_fb3c8f7d7777c6f3.txt) and [003 P22]. Where a source only says
    /// "too sick for the intensive effort", we also stop offers: offers must never counteract
    /// recovery ([001 appendix]).
    pub const fn scope(self) -> ExemptionScope {
        use ExemptionGround::*;
        let (offers, meetings, intensive_effort, in_person) = match self {
            TreatmentIsObstacle
            | EarlyRetirementCaseStarted
            | PregnancyRelated
            | FixedTreatmentAndReturnPlan => (true, false, true, false),
            Terminal | Standby => (true, true, true, true),
            CriticallyIll => (false, true, true, true),
            LeastSick => (true, false, false, false),
            ReturnWithin13Weeks | SurgeryWithin13Weeks => (false, false, false, true),
        };
        ExemptionScope {
            offers,
            meetings,
            intensive_effort,
            in_person,
        }
    }
}

/// Fritagelse recorded on the case; `to` is the last exempt day, open-ended when `None`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemption {
    pub ground: ExemptionGround,
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
    pub reason: String,
}

impl Exemption {
    pub fn covers(&self, date: NaiveDate) -> bool {
        self.from <= date && self.to.is_none_or(|to| date <= to)
    }
}

/// Delvis raskmelding (gradual return) or delvis sygemelding, with working hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialReturn {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
    pub hours_per_week: WeeklyHours,
}

/// TilbudType, reduced to the classes the refund and offer rules distinguish
/// (DOMAIN.md §4.2). Named courses (pain management, KIA, SYFO, training teams, …) are
/// guidance and upskilling for refund purposes (INFERRED).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferType {
    /// VejledningOgOpkvalificering.
    GuidanceAndUpskilling,
    /// Virksomhedspraktik.
    WorkPlacement,
    /// Loentilskud.
    WageSubsidy,
    /// Mentor.
    Mentor,
    /// OrdinaerUddannelse (high refund only under the three conditions of [001 appendix]).
    OrdinaryEducation,
}

/// An active offer (aktivt tilbud) the person takes part in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferPeriod {
    pub from: NaiveDate,
    pub to: Option<NaiveDate>,
    pub kind: OfferType,
    pub hours_per_week: WeeklyHours,
    /// The municipality's documented reason for fewer hours than the minimum ([003 P21], \[000\]).
    pub fewer_hours_reason: Option<String>,
}

/// How the case ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Fuld raskmelding.
    FullReturn,
    /// Benefit stopped for lack of cooperation ([003 P20], \[000\]).
    BenefitStopped,
    /// Varighedsbegrænsning reached (today: jobafklaringsforløb follows).
    DurationLimit,
    /// Førtidspension.
    EarlyRetirementPension,
    Other(String),
}

/// Afslutning of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closure {
    pub on: NaiveDate,
    pub outcome: Outcome,
}

/// Everything a timeline, contact-mode verdict, offer check or refund split is computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFacts {
    /// Første sygedag (D0).
    pub first_sick_day: NaiveDate,
    /// Borgertype (shared with `case`): decides employer duties and the employer period.
    pub employment: EmploymentStatus,
    /// Arbejdsgiverens anmeldelse af sygefraværet (T-03).
    pub employer_notified_on: Option<NaiveDate>,
    /// Own sick report by an insured unemployed person (T-03b).
    pub self_reported_on: Option<NaiveDate>,
    /// Arbejdsgiverens samtale ("4-ugers samtale", T-07/T-07b).
    pub employer_conversation_on: Option<NaiveDate>,
    /// Oplysningsskema sent (T-05).
    pub information_form_sent_on: Option<NaiveDate>,
    /// Oplysningsskema returned (T-05).
    pub information_form_returned_on: Option<NaiveDate>,
    pub visitations: Vec<Visitation>,
    pub follow_ups: Vec<FollowUp>,
    /// Opfølgningsplan first made (T-15).
    pub follow_up_plan_on: Option<NaiveDate>,
    pub prognoses: Vec<Prognosis>,
    pub exemptions: Vec<Exemption>,
    pub partial_returns: Vec<PartialReturn>,
    pub offers: Vec<OfferPeriod>,
    /// Revurdering (today's law, around sick week 22).
    pub reassessed_on: Option<NaiveDate>,
    /// Case presented to the rehabiliteringsteam (today's law, category 3).
    pub rehabilitation_team_on: Option<NaiveDate>,
    /// Participant in the 2009 trial "Aktive – hurtigere tilbage" (T-18c–T-18e).
    pub trial: bool,
    pub closed: Option<Closure>,
}

impl CaseFacts {
    /// A fresh case with nothing recorded yet.
    pub fn new(first_sick_day: NaiveDate, employment: EmploymentStatus) -> Self {
        Self {
            first_sick_day,
            employment,
            employer_notified_on: None,
            self_reported_on: None,
            employer_conversation_on: None,
            information_form_sent_on: None,
            information_form_returned_on: None,
            visitations: Vec::new(),
            follow_ups: Vec::new(),
            follow_up_plan_on: None,
            prognoses: Vec::new(),
            exemptions: Vec::new(),
            partial_returns: Vec::new(),
            offers: Vec::new(),
            reassessed_on: None,
            rehabilitation_team_on: None,
            trial: false,
            closed: None,
        }
    }

    /// The facts as they stood on `as_of`: everything dated later is dropped, so a timeline
    /// computed for a past date is the one a caseworker saw then.
    pub fn known_on(&self, as_of: NaiveDate) -> CaseFacts {
        let by = |d: Option<NaiveDate>| d.filter(|d| *d <= as_of);
        CaseFacts {
            first_sick_day: self.first_sick_day,
            employment: self.employment,
            employer_notified_on: by(self.employer_notified_on),
            self_reported_on: by(self.self_reported_on),
            employer_conversation_on: by(self.employer_conversation_on),
            information_form_sent_on: by(self.information_form_sent_on),
            information_form_returned_on: by(self.information_form_returned_on),
            visitations: self
                .visitations
                .iter()
                .filter(|v| v.on <= as_of)
                .cloned()
                .collect(),
            follow_ups: self.follow_ups_until(as_of).into_iter().cloned().collect(),
            follow_up_plan_on: by(self.follow_up_plan_on),
            prognoses: self
                .prognoses
                .iter()
                .filter(|p| p.recorded_on <= as_of)
                .cloned()
                .collect(),
            exemptions: self
                .exemptions
                .iter()
                .filter(|e| e.from <= as_of)
                .cloned()
                .collect(),
            partial_returns: self
                .partial_returns
                .iter()
                .filter(|p| p.from <= as_of)
                .cloned()
                .collect(),
            offers: self
                .offers
                .iter()
                .filter(|o| o.from <= as_of)
                .cloned()
                .collect(),
            reassessed_on: by(self.reassessed_on),
            rehabilitation_team_on: by(self.rehabilitation_team_on),
            trial: self.trial,
            closed: self.closed.clone().filter(|c| c.on <= as_of),
        }
    }

    /// Follow-ups held on or before `as_of`, oldest first.
    pub fn follow_ups_until(&self, as_of: NaiveDate) -> Vec<&FollowUp> {
        let mut held: Vec<&FollowUp> = self
            .follow_ups
            .iter()
            .filter(|f| f.held_on <= as_of)
            .collect();
        held.sort_by_key(|f| f.held_on);
        held
    }

    /// Category in force on `date`: the latest visitation on or before it.
    pub fn category_on(&self, date: NaiveDate) -> Option<Category> {
        self.visitations
            .iter()
            .filter(|v| v.on <= date)
            .max_by_key(|v| v.on)
            .map(|v| v.category)
    }

    /// The latest prognosis recorded on or before `date`.
    pub fn prognosis_on(&self, date: NaiveDate) -> Option<&Prognosis> {
        self.prognoses
            .iter()
            .filter(|p| p.recorded_on <= date)
            .max_by_key(|p| p.recorded_on)
    }

    /// Exemptions in force on `date`.
    pub fn exemptions_on(&self, date: NaiveDate) -> impl Iterator<Item = &Exemption> {
        self.exemptions.iter().filter(move |e| e.covers(date))
    }

    pub fn partial_return_on(&self, date: NaiveDate) -> Option<&PartialReturn> {
        self.partial_returns
            .iter()
            .find(|p| p.from <= date && p.to.is_none_or(|to| date <= to))
    }

    pub fn offers_on(&self, date: NaiveDate) -> impl Iterator<Item = &OfferPeriod> {
        self.offers
            .iter()
            .filter(move |o| o.from <= date && o.to.is_none_or(|to| date <= to))
    }

    /// Closing date if the case closed on or before `as_of`.
    pub fn closed_by(&self, as_of: NaiveDate) -> Option<NaiveDate> {
        self.closed.as_ref().map(|c| c.on).filter(|on| *on <= as_of)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn category_in_force_is_latest_visitation() {
        let mut f = CaseFacts::new(d(2008, 1, 7), EmploymentStatus::Employed);
        let v = |on, category| Visitation {
            on,
            category,
            reason: String::new(),
        };
        f.visitations = vec![
            v(d(2008, 3, 1), Category::Two),
            v(d(2008, 2, 1), Category::One),
        ];
        assert_eq!(f.category_on(d(2008, 1, 31)), None);
        assert_eq!(f.category_on(d(2008, 2, 15)), Some(Category::One));
        assert_eq!(f.category_on(d(2008, 3, 1)), Some(Category::Two));
    }

    #[test]
    fn exemption_scopes_follow_the_sources() {
        assert!(
            ExemptionGround::Standby.scope().meetings,
            "standby: follow-up without contact"
        );
        assert!(
            !ExemptionGround::SurgeryWithin13Weeks.scope().offers,
            "I5 only spares attendance"
        );
        assert!(
            ExemptionGround::TreatmentIsObstacle
                .scope()
                .intensive_effort
        );
        let e = Exemption {
            ground: ExemptionGround::Standby,
            from: d(2011, 5, 1),
            to: Some(d(2011, 5, 31)),
            reason: String::new(),
        };
        assert!(e.covers(d(2011, 5, 31)) && !e.covers(d(2011, 6, 1)));
    }

    #[test]
    fn hours_display_and_compare_exactly() {
        assert_eq!(WeeklyHours::hours(10).to_string(), "10 h/week");
        assert_eq!(WeeklyHours::minutes(450).to_string(), "7 h 30 min/week");
        assert!(WeeklyHours::minutes(601) > WeeklyHours::hours(10));
    }
}
