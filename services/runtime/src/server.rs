//! Server assembly shared by every kia process: the gate (readiness and caller identity), a span
//! and a duration metric per RPC, health checking and reflection, the Prometheus endpoint,
//! migrations before SERVING, and graceful shutdown.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use kia_store::Store;
use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::{Request, Status};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::Instrument;

use crate::authz::RpcMethod;
use crate::clock::Clock;
use crate::gauges::Gauges;
use crate::identity::AuthMode;
use crate::telemetry::{Metrics, Telemetry, status_name};

/// What every service of a process shares.
#[derive(Debug, Clone)]
pub struct Context {
    pub store: Arc<dyn Store>,
    pub clock: Clock,
    pub metrics: Metrics,
    pub gate: Gate,
    pub feed: crate::events::EventFeed,
    /// Hashes and seals citizens' CPR numbers.
    pub citizen_keys: crate::citizen::CitizenKeys,
}

/// Runs before every kia RPC: refuses calls until the database is migrated, and puts the
/// caller's [`Identity`] on the request.
#[derive(Debug, Clone)]
pub struct Gate {
    ready: Arc<AtomicBool>,
    auth: AuthMode,
    audit: Option<crate::audit::AuditSink>,
}

impl Gate {
    pub fn new(auth: AuthMode) -> Self {
        Self {
            ready: Arc::default(),
            auth,
            audit: None,
        }
    }

    /// Records every access to personal data the services declare in this store's audit trail
    /// (starts the audit writer task: call it on the runtime that serves).
    pub fn with_audit(mut self, store: Arc<dyn Store>) -> Self {
        self.audit = Some(crate::audit::AuditSink::start(store));
        self
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }
}

impl tonic::service::Interceptor for Gate {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if !self.is_ready() {
            return Err(Status::unavailable(
                "kia is starting: database migrations are pending",
            ));
        }
        let identity = self.auth.authenticate(request.metadata())?;
        if let Some(method) = request.extensions().get::<RpcMethod>() {
            crate::authz::admit(&method.0, &identity)?;
        }
        request.extensions_mut().insert(identity);
        if let Some(audit) = &self.audit {
            request.extensions_mut().insert(audit.clone());
        }
        Ok(request)
    }
}

/// A tower layer that gives every RPC a tracing span and records its duration and status.
#[derive(Debug, Clone)]
pub struct RpcLayer {
    metrics: Metrics,
}

