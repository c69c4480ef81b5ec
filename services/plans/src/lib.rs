//! kia.v1.PlanService: the shared case plan over gRPC. Thin: converts requests into domain types
//! once, checks who may do what, lets `kia_domain::plan` decide (change records, case rules for
//! employment activities, projection, employer view), and stores the result.

mod convert;
pub mod fuzzing;

use std::pin::Pin;

use kia_domain::case::{Case, ExternalReference};
use kia_domain::error::Invalid;
use kia_domain::plan::{self, ChangeRecord, Plan, PlanChange};
use kia_domain::rules::Verdict;
use kia_proto::v1 as pb;
use kia_proto::v1::plan_service_server::PlanService;
use kia_runtime::identity::OrganizationKind;
use kia_runtime::{ApiError, Context, Identity, audit, authz, handle};
use kia_store::{Created, IdempotencyKey, PlanAccess, PlanGrant, StoreError};
use sha2::{Digest, Sha256};
use tonic::{Request, Response, Status};

pub use kia_proto::v1::plan_service_server::PlanServiceServer;

/// Longest purpose text of a grant.
const MAX_PURPOSE_LEN: usize = 500;

/// The PlanService implementation.
#[derive(Debug, Clone)]
pub struct PlanApi {
    ctx: Context,
}

/// What a caller wants to do with a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    Read,
    Update,
    /// The work-relevant parts only.
    EmployerView,
}

/// On what ground a caller may see the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ground {
    /// The jobcentre of the case's municipality.
    Owner,
    /// An organisation holding a grant (re-checked while a watch runs).
    Grantee(String),
    /// The case's employer.
    Employer,
}

impl PlanApi {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The service wrapped in the gate (readiness and caller identity).
    pub fn server(
        ctx: Context,
    ) -> tonic::service::interceptor::InterceptedService<
        PlanServiceServer<Self>,
        kia_runtime::server::Gate,
    > {
        let gate = ctx.gate.clone();
        PlanServiceServer::with_interceptor(Self::new(ctx), gate)
    }

    /// The case, when the caller may do `need` with its plan. Authorization comes first; a
    /// caller without a ground is denied whether or not the case or plan exists (AIP-211).
    async fn authorize(
        &self,
        identity: &Identity,
        raw_case_id: &str,
        need: Need,
    ) -> Result<(Case, Ground), ApiError> {
        let (case, ground, _) = self.admit(identity, raw_case_id, need, false).await?;
        Ok((case, ground))
    }

    /// [`Self::authorize`], and the plan (`None` when the case has none): the owning
    /// jobcentre's case and plan are read in one query.
    async fn authorize_plan(
        &self,
        identity: &Identity,
        raw_case_id: &str,
        need: Need,
    ) -> Result<(Case, Ground, Option<Plan>), ApiError> {
        let (case, ground, plan) = self.admit(identity, raw_case_id, need, true).await?;
        let plan = match plan {
            Some(read) => read,
            None => self.ctx.store.get_plan(case.id).await?,
        };
        Ok((case, ground, plan))
    }

    /// The case and the caller's ground, and the plan if `with_plan` and it came with the case.
    async fn admit(
        &self,
        identity: &Identity,
        raw_case_id: &str,
        need: Need,
        with_plan: bool,
    ) -> Result<(Case, Ground, Option<Option<Plan>>), ApiError> {
        let id = authz::case_id("case_id", raw_case_id)?;
        let store = &*self.ctx.store;
        let (case, ground, plan) = match identity.kind {
            OrganizationKind::Jobcenter if with_plan => {
                let (case, plan) =
                    authz::jobcenter_case_with_plan(store, identity, raw_case_id).await?;
                (case, Ground::Owner, Some(plan))
            }
            OrganizationKind::Jobcenter => (
                authz::jobcenter_case(store, identity, raw_case_id).await?,
                Ground::Owner,
                None,
            ),
            OrganizationKind::Employer if need == Need::EmployerView => (
                authz::case_employer(store, identity, id).await?,
                Ground::Employer,
                None,
            ),
            OrganizationKind::Provider | OrganizationKind::RehabilitationCentre
                if need != Need::EmployerView =>
            {
                let needed = match need {
                    Need::Update => PlanAccess::ReadUpdate,
                    _ => PlanAccess::Read,
                };
                let grant = self
                    .ctx
                    .store
                    .plan_grant(id, &identity.organization)
                    .await?;
                if !grant.is_some_and(|g| g.allows(needed, self.ctx.clock.now())) {
                    return Err(ApiError::PermissionDenied);
                }
                let case = self
                    .ctx
                    .store
                    .get_case(id)
                    .await?
                    .ok_or(ApiError::PermissionDenied)?;
                (case, Ground::Grantee(identity.organization.clone()), None)
            }
            _ => return Err(ApiError::PermissionDenied),
        };
        let category = match need {
            Need::EmployerView => audit::Category::EmployerView,
            _ => audit::Category::Plan,
        };
        audit::touch(&case.id.to_string(), category);
        Ok((case, ground, plan))
    }

