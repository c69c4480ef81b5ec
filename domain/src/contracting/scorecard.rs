//! Outcome scorecards per contract, provider or municipality over a period — the canonical
//! scorecard of DOMAIN.md §6.9 with Quick Care's metric definitions of §6.1 ([004 §7]
//! 004_29a2444e953dfa53.txt) — plus comparison bases, target misses (AL-21) and rankings.
//!
//! **Population (INFERRED).** Quick Care measured "all completed sickness-benefit courses"
//! ([004 §7]). A scorecard's course metrics therefore run over the *completed courses* in
//! scope: referrals that started and ended (with any outcome but withdrawn) with the end date
//! inside the period. Referrals received, withdrawn and still in progress are reported as
//! [`Counts`].
//!
//! **No NaN.** Every metric carries its `n` (the courses it was computed over) and a value
//! that is `None` when `n = 0`. Shares are fractions in `0..=1` (60 % is `0.6`), lengths are
//! days or weeks (days / 7).
//!
//! **A14.** Quick Care's "left sickness benefit" (60 %) and Roskilde's "recovered fully or
//! partly" (67 %) are different measures: they are two metrics, a comparison basis belongs to
//! exactly one metric, and the shipped reference figures never cross them.

use std::collections::HashSet;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::case::MunicipalityCode;
use crate::error::Invalid;
use crate::weeks::sick_day_of;

use super::admission::ContractRuleId;
use super::model::{Contract, ContractId, DateRange, ProviderId, Target, check_metric_value};
use super::referral::{EndOutcome, Referral, ReferralId};

/// Seed tag and file for Quick Care's figures.
const SOURCE_004_7: &str = "[004 §7] 004_29a2444e953dfa53.txt";

/// What a metric's number is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Days,
    Weeks,
    /// A fraction in `0..=1`.
    Share,
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    LowerIsBetter,
    HigherIsBetter,
    /// Describes the citizens referred rather than the provider's result (e.g. absence at
    /// start: "heavy citizens"): shown, never ranked or targeted.
    Context,
}

/// The scorecard metrics (DOMAIN.md §6.9, numbered as there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricId {
    /// 1. mean(start − referral) in days; Quick Care 4.9 (T-23).
    ReferralToStartDays,
    /// 2. mean(placement start − referral) in days over courses with a placement; Quick Care 19
    ///    (T-23b).
    ReferralToPlacementDays,
    /// 3. mean(start − D0) in weeks; Quick Care 22.3, Roskilde 19.9.
    AbsenceWeeksAtStart,
    /// 4. mean(end − start) in weeks; Quick Care 9.6, Roskilde 10.2.
    CourseLengthWeeks,
    /// 5. left sickness benefit by course end / completed courses; Quick Care 60 %.
    ExitRate,
    /// 6. recovered fully or partly / completed courses; Roskilde 67 % (never compared with 5).
    RecoveredFullOrPartialRate,
    /// 7. courses including a work placement / completed courses; Quick Care 14 %.
    PlacementShare,
    /// Courses broken off / completed courses (the "dropped out" outcome; not in §6.9).
    DropoutRate,
    /// 8. mean(partial return − D0) in days over courses with a partial return (Aarhus −37 d vs
    ///    control, [004 §6.4]).
    DaysToPartialReturn,
    /// 10. satisfied / answered (KIA ≈ 80 % vs 40 %, [003 F4 ch5]; a yes/no per person, A18).
    SatisfiedShare,
}

impl MetricId {
    pub const ALL: [MetricId; 10] = [
        MetricId::ReferralToStartDays,
        MetricId::ReferralToPlacementDays,
        MetricId::AbsenceWeeksAtStart,
        MetricId::CourseLengthWeeks,
        MetricId::ExitRate,
        MetricId::RecoveredFullOrPartialRate,
        MetricId::PlacementShare,
        MetricId::DropoutRate,
        MetricId::DaysToPartialReturn,
        MetricId::SatisfiedShare,
    ];

