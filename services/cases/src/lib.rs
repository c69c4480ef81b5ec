//! kia.v1.CaseService: sickness-benefit cases over gRPC. Thin: converts requests into domain
//! types once, checks who may do what, lets the domain decide, and stores the result.

mod convert;
pub mod fuzzing;

use std::pin::Pin;

use kia_domain::case::{Case, CaseChange, CaseId, CaseIntake};
use kia_domain::error::Invalid;
use kia_domain::reimbursement::Financing;
use kia_domain::rules::RuleSet;
use kia_proto::v1 as pb;
use kia_proto::v1::case_service_server::CaseService;
use kia_runtime::citizen::Cpr;
use kia_runtime::{ApiError, Context, Identity, audit, authz, handle, pagination};
use kia_store::{CaseFilter, Created, NewEvent, StoreError};
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

/// The case, if it exists and the caller may see it; denial and absence look alike to strangers.
async fn visible_case(ctx: &Context, identity: &Identity, raw_id: &str) -> Result<Case, ApiError> {
    authz::jobcenter_case(&*ctx.store, identity, raw_id).await
}

/// How many times a change without an etag is re-applied when another writer got there first.
const MAX_CHANGE_ATTEMPTS: usize = 3;

impl CaseApi {
    /// Applies a change to a visible case: checks the etag, lets the domain decide as of today,
    /// and stores the case with its event. Without an etag, a concurrent change is absorbed by
    /// re-reading and re-applying; with one, it is ABORTED with the current etag.
    async fn change(
        &self,
        identity: &Identity,
        case_id: &str,
        etag: &str,
        change: CaseChange,
    ) -> Result<Case, ApiError> {
        for _ in 0..MAX_CHANGE_ATTEMPTS {
            let mut case = visible_case(&self.ctx, identity, case_id).await?;
            if !etag.is_empty() && etag != case.etag() {
                return Err(ApiError::Aborted {
                    current_etag: case.etag(),
                });
            }
            let expected = case.version;
            let event = NewEvent::case_changed(&case, &change);
            case.apply(change.clone(), self.ctx.clock.today(), self.ctx.clock.now())?;
            match self.ctx.store.update_case(&case, expected, &event).await {
                Ok(()) => {
                    self.ctx.feed.nudge();
                    tracing::info!(case_id = %case.id, event = event.event_type, "case changed");
                    return Ok(case);
                }
                Err(StoreError::Stale) if etag.is_empty() => continue,
                Err(StoreError::Stale) => {
                    let current = visible_case(&self.ctx, identity, case_id).await?;
                    return Err(ApiError::Aborted {
                        current_etag: current.etag(),
                    });
                }
                Err(other) => return Err(other.into()),
            }
        }
        Err(ApiError::Unavailable(
            "the case is changing too fast; retry".into(),
        ))
    }

