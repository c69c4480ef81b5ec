//! Checks the plan service runs before accepting an active offer (aktivt tilbud) decided by the
//! jobcentre (DOMAIN.md §3.2–3.4, §4.1; alerts AL-13, AL-14, AL-16, AL-17). Each check returns
//! a reasoned [`Verdict`] naming the rule, so a refusal can go straight into the case record.
//! Employer-organised offers are voluntary ([002 §1.3]) and are not subject to these checks.

use crate::facts::{CaseFacts, EmploymentStatus, OfferType, WeeklyHours};
use crate::rules::{MinHours, Rule, RuleSet, Verdict, WageSubsidyPolicy, exemption_rule};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// An offer the caseworker wants to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferProposal {
    pub starts_on: NaiveDate,
    pub kind: OfferType,
    pub hours_per_week: WeeklyHours,
    /// Documented reason the person can manage fewer hours than the minimum ([003 P21], \[000\]).
    pub fewer_hours_reason: Option<String>,
    /// Why combining the offer with a gradual return speeds return to work ([001 I6]).
    pub combination_reason: Option<String>,
    /// Offer placed at the person's current workplace (matters for wage subsidy, A8).
    pub at_own_workplace: bool,
}

/// Runs every check in order and returns the first refusal, or `Allowed`.
pub fn check_offer(rs: &RuleSet, facts: &CaseFacts, offer: &OfferProposal) -> Verdict {
    let on = offer.starts_on;
    [
        check_offers_for_all(rs),
        check_exemption(facts, on),
        check_least_sick(rs, facts, on),
        check_partial_return_first(rs, facts, offer),
        check_min_hours(rs, facts, offer),
        check_wage_subsidy(rs, facts, offer),
    ]
    .into_iter()
    .find(|v| !v.is_allowed())
    .unwrap_or(Verdict::Allowed)
}

/// [003 P20]: before the 2009 reform only persons entitled to revalidering could get offers.
pub fn check_offers_for_all(rs: &RuleSet) -> Verdict {
    let rule = &rs.offers.for_all;
    if rule.value {
        Verdict::Allowed
    } else {
        Verdict::refused(
            rule,
            format!("{:?} gives no offers to sick-listed in general", rs.id),
        )
    }
}

/// DOMAIN.md §3.2: no offers while an exemption or standby that covers offers is in force.
pub fn check_exemption(facts: &CaseFacts, on: NaiveDate) -> Verdict {
    match facts.exemptions_on(on).find(|e| e.ground.scope().offers) {
        Some(e) => Verdict::refused(
            &exemption_rule(e.ground),
            format!("exempt ({:?}) since {}: {}", e.ground, e.from, e.reason),
        ),
        None => Verdict::Allowed,
    }
}

/// [001 I2] / AL-13 "least sick": an employed person with a clear diagnosis and a realistic full
/// return within 8 weeks of the (latest) follow-up gets no new active offers.
pub fn check_least_sick(rs: &RuleSet, facts: &CaseFacts, on: NaiveDate) -> Verdict {
    let Some(rule) = &rs.offers.least_sick else {
        return Verdict::Allowed;
    };
    let facts = facts.known_on(on);
    let Some(p) = facts.prognosis_on(on) else {
        return Verdict::Allowed;
    };
    let from = facts.follow_ups.last().map_or(on, |f| f.held_on);
    let limit = rule.value.after(from);
    match p.expected_full_return_on {
        Some(back)
            if facts.employment == EmploymentStatus::Employed
                && p.clear_diagnosis
                && back <= limit =>
        {
            Verdict::refused(
                rule,
                format!(
                    "clear diagnosis and full return expected {back}, within 8 weeks of the \
                     follow-up on {from} (limit {limit}); support workplace contact and gradual \
                     return instead"
                ),
            )
        }
        _ => Verdict::Allowed,
    }
}

