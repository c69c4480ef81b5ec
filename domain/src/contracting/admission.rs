//! Whether a contract takes a new referral: inside its period, within its capacity, from its
//! own municipality, and not twice for the same case. A refusal is a reasoned verdict naming
//! the rule; the service answers `FAILED_PRECONDITION` with `ErrorInfo.metadata.rule_id`.
//!
//! The seeds state no contract terms; these rules are INFERRED from what a contract is
//! (DOMAIN.md §1.1: other actors are contracted by the municipality, [003 P23]
//! 003_532c043554107ee2.txt). Their identifiers live here rather than in
//! [`crate::rules::RuleId`] because they are contract terms, not law.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::case::{CaseId, MunicipalityCode};

use super::model::Contract;
use super::referral::Referral;

/// Identifiers of the contracting rules, serialized as the string shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ContractRuleId {
    /// Referral date inside the contract period.
    #[serde(rename = "CON-period")]
    Period,
    /// Only the contracting municipality refers cases under a contract.
    #[serde(rename = "CON-municipality")]
    Municipality,
    /// A case is referred at most once at a time under one contract.
    #[serde(rename = "CON-duplicate")]
    Duplicate,
    /// Referrals received per window (month, quarter, year, contract period).
    #[serde(rename = "CON-capacity-window")]
    CapacityWindow,
    /// Referrals in progress at once.
    #[serde(rename = "CON-capacity-concurrent")]
    CapacityConcurrent,
    /// AL-21: referral → start or referral → placement over the contract's target
    /// (benchmarks 4.9 and 19 days, [004 §7]).
    #[serde(rename = "AL-21")]
    Al21,
}

impl ContractRuleId {
    pub const ALL: [Self; 6] = [
        Self::Period,
        Self::Municipality,
        Self::Duplicate,
        Self::CapacityWindow,
        Self::CapacityConcurrent,
        Self::Al21,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Period => "CON-period",
            Self::Municipality => "CON-municipality",
            Self::Duplicate => "CON-duplicate",
            Self::CapacityWindow => "CON-capacity-window",
            Self::CapacityConcurrent => "CON-capacity-concurrent",
            Self::Al21 => "AL-21",
        }
    }

    /// Where the rule comes from.
    pub const fn source(self) -> &'static str {
        match self {
            Self::Al21 => {
                "DOMAIN.md §2.6 AL-21 on T-23/T-23b, [004 §7] 004_29a2444e953dfa53.txt \
                 (INFERRED alert)"
            }
            _ => {
                "contract term (INFERRED; other actors contracted by the municipality, \
                 [003 P23] 003_532c043554107ee2.txt)"
            }
        }
    }
}

impl fmt::Display for ContractRuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The decision on a new referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum AdmissionVerdict {
    Allowed,
    Refused {
        rule_id: ContractRuleId,
        /// Safe to show and log: dates and counts, no personal data.
        reason: String,
    },
}

impl AdmissionVerdict {
    pub fn is_allowed(&self) -> bool {
        matches!(self, AdmissionVerdict::Allowed)
    }

    fn refused(rule_id: ContractRuleId, reason: impl fmt::Display) -> Self {
        AdmissionVerdict::Refused {
            rule_id,
            reason: format!("{reason} — {rule_id} {}", rule_id.source()),
        }
    }
}

