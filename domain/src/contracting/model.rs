//! Providers (andre aktører) and their contracts with a municipality.
//!
//! Who the other actors are comes from DOMAIN.md §1.1: [003 P23] 003_532c043554107ee2.txt
//! (other actors may be given authority tasks for sickness-benefit recipients; the jobcentre
//! keeps overall responsibility), [002 §1.2] 002_59c7ae5e83dc120d.txt and \[004\]
//! 004_29a2444e953dfa53.txt (Quick Care; Aabenraa cut its other actors from 6 to 2 [004 §6.1]).
//! The seeds say nothing about contract terms: price, capacity and targets are INFERRED design,
//! documented on each type.

use std::collections::BTreeSet;
use std::fmt;

use crate::case::{MunicipalityCode, parse_date};
use crate::error::Invalid;
use crate::reimbursement::Oere;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::scorecard::{Direction, MetricId, Unit};

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        pub struct $name(::uuid::Uuid);

        impl $name {
            /// A new UUIDv7 identifier (sorts by creation time); `unix_ms` is the creation
            /// instant, since the domain reads no clock.
            pub fn new(unix_ms: u64, random: u128) -> Self {
                Self($crate::case::CaseId::new(unix_ms, random).as_uuid())
            }

            pub const fn from_uuid(uuid: ::uuid::Uuid) -> Self {
                Self(uuid)
            }

            pub fn as_uuid(&self) -> ::uuid::Uuid {
                self.0
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                ::std::fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                ::uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}
pub(crate) use id_type;

id_type!(
    /// A provider's identifier.
    ProviderId
);
id_type!(
    /// A contract's identifier.
    ContractId
);

/// Kinds of other actor named in the seeds (DOMAIN.md §1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Private provider (privat leverandør), e.g. Quick Care (\[004\]).
    PrivateProvider,
    /// Revalidation institution (revalideringsinstitution) ([003 P23]).
    RevalidationInstitution,
    /// Occupational-medicine clinic (arbejdsmedicinsk klinik) ([003 P22/P23]).
    OccupationalMedicineClinic,
    /// Private consultancy (privat konsulentfirma) ([003 P23]).
    PrivateConsultancy,
    /// Trade union (faglig organisation), e.g. FOA in Svendborg ([004 §6.3]).
    TradeUnion,
    /// Unemployment insurance fund (a-kasse) acting as other actor ([003 P15]; INFERRED kind).
    UnemploymentInsuranceFund,
    /// Any other organisation.
    Other,
}

impl ProviderKind {
    pub const ALL: [Self; 7] = [
        Self::PrivateProvider,
        Self::RevalidationInstitution,
        Self::OccupationalMedicineClinic,
        Self::PrivateConsultancy,
        Self::TradeUnion,
        Self::UnemploymentInsuranceFund,
        Self::Other,
    ];

    /// The stable name used in storage and events.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::PrivateProvider => "private_provider",
            Self::RevalidationInstitution => "revalidation_institution",
            Self::OccupationalMedicineClinic => "occupational_medicine_clinic",
            Self::PrivateConsultancy => "private_consultancy",
            Self::TradeUnion => "trade_union",
            Self::UnemploymentInsuranceFund => "unemployment_insurance_fund",
            Self::Other => "other",
        }
    }

    pub fn from_str_opt(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

/// A provider (anden aktør) as kia keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provider {
    pub id: ProviderId,
    /// The organisation's name (not personal data).
    pub name: String,
    pub kind: ProviderKind,
    /// CVR number (Danish business register), eight digits, when given.
    pub cvr: Option<String>,
}

/// A provider as a caller sent it, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawProvider<'a> {
    pub name: &'a str,
    pub kind: Option<ProviderKind>,
    /// Empty when not given.
    pub cvr: &'a str,
}

/// Longest organisation name accepted.
pub const MAX_NAME_CHARS: usize = 200;

impl Provider {
    /// Validates a provider; field names are prefixed with `prefix` (e.g. `provider.`).
    pub fn parse(id: ProviderId, raw: &RawProvider<'_>, prefix: &str) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let field = |name: &str| format!("{prefix}{name}");
        let name = raw.name.trim();
        if name.is_empty() {
            invalid.push(field("name"), "is required");
        } else if name.chars().count() > MAX_NAME_CHARS {
            invalid.push(field("name"), "must be at most 200 characters");
        } else if name.chars().any(char::is_control) {
            invalid.push(field("name"), "must not contain control characters");
        }
        if raw.kind.is_none() {
            invalid.push(field("kind"), "is required");
        }
        let cvr = match raw.cvr {
            "" => None,
            c if c.len() == 8 && c.bytes().all(|b| b.is_ascii_digit()) && !c.starts_with('0') => {
                Some(c.to_owned())
            }
            _ => {
                invalid.push(
                    field("cvr"),
                    "must be an eight-digit CVR number not starting with 0",
                );
                None
            }
        };
        match raw.kind {
            Some(kind) if invalid.is_empty() => Ok(Self {
                id,
                name: name.to_owned(),
                kind,
                cvr,
            }),
            _ => Err(invalid),
        }
    }
}

