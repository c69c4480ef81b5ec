//! The sickness-benefit case (sygedagpengesag) at intake: identifiers and the validated intake.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Invalid;
use crate::facts::{
    CaseFacts, Category, Closure, ContactMode, Exemption, ExemptionGround, FollowUp, Outcome,
    PartialReturn, Prognosis, Visitation,
};
use crate::followup;
use crate::rules::{RuleId, RuleSet, RuleSetId, Verdict};

/// A case's identifier: a UUIDv7, so identifiers sort by creation time (keyset pagination).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CaseId(Uuid);

impl CaseId {
    /// A new identifier; `unix_ms` is the creation instant (the domain reads no clock).
    pub fn new(unix_ms: u64, random: u128) -> Self {
        // UUIDv7 layout: 48-bit timestamp, version 7, variant 10, the rest random.
        let ms = u128::from(unix_ms) & ((1 << 48) - 1);
        let rand_a = (random >> 64) & 0x0fff;
        let rand_b = random & ((1 << 62) - 1);
        let raw = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b;
        Self(Uuid::from_u128(raw))
    }

    /// A new identifier from an instant in microseconds: the sub-millisecond part fills the
    /// first 12 random bits (RFC 9562 §6.2, method 3), so cases created one after another within
    /// the same millisecond still sort in creation order.
    pub fn from_micros(unix_micros: u64, random: u128) -> Self {
        let sub_ms = u128::from(unix_micros % 1000);
        let random = (sub_ms << 64) | (random & ((1 << 64) - 1));
        Self::new(unix_micros / 1000, random)
    }

    pub fn as_uuid(&self) -> Uuid {
        self.0
    }

    /// The identifier a database column holds (as `FromStr` accepts any UUID).
    pub fn from_uuid(id: Uuid) -> Self {
        Self(id)
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for CaseId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// A Danish municipality code (kommunekode): three digits, 101 (København) to 860 (Hjørring).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MunicipalityCode(String);

impl MunicipalityCode {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let ok = raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_digit());
        match raw.parse::<u16>() {
            Ok(n) if ok && (101..=860).contains(&n) => Ok(Self(raw.to_owned())),
            _ => Err("must be a three-digit Danish municipality code between 101 and 860"),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MunicipalityCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The citizen's attachment to the labour market at the first sick day (borgertype).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmploymentStatus {
    /// Lønmodtager: the employer period applies.
    Employed,
    /// Forsikret ledig: member of an unemployment insurance fund (a-kasse).
    UnemployedInsured,
    /// Any other group (kontanthjælp, fleksjob, selvstændig, ...).
    Other,
}

impl EmploymentStatus {
    pub const ALL: [Self; 3] = [Self::Employed, Self::UnemployedInsured, Self::Other];

    /// The stable name used in storage and events.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Employed => "employed",
            Self::UnemployedInsured => "unemployed_insured",
            Self::Other => "other",
        }
    }

    pub fn from_str_opt(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// Where a case is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseState {
    Open,
    Closed,
}

impl CaseState {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }

    pub fn from_str_opt(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
}

/// An opaque reference to an organisation (employer) or a citizen in the caller's own system.
///
/// Up to 64 printable ASCII characters. Something shaped like a CPR number is refused: a CPR
/// number is personal data and has its own, protected path into kia.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ExternalReference(String);

impl ExternalReference {
    pub const MAX_LEN: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        if raw.is_empty() {
            return Err("is required");
        }
        if raw.len() > Self::MAX_LEN {
            return Err("must be at most 64 characters");
        }
        if !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("must be printable ASCII without spaces");
        }
        if looks_like_cpr(raw) {
            return Err("looks like a CPR number; use an opaque reference instead");
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Ten digits, optionally `DDMMYY-SSSS`, whose first six digits form a day and month.
pub fn looks_like_cpr(raw: &str) -> bool {
    let digits_at =
        |range: std::ops::Range<usize>| raw.as_bytes()[range].iter().all(u8::is_ascii_digit);
    let shape_ok = match raw.len() {
        10 => digits_at(0..10),
        11 => raw.as_bytes()[6] == b'-' && digits_at(0..6) && digits_at(7..11),
        _ => false,
    };
    if !shape_ok {
        return false;
    }
    // Checked on every case read back: no allocation.
    let number = |at: usize| {
        u32::from(raw.as_bytes()[at] - b'0') * 10 + u32::from(raw.as_bytes()[at + 1] - b'0')
    };
    (1..=31).contains(&number(0)) && (1..=12).contains(&number(2))
}

/// Parses an ISO 8601 calendar date, "YYYY-MM-DD".
pub fn parse_date(raw: &str) -> Result<NaiveDate, &'static str> {
    if raw.is_empty() {
        return Err("is required");
    }
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| "must be a date as YYYY-MM-DD")
}