/// Whether `contract` takes a referral of `case` (of municipality `case_municipality`) dated
/// `referred_on`, given the referrals it already has (`existing`; referrals under other
/// contracts are ignored, the new one must not be among them).
///
/// Checks in order, first refusal wins: municipality, period, duplicate, per-window capacity,
/// concurrent capacity. Concurrent capacity is checked on the referral date *and* on every
/// later date an existing referral was received, so a back-dated referral cannot push a later
/// day over the cap. See [`super::model::Capacity`] for what counts.
pub fn admit_referral(
    contract: &Contract,
    existing: &[Referral],
    case_municipality: &MunicipalityCode,
    case: CaseId,
    referred_on: NaiveDate,
) -> AdmissionVerdict {
    if *case_municipality != contract.municipality {
        return AdmissionVerdict::refused(
            ContractRuleId::Municipality,
            format!(
                "the contract is municipality {}'s; the case belongs to {}",
                contract.municipality, case_municipality
            ),
        );
    }
    if !contract.period.contains(referred_on) {
        return AdmissionVerdict::refused(
            ContractRuleId::Period,
            format!(
                "referral date {referred_on} is outside the contract period {}",
                contract.period
            ),
        );
    }
    let mine: Vec<&Referral> = existing
        .iter()
        .filter(|r| r.contract == contract.id)
        .collect();
    if let Some(open) = mine
        .iter()
        .find(|r| r.case == case && r.in_progress_on(referred_on))
    {
        return AdmissionVerdict::refused(
            ContractRuleId::Duplicate,
            format!(
                "the case already has a referral under this contract in progress since {}",
                open.referred_on
            ),
        );
    }
    if let Some(cap) = contract.capacity.per_window {
        let window = cap.window.containing(referred_on, &contract.period);
        let used = mine
            .iter()
            .filter(|r| !r.is_withdrawn() && window.contains(r.referred_on))
            .count();
        if used >= usize::try_from(cap.max).unwrap_or(usize::MAX) {
            return AdmissionVerdict::refused(
                ContractRuleId::CapacityWindow,
                format!(
                    "the contract takes at most {} referrals in {window}; {used} already received",
                    cap.max
                ),
            );
        }
    }
    if let Some(max) = contract.capacity.max_concurrent {
        let max = usize::try_from(max).unwrap_or(usize::MAX);
        let checkpoints = std::iter::once(referred_on).chain(
            mine.iter()
                .map(|r| r.referred_on)
                .filter(|d| *d > referred_on),
        );
        for day in checkpoints {
            let busy = mine.iter().filter(|r| r.in_progress_on(day)).count();
            if busy >= max {
                return AdmissionVerdict::refused(
                    ContractRuleId::CapacityConcurrent,
                    format!(
                        "the contract takes at most {max} referrals at once; \
                         {busy} in progress on {day}"
                    ),
                );
            }
        }
    }
    AdmissionVerdict::Allowed
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::contracting::model::{
        Capacity, CapacityWindow, ContractId, DateRange, Price, PriceUnit, ProviderId, ServiceType,
        WindowCap,
    };
    use crate::contracting::referral::{CourseEnd, EndOutcome, ReferralId};
    use crate::weeks::day;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn contract(capacity: Capacity) -> Contract {
        Contract {
            id: ContractId::new(1, 1),
            provider: ProviderId::new(1, 2),
            municipality: MunicipalityCode::parse("265").unwrap(),
            service: ServiceType::ReturnToWorkCourse,
            price: Price {
                amount: 386_000,
                per: PriceUnit::Course,
            },
            capacity,
            period: DateRange::new(d(2011, 1, 1), d(2011, 12, 31)).unwrap(),
            targets: vec![],
            delegated_tasks: vec![],
        }
    }

    fn referral(n: u128, on: NaiveDate, end: Option<(NaiveDate, EndOutcome)>) -> Referral {
        Referral {
            id: ReferralId::new(1, n),
            contract: ContractId::new(1, 1),
            case: CaseId::new(1, n),
            first_sick_day: day(on, -100),
            referred_on: on,
            started_on: end
                .filter(|(_, o)| *o != EndOutcome::Withdrawn)
                .map(|_| day(on, 3)),
            placement_on: None,
            partial_return_on: None,
            satisfied: None,
            ended: end.map(|(on, outcome)| CourseEnd { on, outcome }),
        }
    }

    fn m265() -> MunicipalityCode {
        MunicipalityCode::parse("265").unwrap()
    }

    fn rule_of(v: &AdmissionVerdict) -> Option<ContractRuleId> {
        match v {
            AdmissionVerdict::Allowed => None,
            AdmissionVerdict::Refused { rule_id, .. } => Some(*rule_id),
        }
    }

    #[test]
    fn period_bounds_are_inclusive() {
        let c = contract(Capacity::default());
        let new = CaseId::new(9, 9);
        assert!(admit_referral(&c, &[], &m265(), new, d(2011, 1, 1)).is_allowed());
        assert!(admit_referral(&c, &[], &m265(), new, d(2011, 12, 31)).is_allowed());
        for outside in [d(2010, 12, 31), d(2012, 1, 1)] {
            let v = admit_referral(&c, &[], &m265(), new, outside);
            assert_eq!(rule_of(&v), Some(ContractRuleId::Period));
        }
    }

    #[test]
    fn concurrent_capacity_frees_a_slot_on_the_end_date() {
        let c = contract(Capacity {
            max_concurrent: Some(2),
            per_window: None,
        });
        let existing = [
            referral(1, d(2011, 3, 1), None),
            referral(
                2,
                d(2011, 3, 2),
                Some((d(2011, 4, 10), EndOutcome::RecoveredFully)),
            ),
        ];
        let new = CaseId::new(9, 9);
        let full = admit_referral(&c, &existing, &m265(), new, d(2011, 4, 9));
        assert_eq!(rule_of(&full), Some(ContractRuleId::CapacityConcurrent));
        assert!(admit_referral(&c, &existing, &m265(), new, d(2011, 4, 10)).is_allowed());
        let backdated = admit_referral(&c, &existing, &m265(), new, d(2011, 2, 1));
        assert_eq!(
            rule_of(&backdated),
            Some(ContractRuleId::CapacityConcurrent),
            "a back-dated referral would overfill 2 March"
        );
    }

    #[test]
    fn window_capacity_ignores_withdrawn_referrals() {
        let c = contract(Capacity {
            max_concurrent: None,
            per_window: Some(WindowCap {
                max: 2,
                window: CapacityWindow::CalendarMonth,
            }),
        });
        let mut existing = vec![
            referral(1, d(2011, 3, 1), None),
            referral(
                2,
                d(2011, 3, 5),
                Some((d(2011, 3, 6), EndOutcome::Withdrawn)),
            ),
            referral(3, d(2011, 2, 28), None),
        ];
        let new = CaseId::new(9, 9);
        assert!(admit_referral(&c, &existing, &m265(), new, d(2011, 3, 20)).is_allowed());
        existing.push(referral(4, d(2011, 3, 10), None));
        let v = admit_referral(&c, &existing, &m265(), new, d(2011, 3, 20));
        assert_eq!(rule_of(&v), Some(ContractRuleId::CapacityWindow));
        assert!(admit_referral(&c, &existing, &m265(), new, d(2011, 4, 1)).is_allowed());
    }

    #[test]
    fn other_municipality_and_duplicates_are_refused() {
        let c = contract(Capacity::default());
        let existing = [referral(1, d(2011, 3, 1), None)];
        let other = MunicipalityCode::parse("630").unwrap();
        let v = admit_referral(&c, &existing, &other, CaseId::new(9, 9), d(2011, 3, 2));
        assert_eq!(rule_of(&v), Some(ContractRuleId::Municipality));
        let v = admit_referral(&c, &existing, &m265(), CaseId::new(1, 1), d(2011, 3, 2));
        assert_eq!(rule_of(&v), Some(ContractRuleId::Duplicate));
        if let AdmissionVerdict::Refused { reason, .. } = v {
            assert!(reason.contains("CON-duplicate"), "{reason}");
        }
    }

    #[test]
    fn rule_ids_deserialize_from_their_strings() {
        use serde::de::IntoDeserializer;
        for id in ContractRuleId::ALL {
            let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
                id.as_str().into_deserializer();
            assert_eq!(ContractRuleId::deserialize(de).unwrap(), id);
        }
    }
}