    /// The rule set a request names, or the one the case is judged by.
    fn rule_set(case: &Case, named: i32) -> Result<&'static RuleSet, ApiError> {
        Ok(convert::rule_set_from_pb(named)?.map_or_else(|| case.rule_set(), RuleSet::get))
    }

    async fn create(
        &self,
        identity: Identity,
        request: pb::CreateCaseRequest,
    ) -> Result<pb::CreateCaseResponse, ApiError> {
        let scope = identity.jobcenter_municipality()?.clone();
        let today = self.ctx.clock.today();
        let raw = request.r#case.unwrap_or_default();
        let intake = CaseIntake::parse(&convert::raw_intake(&raw), today, "case.")?;
        if intake.municipality != scope {
            return Err(ApiError::PermissionDenied);
        }
        let cpr = match raw.citizen_cpr.as_str() {
            "" => None,
            raw => Some(Cpr::parse("case.citizen_cpr", raw)?),
        };
        let cpr_hash = cpr.as_ref().map(|c| self.ctx.citizen_keys.hash(c));
        let key = convert::idempotency_key(
            &identity,
            "CreateCase",
            &request.request_id,
            &(&intake, &cpr_hash),
        )?;

        let now = self.ctx.clock.now();
        let id = CaseId::from_micros(
            now.timestamp_micros().max(0) as u64,
            uuid::Uuid::new_v4().as_u128(),
        );
        let case = Case::open(id, intake, now);
        audit::touch(&case.id.to_string(), audit::Category::Case);
        let citizen = cpr
            .as_ref()
            .map(|c| {
                audit::touch(&case.id.to_string(), audit::Category::CitizenIdentity);
                self.ctx.citizen_keys.protect(c, &case.id.to_string())
            })
            .transpose()?;
        let case = match self
            .ctx
            .store
            .create_citizen_case(&case, key.as_ref(), citizen.as_ref())
            .await?
        {
            Created::New(case) => {
                self.ctx.feed.nudge();
                tracing::info!(case_id = %case.id, municipality = %case.intake.municipality, "case opened");
                case
            }
            Created::Replayed(case) => case,
        };
        let citizen_known_cases = match &cpr_hash {
            Some(hash) => self
                .ctx
                .store
                .cases_of_citizen(&scope, hash)
                .await?
                .into_iter()
                .filter(|other| *other != case.id)
                .map(|other| other.to_string())
                .collect(),
            None => Vec::new(),
        };
        Ok(pb::CreateCaseResponse {
            r#case: Some(convert::case_to_pb(&case)),
            citizen_known_cases,
        })
    }

    async fn find_citizen_cases(
        &self,
        identity: Identity,
        request: pb::FindCitizenCasesRequest,
    ) -> Result<pb::FindCitizenCasesResponse, ApiError> {
        let scope = identity.jobcenter_municipality()?.clone();
        let cpr = Cpr::parse("citizen_cpr", &request.citizen_cpr)?;
        let hash = self.ctx.citizen_keys.hash(&cpr);
        let cases = self.ctx.store.cases_of_citizen(&scope, &hash).await?;
        for case in &cases {
            audit::touch(&case.to_string(), audit::Category::CitizenIdentity);
        }
        Ok(pb::FindCitizenCasesResponse {
            case_ids: cases.iter().map(ToString::to_string).collect(),
        })
    }

    async fn reveal_citizen_cpr(
        &self,
        identity: Identity,
        request: pb::RevealCitizenCprRequest,
    ) -> Result<pb::RevealCitizenCprResponse, ApiError> {
        let case = visible_case(&self.ctx, &identity, &request.case_id).await?;
        audit::touch(&case.id.to_string(), audit::Category::CitizenIdentity);
        let citizen_cpr = match self.ctx.store.sealed_cpr(case.id).await? {
            Some(sealed) => self
                .ctx
                .citizen_keys
                .open(&sealed, &case.id.to_string())?
                .reveal(),
            None => String::new(),
        };
        Ok(pb::RevealCitizenCprResponse { citizen_cpr })
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
        let scope = identity.jobcenter_municipality()?.clone();
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
        for case in &cases {
            audit::touch(&case.id.to_string(), audit::Category::Case);
        }
        Ok(pb::ListCasesResponse {
            cases: cases.iter().map(convert::case_to_pb).collect(),
            next_page_token,
        })
    }

    async fn visitate(
        &self,
        identity: Identity,
        r: pb::VisitateRequest,
    ) -> Result<pb::VisitateResponse, ApiError> {
        identity.jobcenter_municipality()?;
        let change = convert::visitation(&r)?;
        let case = self.change(&identity, &r.case_id, &r.etag, change).await?;
        Ok(pb::VisitateResponse {
            r#case: Some(convert::case_to_pb(&case)),
        })
    }

    async fn record_follow_up(
        &self,
        identity: Identity,
        r: pb::RecordFollowUpRequest,
    ) -> Result<pb::RecordFollowUpResponse, ApiError> {
        identity.jobcenter_municipality()?;
        let change = convert::follow_up(&r)?;
        let case = self.change(&identity, &r.case_id, &r.etag, change).await?;
        Ok(pb::RecordFollowUpResponse {
            r#case: Some(convert::case_to_pb(&case)),
        })
    }

    async fn set_exemption(
        &self,
        identity: Identity,
        r: pb::SetExemptionRequest,
    ) -> Result<pb::SetExemptionResponse, ApiError> {
        identity.jobcenter_municipality()?;
        let change = convert::exemption(&r)?;
        let case = self.change(&identity, &r.case_id, &r.etag, change).await?;
        Ok(pb::SetExemptionResponse {
            r#case: Some(convert::case_to_pb(&case)),
        })
    }

    async fn lift_exemption(
        &self,
        identity: Identity,
        r: pb::LiftExemptionRequest,
    ) -> Result<pb::LiftExemptionResponse, ApiError> {
        identity.jobcenter_municipality()?;
        let change = convert::lifted_exemption(&r)?;
        let case = self.change(&identity, &r.case_id, &r.etag, change).await?;
        Ok(pb::LiftExemptionResponse {
            r#case: Some(convert::case_to_pb(&case)),
        })
    }

    async fn record_partial_return(
        &self,
        identity: Identity,
        r: pb::RecordPartialReturnRequest,
    ) -> Result<pb::RecordPartialReturnResponse, ApiError> {
        identity.jobcenter_municipality()?;
        let change = convert::partial_return(&r)?;
        let case = self.change(&identity, &r.case_id, &r.etag, change).await?;
        Ok(pb::RecordPartialReturnResponse {
            r#case: Some(convert::case_to_pb(&case)),
        })
    }

    async fn record_step(
        &self,
        identity: Identity,
        r: pb::RecordCaseStepRequest,
    ) -> Result<pb::RecordCaseStepResponse, ApiError> {
        identity.jobcenter_municipality()?;
        let change = convert::case_step(&r)?;
        let case = self.change(&identity, &r.case_id, &r.etag, change).await?;
        Ok(pb::RecordCaseStepResponse {
            r#case: Some(convert::case_to_pb(&case)),
        })
    }

    async fn close(
        &self,
        identity: Identity,
        r: pb::CloseCaseRequest,
    ) -> Result<pb::CloseCaseResponse, ApiError> {
        identity.jobcenter_municipality()?;
        let change = convert::closure(&r)?;
        let case = self.change(&identity, &r.case_id, &r.etag, change).await?;
        Ok(pb::CloseCaseResponse {
            r#case: Some(convert::case_to_pb(&case)),
        })
    }

    async fn timeline(
        &self,
        identity: Identity,
        r: pb::GetTimelineRequest,
    ) -> Result<pb::GetTimelineResponse, ApiError> {
        let case = visible_case(&self.ctx, &identity, &r.case_id).await?;
        let mut invalid = Invalid::default();
        let as_of = convert::optional_date(&mut invalid, "as_of", &r.as_of);
        let rs = Self::rule_set(&case, r.rule_set)?;
        invalid.into_result(())?;
        let as_of = as_of.unwrap_or_else(|| self.ctx.clock.today());
        let timeline = kia_domain::timeline::timeline(&case.facts, rs, as_of);
        let mut response = convert::timeline_to_pb(&timeline, rs.conflicts());
        // T-21: the 360-degree assessment, met by the first concluded screening of the case.
        let first_concluded = self
            .ctx
            .store
            .concluded_screenings(case.id)
            .await?
            .iter()
            .filter_map(|s| s.screening.conclusion().map(|c| c.concluded_on))
            .min();
        let t21 = kia_domain::screening::assessment_deadline(
            case.intake.first_sick_day,
            first_concluded,
            as_of,
        );
        response
            .deadlines
            .push(convert::assessment_deadline_to_pb(&t21));
        Ok(response)
    }

    async fn reimbursement(
        &self,
        identity: Identity,
        r: pb::GetReimbursementRequest,
    ) -> Result<pb::GetReimbursementResponse, ApiError> {
        let case = visible_case(&self.ctx, &identity, &r.case_id).await?;
        let mut invalid = Invalid::default();
        let through = convert::optional_date(&mut invalid, "through", &r.through);
        if r.weekly_benefit_oere <= 0 {
            invalid.push("weekly_benefit_oere", "must be a positive amount in øre");
        }
        let rs = Self::rule_set(&case, r.rule_set)?;
        invalid.into_result(())?;
        let through = through.unwrap_or_else(|| self.ctx.clock.today());
        let refused =
            |e: kia_domain::reimbursement::ReimbursementError| ApiError::FailedPrecondition {
                rule_id: None,
                reason: e.to_string(),
            };
        let split = Financing::for_case(rs, &case.facts)
            .and_then(|f| f.case(&case.facts, r.weekly_benefit_oere, through))
            .map_err(refused)?;
        Ok(pb::GetReimbursementResponse {
            rule_set: convert::rule_set_to_pb(rs.id) as i32,
            through: through.to_string(),
            employer_oere: split.employer,
            municipality_oere: split.municipality,
            state_oere: split.state,
            total_oere: split.total(),
        })
    }

    /// Streams this municipality's case events after a position: first what is in the log,
    /// then each new event as the feed reports the log has grown.
    fn watch(
        &self,
        identity: &Identity,
        r: pb::WatchCaseEventsRequest,
    ) -> Result<
        tokio_stream::wrappers::ReceiverStream<Result<pb::WatchCaseEventsResponse, Status>>,
        ApiError,
    > {
        let scope = identity.jobcenter_municipality()?.to_string();
        if r.after_position < 0 {
            return Err(ApiError::invalid("after_position", "must not be negative"));
        }
        Ok(kia_runtime::events::watch_log(
            self.ctx.store.clone(),
            &self.ctx.feed,
            r.after_position,
            move |event| {
                let mine =
                    event.stream_type == "case" && event.municipality.as_deref() == Some(&scope);
                let message = mine.then(|| pb::WatchCaseEventsResponse {
                    event: Some(convert::event_to_pb(&event)),
                });
                std::future::ready(Ok(message))
            },
        ))
    }
}

type WatchStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::WatchCaseEventsResponse, Status>> + Send>>;

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

    async fn visitate(
        &self,
        request: Request<pb::VisitateRequest>,
    ) -> Result<Response<pb::VisitateResponse>, Status> {
        handle(request, |id, req| CaseApi::visitate(self, id, req)).await
    }

    async fn record_follow_up(
        &self,
        request: Request<pb::RecordFollowUpRequest>,
    ) -> Result<Response<pb::RecordFollowUpResponse>, Status> {
        handle(request, |id, req| CaseApi::record_follow_up(self, id, req)).await
    }

    async fn set_exemption(
        &self,
        request: Request<pb::SetExemptionRequest>,
    ) -> Result<Response<pb::SetExemptionResponse>, Status> {
        handle(request, |id, req| CaseApi::set_exemption(self, id, req)).await
    }

    async fn lift_exemption(
        &self,
        request: Request<pb::LiftExemptionRequest>,
    ) -> Result<Response<pb::LiftExemptionResponse>, Status> {
        handle(request, |id, req| CaseApi::lift_exemption(self, id, req)).await
    }

    async fn record_partial_return(
        &self,
        request: Request<pb::RecordPartialReturnRequest>,
    ) -> Result<Response<pb::RecordPartialReturnResponse>, Status> {
        handle(request, |id, req| {
            CaseApi::record_partial_return(self, id, req)
        })
        .await
    }

    async fn record_case_step(
        &self,
        request: Request<pb::RecordCaseStepRequest>,
    ) -> Result<Response<pb::RecordCaseStepResponse>, Status> {
        handle(request, |id, req| self.record_step(id, req)).await
    }

    async fn close_case(
        &self,
        request: Request<pb::CloseCaseRequest>,
    ) -> Result<Response<pb::CloseCaseResponse>, Status> {
        handle(request, |id, req| self.close(id, req)).await
    }

    async fn get_timeline(
        &self,
        request: Request<pb::GetTimelineRequest>,
    ) -> Result<Response<pb::GetTimelineResponse>, Status> {
        handle(request, |id, req| self.timeline(id, req)).await
    }

    async fn get_reimbursement(
        &self,
        request: Request<pb::GetReimbursementRequest>,
    ) -> Result<Response<pb::GetReimbursementResponse>, Status> {
        handle(request, |id, req| self.reimbursement(id, req)).await
    }

    async fn find_citizen_cases(
        &self,
        request: Request<pb::FindCitizenCasesRequest>,
    ) -> Result<Response<pb::FindCitizenCasesResponse>, Status> {
        handle(request, |id, req| {
            CaseApi::find_citizen_cases(self, id, req)
        })
        .await
    }

    async fn reveal_citizen_cpr(
        &self,
        request: Request<pb::RevealCitizenCprRequest>,
    ) -> Result<Response<pb::RevealCitizenCprResponse>, Status> {
        handle(request, |id, req| {
            CaseApi::reveal_citizen_cpr(self, id, req)
        })
        .await
    }

    type WatchCaseEventsStream = WatchStream;

    async fn watch_case_events(
        &self,
        request: Request<pb::WatchCaseEventsRequest>,
    ) -> Result<Response<Self::WatchCaseEventsStream>, Status> {
        handle(request, |id, req| async move {
            Ok(Box::pin(self.watch(&id, req)?) as WatchStream)
        })
        .await
    }
}
