//! The shared case plan (issue 7): one plan per case across the health system, the employment
//! system and the workplace, owned by the jobcentre.
//!
//! Why one plan: the citizen on sickness benefit is registered in two systems that do not talk
//! (the "double CPR", DOMAIN.md §9.1 items 1–4, [004 §3.1] 004_29a2444e953dfa53.txt), and waiting
//! times in the health system prolong the sickness course (§9.1 item 7, \[002\]
//! 002_59c7ae5e83dc120d.txt, [003 ch5] 003_532c043554107ee2.txt). The plan therefore holds
//! activities of all three sectors with planned / booked / actual dates and finish-to-start
//! dependencies, and projects the return-to-work date along the dependency chain, so a booking
//! later than planned (a waiting time) moves the projection and names its cause
//! ([`project`]).
//!
//! - Kinds: opfølgningsplan, fastholdelsesplan, the KIA return plan and handlingsplan
//!   (DOMAIN.md Appendix B); a preliminary plan can precede the final one (KIA-LENE: "laver en
//!   foreløbig plan", then "en plan for, hvordan hun kan vende tilbage til sin arbejdsplads",
//!   [003 ch5 case 1] 003_532c043554107ee2.txt).
//! - Roles: the KIA division of labour — one team member keeps contact with the workplace,
//!   another follows the retention plan and intervenes when it slips, e.g. because of waiting
//!   times (\[002\] 002_59c7ae5e83dc120d.txt: "En anden person følger op på fastholdelsesplanen og
//!   griber ind hvis den skrider, fx p.g.a. ventetider"). See [`PlanRole`].
//! - Contributors: in Aarhus the follow-up plan is always written jointly by citizen,
//!   physiotherapist and caseworker ([004 §6.4] 004_29a2444e953dfa53.txt). See
//!   [`Plan::jointly_written_by`].
//! - History: every change is a [`ChangeRecord`] (what, by whom, when, version), so the plan as
//!   it stood at any instant is rebuilt by [`plan_as_of`].
//!
//! Pure like the rest of the crate: nothing here reads a clock; projections and alert helpers
//! take an `as_of` date.

mod acceptance;
mod employer;
mod history;
mod schedule;
mod signals;
mod validate;

pub use acceptance::{check_activity, check_change, offer_proposal, starts_on};
pub use employer::{
    EmployerActivity, EmployerActivityKind, EmployerGoal, EmployerView, employer_view,
};
pub use history::{ChangeRecord, PlanChange, PlanError, Precondition, apply, plan_as_of, replay};
pub use schedule::{
    ActivitySchedule, GoalProjection, Projection, SlipCause, SlipContribution, project,
};
pub use signals::{
    HospitalWait, IdleWait, PlanParams, hospital_limit_passes_on, hospital_waits_over_limit,
    idle_wait, idle_wait_changes_on, partial_returns_without_full_return,
};
pub use validate::MAX_TEXT_LEN;

use crate::case::{CaseId, ExternalReference, looks_like_cpr};
use crate::facts::{OfferType, WeeklyHours};
use crate::weeks::add_days;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Upper bound for any weekly hours in a plan: 48 h, the EU working-time directive's average
/// cap (GENERAL KNOWLEDGE, not in the seeds). Zero hours is never a plan item.
pub const MAX_WEEKLY_HOURS: WeeklyHours = WeeklyHours::hours(48);

/// Danish full time, 37 h/week (the "back at 37 h/week" goal of the design brief).
pub const FULL_TIME: WeeklyHours = WeeklyHours::hours(37);

