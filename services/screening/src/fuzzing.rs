//! Fuzz target body (run by `fuzz/`, replayed from `fuzz/corpus/decode_screening` by the kia
//! crate's tests): any bytes, decoded as a ScreeningService request and converted to domain types
//! with the handlers' conversions, give a value or a precise error, never a panic.

use kia_proto::v1 as pb;
use prost::Message;

/// The first byte picks the request type; the rest is its encoding.
pub fn requests(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default();
    match which % 8 {
        0 => {
            if let Ok(r) = pb::CreateScreeningGroupRequest::decode(bytes) {
                let _ = crate::convert::group_from_pb(&r.group.unwrap_or_default());
            }
        }
        1 => {
            if let Ok(r) = pb::RecordAssessmentRequest::decode(bytes) {
                let _ = crate::convert::assessment_input(&r);
            }
        }
        2 => {
            if let Ok(r) = pb::ConcludeScreeningRequest::decode(bytes) {
                let _ = crate::convert::conclusion_input(&r, today);
            }
        }
        3 => {
            let _ = pb::GetScreeningGroupRequest::decode(bytes);
        }
        4 => {
            let _ = pb::OpenScreeningRequest::decode(bytes);
        }
        5 => {
            let _ = pb::GetScreeningRequest::decode(bytes);
        }
        6 => {
            if let Ok(r) = pb::ListUnscreenedCasesRequest::decode(bytes) {
                let mut invalid = kia_domain::error::Invalid::default();
                let _ = crate::convert::optional_date(&mut invalid, "as_of", &r.as_of);
            }
        }
        _ => {
            let _ = pb::GetScreeningEmployerViewRequest::decode(bytes);
        }
    }
}