    async fn plan_of(&self, case: &Case) -> Result<Plan, ApiError> {
        self.ctx
            .store
            .get_plan(case.id)
            .await?
            .ok_or(ApiError::NotFound { resource: "plan" })
    }

    async fn create(
        &self,
        identity: Identity,
        r: pb::CreatePlanRequest,
    ) -> Result<pb::CreatePlanResponse, ApiError> {
        identity.jobcenter_municipality()?;
        let (case, _) = self.authorize(&identity, &r.case_id, Need::Update).await?;
        let mut invalid = Invalid::default();
        let kind = convert::kind_from_pb(r.kind);
        if kind.is_none() {
            invalid.push("kind", "must name a plan kind");
        }
        let stage = convert::stage_from_pb(r.stage);
        if stage.is_none() {
            invalid.push("stage", "must be preliminary or final");
        }
        let author = convert::party_from_pb(
            &mut invalid,
            "author",
            r.author.as_ref(),
            Some(&identity.organization),
        );
        let owner = ExternalReference::parse(&identity.organization)
            .map_err(|e| ApiError::Unauthenticated(format!("organisation: {e}")))?;
        let (Some(kind), Some(stage), Some(author)) = (kind, stage, author) else {
            return Err(invalid.into());
        };
        invalid.into_result(())?;
        let change = PlanChange::Created {
            case: case.id,
            kind,
            stage,
            owner,
        };
        let key = idempotency_key(&identity, &r.request_id, &(&change, &author))?;
        let record = ChangeRecord::first(self.ctx.clock.now(), author, change);
        let plan = plan::apply(None, &record)?;
        let created = self
            .ctx
            .store
            .create_plan(&plan, &record, &case.intake.municipality, key.as_ref())
            .await;
        let plan = match created {
            Ok(Created::New(plan)) => {
                self.ctx.feed.nudge();
                tracing::info!(case_id = %plan.case, "plan created");
                plan
            }
            Ok(Created::Replayed(plan)) => plan,
            Err(StoreError::Conflict(_)) => {
                return Err(ApiError::AlreadyExists { resource: "plan" });
            }
            Err(other) => return Err(other.into()),
        };
        Ok(pb::CreatePlanResponse {
            plan: Some(convert::plan_to_pb(&plan)),
        })
    }

    async fn get(
        &self,
        identity: Identity,
        r: pb::GetPlanRequest,
    ) -> Result<pb::GetPlanResponse, ApiError> {
        let (_, _, plan) = self
            .authorize_plan(&identity, &r.case_id, Need::Read)
            .await?;
        let mut invalid = Invalid::default();
        let as_of = convert::optional_date(&mut invalid, "as_of", &r.as_of);
        invalid.into_result(())?;
        let plan = plan.ok_or(ApiError::NotFound { resource: "plan" })?;
        let as_of = as_of.unwrap_or_else(|| self.ctx.clock.today());
        let projection = plan::project(&plan, as_of)?;
        Ok(pb::GetPlanResponse {
            plan: Some(convert::plan_to_pb(&plan)),
            projection: Some(convert::projection_to_pb(&plan, &projection)),
        })
    }