macro_rules! plan_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Chosen by the caller, 1 to 64 characters of `A-Z a-z 0-9 . _ -`; never shaped like a
        /// CPR number. Ids are shown to everyone who sees the item (the employer view shows the
        /// ids of work activities), so they must name the step, never a diagnosis.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub const MAX_LEN: usize = 64;

            pub fn parse(raw: &str) -> Result<Self, &'static str> {
                parse_id(raw).map(|s| Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = &'static str;
            fn try_from(raw: String) -> Result<Self, Self::Error> {
                parse_id(&raw)?;
                Ok(Self(raw))
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn parse_id(raw: &str) -> Result<&str, &'static str> {
    if raw.is_empty() {
        return Err("is required");
    }
    if raw.len() > 64 {
        return Err("must be at most 64 characters");
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("must consist of A-Z, a-z, 0-9, '.', '_' and '-'");
    }
    if looks_like_cpr(raw) {
        return Err("looks like a CPR number; use an opaque identifier");
    }
    Ok(raw)
}

plan_id!(
    /// An activity's identifier, unique within its plan.
    ActivityId
);
plan_id!(
    /// A goal's identifier, unique within its plan.
    GoalId
);

/// The kind of plan (DOMAIN.md Appendix B `Plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// Opfoelgningsplan: the jobcentre's follow-up plan (T-15, [003 F1 ch3]).
    FollowUpPlan,
    /// Fastholdelsesplan: retention plan made by employer and employee ([003 P06]).
    RetentionPlan,
    /// The KIA team's plan for the return to the workplace ([003 ch5 case 1], \[002\]).
    KiaReturnPlan,
    /// Handlingsplan: action plan (Aarhus [004 §6.4], PenSam [003 ch3]).
    ActionPlan,
}

/// A preliminary plan can precede the final one ([003 ch5 case 1]: "en foreløbig plan").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStage {
    Preliminary,
    Final,
}

/// In which capacity a person takes part (DOMAIN.md §1.1, Appendix B `Rolle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capacity {
    /// Sygemeldt / borger.
    Citizen,
    /// Jobcentre sagsbehandler.
    Caseworker,
    /// Fagkonsulent (Ringsted).
    SpecialistConsultant,
    /// Socialrådgiver as forløbskoordinator / tovholder.
    SocialWorker,
    /// Praktiserende læge.
    GeneralPractitioner,
    /// Speciallæge.
    SpecialistDoctor,
    /// Sygehuslæge.
    HospitalDoctor,
    /// Arbejdsmediciner.
    OccupationalPhysician,
    /// Sociallæge.
    SocialPhysician,
    /// Fysioterapeut.
    Physiotherapist,
    /// Kiropraktor.
    Chiropractor,
    /// Psykolog.
    Psychologist,
    /// Ergoterapeut.
    OccupationalTherapist,
    /// Jobkonsulent.
    JobConsultant,
    /// Arbejdsgiver / nærmeste leder.
    Employer,
    /// Faglig organisation.
    UnionRepresentative,
    /// Pårørende.
    Relative,
    Other,
}

/// A person taking part in the plan: an opaque reference to the person in the caller's system,
/// their organisation (none for the citizen or a relative), and their capacity.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Party {
    pub person: ExternalReference,
    pub organisation: Option<ExternalReference>,
    pub capacity: Capacity,
}

impl Party {
    pub fn new(
        person: ExternalReference,
        organisation: Option<ExternalReference>,
        capacity: Capacity,
    ) -> Self {
        Self {
            person,
            organisation,
            capacity,
        }
    }

    /// Same person in the same organisation (capacity aside).
    pub fn same_person(&self, other: &Party) -> bool {
        self.person == other.person && self.organisation == other.organisation
    }
}

/// Named roles of a plan. The KIA division of labour (\[002\] 002_59c7ae5e83dc120d.txt) gives two
/// roles to two different team members; which member holds which is not stated (INFERRED: the
/// coordinator is the natural plan owner, DOMAIN.md §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanRole {
    /// KiaPlanopfoelger: follows the plan and intervenes when it slips (alert AL-09 goes here).
    PlanFollowUp,
    /// KiaVirksomhedskontakt: keeps contact with the workplace and proposes measures there.
    WorkplaceContact,
    /// Forløbskoordinator / tovholder: holds the threads of the course.
    Coordinator,
}

impl PlanRole {
    pub const ALL: [PlanRole; 3] = [
        PlanRole::PlanFollowUp,
        PlanRole::WorkplaceContact,
        PlanRole::Coordinator,
    ];

    /// The field name used in validation paths (`roles.plan_follow_up`).
    pub fn field(self) -> &'static str {
        match self {
            PlanRole::PlanFollowUp => "plan_follow_up",
            PlanRole::WorkplaceContact => "workplace_contact",
            PlanRole::Coordinator => "coordinator",
        }
    }
}

/// Who holds each role; every holder has an organisation (validated).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Roles {
    pub plan_follow_up: Option<Party>,
    pub workplace_contact: Option<Party>,
    pub coordinator: Option<Party>,
}