/// [001 I6] / AL-14: gradual return always comes before active offers; an offer alongside it
/// needs a recorded reason that the combination speeds return.
pub fn check_partial_return_first(
    rs: &RuleSet,
    facts: &CaseFacts,
    offer: &OfferProposal,
) -> Verdict {
    let Some(rule) = &rs.offers.partial_return_first else {
        return Verdict::Allowed;
    };
    if offer.combination_reason.is_some() {
        return Verdict::Allowed;
    }
    let on = offer.starts_on;
    if let Some(p) = facts.partial_return_on(on) {
        return Verdict::refused(
            rule,
            format!(
                "in gradual return ({}) since {}; record why combining it with the offer speeds \
                 return",
                p.hours_per_week, p.from
            ),
        );
    }
    match facts
        .prognosis_on(on)
        .and_then(|p| p.partial_return_possible)
    {
        Some(false) => Verdict::Allowed,
        Some(true) => Verdict::refused(
            rule,
            "gradual return is possible: start it before any offer",
        ),
        None => Verdict::refused(
            rule,
            "whether gradual return is possible has not been assessed",
        ),
    }
}

/// The hour rule in force for this case: the trial's (T-18d) for participants, else the rule
/// set's (P21 / [004 fig.3]).
pub fn min_hours_rule(rs: &RuleSet, trial_participant: bool) -> Option<&Rule<MinHours>> {
    match &rs.trial {
        Some(trial) if trial_participant => Some(&trial.min_hours),
        _ => rs.offers.min_hours.as_ref(),
    }
}

/// Whether `hours` satisfies the rule, counting a documented reduction where the rule allows it.
pub fn meets_min_hours(rule: &MinHours, hours: WeeklyHours, documented: bool) -> bool {
    rule.met_by(hours)
        || (rule.fewer_with_documentation
            && documented
            && hours > WeeklyHours::default()
            && rule.floor.is_none_or(|floor| hours >= floor))
}

/// T-18d, [003 P21], [004 fig.3] / AL-17: minimum weekly hours of an offer, adaptable down with a
/// documented reason. Not applied while the person is in gradual return: that week is active
/// already (INFERRED).
pub fn check_min_hours(rs: &RuleSet, facts: &CaseFacts, offer: &OfferProposal) -> Verdict {
    let Some(rule) = min_hours_rule(rs, facts.trial) else {
        return Verdict::Allowed;
    };
    let documented = offer.fewer_hours_reason.is_some();
    if facts.partial_return_on(offer.starts_on).is_some()
        || meets_min_hours(&rule.value, offer.hours_per_week, documented)
    {
        return Verdict::Allowed;
    }
    let m = rule.value;
    let floor = m
        .floor
        .map_or(String::new(), |f| format!(", never below {f}"));
    let reduce = if m.fewer_with_documentation {
        format!("; fewer only with a documented reason{floor}")
    } else {
        String::new()
    };
    Verdict::refused(
        rule,
        format!(
            "{} is below the minimum ({:?} {}){reduce}",
            offer.hours_per_week, m.comparison, m.min
        ),
    )
}

