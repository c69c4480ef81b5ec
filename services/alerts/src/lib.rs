//! kia-alerts: the alert engine (DOMAIN.md §2.6) and its gRPC face, kia.v1.AlertService, with
//! kia.v1.ClockService (the settable clock the engine evaluates as of).
//!
//! The rules are pure (`kia_domain::alerts`); the engine ([`engine`]) feeds them from the store
//! on every event and by a periodic sweep; the services are thin.

mod access;
pub mod bench;
mod convert;
pub mod engine;
pub mod fuzzing;
mod metrics;

use std::pin::Pin;
use std::sync::Arc;

use kia_proto::v1 as pb;
use kia_proto::v1::alert_service_server::AlertService;
use kia_proto::v1::clock_service_server::ClockService;
use kia_runtime::{ApiError, Context, Identity, handle, pagination};
use kia_store::Acknowledged;
use tonic::{Request, Response, Status};

pub use access::AlertScope;
pub use engine::{Engine, EngineOptions};
pub use kia_proto::v1::alert_service_server::AlertServiceServer;
pub use kia_proto::v1::clock_service_server::ClockServiceServer;

/// Fully qualified service names, for health and reflection.
pub const ALERT_SERVICE: &str = kia_proto::v1::alert_service_server::SERVICE_NAME;
pub const CLOCK_SERVICE: &str = kia_proto::v1::clock_service_server::SERVICE_NAME;

type Gated<S> = tonic::service::interceptor::InterceptedService<S, kia_runtime::server::Gate>;

/// The AlertService implementation.
#[derive(Debug, Clone)]
pub struct AlertApi {
    ctx: Context,
}

impl AlertApi {
    pub fn server(ctx: Context) -> Gated<AlertServiceServer<Self>> {
        let gate = ctx.gate.clone();
        AlertServiceServer::with_interceptor(Self { ctx }, gate)
    }

    async fn list(
        &self,
        identity: Identity,
        r: pb::ListAlertsRequest,
    ) -> Result<pb::ListAlertsResponse, ApiError> {
        let scope = AlertScope::of(&identity)?;
        let page_size = pagination::page_size(r.page_size)?;
        let filter = scope.narrow(convert::alert_filter(&r)?)?;
        let digest = pagination::filter_digest(&[
            &r.municipality,
            &r.case_id,
            &r.rule,
            &r.state.to_string(),
        ]);
        let after = pagination::decode(&r.page_token, &digest)?
            .map(|raw| raw.parse::<uuid::Uuid>())
            .transpose()
            .map_err(|_| ApiError::invalid("page_token", "is not a token this server issued"))?;
        // One row more than asked tells whether another page follows.
        let mut alerts = self
            .ctx
            .store
            .list_alerts(&filter, after, page_size + 1)
            .await?;
        let next_page_token = if alerts.len() > page_size as usize {
            alerts.truncate(page_size as usize);
            alerts
                .last()
                .map(|a| pagination::encode(&a.id.to_string(), &digest))
                .unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListAlertsResponse {
            alerts: alerts.iter().map(convert::alert_to_pb).collect(),
            next_page_token,
        })
    }

    async fn acknowledge(
        &self,
        identity: Identity,
        r: pb::AcknowledgeAlertRequest,
    ) -> Result<pb::AcknowledgeAlertResponse, ApiError> {
        let scope = AlertScope::of(&identity)?;
        let id: uuid::Uuid = r
            .alert_id
            .parse()
            .map_err(|_| ApiError::invalid("alert_id", "must be an alert id as kia issued it"))?;
        // Absent and not visible look alike (AIP-211).
        match self.ctx.store.get_alert(id).await? {
            Some(a) if scope.sees(&a) => {}
            _ => return Err(ApiError::PermissionDenied),
        }
        let by = format!("{}/{}", identity.organization, identity.role);
        let alert = match self
            .ctx
            .store
            .acknowledge_alert(id, &by, self.ctx.clock.now())
            .await?
        {
            Some(Acknowledged::Done(a)) => {
                self.ctx.feed.nudge();
                a
            }
            Some(Acknowledged::Already(a)) => a,
            Some(Acknowledged::Resolved(_)) => {
                return Err(ApiError::FailedPrecondition {
                    rule_id: None,
                    reason: "the alert is resolved: its cause went away".into(),
                });
            }
            None => return Err(ApiError::PermissionDenied),
        };
        Ok(pb::AcknowledgeAlertResponse {
            alert: Some(convert::alert_to_pb(&alert)),
        })
    }