impl Roles {
    pub fn get(&self, role: PlanRole) -> Option<&Party> {
        match role {
            PlanRole::PlanFollowUp => self.plan_follow_up.as_ref(),
            PlanRole::WorkplaceContact => self.workplace_contact.as_ref(),
            PlanRole::Coordinator => self.coordinator.as_ref(),
        }
    }

    pub fn slot(&mut self, role: PlanRole) -> &mut Option<Party> {
        match role {
            PlanRole::PlanFollowUp => &mut self.plan_follow_up,
            PlanRole::WorkplaceContact => &mut self.workplace_contact,
            PlanRole::Coordinator => &mut self.coordinator,
        }
    }
}

/// What a goal aims at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GoalKind {
    /// Fuld raskmelding: back at the full weekly hours.
    FullReturn,
    /// Delvis raskmelding at the given hours.
    PartialReturn,
}

/// A goal: e.g. back at 37 h/week by a date, or a partial return at 20 h/week by a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    pub id: GoalId,
    pub kind: GoalKind,
    pub hours_per_week: WeeklyHours,
    /// The date the goal should be reached.
    pub by: NaiveDate,
    /// The activities whose completion reaches the goal; empty means every activity of the plan
    /// that is not cancelled. A partial-return goal names what must end before the partial
    /// return begins (KIA-LENE: the review of her job functions at the workplace).
    pub depends_on: Vec<ActivityId>,
}

/// Which system an activity belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    /// Regions and municipal health: diagnosis, treatment, rehabilitation ([003 ch5]).
    Health,
    /// Jobcentre: partial return and active offers (DOMAIN.md §3.3, §4).
    Employment,
    /// The employer's adaptations at the workplace ([003 F1 ch3]).
    Workplace,
}

/// Health-sector activities. Never shown to the employer (DOMAIN.md §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthKind {
    /// A diagnostic test (blood test, X-ray, scan). `ordered_by_gp`: requested by a GP or
    /// specialist for their own diagnosis — outside free and extended free hospital choice
    /// (T-25, [003 ch5] 003_532c043554107ee2.txt), so AL-10 does not apply.
    DiagnosticTest { ordered_by_gp: bool },
    /// Speciallæge consultation.
    Specialist,
    /// Operation.
    Surgery,
    /// Treatment outside hospital (GP, chiropractor, ...).
    Treatment,
    /// Hospital treatment or examination (sygehusbehandling / -undersøgelse).
    HospitalTreatment,
    /// Fysioterapi.
    Physiotherapy,
    /// Psykologbistand.
    Psychologist,
    /// Genoptræning (health act §140, [004 §6.4]).
    Rehabilitation,
}

impl HealthKind {
    /// Whether extended free hospital choice (T-25) can shorten the wait: hospital examinations,
    /// treatments and surgery, and diagnostic tests not ordered by a GP/specialist for their own
    /// diagnosis ([003 ch5]).
    pub fn hospital_choice_applies(self) -> bool {
        match self {
            HealthKind::DiagnosticTest { ordered_by_gp } => !ordered_by_gp,
            HealthKind::Surgery | HealthKind::HospitalTreatment => true,
            HealthKind::Specialist
            | HealthKind::Treatment
            | HealthKind::Physiotherapy
            | HealthKind::Psychologist
            | HealthKind::Rehabilitation => false,
        }
    }

    fn label(self) -> &'static str {
        match self {
            HealthKind::DiagnosticTest { .. } => "diagnostic test",
            HealthKind::Specialist => "specialist",
            HealthKind::Surgery => "surgery",
            HealthKind::Treatment => "treatment",
            HealthKind::HospitalTreatment => "hospital treatment",
            HealthKind::Physiotherapy => "physiotherapy",
            HealthKind::Psychologist => "psychologist",
            HealthKind::Rehabilitation => "rehabilitation",
        }
    }
}