    /// The stable name (DOMAIN.md §6.9 spelling).
    pub const fn as_str(self) -> &'static str {
        match self {
            MetricId::ReferralToStartDays => "referral_to_start_days",
            MetricId::ReferralToPlacementDays => "referral_to_placement_days",
            MetricId::AbsenceWeeksAtStart => "absence_weeks_at_start",
            MetricId::CourseLengthWeeks => "course_length_weeks",
            MetricId::ExitRate => "exit_rate",
            MetricId::RecoveredFullOrPartialRate => "recovered_full_or_partial_rate",
            MetricId::PlacementShare => "placement_share",
            MetricId::DropoutRate => "dropout_rate",
            MetricId::DaysToPartialReturn => "days_to_partial_return",
            MetricId::SatisfiedShare => "satisfied_share",
        }
    }

    pub fn from_str_opt(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub const fn unit(self) -> Unit {
        match self {
            MetricId::ReferralToStartDays
            | MetricId::ReferralToPlacementDays
            | MetricId::DaysToPartialReturn => Unit::Days,
            MetricId::AbsenceWeeksAtStart | MetricId::CourseLengthWeeks => Unit::Weeks,
            MetricId::ExitRate
            | MetricId::RecoveredFullOrPartialRate
            | MetricId::PlacementShare
            | MetricId::DropoutRate
            | MetricId::SatisfiedShare => Unit::Share,
        }
    }

    /// Lower days and weeks are better (Quick Care's "fast start", "short duration", "fast
    /// placement"), higher shares are better — except the dropout rate, and absence at start,
    /// which describes the citizens referred.
    pub const fn direction(self) -> Direction {
        match self {
            MetricId::AbsenceWeeksAtStart => Direction::Context,
            MetricId::ReferralToStartDays
            | MetricId::ReferralToPlacementDays
            | MetricId::CourseLengthWeeks
            | MetricId::DaysToPartialReturn
            | MetricId::DropoutRate => Direction::LowerIsBetter,
            MetricId::ExitRate
            | MetricId::RecoveredFullOrPartialRate
            | MetricId::PlacementShare
            | MetricId::SatisfiedShare => Direction::HigherIsBetter,
        }
    }

    /// The alert a target miss on this metric raises: AL-21 for the two waits.
    pub const fn alert(self) -> Option<ContractRuleId> {
        match self {
            MetricId::ReferralToStartDays | MetricId::ReferralToPlacementDays => {
                Some(ContractRuleId::Al21)
            }
            _ => None,
        }
    }

    /// The definition, for listings and API documentation.
    pub const fn definition(self) -> &'static str {
        match self {
            MetricId::ReferralToStartDays => {
                "mean(course start − referral date) in days, over completed courses"
            }
            MetricId::ReferralToPlacementDays => {
                "mean(work placement start − referral date) in days, over completed courses \
                 with a placement"
            }
            MetricId::AbsenceWeeksAtStart => {
                "mean(course start − first sick day) in weeks, over completed courses"
            }
            MetricId::CourseLengthWeeks => {
                "mean(course end − course start) in weeks, over completed courses"
            }
            MetricId::ExitRate => {
                "completed courses whose citizen left sickness benefit by course end / \
                 completed courses (INFERRED: measured at course end)"
            }
            MetricId::RecoveredFullOrPartialRate => {
                "completed courses ending fully or partly recovered / completed courses \
                 (Roskilde's definition; never compare with exit_rate, A14)"
            }
            MetricId::PlacementShare => {
                "completed courses including a work placement / completed courses (INFERRED: \
                 could also mean ending in a placement)"
            }
            MetricId::DropoutRate => "completed courses broken off / completed courses",
            MetricId::DaysToPartialReturn => {
                "mean(partial return − first sick day) in days, over completed courses with a \
                 partial return"
            }
            MetricId::SatisfiedShare => {
                "citizens satisfied overall / completed courses with an answer (yes/no, A18)"
            }
        }
    }
}

impl fmt::Display for MetricId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a comparison figure is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BasisKind {
    /// A control group (KIA Vejle, Aarhus).
    ControlGroup,
    /// The jobcentre's own results (Roskilde's 7.3 weeks).
    JobcentreOwnResults,
    /// The same scope in an earlier period (Aabenraa's before/after deltas).
    EarlierPeriod { period: DateRange },
    /// A national or published benchmark (Quick Care 2010–2011).
    Benchmark,
}

/// A figure a metric is compared with, stored next to the number (DOMAIN.md §6.9: "always
/// store the comparison basis with the number").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonBasis {
    /// The metric the figure measures; a basis is only ever compared with this metric.
    pub metric: MetricId,
    pub kind: BasisKind,
    /// What it is, e.g. "Quick Care national effect measurement 2010–2011".
    pub label: String,
    /// The figure, in the metric's unit; `None` when the basis is named but no number given.
    pub value: Option<f64>,
    /// Courses or persons behind the figure, when known.
    pub n: Option<u32>,
    /// Seed tag and file, or another reference.
    pub source: String,
}

impl ComparisonBasis {
    fn benchmark(metric: MetricId, value: f64, n: Option<u32>, label: &str, source: &str) -> Self {
        Self {
            metric,
            kind: BasisKind::Benchmark,
            label: label.to_owned(),
            value: Some(value),
            n,
            source: source.to_owned(),
        }
    }
}

/// Quick Care's national effect measurement: all courses completed in 2010–2011, 8,908
/// citizens in 35 municipalities (A11: "8,900" elsewhere; 8,908 used) — [004 §7]
/// 004_29a2444e953dfa53.txt. The size of the placement subset is not stated (n `None`).
/// There is deliberately no "recovered" figure here (A14).
pub fn quick_care_national() -> Vec<ComparisonBasis> {
    let label = "Quick Care national effect measurement 2010–2011 (35 municipalities)";
    let all = Some(8_908);
    vec![
        ComparisonBasis::benchmark(MetricId::ExitRate, 0.60, all, label, SOURCE_004_7),
        ComparisonBasis::benchmark(MetricId::PlacementShare, 0.14, all, label, SOURCE_004_7),
        ComparisonBasis::benchmark(MetricId::ReferralToStartDays, 4.9, all, label, SOURCE_004_7),
        ComparisonBasis::benchmark(MetricId::CourseLengthWeeks, 9.6, all, label, SOURCE_004_7),
        ComparisonBasis::benchmark(
            MetricId::AbsenceWeeksAtStart,
            22.3,
            all,
            label,
            SOURCE_004_7,
        ),
        ComparisonBasis::benchmark(
            MetricId::ReferralToPlacementDays,
            19.0,
            None,
            label,
            SOURCE_004_7,
        ),
    ]
}