/// What the provider delivers under a contract (after DOMAIN.md §4.2 and §6; INFERRED classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceType {
    /// Holistic health- and employment-oriented clarification (360-degree assessment, T-21,
    /// [004 §5, §6.1]).
    HolisticClarification,
    /// Return-to-work course (forløb) bringing the citizen back to or nearer the labour market,
    /// as measured by Quick Care ([004 §7]).
    ReturnToWorkCourse,
    /// KIA coordinated interdisciplinary effort ([003 F4 ch5]).
    KiaCourse,
    /// Brokering of work placements (virksomhedspraktik).
    WorkPlacement,
    /// Mentor.
    Mentor,
    /// Rehabilitation (genoptræning, physiotherapy, pain management).
    Rehabilitation,
    /// Psychological help (psykologbistand).
    Psychology,
    /// Follow-up talks held on the jobcentre's behalf (authority task, [003 P23]).
    FollowUpTalks,
    Other,
}

/// Authority tasks (myndighedsopgaver) the jobcentre may delegate to the provider ([003 P23]);
/// the jobcentre keeps overall legal responsibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DelegatedTask {
    /// Hold follow-up talks (opfølgningssamtaler).
    FollowUpTalks,
    /// Give active offers.
    ActiveOffers,
    /// Oblige the citizen to attend.
    ObligeAttendance,
    /// Obtain medical information.
    ObtainMedicalInformation,
    /// Assess work capacity.
    AssessWorkCapacity,
    /// Prepare the resource profile (ressourceprofil).
    ResourceProfile,
}

/// What one price amount buys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceUnit {
    /// One amount per course (forløbspris), whatever its length.
    Course,
    /// An amount per course week (ugepris).
    Week,
}

/// The contract price. The seeds state none (Roskilde's provider cost is INFERRED, §5.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Price {
    /// Øre, excluding VAT (INFERRED: municipalities compare prices ex VAT).
    pub amount: Oere,
    pub per: PriceUnit,
}

impl Price {
    /// The price of one course from `started_on` to `ended_on` (inclusive).
    ///
    /// A weekly price is charged pro rata per calendar day, `amount × days / 7`, rounded
    /// down to whole øre (INFERRED: contracts often bill per started week instead — a contract
    /// with that term should state a per-course price or round up itself). A course with an end
    /// before its start costs nothing.
    pub fn course_cost(&self, started_on: NaiveDate, ended_on: NaiveDate) -> Oere {
        match self.per {
            PriceUnit::Course => self.amount,
            PriceUnit::Week => {
                let days = (ended_on - started_on).num_days() + 1;
                let cost = i128::from(self.amount) * i128::from(days.max(0)) / 7;
                Oere::try_from(cost).unwrap_or(Oere::MAX)
            }
        }
    }
}

/// The window a per-period capacity counts referrals in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacityWindow {
    CalendarMonth,
    CalendarQuarter,
    CalendarYear,
    /// The contract's whole period: a cap on the total number of referrals.
    ContractPeriod,
}

impl CapacityWindow {
    /// The window containing `date` (inclusive bounds), clipped to the contract period.
    pub fn containing(self, date: NaiveDate, contract: &DateRange) -> DateRange {
        let (from, to) = match self {
            CapacityWindow::ContractPeriod => return *contract,
            CapacityWindow::CalendarMonth => month_bounds(date.year(), date.month(), 1),
            CapacityWindow::CalendarQuarter => {
                month_bounds(date.year(), (date.month() - 1) / 3 * 3 + 1, 3)
            }
            CapacityWindow::CalendarYear => month_bounds(date.year(), 1, 12),
        };
        DateRange {
            from: from.max(contract.from),
            to: to.min(contract.to),
        }
    }
}

/// First day of `month` and last day of the `months`-long block starting there.
fn month_bounds(year: i32, month: u32, months: u32) -> (NaiveDate, NaiveDate) {
    let from = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN);
    let to = from
        .checked_add_months(chrono::Months::new(months))
        .and_then(|d| d.pred_opt())
        .unwrap_or(NaiveDate::MAX);
    (from, to)
}