/// Named active offers from the seeds (DOMAIN.md §4.2). For the offer rules they count as the
/// class [`NamedOffer::offer_type`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NamedOffer {
    /// Loefteteknik (Lene, [003 ch5 case 1]).
    LiftingTechnique,
    /// Smertehaandtering ([002 §1.5], [003 ch5 case 1]).
    PainManagement,
    /// Traeningshold for back patients ([002 §1.5]).
    TrainingTeam,
    /// Samtalegruppe for people with stress ([002 §1.5]).
    ConversationGroup,
    /// Brystkraefthold ([002 §1.5]).
    BreastCancerTeam,
    /// GenerelAfklaring ([002 §1.5]).
    GeneralClarification,
    /// Arbejdsproevning ([003 F3 ch3]).
    WorkTrial,
    /// FunktionsAfklaring ([004 §6.1]).
    FunctionClarification,
    /// Coaching ([004 §6.2, §6.3]).
    Coaching,
    /// Sundhedsraadgivning ([004 §6.3]).
    HealthCounselling,
    /// Arbejdsmarkedsvejledning ([004 §6.2]).
    LabourMarketGuidance,
    /// KIA course (\[002\], [003 F4 ch5]).
    Kia,
    /// SYFO, employer-organised (\[002\]).
    Syfo,
}

impl NamedOffer {
    /// Named courses are guidance and upskilling for the offer and refund rules, as `facts`
    /// treats them (INFERRED, see [`OfferType`]); a work trial is a work placement (INFERRED: in
    /// Danish practice it runs as virksomhedspraktik).
    pub fn offer_type(self) -> OfferType {
        match self {
            NamedOffer::WorkTrial => OfferType::WorkPlacement,
            _ => OfferType::GuidanceAndUpskilling,
        }
    }
}

/// Employment-sector activities (jobcentre).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentKind {
    /// Delvis raskmelding: working reduced hours — not an offer, but the activity the rules put
    /// first ([001 I6], [003 P19]).
    PartialReturn,
    /// Virksomhedspraktik.
    WorkPlacement,
    /// Loentilskud.
    WageSubsidy,
    /// Mentor.
    Mentor,
    /// VejledningOgOpkvalificering: a guidance and upskilling course.
    GuidanceAndUpskilling,
    /// OrdinaerUddannelse.
    OrdinaryEducation,
    /// Another active offer named in the seeds.
    Named(NamedOffer),
}

impl EmploymentKind {
    /// The offer class the case rules know (`facts::OfferType`); `None` for partial return,
    /// which is not an active offer.
    pub fn offer_type(self) -> Option<OfferType> {
        match self {
            EmploymentKind::PartialReturn => None,
            EmploymentKind::WorkPlacement => Some(OfferType::WorkPlacement),
            EmploymentKind::WageSubsidy => Some(OfferType::WageSubsidy),
            EmploymentKind::Mentor => Some(OfferType::Mentor),
            EmploymentKind::GuidanceAndUpskilling => Some(OfferType::GuidanceAndUpskilling),
            EmploymentKind::OrdinaryEducation => Some(OfferType::OrdinaryEducation),
            EmploymentKind::Named(n) => Some(n.offer_type()),
        }
    }

    fn label(self) -> &'static str {
        match self {
            EmploymentKind::PartialReturn => "partial return",
            EmploymentKind::WorkPlacement => "work placement",
            EmploymentKind::WageSubsidy => "wage subsidy",
            EmploymentKind::Mentor => "mentor",
            EmploymentKind::GuidanceAndUpskilling | EmploymentKind::Named(_) => "course",
            EmploymentKind::OrdinaryEducation => "education",
        }
    }
}

/// Who organises an employment activity (DOMAIN.md §4.3 TilbudOrganisator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Organiser {
    /// Jobcentre-organised: obligatory once decided; subject to the offer rules.
    Jobcentre,
    /// Another actor on the jobcentre's behalf ([003 P23]): subject to the offer rules.
    OtherActor,
    /// Employer-organised: voluntary, not subject to the offer rules ([002 §1.3]).
    Employer,
}

/// An employment-sector activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmploymentActivity {
    pub kind: EmploymentKind,
    /// Working hours for a partial return, offer hours otherwise (in range 1 min – 48 h).
    pub hours_per_week: WeeklyHours,
    pub organiser: Organiser,
    /// Placed at the person's current workplace (wage-subsidy rule A8).
    pub at_own_workplace: bool,
    /// Documented reason the person manages fewer hours than the minimum ([003 P21], \[000\]).
    /// Case-internal: never shown to the employer.
    pub fewer_hours_reason: Option<String>,
    /// Why combining the offer with a gradual return speeds return ([001 I6]). Case-internal.
    pub combination_reason: Option<String>,
}