/// Quick Care in Roskilde, 1 Nov 2010 – 30 Apr 2012, 466 completed courses ([004 §7]): 67 %
/// recovered fully or partly (never an exit rate, A14), 10.2 weeks per course, 19.9 weeks
/// absence at start.
pub fn roskilde_2010_2012() -> Vec<ComparisonBasis> {
    let label = "Quick Care in Roskilde 2010-11-01..=2012-04-30";
    let n = Some(466);
    vec![
        ComparisonBasis::benchmark(
            MetricId::RecoveredFullOrPartialRate,
            0.67,
            n,
            label,
            SOURCE_004_7,
        ),
        ComparisonBasis::benchmark(MetricId::CourseLengthWeeks, 10.2, n, label, SOURCE_004_7),
        ComparisonBasis::benchmark(MetricId::AbsenceWeeksAtStart, 19.9, n, label, SOURCE_004_7),
    ]
}

/// KIA, Vejle County 2003–2006 ([003 F4 ch5] 003_532c043554107ee2.txt): "almost 8 of 10"
/// satisfied against "4 of 10" in the control group — shares of persons, not a score (A18).
pub fn kia_vejle_2003_2006() -> Vec<ComparisonBasis> {
    let source = "[003 F4 ch5] 003_532c043554107ee2.txt";
    vec![
        ComparisonBasis::benchmark(
            MetricId::SatisfiedShare,
            0.8,
            None,
            "KIA Vejle County 2003–2006, intervention group (\"almost 8 of 10\")",
            source,
        ),
        ComparisonBasis {
            metric: MetricId::SatisfiedShare,
            kind: BasisKind::ControlGroup,
            label: "KIA Vejle County 2003–2006, control group".to_owned(),
            value: Some(0.4),
            n: None,
            source: source.to_owned(),
        },
    ]
}

/// How a metric stands against a basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    Better,
    Same,
    Worse,
}

/// One metric of a scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub id: MetricId,
    /// Courses (or answers) the value was computed over.
    pub n: u32,
    /// `None` when `n = 0`; never NaN.
    pub value: Option<f64>,
    /// Comparison figures for this metric.
    pub bases: Vec<ComparisonBasis>,
}

/// Relative tolerance under which two metric values count as equal (ties, "same").
const EPSILON: f64 = 1e-9;

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() <= EPSILON * a.abs().max(b.abs()).max(1.0)
}

/// `a` better than `b` in `direction`; `None` for context metrics.
fn better(direction: Direction, a: f64, b: f64) -> Option<Standing> {
    if same(a, b) {
        return match direction {
            Direction::Context => None,
            _ => Some(Standing::Same),
        };
    }
    match direction {
        Direction::LowerIsBetter if a < b => Some(Standing::Better),
        Direction::HigherIsBetter if a > b => Some(Standing::Better),
        Direction::LowerIsBetter | Direction::HigherIsBetter => Some(Standing::Worse),
        Direction::Context => None,
    }
}

impl Metric {
    pub fn unit(&self) -> Unit {
        self.id.unit()
    }

    pub fn direction(&self) -> Direction {
        self.id.direction()
    }

    /// `value − basis.value`; `None` when either is missing or the basis measures another
    /// metric (A14: never compare across definitions).
    pub fn delta(&self, basis: &ComparisonBasis) -> Option<f64> {
        (basis.metric == self.id)
            .then_some(())
            .and(self.value.zip(basis.value).map(|(v, b)| v - b))
    }

    /// Better, same or worse than the basis, direction-aware; `None` when a value is missing,
    /// the metric is context only, or the basis measures another metric.
    pub fn standing(&self, basis: &ComparisonBasis) -> Option<Standing> {
        if basis.metric != self.id {
            return None;
        }
        let (v, b) = self.value.zip(basis.value)?;
        better(self.direction(), v, b)
    }
}

/// Counts that frame the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Referrals with a referral date in the period.
    pub referrals_received: u32,
    /// Courses with a start date in the period.
    pub courses_started: u32,
    /// Courses completed in the period: the metrics' population.
    pub courses_completed: u32,
    /// Referrals withdrawn (never started) in the period.
    pub withdrawn: u32,
    /// Referrals in progress at the end of the period (open cases, Aabenraa's stock).
    pub in_progress_at_end: u32,
    /// Of those, cases past sick week 52 at the end of the period (Aabenraa's "cases over 52
    /// weeks", [004 §6.1]; week 53 is when refund ends, [003 P21]).
    pub in_progress_over_52_weeks_at_end: u32,
}

/// Whose results a scorecard shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scope", content = "id", rename_all = "snake_case")]
pub enum Scope {
    Contract(ContractId),
    Provider(ProviderId),
    Municipality(MunicipalityCode),
}

impl Scope {
    pub fn covers(&self, contract: &Contract) -> bool {
        match self {
            Scope::Contract(id) => contract.id == *id,
            Scope::Provider(id) => contract.provider == *id,
            Scope::Municipality(m) => contract.municipality == *m,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Scope::Contract(_) => "contract",
            Scope::Provider(_) => "provider",
            Scope::Municipality(_) => "municipality",
        }
    }
}

/// A metric that misses its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetMiss {
    pub metric: MetricId,
    pub target: f64,
    pub actual: f64,
    pub n: u32,
    /// The alert to raise (AL-21 for the waits); `None` for the other metrics.
    pub alert: Option<ContractRuleId>,
}