/// A cap on referrals received per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowCap {
    pub max: u32,
    pub window: CapacityWindow,
}

/// How many referrals a contract takes (INFERRED design; the seeds state no capacity terms).
///
/// - `max_concurrent`: at most this many referrals *in progress* on any day. A referral is in
///   progress from its referral date (visitation) until its end date; it frees its slot on the
///   day it ends, so a referral dated that day fits. A referral withdrawn before start holds its
///   slot until withdrawn.
/// - `per_window`: at most this many referrals *received* (by referral date) per window
///   (calendar month, quarter, year, or the whole contract period). Withdrawn referrals (never
///   started) do not count.
///
/// Both limits may apply at once; neither set means no cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Capacity {
    pub max_concurrent: Option<u32>,
    pub per_window: Option<WindowCap>,
}

/// An inclusive range of calendar dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DateRange {
    pub from: NaiveDate,
    /// Inclusive.
    pub to: NaiveDate,
}

impl DateRange {
    /// `None` when `to` is before `from`.
    pub fn new(from: NaiveDate, to: NaiveDate) -> Option<Self> {
        (from <= to).then_some(Self { from, to })
    }

    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }

    /// Parses "YYYY-MM-DD" bounds, reporting `{prefix}from` / `{prefix}to`.
    pub fn parse(from: &str, to: &str, prefix: &str) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let from = parse_date(from)
            .map_err(|e| invalid.push(format!("{prefix}from"), e))
            .ok();
        let to = parse_date(to)
            .map_err(|e| invalid.push(format!("{prefix}to"), e))
            .ok();
        match (from, to) {
            (Some(from), Some(to)) if from <= to => Ok(Self { from, to }),
            (Some(_), Some(_)) => Err(Invalid::single(
                format!("{prefix}to"),
                "must not be before the start of the period",
            )),
            _ => Err(invalid),
        }
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..={}", self.from, self.to)
    }
}

/// An outcome target in a contract: the metric must be at least as good as `value` (lower
/// for days and weeks, higher for shares — see [`MetricId::direction`]).
///
/// Units as the scorecard computes them: days, weeks, or a share as a fraction in `0..=1`
/// (60 % is `0.6`). The seeds give benchmarks, not contract targets: Quick Care's 4.9 days
/// referral → start (T-23) and 19 days referral → placement (T-23b) ([004 §7]) are the usual
/// starting point, see [`Target::quick_care_waits`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub metric: MetricId,
    pub value: f64,
}

impl Target {
    /// T-23 and T-23b as contract targets: 4.9 days to start, 19 days to placement ([004 §7]
    /// 004_29a2444e953dfa53.txt), the thresholds of AL-21.
    pub fn quick_care_waits() -> [Target; 2] {
        [
            Target {
                metric: MetricId::ReferralToStartDays,
                value: 4.9,
            },
            Target {
                metric: MetricId::ReferralToPlacementDays,
                value: 19.0,
            },
        ]
    }

    /// Field violations of one target, reported under `field` (e.g. `contract.targets[0]`).
    fn check(&self, field: &str, invalid: &mut Invalid) {
        if self.metric.direction() == Direction::Context {
            invalid.push(
                format!("{field}.metric"),
                format!(
                    "{} describes the citizens referred, not the provider's result; \
                     it cannot be a target",
                    self.metric.as_str()
                ),
            );
        }
        check_metric_value(self.metric, self.value, &format!("{field}.value"), invalid);
    }
}

/// A value is finite, non-negative, and at most 1 for a share.
pub(crate) fn check_metric_value(metric: MetricId, value: f64, field: &str, invalid: &mut Invalid) {
    if !value.is_finite() {
        invalid.push(field, "must be a finite number");
    } else if value < 0.0 {
        invalid.push(field, "must not be negative");
    } else if metric.unit() == Unit::Share && value > 1.0 {
        invalid.push(
            field,
            "is a share: a fraction between 0 and 1 (60 % is 0.6)",
        );
    }
}

/// A contract between a municipality and a provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contract {
    pub id: ContractId,
    pub provider: ProviderId,
    /// The contracting municipality; only its jobcentre refers cases under the contract.
    pub municipality: MunicipalityCode,
    pub service: ServiceType,
    pub price: Price,
    pub capacity: Capacity,
    /// Referrals are accepted with a referral date inside this period; courses referred in it
    /// may run past its end.
    pub period: DateRange,
    /// At most one target per metric.
    pub targets: Vec<Target>,
    /// Authority tasks delegated under [003 P23], without duplicates.
    pub delegated_tasks: Vec<DelegatedTask>,
}

