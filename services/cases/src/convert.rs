//! Conversions between the wire types of kia.v1 and the domain, done once at the edge.

use kia_domain::case::{
    Case, CaseIntake, CaseState, EmploymentStatus, MunicipalityCode, RawIntake,
};
use kia_proto::v1 as pb;
use kia_runtime::{ApiError, Identity};
use kia_store::{CaseFilter, IdempotencyKey};
use sha2::{Digest, Sha256};

pub(crate) fn employment_from_pb(value: i32) -> Option<EmploymentStatus> {
    match pb::EmploymentStatus::try_from(value).ok()? {
        pb::EmploymentStatus::Employed => Some(EmploymentStatus::Employed),
        pb::EmploymentStatus::UnemployedInsured => Some(EmploymentStatus::UnemployedInsured),
        pb::EmploymentStatus::Other => Some(EmploymentStatus::Other),
        pb::EmploymentStatus::Unspecified => None,
    }
}

fn employment_to_pb(status: EmploymentStatus) -> pb::EmploymentStatus {
    match status {
        EmploymentStatus::Employed => pb::EmploymentStatus::Employed,
        EmploymentStatus::UnemployedInsured => pb::EmploymentStatus::UnemployedInsured,
        EmploymentStatus::Other => pb::EmploymentStatus::Other,
    }
}

fn state_to_pb(state: CaseState) -> pb::CaseState {
    match state {
        CaseState::Open => pb::CaseState::Open,
        CaseState::Closed => pb::CaseState::Closed,
    }
}

pub(crate) fn raw_intake(case: &pb::Case) -> RawIntake<'_> {
    RawIntake {
        municipality_code: &case.municipality_code,
        first_sick_day: &case.first_sick_day,
        employment_status: employment_from_pb(case.employment_status),
        employer_reference: &case.employer_reference,
        citizen_reference: &case.citizen_reference,
    }
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub(crate) fn case_to_pb(case: &Case) -> pb::Case {
    let intake = &case.intake;
    pb::Case {
        case_id: case.id.to_string(),
        municipality_code: intake.municipality.to_string(),
        first_sick_day: intake.first_sick_day.to_string(),
        employment_status: employment_to_pb(intake.employment_status) as i32,
        employer_reference: intake
            .employer_reference
            .as_ref()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default(),
        citizen_reference: intake.citizen_reference.as_str().to_owned(),
        state: state_to_pb(case.state) as i32,
        create_time: Some(timestamp(case.created_at)),
        update_time: Some(timestamp(case.updated_at)),
        etag: case.etag(),
    }
}

pub(crate) fn case_filter(request: &pb::ListCasesRequest) -> Result<CaseFilter, ApiError> {
    let municipality = match request.municipality_code.as_str() {
        "" => None,
        raw => Some(
            MunicipalityCode::parse(raw).map_err(|e| ApiError::invalid("municipality_code", e))?,
        ),
    };
    let state = match pb::CaseState::try_from(request.state) {
        Ok(pb::CaseState::Unspecified) => None,
        Ok(pb::CaseState::Open) => Some(CaseState::Open),
        Ok(pb::CaseState::Closed) => Some(CaseState::Closed),
        Err(_) => return Err(ApiError::invalid("state", "is not a known case state")),
    };
    Ok(CaseFilter {
        municipality,
        state,
    })
}

/// The idempotency key of a create: scoped to the calling organisation and method, with a
/// digest of the validated parameters so a reused key with other parameters is caught.
pub(crate) fn idempotency_key(
    identity: &Identity,
    method: &str,
    request_id: &str,
    intake: &CaseIntake,
) -> Result<Option<IdempotencyKey>, ApiError> {
    if request_id.is_empty() {
        return Ok(None);
    }
    if request_id.len() > 64 || !request_id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::invalid(
            "request_id",
            "must be at most 64 printable ASCII characters",
        ));
    }
    let params = serde_json::to_vec(intake).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some(IdempotencyKey {
        scope: format!(
            "{}:{}/{method}",
            identity.kind.as_str(),
            identity.organization
        ),
        request_id: request_id.to_owned(),
        fingerprint: hex::encode(Sha256::digest(params)),
    }))
}