/// The facts given at intake, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseIntake {
    pub municipality: MunicipalityCode,
    /// Første sygedag (D0).
    pub first_sick_day: NaiveDate,
    pub employment_status: EmploymentStatus,
    pub employer_reference: Option<ExternalReference>,
    pub citizen_reference: ExternalReference,
}

/// The raw intake as a caller sent it, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawIntake<'a> {
    pub municipality_code: &'a str,
    pub first_sick_day: &'a str,
    pub employment_status: Option<EmploymentStatus>,
    pub employer_reference: &'a str,
    pub citizen_reference: &'a str,
}

impl CaseIntake {
    /// Validates an intake as of `today`; field names are prefixed with `prefix` (e.g. `case.`).
    pub fn parse(raw: &RawIntake<'_>, today: NaiveDate, prefix: &str) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let field = |name: &str| format!("{prefix}{name}");

        let municipality = MunicipalityCode::parse(raw.municipality_code)
            .map_err(|e| invalid.push(field("municipality_code"), e))
            .ok();
        let first_sick_day = match parse_date(raw.first_sick_day) {
            Ok(d) if d > today => {
                invalid.push(field("first_sick_day"), "must not be after today");
                None
            }
            Ok(d) if crate::rules::RuleSet::in_force_on(d).is_none() => {
                invalid.push(
                    field("first_sick_day"),
                    "is before the earliest rule set kia knows",
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                invalid.push(field("first_sick_day"), e);
                None
            }
        };
        if raw.employment_status.is_none() {
            invalid.push(field("employment_status"), "is required");
        }
        let employer_reference = match (raw.employment_status, raw.employer_reference) {
            (Some(EmploymentStatus::Employed), "") => {
                invalid.push(field("employer_reference"), "is required when employed");
                None
            }
            (_, "") => None,
            (_, r) => ExternalReference::parse(r)
                .map_err(|e| invalid.push(field("employer_reference"), e))
                .ok(),
        };
        let citizen_reference = ExternalReference::parse(raw.citizen_reference)
            .map_err(|e| invalid.push(field("citizen_reference"), e))
            .ok();

        match (
            municipality,
            first_sick_day,
            raw.employment_status,
            citizen_reference,
        ) {
            (Some(municipality), Some(first_sick_day), Some(employment_status), Some(citizen))
                if invalid.is_empty() =>
            {
                Ok(Self {
                    municipality,
                    first_sick_day,
                    employment_status,
                    employer_reference,
                    citizen_reference: citizen,
                })
            }
            _ => Err(invalid),
        }
    }
}

/// A case as kia keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub id: CaseId,
    pub intake: CaseIntake,
    pub state: CaseState,
    /// Everything recorded since intake; the timeline is computed from it.
    pub facts: CaseFacts,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Bumped by every change (optimistic concurrency, AIP-154).
    pub version: i64,
}

/// A step of the early case that the timeline's deadlines wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStep {
    /// Anmeldelse: the employer notified the municipality (T-03).
    EmployerNotified,
    /// The insured unemployed person reported sick (T-03b).
    SelfReported,
    /// The employer conversation was held (T-07).
    EmployerConversationHeld,
    /// Oplysningsskema sent to the citizen (T-05).
    InformationFormSent,
    /// Oplysningsskema returned (T-05).
    InformationFormReturned,
    /// Opfølgningsplan made (T-15).
    FollowUpPlanMade,
    /// Revurdering held (today's law, around week 22).
    Reassessed,
    /// Category 3 case presented to the rehabilitation team (rehabiliteringsteam).
    RehabilitationTeam,
}

/// A change a caseworker records on a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseChange {
    /// Visitation to a category, with its reason.
    Visitate(Visitation),
    /// A follow-up conversation; it may re-visitate and update the prognosis.
    RecordFollowUp {
        follow_up: FollowUp,
        revisitation: Option<Visitation>,
        prognosis: Option<Prognosis>,
    },
    SetExemption(Exemption),
    LiftExemption {
        ground: ExemptionGround,
        on: NaiveDate,
    },
    /// Delvis raskmelding from a date; an open earlier one ends the day before.
    RecordPartialReturn(PartialReturn),
    RecordStep {
        step: CaseStep,
        on: NaiveDate,
    },
    Close(Closure),
}

