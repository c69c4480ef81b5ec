//! Who may call what: the one authorization policy of kia.
//!
//! Two layers, both before any input is validated (AIP-211):
//! - [`POLICY`]: which organisation kinds may call each RPC at all. The gate checks it for every
//!   call, from the method path, right after authenticating the caller.
//! - resource checks ([`owned`], [`jobcenter_case`], [`case_employer`]): whether this caller
//!   may see this case, plan, screening or referral — its tenant (municipality), its grant, its
//!   referral, its employment.
//!
//! A denial is always `PERMISSION_DENIED` and says nothing about whether the resource exists.
//! An RPC missing from [`POLICY`] is admitted by the gate and decided by its service alone; every
//! kia.v1 RPC that touches personal data is listed.

use kia_domain::case::{Case, CaseId};
use kia_domain::plan::Plan;
use kia_store::{Store, StoreResult};

use crate::error::ApiError;
use crate::identity::{Identity, OrganizationKind as K};

const JOBCENTER: &[K] = &[K::Jobcenter];
const JOBCENTER_PROVIDER: &[K] = &[K::Jobcenter, K::Provider];
const JOBCENTER_EMPLOYER: &[K] = &[K::Jobcenter, K::Employer];
const JOBCENTER_OPERATIONS: &[K] = &[K::Jobcenter, K::Operations];
/// Plans are shared: a provider or rehabilitation centre with a grant, besides the owner.
const PLAN_SHARING: &[K] = &[K::Jobcenter, K::Provider, K::RehabilitationCentre];
const REGISTER: &[K] = &[K::Jobcenter, K::Provider, K::Operations];
const ANYONE: &[K] = &[
    K::Jobcenter,
    K::Provider,
    K::RehabilitationCentre,
    K::Employer,
    K::Operations,
];

/// The organisation kinds that may call each RPC (`package.Service/Method`).
pub const POLICY: &[(&str, &[K])] = &[
    // Cases are the jobcenter's: a provider learns of a case through its referral, a rehabilitation
    // centre through a shared plan, an employer through the employer views.
    ("kia.v1.CaseService/CreateCase", JOBCENTER),
    ("kia.v1.CaseService/GetCase", JOBCENTER),
    ("kia.v1.CaseService/ListCases", JOBCENTER),
    ("kia.v1.CaseService/Visitate", JOBCENTER),
    ("kia.v1.CaseService/RecordFollowUp", JOBCENTER),
    ("kia.v1.CaseService/SetExemption", JOBCENTER),
    ("kia.v1.CaseService/LiftExemption", JOBCENTER),
    ("kia.v1.CaseService/RecordPartialReturn", JOBCENTER),
    ("kia.v1.CaseService/RecordCaseStep", JOBCENTER),
    ("kia.v1.CaseService/CloseCase", JOBCENTER),
    ("kia.v1.CaseService/GetTimeline", JOBCENTER),
    ("kia.v1.CaseService/GetReimbursement", JOBCENTER),
    ("kia.v1.CaseService/WatchCaseEvents", JOBCENTER),
    ("kia.v1.CaseService/FindCitizenCases", JOBCENTER),
    ("kia.v1.CaseService/RevealCitizenCpr", JOBCENTER),
    // Screening is health data: the jobcenter; a provider only as a group member.
    ("kia.v1.ScreeningService/CreateScreeningGroup", JOBCENTER),
    ("kia.v1.ScreeningService/GetScreeningGroup", JOBCENTER),
    ("kia.v1.ScreeningService/OpenScreening", JOBCENTER),
    (
        "kia.v1.ScreeningService/RecordAssessment",
        JOBCENTER_PROVIDER,
    ),
    ("kia.v1.ScreeningService/ConcludeScreening", JOBCENTER),
    ("kia.v1.ScreeningService/GetScreening", JOBCENTER),
    ("kia.v1.ScreeningService/ListUnscreenedCases", JOBCENTER),
    (
        "kia.v1.ScreeningService/GetScreeningEmployerView",
        JOBCENTER_EMPLOYER,
    ),
    ("kia.v1.PlanService/CreatePlan", JOBCENTER),
    ("kia.v1.PlanService/GetPlan", PLAN_SHARING),
    ("kia.v1.PlanService/ApplyPlanChange", PLAN_SHARING),
    ("kia.v1.PlanService/GetPlanAsOf", PLAN_SHARING),
    ("kia.v1.PlanService/GetEmployerView", JOBCENTER_EMPLOYER),
    ("kia.v1.PlanService/GrantPlanAccess", JOBCENTER),
    ("kia.v1.PlanService/RevokePlanAccess", JOBCENTER),
    ("kia.v1.PlanService/WatchPlan", PLAN_SHARING),
    (
        "kia.v1.ContractingService/CreateProvider",
        JOBCENTER_OPERATIONS,
    ),
    ("kia.v1.ContractingService/GetProvider", REGISTER),
    ("kia.v1.ContractingService/ListProviders", REGISTER),
    ("kia.v1.ContractingService/CreateContract", JOBCENTER),
    ("kia.v1.ContractingService/GetContract", JOBCENTER_PROVIDER),
    (
        "kia.v1.ContractingService/ListContracts",
        JOBCENTER_PROVIDER,
    ),
    ("kia.v1.ContractingService/ReferCase", JOBCENTER),
    (
        "kia.v1.ContractingService/RecordReferralEvent",
        JOBCENTER_PROVIDER,
    ),
    ("kia.v1.ContractingService/GetReferral", JOBCENTER_PROVIDER),
    (
        "kia.v1.ContractingService/ListReferrals",
        JOBCENTER_PROVIDER,
    ),
    ("kia.v1.ContractingService/GetScorecard", JOBCENTER_PROVIDER),
    ("kia.v1.ContractingService/RankProviders", JOBCENTER),
    ("kia.v1.ContractingService/GetNetGain", JOBCENTER),
    // A calculation on public figures: no data of anyone.
    ("kia.v1.ContractingService/RoskildeWhatIf", ANYONE),
    ("kia.v1.AuditService/ListAuditEvents", JOBCENTER),
    ("kia.v1.AuditService/GetAccessReport", JOBCENTER),
    // The chain's integrity, without a record's content: operations may check it.
    ("kia.v1.AuditService/VerifyAuditChain", JOBCENTER_OPERATIONS),
    // Alerts name cases and health activities: the jobcenter, and a provider or rehabilitation
    // centre for the alerts addressed to it (narrowed further by the alert service's scope).
    ("kia.v1.AlertService/ListAlerts", PLAN_SHARING),
    ("kia.v1.AlertService/AcknowledgeAlert", PLAN_SHARING),
    ("kia.v1.AlertService/WatchAlerts", PLAN_SHARING),
    // The daemon's clock: anyone may read it; only operations may move a settable one.
    ("kia.v1.ClockService/GetClock", ANYONE),
    ("kia.v1.ClockService/SetClock", &[K::Operations]),
];