    /// One change: etag first, then the case rules for employment activities, then the domain's
    /// record and validation, then the store's atomic version check.
    async fn apply_change(
        &self,
        identity: Identity,
        r: pb::ApplyPlanChangeRequest,
    ) -> Result<pb::ApplyPlanChangeResponse, ApiError> {
        let (case, _) = self.authorize(&identity, &r.case_id, Need::Update).await?;
        let mut invalid = Invalid::default();
        if r.etag.is_empty() {
            invalid.push(
                "etag",
                "is required: changes are made against a known version",
            );
        }
        let author = convert::party_from_pb(
            &mut invalid,
            "author",
            r.author.as_ref(),
            Some(&identity.organization),
        );
        let change = match convert::change_from_pb(r.change.as_ref()) {
            Ok(change) => Some(change),
            Err(ApiError::InvalidArgument(more)) => {
                invalid.0.extend(more.0);
                None
            }
            Err(other) => return Err(other),
        };
        let (Some(author), Some(change)) = (author, change) else {
            return Err(invalid.into());
        };
        invalid.into_result(())?;

        let plan = self.plan_of(&case).await?;
        if !plan.matches_etag(&r.etag) {
            return Err(ApiError::Aborted {
                current_etag: plan.etag(),
            });
        }
        let today = self.ctx.clock.today();
        if let Verdict::Refused { rule_id, reason } =
            plan::check_change(case.rule_set(), &case.facts, &plan, &change, today)
        {
            return Err(ApiError::FailedPrecondition {
                rule_id: Some(rule_id.to_string()),
                reason,
            });
        }
        let record = plan.record(self.ctx.clock.now(), author, change);
        let next = plan.apply(&record)?;
        match self
            .ctx
            .store
            .update_plan(&next, &record, &case.intake.municipality)
            .await
        {
            Ok(()) => {}
            Err(StoreError::Stale) => {
                let current = self.plan_of(&case).await?;
                return Err(ApiError::Aborted {
                    current_etag: current.etag(),
                });
            }
            Err(other) => return Err(other.into()),
        }
        self.ctx.feed.nudge();
        if let Ok(projection) = plan::project(&next, today) {
            let slips = projection.goals.iter().map(|g| g.slip_days);
            (self.ctx.metrics).record_plan_slip(case.intake.municipality.as_str(), slips);
        }
        tracing::info!(case_id = %next.case, event = record.change.event_type(), version = next.version, "plan changed");
        Ok(pb::ApplyPlanChangeResponse {
            plan: Some(convert::plan_to_pb(&next)),
        })
    }

    async fn as_of(
        &self,
        identity: Identity,
        r: pb::GetPlanAsOfRequest,
    ) -> Result<pb::GetPlanAsOfResponse, ApiError> {
        let (case, _) = self.authorize(&identity, &r.case_id, Need::Read).await?;
        let mut invalid = Invalid::default();
        let instant = convert::instant(&mut invalid, "as_of_time", r.as_of_time.as_ref());
        let Some(instant) = instant else {
            return Err(invalid.into());
        };
        let history = self.ctx.store.plan_history(case.id).await?;
        if history.is_empty() {
            return Err(ApiError::NotFound { resource: "plan" });
        }
        // Before its creation the plan did not exist: NOT_FOUND, as for a case without a plan.
        let plan =
            plan::plan_as_of(&history, instant)?.ok_or(ApiError::NotFound { resource: "plan" })?;
        Ok(pb::GetPlanAsOfResponse {
            plan: Some(convert::plan_to_pb(&plan)),
        })
    }

    async fn employer_view(
        &self,
        identity: Identity,
        r: pb::GetEmployerViewRequest,
    ) -> Result<pb::GetEmployerViewResponse, ApiError> {
        let (case, _) = self
            .authorize(&identity, &r.case_id, Need::EmployerView)
            .await?;
        let plan = self.plan_of(&case).await?;
        Ok(pb::GetEmployerViewResponse {
            view: Some(convert::employer_view_to_pb(&plan::employer_view(&plan))),
        })
    }