/// The scorecard of one scope over one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub scope: Scope,
    pub period: DateRange,
    pub counts: Counts,
    /// One per [`MetricId::ALL`], in that order.
    pub metrics: Vec<Metric>,
    /// For a contract scope: the contract's targets the metrics miss.
    pub target_misses: Vec<TargetMiss>,
    /// For a contract scope: targets with no data yet (`n = 0`) — neither met nor missed.
    pub targets_unmeasured: Vec<MetricId>,
}

/// Running sum for a mean or a share.
#[derive(Debug, Clone, Copy, Default)]
struct Acc {
    sum: i64,
    n: u32,
}

impl Acc {
    fn add(&mut self, v: i64) {
        self.sum = self.sum.saturating_add(v);
        self.n = self.n.saturating_add(1);
    }

    fn metric(self, id: MetricId) -> Metric {
        let divisor = match id.unit() {
            Unit::Weeks => 7.0,
            Unit::Days | Unit::Share => 1.0,
        };
        Metric {
            id,
            n: self.n,
            value: (self.n > 0).then(|| self.sum as f64 / divisor / f64::from(self.n)),
            bases: Vec::new(),
        }
    }
}

fn days(from: NaiveDate, to: NaiveDate) -> i64 {
    (to - from).num_days()
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Scorecard {
    /// The scorecard of `scope` over `period`, from the contracts and referrals the caller
    /// loaded (anything outside the scope is ignored). For a contract scope the contract's
    /// targets are checked too.
    pub fn compute(
        scope: Scope,
        period: DateRange,
        contracts: &[Contract],
        referrals: &[Referral],
    ) -> Scorecard {
        let in_scope: HashSet<ContractId> = contracts
            .iter()
            .filter(|c| scope.covers(c))
            .map(|c| c.id)
            .collect();
        let mine: Vec<&Referral> = referrals
            .iter()
            .filter(|r| in_scope.contains(&r.contract))
            .collect();

        let end = period.to;
        let in_progress: Vec<&&Referral> = mine.iter().filter(|r| r.in_progress_on(end)).collect();
        let counts = Counts {
            referrals_received: saturating_u32(
                mine.iter()
                    .filter(|r| period.contains(r.referred_on))
                    .count(),
            ),
            courses_started: saturating_u32(
                mine.iter()
                    .filter(|r| r.started_on.is_some_and(|s| period.contains(s)))
                    .count(),
            ),
            courses_completed: 0,
            withdrawn: saturating_u32(
                mine.iter()
                    .filter(|r| r.is_withdrawn() && r.ended.is_some_and(|e| period.contains(e.on)))
                    .count(),
            ),
            in_progress_at_end: saturating_u32(in_progress.len()),
            in_progress_over_52_weeks_at_end: saturating_u32(
                in_progress
                    .iter()
                    .filter(|r| sick_day_of(r.first_sick_day, end).week() > Some(52))
                    .count(),
            ),
        };

        let mut acc = [Acc::default(); MetricId::ALL.len()];
        let mut add = |id: MetricId, v: i64| {
            if let Some(i) = MetricId::ALL.iter().position(|m| *m == id) {
                acc[i].add(v);
            }
        };
        let mut completed = 0usize;
        for r in &mine {
            let Some((start, ended)) = r.completed() else {
                continue;
            };
            if !period.contains(ended.on) {
                continue;
            }
            completed += 1;
            let flag = |b: bool| i64::from(b);
            add(MetricId::ReferralToStartDays, days(r.referred_on, start));
            if let Some(p) = r.placement_on {
                add(MetricId::ReferralToPlacementDays, days(r.referred_on, p));
            }
            add(MetricId::AbsenceWeeksAtStart, days(r.first_sick_day, start));
            add(MetricId::CourseLengthWeeks, days(start, ended.on));
            add(
                MetricId::ExitRate,
                flag(ended.outcome.left_sickness_benefit()),
            );
            add(
                MetricId::RecoveredFullOrPartialRate,
                flag(ended.outcome.recovered_full_or_partial()),
            );
            add(MetricId::PlacementShare, flag(r.placement_on.is_some()));
            add(
                MetricId::DropoutRate,
                flag(ended.outcome == EndOutcome::DroppedOut),
            );
            if let Some(p) = r.partial_return_on {
                add(MetricId::DaysToPartialReturn, days(r.first_sick_day, p));
            }
            if let Some(s) = r.satisfied {
                add(MetricId::SatisfiedShare, flag(s));
            }
        }

        let metrics = MetricId::ALL
            .iter()
            .zip(acc)
            .map(|(id, a)| a.metric(*id))
            .collect();
        let mut card = Scorecard {
            counts: Counts {
                courses_completed: saturating_u32(completed),
                ..counts
            },
            scope,
            period,
            metrics,
            target_misses: Vec::new(),
            targets_unmeasured: Vec::new(),
        };
        if let Scope::Contract(id) = &card.scope
            && let Some(c) = contracts.iter().find(|c| c.id == *id)
        {
            (card.target_misses, card.targets_unmeasured) = card.check_targets(&c.targets);
        }
        card
    }

    /// The metric `id` (every scorecard has all of them).
    pub fn metric(&self, id: MetricId) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.id == id)
    }

    /// Targets missed, and targets without data, against any list of targets (a contract's,
    /// or ones the caller sets for a provider or municipality). A value exactly on target is
    /// met. Context metrics are never missed.
    pub fn check_targets(&self, targets: &[Target]) -> (Vec<TargetMiss>, Vec<MetricId>) {
        let mut misses = Vec::new();
        let mut unmeasured = Vec::new();
        for t in targets {
            let Some(m) = self.metric(t.metric) else {
                continue;
            };
            match m.value {
                None => unmeasured.push(t.metric),
                Some(actual) => {
                    if better(t.metric.direction(), actual, t.value) == Some(Standing::Worse) {
                        misses.push(TargetMiss {
                            metric: t.metric,
                            target: t.value,
                            actual,
                            n: m.n,
                            alert: t.metric.alert(),
                        });
                    }
                }
            }
        }
        (misses, unmeasured)
    }

    /// Stores a comparison figure next to its metric (`basis.metric`). Refused (field paths
    /// under `basis.`) when the value is out of range for the metric, or an earlier period does
    /// not end before this scorecard's period starts.
    pub fn attach(&mut self, basis: ComparisonBasis) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        if let Some(v) = basis.value {
            check_metric_value(basis.metric, v, "basis.value", &mut invalid);
        }
        if let BasisKind::EarlierPeriod { period } = &basis.kind
            && period.to >= self.period.from
        {
            invalid.push(
                "basis.kind.period.to",
                format!(
                    "must be before this scorecard's period starts ({})",
                    self.period.from
                ),
            );
        }
        if !invalid.is_empty() {
            return Err(invalid);
        }
        if let Some(m) = self.metrics.iter_mut().find(|m| m.id == basis.metric) {
            m.bases.push(basis);
        }
        Ok(())
    }

    /// Attaches every figure of `bases` (e.g. [`quick_care_national`]).
    pub fn attach_all(
        &mut self,
        bases: impl IntoIterator<Item = ComparisonBasis>,
    ) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        for (i, b) in bases.into_iter().enumerate() {
            if let Err(e) = self.attach(b) {
                for v in e.0 {
                    invalid.push(format!("bases[{i}].{}", v.field), v.description);
                }
            }
        }
        invalid.into_result(())
    }

    /// Attaches `earlier`'s values as earlier-period bases (Aabenraa-style deltas). The
    /// earlier scorecard must have the same scope and end before this one starts.
    pub fn compare_with_earlier(&mut self, earlier: &Scorecard) -> Result<(), Invalid> {
        if earlier.scope != self.scope {
            return Err(Invalid::single(
                "earlier.scope",
                "must be the same scope as this scorecard",
            ));
        }
        if earlier.period.to >= self.period.from {
            return Err(Invalid::single(
                "earlier.period.to",
                format!(
                    "must be before this scorecard's period starts ({})",
                    self.period.from
                ),
            ));
        }
        let bases: Vec<ComparisonBasis> = earlier
            .metrics
            .iter()
            .map(|m| ComparisonBasis {
                metric: m.id,
                kind: BasisKind::EarlierPeriod {
                    period: earlier.period,
                },
                label: format!("same {} in {}", self.scope.kind(), earlier.period),
                value: m.value,
                n: Some(m.n),
                source: "kia scorecard".to_owned(),
            })
            .collect();
        self.attach_all(bases)
    }
}

