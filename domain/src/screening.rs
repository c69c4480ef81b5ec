//! Interdisciplinary screening and the holistic (360-degree) assessment (DOMAIN.md §1.2, §7).
//!
//! Two working modes are found in the seeds:
//!
//! * **Standing screening group** (screeningsgruppe, Aabenraa): two jobcentre caseworkers and a
//!   doctor and a physiotherapist from the provider screen **every** new sickness-benefit case
//!   early and interdisciplinarily ([004 §6.1], 004_29a2444e953dfa53.txt). [`screening_queue`]
//!   lists the unscreened new cases by their D55 deadline and counts them
//!   (`unscreened_new_cases`, alert AL-22).
//! * **Team assessment in one session** (KIA, Vejle County 2003–2006): the person talks in turn
//!   with a doctor, a chiropractor, a physiotherapist and a psychologist "within two hours"
//!   (T-24, [003 ch5 case 1], 003_532c043554107ee2.txt; team composition [003 F4 ch5]).
//!   [`session_check`] reports the session's span against a configurable limit (default 2 h).
//!
//! A [`Screening`] collects one [`Assessment`] per discipline (ICF-coded findings, personal
//! factors as free text, the discipline's work-capacity statement, barriers, recommended
//! actions, the domains covered, optionally the health condition) and is concluded only when
//! the group's required disciplines have assessed and all four domains — physical,
//! psychological, social, employment — are covered (INFERRED completeness rule, DOMAIN.md §7.3,
//! from [004 §6.1] "physical, psychological and social function clarification" plus the
//! employment focus of [004 §5]). The [`Conclusion`] carries the recommended category, an
//! optional exemption recommendation, proposed plan activities and an [`IcfProfile`] with the
//! change since the previous concluded screening of the case.
//!
//! [`assessment_deadline`] is rule T-21 (Quick Care recommendation 1: a 360-degree assessment
//! within 8 weeks, [004 §5], 004_29a2444e953dfa53.txt): due D55, alert AL-07 when overdue.
//!
//! [`employer_view`] is the only projection meant for the employer: work-relevant functional
//! limitations in plain language (from `d` codes only), work adaptations and expected timing —
//! never a `b`/`s` code, a diagnosis, the health condition or personal factors. The employer may
//! obtain only what is essential for the employee's ability to do the particular job, even with
//! the employee's consent ([002 §1.3], 002_59c7ae5e83dc120d.txt; [003 ch3],
//! 003_532c043554107ee2.txt; DOMAIN.md §4.4). The view holds no free text at all, so nothing
//! typed into a note can reach it.

use crate::case::CaseId;
use crate::error::Invalid;
use crate::facts::{Category, ExemptionGround, OfferType, WeeklyHours};
use crate::icf::{Component, IcfCode, IcfError, IcfItem, Level, Qualifiers};
use crate::timeline::Status;
use crate::weeks::{end_of_sick_week, sick_day_of};
use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// Longest accepted free text (characters).
pub const MAX_TEXT: usize = 4000;
/// Longest accepted short text: names, references, ICD codes (characters).
pub const MAX_SHORT_TEXT: usize = 200;
/// Most entries in one list (findings, barriers, actions, plan activities, members).
pub const MAX_ITEMS: usize = 200;
/// KIA: the whole interdisciplinary examination within two hours (T-24).
pub const DEFAULT_SESSION_LIMIT_MINUTES: u32 = 120;

/// Rule id of the 360-degree deadline (DOMAIN.md §2.5).
pub const RULE_T21: &str = "T-21";
/// Alert raised when the 360-degree assessment is not complete by D55 (DOMAIN.md §2.6).
pub const ALERT_AL07: &str = "AL-07";
/// Rule id of the KIA two-hour session (DOMAIN.md §2.5).
pub const RULE_T24: &str = "T-24";
/// Alert for a new case not screened by the screening group (DOMAIN.md §2.6).
pub const ALERT_AL22: &str = "AL-22";

// ---------------------------------------------------------------------------------------------
// Groups

/// A screening member's profession (fag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Discipline {
    /// Sagsbehandler — jobcentre caseworker (Aabenraa: two sit in the screening group).
    Caseworker,
    /// Læge — doctor (the provider's doctor in Aabenraa; "a doctor" in Lene's KIA team).
    Doctor,
    /// Arbejdsmediciner — occupational physician (KIA team, [003 F4 ch5]).
    OccupationalPhysician,
    /// Fysioterapeut — physiotherapist.
    Physiotherapist,
    /// Psykolog — psychologist.
    Psychologist,
    /// Kiropraktor — chiropractor.
    Chiropractor,
    /// Socialrådgiver som forløbskoordinator — social worker as course coordinator (KIA).
    SocialWorkerCoordinator,
    /// Ergoterapeut — occupational therapist ([003 P28]).
    OccupationalTherapist,
    /// Jobkonsulent — job consultant ([003 P28]).
    JobConsultant,
}

impl Discipline {
    pub const ALL: [Discipline; 9] = [
        Discipline::Caseworker,
        Discipline::Doctor,
        Discipline::OccupationalPhysician,
        Discipline::Physiotherapist,
        Discipline::Psychologist,
        Discipline::Chiropractor,
        Discipline::SocialWorkerCoordinator,
        Discipline::OccupationalTherapist,
        Discipline::JobConsultant,
    ];

    /// Stable identifier, as serialized (`social_worker_coordinator`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Discipline::Caseworker => "caseworker",
            Discipline::Doctor => "doctor",
            Discipline::OccupationalPhysician => "occupational_physician",
            Discipline::Physiotherapist => "physiotherapist",
            Discipline::Psychologist => "psychologist",
            Discipline::Chiropractor => "chiropractor",
            Discipline::SocialWorkerCoordinator => "social_worker_coordinator",
            Discipline::OccupationalTherapist => "occupational_therapist",
            Discipline::JobConsultant => "job_consultant",
        }
    }

    /// English name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Discipline::Caseworker => "caseworker",
            Discipline::Doctor => "doctor",
            Discipline::OccupationalPhysician => "occupational physician",
            Discipline::Physiotherapist => "physiotherapist",
            Discipline::Psychologist => "psychologist",
            Discipline::Chiropractor => "chiropractor",
            Discipline::SocialWorkerCoordinator => "social worker (course coordinator)",
            Discipline::OccupationalTherapist => "occupational therapist",
            Discipline::JobConsultant => "job consultant",
        }
    }

    /// The Danish term (ASCII transliteration, DOMAIN.md §0.5).
    pub const fn danish(self) -> &'static str {
        match self {
            Discipline::Caseworker => "sagsbehandler",
            Discipline::Doctor => "laege",
            Discipline::OccupationalPhysician => "arbejdsmediciner",
            Discipline::Physiotherapist => "fysioterapeut",
            Discipline::Psychologist => "psykolog",
            Discipline::Chiropractor => "kiropraktor",
            Discipline::SocialWorkerCoordinator => "socialraadgiver som forloebskoordinator",
            Discipline::OccupationalTherapist => "ergoterapeut",
            Discipline::JobConsultant => "jobkonsulent",
        }
    }
}

impl fmt::Display for Discipline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a member works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    /// Jobcenter — the municipality's jobcentre.
    Jobcentre,
    /// Anden aktør / leverandør — a contracted provider (e.g. Quick Care in Aabenraa) or a
    /// hospital department (KIA ran with Vejle Hospital's occupational medicine department).
    Provider,
}

/// One member of a screening group. `reference` is the staff member's opaque reference in the
/// caller's system (not a name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub reference: String,
    pub discipline: Discipline,
    pub organisation: OrganisationKind,
}

/// How a group works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum WorkingMode {
    /// Aabenraa: a standing group screens every new case ([004 §6.1]).
    StandingGroup,
    /// KIA: all disciplines assess in one session within `limit_minutes` (T-24, default 120).
    TeamSession { limit_minutes: u32 },
}

impl WorkingMode {
    /// A KIA session with the default two-hour limit.
    pub const fn kia() -> Self {
        WorkingMode::TeamSession {
            limit_minutes: DEFAULT_SESSION_LIMIT_MINUTES,
        }
    }
}

/// A screening group or interdisciplinary team with the disciplines it requires before a
/// screening may be concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreeningGroup {
    name: String,
    members: Vec<Member>,
    mode: WorkingMode,
    required: Vec<Discipline>,
}

impl ScreeningGroup {
    /// Required disciplines unless configured: caseworker, doctor, physiotherapist,
    /// psychologist (the generic rapid team of [003 ch5] with the jobcentre's caseworker).
    pub const DEFAULT_REQUIRED: [Discipline; 4] = [
        Discipline::Caseworker,
        Discipline::Doctor,
        Discipline::Physiotherapist,
        Discipline::Psychologist,
    ];