impl EmploymentActivity {
    /// A jobcentre-organised activity away from the own workplace, with no reasons recorded.
    pub fn new(kind: EmploymentKind, hours_per_week: WeeklyHours) -> Self {
        Self {
            kind,
            hours_per_week,
            organiser: Organiser::Jobcentre,
            at_own_workplace: false,
            fewer_hours_reason: None,
            combination_reason: None,
        }
    }
}

/// Workplace adaptations ([003 F1 ch3]: the employer adapts tasks and hours).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkplaceKind {
    /// Adjusted tasks (e.g. job functions reviewed with the physiotherapist, Lene).
    AdjustedTasks,
    /// Adjusted working hours (`hours_per_week` required).
    AdjustedHours,
    /// Aids (hjælpemidler, [004 §6.4]).
    Aids,
}

/// A workplace activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkplaceActivity {
    pub kind: WorkplaceKind,
    pub hours_per_week: Option<WeeklyHours>,
    /// Work-facing text — tasks and adaptations only. It is shown to the employer, so it must
    /// carry functional limitations and adaptations, never a diagnosis or treatment (DOMAIN.md
    /// §4.4, [002 §1.3] helbredsoplysningsloven).
    pub description: Option<String>,
}

impl WorkplaceActivity {
    pub fn new(kind: WorkplaceKind) -> Self {
        Self {
            kind,
            hours_per_week: None,
            description: None,
        }
    }
}

/// What an activity is, by sector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Health(HealthKind),
    Employment(EmploymentActivity),
    Workplace(WorkplaceActivity),
}

impl ActivityKind {
    pub fn sector(&self) -> Sector {
        match self {
            ActivityKind::Health(_) => Sector::Health,
            ActivityKind::Employment(_) => Sector::Employment,
            ActivityKind::Workplace(_) => Sector::Workplace,
        }
    }

    /// A short English label for explanations to the caseworker and the plan follow-up person
    /// (never for the employer).
    pub fn label(&self) -> &'static str {
        match self {
            ActivityKind::Health(h) => h.label(),
            ActivityKind::Employment(e) => e.kind.label(),
            ActivityKind::Workplace(w) => match w.kind {
                WorkplaceKind::AdjustedTasks => "adjusted tasks",
                WorkplaceKind::AdjustedHours => "adjusted hours",
                WorkplaceKind::Aids => "aids",
            },
        }
    }
}

/// Where an activity is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityStatus {
    Planned,
    /// A date is booked (e.g. from a waiting list).
    Booked,
    Started,
    Completed,
    Cancelled,
}

/// One activity of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub id: ActivityId,
    pub kind: ActivityKind,
    /// The organisation responsible for carrying it out.
    pub responsible: ExternalReference,
    /// Henvisning / visitationsdato.
    pub referred_on: Option<NaiveDate>,
    pub planned_start: Option<NaiveDate>,
    /// Requires `planned_start`; the planned duration is `planned_end − planned_start`.
    pub planned_end: Option<NaiveDate>,
    /// The date a waiting list gave.
    pub booked_start: Option<NaiveDate>,
    pub actual_start: Option<NaiveDate>,
    pub actual_end: Option<NaiveDate>,
    pub status: ActivityStatus,
    /// Finish-to-start: this activity starts no earlier than each of these ends.
    pub depends_on: Vec<ActivityId>,
}

impl Activity {
    /// A planned activity with no dates yet.
    pub fn new(id: ActivityId, kind: ActivityKind, responsible: ExternalReference) -> Self {
        Self {
            id,
            kind,
            responsible,
            referred_on: None,
            planned_start: None,
            planned_end: None,
            booked_start: None,
            actual_start: None,
            actual_end: None,
            status: ActivityStatus::Planned,
            depends_on: Vec::new(),
        }
    }

    /// Builder: planned start and end.
    pub fn planned(mut self, start: NaiveDate, end: Option<NaiveDate>) -> Self {
        self.planned_start = Some(start);
        self.planned_end = end;
        self
    }

    /// Builder: referral date.
    pub fn referred(mut self, on: NaiveDate) -> Self {
        self.referred_on = Some(on);
        self
    }

    /// Builder: a booked date (status becomes booked).
    pub fn booked(mut self, on: NaiveDate) -> Self {
        self.booked_start = Some(on);
        self.status = ActivityStatus::Booked;
        self
    }

