//! kia.v1.AuditService: the audit trail of a case, a citizen's access report, and the check of
//! the trail's hash chain. Reading the trail is itself an access to the case, and is recorded.

pub mod fuzzing;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use kia_proto::v1 as pb;
use kia_proto::v1::audit_service_server::AuditService;
use kia_runtime::citizen::Cpr;
use kia_runtime::{ApiError, Context, Identity, audit, authz, handle, pagination};
use kia_store::audit::{AuditRecord, ChainHead, Outcome, verify_chain};
use tonic::{Request, Response, Status};

pub use kia_proto::v1::audit_service_server::AuditServiceServer;

/// How many records one store read returns while walking the chain or a report.
const BATCH: u32 = 1000;

/// The AuditService implementation.
#[derive(Debug, Clone)]
pub struct AuditApi {
    ctx: Context,
}

fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn event_to_pb(r: &AuditRecord) -> pb::AuditEvent {
    let e = &r.entry;
    pb::AuditEvent {
        sequence: r.sequence,
        recorded_time: Some(timestamp(r.recorded_at)),
        organization: e.organization.clone(),
        organization_kind: e.organization_kind.clone(),
        role: e.role.clone(),
        person: e.person.clone().unwrap_or_default(),
        case_id: e.case_id.clone().unwrap_or_default(),
        category: e.category.clone(),
        action: e.action.clone(),
        outcome: e.outcome.clone(),
        purpose: e.purpose.clone(),
        rpc: e.rpc.clone(),
        request_id: e.request_id.clone(),
        trace_id: e.trace_id.clone(),
        hash: r.hash.clone(),
        prev_hash: r.prev_hash.clone(),
    }
}

/// Every organisation's accesses, in order of first access.
fn summarize(records: &[AuditRecord]) -> Vec<pb::AccessSummary> {
    let mut out: Vec<(pb::AccessSummary, BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    for r in records {
        let e = &r.entry;
        let at = Some(timestamp(r.recorded_at));
        let i = match out
            .iter()
            .position(|(s, _, _)| s.organization == e.organization)
        {
            Some(i) => i,
            None => {
                out.push((
                    pb::AccessSummary {
                        organization: e.organization.clone(),
                        organization_kind: e.organization_kind.clone(),
                        first_access_time: at,
                        ..Default::default()
                    },
                    BTreeSet::new(),
                    BTreeSet::new(),
                ));
                out.len() - 1
            }
        };
        let (summary, categories, purposes) = &mut out[i];
        summary.accesses += 1;
        summary.last_access_time = at;
        categories.insert(e.category.clone());
        purposes.insert(e.purpose.clone());
    }
    out.into_iter()
        .map(|(mut s, categories, purposes)| {
            s.categories = categories.into_iter().collect();
            s.purposes = purposes.into_iter().collect();
            s
        })
        .collect()
}

impl AuditApi {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    /// The service wrapped in the gate (readiness, caller identity, authorization, audit).
    pub fn server(
        ctx: Context,
    ) -> tonic::service::interceptor::InterceptedService<
        AuditServiceServer<Self>,
        kia_runtime::server::Gate,
    > {
        let gate = ctx.gate.clone();
        AuditServiceServer::with_interceptor(Self::new(ctx), gate)
    }

    async fn list(
        &self,
        identity: Identity,
        r: pb::ListAuditEventsRequest,
    ) -> Result<pb::ListAuditEventsResponse, ApiError> {
        let case = authz::jobcenter_case(&*self.ctx.store, &identity, &r.case_id).await?;
        let case_id = case.id.to_string();
        audit::touch(&case_id, audit::Category::Audit);
        let page_size = pagination::page_size(r.page_size)?;
        let digest = pagination::filter_digest(&[&case_id]);
        let after = pagination::decode(&r.page_token, &digest)?
            .map(|raw| raw.parse::<i64>())
            .transpose()
            .map_err(|_| ApiError::invalid("page_token", "is not a token this server issued"))?
            .unwrap_or(0);
        let mut records = self
            .ctx
            .store
            .audit_of_cases(std::slice::from_ref(&case_id), after, page_size + 1)
            .await?;
        let next_page_token = if records.len() > page_size as usize {
            records.truncate(page_size as usize);
            records
                .last()
                .map(|r| pagination::encode(&r.sequence.to_string(), &digest))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListAuditEventsResponse {
            events: records.iter().map(event_to_pb).collect(),
            next_page_token,
        })
    }

    async fn report(
        &self,
        identity: Identity,
        r: pb::GetAccessReportRequest,
    ) -> Result<pb::GetAccessReportResponse, ApiError> {
        use pb::get_access_report_request::Citizen;
        let scope = identity.jobcenter_municipality()?.clone();
        let cases: Vec<String> = match r.citizen {
            Some(Citizen::CaseId(raw)) => {
                let case = authz::jobcenter_case(&*self.ctx.store, &identity, &raw).await?;
                vec![case.id.to_string()]
            }
            Some(Citizen::CitizenCpr(raw)) => {
                let cpr = Cpr::parse("citizen_cpr", &raw)?;
                let hash = self.ctx.citizen_keys.hash(&cpr);
                let cases = self.ctx.store.cases_of_citizen(&scope, &hash).await?;
                cases.iter().map(ToString::to_string).collect()
            }
            None => {
                return Err(ApiError::invalid(
                    "citizen",
                    "name the citizen by case_id or citizen_cpr",
                ));
            }
        };
        for case in &cases {
            audit::touch(case, audit::Category::Audit);
        }
        let mut records = Vec::new();
        let mut after = 0;
        loop {
            let batch = self.ctx.store.audit_of_cases(&cases, after, BATCH).await?;
            let Some(last) = batch.last() else { break };
            after = last.sequence;
            records.extend(
                batch
                    .into_iter()
                    .filter(|r| r.entry.outcome == Outcome::Success.as_str()),
            );
        }
        Ok(pb::GetAccessReportResponse {
            organizations: summarize(&records),
            events: records.iter().map(event_to_pb).collect(),
            case_ids: cases,
        })
    }

    async fn verify(
        &self,
        _identity: Identity,
        _r: pb::VerifyAuditChainRequest,
    ) -> Result<pb::VerifyAuditChainResponse, ApiError> {
        let mut head = ChainHead::default();
        loop {
            let batch = self.ctx.store.audit_chain(head.sequence, BATCH).await?;
            if batch.is_empty() {
                break;
            }
            match verify_chain(&head, &batch) {
                Ok(next) => head = next,
                Err(broken) => {
                    tracing::error!(first_broken_sequence = broken, "the audit chain is broken");
                    return Ok(pb::VerifyAuditChainResponse {
                        intact: false,
                        records_checked: broken - 1,
                        first_broken_sequence: broken,
                        head_hash: String::new(),
                    });
                }
            }
        }
        Ok(pb::VerifyAuditChainResponse {
            intact: true,
            records_checked: head.sequence,
            first_broken_sequence: 0,
            head_hash: head.hash,
        })
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        handle(request, |id, req| self.list(id, req)).await
    }

    async fn get_access_report(
        &self,
        request: Request<pb::GetAccessReportRequest>,
    ) -> Result<Response<pb::GetAccessReportResponse>, Status> {
        handle(request, |id, req| self.report(id, req)).await
    }

    async fn verify_audit_chain(
        &self,
        request: Request<pb::VerifyAuditChainRequest>,
    ) -> Result<Response<pb::VerifyAuditChainResponse>, Status> {
        handle(request, |id, req| self.verify(id, req)).await
    }
}