    /// A validated group. `required` defaults to [`Self::DEFAULT_REQUIRED`]; every required
    /// discipline must have a member, otherwise no screening of the group could ever conclude
    /// (Aabenraa's group has no psychologist, Lene's team no caseworker — configure them).
    pub fn new(
        name: &str,
        members: Vec<Member>,
        mode: WorkingMode,
        required: Option<Vec<Discipline>>,
    ) -> Result<Self, Invalid> {
        let mut inv = Invalid::default();
        let name = name.trim();
        if name.is_empty() {
            inv.push("name", "must not be empty");
        } else if name.chars().count() > MAX_SHORT_TEXT {
            inv.push(
                "name",
                format!("must be at most {MAX_SHORT_TEXT} characters"),
            );
        }
        if members.is_empty() {
            inv.push("members", "a group needs at least one member");
        } else if members.len() > MAX_ITEMS {
            inv.push("members", format!("at most {MAX_ITEMS} members"));
        }
        let mut seen = BTreeSet::new();
        for (i, m) in members.iter().enumerate() {
            let r = m.reference.trim();
            if r.is_empty() {
                inv.push(format!("members[{i}].reference"), "must not be empty");
            } else if r.chars().count() > MAX_SHORT_TEXT {
                inv.push(
                    format!("members[{i}].reference"),
                    format!("must be at most {MAX_SHORT_TEXT} characters"),
                );
            } else if !seen.insert(r) {
                inv.push(
                    format!("members[{i}].reference"),
                    "the same member is listed twice",
                );
            }
        }
        if let WorkingMode::TeamSession { limit_minutes } = mode
            && !(1..=24 * 60).contains(&limit_minutes)
        {
            inv.push(
                "mode.limit_minutes",
                "a session limit must be between 1 and 1440 minutes",
            );
        }
        let required = required.unwrap_or_else(|| Self::DEFAULT_REQUIRED.to_vec());
        if required.is_empty() {
            inv.push(
                "required_disciplines",
                "at least one discipline must be required",
            );
        }
        let mut req_seen = BTreeSet::new();
        for (i, d) in required.iter().enumerate() {
            if !req_seen.insert(*d) {
                inv.push(
                    format!("required_disciplines[{i}]"),
                    format!("{d} is listed twice"),
                );
            } else if !members.iter().any(|m| m.discipline == *d) {
                inv.push(
                    format!("required_disciplines[{i}]"),
                    format!("no member of the group is a {d}, so it could never assess"),
                );
            }
        }
        let members = members
            .into_iter()
            .map(|m| Member {
                reference: m.reference.trim().to_owned(),
                ..m
            })
            .collect();
        inv.into_result(Self {
            name: name.to_owned(),
            members,
            mode,
            required,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }

    pub fn mode(&self) -> WorkingMode {
        self.mode
    }

    pub fn required_disciplines(&self) -> &[Discipline] {
        &self.required
    }

    /// Members of one discipline.
    pub fn members_of(&self, discipline: Discipline) -> impl Iterator<Item = &Member> {
        self.members
            .iter()
            .filter(move |m| m.discipline == discipline)
    }
}

// ---------------------------------------------------------------------------------------------
// Assessments

/// The four domains a 360-degree assessment must cover (DOMAIN.md §7.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    Physical,
    Psychological,
    Social,
    Employment,
}

impl Domain {
    pub const ALL: [Domain; 4] = [
        Domain::Physical,
        Domain::Psychological,
        Domain::Social,
        Domain::Employment,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Domain::Physical => "physical",
            Domain::Psychological => "psychological",
            Domain::Social => "social",
            Domain::Employment => "employment",
        }
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The health condition as the assessing discipline records it (coded with ICD, not ICF).
/// Health data: it never leaves the case record towards the employer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthCondition {
    /// ICD code as text, e.g. `M54.5` (ICD-10) or `DM545` (Danish SKS form).
    pub icd_code: Option<String>,
    pub description: Option<String>,
    /// Klar diagnose — needed by the least-sick rule ([001 I2], 001_fb3c8f7d7777c6f3.txt).
    pub diagnosis_clear: bool,
    /// The diagnosis is on the standby list ([001 I3], 001_fb3c8f7d7777c6f3.txt; AL-16).
    pub on_standby_list: bool,
}

/// An ICF code and qualifiers as a caller sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IcfInput {
    /// The written form: `b28013.2`, `s12000.273`, `d430.23`, `e310+2`.
    Written(String),
    /// Component, code and qualifiers in order; `facilitator` for `+` environmental factors.
    Structured {
        component: Component,
        code: String,
        qualifiers: Vec<u32>,
        facilitator: bool,
    },
}

impl IcfInput {
    fn parse(&self, field: &str) -> Result<IcfItem, crate::error::FieldViolation> {
        match self {
            IcfInput::Written(s) => IcfItem::parse(s).map_err(|e: IcfError| e.at(field)),
            IcfInput::Structured {
                component,
                code,
                qualifiers,
                facilitator,
            } => IcfItem::from_structured(*component, code, qualifiers, *facilitator)
                .map_err(|e| e.at_part(field)),
        }
    }
}

/// One ICF-coded finding of an assessment as sent by a caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingInput {
    pub icf: IcfInput,
    /// Free text; stays in the case record.
    pub note: String,
}

/// One ICF-coded finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub item: IcfItem,
    pub note: String,
}

/// One discipline's assessment as sent by a caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentInput {
    pub discipline: Discipline,
    /// The assessing member's reference; when given it must be a group member of that
    /// discipline.
    pub assessor: Option<String>,
    pub started_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub findings: Vec<FindingInput>,
    /// Personal factors (age, coping, motivation, …): free text, ICF has no codes for them.
    pub personal_factors: String,
    /// The discipline's statement on work capacity (arbejdsevne).
    pub work_capacity: String,
    /// Barriers to return to work.
    pub barriers: Vec<String>,
    pub recommended_actions: Vec<String>,
    pub domains: Vec<Domain>,
    pub health_condition: Option<HealthCondition>,
}

/// One discipline's validated assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub discipline: Discipline,
    pub assessor: Option<String>,
    pub started_at: NaiveDateTime,
    pub ended_at: Option<NaiveDateTime>,
    pub findings: Vec<Finding>,
    pub personal_factors: String,
    pub work_capacity: String,
    pub barriers: Vec<String>,
    pub recommended_actions: Vec<String>,
    pub domains: BTreeSet<Domain>,
    pub health_condition: Option<HealthCondition>,
}

impl Assessment {
    /// Validates an input. Field paths are relative to the assessment: a written ICF item is
    /// `findings[i].icf`, a structured one `findings[i].component|code|qualifiers`; then
    /// `work_capacity`, `barriers[i]`, `health_condition.icd_code`, … Descriptions name the ICF
    /// code and what is wrong but never repeat free text.
    pub fn parse(input: AssessmentInput) -> Result<Assessment, Invalid> {
        let mut inv = Invalid::default();
        if let Some(end) = input.ended_at
            && end < input.started_at
        {
            inv.push("ended_at", "must not be before started_at");
        }
        if let Some(a) = &input.assessor {
            short_text(&mut inv, "assessor", a, true);
        }
        if input.findings.len() > MAX_ITEMS {
            inv.push("findings", format!("at most {MAX_ITEMS} findings"));
        }
        let mut findings = Vec::with_capacity(input.findings.len());
        let mut codes = BTreeSet::new();
        for (i, f) in input.findings.iter().enumerate() {
            let field = format!("findings[{i}]");
            let field_icf = match &f.icf {
                IcfInput::Written(_) => format!("{field}.icf"),
                IcfInput::Structured { .. } => field.clone(),
            };
            match f.icf.parse(&field_icf) {
                Err(v) => inv.0.push(v),
                Ok(item) if !codes.insert(item.code) => inv.push(
                    field_icf,
                    format!("ICF code {} is coded twice in this assessment", item.code),
                ),
                Ok(item) => findings.push(Finding {
                    item,
                    note: f.note.trim().to_owned(),
                }),
            }
            long_text(&mut inv, &format!("{field}.note"), &f.note, false);
        }
        long_text(&mut inv, "personal_factors", &input.personal_factors, false);
        long_text(&mut inv, "work_capacity", &input.work_capacity, true);
        let barriers = text_list(&mut inv, "barriers", &input.barriers);
        let actions = text_list(&mut inv, "recommended_actions", &input.recommended_actions);
        let domains: BTreeSet<Domain> = input.domains.iter().copied().collect();
        if domains.is_empty() {
            inv.push(
                "domains",
                "name at least one domain the assessment covers (physical, psychological, \
                 social, employment)",
            );
        }
        if let Some(h) = &input.health_condition {
            if let Some(code) = &h.icd_code
                && !looks_like_icd(code)
            {
                inv.push(
                    "health_condition.icd_code",
                    "is not an ICD code (a letter followed by digits, e.g. M54.5 or DM545)",
                );
            }
            if let Some(d) = &h.description {
                long_text(&mut inv, "health_condition.description", d, false);
            }
        }
        inv.into_result(())?;
        Ok(Assessment {
            discipline: input.discipline,
            assessor: input.assessor.map(|a| a.trim().to_owned()),
            started_at: input.started_at,
            ended_at: input.ended_at,
            findings,
            personal_factors: input.personal_factors.trim().to_owned(),
            work_capacity: input.work_capacity.trim().to_owned(),
            barriers,
            recommended_actions: actions,
            domains,
            health_condition: input.health_condition.map(|h| HealthCondition {
                icd_code: h.icd_code.map(|c| c.trim().to_owned()),
                description: h.description.map(|d| d.trim().to_owned()),
                ..h
            }),
        })
    }