/// The fully qualified method of a call (`kia.v1.CaseService/GetCase`), put on the request by
/// the RPC layer for the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcMethod(pub String);

/// Admits the caller to an RPC when its organisation kind may call it (see [`POLICY`]).
pub fn admit(method: &str, identity: &Identity) -> Result<(), ApiError> {
    match POLICY.iter().find(|(m, _)| *m == method) {
        Some((_, kinds)) if !kinds.contains(&identity.kind) => Err(ApiError::PermissionDenied),
        _ => Ok(()),
    }
}

/// A resource as a tenant sees it: its own is returned, someone else's is PERMISSION_DENIED,
/// an absent one NOT_FOUND (the caller could not have learnt the id of another tenant's
/// resource from kia, and ids are random).
pub fn owned<T>(
    found: Option<T>,
    resource: &'static str,
    mine: impl FnOnce(&T) -> bool,
) -> Result<T, ApiError> {
    match found {
        Some(t) if mine(&t) => Ok(t),
        Some(_) => Err(ApiError::PermissionDenied),
        None => Err(ApiError::NotFound { resource }),
    }
}

/// Parses a case id as kia issues them, naming `field` when it is malformed.
pub fn case_id(field: &str, raw: &str) -> Result<CaseId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid(field, "must be a case id as kia issued it"))
}

/// A case of the calling jobcenter's municipality. The caller's kind is checked before the id
/// is even parsed.
pub async fn jobcenter_case(
    store: &dyn Store,
    identity: &Identity,
    raw_id: &str,
) -> Result<Case, ApiError> {
    jobcenter_owned(identity, raw_id, |id| store.get_case(id), |c| c).await
}

/// [`jobcenter_case`] and the case's plan (`None` when it has none), read in one query.
pub async fn jobcenter_case_with_plan(
    store: &dyn Store,
    identity: &Identity,
    raw_id: &str,
) -> Result<(Case, Option<Plan>), ApiError> {
    jobcenter_owned(identity, raw_id, |id| store.case_with_plan(id), |(c, _)| c).await
}

/// Something `load` reads by case id, when its case (`case_of`) is the calling jobcenter's.
async fn jobcenter_owned<T, F>(
    identity: &Identity,
    raw_id: &str,
    load: impl FnOnce(CaseId) -> F,
    case_of: impl Fn(&T) -> &Case,
) -> Result<T, ApiError>
where
    F: Future<Output = StoreResult<Option<T>>>,
{
    let scope = identity.jobcenter_municipality()?;
    let id = case_id("case_id", raw_id)?;
    let found = load(id).await?;
    if found.is_some() {
        // Recorded either way: a refused attempt on a case shows in its trail as denied.
        crate::audit::touch(&id.to_string(), crate::audit::Category::Case);
    }
    owned(found, "case", |t: &T| {
        &case_of(t).intake.municipality == scope
    })
}

/// Whether the caller is the employer named on the case (its `employer_reference`).
pub fn is_case_employer(identity: &Identity, case: &Case) -> bool {
    identity.kind == K::Employer
        && case
            .intake
            .employer_reference
            .as_ref()
            .is_some_and(|e| e.as_str() == identity.organization)
}

/// A case its employer may see the employer view of: for anyone else PERMISSION_DENIED,
/// whether or not the case exists.
pub async fn case_employer(
    store: &dyn Store,
    identity: &Identity,
    id: CaseId,
) -> Result<Case, ApiError> {
    match store.get_case(id).await? {
        Some(case) if is_case_employer(identity, &case) => Ok(case),
        _ => Err(ApiError::PermissionDenied),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_rpc_is_listed_once() {
        let mut names: Vec<_> = POLICY.iter().map(|(m, _)| *m).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
    }
}
