//! Visitation (DOMAIN.md §3.1): the category hint today's law derives from the expected return
//! date, and whether the jobcentre must contact the employer at the first follow-up ([001 I7]).
//! The category itself stays the caseworker's decision, recorded as a [`Visitation`] fact with
//! its reason; the category in force on a date is [`CaseFacts::category_on`].
//!
//! [`Visitation`]: crate::facts::Visitation

use crate::facts::{CaseFacts, Category};
use crate::rules::{RuleId, RuleSet};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A category a rule derives from the facts, for the caseworker to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryHint {
    /// `One`, or `Two` meaning "2 or 3": category 3 needs the interdisciplinary judgement.
    pub category: Category,
    pub rule_id: RuleId,
    pub reason: String,
}

/// SDL § 12: category 1 when full return is expected within 8 weeks of the first absence day.
/// `None` where the rule set defines categories by judgement only (the seed regimes) or no
/// expected return date is recorded.
pub fn category_hint(rs: &RuleSet, facts: &CaseFacts, on: NaiveDate) -> Option<CategoryHint> {
    let rule = rs.category_one_if_back_by.as_ref()?;
    let back = facts.prognosis_on(on)?.expected_full_return_on?;
    let limit = rule.value.date(facts.first_sick_day);
    let (category, relation) = if back <= limit {
        (Category::One, "on or before")
    } else {
        (Category::Two, "after")
    };
    Some(CategoryHint {
        category,
        rule_id: rule.id,
        reason: format!(
            "full return expected {back}, {relation} {limit}: {}",
            rule.note
        ),
    })
}

/// Whether the jobcentre must contact the employer in connection with the first follow-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "employer_contact", rename_all = "snake_case")]
pub enum EmployerContact {
    Required { rule_id: RuleId, reason: String },
    NotRequired { rule_id: RuleId, reason: String },
}

/// [001 I7]: no employer contact at the first follow-up when full-time return is certain within
/// 13 weeks of the scheduled talk and health is unproblematic, or when the case is category 3.
/// `certain_return` is the caseworker's judgement that both hold for the recorded return date.
pub fn employer_contact_at_first_follow_up(
    rs: &RuleSet,
    facts: &CaseFacts,
    scheduled_on: NaiveDate,
    certain_return: bool,
) -> EmployerContact {
    let Some(rule) = &rs.contact.employer_contact else {
        return EmployerContact::Required {
            rule_id: rs.first_follow_up.id,
            reason: "no relief in this rule set: coordinate with the employer ([003 F1 ch3] T-14)"
                .into(),
        };
    };
    if let Some(cat) = facts
        .category_on(scheduled_on)
        .filter(|c| rule.value.not_for.contains(c))
    {
        return EmployerContact::NotRequired {
            rule_id: rule.id,
            reason: format!("category {cat:?}: {}", rule.cite()),
        };
    }
    let limit = rule.value.certain_return_within.after(scheduled_on);
    match facts
        .prognosis_on(scheduled_on)
        .and_then(|p| p.expected_full_return_on)
    {
        Some(back) if certain_return && back <= limit => EmployerContact::NotRequired {
            rule_id: rule.id,
            reason: format!(
                "full-time return certain by {back} (limit {limit}): {}",
                rule.cite()
            ),
        },
        _ => EmployerContact::Required {
            rule_id: rule.id,
            reason: format!("no certain full-time return by {limit}: {}", rule.cite()),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::facts::{EmploymentStatus, Prognosis, Visitation};
    use crate::rules::RuleSetId;
    use crate::weeks::day;

    fn facts(d0: NaiveDate, back: i64) -> CaseFacts {
        let mut f = CaseFacts::new(d0, EmploymentStatus::Employed);
        f.prognoses.push(Prognosis {
            recorded_on: day(d0, 10),
            clear_diagnosis: true,
            expected_full_return_on: Some(day(d0, back)),
            surgery_on: None,
            partial_return_possible: None,
        });
        f
    }

    #[test]
    fn sdl_12_category_one_if_back_within_8_weeks() {
        let d0 = NaiveDate::from_ymd_opt(2026, 2, 2).unwrap();
        let rs = RuleSet::get(RuleSetId::L2014);
        let hint = category_hint(rs, &facts(d0, 55), day(d0, 20)).unwrap();
        assert_eq!(
            (hint.category, hint.rule_id),
            (Category::One, RuleId::Sdl12)
        );
        assert_eq!(
            category_hint(rs, &facts(d0, 56), day(d0, 20))
                .unwrap()
                .category,
            Category::Two
        );
        assert!(
            category_hint(RuleSet::get(RuleSetId::R2008), &facts(d0, 20), day(d0, 20)).is_none()
        );
    }

    #[test]
    fn i7_employer_contact_at_first_follow_up() {
        let d0 = NaiveDate::from_ymd_opt(2011, 3, 7).unwrap();
        let rs = RuleSet::get(RuleSetId::A2010);
        let talk = day(d0, 50);
        let near = facts(d0, 50 + 91);
        assert!(matches!(
            employer_contact_at_first_follow_up(rs, &near, talk, true),
            EmployerContact::NotRequired {
                rule_id: RuleId::I7,
                ..
            }
        ));
        assert!(matches!(
            employer_contact_at_first_follow_up(rs, &near, talk, false),
            EmployerContact::Required { .. }
        ));
        let far = facts(d0, 50 + 92);
        assert!(matches!(
            employer_contact_at_first_follow_up(rs, &far, talk, true),
            EmployerContact::Required { .. }
        ));
        let mut cat3 = far.clone();
        cat3.visitations.push(Visitation {
            on: day(d0, 30),
            category: Category::Three,
            reason: String::new(),
        });
        assert!(matches!(
            employer_contact_at_first_follow_up(rs, &cat3, talk, false),
            EmployerContact::NotRequired { .. }
        ));
        assert!(matches!(
            employer_contact_at_first_follow_up(RuleSet::get(RuleSetId::R2008), &cat3, talk, true),
            EmployerContact::Required { .. }
        ));
    }
}