    /// When the assessment ended (its start when no end was recorded).
    pub fn end(&self) -> NaiveDateTime {
        self.ended_at.unwrap_or(self.started_at)
    }
}

fn short_text(inv: &mut Invalid, field: &str, s: &str, required: bool) {
    let n = s.trim().chars().count();
    if required && n == 0 {
        inv.push(field, "must not be empty");
    } else if n > MAX_SHORT_TEXT {
        inv.push(
            field,
            format!("must be at most {MAX_SHORT_TEXT} characters"),
        );
    }
}

fn long_text(inv: &mut Invalid, field: &str, s: &str, required: bool) {
    let n = s.trim().chars().count();
    if required && n == 0 {
        inv.push(field, "must not be empty");
    } else if n > MAX_TEXT {
        inv.push(field, format!("must be at most {MAX_TEXT} characters"));
    }
}

fn text_list(inv: &mut Invalid, field: &str, items: &[String]) -> Vec<String> {
    if items.len() > MAX_ITEMS {
        inv.push(field, format!("at most {MAX_ITEMS} entries"));
    }
    for (i, s) in items.iter().enumerate() {
        long_text(inv, &format!("{field}[{i}]"), s, true);
    }
    items.iter().map(|s| s.trim().to_owned()).collect()
}

/// ICD-10 (`M54.5`) or Danish SKS (`DM545`) shape: a letter, then letters/digits/one point,
/// with at least two digits; 3–10 characters.
fn looks_like_icd(raw: &str) -> bool {
    let s = raw.trim();
    let mut chars = s.chars();
    (3..=10).contains(&s.len())
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '.')
        && s.chars().filter(char::is_ascii_digit).count() >= 2
        && s.matches('.').count() <= 1
}

// ---------------------------------------------------------------------------------------------
// Session (KIA)

/// How long a team session took against its limit (T-24: KIA, all disciplines within about
/// two hours, [003 ch5 case 1], 003_532c043554107ee2.txt).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionCheck {
    pub rule_id: &'static str,
    /// Start of the first assessment.
    pub first_start: NaiveDateTime,
    /// End of the last assessment (its start when no end was recorded).
    pub last_end: NaiveDateTime,
    pub span_minutes: i64,
    pub limit_minutes: u32,
    /// `span_minutes <= limit_minutes`.
    pub within_limit: bool,
    /// Disciplines seen in the session, in order of appearance.
    pub disciplines: Vec<Discipline>,
}

/// The span of a set of assessments from the first start to the last end; `None` without
/// assessments.
pub fn session_check(assessments: &[Assessment], limit_minutes: u32) -> Option<SessionCheck> {
    let first_start = assessments.iter().map(|a| a.started_at).min()?;
    let last_end = assessments.iter().map(Assessment::end).max()?;
    let span_minutes = last_end.signed_duration_since(first_start).num_minutes();
    let mut ordered: Vec<&Assessment> = assessments.iter().collect();
    ordered.sort_by_key(|a| a.started_at);
    let mut disciplines = Vec::new();
    for a in ordered {
        if !disciplines.contains(&a.discipline) {
            disciplines.push(a.discipline);
        }
    }
    Some(SessionCheck {
        rule_id: RULE_T24,
        first_start,
        last_end,
        span_minutes,
        limit_minutes,
        within_limit: span_minutes <= i64::from(limit_minutes),
        disciplines,
    })
}

// ---------------------------------------------------------------------------------------------
// Conclusion

/// What is still missing before a screening may be concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Readiness {
    pub missing_disciplines: Vec<Discipline>,
    pub missing_domains: Vec<Domain>,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.missing_disciplines.is_empty() && self.missing_domains.is_empty()
    }

    /// The refusal in words, for FAILED_PRECONDITION.
    pub fn reason(&self) -> String {
        let mut parts = Vec::new();
        if !self.missing_disciplines.is_empty() {
            let names: Vec<&str> = self.missing_disciplines.iter().map(|d| d.name()).collect();
            parts.push(format!(
                "required disciplines have not assessed: {}",
                names.join(", ")
            ));
        }
        if !self.missing_domains.is_empty() {
            let names: Vec<&str> = self.missing_domains.iter().map(|d| d.as_str()).collect();
            parts.push(format!("domains not covered: {}", names.join(", ")));
        }
        if parts.is_empty() {
            return "ready to conclude".to_owned();
        }
        format!(
            "{} (a 360-degree assessment covers the physical, psychological, social and \
             employment domains, DOMAIN.md §7.3; T-21 [004 §5] 004_29a2444e953dfa53.txt)",
            parts.join("; ")
        )
    }
}

/// A recommended exemption (fritagelse / friholdelse), with or without a named ground.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExemptionRecommendation {
    pub ground: Option<ExemptionGround>,
    pub reason: String,
}

/// What kind of plan activity is proposed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanActivityKind {
    /// Delvis raskmelding — gradual / partial return to work.
    PartialReturn,
    /// An active offer (aktivt tilbud); a short course in lifting technique or pain management
    /// is guidance and upskilling (see `facts::OfferType`).
    ActiveOffer { offer_type: OfferType },
    /// Treatment in the ordinary health system (outside the team, [002 KIA box]).
    Treatment,
    /// Contact with the workplace: review of job functions, retention plan.
    WorkplaceContact,
    /// Rundbordssamtale — round-table meeting.
    RoundTable,
}

/// One proposed activity of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanActivity {
    pub description: String,
    pub kind: Option<PlanActivityKind>,
}

/// Work adaptations for the employer view (DOMAIN.md §7.3). Deliberately a closed list: the
/// employer view must not carry free text that could hold a diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "adaptation", rename_all = "snake_case")]
pub enum WorkAdaptation {
    /// Omplacering.
    Redeployment,
    /// Changed tasks (ændrede arbejdsopgaver).
    ChangedTasks,
    /// Hjemmearbejde.
    HomeWork,
    /// Help from colleagues.
    ColleagueHelp,
    /// Support from management.
    ManagementSupport,
    /// Physical training.
    PhysicalTraining,
    /// Reduced hours (nedsat tid / delvis raskmelding).
    ReducedHours { hours_per_week: WeeklyHours },
}

impl WorkAdaptation {
    /// Plain-language statement for the employer.
    pub fn statement(&self) -> String {
        match self {
            WorkAdaptation::Redeployment => "redeployment to other work".to_owned(),
            WorkAdaptation::ChangedTasks => "changed tasks".to_owned(),
            WorkAdaptation::HomeWork => "work from home".to_owned(),
            WorkAdaptation::ColleagueHelp => "help from colleagues".to_owned(),
            WorkAdaptation::ManagementSupport => "support from the manager".to_owned(),
            WorkAdaptation::PhysicalTraining => "physical training".to_owned(),
            WorkAdaptation::ReducedHours { hours_per_week } => {
                format!("reduced hours: {hours_per_week}")
            }
        }
    }
}

/// Expected timing of the return to work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectedReturn {
    pub partial_from: Option<NaiveDate>,
    pub full_by: Option<NaiveDate>,
}

/// The conclusion as sent by a caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConclusionInput {
    pub concluded_on: NaiveDate,
    pub recommended_category: Category,
    pub exemption: Option<ExemptionRecommendation>,
    pub plan_activities: Vec<PlanActivity>,
    pub work_adaptations: Vec<WorkAdaptation>,
    pub expected_return: Option<ExpectedReturn>,
}