impl CaseChange {
    /// The event type the store records for this change.
    pub fn event_type(&self) -> &'static str {
        match self {
            Self::Visitate(_) => "case.visitated",
            Self::RecordFollowUp { .. } => "case.follow_up_recorded",
            Self::SetExemption(_) => "case.exemption_set",
            Self::LiftExemption { .. } => "case.exemption_lifted",
            Self::RecordPartialReturn(_) => "case.partial_return_recorded",
            Self::RecordStep { .. } => "case.step_recorded",
            Self::Close(_) => "case.closed",
        }
    }

    /// What watchers may learn of the change: kinds and dates, never free text or health data.
    pub fn event_payload(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            Self::Visitate(v) => json!({"on": v.on, "category": v.category}),
            Self::RecordFollowUp {
                follow_up,
                revisitation,
                ..
            } => json!({
                "held_on": follow_up.held_on,
                "mode": follow_up.mode,
                "category": revisitation.as_ref().map(|v| v.category),
            }),
            Self::SetExemption(e) => json!({"from": e.from, "to": e.to}),
            Self::LiftExemption { on, .. } => json!({"on": on}),
            Self::RecordPartialReturn(p) => json!({"from": p.from, "to": p.to}),
            Self::RecordStep { step, on } => json!({"step": step, "on": on}),
            Self::Close(c) => json!({"on": c.on}),
        }
    }
}

/// Why a change was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeError {
    /// The request itself is malformed (which field, why).
    Invalid(Invalid),
    /// The request is well-formed but a rule or the case's state forbids it.
    Refused {
        rule_id: Option<RuleId>,
        reason: String,
    },
}

impl From<Invalid> for ChangeError {
    fn from(invalid: Invalid) -> Self {
        Self::Invalid(invalid)
    }
}

fn refused(reason: impl Into<String>) -> ChangeError {
    ChangeError::Refused {
        rule_id: None,
        reason: reason.into(),
    }
}

