//! Contracting of other actors (andre aktører) and their outcome scorecards (DOMAIN.md §1.1,
//! §5, §6; DESIGN.md ContractingService).
//!
//! A municipality's jobcentre contracts providers — private providers such as Quick Care,
//! revalidation institutions, occupational-medicine clinics, private consultancies, trade
//! unions ([003 P23] 003_532c043554107ee2.txt, [002 §1.2] 002_59c7ae5e83dc120d.txt,
//! \[004\] 004_29a2444e953dfa53.txt) — and refers cases to them. This module holds:
//!
//! - [`model`]: providers, contracts (service, price, capacity, period, outcome targets), with
//!   validation that names every field at fault;
//! - [`referral`]: a case referred under a contract (the referral date *is* the visitation)
//!   and its events: start, work placement, partial return, satisfaction, end with an outcome;
//! - [`admission`]: whether a new referral is allowed (period, capacity, municipality,
//!   duplicates) as a reasoned verdict — the service answers `FAILED_PRECONDITION` on a refusal;
//! - [`scorecard`]: the canonical scorecard of DOMAIN.md §6.9 per contract, provider or
//!   municipality over a period, comparison bases, target misses (AL-21) and provider ranking;
//! - [`economics`]: the municipality's net gain per referred citizen under the reimbursement
//!   rules, and the Roskilde what-if model of DOMAIN.md §5.6 ([004 §7]).
//!
//! Everything here is pure: the caller passes the contracts and referrals it loaded and the
//! dates to evaluate at; nothing reads a clock.

pub mod admission;
pub mod economics;
pub mod model;
pub mod referral;
pub mod scorecard;

pub use admission::{AdmissionVerdict, ContractRuleId, admit_referral};
pub use economics::{
    CitizenEconomics, CitizenNetGain, CohortNetGain, EconomicsError, RoskildeModel, RoskildeWhatIf,
    citizen_net_gain, cohort_net_gain, roskilde_net_gain,
};
pub use model::{
    Capacity, CapacityWindow, Contract, ContractId, DateRange, DelegatedTask, Price, PriceUnit,
    Provider, ProviderId, ProviderKind, RawContract, RawProvider, ServiceType, Target, WindowCap,
};
pub use referral::{
    CourseEnd, EndOutcome, OtherBenefit, RawReferral, Referral, ReferralEvent, ReferralId,
};
pub use scorecard::{
    BasisKind, ComparisonBasis, Counts, Direction, Metric, MetricId, RankEntry, Scope, Scorecard,
    Standing, TargetMiss, Unit, Unranked, WaitOverdue, kia_vejle_2003_2006, overdue_waits,
    quick_care_national, rank, roskilde_2010_2012, wait_overdue_on,
};