/// A8: wage subsidy restrictions — [003 P20] excludes the employed, [002 §1.2] only their
/// current workplace.
pub fn check_wage_subsidy(rs: &RuleSet, facts: &CaseFacts, offer: &OfferProposal) -> Verdict {
    let Some(rule) = &rs.offers.wage_subsidy else {
        return Verdict::Allowed;
    };
    if offer.kind != OfferType::WageSubsidy {
        return Verdict::Allowed;
    }
    match rule.value {
        WageSubsidyPolicy::EmployedExcluded if facts.employment == EmploymentStatus::Employed => {
            Verdict::refused(
                rule,
                "employed sick-listed cannot get wage subsidy; use partial return",
            )
        }
        WageSubsidyPolicy::NotAtOwnWorkplace if offer.at_own_workplace => {
            Verdict::refused(rule, "wage subsidy cannot be used at the current workplace")
        }
        _ => Verdict::Allowed,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::facts::{
        ContactMode, Exemption, ExemptionGround, FollowUp, PartialReturn, Prognosis,
    };
    use crate::rules::{RuleId, RuleSetId};
    use crate::weeks::day;

    fn d0() -> NaiveDate {
        NaiveDate::from_ymd_opt(2011, 2, 7).unwrap()
    }

    fn rs(id: RuleSetId) -> &'static RuleSet {
        RuleSet::get(id)
    }

    fn offer(hours: u32) -> OfferProposal {
        OfferProposal {
            starts_on: day(d0(), 70),
            kind: OfferType::WorkPlacement,
            hours_per_week: WeeklyHours::hours(hours),
            fewer_hours_reason: None,
            combination_reason: None,
            at_own_workplace: false,
        }
    }

    fn facts(partial_possible: Option<bool>) -> CaseFacts {
        let mut f = CaseFacts::new(d0(), EmploymentStatus::Employed);
        f.follow_ups.push(FollowUp {
            held_on: day(d0(), 50),
            mode: ContactMode::InPerson,
            outcome: String::new(),
            next_agreed_on: None,
        });
        f.prognoses.push(Prognosis {
            recorded_on: day(d0(), 50),
            clear_diagnosis: false,
            expected_full_return_on: Some(day(d0(), 200)),
            surgery_on: None,
            partial_return_possible: partial_possible,
        });
        f
    }

    fn refused_by(v: Verdict) -> RuleId {
        match v {
            Verdict::Refused { rule_id, .. } => rule_id,
            Verdict::Allowed => panic!("expected a refusal"),
        }
    }

    #[test]
    fn p20_no_general_offers_before_2009() {
        assert_eq!(
            refused_by(check_offer(
                rs(RuleSetId::R2008),
                &facts(Some(false)),
                &offer(10)
            )),
            RuleId::P20
        );
        assert!(check_offer(rs(RuleSetId::R2009), &facts(Some(false)), &offer(10)).is_allowed());
    }

    #[test]
    fn exemption_and_standby_block_offers() {
        let mut f = facts(Some(false));
        f.exemptions.push(Exemption {
            ground: ExemptionGround::TreatmentIsObstacle,
            from: day(d0(), 60),
            to: Some(day(d0(), 90)),
            reason: "chemotherapy".into(),
        });
        assert_eq!(
            refused_by(check_offer(rs(RuleSetId::R2009), &f, &offer(10))),
            RuleId::TrialExemption
        );
        f.exemptions[0].ground = ExemptionGround::Standby;
        assert_eq!(
            refused_by(check_offer(rs(RuleSetId::A2010), &f, &offer(10))),
            RuleId::I3
        );
        f.exemptions[0].ground = ExemptionGround::SurgeryWithin13Weeks;
        assert!(
            check_exemption(&f, day(d0(), 70)).is_allowed(),
            "I5 spares attendance, not offers"
        );
    }

    #[test]
    fn i2_least_sick_gets_no_new_offers() {
        let mut f = facts(Some(false));
        f.prognoses[0].clear_diagnosis = true;
        f.prognoses[0].expected_full_return_on = Some(day(d0(), 50 + 56));
        let v = check_least_sick(rs(RuleSetId::A2010), &f, day(d0(), 70));
        assert_eq!(refused_by(v), RuleId::I2);
        f.prognoses[0].expected_full_return_on = Some(day(d0(), 50 + 57));
        assert!(check_least_sick(rs(RuleSetId::A2010), &f, day(d0(), 70)).is_allowed());
        f.prognoses[0].expected_full_return_on = Some(day(d0(), 60));
        f.prognoses[0].clear_diagnosis = false;
        assert!(
            check_least_sick(rs(RuleSetId::A2010), &f, day(d0(), 70)).is_allowed(),
            "unclear diagnosis"
        );
        f.prognoses[0].clear_diagnosis = true;
        f.employment = EmploymentStatus::UnemployedInsured;
        assert!(
            check_least_sick(rs(RuleSetId::A2010), &f, day(d0(), 70)).is_allowed(),
            "employed only"
        );
        f.employment = EmploymentStatus::Employed;
        assert!(
            check_least_sick(rs(RuleSetId::R2009), &f, day(d0(), 70)).is_allowed(),
            "I2 is A2010"
        );
    }

    #[test]
    fn i6_partial_return_before_offers_unless_combination_reason() {
        let a2010 = rs(RuleSetId::A2010);
        assert_eq!(
            refused_by(check_partial_return_first(
                a2010,
                &facts(Some(true)),
                &offer(10)
            )),
            RuleId::I6
        );
        assert_eq!(
            refused_by(check_partial_return_first(a2010, &facts(None), &offer(10))),
            RuleId::I6
        );
        assert!(check_partial_return_first(a2010, &facts(Some(false)), &offer(10)).is_allowed());
        let mut f = facts(Some(true));
        f.partial_returns.push(PartialReturn {
            from: day(d0(), 60),
            to: None,
            hours_per_week: WeeklyHours::hours(20),
        });
        let mut o = offer(3);
        o.kind = OfferType::GuidanceAndUpskilling;
        let v = check_partial_return_first(a2010, &f, &o);
        assert!(
            matches!(&v, Verdict::Refused { reason, .. } if reason.contains("20 h/week")),
            "{v:?}"
        );
        o.combination_reason = Some("lifting-technique course supports the step-up".into());
        assert!(
            check_offer(a2010, &f, &o).is_allowed(),
            "combined with gradual return, hours not checked"
        );
    }

    #[test]
    fn p21_minimum_10_hours_with_documented_reduction() {
        let (p2008, f) = (rs(RuleSetId::P2008), facts(Some(false)));
        assert!(
            check_min_hours(p2008, &f, &offer(10)).is_allowed(),
            "≥ 10 under P21 detail"
        );
        assert_eq!(
            refused_by(check_min_hours(p2008, &f, &offer(9))),
            RuleId::P21
        );
        let mut o = offer(2);
        o.fewer_hours_reason = Some("manages two hours a week".into());
        assert!(check_min_hours(p2008, &f, &o).is_allowed());
    }

    #[test]
    fn fig3_more_than_10_hours_a4() {
        let (r2012, f) = (rs(RuleSetId::R2012), facts(Some(false)));
        assert_eq!(
            refused_by(check_min_hours(r2012, &f, &offer(10))),
            RuleId::Fig3
        );
        assert!(check_min_hours(r2012, &f, &offer(11)).is_allowed());
    }

    #[test]
    fn t18d_trial_hours_down_to_one_with_a_reason() {
        let mut f = facts(Some(false));
        f.trial = true;
        let r2009 = rs(RuleSetId::R2009);
        let mut o = offer(1);
        assert_eq!(refused_by(check_min_hours(r2009, &f, &o)), RuleId::T18d);
        o.fewer_hours_reason = Some("condition worsened".into());
        assert!(check_min_hours(r2009, &f, &o).is_allowed());
        o.hours_per_week = WeeklyHours::minutes(30);
        assert_eq!(
            refused_by(check_min_hours(r2009, &f, &o)),
            RuleId::T18d,
            "floor is 1 h"
        );
    }

    #[test]
    fn a8_wage_subsidy_policies() {
        let f = facts(Some(false));
        let mut o = offer(10);
        o.kind = OfferType::WageSubsidy;
        assert_eq!(
            refused_by(check_wage_subsidy(rs(RuleSetId::P2008), &f, &o)),
            RuleId::P20
        );
        assert!(check_wage_subsidy(rs(RuleSetId::R2009), &f, &o).is_allowed());
        o.at_own_workplace = true;
        assert_eq!(
            refused_by(check_wage_subsidy(rs(RuleSetId::R2009), &f, &o)),
            RuleId::WageSubsidyWorkplace
        );
    }
}