    async fn grant(
        &self,
        identity: Identity,
        r: pb::GrantPlanAccessRequest,
    ) -> Result<pb::GrantPlanAccessResponse, ApiError> {
        identity.jobcenter_municipality()?;
        let (case, _) = self.authorize(&identity, &r.case_id, Need::Update).await?;
        let now = self.ctx.clock.now();
        let mut invalid = Invalid::default();
        if let Err(e) = ExternalReference::parse(&r.organisation) {
            invalid.push("organisation", e);
        } else if r.organisation == identity.organization {
            invalid.push(
                "organisation",
                "is the owning jobcentre, which needs no grant",
            );
        }
        let access = convert::access_from_pb(r.access);
        if access.is_none() {
            invalid.push("access", "must be read or read and update");
        }
        if r.purpose.trim().is_empty() || r.purpose.chars().count() > MAX_PURPOSE_LEN {
            invalid.push("purpose", "must say why, in 1 to 500 characters");
        }
        let expires = convert::instant(&mut invalid, "expire_time", r.expire_time.as_ref());
        if expires.is_some_and(|e| e <= now) {
            invalid.push("expire_time", "must be in the future");
        }
        let (Some(access), Some(expires_at)) = (access, expires) else {
            return Err(invalid.into());
        };
        invalid.into_result(())?;
        self.plan_of(&case).await?;
        let grant = PlanGrant {
            case: case.id,
            organisation: r.organisation,
            access,
            purpose: r.purpose,
            granted_at: now,
            expires_at,
        };
        self.ctx
            .store
            .put_plan_grant(&grant, &case.intake.municipality)
            .await?;
        self.ctx.feed.nudge();
        tracing::info!(case_id = %case.id, organisation = %grant.organisation, "plan access granted");
        Ok(pb::GrantPlanAccessResponse {
            grant: Some(convert::grant_to_pb(&grant)),
        })
    }

    async fn revoke(
        &self,
        identity: Identity,
        r: pb::RevokePlanAccessRequest,
    ) -> Result<pb::RevokePlanAccessResponse, ApiError> {
        identity.jobcenter_municipality()?;
        let (case, _) = self.authorize(&identity, &r.case_id, Need::Update).await?;
        let revoked = self
            .ctx
            .store
            .revoke_plan_grant(case.id, &r.organisation, &case.intake.municipality)
            .await?;
        if !revoked {
            return Err(ApiError::NotFound { resource: "grant" });
        }
        self.ctx.feed.nudge();
        tracing::info!(case_id = %case.id, organisation = %r.organisation, "plan access revoked");
        Ok(pb::RevokePlanAccessResponse {})
    }

