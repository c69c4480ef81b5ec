//! kia.v1.CaseService: sickness-benefit cases over gRPC. Thin: converts requests into domain
//! types once, checks who may do what, and calls the store.

mod convert;

use kia_domain::case::{Case, CaseId, CaseIntake, CaseState, MunicipalityCode};
use kia_proto::v1 as pb;
use kia_proto::v1::case_service_server::CaseService;
use kia_runtime::identity::OrganizationKind;
use kia_runtime::{ApiError, Context, Identity, handle, pagination};
use kia_store::{CaseFilter, Created};
use tonic::{Request, Response, Status};

pub use kia_proto::v1::case_service_server::CaseServiceServer;

/// The CaseService implementation.
#[derive(Debug, Clone)]
pub struct CaseApi {
    ctx: Context,
}

impl CaseApi {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The service wrapped in the gate (readiness and caller identity).
    pub fn server(
        ctx: Context,
    ) -> tonic::service::interceptor::InterceptedService<
        CaseServiceServer<Self>,
        kia_runtime::server::Gate,
    > {
        let gate = ctx.gate.clone();
        CaseServiceServer::with_interceptor(Self::new(ctx), gate)
    }
}

/// Which municipality's cases a caller may see and change, checked before validation (AIP-211).
/// Later grants (providers under contract, shared plans) widen this for other kinds.
fn municipality_scope(identity: &Identity) -> Result<&MunicipalityCode, ApiError> {
    match (identity.kind, &identity.municipality) {
        (OrganizationKind::Jobcenter, Some(m)) => Ok(m),
        _ => Err(ApiError::PermissionDenied),
    }
}

/// The case, if it exists and the caller may see it; denial and absence look alike to strangers.
async fn visible_case(ctx: &Context, identity: &Identity, raw_id: &str) -> Result<Case, ApiError> {
    let scope = municipality_scope(identity)?;
    let id: CaseId = raw_id
        .parse()
        .map_err(|_| ApiError::invalid("case_id", "must be a case id as kia issued it"))?;
    match ctx.store.get_case(id).await? {
        Some(case) if &case.intake.municipality == scope => Ok(case),
        Some(_) => Err(ApiError::PermissionDenied),
        None => Err(ApiError::NotFound { resource: "case" }),
    }
}

impl CaseApi {
    async fn create(
        &self,
        identity: Identity,
        request: pb::CreateCaseRequest,
    ) -> Result<pb::CreateCaseResponse, ApiError> {
        let scope = municipality_scope(&identity)?.clone();
        let today = self.ctx.clock.today();
        let raw = request.r#case.unwrap_or_default();
        let intake = CaseIntake::parse(&convert::raw_intake(&raw), today, "case.")?;
        if intake.municipality != scope {
            return Err(ApiError::PermissionDenied);
        }
        let key = convert::idempotency_key(&identity, "CreateCase", &request.request_id, &intake)?;

        let now = self.ctx.clock.now();
        let case = Case {
            id: CaseId::new(now.timestamp_millis().max(0) as u64, uuid_random()),
            intake,
            state: CaseState::Open,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let case = match self.ctx.store.create_case(&case, key.as_ref()).await? {
            Created::New(case) => {
                tracing::info!(case_id = %case.id, municipality = %case.intake.municipality, "case opened");
                case
            }
            Created::Replayed(case) => case,
        };
        Ok(pb::CreateCaseResponse {
            r#case: Some(convert::case_to_pb(&case)),
        })
    }

    async fn get(
        &self,
        identity: Identity,
        request: pb::GetCaseRequest,
    ) -> Result<pb::GetCaseResponse, ApiError> {
        let case = visible_case(&self.ctx, &identity, &request.case_id).await?;
        Ok(pb::GetCaseResponse {
            r#case: Some(convert::case_to_pb(&case)),
        })
    }

    async fn list(
        &self,
        identity: Identity,
        request: pb::ListCasesRequest,
    ) -> Result<pb::ListCasesResponse, ApiError> {
        let scope = municipality_scope(&identity)?.clone();
        let page_size = pagination::page_size(request.page_size)?;
        let filter = convert::case_filter(&request)?;
        if filter.municipality.as_ref().is_some_and(|m| m != &scope) {
            return Err(ApiError::PermissionDenied);
        }
        let digest = pagination::filter_digest(&[
            filter.municipality.as_ref().map_or("", |m| m.as_str()),
            filter.state.map_or("", |s| s.as_str()),
        ]);
        let after = pagination::decode(&request.page_token, &digest)?
            .map(|raw| raw.parse::<CaseId>())
            .transpose()
            .map_err(|_| ApiError::invalid("page_token", "is not a token this server issued"))?;
        let scoped = CaseFilter {
            municipality: Some(scope),
            ..filter
        };

        // One row more than asked tells whether another page follows.
        let mut cases = self
            .ctx
            .store
            .list_cases(&scoped, after, page_size + 1)
            .await?;
        let next_page_token = if cases.len() > page_size as usize {
            cases.truncate(page_size as usize);
            cases
                .last()
                .map(|c| pagination::encode(&c.id.to_string(), &digest))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListCasesResponse {
            cases: cases.iter().map(convert::case_to_pb).collect(),
            next_page_token,
        })
    }
}

#[tonic::async_trait]
impl CaseService for CaseApi {
    async fn create_case(
        &self,
        request: Request<pb::CreateCaseRequest>,
    ) -> Result<Response<pb::CreateCaseResponse>, Status> {
        handle(request, |id, req| self.create(id, req)).await
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        handle(request, |id, req| self.get(id, req)).await
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        handle(request, |id, req| self.list(id, req)).await
    }
}

fn uuid_random() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}