/// How a code's first qualifier moved since the previous concluded screening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Not coded in the previous conclusion (or there is none).
    New,
    Unchanged,
    /// Less impairment / difficulty / barrier, or more facilitation.
    Improved,
    Worsened,
    /// One side is 8 (not specified) or 9 (not applicable).
    NotComparable,
}

/// The latest qualifiers of one code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileEntry {
    pub code: IcfCode,
    pub qualifiers: Qualifiers,
    /// Who coded the latest qualifiers, and when.
    pub assessed_by: Discipline,
    pub assessed_at: NaiveDateTime,
    /// The qualifiers in the previous concluded screening of the case.
    pub previous: Option<Qualifiers>,
    pub change: Change,
}

impl ProfileEntry {
    /// E.g. `b28013: 3 → 2 (improved)`, `d430: new (2)`.
    pub fn describe(&self) -> String {
        let now = self.qualifiers.written();
        match (&self.previous, self.change) {
            (Some(p), change) => {
                let word = match change {
                    Change::Improved => "improved",
                    Change::Worsened => "worsened",
                    Change::Unchanged => "unchanged",
                    Change::NotComparable | Change::New => "not comparable",
                };
                format!(
                    "{}: {} → {} ({word})",
                    self.code,
                    &p.written()[1..],
                    &now[1..]
                )
            }
            (None, _) => format!("{}: new ({})", self.code, &now[1..]),
        }
    }
}

/// Per code the latest qualifiers of a screening, with the change since the previous one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IcfProfile {
    /// In code order.
    pub entries: Vec<ProfileEntry>,
    /// Codes of the previous conclusion that nobody coded this time (not carried forward).
    pub not_reassessed: Vec<IcfCode>,
    pub previous_concluded_on: Option<NaiveDate>,
}

impl IcfProfile {
    pub fn get(&self, code: IcfCode) -> Option<&ProfileEntry> {
        self.entries.iter().find(|e| e.code == code)
    }
}

/// Builds the profile: for each code the qualifiers of the latest assessment that coded it
/// (by `started_at`; on a tie the later-recorded one), compared with `previous`.
pub fn icf_profile(assessments: &[Assessment], previous: Option<&Conclusion>) -> IcfProfile {
    let mut latest: BTreeMap<IcfCode, (&Assessment, &Finding)> = BTreeMap::new();
    for a in assessments {
        for f in &a.findings {
            let newer = latest
                .get(&f.item.code)
                .is_none_or(|(prev, _)| a.started_at >= prev.started_at);
            if newer {
                latest.insert(f.item.code, (a, f));
            }
        }
    }
    let before: BTreeMap<IcfCode, Qualifiers> = previous
        .map(|c| {
            c.profile
                .entries
                .iter()
                .map(|e| (e.code, e.qualifiers))
                .collect()
        })
        .unwrap_or_default();
    let entries = latest
        .iter()
        .map(|(code, (a, f))| {
            let previous = before.get(code).copied();
            ProfileEntry {
                code: *code,
                qualifiers: f.item.qualifiers,
                assessed_by: a.discipline,
                assessed_at: a.started_at,
                previous,
                change: change(previous.as_ref(), &f.item.qualifiers),
            }
        })
        .collect();
    IcfProfile {
        entries,
        not_reassessed: before
            .keys()
            .filter(|c| !latest.contains_key(c))
            .copied()
            .collect(),
        previous_concluded_on: previous.map(|c| c.concluded_on),
    }
}

fn change(previous: Option<&Qualifiers>, now: &Qualifiers) -> Change {
    let Some(previous) = previous else {
        return Change::New;
    };
    match (previous.burden(), now.burden()) {
        (Some(p), Some(n)) if n < p => Change::Improved,
        (Some(p), Some(n)) if n > p => Change::Worsened,
        (Some(_), Some(_)) => Change::Unchanged,
        _ if previous.primary() == now.primary() => Change::Unchanged,
        _ => Change::NotComparable,
    }
}

/// A concluded screening.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conclusion {
    pub concluded_on: NaiveDate,
    pub recommended_category: Category,
    pub exemption: Option<ExemptionRecommendation>,
    pub plan_activities: Vec<PlanActivity>,
    pub work_adaptations: Vec<WorkAdaptation>,
    pub expected_return: Option<ExpectedReturn>,
    pub profile: IcfProfile,
}

// ---------------------------------------------------------------------------------------------
// Screening

/// Why a screening operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreeningError {
    /// INVALID_ARGUMENT: field violations.
    #[error("{0}")]
    Invalid(Invalid),
    /// FAILED_PRECONDITION (or ALREADY_EXISTS): one assessment per discipline per screening.
    #[error(
        "the {discipline} has already assessed in this screening (one assessment per discipline)"
    )]
    DuplicateDiscipline { discipline: Discipline },
    /// FAILED_PRECONDITION: nothing can be added to or changed in a concluded screening.
    #[error("the screening is already concluded")]
    AlreadyConcluded,
    /// FAILED_PRECONDITION: required disciplines or domains are missing.
    #[error("cannot conclude the screening: {}", .0.reason())]
    NotReady(Readiness),
}

impl From<Invalid> for ScreeningError {
    fn from(v: Invalid) -> Self {
        ScreeningError::Invalid(v)
    }
}

/// One screening of one case by one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Screening {
    case_id: CaseId,
    group: ScreeningGroup,
    opened_on: NaiveDate,
    assessments: Vec<Assessment>,
    conclusion: Option<Conclusion>,
}

impl Screening {
    /// A new, empty screening (e.g. on referral to the team, or when the group takes the case).
    pub fn open(case_id: CaseId, group: ScreeningGroup, opened_on: NaiveDate) -> Self {
        Self {
            case_id,
            group,
            opened_on,
            assessments: Vec::new(),
            conclusion: None,
        }
    }

    /// Rebuilds a stored screening, checking the one-assessment-per-discipline rule.
    pub fn restore(
        case_id: CaseId,
        group: ScreeningGroup,
        opened_on: NaiveDate,
        assessments: Vec<Assessment>,
        conclusion: Option<Conclusion>,
    ) -> Result<Self, ScreeningError> {
        let mut seen = BTreeSet::new();
        for a in &assessments {
            if !seen.insert(a.discipline) {
                return Err(ScreeningError::DuplicateDiscipline {
                    discipline: a.discipline,
                });
            }
        }
        Ok(Self {
            case_id,
            group,
            opened_on,
            assessments,
            conclusion,
        })
    }

    pub fn case_id(&self) -> CaseId {
        self.case_id
    }

    pub fn group(&self) -> &ScreeningGroup {
        &self.group
    }

    pub fn opened_on(&self) -> NaiveDate {
        self.opened_on
    }

    pub fn assessments(&self) -> &[Assessment] {
        &self.assessments
    }

    pub fn conclusion(&self) -> Option<&Conclusion> {
        self.conclusion.as_ref()
    }

    pub fn is_concluded(&self) -> bool {
        self.conclusion.is_some()
    }

    /// Adds one discipline's assessment. Refused when the screening is concluded, when the
    /// discipline has already assessed in it, or when the input is invalid.
    pub fn add_assessment(
        &mut self,
        input: AssessmentInput,
    ) -> Result<&Assessment, ScreeningError> {
        if self.is_concluded() {
            return Err(ScreeningError::AlreadyConcluded);
        }
        let mut inv = Invalid::default();
        if input.started_at.date() < self.opened_on {
            inv.push("started_at", "is before the screening was opened");
        }
        if let Some(r) = &input.assessor
            && !self
                .group
                .members_of(input.discipline)
                .any(|m| m.reference == r.trim())
        {
            inv.push(
                "assessor",
                format!(
                    "is not a member of the group with discipline {}",
                    input.discipline
                ),
            );
        }
        let assessment = match Assessment::parse(input) {
            Ok(a) => a,
            Err(mut more) => {
                more.0.splice(0..0, inv.0);
                return Err(more.into());
            }
        };
        inv.into_result(())?;
        if self
            .assessments
            .iter()
            .any(|a| a.discipline == assessment.discipline)
        {
            return Err(ScreeningError::DuplicateDiscipline {
                discipline: assessment.discipline,
            });
        }
        self.assessments.push(assessment);
        Ok(&self.assessments[self.assessments.len() - 1])
    }

    /// Required disciplines that have not assessed and domains no assessment covers.
    pub fn readiness(&self) -> Readiness {
        let assessed: BTreeSet<Discipline> =
            self.assessments.iter().map(|a| a.discipline).collect();
        let covered: BTreeSet<Domain> = self
            .assessments
            .iter()
            .flat_map(|a| a.domains.iter().copied())
            .collect();
        Readiness {
            missing_disciplines: self
                .group
                .required
                .iter()
                .filter(|d| !assessed.contains(d))
                .copied()
                .collect(),
            missing_domains: Domain::ALL
                .into_iter()
                .filter(|d| !covered.contains(d))
                .collect(),
        }
    }

