//! kia-runtime: the plumbing every kia service shares — the clock, caller identity, errors as
//! gRPC statuses, page tokens, telemetry and server assembly.

pub mod clock;
pub mod error;
pub mod events;
pub mod identity;
pub mod limits;
pub mod pagination;
pub mod server;
pub mod telemetry;

pub use clock::Clock;
pub use error::ApiError;
pub use identity::Identity;
pub use server::Context;

/// Runs one RPC handler: takes the caller's identity the gate put on the request, and turns an
/// [`ApiError`] into its gRPC status.
pub async fn handle<Req, Res, F>(
    request: tonic::Request<Req>,
    f: impl FnOnce(Identity, Req) -> F,
) -> Result<tonic::Response<Res>, tonic::Status>
where
    F: std::future::Future<Output = Result<Res, ApiError>>,
{
    let identity = Identity::of(&request)?;
    Ok(tonic::Response::new(
        f(identity, request.into_inner()).await?,
    ))
}