    /// Streams one plan's events after a position: first what is in the log, then each new
    /// event as the feed reports the log has grown. A grantee's stream ends with
    /// PERMISSION_DENIED when its grant expires, or at the next change after it is revoked.
    async fn watch(
        &self,
        identity: &Identity,
        r: pb::WatchPlanRequest,
    ) -> Result<
        tokio_stream::wrappers::ReceiverStream<Result<pb::WatchPlanResponse, Status>>,
        ApiError,
    > {
        let (case, ground) = self.authorize(identity, &r.case_id, Need::Read).await?;
        if r.after_position < 0 {
            return Err(ApiError::invalid("after_position", "must not be negative"));
        }
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let (store, clock, mut grown) = (
            self.ctx.store.clone(),
            self.ctx.clock.clone(),
            self.ctx.feed.subscribe(),
        );
        let stream_id = case.id.to_string();
        tokio::spawn(async move {
            let mut position = r.after_position;
            // When a grantee's grant runs out: the stream ends then, even if nothing changes.
            let mut expires_at = None;
            loop {
                let batch = match store.events_after(position, 200).await {
                    Ok(batch) => batch,
                    Err(err) => {
                        let _ = tx.send(Err(Status::from(ApiError::from(err)))).await;
                        return;
                    }
                };
                // The grant is checked after the batch is read, so that an event committed with
                // or after a revocation never reaches the organisation that lost access.
                if let Ground::Grantee(org) = &ground {
                    let grant = match store.plan_grant(case.id, org).await {
                        Ok(grant) => grant.filter(|g| g.allows(PlanAccess::Read, clock.now())),
                        Err(err) => {
                            let _ = tx.send(Err(Status::from(ApiError::from(err)))).await;
                            return;
                        }
                    };
                    let Some(grant) = grant else {
                        let _ = tx.send(Err(Status::from(ApiError::PermissionDenied))).await;
                        return;
                    };
                    expires_at = Some(grant.expires_at);
                }
                for event in &batch {
                    position = event.position;
                    if event.stream_type == "plan" && event.stream_id == stream_id {
                        let message = pb::WatchPlanResponse {
                            event: Some(convert::event_to_pb(event)),
                        };
                        if tx.send(Ok(message)).await.is_err() {
                            return; // the watcher went away
                        }
                    }
                }
                if batch.is_empty() {
                    let expiry = async {
                        match expires_at {
                            Some(at) => {
                                let left = (at - clock.now()).to_std().unwrap_or_default();
                                tokio::time::sleep(left).await;
                            }
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        grew = grown.changed() => if grew.is_err() { return },
                        // The grant check after the next read ends the stream.
                        () = expiry => {}
                    }
                }
            }
        });
        Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
    }
}

/// The idempotency key of a create: scoped to the calling organisation and method, with a
/// digest of the validated parameters so a reused key with other parameters is caught.
fn idempotency_key(
    identity: &Identity,
    request_id: &str,
    params: &impl serde::Serialize,
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
    let params = serde_json::to_vec(params).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Some(IdempotencyKey {
        scope: format!(
            "{}:{}/CreatePlan",
            identity.kind.as_str(),
            identity.organization
        ),
        request_id: request_id.to_owned(),
        fingerprint: hex::encode(Sha256::digest(params)),
    }))
}

type WatchStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::WatchPlanResponse, Status>> + Send>>;

#[tonic::async_trait]
impl PlanService for PlanApi {
    async fn create_plan(
        &self,
        request: Request<pb::CreatePlanRequest>,
    ) -> Result<Response<pb::CreatePlanResponse>, Status> {
        handle(request, |id, req| self.create(id, req)).await
    }

    async fn get_plan(
        &self,
        request: Request<pb::GetPlanRequest>,
    ) -> Result<Response<pb::GetPlanResponse>, Status> {
        handle(request, |id, req| self.get(id, req)).await
    }

    async fn apply_plan_change(
        &self,
        request: Request<pb::ApplyPlanChangeRequest>,
    ) -> Result<Response<pb::ApplyPlanChangeResponse>, Status> {
        handle(request, |id, req| self.apply_change(id, req)).await
    }

    async fn get_plan_as_of(
        &self,
        request: Request<pb::GetPlanAsOfRequest>,
    ) -> Result<Response<pb::GetPlanAsOfResponse>, Status> {
        handle(request, |id, req| self.as_of(id, req)).await
    }

    async fn get_employer_view(
        &self,
        request: Request<pb::GetEmployerViewRequest>,
    ) -> Result<Response<pb::GetEmployerViewResponse>, Status> {
        handle(request, |id, req| self.employer_view(id, req)).await
    }

    async fn grant_plan_access(
        &self,
        request: Request<pb::GrantPlanAccessRequest>,
    ) -> Result<Response<pb::GrantPlanAccessResponse>, Status> {
        handle(request, |id, req| self.grant(id, req)).await
    }

    async fn revoke_plan_access(
        &self,
        request: Request<pb::RevokePlanAccessRequest>,
    ) -> Result<Response<pb::RevokePlanAccessResponse>, Status> {
        handle(request, |id, req| self.revoke(id, req)).await
    }

    type WatchPlanStream = WatchStream;

    async fn watch_plan(
        &self,
        request: Request<pb::WatchPlanRequest>,
    ) -> Result<Response<Self::WatchPlanStream>, Status> {
        handle(request, |id, req| async move {
            Ok(Box::pin(self.watch(&id, req).await?) as WatchStream)
        })
        .await
    }
}
