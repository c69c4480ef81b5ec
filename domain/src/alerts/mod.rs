//! The alert rules of DOMAIN.md §2.6, evaluated as of a date: given what is known of one case
//! (its facts and timeline, its plan and projection, its screenings, its referrals), which
//! alert conditions hold, and the next date on which the answer can change with nothing
//! recorded (so a sweep reads only the cases that are due).
//!
//! Nothing here recomputes a deadline: follow-ups, the follow-up plan and weekly contacts come
//! from [`crate::timeline`], the 360-degree deadline from [`crate::screening`], slips from
//! [`crate::plan::project`], plan waits from [`crate::plan::signals`], the offer rules from
//! [`crate::offers`], contract waits from [`crate::contracting::scorecard::overdue_waits`].
//!
//! A deadline rule is a *warning* from `due − lead` (lead time per rule, [`AlertParams`]) until
//! the due date, and an alert of its full severity once overdue; both are the same alert (one
//! per rule and subject), so escalation updates it rather than adding a second one.

mod rule;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::case::CaseId;
use crate::contracting::{Contract, Referral, overdue_waits, wait_overdue_on};
use crate::facts::CaseFacts;
use crate::offers::{check_least_sick, check_partial_return_first};
use crate::plan::{
    ActivityId, GoalId, Plan, PlanParams, PlanRole, hospital_limit_passes_on,
    hospital_waits_over_limit, idle_wait, idle_wait_changes_on, offer_proposal,
    partial_returns_without_full_return, project,
};
use crate::rules::{RuleSet, Verdict};
use crate::screening::assessment_deadline;
use crate::timeline::{DeadlineKind, MilestoneKind, MilestoneStatus, Status, timeline};
use crate::weeks::add_days;

pub use rule::{AlertRule, Severity};

/// What an alert is about. With the rule, it names the alert: at most one open alert per
/// (rule, subject).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    Case {
        case: CaseId,
    },
    /// One activity of the case's plan.
    Activity {
        case: CaseId,
        activity: ActivityId,
    },
    /// One goal of the case's plan (AL-09 slips are per goal).
    Goal {
        case: CaseId,
        goal: GoalId,
    },
    /// One referral under a contract (AL-21).
    Referral {
        case: CaseId,
        referral: String,
    },
}

impl Subject {
    /// The stable key the store makes unique with the rule, e.g. `case/…/activity/xray`.
    pub fn key(&self) -> String {
        match self {
            Subject::Case { case } => format!("case/{case}"),
            Subject::Activity { case, activity } => {
                format!("case/{case}/activity/{}", activity.as_str())
            }
            Subject::Goal { case, goal } => format!("case/{case}/goal/{}", goal.as_str()),
            Subject::Referral { referral, .. } => format!("referral/{referral}"),
        }
    }

    pub fn case(&self) -> CaseId {
        match self {
            Subject::Case { case }
            | Subject::Activity { case, .. }
            | Subject::Goal { case, .. }
            | Subject::Referral { case, .. } => *case,
        }
    }
}

/// Whom an alert is for: a role, in the case's jobcentre (`organisation: None`) or in a named
/// organisation (a provider, the plan follow-up person's organisation).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Recipient {
    pub organisation: Option<String>,
    pub role: String,
}

impl Recipient {
    fn jobcentre(role: &str) -> Self {
        Self {
            organisation: None,
            role: role.to_owned(),
        }
    }
}

/// One condition that holds as of the evaluation date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertCondition {
    pub rule: AlertRule,
    pub severity: Severity,
    pub subject: Subject,
    pub recipient: Recipient,
    /// One sentence in words (no CPR number, no health detail beyond the activity's label).
    pub cause: String,
    /// The numbers behind `cause` (dates, days, rates), for clients and tests.
    pub data: serde_json::Value,
    /// The deadline the alert is about, when it has one.
    pub due_on: Option<NaiveDate>,
}

/// Lead times and plan parameters. Lead time = days before a deadline the warning starts;
/// 0 = no warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertParams {
    pub lead_days: BTreeMap<AlertRule, u32>,
    pub plan: PlanParams,
    /// AL-22: days a new case may wait for the screening group before it is flagged. INFERRED:
    /// Aabenraa's group screens "alle nye sager" ([004 §6.1] 004_29a2444e953dfa53.txt) without
    /// a number; a week gives the group a working week.
    pub unscreened_after_days: u32,
}

