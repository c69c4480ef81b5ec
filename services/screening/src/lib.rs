//! kia.v1.ScreeningService: the interdisciplinary screening (screeningsgruppe, KIA team) and its
//! 360-degree assessment over gRPC. Thin: converts requests once, checks who may do what before
//! validating, lets `kia_domain::screening` decide, and stores the result.
//!
//! Assessments are health data. The jobcenter of the case's municipality reads and writes them;
//! a provider that is a member of the group (by its organisation id) may record its own
//! member's assessment and sees only that one back; every other caller is denied.

mod convert;
pub mod fuzzing;

use kia_domain::screening::{Discipline, Screening, screening_queue};
use kia_proto::v1 as pb;
use kia_proto::v1::screening_service_server::ScreeningService;
use kia_runtime::identity::OrganizationKind;
use kia_runtime::{ApiError, Context, Identity, audit, authz, handle};
use kia_store::{Created, GroupRecord, NewEvent, ScreeningRecord, StoreError};
use tonic::{Request, Response, Status};
use uuid::Uuid;

pub use kia_proto::v1::screening_service_server::ScreeningServiceServer;

/// The ScreeningService implementation.
#[derive(Debug, Clone)]
pub struct ScreeningApi {
    ctx: Context,
}

/// How many times a change without an etag is re-applied when another writer got there first.
const MAX_CHANGE_ATTEMPTS: usize = 3;

fn parse_id(field: &str, raw: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::invalid(field, "must be an id as kia issued it"))
}

/// Who may record an assessment, decided before the request is validated.
enum Writer {
    Jobcenter,
    /// A provider member of the group: sees only its own discipline's assessment.
    ProviderMember(Discipline),
}

impl ScreeningApi {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The service wrapped in the gate (readiness and caller identity).
    pub fn server(
        ctx: Context,
    ) -> tonic::service::interceptor::InterceptedService<
        ScreeningServiceServer<Self>,
        kia_runtime::server::Gate,
    > {
        let gate = ctx.gate.clone();
        ScreeningServiceServer::with_interceptor(Self::new(ctx), gate)
    }

    /// The screening, if it exists and the caller's jobcenter owns it; denial and absence look
    /// alike to strangers.
    async fn visible_screening(
        &self,
        identity: &Identity,
        raw_id: &str,
    ) -> Result<ScreeningRecord, ApiError> {
        let scope = identity.jobcenter_municipality()?;
        let id = parse_id("screening_id", raw_id)?;
        let s = authz::owned(
            self.ctx.store.get_screening(id).await?,
            "screening",
            |s: &ScreeningRecord| &s.municipality == scope,
        )?;
        audit::touch(&s.screening.case_id().to_string(), audit::Category::Health);
        Ok(s)
    }

    /// The screening an assessment is recorded in, and as whom. A provider must be the
    /// organisation of a group member of the stated discipline and reference.
    async fn writable_screening(
        &self,
        identity: &Identity,
        r: &pb::RecordAssessmentRequest,
    ) -> Result<(ScreeningRecord, Writer), ApiError> {
        if identity.kind != OrganizationKind::Provider {
            let s = self.visible_screening(identity, &r.screening_id).await?;
            return Ok((s, Writer::Jobcenter));
        }
        let denied = || ApiError::PermissionDenied;
        let id: Uuid = r.screening_id.parse().map_err(|_| denied())?;
        let s = self.ctx.store.get_screening(id).await?.ok_or_else(denied)?;
        let group = self
            .ctx
            .store
            .get_screening_group(s.group_id)
            .await?
            .ok_or_else(denied)?;
        let discipline = convert::discipline_from_pb(r.discipline).ok_or_else(denied)?;
        let member = group
            .group
            .members()
            .iter()
            .zip(&group.member_organizations)
            .any(|(m, org)| {
                m.discipline == discipline
                    && m.reference == r.assessor.trim()
                    && org.as_deref() == Some(identity.organization.as_str())
            });
        if member {
            audit::touch(&s.screening.case_id().to_string(), audit::Category::Health);
            Ok((s, Writer::ProviderMember(discipline)))
        } else {
            Err(denied())
        }
    }

    async fn create_group(
        &self,
        identity: Identity,
        r: pb::CreateScreeningGroupRequest,
    ) -> Result<pb::CreateScreeningGroupResponse, ApiError> {
        let scope = identity.jobcenter_municipality()?.clone();
        let raw = r.group.unwrap_or_default();
        let (group, organizations) = convert::group_from_pb(&raw)?;
        let key = convert::idempotency_key(&identity, &r.request_id, &group, &organizations)?;
        let record = GroupRecord {
            id: Uuid::new_v4(),
            municipality: scope,
            group,
            member_organizations: organizations,
            created_at: self.ctx.clock.now(),
        };
        let record = match self
            .ctx
            .store
            .create_screening_group(&record, key.as_ref())
            .await?
        {
            Created::New(g) => {
                tracing::info!(group_id = %g.id, municipality = %g.municipality, "screening group created");
                g
            }
            Created::Replayed(g) => g,
        };
        Ok(pb::CreateScreeningGroupResponse {
            group: Some(convert::group_to_pb(&record)),
        })
    }

