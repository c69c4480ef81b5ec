//! kia-runtime: the plumbing every kia service shares — the clock, caller identity, errors as
//! gRPC statuses, page tokens, telemetry and server assembly.

pub mod audit;
pub mod auth;
pub mod authz;
pub mod citizen;
pub mod clock;
pub mod error;
pub mod events;
pub mod gauges;
pub mod identity;
mod keyfile;
pub mod limits;
pub mod pagination;
pub mod server;
pub mod telemetry;

pub use clock::Clock;
pub use error::ApiError;
pub use identity::Identity;
pub use server::Context;

/// Runs one RPC handler: takes the caller's identity the gate put on the request, records the
/// handler's accesses to personal data in the audit trail, and turns an [`ApiError`] into its
/// gRPC status.
pub async fn handle<Req, Res, F>(
    request: tonic::Request<Req>,
    f: impl FnOnce(Identity, Req) -> F,
) -> Result<tonic::Response<Res>, tonic::Status>
where
    F: std::future::Future<Output = Result<Res, ApiError>>,
{
    let identity = Identity::of(&request)?;
    let sink = request.extensions().get::<audit::AuditSink>().cloned();
    let scope = audit::scope_of(&identity, &request);
    let result = scope.run(f(identity, request.into_inner())).await;
    let result = match sink {
        Some(sink) => sink.settle(&scope, result).await,
        None => result,
    };
    Ok(tonic::Response::new(result?))
}