/// A contract as a caller sent it, before validation.
#[derive(Debug, Clone, Default)]
pub struct RawContract<'a> {
    pub provider: Option<ProviderId>,
    pub municipality_code: &'a str,
    pub service: Option<ServiceType>,
    pub price: Option<Price>,
    pub capacity: Capacity,
    /// "YYYY-MM-DD".
    pub period_from: &'a str,
    /// "YYYY-MM-DD", inclusive.
    pub period_to: &'a str,
    pub targets: Vec<Target>,
    pub delegated_tasks: Vec<DelegatedTask>,
}

impl Contract {
    /// Validates a contract, collecting every violation; fields are prefixed with `prefix`
    /// (e.g. `contract.`): `provider`, `municipality_code`, `service`, `price`,
    /// `price.amount`, `capacity.max_concurrent`, `capacity.per_window.max`, `period.from`,
    /// `period.to`, `targets[i].metric`, `targets[i].value`, `delegated_tasks[i]`.
    pub fn parse(id: ContractId, raw: &RawContract<'_>, prefix: &str) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        let field = |name: &str| format!("{prefix}{name}");

        if raw.provider.is_none() {
            invalid.push(field("provider"), "is required");
        }
        let municipality = MunicipalityCode::parse(raw.municipality_code)
            .map_err(|e| invalid.push(field("municipality_code"), e))
            .ok();
        if raw.service.is_none() {
            invalid.push(field("service"), "is required");
        }
        match raw.price {
            None => invalid.push(field("price"), "is required"),
            Some(p) if p.amount < 0 => {
                invalid.push(field("price.amount"), "must not be negative (øre)")
            }
            Some(_) => {}
        }
        if raw.capacity.max_concurrent == Some(0) {
            invalid.push(
                field("capacity.max_concurrent"),
                "must be at least 1 when set (leave unset for no cap)",
            );
        }
        if raw.capacity.per_window.is_some_and(|w| w.max == 0) {
            invalid.push(
                field("capacity.per_window.max"),
                "must be at least 1 when set (leave unset for no cap)",
            );
        }
        let period = DateRange::parse(raw.period_from, raw.period_to, &field("period."))
            .map_err(|e| invalid.0.extend(e.0))
            .ok();
        let mut seen = BTreeSet::new();
        for (i, t) in raw.targets.iter().enumerate() {
            let f = field(&format!("targets[{i}]"));
            t.check(&f, &mut invalid);
            if !seen.insert(t.metric) {
                invalid.push(
                    format!("{f}.metric"),
                    "duplicates an earlier target for the same metric",
                );
            }
        }
        let mut tasks = BTreeSet::new();
        for (i, t) in raw.delegated_tasks.iter().enumerate() {
            if !tasks.insert(*t) {
                invalid.push(field(&format!("delegated_tasks[{i}]")), "is listed twice");
            }
        }

        match (raw.provider, municipality, raw.service, raw.price, period) {
            (Some(provider), Some(municipality), Some(service), Some(price), Some(period))
                if invalid.is_empty() =>
            {
                Ok(Self {
                    id,
                    provider,
                    municipality,
                    service,
                    price,
                    capacity: raw.capacity,
                    period,
                    targets: raw.targets.clone(),
                    delegated_tasks: raw.delegated_tasks.clone(),
                })
            }
            _ => Err(invalid),
        }
    }