    /// The session span against the group's limit; `None` for a standing group or without
    /// assessments.
    pub fn session(&self) -> Option<SessionCheck> {
        match self.group.mode {
            WorkingMode::TeamSession { limit_minutes } => {
                session_check(&self.assessments, limit_minutes)
            }
            WorkingMode::StandingGroup => None,
        }
    }

    /// Concludes the screening. Refused with [`ScreeningError::NotReady`] (listing what is
    /// missing) until the required disciplines have assessed and all four domains are covered.
    /// `previous` is the previous concluded screening of the same case, for the profile change.
    pub fn conclude(
        &mut self,
        input: ConclusionInput,
        previous: Option<&Screening>,
    ) -> Result<&Conclusion, ScreeningError> {
        if self.is_concluded() {
            return Err(ScreeningError::AlreadyConcluded);
        }
        let mut inv = Invalid::default();
        if input.concluded_on < self.opened_on {
            inv.push("concluded_on", "is before the screening was opened");
        }
        if let Some(last) = self.assessments.iter().map(|a| a.end().date()).max()
            && input.concluded_on < last
        {
            inv.push("concluded_on", "is before the last assessment");
        }
        if let Some(e) = &input.exemption {
            long_text(&mut inv, "exemption.reason", &e.reason, true);
        }
        if input.plan_activities.len() > MAX_ITEMS {
            inv.push("plan_activities", format!("at most {MAX_ITEMS} activities"));
        }
        for (i, a) in input.plan_activities.iter().enumerate() {
            long_text(
                &mut inv,
                &format!("plan_activities[{i}].description"),
                &a.description,
                true,
            );
        }
        for (i, w) in input.work_adaptations.iter().enumerate() {
            if let WorkAdaptation::ReducedHours { hours_per_week } = w
                && !(1..=168 * 60).contains(&hours_per_week.as_minutes())
            {
                inv.push(
                    format!("work_adaptations[{i}].hours_per_week"),
                    "must be more than 0 and at most 168 hours",
                );
            }
        }
        if let Some(ExpectedReturn {
            partial_from: Some(p),
            full_by: Some(f),
        }) = input.expected_return
            && f < p
        {
            inv.push(
                "expected_return.full_by",
                "is before expected_return.partial_from",
            );
        }
        let previous = match previous {
            None => None,
            Some(p) if p.case_id != self.case_id => {
                inv.push("previous", "the previous screening belongs to another case");
                None
            }
            Some(p) => match &p.conclusion {
                None => {
                    inv.push("previous", "the previous screening is not concluded");
                    None
                }
                Some(c) if c.concluded_on > input.concluded_on => {
                    inv.push(
                        "previous",
                        "the previous screening was concluded after this one",
                    );
                    None
                }
                Some(c) => Some(c),
            },
        };
        inv.into_result(())?;
        let readiness = self.readiness();
        if !readiness.is_ready() {
            return Err(ScreeningError::NotReady(readiness));
        }
        let profile = icf_profile(&self.assessments, previous);
        let trim = |s: &str| s.trim().to_owned();
        let conclusion = self.conclusion.insert(Conclusion {
            concluded_on: input.concluded_on,
            recommended_category: input.recommended_category,
            exemption: input.exemption.map(|e| ExemptionRecommendation {
                ground: e.ground,
                reason: trim(&e.reason),
            }),
            plan_activities: input
                .plan_activities
                .into_iter()
                .map(|a| PlanActivity {
                    description: trim(&a.description),
                    kind: a.kind,
                })
                .collect(),
            work_adaptations: input.work_adaptations,
            expected_return: input.expected_return,
            profile,
        });
        Ok(conclusion)
    }

    /// The T-21 deadline of this screening's case.
    pub fn deadline(&self, first_sick_day: NaiveDate, as_of: NaiveDate) -> AssessmentDeadline {
        assessment_deadline(
            first_sick_day,
            self.conclusion.as_ref().map(|c| c.concluded_on),
            as_of,
        )
    }

    /// What the employer may see (see [`employer_view`]).
    pub fn employer_view(&self) -> EmployerView {
        employer_view(&self.assessments, self.conclusion.as_ref())
    }
}

// ---------------------------------------------------------------------------------------------
// T-21 deadline

/// Rule T-21 on a case: the 360-degree assessment concluded by the end of sick week 8.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentDeadline {
    /// `T-21`.
    pub rule_id: &'static str,
    /// `AL-07`, raised while `status` is `Overdue`.
    pub alert_id: &'static str,
    pub source: &'static str,
    /// D55.
    pub due: NaiveDate,
    /// `Met` (possibly late, see `is_late`), `Due` or `Overdue`.
    pub status: Status,
    pub met_on: Option<NaiveDate>,
    pub note: &'static str,
}

impl AssessmentDeadline {
    pub fn is_late(&self) -> bool {
        self.met_on.is_some_and(|m| m > self.due)
    }

    /// Whether the alert engine should raise AL-07.
    pub fn raises_alert(&self) -> bool {
        self.status == Status::Overdue
    }
}

/// T-21 (Quick Care recommendation 1, [004 §5], 004_29a2444e953dfa53.txt; Aabenraa T-21b,
/// [004 §6.1]): every sick-listed citizen aged 18–65 gets a 360-degree assessment with a
/// combined health and employment focus within 8 weeks — concluded by the end of sick week 8,
/// `D55` (`weeks::end_of_sick_week(d0, 8)`).
///
/// A conclusion dated after `as_of` is ignored (as the timeline ignores later facts). The age
/// band is the caller's to apply; this function does not know the person's age.
pub fn assessment_deadline(
    first_sick_day: NaiveDate,
    concluded_on: Option<NaiveDate>,
    as_of: NaiveDate,
) -> AssessmentDeadline {
    let due = end_of_sick_week(first_sick_day, 8);
    let met_on = concluded_on.filter(|c| *c <= as_of);
    let status = match met_on {
        Some(_) => Status::Met,
        None if as_of > due => Status::Overdue,
        None => Status::Due,
    };
    AssessmentDeadline {
        rule_id: RULE_T21,
        alert_id: ALERT_AL07,
        source: "[004 §5] 004_29a2444e953dfa53.txt",
        due,
        status,
        met_on,
        note: "360-degree assessment with combined health and employment focus within 8 weeks \
               (ages 18-65); complete when all four domains are covered (DOMAIN.md §7.3)",
    }
}

// ---------------------------------------------------------------------------------------------
// Aabenraa queue

/// A new case as the screening group sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewCase {
    pub case_id: CaseId,
    pub first_sick_day: NaiveDate,
    pub screened: bool,
}

/// One unscreened case in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    pub case_id: CaseId,
    pub first_sick_day: NaiveDate,
    /// D55: the T-21 deadline the screening serves.
    pub due: NaiveDate,
    /// Days from `as_of` to `due` (negative when overdue).
    pub days_left: i64,
    /// `Due` or `Overdue`.
    pub status: Status,
}

/// The standing group's work list as of a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreeningQueue {
    pub as_of: NaiveDate,
    /// Unscreened cases, earliest D55 first (then by case id).
    pub queue: Vec<QueueEntry>,
    /// AL-22: should be 0 — the group screens every new case ([004 §6.1]).
    pub unscreened_new_cases: usize,
    /// Of those, past D55.
    pub overdue: usize,
}

/// Aabenraa's screening group screens every new case ([004 §6.1], 004_29a2444e953dfa53.txt):
/// the unscreened ones ordered by their D55 deadline, and how many there are (AL-22).
pub fn screening_queue(cases: &[NewCase], as_of: NaiveDate) -> ScreeningQueue {
    let mut queue: Vec<QueueEntry> = cases
        .iter()
        .filter(|c| !c.screened)
        .map(|c| {
            let due = end_of_sick_week(c.first_sick_day, 8);
            QueueEntry {
                case_id: c.case_id,
                first_sick_day: c.first_sick_day,
                due,
                days_left: sick_day_of(as_of, due).0,
                status: if as_of > due {
                    Status::Overdue
                } else {
                    Status::Due
                },
            }
        })
        .collect();
    queue.sort_by_key(|e| (e.due, e.case_id));
    let overdue = queue.iter().filter(|e| e.status == Status::Overdue).count();
    ScreeningQueue {
        as_of,
        unscreened_new_cases: queue.len(),
        overdue,
        queue,
    }
}

