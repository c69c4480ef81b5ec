//! Recording every access to personal data (see `kia_store::audit`).
//!
//! A service declares what it touches with [`touch`] (the case and the data category) once it
//! has loaded it. [`crate::handle`] runs the handler in an audit scope naming the caller; a change
//! writes the declared accesses in its own transaction, and a read is written by [`AuditSink`]
//! before the response leaves: when that write fails, the caller gets UNAVAILABLE instead of the
//! data. Refusals and failures are recorded too, with their outcome.

use std::sync::Arc;

use kia_store::Store;
use kia_store::audit::{Action, Actor, AuditScope, Outcome};
use opentelemetry::trace::TraceContextExt as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

pub use kia_store::audit::{Category, touch};

use crate::authz::RpcMethod;
use crate::error::ApiError;
use crate::identity::{Identity, OrganizationKind};

/// The metadata key a caller may set to name its request in the audit trail.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Where the gate sends the audit records of each call.
#[derive(Clone)]
pub struct AuditSink(pub Arc<dyn Store>);

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditSink")
    }
}

/// Why an organisation of this kind accesses personal data (FHIR purposeOfUse).
fn purpose(kind: OrganizationKind) -> &'static str {
    match kind {
        OrganizationKind::Jobcenter => "case_management",
        OrganizationKind::Provider => "referral",
        OrganizationKind::RehabilitationCentre => "shared_plan",
        OrganizationKind::Employer => "workplace_retention",
        OrganizationKind::Operations => "operations",
    }
}

/// The id of the current trace, when one is being recorded.
fn trace_id() -> String {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    if span_context.is_valid() {
        span_context.trace_id().to_string()
    } else {
        String::new()
    }
}

fn random_request_id() -> String {
    let mut bytes = [0u8; 16];
    // Without randomness the record still stands; only the id is empty.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The audit scope of one call.
pub fn scope_of<T>(identity: &Identity, request: &tonic::Request<T>) -> Arc<AuditScope> {
    let request_id = request
        .metadata()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(random_request_id);
    AuditScope::new(Actor {
        organization: identity.organization.clone(),
        organization_kind: identity.kind.as_str().to_owned(),
        role: identity.role.clone(),
        person: identity.person.clone(),
        municipality: identity.municipality.as_ref().map(|m| m.to_string()),
        purpose: purpose(identity.kind).to_owned(),
        rpc: request
            .extensions()
            .get::<RpcMethod>()
            .map(|m| m.0.clone())
            .unwrap_or_default(),
        request_id,
        trace_id: trace_id(),
    })
}

impl AuditSink {
    /// Writes the records of a finished call. A successful read is recorded before its data is
    /// released; if that fails, so does the call.
    pub async fn settle<T>(
        &self,
        scope: &AuditScope,
        result: Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        match result {
            Ok(value) => {
                let entries = scope.entries(Action::Read, Outcome::Success, true);
                if !entries.is_empty() {
                    self.0.append_audit(&entries).await.map_err(|err| {
                        tracing::warn!(error = %err, "audit record not written; response withheld");
                        ApiError::Unavailable("the access could not be audited; retry".into())
                    })?;
                }
                Ok(value)
            }
            Err(err) => {
                let outcome = match err {
                    ApiError::PermissionDenied => Outcome::Denied,
                    _ => Outcome::Failed,
                };
                let entries = scope.entries(scope.attempted_action(), outcome, false);
                if !entries.is_empty()
                    && let Err(audit_err) = self.0.append_audit(&entries).await
                {
                    tracing::warn!(error = %audit_err, "audit record of a failed call not written");
                }
                Err(err)
            }
        }
    }
}
