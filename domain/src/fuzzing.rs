//! Fuzz target bodies, callable from stable Rust: `fuzz/` runs them under libFuzzer, and the
//! test below replays the checked-in corpus (`fuzz/corpus/<target>/*`) through them, so every
//! input that once crashed stays a regression test. Each must never panic, whatever the bytes.

use chrono::{Duration, NaiveDate, TimeZone, Utc};

use crate::case::{
    Case, CaseChange, CaseId, CaseIntake, CaseStep, EmploymentStatus, ExternalReference,
    MunicipalityCode,
};
use crate::facts::{
    Category, Closure, ContactMode, Exemption, ExemptionGround, FollowUp, Outcome, PartialReturn,
    Prognosis, Visitation, WeeklyHours,
};
use crate::icf::{IcfCode, IcfItem};
use crate::rules::RuleSet;
use crate::timeline::timeline;

/// The ICF code parser: codes and written items (code, separator, qualifier digits). A parsed
/// item written out again parses to the same item.
pub fn icf_code(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = IcfCode::parse(&text);
    let _ = IcfCode::parse_grammar(&text);
    if let Ok(item) = IcfItem::parse(&text) {
        let again = IcfItem::parse(&item.to_string());
        assert_eq!(again.ok(), Some(item), "{text:?} written as {item}");
    }
}

/// Reads the fuzzer's bytes as small numbers, zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[usize::from(self.byte()) % from.len()]
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

const MODES: [ContactMode; 5] = [
    ContactMode::InPerson,
    ContactMode::Phone,
    ContactMode::Digital,
    ContactMode::Letter,
    ContactMode::NoContact,
];
const GROUNDS: [ExemptionGround; 5] = [
    ExemptionGround::TreatmentIsObstacle,
    ExemptionGround::Terminal,
    ExemptionGround::Standby,
    ExemptionGround::SurgeryWithin13Weeks,
    ExemptionGround::ReturnWithin13Weeks,
];
const STEPS: [CaseStep; 4] = [
    CaseStep::EmployerNotified,
    CaseStep::FollowUpPlanMade,
    CaseStep::Reassessed,
    CaseStep::RehabilitationTeam,
];

/// The rule engine's inputs: a case opened on a first sick day between 2008 and 2027, a
/// sequence of changes on dates around it (each accepted or refused by the rules), and after
/// each one the timeline as of an instant, under the case's rule set and a named one.
pub fn rule_engine(data: &[u8]) {
    let mut b = Bytes(data);
    let epoch = NaiveDate::from_ymd_opt(2008, 1, 1).unwrap_or_default();
    let d0 = epoch + Duration::days(i64::from(b.u16() % 7300));
    let Ok(citizen) = ExternalReference::parse("fuzz-citizen") else {
        return;
    };
    let Ok(municipality) = MunicipalityCode::parse("630") else {
        return;
    };
    let intake = CaseIntake {
        municipality,
        first_sick_day: d0,
        employment_status: b.pick(&EmploymentStatus::ALL),
        employer_reference: None,
        citizen_reference: citizen,
    };
    let now = Utc
        .timestamp_opt(1_700_000_000, 0)
        .single()
        .unwrap_or_default();
    let mut case = Case::open(CaseId::new(0, 0), intake, now);
    let mut steps = 0;
    while !b.is_empty() && steps < 64 {
        steps += 1;
        // Dates from a week before the first sick day to about three years after it.
        let date = |b: &mut Bytes<'_>| d0 + Duration::days(i64::from(b.u16() % 1100) - 7);
        let on = date(&mut b);
        let today = on + Duration::days(i64::from(b.byte()));
        let change = match b.byte() % 8 {
            0 => CaseChange::Visitate(Visitation {
                on,
                category: b.pick(&Category::ALL),
                reason: "fuzz".into(),
            }),
            1 => CaseChange::RecordFollowUp {
                follow_up: FollowUp {
                    held_on: on,
                    mode: b.pick(&MODES),
                    outcome: String::new(),
                    next_agreed_on: (b.byte() % 2 == 0).then(|| date(&mut b)),
                },
                revisitation: (b.byte() % 3 == 0).then(|| Visitation {
                    on,
                    category: b.pick(&Category::ALL),
                    reason: String::new(),
                }),
                prognosis: (b.byte() % 3 == 0).then(|| Prognosis {
                    recorded_on: on,
                    clear_diagnosis: b.byte() % 2 == 0,
                    expected_full_return_on: (b.byte() % 2 == 0).then(|| date(&mut b)),
                    surgery_on: (b.byte() % 2 == 0).then(|| date(&mut b)),
                    partial_return_possible: match b.byte() % 3 {
                        0 => None,
                        1 => Some(true),
                        _ => Some(false),
                    },
                }),
            },
            2 => CaseChange::SetExemption(Exemption {
                ground: b.pick(&GROUNDS),
                from: on,
                to: (b.byte() % 2 == 0).then(|| date(&mut b)),
                reason: String::new(),
            }),
            3 => CaseChange::LiftExemption {
                ground: b.pick(&GROUNDS),
                on,
            },
            4 => CaseChange::RecordPartialReturn(PartialReturn {
                from: on,
                to: (b.byte() % 2 == 0).then(|| date(&mut b)),
                hours_per_week: WeeklyHours::minutes(u32::from(b.u16())),
            }),
            5 | 6 => CaseChange::RecordStep {
                step: b.pick(&STEPS),
                on,
            },
            _ => CaseChange::Close(Closure {
                on,
                outcome: Outcome::FullReturn,
            }),
        };
        let _ = case.apply(change, today, now);
        let as_of = date(&mut b);
        let _ = timeline(&case.facts, case.rule_set(), as_of);
        let sets = RuleSet::all();
        let named = &sets[usize::from(b.byte()) % sets.len()];
        let _ = timeline(&case.facts, named, as_of);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_items_round_trip() {
        for written in ["b28013.2", "e310+2", "d430.23", "s12000.273"] {
            icf_code(written.as_bytes());
        }
    }

    #[test]
    fn a_case_history_runs_through_the_rules() {
        rule_engine(&[7, 3, 1, 20, 0, 3, 0, 1, 40, 0, 9, 1, 0, 60, 0, 2, 5, 7]);
    }
}
