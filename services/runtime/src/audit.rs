//! Recording every access to personal data (see `kia_store::audit`).
//!
//! A service declares what it touches with [`touch`] (the case and the data category) once it
//! has loaded it. [`crate::handle`] runs the handler in an audit scope naming the caller; a change
//! writes the declared accesses in its own transaction, and a read is written by [`AuditSink`]
//! before the response leaves: when that write fails, the caller gets UNAVAILABLE instead of the
//! data. Refusals and failures are recorded too, with their outcome.
//!
//! Read records are group-committed: on PostgreSQL one writer task appends the records of every
//! call waiting at that moment in one transaction, and each call goes on once it committed, so a
//! read costs a share of one commit instead of a commit of its own; on SQLite each call writes
//! its records to the read log itself (one `write`), and they join the trail in bulk a moment
//! later (where the log cannot be used, they go through the writer task). It does not
//! wait for the disk's flush, which follows (`AuditStore::append_audit`): a crash of the process
//! loses no record of an answered read; a power loss may lose the records of the reads answered
//! in the last moments.

use std::sync::Arc;

use kia_store::Store;
use kia_store::audit::{Action, Actor, AuditEntry, AuditScope, Outcome};
use opentelemetry::trace::TraceContextExt as _;
use tokio::sync::{mpsc, oneshot};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

pub use kia_store::audit::{Category, touch};

use crate::authz::RpcMethod;
use crate::error::ApiError;
use crate::identity::{Identity, OrganizationKind};

/// The metadata key a caller may set to name its request in the audit trail.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Where the gate sends the audit records of each call: the store at once where it can keep them
/// so, else the queue of the group-commit writer.
#[derive(Clone)]
pub struct AuditSink {
    /// For the appends the store makes at once (`AuditStore::append_audit_now`).
    store: Arc<dyn Store>,
    /// Unbounded, yet bounded by the calls in flight (`--max-in-flight`): each waits for its
    /// answer.
    queue: mpsc::UnboundedSender<Pending>,
}

impl std::fmt::Debug for AuditSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditSink")
    }
}

/// The records of one call, and where to say whether they were committed.
struct Pending {
    entries: Vec<AuditEntry>,
    committed: oneshot::Sender<Result<(), String>>,
}

/// Records one commit takes at most, so a transaction stays short under a burst.
const MAX_BATCH_RECORDS: usize = 1024;