// ---------------------------------------------------------------------------------------------
// Employer view

/// Degree of a work-relevant limitation (the ICF difficulty scale 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    Mild,
    Moderate,
    Severe,
    Complete,
}

impl Difficulty {
    pub const fn word(self) -> &'static str {
        match self {
            Difficulty::Mild => "mild difficulty",
            Difficulty::Moderate => "moderate difficulty",
            Difficulty::Severe => "severe difficulty",
            Difficulty::Complete => "complete difficulty",
        }
    }
}

/// One work-relevant functional limitation, derived from an activities-and-participation code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkLimitation {
    /// Always a `d` code.
    pub activity: IcfCode,
    /// Plain-language area, from a fixed vocabulary (never from caller text).
    pub area: String,
    pub difficulty: Difficulty,
}

impl WorkLimitation {
    /// E.g. "lifting and carrying: moderate difficulty".
    pub fn statement(&self) -> String {
        format!("{}: {}", self.area, self.difficulty.word())
    }
}

/// What the employer may see (health-information act, DOMAIN.md §4.4): functional limitations
/// relevant to the job, work adaptations and expected timing. No free text, no `b`/`s` codes, no
/// diagnosis, no health condition, no personal factors.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmployerView {
    pub limitations: Vec<WorkLimitation>,
    pub work_adaptations: Vec<WorkAdaptation>,
    pub expected_return: Option<ExpectedReturn>,
}

impl EmployerView {
    /// Every line the employer reads, in order.
    pub fn statements(&self) -> Vec<String> {
        let mut out: Vec<String> = self.limitations.iter().map(|l| l.statement()).collect();
        out.extend(self.work_adaptations.iter().map(|w| w.statement()));
        if let Some(r) = self.expected_return {
            if let Some(p) = r.partial_from {
                out.push(format!("expected partial return from {p}"));
            }
            if let Some(f) = r.full_by {
                out.push(format!("expected full return by {f}"));
            }
        }
        out
    }
}

/// Plain-language areas of the work-relevant second-level activities (and four chapters).
/// Self-care, domestic life, family and intimate relationships, education and community life
/// are not the employer's business and are never shown.
const WORK_AREAS: &[(&str, &str)] = &[
    ("d1", "learning and applying knowledge"),
    ("d155", "acquiring new skills"),
    ("d160", "focusing attention"),
    ("d166", "reading"),
    ("d170", "writing"),
    ("d172", "calculating"),
    ("d175", "solving problems"),
    ("d177", "making decisions"),
    ("d2", "general tasks and demands"),
    ("d210", "carrying out a single task"),
    ("d220", "handling several tasks"),
    ("d230", "keeping a daily routine"),
    ("d240", "handling stress and psychological demands"),
    ("d3", "communication"),
    ("d310", "understanding spoken messages"),
    ("d330", "speaking"),
    ("d350", "conversation"),
    ("d360", "using telephones and other communication devices"),
    ("d4", "mobility"),
    ("d410", "changing body position"),
    ("d415", "staying in one position"),
    ("d420", "transferring oneself"),
    ("d430", "lifting and carrying"),
    ("d440", "fine hand use"),
    ("d445", "hand and arm use"),
    ("d450", "walking"),
    ("d455", "moving around"),
    ("d460", "moving around in different locations"),
    ("d465", "moving around using equipment"),
    ("d470", "using transportation"),
    ("d475", "driving"),
    ("d710", "basic interaction with others"),
    ("d720", "complex interaction with others"),
    ("d740", "formal relationships at work"),
    ("d840", "work preparation"),
    ("d845", "getting and keeping a job"),
    ("d850", "paid work"),
    ("d855", "unpaid work"),
    ("d859", "work and employment"),
];

/// The plain-language area of a work-relevant `d` code; `None` for every other code.
/// Third- and fourth-level codes under a work-relevant category use their own ICF title.
pub fn work_area(code: IcfCode) -> Option<String> {
    if code.component() != Component::ActivitiesAndParticipation {
        return None;
    }
    let base = match code.level() {
        Level::Chapter | Level::Second => code,
        Level::Third | Level::Fourth => code.at_level(Level::Second)?,
    };
    let label = WORK_AREAS
        .iter()
        .find(|(c, _)| *c == base.as_str())
        .map(|(_, label)| *label)?;
    if base == code {
        Some(label.to_owned())
    } else {
        Some(code.title()?.to_lowercase())
    }
}