    /// Builder: finish-to-start dependencies.
    pub fn after(mut self, deps: impl IntoIterator<Item = ActivityId>) -> Self {
        self.depends_on.extend(deps);
        self
    }

    pub fn sector(&self) -> Sector {
        self.kind.sector()
    }

    pub fn is_cancelled(&self) -> bool {
        self.status == ActivityStatus::Cancelled
    }

    /// Started (or completed): an actual start is a fact.
    pub fn is_started(&self) -> bool {
        matches!(
            self.status,
            ActivityStatus::Started | ActivityStatus::Completed
        )
    }

    pub fn is_completed(&self) -> bool {
        self.status == ActivityStatus::Completed
    }

    pub fn employment(&self) -> Option<&EmploymentActivity> {
        match &self.kind {
            ActivityKind::Employment(e) => Some(e),
            _ => None,
        }
    }

    pub fn is_partial_return(&self) -> bool {
        self.employment()
            .is_some_and(|e| e.kind == EmploymentKind::PartialReturn)
    }

    /// Planned duration in days: `planned_end − planned_start`, 0 without both (a one-day event
    /// such as a consultation).
    pub fn planned_duration_days(&self) -> i64 {
        match (self.planned_start, self.planned_end) {
            (Some(s), Some(e)) => days_between(s, e).max(0),
            _ => 0,
        }
    }

    /// The date the waiting time is measured from: the planned start, else the referral date.
    pub fn wait_reference(&self) -> Option<NaiveDate> {
        self.planned_start.or(self.referred_on)
    }

    /// The start as drawn in the plan, before any waiting list or reality: planned start, else
    /// referral date, else booked start, else actual start.
    pub fn baseline_start(&self) -> Option<NaiveDate> {
        self.wait_reference()
            .or(self.booked_start)
            .or(self.actual_start)
    }

    /// Waiting time in days (DOMAIN.md §9.1 item 7): booked start minus planned start, or minus
    /// the referral date when there is no planned start. Never negative: a booking earlier than
    /// planned waits 0 days (it may still pull the projection earlier, see [`project`]).
    /// `None` without a booking or without a date to measure from.
    pub fn waiting_days(&self) -> Option<i64> {
        let booked = self.booked_start?;
        let from = self.wait_reference()?;
        Some(days_between(from, booked).max(0))
    }
}

/// The shared case plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub case: CaseId,
    pub kind: PlanKind,
    pub stage: PlanStage,
    /// The jobcentre that owns the plan and keeps the legal responsibility ([003 P23]).
    pub owner: ExternalReference,
    pub roles: Roles,
    /// Everyone who contributed to writing the plan (AARHUS: citizen, physiotherapist and
    /// caseworker, [004 §6.4]), first contribution first.
    pub contributors: Vec<Party>,
    pub goals: Vec<Goal>,
    pub activities: Vec<Activity>,
    /// Bumped by every change (optimistic concurrency, AIP-154); the first version is 1.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finalised_at: Option<DateTime<Utc>>,
}

impl Plan {
    pub fn activity(&self, id: &ActivityId) -> Option<&Activity> {
        self.activities.iter().find(|a| &a.id == id)
    }

    pub fn activity_index(&self, id: &ActivityId) -> Option<usize> {
        self.activities.iter().position(|a| &a.id == id)
    }

    pub fn goal(&self, id: &GoalId) -> Option<&Goal> {
        self.goals.iter().find(|g| &g.id == id)
    }

    /// The goal of full return, if the plan has one.
    pub fn full_return_goal(&self) -> Option<&Goal> {
        self.goals.iter().find(|g| g.kind == GoalKind::FullReturn)
    }

    /// `"<version>"`, as `Case::etag`.
    pub fn etag(&self) -> String {
        etag_of(self.version)
    }

    /// Whether a caller's etag names this version (the store enforces the comparison
    /// atomically; this is the arithmetic).
    pub fn matches_etag(&self, etag: &str) -> bool {
        parse_etag(etag) == Some(self.version)
    }

    /// The version the next change record must carry.
    pub fn next_version(&self) -> i64 {
        self.version.saturating_add(1)
    }

    /// Whether parties in each of these capacities contributed.
    pub fn jointly_written_by(&self, capacities: &[Capacity]) -> bool {
        capacities
            .iter()
            .all(|c| self.contributors.iter().any(|p| p.capacity == *c))
    }

