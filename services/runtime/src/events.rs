//! The event feed: tells watchers of this process that the event log has grown, whichever
//! replica wrote the event. One tailer per process polls the log's last position (cheap: the
//! primary key's maximum); local writers nudge it at once. Watchers then read the log
//! themselves from their own position, so a slow watcher never loses events.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use kia_store::{Store, StoredEvent};
use tokio::sync::watch;
use tokio_stream::wrappers::ReceiverStream;

use crate::error::ApiError;

/// How often the tailer looks for events written by other replicas.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct EventFeed {
    last_position: Arc<watch::Sender<i64>>,
}

impl Default for EventFeed {
    fn default() -> Self {
        Self {
            last_position: Arc::new(watch::channel(0).0),
        }
    }
}

impl EventFeed {
    /// A receiver that changes whenever the log's last position grows.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.last_position.subscribe()
    }

    /// Tells watchers that this process just appended (no need to wait for the next poll).
    pub fn nudge(&self) {
        self.last_position.send_modify(|_| {});
    }

    fn advance(&self, position: i64) {
        self.last_position.send_if_modified(|current| {
            let grew = position > *current;
            if grew {
                *current = position;
            }
            grew
        });
    }

    /// Polls the store's last event position until the process ends.
    pub async fn tail(self, store: Arc<dyn Store>) {
        let mut tick = tokio::time::interval(POLL_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match store.last_event_position().await {
                Ok(position) => self.advance(position),
                Err(err) => tracing::debug!(error = %err, "event log not readable yet"),
            }
        }
    }
}

/// A watch stream over the event log: sends what `to_message` makes of each event after
/// `after` (`None`: not for this watcher), then waits for the feed to report new events. Each
/// event is read once, in log order, so a watcher resuming from the last position it saw gets
/// every later event exactly once. The stream ends when the watcher goes away, or with the error
/// when the log (or `to_message`) fails.
pub fn watch_log<M, F, Fut>(
    store: Arc<dyn Store>,
    feed: &EventFeed,
    after: i64,
    mut to_message: F,
) -> ReceiverStream<Result<M, tonic::Status>>
where
    M: Send + 'static,
    F: FnMut(StoredEvent) -> Fut + Send + 'static,
    Fut: Future<Output = Result<Option<M>, ApiError>> + Send,
{
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let mut grown = feed.subscribe();
    tokio::spawn(async move {
        let mut position = after;
        loop {
            let batch = match store.events_after(position, 200).await {
                Ok(batch) => batch,
                Err(err) => {
                    let _ = tx.send(Err(ApiError::from(err).into())).await;
                    return;
                }
            };
            let caught_up = batch.is_empty();
            for event in batch {
                position = event.position;
                let message = match to_message(event).await {
                    Ok(Some(message)) => Ok(message),
                    Ok(None) => continue,
                    Err(err) => Err(err.into()),
                };
                let failed = message.is_err();
                if tx.send(message).await.is_err() || failed {
                    return; // the watcher went away, or was told why the stream ends
                }
            }
            if caught_up && grown.changed().await.is_err() {
                return;
            }
        }
    });
    ReceiverStream::new(rx)
}