impl Default for AlertParams {
    fn default() -> Self {
        Self {
            lead_days: AlertRule::ALL
                .iter()
                .map(|r| (*r, r.default_lead_days()))
                .collect(),
            plan: PlanParams::default(),
            unscreened_after_days: 7,
        }
    }
}

impl AlertParams {
    pub fn lead(&self, rule: AlertRule) -> u32 {
        self.lead_days.get(&rule).copied().unwrap_or(0)
    }
}

/// A referral with its contract, for AL-21.
#[derive(Debug, Clone, Copy)]
pub struct ContractedReferral<'a> {
    pub contract: &'a Contract,
    pub referral: &'a Referral,
}

/// Everything the rules read about one case.
#[derive(Debug, Clone, Copy)]
pub struct AlertInput<'a> {
    pub case: CaseId,
    pub facts: &'a CaseFacts,
    pub rule_set: &'static RuleSet,
    /// The day the case reached the jobcentre (its registration in kia), for AL-22.
    pub opened_on: NaiveDate,
    pub plan: Option<&'a Plan>,
    /// The earliest conclusion of a 360-degree screening of the case, if any (T-21).
    pub first_screening_concluded: Option<NaiveDate>,
    pub referrals: &'a [ContractedReferral<'a>],
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Evaluation {
    /// Sorted by rule, then subject.
    pub conditions: Vec<AlertCondition>,
    /// The first date after `today` on which the conditions may change with nothing recorded;
    /// `None` when only a new fact can change them (e.g. the case closed).
    pub next_check: Option<NaiveDate>,
}

struct Builder<'a> {
    input: &'a AlertInput<'a>,
    params: &'a AlertParams,
    today: NaiveDate,
    conditions: Vec<AlertCondition>,
    next_check: Option<NaiveDate>,
}

impl Builder<'_> {
    /// Keeps the earliest date after today.
    fn check_on(&mut self, date: NaiveDate) {
        if date > self.today && self.next_check.is_none_or(|n| date < n) {
            self.next_check = Some(date);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        rule: AlertRule,
        severity: Severity,
        subject: Subject,
        recipient: Recipient,
        cause: String,
        data: serde_json::Value,
        due_on: Option<NaiveDate>,
    ) {
        self.conditions.push(AlertCondition {
            rule,
            severity,
            subject,
            recipient,
            cause,
            data,
            due_on,
        });
    }

    /// A deadline rule: nothing before `due − lead`, a warning until `due`, the rule's severity
    /// after it. `what` says what is due, for the cause.
    #[allow(clippy::too_many_arguments)]
    fn deadline(
        &mut self,
        rule: AlertRule,
        due: NaiveDate,
        status: Status,
        subject: Subject,
        recipient: Recipient,
        what: &str,
        mut data: serde_json::Value,
    ) {
        let lead = i64::from(self.params.lead(rule));
        let warn_from = add_days(due, -lead);
        data["due_on"] = json!(due);
        // The cause names the due date, not a running count of days: an alert changes when its
        // condition does (warning → overdue), not every day (clients age it from `due_on`).
        match status {
            Status::Overdue => {
                self.push(
                    rule,
                    rule.severity(),
                    subject,
                    recipient,
                    format!("{what} was due {due} and is overdue"),
                    data,
                    Some(due),
                );
            }
            Status::Due if lead > 0 && self.today >= warn_from => {
                self.push(
                    rule,
                    Severity::Warning,
                    subject,
                    recipient,
                    format!("{what} is due {due}"),
                    data,
                    Some(due),
                );
                self.check_on(add_days(due, 1));
            }
            Status::Due => {
                self.check_on(if lead > 0 {
                    warn_from
                } else {
                    add_days(due, 1)
                });
            }
            Status::Met | Status::NotApplicable => {}
        }
    }
}