/// A scope's place in a ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankEntry {
    pub scope: Scope,
    pub n: u32,
    pub value: Option<f64>,
    /// 1 = best; equal values share a rank and the next rank is skipped ("1, 1, 3").
    /// `None` when unranked.
    pub rank: Option<u32>,
    pub unranked: Option<Unranked>,
}

/// Why a scope has no rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unranked {
    /// No courses behind the metric (`n = 0`).
    NoData,
    /// Fewer courses than the ranking's minimum.
    TooFewCourses { min_n: u32 },
}

/// Ranks scorecards on one metric, best first, direction-aware (fewer days better, higher
/// shares better). All scorecards must cover the same period and the same kind of scope
/// (e.g. providers). Scopes with no value, or fewer than `min_n` courses behind it, follow
/// unranked in input order; equal values share a rank, in input order.
pub fn rank(metric: MetricId, cards: &[Scorecard], min_n: u32) -> Result<Vec<RankEntry>, Invalid> {
    let mut invalid = Invalid::default();
    let direction = metric.direction();
    if direction == Direction::Context {
        invalid.push(
            "metric",
            format!("{metric} describes the citizens referred and is not ranked"),
        );
    }
    if let Some(first) = cards.first() {
        for (i, c) in cards.iter().enumerate().skip(1) {
            if c.period != first.period {
                invalid.push(
                    format!("scorecards[{i}].period"),
                    format!(
                        "must be the same period as the first scorecard ({})",
                        first.period
                    ),
                );
            }
            if c.scope.kind() != first.scope.kind() {
                invalid.push(
                    format!("scorecards[{i}].scope"),
                    format!("must be a {} like the first scorecard", first.scope.kind()),
                );
            }
        }
    }
    if !invalid.is_empty() {
        return Err(invalid);
    }

    let entry = |c: &Scorecard| {
        let m = c.metric(metric);
        let n = m.map_or(0, |m| m.n);
        let value = m.and_then(|m| m.value);
        let unranked = match value {
            None => Some(Unranked::NoData),
            Some(_) if n < min_n => Some(Unranked::TooFewCourses { min_n }),
            Some(_) => None,
        };
        RankEntry {
            scope: c.scope.clone(),
            n,
            value,
            rank: None,
            unranked,
        }
    };
    let (mut ranked, unranked): (Vec<RankEntry>, Vec<RankEntry>) =
        cards.iter().map(entry).partition(|e| e.unranked.is_none());
    let key = |e: &RankEntry| e.value.unwrap_or(0.0);
    ranked.sort_by(|a, b| {
        let (a, b) = (key(a), key(b));
        if same(a, b) {
            std::cmp::Ordering::Equal
        } else if direction == Direction::LowerIsBetter {
            a.total_cmp(&b)
        } else {
            b.total_cmp(&a)
        }
    });
    let mut previous: Option<(f64, u32)> = None;
    for (i, e) in ranked.iter_mut().enumerate() {
        let v = key(e);
        let position = saturating_u32(i + 1);
        let r = match previous {
            Some((pv, pr)) if same(pv, v) => pr,
            _ => position,
        };
        e.rank = Some(r);
        previous = Some((v, r));
    }
    ranked.extend(unranked);
    Ok(ranked)
}

