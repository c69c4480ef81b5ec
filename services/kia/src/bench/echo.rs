//! The RPC ceiling: a trivial unary tonic service that answers with the bytes it was sent, on its
//! own runtime in this process. What a tonic server on this machine can do at all, next to which
//! kia's reads are measured.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::uri::PathAndQuery;
use tonic::codegen::Service;
use tonic::server::NamedService;
use tonic::transport::Channel;
use tonic_prost::ProstCodec;

use super::load::{BoxFuture, CallResult, Workload, reason};

const PATH: &str = "/kia.bench.Echo/Echo";

/// About the size of a GetCase answer.
const PAYLOAD_BYTES: usize = 300;

/// The echo service: `/kia.bench.Echo/Echo` answers a `google.protobuf.BytesValue` with itself.
#[derive(Debug, Clone, Default)]
struct Echo;

impl NamedService for Echo {
    const NAME: &'static str = "kia.bench.Echo";
}

struct EchoMethod;

impl tonic::server::UnaryService<Vec<u8>> for EchoMethod {
    type Response = Vec<u8>;
    type Future = std::future::Ready<Result<tonic::Response<Vec<u8>>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<Vec<u8>>) -> Self::Future {
        std::future::ready(Ok(tonic::Response::new(request.into_inner())))
    }
}

impl Service<http::Request<tonic::body::Body>> for Echo {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(async move {
            if request.uri().path() != PATH {
                return Ok(tonic::Status::unimplemented("no such method").into_http());
            }
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<Vec<u8>, Vec<u8>>::default());
            Ok(grpc.unary(EchoMethod, request).await)
        })
    }
}

/// A running echo server on its own runtime (two worker threads, like the daemon on this
/// machine); stops when dropped.
pub struct EchoServer {
    pub addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl EchoServer {
    pub fn start() -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("echo")
            .enable_all()
            .build()?;
        // Bound here, served there: this is called from within the bench's own runtime.
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        runtime.spawn(async move {
            let listener = match tokio::net::TcpListener::from_std(listener) {
                Ok(l) => l,
                Err(err) => return eprintln!("kia bench: echo server: {err}"),
            };
            let incoming =
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
            if let Err(err) = tonic::transport::Server::builder()
                .add_service(Echo)
                .serve_with_incoming(incoming)
                .await
            {
                eprintln!("kia bench: echo server stopped: {err}");
            }
        });
        Ok(Self {
            addr,
            runtime: Some(runtime),
        })
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Echo calls over `channels` (round robin).
pub fn workload(channels: Vec<Channel>) -> Workload {
    let payload: Arc<Vec<u8>> = Arc::new((0..PAYLOAD_BYTES).map(|i| i as u8).collect());
    Workload {
        kinds: vec![("echo", 1)],
        call: Box::new(move |_, n| {
            let channel = channels[n as usize % channels.len()].clone();
            let payload = payload.as_ref().clone();
            Box::pin(async move { echo(channel, payload).await })
        }),
    }
}

async fn echo(channel: Channel, payload: Vec<u8>) -> CallResult {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| e.to_string())?;
    let answer = grpc
        .unary(
            tonic::Request::new(payload),
            PathAndQuery::from_static(PATH),
            ProstCodec::<Vec<u8>, Vec<u8>>::default(),
        )
        .await
        .map_err(|s| reason(&s))?;
    if answer.get_ref().len() == PAYLOAD_BYTES {
        Ok(())
    } else {
        Err("wrong echo".to_owned())
    }
}