    /// The target for `metric`, if the contract sets one.
    pub fn target(&self, metric: MetricId) -> Option<&Target> {
        self.targets.iter().find(|t| t.metric == metric)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn raw<'a>() -> RawContract<'a> {
        RawContract {
            provider: Some(ProviderId::new(1, 1)),
            municipality_code: "265",
            service: Some(ServiceType::ReturnToWorkCourse),
            price: Some(Price {
                amount: 386_000,
                per: PriceUnit::Course,
            }),
            capacity: Capacity {
                max_concurrent: Some(40),
                per_window: None,
            },
            period_from: "2010-11-01",
            period_to: "2012-04-30",
            targets: Target::quick_care_waits().to_vec(),
            delegated_tasks: vec![DelegatedTask::FollowUpTalks],
        }
    }

    #[test]
    fn a_valid_contract_parses() {
        let c = Contract::parse(ContractId::new(2, 2), &raw(), "contract.").unwrap();
        assert_eq!(c.municipality.as_str(), "265");
        assert_eq!(
            c.period,
            DateRange::new(d(2010, 11, 1), d(2012, 4, 30)).unwrap()
        );
        assert_eq!(
            c.target(MetricId::ReferralToStartDays).map(|t| t.value),
            Some(4.9)
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let bad = RawContract {
            provider: None,
            municipality_code: "999",
            service: None,
            price: Some(Price {
                amount: -1,
                per: PriceUnit::Week,
            }),
            capacity: Capacity {
                max_concurrent: Some(0),
                per_window: Some(WindowCap {
                    max: 0,
                    window: CapacityWindow::CalendarMonth,
                }),
            },
            period_from: "2012-05-01",
            period_to: "2012-04-30",
            targets: vec![
                Target {
                    metric: MetricId::ExitRate,
                    value: 60.0,
                },
                Target {
                    metric: MetricId::AbsenceWeeksAtStart,
                    value: 20.0,
                },
                Target {
                    metric: MetricId::ReferralToStartDays,
                    value: f64::NAN,
                },
                Target {
                    metric: MetricId::ExitRate,
                    value: 0.6,
                },
            ],
            delegated_tasks: vec![DelegatedTask::ActiveOffers, DelegatedTask::ActiveOffers],
        };
        let err = Contract::parse(ContractId::new(2, 2), &bad, "contract.").unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "contract.provider",
                "contract.municipality_code",
                "contract.service",
                "contract.price.amount",
                "contract.capacity.max_concurrent",
                "contract.capacity.per_window.max",
                "contract.period.to",
                "contract.targets[0].value",
                "contract.targets[1].metric",
                "contract.targets[2].value",
                "contract.targets[3].metric",
                "contract.delegated_tasks[1]",
            ]
        );
    }

    #[test]
    fn provider_validation() {
        let ok = Provider::parse(
            ProviderId::new(1, 1),
            &RawProvider {
                name: " Quick Care ",
                kind: Some(ProviderKind::PrivateProvider),
                cvr: "",
            },
            "provider.",
        )
        .unwrap();
        assert_eq!((ok.name.as_str(), ok.cvr), ("Quick Care", None));
        let err = Provider::parse(
            ProviderId::new(1, 1),
            &RawProvider {
                name: "",
                kind: None,
                cvr: "0123456",
            },
            "provider.",
        )
        .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["provider.name", "provider.kind", "provider.cvr"]);
        for kind in ProviderKind::ALL {
            assert_eq!(ProviderKind::from_str_opt(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn weekly_price_is_pro_rata_per_day() {
        let weekly = Price {
            amount: 700_000,
            per: PriceUnit::Week,
        };
        assert_eq!(weekly.course_cost(d(2011, 1, 3), d(2011, 1, 9)), 700_000);
        assert_eq!(weekly.course_cost(d(2011, 1, 3), d(2011, 1, 5)), 300_000);
        assert_eq!(weekly.course_cost(d(2011, 1, 9), d(2011, 1, 3)), 0);
        let per_course = Price {
            amount: 386_000,
            per: PriceUnit::Course,
        };
        assert_eq!(
            per_course.course_cost(d(2011, 1, 3), d(2011, 3, 9)),
            386_000
        );
    }

    #[test]
    fn capacity_windows_are_calendar_blocks_clipped_to_the_contract() {
        let contract = DateRange::new(d(2011, 2, 15), d(2012, 2, 14)).unwrap();
        let w = |win: CapacityWindow, on| win.containing(on, &contract);
        assert_eq!(
            w(CapacityWindow::CalendarMonth, d(2011, 2, 20)),
            DateRange::new(d(2011, 2, 15), d(2011, 2, 28)).unwrap()
        );
        assert_eq!(
            w(CapacityWindow::CalendarQuarter, d(2011, 8, 31)),
            DateRange::new(d(2011, 7, 1), d(2011, 9, 30)).unwrap()
        );
        assert_eq!(
            w(CapacityWindow::CalendarYear, d(2012, 1, 5)),
            DateRange::new(d(2012, 1, 1), d(2012, 2, 14)).unwrap()
        );
        assert_eq!(w(CapacityWindow::ContractPeriod, d(2011, 6, 1)), contract);
    }

    #[test]
    fn ids_round_trip() {
        let id = ContractId::new(1_700_000_000_000, 42);
        assert_eq!(id.to_string().parse::<ContractId>().unwrap(), id);
        assert_eq!(id.as_uuid().get_version_num(), 7);
    }
}