/// Appends what is queued, a batch per transaction, until every sender is gone. A failed
/// transaction fails every call in it (each is told, and withholds its answer).
async fn write_batches(store: Arc<dyn Store>, mut queue: mpsc::UnboundedReceiver<Pending>) {
    while let Some(first) = queue.recv().await {
        // Let the calls already running on this thread settle into this batch before it is
        // written: a commit per record or two costs far more than one per several.
        tokio::task::yield_now().await;
        let mut entries = first.entries;
        let mut waiting = vec![first.committed];
        while entries.len() < MAX_BATCH_RECORDS {
            let Ok(next) = queue.try_recv() else { break };
            entries.extend(next.entries);
            waiting.push(next.committed);
        }
        let result = store
            .append_audit(&entries)
            .await
            .map_err(|e| e.to_string());
        for call in waiting {
            let _ = call.send(result.clone());
        }
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

/// A request id for a call that named none: 16 bytes, hex, unique. The first 8 are drawn at random
/// once per process and the last 8 count the calls, so ids of different processes do not meet
/// and a call costs no draw from the kernel (a system call each, 1.4 % of the daemon under reads).
fn generated_request_id() -> String {
    static PROCESS: std::sync::OnceLock<[u8; 8]> = std::sync::OnceLock::new();
    static CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let process = PROCESS.get_or_init(|| {
        let mut bytes = [0u8; 8];
        // Without randomness, the clock: ids stay unique within the process.
        if getrandom::fill(&mut bytes).is_err() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            bytes = (now.as_nanos() as u64).to_be_bytes();
        }
        bytes
    });
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(process);
    id[8..].copy_from_slice(&call.to_be_bytes());
    hex::encode(id)
}

/// The audit scope of one call.
pub fn scope_of<T>(identity: &Identity, request: &tonic::Request<T>) -> Arc<AuditScope> {
    let request_id = request
        .metadata()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(generated_request_id);
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
    /// Starts the writer that appends to `store` (a task on the current tokio runtime).
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (queue, pending) = mpsc::unbounded_channel();
        tokio::spawn(write_batches(store.clone(), pending));
        Self { store, queue }
    }

    /// Appends the records of one call; returns once they are kept (see
    /// `AuditStore::append_audit`). Where the store can append at once (SQLite's read log: one
    /// `write`), the call does it itself: at a few calls in flight the writer task's batches
    /// held one record, and handing it over and back cost the read two wake-ups.
    async fn append(&self, entries: Vec<AuditEntry>) -> Result<(), String> {
        if let Some(appended) = self.store.append_audit_now(&entries) {
            return appended.map_err(|e| e.to_string());
        }
        let stopped = || "the audit writer has stopped".to_owned();
        let (committed, answer) = oneshot::channel();
        self.queue
            .send(Pending { entries, committed })
            .map_err(|_| stopped())?;
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }

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
                    self.append(entries).await.map_err(|err| {
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
                    && let Err(audit_err) = self.append(entries).await
                {
                    tracing::warn!(error = %audit_err, "audit record of a failed call not written");
                }
                Err(err)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kia_store::audit::{ChainHead, verify_chain};

    fn read_of(case_id: &str) -> AuditEntry {
        kia_store::testing::read_record(case_id, "")
    }

    async fn store(dir: &tempfile::TempDir) -> Arc<dyn Store> {
        let url = format!("sqlite://{}", dir.path().join("kia.db").display());
        let store = kia_store::open(&url, &kia_store::StoreOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store
    }

    #[test]
    fn generated_request_ids_are_distinct_hex_of_16_bytes() {
        let ids: std::collections::HashSet<_> = (0..1000).map(|_| generated_request_id()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(
            ids.iter()
                .all(|id| id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_call_is_answered_after_its_records_are_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let sink = AuditSink::start(store.clone());
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..40 {
            let (sink, store) = (sink.clone(), store.clone());
            calls.spawn(async move {
                let case_id = format!("case-{i}");
                sink.append(vec![read_of(&case_id)]).await.unwrap();
                // Committed by the time the call is answered: a reader sees it at once.
                let records = store.audit_of_cases(&[case_id], 0, 10).await.unwrap();
                assert_eq!(records.len(), 1);
            });
        }
        while let Some(call) = calls.join_next().await {
            call.unwrap();
        }
        let chain = store.audit_chain(0, 100).await.unwrap();
        assert_eq!(chain.len(), 40);
        assert!(verify_chain(&ChainHead::default(), &chain).is_ok());
    }

    /// A read whose record cannot be committed is answered UNAVAILABLE, without its data; once
    /// the record commits, the data goes out and the record is in the trail.
    #[tokio::test]
    async fn a_read_is_released_only_with_its_record_committed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let sink = AuditSink::start(store.clone());
        let entry = read_of("case-7");
        let scope = AuditScope::new(Actor {
            organization: entry.organization,
            organization_kind: entry.organization_kind,
            role: entry.role,
            person: None,
            municipality: entry.municipality,
            purpose: entry.purpose,
            rpc: entry.rpc,
            request_id: "req-7".into(),
            trace_id: String::new(),
        });
        let read = || {
            scope.run(async {
                touch("case-7", Category::Case);
                Ok::<_, ApiError>("the case")
            })
        };

        let released = sink.settle(&scope, read().await).await.unwrap();
        assert_eq!(released, "the case");
        let trail = store
            .audit_of_cases(&["case-7".into()], 0, 10)
            .await
            .unwrap();
        assert_eq!(trail.len(), 1);
        assert_eq!(trail[0].entry.request_id, "req-7");

        store.close().await;
        let withheld = sink.settle(&scope, read().await).await;
        assert!(
            matches!(withheld, Err(ApiError::Unavailable(_))),
            "{withheld:?}"
        );
    }

    #[tokio::test]
    async fn a_failed_commit_fails_the_calls_waiting_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir).await;
        let sink = AuditSink::start(store.clone());
        sink.append(vec![read_of("case-1")]).await.unwrap();
        store.close().await;
        assert!(sink.append(vec![read_of("case-2")]).await.is_err());
    }
}
