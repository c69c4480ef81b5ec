//! The event feed: tells watchers of this process that the event log has grown, whichever
//! replica wrote the event. One tailer per process polls the log's last position (cheap: the
//! primary key's maximum); local writers nudge it at once. Watchers then read the log
//! themselves from their own position, so a slow watcher never loses events.

use std::sync::Arc;
use std::time::Duration;

use kia_store::Store;
use tokio::sync::watch;

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