    async fn visible_group(
        &self,
        identity: &Identity,
        raw_id: &str,
    ) -> Result<GroupRecord, ApiError> {
        let scope = identity.jobcenter_municipality()?;
        let id = parse_id("group_id", raw_id)?;
        authz::owned(
            self.ctx.store.get_screening_group(id).await?,
            "screening group",
            |g: &GroupRecord| &g.municipality == scope,
        )
    }

    async fn get_group(
        &self,
        identity: Identity,
        r: pb::GetScreeningGroupRequest,
    ) -> Result<pb::GetScreeningGroupResponse, ApiError> {
        let group = self.visible_group(&identity, &r.group_id).await?;
        Ok(pb::GetScreeningGroupResponse {
            group: Some(convert::group_to_pb(&group)),
        })
    }

    async fn open(
        &self,
        identity: Identity,
        r: pb::OpenScreeningRequest,
    ) -> Result<pb::OpenScreeningResponse, ApiError> {
        let scope = identity.jobcenter_municipality()?.clone();
        let case = authz::jobcenter_case(&*self.ctx.store, &identity, &r.case_id).await?;
        audit::touch(&case.id.to_string(), audit::Category::Health);
        let group = self.visible_group(&identity, &r.group_id).await?;
        let mut invalid = kia_domain::error::Invalid::default();
        let opened_on = convert::optional_date(&mut invalid, "opened_on", &r.opened_on);
        invalid.into_result(())?;
        let now = self.ctx.clock.now();
        let record = ScreeningRecord {
            id: Uuid::new_v4(),
            municipality: scope,
            group_id: group.id,
            screening: Screening::open(
                case.id,
                group.group,
                opened_on.unwrap_or_else(|| self.ctx.clock.today()),
            ),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        self.ctx.store.create_screening(&record).await?;
        tracing::info!(screening_id = %record.id, case_id = %case.id, "screening opened");
        Ok(pb::OpenScreeningResponse {
            screening: Some(convert::screening_to_pb(&record, None)),
        })
    }

    /// Checks the etag, applies `apply` and stores with the event it returns. Without an etag
    /// a concurrent change is absorbed by re-reading and re-applying; with one it is ABORTED.
    async fn change(
        &self,
        mut current: ScreeningRecord,
        etag: &str,
        apply: impl Fn(&mut ScreeningRecord) -> Result<NewEvent, ApiError>,
    ) -> Result<ScreeningRecord, ApiError> {
        for _ in 0..MAX_CHANGE_ATTEMPTS {
            if !etag.is_empty() && etag != current.etag() {
                return Err(ApiError::Aborted {
                    current_etag: current.etag(),
                });
            }
            let expected = current.version;
            let mut next = current.clone();
            let event = apply(&mut next)?;
            next.version = expected + 1;
            next.updated_at = self.ctx.clock.now();
            match self
                .ctx
                .store
                .update_screening(&next, expected, &event)
                .await
            {
                Ok(()) => return Ok(next),
                Err(StoreError::Stale) => {
                    current = self.ctx.store.get_screening(current.id).await?.ok_or(
                        ApiError::NotFound {
                            resource: "screening",
                        },
                    )?;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(ApiError::Unavailable(
            "the screening is changing too fast; retry".into(),
        ))
    }

    async fn record_assessment(
        &self,
        identity: Identity,
        r: pb::RecordAssessmentRequest,
    ) -> Result<pb::RecordAssessmentResponse, ApiError> {
        let (current, writer) = self.writable_screening(&identity, &r).await?;
        let input = convert::assessment_input(&r)?;
        let apply = |s: &mut ScreeningRecord| {
            let discipline = s.screening.add_assessment(input.clone())?.discipline;
            Ok(NewEvent::assessment_recorded(s, discipline.as_str()))
        };
        let saved = self.change(current, &r.etag, apply).await?;
        tracing::info!(screening_id = %saved.id, discipline = input.discipline.as_str(), "assessment recorded");
        let only = match writer {
            Writer::Jobcenter => None,
            Writer::ProviderMember(d) => Some(d),
        };
        Ok(pb::RecordAssessmentResponse {
            screening: Some(convert::screening_to_pb(&saved, only)),
        })
    }

    async fn conclude(
        &self,
        identity: Identity,
        r: pb::ConcludeScreeningRequest,
    ) -> Result<pb::ConcludeScreeningResponse, ApiError> {
        let current = self.visible_screening(&identity, &r.screening_id).await?;
        let input = convert::conclusion_input(&r, self.ctx.clock.today())?;
        // The previous concluded screening of the case, for the ICF profile's change.
        let previous = self
            .ctx
            .store
            .concluded_screenings(current.screening.case_id())
            .await?
            .into_iter()
            .rfind(|p| {
                p.id != current.id
                    && p.screening
                        .conclusion()
                        .is_some_and(|c| c.concluded_on <= input.concluded_on)
            });
        let apply = |s: &mut ScreeningRecord| {
            s.screening
                .conclude(input.clone(), previous.as_ref().map(|p| &p.screening))?;
            Ok(NewEvent::screening_concluded(s))
        };
        let saved = self.change(current, &r.etag, apply).await?;
        tracing::info!(screening_id = %saved.id, "screening concluded");
        Ok(pb::ConcludeScreeningResponse {
            screening: Some(convert::screening_to_pb(&saved, None)),
        })
    }

    async fn get(
        &self,
        identity: Identity,
        r: pb::GetScreeningRequest,
    ) -> Result<pb::GetScreeningResponse, ApiError> {
        let s = self.visible_screening(&identity, &r.screening_id).await?;
        Ok(pb::GetScreeningResponse {
            screening: Some(convert::screening_to_pb(&s, None)),
        })
    }

    async fn unscreened(
        &self,
        identity: Identity,
        r: pb::ListUnscreenedCasesRequest,
    ) -> Result<pb::ListUnscreenedCasesResponse, ApiError> {
        let scope = identity.jobcenter_municipality()?.clone();
        let mut invalid = kia_domain::error::Invalid::default();
        let as_of = convert::optional_date(&mut invalid, "as_of", &r.as_of);
        invalid.into_result(())?;
        let as_of = as_of.unwrap_or_else(|| self.ctx.clock.today());
        let candidates = self.ctx.store.screening_candidates(&scope).await?;
        let queue = screening_queue(&candidates, as_of);
        for entry in &queue.queue {
            audit::touch(&entry.case_id.to_string(), audit::Category::Case);
        }
        Ok(convert::queue_to_pb(&queue))
    }

    async fn employer_view(
        &self,
        identity: Identity,
        r: pb::GetScreeningEmployerViewRequest,
    ) -> Result<pb::GetScreeningEmployerViewResponse, ApiError> {
        let s = if identity.kind == OrganizationKind::Employer {
            // The case's employer, and only for a screening of its employee's case.
            let denied = || ApiError::PermissionDenied;
            let id: Uuid = r.screening_id.parse().map_err(|_| denied())?;
            let s = self.ctx.store.get_screening(id).await?.ok_or_else(denied)?;
            authz::case_employer(&*self.ctx.store, &identity, s.screening.case_id()).await?;
            s
        } else {
            self.visible_screening(&identity, &r.screening_id).await?
        };
        audit::touch(
            &s.screening.case_id().to_string(),
            audit::Category::EmployerView,
        );
        Ok(convert::employer_view_to_pb(&s.screening.employer_view()))
    }
}

#[tonic::async_trait]
impl ScreeningService for ScreeningApi {
    async fn create_screening_group(
        &self,
        request: Request<pb::CreateScreeningGroupRequest>,
    ) -> Result<Response<pb::CreateScreeningGroupResponse>, Status> {
        handle(request, |id, req| self.create_group(id, req)).await
    }

    async fn get_screening_group(
        &self,
        request: Request<pb::GetScreeningGroupRequest>,
    ) -> Result<Response<pb::GetScreeningGroupResponse>, Status> {
        handle(request, |id, req| self.get_group(id, req)).await
    }

    async fn open_screening(
        &self,
        request: Request<pb::OpenScreeningRequest>,
    ) -> Result<Response<pb::OpenScreeningResponse>, Status> {
        handle(request, |id, req| self.open(id, req)).await
    }

    async fn record_assessment(
        &self,
        request: Request<pb::RecordAssessmentRequest>,
    ) -> Result<Response<pb::RecordAssessmentResponse>, Status> {
        handle(request, |id, req| {
            ScreeningApi::record_assessment(self, id, req)
        })
        .await
    }

    async fn conclude_screening(
        &self,
        request: Request<pb::ConcludeScreeningRequest>,
    ) -> Result<Response<pb::ConcludeScreeningResponse>, Status> {
        handle(request, |id, req| self.conclude(id, req)).await
    }

    async fn get_screening(
        &self,
        request: Request<pb::GetScreeningRequest>,
    ) -> Result<Response<pb::GetScreeningResponse>, Status> {
        handle(request, |id, req| self.get(id, req)).await
    }

    async fn list_unscreened_cases(
        &self,
        request: Request<pb::ListUnscreenedCasesRequest>,
    ) -> Result<Response<pb::ListUnscreenedCasesResponse>, Status> {
        handle(request, |id, req| self.unscreened(id, req)).await
    }

    async fn get_screening_employer_view(
        &self,
        request: Request<pb::GetScreeningEmployerViewRequest>,
    ) -> Result<Response<pb::GetScreeningEmployerViewResponse>, Status> {
        handle(request, |id, req| self.employer_view(id, req)).await
    }
}
