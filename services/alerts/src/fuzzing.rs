//! Fuzz target body (run by `fuzz/`, replayed from `fuzz/corpus/decode_alerts` by the kia
//! crate's tests): any bytes, decoded as an AlertService or ClockService request and converted
//! with the handlers' conversions, give a value or a precise error, never a panic.

use kia_proto::v1 as pb;
use prost::Message;

/// The first byte picks the request type; the rest is its encoding.
pub fn requests(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Ok(r) = pb::ListAlertsRequest::decode(bytes) {
                let _ = crate::convert::alert_filter(&r);
                let _ = kia_runtime::pagination::page_size(r.page_size);
                let _ = kia_runtime::pagination::decode(&r.page_token, "fuzz");
            }
        }
        1 => {
            if let Ok(r) = pb::AcknowledgeAlertRequest::decode(bytes) {
                let _ = r.alert_id.parse::<uuid::Uuid>();
            }
        }
        2 => {
            let _ = pb::WatchAlertsRequest::decode(bytes);
        }
        _ => {
            if let Ok(r) = pb::SetClockRequest::decode(bytes) {
                let _ = crate::convert::instant(r.now.as_ref());
            }
        }
    }
}