    /// KIA division of labour (\[002\]): both roles held, by different people.
    pub fn kia_division_of_labour(&self) -> bool {
        match (&self.roles.plan_follow_up, &self.roles.workplace_contact) {
            (Some(f), Some(w)) => !f.same_person(w),
            _ => false,
        }
    }
}

/// The etag of a version: `"<version>"`, quotes included (AIP-154).
pub fn etag_of(version: i64) -> String {
    format!("\"{version}\"")
}

/// The version an etag names; accepts it with or without quotes and a weak `W/` prefix.
pub fn parse_etag(etag: &str) -> Option<i64> {
    let e = etag.trim();
    let e = e.strip_prefix("W/").unwrap_or(e);
    let e = e
        .strip_prefix('"')
        .and_then(|e| e.strip_suffix('"'))
        .unwrap_or(e);
    e.parse().ok().filter(|v| *v >= 1)
}

/// `to − from` in whole days.
pub(crate) fn days_between(from: NaiveDate, to: NaiveDate) -> i64 {
    to.signed_duration_since(from).num_days()
}

pub(crate) fn plus_days(date: NaiveDate, days: i64) -> NaiveDate {
    add_days(date, days)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(n: i64) -> NaiveDate {
        plus_days(NaiveDate::from_ymd_opt(2011, 3, 1).unwrap(), n)
    }

    fn act() -> Activity {
        Activity::new(
            ActivityId::parse("specialist").unwrap(),
            ActivityKind::Health(HealthKind::Specialist),
            ExternalReference::parse("region-syd").unwrap(),
        )
    }

    #[test]
    fn ids_are_opaque_tokens_never_cpr_numbers() {
        assert!(ActivityId::parse("partial-return_1.a").is_ok());
        assert!(ActivityId::parse("").is_err());
        assert!(ActivityId::parse("has space").is_err());
        assert!(ActivityId::parse(&"x".repeat(65)).is_err());
        assert!(ActivityId::parse("0101701234").is_err());
        assert!(ActivityId::try_from("0101701234".to_owned()).is_err());
        assert_eq!(String::from(ActivityId::parse("a").unwrap()), "a");
    }

    #[test]
    fn waiting_is_booked_minus_planned_or_referral_never_negative() {
        let a = act().referred(d(0)).planned(d(10), None).booked(d(31));
        assert_eq!(a.waiting_days(), Some(21));
        let mut b = act().referred(d(0)).booked(d(31));
        assert_eq!(b.waiting_days(), Some(31), "from referral without a plan");
        b.planned_start = Some(d(40));
        assert_eq!(b.waiting_days(), Some(0), "earlier booking waits 0 days");
        assert_eq!(act().planned(d(1), None).waiting_days(), None);
        assert_eq!(act().booked(d(1)).waiting_days(), None);
    }

    #[test]
    fn hospital_choice_excludes_gp_ordered_diagnostics() {
        assert!(HealthKind::HospitalTreatment.hospital_choice_applies());
        assert!(HealthKind::Surgery.hospital_choice_applies());
        assert!(
            HealthKind::DiagnosticTest {
                ordered_by_gp: false
            }
            .hospital_choice_applies()
        );
        assert!(
            !HealthKind::DiagnosticTest {
                ordered_by_gp: true
            }
            .hospital_choice_applies()
        );
        assert!(!HealthKind::Specialist.hospital_choice_applies());
    }

    #[test]
    fn etags_round_trip() {
        assert_eq!(etag_of(7), "\"7\"");
        assert_eq!(parse_etag("\"7\""), Some(7));
        assert_eq!(parse_etag("W/\"7\""), Some(7));
        assert_eq!(parse_etag("7"), Some(7));
        assert_eq!(parse_etag("\"0\""), None);
        assert_eq!(parse_etag("x"), None);
    }

    #[test]
    fn offer_types_map_where_one_exists() {
        assert_eq!(EmploymentKind::PartialReturn.offer_type(), None);
        assert_eq!(
            EmploymentKind::Named(NamedOffer::LiftingTechnique).offer_type(),
            Some(OfferType::GuidanceAndUpskilling)
        );
        assert_eq!(
            EmploymentKind::WageSubsidy.offer_type(),
            Some(OfferType::WageSubsidy)
        );
    }
}