/// Evaluates every rule for one case as of `today` (a Danish calendar date).
pub fn evaluate(input: &AlertInput<'_>, params: &AlertParams, today: NaiveDate) -> Evaluation {
    let mut b = Builder {
        input,
        params,
        today,
        conditions: Vec::new(),
        next_check: None,
    };
    let facts = input.facts;
    let case = input.case;
    let closed = facts.closed_by(today).is_some();
    let tl = timeline(facts, input.rule_set, today);
    let on_case = || Subject::Case { case };

    // AL-04 (T-11), AL-05 (T-15), AL-06 (T-13/T-13b), AL-20 (T-18c): deadlines of the timeline,
    // while the case is open (a closed case's missed talk is history, not something to act on).
    if !closed
        && let Some(d) = tl.find(DeadlineKind::FollowUp { number: 1 })
        && let Some(due) = d.due
    {
        b.deadline(
            AlertRule::Al04,
            due,
            d.status,
            on_case(),
            Recipient::jobcentre("caseworker"),
            "the first follow-up",
            json!({ "rule_id": d.rule_id.as_str() }),
        );
    }
    if !closed
        && let Some(d) = tl.find(DeadlineKind::FollowUpPlan)
        && let Some(due) = d.due
    {
        b.deadline(
            AlertRule::Al05,
            due,
            d.status,
            on_case(),
            Recipient::jobcentre("caseworker"),
            "the follow-up plan (at the latest at the 2nd follow-up)",
            json!({ "rule_id": d.rule_id.as_str() }),
        );
    }
    // The first later follow-up not yet held: one AL-06 per case, naming the talk.
    if !closed
        && let Some((n, d)) = tl.deadlines.iter().find_map(|d| match d.kind {
            DeadlineKind::FollowUp { number }
                if number >= 2 && matches!(d.status, Status::Due | Status::Overdue) =>
            {
                Some((number, d))
            }
            _ => None,
        })
        && let Some(due) = d.due
    {
        b.deadline(
            AlertRule::Al06,
            due,
            d.status,
            on_case(),
            Recipient::jobcentre("caseworker"),
            &format!("follow-up no. {n} (category cadence)"),
            json!({ "rule_id": d.rule_id.as_str(), "follow_up": n, "note": d.note }),
        );
    }
    let coordinator = input
        .plan
        .and_then(|p| p.roles.get(PlanRole::Coordinator))
        .and_then(|p| p.organisation.as_ref())
        .map(|o| o.as_str().to_owned());
    if !closed
        && let Some((n, d)) = tl.deadlines.iter().find_map(|d| match d.kind {
            DeadlineKind::WeeklyContact { number }
                if matches!(d.status, Status::Due | Status::Overdue) =>
            {
                Some((number, d))
            }
            _ => None,
        })
        && let Some(due) = d.due
    {
        b.deadline(
            AlertRule::Al20,
            due,
            d.status,
            on_case(),
            Recipient {
                organisation: coordinator.clone(),
                role: "coordinator".to_owned(),
            },
            &format!("weekly contact no. {n}"),
            json!({ "rule_id": d.rule_id.as_str(), "contact": n }),
        );
    }

    // AL-07 (T-21): the 360-degree assessment by D55.
    if !closed {
        let t21 = assessment_deadline(facts.first_sick_day, input.first_screening_concluded, today);
        // A conclusion dated after today counts from its date.
        if let Some(concluded) = input.first_screening_concluded {
            b.check_on(concluded);
        }
        b.deadline(
            AlertRule::Al07,
            t21.due,
            t21.status,
            on_case(),
            Recipient::jobcentre("screening_group"),
            "the 360-degree assessment (all four domains)",
            json!({ "rule_id": t21.rule_id }),
        );
        // AL-22: a new case the screening group has not screened.
        if t21.met_on.is_none() {
            let flag_on = add_days(input.opened_on, i64::from(params.unscreened_after_days));
            if today >= flag_on {
                b.push(
                    AlertRule::Al22,
                    AlertRule::Al22.severity(),
                    on_case(),
                    Recipient::jobcentre("screening_group"),
                    format!(
                        "new case registered {} has no concluded screening after {} days",
                        input.opened_on, params.unscreened_after_days
                    ),
                    json!({
                        "opened_on": input.opened_on, "flagged_on": flag_on,
                        "limit_days": params.unscreened_after_days, "due_on": t21.due,
                    }),
                    Some(t21.due),
                );
            } else {
                b.check_on(flag_on);
            }
        }
    }

    // AL-19: the case has crossed week 13 / 26 / 52, read on the exclusion curve.
    if !closed {
        let mut crossed = None;
        for m in &tl.milestones {
            if let MilestoneKind::SickWeek { week } = m.kind {
                match m.status {
                    MilestoneStatus::Reached => crossed = Some((week, m)),
                    MilestoneStatus::Upcoming => b.check_on(m.on),
                    MilestoneStatus::NotApplicable => {}
                }
            }
            // The cause says when the state refund has ended.
            if matches!(m.kind, MilestoneKind::RefundEnds { .. })
                && m.status == MilestoneStatus::Upcoming
            {
                b.check_on(m.on);
            }
        }
        if let Some((week, m)) = crossed {
            let rate = m.exclusion_rate.unwrap_or(0);
            let refund_ends = tl.milestones.iter().any(|r| {
                matches!(r.kind, MilestoneKind::RefundEnds { .. })
                    && r.status == MilestoneStatus::Reached
            });
            let severity = if week >= 52 {
                Severity::Critical
            } else {
                Severity::High
            };
            let mut cause = format!(
                "the case entered sick week {week} on {}; {}.{} % of those still on benefit at \
                 week {week} are not in work a year later",
                m.on,
                rate / 100,
                (rate % 100) / 10
            );
            if refund_ends {
                cause.push_str("; the state refund ends");
            }
            b.push(
                AlertRule::Al19,
                severity,
                on_case(),
                Recipient::jobcentre("caseworker"),
                cause,
                json!({ "week": week, "exclusion_rate_bp": rate, "entered_on": m.on, "refund_ends": refund_ends }),
                Some(m.on),
            );
        }
    }

    if let Some(plan) = input.plan.filter(|_| !closed) {
        plan_rules(&mut b, plan);
    }

    if !closed {
        for cr in input.referrals {
            for w in overdue_waits(cr.contract, cr.referral, today) {
                // A wait still running is said without its running count (it would change the
                // alert every day); a finished one with the days it took.
                let metric = w.metric.as_str();
                let (cause, days) = if w.still_waiting {
                    (
                        format!(
                            "referral {} has waited longer than the contract's target of {} days \
                             ({metric})",
                            w.referral, w.target_days
                        ),
                        None,
                    )
                } else {
                    (
                        format!(
                            "referral {} took {} days ({metric}), over the contract's target of {} \
                             days",
                            w.referral, w.days, w.target_days
                        ),
                        Some(w.days),
                    )
                };
                b.push(
                    AlertRule::Al21,
                    AlertRule::Al21.severity(),
                    Subject::Referral {
                        case,
                        referral: w.referral.to_string(),
                    },
                    Recipient::jobcentre("contract_manager"),
                    cause,
                    json!({
                        "metric": metric, "days": days, "target_days": w.target_days,
                        "still_waiting": w.still_waiting, "contract_id": cr.contract.id.to_string(),
                    }),
                    None,
                );
            }
            // A referral still within target becomes overdue with time alone.
            if let Some(on) = wait_overdue_on(cr.contract, cr.referral, today) {
                b.check_on(on);
            }
        }
    }

    b.conditions
        .sort_by(|a, c| (a.rule, &a.subject).cmp(&(c.rule, &c.subject)));
    Evaluation {
        conditions: b.conditions,
        next_check: b.next_check,
    }
}