/// A referral waiting longer than its contract's target (AL-21), for the alert engine's
/// per-referral evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WaitOverdue {
    pub referral: ReferralId,
    /// [`MetricId::ReferralToStartDays`] or [`MetricId::ReferralToPlacementDays`].
    pub metric: MetricId,
    pub target_days: f64,
    /// Days from referral to the start (or placement), or to `as_of` while still waiting.
    pub days: i64,
    /// True while the course has not started yet.
    pub still_waiting: bool,
    pub alert: ContractRuleId,
}

/// AL-21 for one referral as of `as_of`: the start is over the contract's referral → start
/// target (or, not started, has waited longer than it), or the placement started later than
/// the referral → placement target. A course without a placement is never overdue for one —
/// most courses have none (14 %, [004 §7]). A withdrawn referral is never overdue.
pub fn overdue_waits(
    contract: &Contract,
    referral: &Referral,
    as_of: NaiveDate,
) -> Vec<WaitOverdue> {
    let mut out = Vec::new();
    if referral.contract != contract.id || referral.is_withdrawn() {
        return out;
    }
    if let Some(t) = contract.target(MetricId::ReferralToStartDays) {
        let (d, still_waiting) = match referral.started_on {
            Some(s) => (days(referral.referred_on, s), false),
            None if referral.ended.is_none() => (days(referral.referred_on, as_of), true),
            None => (0, false),
        };
        if over(t.value, d) {
            out.push(WaitOverdue {
                referral: referral.id,
                metric: MetricId::ReferralToStartDays,
                target_days: t.value,
                days: d,
                still_waiting,
                alert: ContractRuleId::Al21,
            });
        }
    }
    if let (Some(t), Some(p)) = (
        contract.target(MetricId::ReferralToPlacementDays),
        referral.placement_on,
    ) {
        let d = days(referral.referred_on, p);
        if over(t.value, d) {
            out.push(WaitOverdue {
                referral: referral.id,
                metric: MetricId::ReferralToPlacementDays,
                target_days: t.value,
                days: d,
                still_waiting: false,
                alert: ContractRuleId::Al21,
            });
        }
    }
    out
}

/// A wait of `d` days is over a target of `target` days.
fn over(target: f64, d: i64) -> bool {
    d as f64 > target && !same(d as f64, target)
}

