//! Limits that make a flood degrade service rather than the process: a cap on calls in flight
//! (the rest are shed at once with RESOURCE_EXHAUSTED), caps on request and response message
//! size, and a timeout per call. Per-connection concurrency is HTTP/2's `max_concurrent_streams`, set on the server.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use tonic::Status;
use tonic::body::Body;

use crate::error::ApiError;

/// The limits of one process (flags of `kia serve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest request message, in bytes (tonic's own default, 4 MiB).
    pub max_message_bytes: usize,
    /// Largest response message, in bytes (what gRPC clients accept by default, 4 MiB): a
    /// larger one is answered RESOURCE_EXHAUSTED instead of being sent.
    pub max_response_bytes: usize,
    /// Calls one HTTP/2 connection may have open at once.
    pub max_concurrent_streams: u32,
    /// Calls the whole process works on at once; more are shed with RESOURCE_EXHAUSTED.
    pub max_in_flight: usize,
    /// Longest a call may take before it is answered DEADLINE_EXCEEDED.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 4 * 1024 * 1024,
            max_response_bytes: 4 * 1024 * 1024,
            max_concurrent_streams: 256,
            max_in_flight: 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Health checks are never shed: an orchestrator probing a busy daemon must not think it dead.
const EXEMPT_PREFIX: &str = "/grpc.health.v1.Health/";

/// The tower layer that applies [`Limits`] to every call.
#[derive(Debug, Clone)]
pub struct LimitLayer {
    limits: Arc<Limits>,
    in_flight: Arc<AtomicUsize>,
}

impl LimitLayer {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits: Arc::new(limits),
            in_flight: Arc::default(),
        }
    }
}

impl<S> tower::Layer<S> for LimitLayer {
    type Service = LimitService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        LimitService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LimitService<S> {
    inner: S,
    layer: LimitLayer,
}

/// One slot of the in-flight cap, given back when the call is answered (or dropped).
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(counter: &Arc<AtomicUsize>, max: usize) -> Option<Self> {
        counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(counter.clone()))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

type BoxFuture<T> = Pin<Box<dyn std::future::Future<Output = T> + Send>>;

impl<S> tower::Service<http::Request<Body>> for LimitService<S>
where
    S: tower::Service<http::Request<Body>, Response = http::Response<Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Send,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let limits = self.layer.limits.clone();
        let slot = if request.uri().path().starts_with(EXEMPT_PREFIX) {
            None
        } else {
            match Slot::take(&self.layer.in_flight, limits.max_in_flight) {
                Some(slot) => Some(slot),
                None => {
                    let status = Status::from(ApiError::ResourceExhausted(format!(
                        "kia is working on its limit of {} calls; retry with backoff",
                        limits.max_in_flight
                    )));
                    return Box::pin(std::future::ready(Ok(status.into_http())));
                }
            }
        };
        let request = request.map(|body| {
            Body::new(Capped {
                inner: body,
                left: limits.max_message_bytes,
                limit: limits.max_message_bytes,
            })
        });
        // Take the service that was polled ready; leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let _slot = slot;
            match tokio::time::timeout(limits.request_timeout, inner.call(request)).await {
                Ok(response) => response.map(|r| {
                    r.map(|body| {
                        Body::new(CappedResponse {
                            inner: body,
                            limit: limits.max_response_bytes,
                            refused: false,
                        })
                    })
                }),
                // Dropping the call rolls back its open transaction; a write that committed
                // but was not answered is what request ids make safe to retry.
                Err(_) => Ok(Status::from(ApiError::DeadlineExceeded(format!(
                    "the call took longer than the server's limit of {} s",
                    limits.request_timeout.as_secs_f64()
                )))
                .into_http()),
            }
        })
    }
}

/// A request body that fails with RESOURCE_EXHAUSTED once it grows past the limit, before the
/// rest of it is read.
struct Capped {
    inner: Body,
    left: usize,
    limit: usize,
}

impl http_body::Body for Capped {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let frame = std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && let Some(data) = frame.data_ref()
        {
            match self.left.checked_sub(data.len()) {
                Some(left) => self.left = left,
                None => {
                    return Poll::Ready(Some(Err(ApiError::ResourceExhausted(format!(
                        "the request is larger than the server's limit of {} bytes",
                        self.limit
                    ))
                    .into())));
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A response body whose messages may be at most `limit` bytes each: a larger one is replaced by
/// RESOURCE_EXHAUSTED in the trailers, before any of it is sent. Each data frame tonic writes
/// holds whole messages, so a frame past the limit holds a message past it (a stream's earlier
/// messages have gone out by then).
struct CappedResponse {
    inner: Body,
    limit: usize,
    refused: bool,
}

impl http_body::Body for CappedResponse {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.refused {
            return Poll::Ready(None);
        }
        let frame = std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx));
        if let Some(Ok(frame)) = &frame
            && frame.data_ref().is_some_and(|data| data.len() > self.limit)
        {
            self.refused = true;
            let status = Status::from(ApiError::ResourceExhausted(format!(
                "the response is larger than the server's limit of {} bytes; ask for a smaller page",
                self.limit
            )));
            let mut trailers = http::HeaderMap::new();
            return Poll::Ready(Some(
                status
                    .add_header(&mut trailers)
                    .map(|()| Frame::trailers(trailers)),
            ));
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.refused || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_capped_and_given_back() {
        let counter = Arc::new(AtomicUsize::new(0));
        let a = Slot::take(&counter, 2).unwrap();
        let b = Slot::take(&counter, 2).unwrap();
        assert!(Slot::take(&counter, 2).is_none(), "a third call is shed");
        drop(a);
        assert!(
            Slot::take(&counter, 2).is_some(),
            "a freed slot is taken again"
        );
        drop(b);
        assert_eq!(counter.load(Ordering::Acquire), 0);
    }
}