/// AL-09, AL-10, AL-11, AL-13, AL-14, AL-18 on the case's plan.
fn plan_rules(b: &mut Builder<'_>, plan: &Plan) {
    let case = b.input.case;
    let today = b.today;
    let Ok(projection) = project(plan, today) else {
        // A stored plan always validated when it was saved; nothing to say about one that does
        // not project.
        return;
    };
    let follow_up = plan
        .roles
        .get(PlanRole::PlanFollowUp)
        .map(|p| Recipient {
            organisation: p.organisation.as_ref().map(|o| o.as_str().to_owned()),
            role: "plan_follow_up".to_owned(),
        })
        .unwrap_or_else(|| Recipient::jobcentre("caseworker"));

    // AL-09: a goal projected past its date, with the causes in words and days.
    for g in projection.slipping() {
        let causes = g.explain(plan);
        let data = json!({
            "goal_date": g.target, "projected": g.projected, "slip_days": g.slip_days,
            "causes": g.causes.iter().map(|c| json!({
                "activity": c.activity.as_ref().map(|a| a.as_str()),
                "cause": serde_json::to_value(c.cause).unwrap_or_default(),
                "days": c.days,
            })).collect::<Vec<_>>(),
        });
        let projected = g.projected.map_or_else(String::new, |p| p.to_string());
        b.push(
            AlertRule::Al09,
            AlertRule::Al09.severity(),
            Subject::Goal {
                case,
                goal: g.goal.clone(),
            },
            follow_up.clone(),
            format!(
                "goal {} slips {} days: projected {projected}, goal {}; {}",
                g.goal.as_str(),
                g.slip_days,
                g.target,
                causes.join("; ")
            ),
            data,
            Some(g.target),
        );
    }

    // AL-10: a hospital wait beyond the month of extended free hospital choice. An unbooked
    // wait is said without its running count of days (it would change the alert every day).
    for w in hospital_waits_over_limit(plan, &b.params.plan, today) {
        let label = plan.activity(&w.activity).map_or("", |a| a.kind.label());
        let (availability, waited_days) = match w.booked_start {
            Some(booked) => (
                format!("is booked {booked}, {} days after", w.waited_days),
                Some(w.waited_days),
            ),
            None => ("has no booked date".to_owned(), None),
        };
        b.push(
            AlertRule::Al10,
            AlertRule::Al10.severity(),
            Subject::Activity {
                case,
                activity: w.activity.clone(),
            },
            Recipient::jobcentre("plan_owner"),
            format!(
                "{label} `{}` referred {} {availability}: not available within one month (limit \
                 {}); suggest extended free hospital choice",
                w.activity.as_str(),
                w.referred_on,
                w.limit,
            ),
            json!({
                "referred_on": w.referred_on, "limit": w.limit,
                "booked_start": w.booked_start, "waited_days": waited_days,
            }),
            Some(w.limit),
        );
    }
    if let Some(on) = hospital_limit_passes_on(plan, &b.params.plan, today) {
        b.check_on(on);
    }

    // AL-11: waiting with no activity in progress.
    if let Some(on) = idle_wait_changes_on(plan, &projection) {
        b.check_on(on);
    }
    if let Some(w) = idle_wait(plan, &projection, &b.params.plan) {
        b.push(
            AlertRule::Al11,
            AlertRule::Al11.severity(),
            Subject::Case { case },
            Recipient::jobcentre("caseworker"),
            format!(
                "no activity from {} until {} ({} days); consider a low-hour activity",
                w.idle_since, w.next_start, w.idle_days
            ),
            json!({
                "idle_since": w.idle_since, "next_start": w.next_start, "idle_days": w.idle_days,
                "waiting_for": w.waiting_for.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
            }),
            None,
        );
    }

    // AL-13 / AL-14: active offers in the plan that the offer rules would refuse today.
    for a in &plan.activities {
        if a.is_started() || a.is_cancelled() {
            continue;
        }
        // The offer is judged on the day it is projected to start (after what it waits for,
        // never in the past); the projection says when that can move. It projects every
        // activity not cancelled.
        let Some(starts_on) = projection.activity(&a.id).map(|s| s.expected_start) else {
            continue;
        };
        // Employer-organised offers are voluntary and not subject to the offer rules.
        let Some(offer) = offer_proposal(a, starts_on) else {
            continue;
        };
        let subject = || Subject::Activity {
            case,
            activity: a.id.clone(),
        };
        let checks = [
            (
                AlertRule::Al13,
                check_least_sick(b.input.rule_set, b.input.facts, starts_on),
            ),
            (
                AlertRule::Al14,
                check_partial_return_first(b.input.rule_set, b.input.facts, &offer),
            ),
        ];
        for (rule, verdict) in checks {
            if let Verdict::Refused { rule_id, reason } = verdict {
                b.push(
                    rule,
                    rule.severity(),
                    subject(),
                    Recipient::jobcentre("caseworker"),
                    format!(
                        "{} `{}` from {starts_on}: {reason}",
                        a.kind.label(),
                        a.id.as_str()
                    ),
                    json!({ "rule_id": rule_id.as_str(), "starts_on": starts_on }),
                    Some(starts_on),
                );
            }
        }
    }

    // AL-18: partial return with no date for full return.
    for id in partial_returns_without_full_return(plan) {
        b.push(
            AlertRule::Al18,
            AlertRule::Al18.severity(),
            Subject::Activity {
                case,
                activity: id.clone(),
            },
            Recipient::jobcentre("caseworker"),
            format!(
                "partial return `{}` has no planned date for full-time return",
                id.as_str()
            ),
            json!({}),
            None,
        );
    }

    // AL-09: the projection moves once `today` passes a date it was held against.
    if let Some(on) = projection.changes_on {
        b.check_on(on);
    }
}