impl Case {
    /// A new open case from a validated intake.
    pub fn open(id: CaseId, intake: CaseIntake, now: chrono::DateTime<chrono::Utc>) -> Self {
        let facts = CaseFacts::new(intake.first_sick_day, intake.employment_status);
        Self {
            id,
            intake,
            state: CaseState::Open,
            facts,
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    pub fn etag(&self) -> String {
        format!("\"{}\"", self.version)
    }

    /// The rule set the case is judged by: the one in force on its first sick day.
    pub fn rule_set(&self) -> &'static RuleSet {
        RuleSet::in_force_on(self.intake.first_sick_day)
            .unwrap_or_else(|| RuleSet::get(RuleSetId::R2008))
    }

    /// The current visitation category, if visitated.
    pub fn category(&self) -> Option<Category> {
        self.facts
            .visitations
            .iter()
            .max_by_key(|v| v.on)
            .map(|v| v.category)
    }

    /// Records a change as of `today` (dates after it are refused) and bumps the version.
    pub fn apply(
        &mut self,
        change: CaseChange,
        today: NaiveDate,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), ChangeError> {
        if self.state == CaseState::Closed {
            return Err(refused(match change {
                CaseChange::Close(_) => "the case is already closed",
                _ => "the case is closed",
            }));
        }
        let d0 = self.intake.first_sick_day;
        let check_date = |invalid: &mut Invalid, field: &str, date: NaiveDate| {
            if date < d0 {
                invalid.push(field, "must not be before the first sick day");
            } else if date > today {
                invalid.push(field, "must not be after today");
            }
        };
        let check_text = |invalid: &mut Invalid, field: &str, text: &str| {
            if text.trim().is_empty() {
                invalid.push(field, "is required");
            } else if text.len() > 2_000 {
                invalid.push(field, "must be at most 2000 characters");
            }
        };
        let mut invalid = Invalid::default();
        let rs = self.rule_set();
        let facts = &mut self.facts;
        match change {
            CaseChange::Visitate(v) => {
                check_date(&mut invalid, "visited_on", v.on);
                check_text(&mut invalid, "reason", &v.reason);
                invalid.into_result(())?;
                facts.visitations.push(v);
                facts.visitations.sort_by_key(|v| v.on);
            }
            CaseChange::RecordFollowUp {
                follow_up,
                revisitation,
                prognosis,
            } => {
                check_date(&mut invalid, "held_on", follow_up.held_on);
                if let Some(next) = follow_up.next_agreed_on
                    && next <= follow_up.held_on
                {
                    invalid.push("next_agreed_on", "must be after held_on");
                }
                if follow_up.mode == ContactMode::NoContact {
                    invalid.push(
                        "contact_mode",
                        "a follow-up conversation has a contact mode",
                    );
                }
                if let Some(v) = &revisitation {
                    check_text(&mut invalid, "revisitation.reason", &v.reason);
                }
                if let Some(p) = &prognosis {
                    for (field, date) in [
                        (
                            "prognosis.expected_full_return_on",
                            p.expected_full_return_on,
                        ),
                        ("prognosis.surgery_on", p.surgery_on),
                    ] {
                        if date.is_some_and(|d| d < d0) {
                            invalid.push(field, "must not be before the first sick day");
                        }
                    }
                }
                invalid.into_result(())?;
                let mut next = facts.clone();
                if let Some(p) = prognosis {
                    next.prognoses.push(p);
                    next.prognoses.sort_by_key(|p| p.recorded_on);
                }
                let verdict =
                    followup::contact_modes(rs, &next, follow_up.held_on).check(follow_up.mode);
                if let Verdict::Refused { rule_id, reason } = verdict {
                    return Err(ChangeError::Refused {
                        rule_id: Some(rule_id),
                        reason,
                    });
                }
                if let Some(v) = revisitation {
                    next.visitations.push(v);
                    next.visitations.sort_by_key(|v| v.on);
                }
                next.follow_ups.push(follow_up);
                next.follow_ups.sort_by_key(|f| f.held_on);
                *facts = next;
            }
            CaseChange::SetExemption(e) => {
                check_date(&mut invalid, "from", e.from);
                if e.to.is_some_and(|to| to < e.from) {
                    invalid.push("to", "must not be before from");
                }
                check_text(&mut invalid, "reason", &e.reason);
                invalid.into_result(())?;
                if facts.exemptions_on(e.from).any(|x| x.ground == e.ground) {
                    return Err(refused("an exemption on that ground is already in force"));
                }
                facts.exemptions.push(e);
            }
            CaseChange::LiftExemption { ground, on } => {
                check_date(&mut invalid, "lifted_on", on);
                invalid.into_result(())?;
                let active = facts
                    .exemptions
                    .iter_mut()
                    .find(|x| x.ground == ground && x.covers(on))
                    .ok_or_else(|| {
                        refused("no exemption on that ground is in force on that date")
                    })?;
                active.to = Some(on);
            }
            CaseChange::RecordPartialReturn(p) => {
                check_date(&mut invalid, "from", p.from);
                if p.to.is_some_and(|to| to < p.from) {
                    invalid.push("to", "must not be before from");
                }
                let minutes = p.hours_per_week.as_minutes();
                if minutes == 0 || minutes >= FULL_TIME_MINUTES {
                    invalid.push(
                        "hours_per_week",
                        "must be more than 0 and less than 37 (full time)",
                    );
                }
                invalid.into_result(())?;
                if let Some(open) = facts
                    .partial_returns
                    .iter_mut()
                    .find(|x| x.to.is_none() && x.from < p.from)
                {
                    open.to = p.from.pred_opt();
                }
                facts.partial_returns.push(p);
                facts.partial_returns.sort_by_key(|p| p.from);
            }
            CaseChange::RecordStep { step, on } => {
                check_date(&mut invalid, "on", on);
                invalid.into_result(())?;
                let slot = match step {
                    CaseStep::EmployerNotified => &mut facts.employer_notified_on,
                    CaseStep::SelfReported => &mut facts.self_reported_on,
                    CaseStep::EmployerConversationHeld => &mut facts.employer_conversation_on,
                    CaseStep::InformationFormSent => &mut facts.information_form_sent_on,
                    CaseStep::InformationFormReturned => &mut facts.information_form_returned_on,
                    CaseStep::FollowUpPlanMade => &mut facts.follow_up_plan_on,
                    CaseStep::Reassessed => &mut facts.reassessed_on,
                    CaseStep::RehabilitationTeam => &mut facts.rehabilitation_team_on,
                };
                *slot = Some(on);
            }
            CaseChange::Close(c) => {
                check_date(&mut invalid, "closed_on", c.on);
                if let Outcome::Other(text) = &c.outcome {
                    check_text(&mut invalid, "outcome_note", text);
                }
                invalid.into_result(())?;
                facts.closed = Some(c);
                self.state = CaseState::Closed;
            }
        }
        self.version += 1;
        self.updated_at = now;
        Ok(())
    }
}

/// 37 hours a week: Danish full time, the ceiling of a partial return.
const FULL_TIME_MINUTES: u32 = 37 * 60;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn raw<'a>() -> RawIntake<'a> {
        RawIntake {
            municipality_code: "630",
            first_sick_day: "2026-10-01",
            employment_status: Some(EmploymentStatus::Employed),
            employer_reference: "CVR-12345678",
            citizen_reference: "vejle-lene-1",
        }
    }