impl<S> tower::Layer<S> for RpcLayer {
    type Service = RpcService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RpcService {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct RpcService<S> {
    inner: S,
    metrics: Metrics,
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for RpcService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // Take the service that was polled ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let metrics = self.metrics.clone();
        let path = request.uri().path().trim_start_matches('/');
        let (service, method) = path.split_once('/').unwrap_or((path, ""));
        let (service, method) = (service.to_owned(), method.to_owned());
        // For the gate's authorization and the audit trail.
        request
            .extensions_mut()
            .insert(RpcMethod(format!("{service}/{method}")));
        let span = tracing::info_span!(
            "rpc",
            otel.name = %format_args!("{service}/{method}"),
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.service = %service,
            rpc.method = %method,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        Box::pin(async move {
            let started = Instant::now();
            let response = inner.call(request).instrument(span.clone()).await;
            // Errors travel as trailers-only responses with grpc-status in the headers; a
            // response without one succeeded (its status follows in the trailers).
            let code = match &response {
                Ok(r) => r
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from_i32),
                Err(_) => tonic::Code::Internal,
            };
            span.record("rpc.grpc.status_code", status_name(code));
            metrics.record_rpc(&service, &method, code, started.elapsed());
            response
        })
    }
}

/// gRPC health statuses of the whole process ("") and of each hosted service.
#[derive(Debug, Clone)]
pub struct Health {
    reporter: HealthReporter,
    services: Vec<&'static str>,
}

impl Health {
    async fn set(&self, status: ServingStatus) {
        self.reporter.set_service_status("", status).await;
        for name in &self.services {
            self.reporter.set_service_status(*name, status).await;
        }
    }
}

/// Everything `serve` needs beyond the routes.
#[derive(Debug)]
pub struct ServeOptions {
    pub listener: TcpListener,
    pub metrics_listener: Option<TcpListener>,
    /// Fully qualified names of the kia services hosted (for health and reflection).
    pub services: Vec<&'static str>,
    /// TLS for the gRPC listener (with client certificates when it names a client CA).
    pub tls: Option<tonic::transport::ServerTlsConfig>,
    pub limits: crate::limits::Limits,
}

/// Builds the health and reflection services for the hosted kia services.
pub fn standard_routes(services: &[&'static str]) -> anyhow::Result<(Routes, Health)> {
    let (reporter, health_server) = tonic_health::server::health_reporter();
    let mut v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(kia_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection");
    let mut v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(kia_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name("grpc.health.v1.Health")
        .with_service_name("grpc.reflection.v1.ServerReflection")
        .with_service_name("grpc.reflection.v1alpha.ServerReflection");
    for name in services {
        v1 = v1.with_service_name(*name);
        v1alpha = v1alpha.with_service_name(*name);
    }
    let routes = Routes::new(health_server)
        .add_service(v1.build_v1()?)
        .add_service(v1alpha.build_v1alpha()?);
    Ok((
        routes,
        Health {
            reporter,
            services: services.to_vec(),
        },
    ))
}

/// How often gauges are refreshed for OTLP export between scrapes.
const GAUGE_REFRESH: Duration = Duration::from_secs(30);

/// Serves until SIGINT or SIGTERM, then drains in-flight calls and closes the store.
pub async fn serve(
    ctx: Context,
    routes: Routes,
    health: Health,
    telemetry: Arc<Telemetry>,
    options: ServeOptions,
) -> anyhow::Result<()> {
    health.set(ServingStatus::NotServing).await;

    let hosts_cases = (options.services).contains(&kia_proto::service_names::CASE_SERVICE);
    let gauges = Arc::new(Gauges::new(ctx.clone(), hosts_cases));
    if let Some(listener) = options.metrics_listener {
        tokio::spawn(serve_metrics(listener, telemetry.clone(), gauges.clone()));
    }
    tokio::spawn(migrate_then_serve(
        ctx.clone(),
        health.clone(),
        gauges.clone(),
    ));
    tokio::spawn(async move { gauges.refresh_every(GAUGE_REFRESH).await });
    tokio::spawn(ctx.feed.clone().tail(ctx.store.clone()));

    // No Nagle: small gRPC answers would otherwise wait for the peer's delayed ACK (~40 ms).
    let incoming =
        tonic::transport::server::TcpIncoming::from(options.listener).with_nodelay(Some(true));
    let shutdown = {
        let health = health.clone();
        async move {
            shutdown_signal().await;
            tracing::info!("shutting down: finishing in-flight calls");
            health.set(ServingStatus::NotServing).await;
        }
    };
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = options.tls {
        builder = builder.tls_config(tls)?;
    }
    builder
        .max_concurrent_streams(options.limits.max_concurrent_streams)
        .layer(RpcLayer {
            metrics: ctx.metrics.clone(),
        })
        .layer(crate::limits::LimitLayer::new(options.limits.clone()))
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await?;
    ctx.store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Applies migrations, retrying until the database answers, then reports SERVING.
async fn migrate_then_serve(ctx: Context, health: Health, gauges: Arc<Gauges>) {
    let mut delay = Duration::from_millis(100);
    loop {
        match ctx.store.migrate().await {
            Ok(()) => break,
            Err(err) => {
                tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "database not ready");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    ctx.gate.ready.store(true, Ordering::Release);
    health.set(ServingStatus::Serving).await;
    gauges.refresh().await;
    tracing::info!(backend = ctx.store.backend(), "migrations applied; serving");
}

/// The Prometheus text endpoint: `GET /metrics`.
async fn serve_metrics(listener: TcpListener, telemetry: Arc<Telemetry>, gauges: Arc<Gauges>) {
    use http_body_util::Full;
    use hyper::body::Bytes;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let telemetry = telemetry.clone();
        let gauges = gauges.clone();
        tokio::spawn(async move {
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let telemetry = telemetry.clone();
                    let gauges = gauges.clone();
                    async move {
                        let response = if req.uri().path() == "/metrics" {
                            gauges.refresh().await;
                            hyper::Response::builder()
                                .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                                .body(Full::new(Bytes::from(telemetry.prometheus_text())))
                        } else {
                            hyper::Response::builder()
                                .status(404)
                                .body(Full::new(Bytes::from("not found\n")))
                        };
                        Ok::<_, Infallible>(response.unwrap_or_default())
                    }
                });
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(err) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(error = %err, "metrics connection ended");
            }
        });
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Binds a listen address, reporting the address in the error when it fails.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))
}