/// The employer view of a screening: limitations from the conclusion's profile (or, before
/// concluding, the latest finding per code), the conclusion's work adaptations and timing.
/// Only `d` codes with a work area and a rated difficulty of 1–4 (performance, or capacity when
/// performance is 8/9) become limitations.
pub fn employer_view(assessments: &[Assessment], conclusion: Option<&Conclusion>) -> EmployerView {
    let draft;
    let profile = match conclusion {
        Some(c) => &c.profile,
        None => {
            draft = icf_profile(assessments, None);
            &draft
        }
    };
    let limitations = profile
        .entries
        .iter()
        .filter_map(|e| {
            let Qualifiers::ActivitiesAndParticipation {
                performance,
                capacity,
            } = e.qualifiers
            else {
                return None;
            };
            let rated = performance
                .rated()
                .or_else(|| capacity.and_then(|c| c.rated()))?;
            let difficulty = match rated {
                1 => Difficulty::Mild,
                2 => Difficulty::Moderate,
                3 => Difficulty::Severe,
                4 => Difficulty::Complete,
                _ => return None,
            };
            Some(WorkLimitation {
                activity: e.code,
                area: work_area(e.code)?,
                difficulty,
            })
        })
        .collect();
    EmployerView {
        limitations,
        work_adaptations: conclusion
            .map(|c| c.work_adaptations.clone())
            .unwrap_or_default(),
        expected_return: conclusion.and_then(|c| c.expected_return),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::weeks::day;
    use chrono::NaiveTime;

    fn d0() -> NaiveDate {
        NaiveDate::from_ymd_opt(2011, 3, 7).unwrap()
    }

    fn at(n: i64, h: u32, m: u32) -> NaiveDateTime {
        day(d0(), n).and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap())
    }

    fn case(n: u128) -> CaseId {
        CaseId::new(1_300_000_000_000, n)
    }

    fn member(r: &str, d: Discipline, o: OrganisationKind) -> Member {
        Member {
            reference: r.into(),
            discipline: d,
            organisation: o,
        }
    }

    fn default_group() -> ScreeningGroup {
        use Discipline::*;
        use OrganisationKind::*;
        ScreeningGroup::new(
            "rapid team",
            vec![
                member("cw1", Caseworker, Jobcentre),
                member("dr1", Doctor, Provider),
                member("pt1", Physiotherapist, Provider),
                member("ps1", Psychologist, Provider),
            ],
            WorkingMode::kia(),
            None,
        )
        .unwrap()
    }

    fn input(
        d: Discipline,
        start: NaiveDateTime,
        domains: &[Domain],
        codes: &[&str],
    ) -> AssessmentInput {
        AssessmentInput {
            discipline: d,
            assessor: None,
            started_at: start,
            ended_at: Some(start + chrono::TimeDelta::minutes(25)),
            findings: codes
                .iter()
                .map(|c| FindingInput {
                    icf: IcfInput::Written((*c).into()),
                    note: String::new(),
                })
                .collect(),
            personal_factors: String::new(),
            work_capacity: "can work part time".into(),
            barriers: vec![],
            recommended_actions: vec![],
            domains: domains.to_vec(),
            health_condition: None,
        }
    }

    fn conclusion_input(on: NaiveDate) -> ConclusionInput {
        ConclusionInput {
            concluded_on: on,
            recommended_category: Category::Two,
            exemption: None,
            plan_activities: vec![PlanActivity {
                description: "partial return".into(),
                kind: Some(PlanActivityKind::PartialReturn),
            }],
            work_adaptations: vec![WorkAdaptation::ChangedTasks],
            expected_return: None,
        }
    }

    fn full_screening(b28013: &str) -> Screening {
        use Discipline::*;
        use Domain::*;
        let mut s = Screening::open(case(1), default_group(), day(d0(), 40));
        s.add_assessment(input(
            Caseworker,
            at(40, 9, 0),
            &[Social, Employment],
            &["d845.2"],
        ))
        .unwrap();
        s.add_assessment(input(Doctor, at(40, 9, 30), &[Physical], &[b28013]))
            .unwrap();
        s.add_assessment(input(
            Physiotherapist,
            at(40, 10, 0),
            &[Physical],
            &["d430.23"],
        ))
        .unwrap();
        s.add_assessment(input(
            Psychologist,
            at(40, 10, 30),
            &[Psychological],
            &["b152.1"],
        ))
        .unwrap();
        s
    }

    #[test]
    fn group_requires_members_for_required_disciplines() {
        use Discipline::*;
        use OrganisationKind::*;
        let members = vec![
            member("cw1", Caseworker, Jobcentre),
            member("cw2", Caseworker, Jobcentre),
            member("dr", Doctor, Provider),
            member("pt", Physiotherapist, Provider),
        ];
        let e = ScreeningGroup::new(
            "Aabenraa",
            members.clone(),
            WorkingMode::StandingGroup,
            None,
        )
        .unwrap_err();
        assert_eq!(e.0.len(), 1);
        assert_eq!(e.0[0].field, "required_disciplines[3]");
        assert!(e.0[0].description.contains("psychologist"));
        let g = ScreeningGroup::new(
            "Aabenraa",
            members,
            WorkingMode::StandingGroup,
            Some(vec![Caseworker, Doctor, Physiotherapist]),
        )
        .unwrap();
        assert_eq!(g.members_of(Caseworker).count(), 2);

        let e = ScreeningGroup::new(
            " ",
            vec![
                member("x", Doctor, Provider),
                member("x", Physiotherapist, Provider),
            ],
            WorkingMode::TeamSession { limit_minutes: 0 },
            Some(vec![Doctor, Doctor]),
        )
        .unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "members[1].reference",
                "mode.limit_minutes",
                "required_disciplines[1]"
            ]
        );
    }

    #[test]
    fn one_assessment_per_discipline() {
        let mut s = Screening::open(case(1), default_group(), day(d0(), 40));
        s.add_assessment(input(
            Discipline::Doctor,
            at(40, 9, 0),
            &[Domain::Physical],
            &["b280.2"],
        ))
        .unwrap();
        let e = s
            .add_assessment(input(
                Discipline::Doctor,
                at(40, 11, 0),
                &[Domain::Physical],
                &[],
            ))
            .unwrap_err();
        assert_eq!(
            e,
            ScreeningError::DuplicateDiscipline {
                discipline: Discipline::Doctor
            }
        );
        assert_eq!(
            e.to_string(),
            "the doctor has already assessed in this screening (one assessment per discipline)"
        );
        assert_eq!(s.assessments().len(), 1);
        let restored = Screening::restore(
            case(1),
            default_group(),
            day(d0(), 40),
            vec![s.assessments()[0].clone(), s.assessments()[0].clone()],
            None,
        );
        assert!(matches!(
            restored,
            Err(ScreeningError::DuplicateDiscipline { .. })
        ));
    }

    #[test]
    fn assessment_validation_names_fields_and_never_echoes_text() {
        let mut s = Screening::open(case(1), default_group(), day(d0(), 40));
        let mut i = input(
            Discipline::Doctor,
            at(39, 9, 0),
            &[],
            &["d999.2", "b280.5", "b280.2", "b280.3"],
        );
        i.ended_at = Some(at(39, 8, 0));
        i.work_capacity = "  ".into();
        i.assessor = Some("someone else".into());
        i.findings.push(FindingInput {
            icf: IcfInput::Structured {
                component: Component::BodyFunctions,
                code: "d430".into(),
                qualifiers: vec![2],
                facilitator: false,
            },
            note: String::new(),
        });
        i.health_condition = Some(HealthCondition {
            icd_code: Some("Lene Jensen".into()),
            description: None,
            diagnosis_clear: false,
            on_standby_list: false,
        });
        let ScreeningError::Invalid(inv) = s.add_assessment(i).unwrap_err() else {
            panic!("expected invalid")
        };
        let got: Vec<(&str, &str)> = inv
            .0
            .iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("started_at", "is before the screening was opened"),
                (
                    "assessor",
                    "is not a member of the group with discipline doctor"
                ),
                ("ended_at", "must not be before started_at"),
                ("findings[0].icf", "unknown ICF code d999"),
                (
                    "findings[1].icf",
                    "qualifier 5 is not one of 0-4, 8, 9 (b280, first qualifier: extent of \
                     impairment)"
                ),
                (
                    "findings[3].icf",
                    "ICF code b280 is coded twice in this assessment"
                ),
                (
                    "findings[4].component",
                    "component body_functions does not match ICF code d430"
                ),
                ("work_capacity", "must not be empty"),
                (
                    "domains",
                    "name at least one domain the assessment covers (physical, \
                     psychological, social, employment)"
                ),
                (
                    "health_condition.icd_code",
                    "is not an ICD code (a letter followed by digits, e.g. M54.5 or DM545)"
                ),
            ]
        );
        assert!(!inv.to_string().contains("Lene"));
    }

    #[test]
    fn icd_code_shapes() {
        for ok in ["M54.5", "M545", "DM545", "F32.1", "DF321"] {
            assert!(looks_like_icd(ok), "{ok}");
        }
        for bad in [
            "",
            "M5",
            "54.5",
            "M.5.4",
            "back pain",
            "M54-5",
            "ABCDEFGHIJK1",
        ] {
            assert!(!looks_like_icd(bad), "{bad}");
        }
    }

    #[test]
    fn conclusion_refused_until_required_disciplines_and_all_domains() {
        use Discipline::*;
        use Domain::*;
        let mut s = Screening::open(case(1), default_group(), day(d0(), 40));
        s.add_assessment(input(Doctor, at(40, 9, 0), &[Physical], &["b280.2"]))
            .unwrap();
        s.add_assessment(input(
            Physiotherapist,
            at(40, 9, 30),
            &[Physical],
            &["d430.2"],
        ))
        .unwrap();
        let e = s
            .conclude(conclusion_input(day(d0(), 40)), None)
            .unwrap_err();
        let ScreeningError::NotReady(r) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(r.missing_disciplines, [Caseworker, Psychologist]);
        assert_eq!(r.missing_domains, [Psychological, Social, Employment]);
        assert!(e.to_string().starts_with(
            "cannot conclude the screening: required disciplines have not assessed: \
             caseworker, psychologist; domains not covered: psychological, social, employment"
        ));
        s.add_assessment(input(Psychologist, at(40, 10, 0), &[Psychological], &[]))
            .unwrap();
        s.add_assessment(input(Caseworker, at(40, 10, 30), &[Employment], &[]))
            .unwrap();
        let r = s.readiness();
        assert_eq!(
            (r.missing_disciplines.len(), r.missing_domains.clone()),
            (0, vec![Social])
        );
        assert!(s.conclude(conclusion_input(day(d0(), 40)), None).is_err());
        assert!(!s.is_concluded());
    }

    #[test]
    fn configured_requirements_replace_the_default() {
        use Discipline::*;
        use Domain::*;
        use OrganisationKind::*;
        let g = ScreeningGroup::new(
            "two",
            vec![
                member("dr", Doctor, Provider),
                member("cw", Caseworker, Jobcentre),
            ],
            WorkingMode::StandingGroup,
            Some(vec![Doctor]),
        )
        .unwrap();
        let mut s = Screening::open(case(2), g, day(d0(), 40));
        s.add_assessment(input(
            Doctor,
            at(41, 9, 0),
            &[Physical, Psychological, Social, Employment],
            &[],
        ))
        .unwrap();
        assert!(s.readiness().is_ready());
        let c = s.conclude(conclusion_input(day(d0(), 41)), None).unwrap();
        assert_eq!(c.recommended_category, Category::Two);
        assert!(matches!(
            s.add_assessment(input(Caseworker, at(42, 9, 0), &[Social], &[])),
            Err(ScreeningError::AlreadyConcluded)
        ));
        assert!(matches!(
            s.conclude(conclusion_input(day(d0(), 42)), None),
            Err(ScreeningError::AlreadyConcluded)
        ));
    }

    #[test]
    fn conclusion_input_validation() {
        let mut s = full_screening("b28013.3");
        let mut c = conclusion_input(day(d0(), 39));
        c.exemption = Some(ExemptionRecommendation {
            ground: Some(ExemptionGround::TreatmentIsObstacle),
            reason: " ".into(),
        });
        c.plan_activities.push(PlanActivity {
            description: String::new(),
            kind: None,
        });
        c.work_adaptations.push(WorkAdaptation::ReducedHours {
            hours_per_week: WeeklyHours::hours(0),
        });
        c.expected_return = Some(ExpectedReturn {
            partial_from: Some(day(d0(), 60)),
            full_by: Some(day(d0(), 50)),
        });
        let ScreeningError::Invalid(inv) = s.conclude(c, None).unwrap_err() else {
            panic!()
        };
        let fields: Vec<&str> = inv.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "concluded_on",
                "concluded_on",
                "exemption.reason",
                "plan_activities[1].description",
                "work_adaptations[1].hours_per_week",
                "expected_return.full_by"
            ]
        );
        let mut other = full_screening("b28013.3");
        other.case_id = case(99);
        other
            .conclude(conclusion_input(day(d0(), 40)), None)
            .unwrap();
        let ScreeningError::Invalid(inv) = s
            .conclude(conclusion_input(day(d0(), 40)), Some(&other))
            .unwrap_err()
        else {
            panic!()
        };
        assert_eq!(inv.0[0].field, "previous");
    }

    #[test]
    fn profile_change_since_the_previous_conclusion() {
        let mut first = full_screening("b28013.3");
        first
            .conclude(conclusion_input(day(d0(), 40)), None)
            .unwrap();
        let p = &first.conclusion().unwrap().profile;
        let b28013 = IcfCode::parse("b28013").unwrap();
        assert_eq!(p.get(b28013).unwrap().change, Change::New);
        assert_eq!(p.get(b28013).unwrap().describe(), "b28013: new (3)");

        use Discipline::*;
        use Domain::*;
        let mut second = Screening::open(case(1), default_group(), day(d0(), 80));
        second
            .add_assessment(input(
                Caseworker,
                at(80, 9, 0),
                &[Social, Employment],
                &["d845.2"],
            ))
            .unwrap();
        second
            .add_assessment(input(Doctor, at(80, 9, 30), &[Physical], &["b28013.2"]))
            .unwrap();
        second
            .add_assessment(input(
                Physiotherapist,
                at(80, 10, 0),
                &[Physical],
                &["d430.34", "e330+2"],
            ))
            .unwrap();
        second
            .add_assessment(input(
                Psychologist,
                at(80, 10, 30),
                &[Psychological],
                &["b152.8"],
            ))
            .unwrap();
        let c = second
            .conclude(conclusion_input(day(d0(), 80)), Some(&first))
            .unwrap();
        let entry = |s: &str| c.profile.get(IcfCode::parse(s).unwrap()).unwrap();
        assert_eq!(entry("b28013").change, Change::Improved);
        assert_eq!(entry("b28013").describe(), "b28013: 3 → 2 (improved)");
        assert_eq!(entry("d430").change, Change::Worsened);
        assert_eq!(entry("d845").change, Change::Unchanged);
        assert_eq!(entry("b152").change, Change::NotComparable);
        assert_eq!(entry("e330").change, Change::New);
        assert_eq!(c.profile.not_reassessed, Vec::<IcfCode>::new());
        assert_eq!(c.profile.previous_concluded_on, Some(day(d0(), 40)));
    }

    #[test]
    fn profile_takes_the_latest_assessment_per_code_and_lists_dropped_codes() {
        use Discipline::*;
        use Domain::*;
        let mut s = Screening::open(case(1), default_group(), day(d0(), 40));
        s.add_assessment(input(Doctor, at(40, 11, 0), &[Physical], &["b28013.2"]))
            .unwrap();
        s.add_assessment(input(
            Physiotherapist,
            at(40, 9, 0),
            &[Physical],
            &["b28013.3"],
        ))
        .unwrap();
        let p = icf_profile(s.assessments(), None);
        let e = p.get(IcfCode::parse("b28013").unwrap()).unwrap();
        assert_eq!((e.assessed_by, e.qualifiers.primary().digit()), (Doctor, 2));

        let mut first = full_screening("b28013.3");
        first
            .conclude(conclusion_input(day(d0(), 40)), None)
            .unwrap();
        let p = icf_profile(&s.assessments()[..1], first.conclusion());
        let dropped: Vec<&str> = p.not_reassessed.iter().map(|c| c.as_str()).collect();
        assert_eq!(dropped, ["b152", "d430", "d845"]);
    }

    #[test]
    fn kia_session_within_two_hours() {
        let s = full_screening("b28013.3");
        let check = s.session().unwrap();
        assert_eq!(check.rule_id, "T-24");
        assert_eq!(
            (check.first_start, check.last_end),
            (at(40, 9, 0), at(40, 10, 55))
        );
        assert_eq!((check.span_minutes, check.limit_minutes), (115, 120));
        assert!(check.within_limit);
        assert_eq!(check.disciplines.len(), 4);
        let late = session_check(s.assessments(), 90).unwrap();
        assert!(!late.within_limit);
        assert_eq!(session_check(&[], 120), None);
        let mut long = s.assessments().to_vec();
        long[3].ended_at = Some(at(40, 11, 1));
        let c = session_check(&long, 120).unwrap();
        assert_eq!((c.span_minutes, c.within_limit), (121, false));
    }

    #[test]
    fn t21_deadline_met_due_overdue() {
        let due = day(d0(), 55);
        let d = assessment_deadline(d0(), None, day(d0(), 55));
        assert_eq!(
            (d.rule_id, d.alert_id, d.due, d.status),
            ("T-21", "AL-07", due, Status::Due)
        );
        assert!(!d.raises_alert());
        let d = assessment_deadline(d0(), None, day(d0(), 56));
        assert_eq!(d.status, Status::Overdue);
        assert!(d.raises_alert());
        let d = assessment_deadline(d0(), Some(day(d0(), 42)), day(d0(), 42));
        assert_eq!(
            (d.status, d.met_on, d.is_late()),
            (Status::Met, Some(day(d0(), 42)), false)
        );
        let d = assessment_deadline(d0(), Some(day(d0(), 60)), day(d0(), 70));
        assert_eq!((d.status, d.is_late()), (Status::Met, true));
        let d = assessment_deadline(d0(), Some(day(d0(), 60)), day(d0(), 58));
        assert_eq!(
            d.status,
            Status::Overdue,
            "a conclusion after as_of is not known yet"
        );
    }

    #[test]
    fn queue_orders_unscreened_cases_by_their_d55() {
        let as_of = day(d0(), 50);
        let cases = [
            NewCase {
                case_id: case(1),
                first_sick_day: day(d0(), 10),
                screened: false,
            },
            NewCase {
                case_id: case(2),
                first_sick_day: day(d0(), -10),
                screened: false,
            },
            NewCase {
                case_id: case(3),
                first_sick_day: day(d0(), -20),
                screened: true,
            },
            NewCase {
                case_id: case(5),
                first_sick_day: d0(),
                screened: false,
            },
            NewCase {
                case_id: case(4),
                first_sick_day: d0(),
                screened: false,
            },
        ];
        let q = screening_queue(&cases, as_of);
        let order: Vec<CaseId> = q.queue.iter().map(|e| e.case_id).collect();
        assert_eq!(order, [case(2), case(4), case(5), case(1)]);
        assert_eq!((q.unscreened_new_cases, q.overdue), (4, 1));
        assert_eq!(q.queue[0].due, day(d0(), 45));
        assert_eq!(
            (q.queue[0].days_left, q.queue[0].status),
            (-5, Status::Overdue)
        );
        assert_eq!((q.queue[1].days_left, q.queue[1].status), (5, Status::Due));
        assert_eq!(screening_queue(&[], as_of).unscreened_new_cases, 0);
    }

    #[test]
    fn employer_view_shows_only_work_relevant_d_codes() {
        let mut s = Screening::open(case(1), default_group(), day(d0(), 40));
        s.add_assessment(input(
            Discipline::Physiotherapist,
            at(40, 9, 0),
            &[Domain::Physical],
            &[
                "d430.23",
                "d4153.1",
                "d415.0",
                "d510.3",
                "d770.2",
                "b28013.3",
                "s76002.17",
                "d240.88",
                "d455.82",
            ],
        ))
        .unwrap();
        let v = s.employer_view();
        assert_eq!(
            v.statements(),
            [
                "maintaining a sitting position: mild difficulty",
                "lifting and carrying: moderate difficulty",
                "moving around: moderate difficulty",
            ],
            "d415.0 is no limitation, d240.88 is unrated, d455.82 falls back to capacity; \
             self-care, intimate relationships and b/s codes never show"
        );
        assert!(
            v.limitations
                .iter()
                .all(|l| l.activity.component() == Component::ActivitiesAndParticipation)
        );
    }

    #[test]
    fn work_areas_are_known_d_codes() {
        for (code, _) in WORK_AREAS {
            let c = IcfCode::parse(code).unwrap();
            assert_eq!(c.component(), Component::ActivitiesAndParticipation);
        }
        assert_eq!(work_area(IcfCode::parse("b280").unwrap()), None);
        assert_eq!(work_area(IcfCode::parse("d510").unwrap()), None);
        assert_eq!(
            work_area(IcfCode::parse("d4300").unwrap()).as_deref(),
            Some("lifting")
        );
    }
}