    /// Streams the changes of alerts the caller may see after a position: what is in the log,
    /// then each new change as the feed reports the log has grown.
    fn watch(
        &self,
        identity: &Identity,
        r: pb::WatchAlertsRequest,
    ) -> Result<
        tokio_stream::wrappers::ReceiverStream<Result<pb::WatchAlertsResponse, Status>>,
        ApiError,
    > {
        let scope = AlertScope::of(identity)?;
        if r.after_position < 0 {
            return Err(ApiError::invalid("after_position", "must not be negative"));
        }
        let store = self.ctx.store.clone();
        Ok(kia_runtime::events::watch_log(
            self.ctx.store.clone(),
            &self.ctx.feed,
            r.after_position,
            move |event| {
                let (store, scope) = (store.clone(), scope.clone());
                async move {
                    let change = kia_store::AlertChangeKind::from_event_type(&event.event_type);
                    let (Some(change), true) = (
                        change,
                        event.stream_type == "alert"
                            && scope.sees_event(event.municipality.as_deref(), &event.payload),
                    ) else {
                        return Ok(None);
                    };
                    let Ok(id) = event.stream_id.parse() else {
                        return Ok(None);
                    };
                    // The alert as it is now.
                    Ok(store
                        .get_alert(id)
                        .await?
                        .map(|alert| pb::WatchAlertsResponse {
                            position: event.position,
                            change: convert::change_to_pb(change) as i32,
                            alert: Some(convert::alert_to_pb(&alert)),
                        }))
                }
            },
        ))
    }
}

type WatchStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::WatchAlertsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl AlertService for AlertApi {
    async fn list_alerts(
        &self,
        request: Request<pb::ListAlertsRequest>,
    ) -> Result<Response<pb::ListAlertsResponse>, Status> {
        handle(request, |id, req| self.list(id, req)).await
    }

    async fn acknowledge_alert(
        &self,
        request: Request<pb::AcknowledgeAlertRequest>,
    ) -> Result<Response<pb::AcknowledgeAlertResponse>, Status> {
        handle(request, |id, req| self.acknowledge(id, req)).await
    }

    type WatchAlertsStream = WatchStream;

    async fn watch_alerts(
        &self,
        request: Request<pb::WatchAlertsRequest>,
    ) -> Result<Response<Self::WatchAlertsStream>, Status> {
        handle(request, |id, req| async move {
            Ok(Box::pin(self.watch(&id, req)?) as WatchStream)
        })
        .await
    }
}

/// The ClockService implementation.
#[derive(Debug, Clone)]
pub struct ClockApi {
    ctx: Context,
    settable: bool,
    /// The local engine, swept at once when the clock moves (other replicas follow the stored
    /// setting themselves).
    engine: Option<Arc<Engine>>,
}

impl ClockApi {
    pub fn server(
        ctx: Context,
        settable: bool,
        engine: Option<Arc<Engine>>,
    ) -> Gated<ClockServiceServer<Self>> {
        let gate = ctx.gate.clone();
        ClockServiceServer::with_interceptor(
            Self {
                ctx,
                settable,
                engine,
            },
            gate,
        )
    }

    async fn set(
        &self,
        identity: Identity,
        r: pb::SetClockRequest,
    ) -> Result<pb::SetClockResponse, ApiError> {
        access::may_set_clock(&identity)?;
        if !self.settable {
            return Err(ApiError::FailedPrecondition {
                rule_id: None,
                reason: "the clock is not settable: start kia serve with --settable-clock".into(),
            });
        }
        let Some(now) = convert::instant(r.now.as_ref()) else {
            return Err(ApiError::invalid("now", "must be a valid timestamp"));
        };
        let by = format!("{}/{}", identity.organization, identity.role);
        if let Some(engine) = &self.engine {
            engine.set_clock(now, &by).await?;
        } else {
            let offset_ms = (now - chrono::Utc::now()).num_milliseconds();
            self.ctx
                .store
                .set_clock_offset_ms(offset_ms, &by, chrono::Utc::now())
                .await?;
            self.ctx.clock.set(now);
        }
        self.ctx.feed.nudge();
        if let Some(engine) = &self.engine {
            engine.sweep_all_soon();
        }
        tracing::info!(now = %now, by = %by, "clock set");
        Ok(pb::SetClockResponse {
            now: Some(convert::timestamp(self.ctx.clock.now())),
        })
    }
}

#[tonic::async_trait]
impl ClockService for ClockApi {
    async fn set_clock(
        &self,
        request: Request<pb::SetClockRequest>,
    ) -> Result<Response<pb::SetClockResponse>, Status> {
        handle(request, |id, req| self.set(id, req)).await
    }

    async fn get_clock(
        &self,
        request: Request<pb::GetClockRequest>,
    ) -> Result<Response<pb::GetClockResponse>, Status> {
        handle(request, |_, _| async move {
            Ok(pb::GetClockResponse {
                now: Some(convert::timestamp(self.ctx.clock.now())),
                settable: self.settable,
            })
        })
        .await
    }
}