/// The first date after `as_of` on which [`overdue_waits`] lists a referral it does not list
/// now with nothing recorded: the day its wait for a start passes the contract's target.
pub fn wait_overdue_on(
    contract: &Contract,
    referral: &Referral,
    as_of: NaiveDate,
) -> Option<NaiveDate> {
    if referral.contract != contract.id
        || referral.is_withdrawn()
        || referral.started_on.is_some()
        || referral.ended.is_some()
    {
        return None;
    }
    let t = contract.target(MetricId::ReferralToStartDays)?.value;
    let floor = t.max(0.0).floor() as i64;
    let first = (floor..=floor.saturating_add(2)).find(|&d| over(t, d))?;
    Some(crate::weeks::add_days(referral.referred_on, first)).filter(|on| *on > as_of)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::case::CaseId;
    use crate::contracting::model::{Capacity, Price, PriceUnit, ServiceType};
    use crate::contracting::referral::CourseEnd;
    use crate::weeks::day;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn contract(n: u128, provider: u128, targets: Vec<Target>) -> Contract {
        Contract {
            id: ContractId::new(1, n),
            provider: ProviderId::new(1, provider),
            municipality: MunicipalityCode::parse("265").unwrap(),
            service: ServiceType::ReturnToWorkCourse,
            price: Price {
                amount: 0,
                per: PriceUnit::Course,
            },
            capacity: Capacity::default(),
            period: DateRange::new(d(2010, 1, 1), d(2012, 12, 31)).unwrap(),
            targets,
            delegated_tasks: vec![],
        }
    }

    /// A completed course referred on `referred_on`, started `to_start` days later, lasting
    /// `length` days.
    fn course(
        contract: &Contract,
        n: u128,
        referred_on: NaiveDate,
        to_start: i64,
        length: i64,
        outcome: EndOutcome,
    ) -> Referral {
        let start = day(referred_on, to_start);
        Referral {
            id: ReferralId::new(2, n),
            contract: contract.id,
            case: CaseId::new(2, n),
            first_sick_day: day(referred_on, -140),
            referred_on,
            started_on: Some(start),
            placement_on: None,
            partial_return_on: None,
            satisfied: None,
            ended: Some(CourseEnd {
                on: day(start, length),
                outcome,
            }),
        }
    }

    fn year(y: i32) -> DateRange {
        DateRange::new(d(y, 1, 1), d(y, 12, 31)).unwrap()
    }

    #[test]
    fn an_empty_period_has_every_metric_with_n_0_and_no_value() {
        let c = contract(1, 1, Target::quick_care_waits().to_vec());
        let r = course(&c, 1, d(2011, 3, 1), 5, 60, EndOutcome::RecoveredFully);
        let card = Scorecard::compute(Scope::Contract(c.id), year(2012), &[c], &[r]);
        assert_eq!(card.metrics.len(), MetricId::ALL.len());
        for m in &card.metrics {
            assert_eq!((m.n, m.value), (0, None), "{}", m.id);
        }
        assert_eq!(card.counts, Counts::default());
        assert!(card.target_misses.is_empty());
        assert_eq!(
            card.targets_unmeasured,
            [
                MetricId::ReferralToStartDays,
                MetricId::ReferralToPlacementDays
            ]
        );
    }

    #[test]
    fn metrics_follow_their_definitions() {
        let c = contract(1, 1, vec![]);
        let mut a = course(&c, 1, d(2011, 3, 1), 4, 70, EndOutcome::RecoveredPartly);
        a.placement_on = Some(day(a.referred_on, 20));
        a.partial_return_on = Some(day(a.first_sick_day, 170));
        a.satisfied = Some(true);
        let b = course(&c, 2, d(2011, 4, 1), 6, 56, EndOutcome::DroppedOut);
        let mut w = course(&c, 3, d(2011, 5, 1), 0, 1, EndOutcome::Withdrawn);
        w.started_on = None;
        let open = Referral {
            ended: None,
            ..course(&c, 4, d(2011, 6, 1), 3, 0, EndOutcome::StillOnBenefit)
        };
        let card = Scorecard::compute(
            Scope::Provider(c.provider),
            year(2011),
            std::slice::from_ref(&c),
            &[a, b, w, open],
        );
        let v = |id| card.metric(id).unwrap().value.unwrap();
        assert_eq!(v(MetricId::ReferralToStartDays), 5.0);
        assert_eq!(v(MetricId::ReferralToPlacementDays), 20.0);
        assert_eq!(card.metric(MetricId::ReferralToPlacementDays).unwrap().n, 1);
        assert_eq!(v(MetricId::AbsenceWeeksAtStart), 145.0 / 7.0);
        assert_eq!(v(MetricId::CourseLengthWeeks), 9.0);
        assert_eq!(v(MetricId::ExitRate), 0.0, "partly recovered has not left");
        assert_eq!(v(MetricId::RecoveredFullOrPartialRate), 0.5);
        assert_eq!(v(MetricId::PlacementShare), 0.5);
        assert_eq!(v(MetricId::DropoutRate), 0.5);
        assert_eq!(v(MetricId::DaysToPartialReturn), 170.0);
        assert_eq!(v(MetricId::SatisfiedShare), 1.0);
        assert_eq!(
            card.counts,
            Counts {
                referrals_received: 4,
                courses_started: 3,
                courses_completed: 2,
                withdrawn: 1,
                in_progress_at_end: 1,
                in_progress_over_52_weeks_at_end: 0,
            }
        );
    }

    #[test]
    fn target_misses_name_metric_target_actual_n_and_al21() {
        let mut targets = Target::quick_care_waits().to_vec();
        targets.push(Target {
            metric: MetricId::ExitRate,
            value: 0.6,
        });
        targets.push(Target {
            metric: MetricId::CourseLengthWeeks,
            value: 9.6,
        });
        let c = contract(1, 1, targets);
        let rs = [
            course(&c, 1, d(2011, 3, 1), 6, 63, EndOutcome::RecoveredFully),
            course(&c, 2, d(2011, 3, 2), 8, 70, EndOutcome::StillOnBenefit),
        ];
        let card = Scorecard::compute(Scope::Contract(c.id), year(2011), &[c], &rs);
        assert_eq!(
            card.target_misses,
            [
                TargetMiss {
                    metric: MetricId::ReferralToStartDays,
                    target: 4.9,
                    actual: 7.0,
                    n: 2,
                    alert: Some(ContractRuleId::Al21),
                },
                TargetMiss {
                    metric: MetricId::ExitRate,
                    target: 0.6,
                    actual: 0.5,
                    n: 2,
                    alert: None,
                },
            ],
            "9.5 weeks meets 9.6"
        );
        assert_eq!(card.targets_unmeasured, [MetricId::ReferralToPlacementDays]);
    }

    #[test]
    fn bases_compare_only_with_their_own_metric_a14() {
        let c = contract(1, 1, vec![]);
        let rs = [course(
            &c,
            1,
            d(2011, 3, 1),
            4,
            63,
            EndOutcome::RecoveredPartly,
        )];
        let mut card = Scorecard::compute(Scope::Contract(c.id), year(2011), &[c], &rs);
        card.attach_all(roskilde_2010_2012()).unwrap();
        card.attach_all(quick_care_national()).unwrap();
        let exit = card.metric(MetricId::ExitRate).unwrap();
        let recovered = card.metric(MetricId::RecoveredFullOrPartialRate).unwrap();
        assert!(exit.bases.iter().all(|b| b.metric == MetricId::ExitRate));
        assert_eq!(exit.bases.len(), 1, "only Quick Care's 60 %");
        assert_eq!(recovered.bases.len(), 1, "only Roskilde's 67 %");
        let roskilde = &recovered.bases[0];
        assert_eq!(
            exit.standing(roskilde),
            None,
            "never compared across definitions"
        );
        assert_eq!(exit.delta(roskilde), None);
        assert_eq!(recovered.standing(roskilde), Some(Standing::Better));
        let bad = ComparisonBasis {
            value: Some(67.0),
            ..roskilde.clone()
        };
        assert_eq!(card.attach(bad).unwrap_err().0[0].field, "basis.value");
    }

    #[test]
    fn ranking_is_direction_aware_with_ties_and_missing_values() {
        let cs: Vec<Contract> = (1..=5).map(|i| contract(i, i, vec![])).collect();
        let rs = vec![
            course(&cs[0], 1, d(2011, 3, 1), 6, 63, EndOutcome::RecoveredFully),
            course(&cs[1], 2, d(2011, 3, 1), 3, 63, EndOutcome::StillOnBenefit),
            course(&cs[2], 3, d(2011, 3, 1), 6, 63, EndOutcome::RecoveredFully),
            course(&cs[4], 5, d(2011, 3, 1), 1, 63, EndOutcome::RecoveredFully),
        ];
        let cards: Vec<Scorecard> = cs
            .iter()
            .map(|c| Scorecard::compute(Scope::Provider(c.provider), year(2011), &cs, &rs))
            .collect();
        let ranks = |metric, min_n| -> Vec<(Option<u32>, Option<Unranked>)> {
            rank(metric, &cards, min_n)
                .unwrap()
                .into_iter()
                .map(|e| (e.rank, e.unranked))
                .collect()
        };
        assert_eq!(
            ranks(MetricId::ReferralToStartDays, 1),
            [
                (Some(1), None),
                (Some(2), None),
                (Some(3), None),
                (Some(3), None),
                (None, Some(Unranked::NoData)),
            ]
        );
        let by_exit = rank(MetricId::ExitRate, &cards, 1).unwrap();
        assert_eq!(
            by_exit.iter().map(|e| e.rank).collect::<Vec<_>>(),
            [Some(1), Some(1), Some(1), Some(4), None]
        );
        assert_eq!(by_exit[3].scope, Scope::Provider(cs[1].provider));
        assert_eq!(
            ranks(MetricId::ExitRate, 2)[0],
            (None, Some(Unranked::TooFewCourses { min_n: 2 }))
        );
        assert!(rank(MetricId::AbsenceWeeksAtStart, &cards, 1).is_err());
        let mut other = cards.clone();
        other[1].period = year(2010);
        assert_eq!(
            rank(MetricId::ExitRate, &other, 1).unwrap_err().0[0].field,
            "scorecards[1].period"
        );
        assert!(rank(MetricId::ExitRate, &[], 1).unwrap().is_empty());
    }

    #[test]
    fn earlier_period_bases_give_deltas() {
        let c = contract(1, 1, vec![]);
        let rs = [
            course(&c, 1, d(2010, 3, 1), 10, 70, EndOutcome::StillOnBenefit),
            course(&c, 2, d(2011, 3, 1), 4, 63, EndOutcome::RecoveredFully),
        ];
        let scope = Scope::Contract(c.id);
        let cs = [c];
        let before = Scorecard::compute(scope.clone(), year(2010), &cs, &rs);
        let mut now = Scorecard::compute(scope, year(2011), &cs, &rs);
        now.compare_with_earlier(&before).unwrap();
        let m = now.metric(MetricId::ReferralToStartDays).unwrap();
        assert_eq!(m.delta(&m.bases[0]), Some(-6.0));
        assert_eq!(m.standing(&m.bases[0]), Some(Standing::Better));
        assert!(before.clone().compare_with_earlier(&now).is_err());
    }

    #[test]
    fn overdue_waits_per_referral_al21() {
        let c = contract(1, 1, Target::quick_care_waits().to_vec());
        let mut r = course(&c, 1, d(2011, 3, 1), 5, 63, EndOutcome::RecoveredFully);
        r.placement_on = Some(day(r.referred_on, 19));
        let late = overdue_waits(&c, &r, d(2011, 12, 1));
        assert_eq!(late.len(), 1, "5 days > 4.9; 19 days is on target");
        assert_eq!((late[0].days, late[0].still_waiting), (5, false));
        let waiting = Referral {
            started_on: None,
            placement_on: None,
            ended: None,
            ..r.clone()
        };
        assert!(overdue_waits(&c, &waiting, day(r.referred_on, 4)).is_empty());
        let w = overdue_waits(&c, &waiting, day(r.referred_on, 5));
        assert_eq!((w[0].days, w[0].still_waiting), (5, true));
    }
}