    #[test]
    fn a_valid_intake_parses() {
        let intake = CaseIntake::parse(&raw(), today(), "case.").unwrap();
        assert_eq!(intake.municipality.as_str(), "630");
        assert_eq!(
            intake.first_sick_day,
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        );
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let bad = RawIntake {
            municipality_code: "99",
            first_sick_day: "2026-13-01",
            employment_status: None,
            employer_reference: "",
            citizen_reference: "",
        };
        let err = CaseIntake::parse(&bad, today(), "case.").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "case.municipality_code",
                "case.first_sick_day",
                "case.employment_status",
                "case.citizen_reference"
            ]
        );
    }

    #[test]
    fn employer_reference_is_required_only_when_employed() {
        let mut r = raw();
        r.employer_reference = "";
        let err = CaseIntake::parse(&r, today(), "").unwrap_err();
        assert_eq!(err.0[0].field, "employer_reference");
        r.employment_status = Some(EmploymentStatus::UnemployedInsured);
        assert!(CaseIntake::parse(&r, today(), "").is_ok());
    }

    #[test]
    fn a_first_sick_day_in_the_future_is_refused() {
        let mut r = raw();
        r.first_sick_day = "2026-11-23";
        let err = CaseIntake::parse(&r, today(), "").unwrap_err();
        assert_eq!(err.0[0].field, "first_sick_day");
    }

    #[test]
    fn a_cpr_number_is_never_accepted_as_a_reference_nor_echoed() {
        for cpr in ["0101701234", "010170-1234"] {
            let mut r = raw();
            r.citizen_reference = cpr;
            let err = CaseIntake::parse(&r, today(), "").unwrap_err();
            assert_eq!(err.0[0].field, "citizen_reference");
            assert!(!err.to_string().contains(cpr));
        }
        assert!(!looks_like_cpr("4401701234"), "day 44 is no CPR date");
        assert!(!looks_like_cpr("CVR-12345678"));
        assert!(looks_like_cpr("3112991234") && looks_like_cpr("311299-1234"));
        for not_cpr in [
            "3212991234",
            "0113991234",
            "0100991234",
            "01017012345",
            "0101701-234",
            "010170-12a4",
            "010170 1234",
            "01017O1234",
            "+101701234",
            "٠١٠١٧٠١٢٣٤",
        ] {
            assert!(!looks_like_cpr(not_cpr), "{not_cpr}");
        }
    }

    #[test]
    fn municipality_codes_are_three_digits_in_range() {
        assert!(MunicipalityCode::parse("101").is_ok());
        assert!(MunicipalityCode::parse("860").is_ok());
        for bad in ["100", "861", "6300", "63a", "", "+63"] {
            assert!(MunicipalityCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn case_ids_sort_by_creation_time_and_round_trip() {
        let a = CaseId::new(1_700_000_000_000, u128::MAX);
        let b = CaseId::new(1_700_000_000_001, 0);
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
        assert_eq!(a.to_string().parse::<CaseId>().unwrap(), a);
    }

    #[test]
    fn case_ids_within_one_millisecond_sort_by_microsecond() {
        // Random bits that would put the earlier case last without the sub-millisecond part.
        let earlier = CaseId::from_micros(1_700_000_000_000_123, u128::MAX);
        let later = CaseId::from_micros(1_700_000_000_000_124, 0);
        assert!(earlier < later);
        assert_eq!(later.as_uuid().get_version_num(), 7);
        let next_ms = CaseId::from_micros(1_700_000_000_001_000, 0);
        assert!(CaseId::from_micros(1_700_000_000_000_999, u128::MAX) < next_ms);
    }
}
