//! Fuzz target body (run by `fuzz/`, replayed from `fuzz/corpus/decode_plans` by the kia crate's
//! tests): any bytes, decoded as a PlanService request and converted to domain types with the
//! handlers' conversions, give a value or a precise error, never a panic.

use kia_domain::error::Invalid;
use kia_proto::v1 as pb;
use prost::Message;

/// The first byte picks the request type; the rest is its encoding.
pub fn requests(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let mut invalid = Invalid::default();
    let i = &mut invalid;
    match which % 8 {
        0 => {
            if let Ok(r) = pb::CreatePlanRequest::decode(bytes) {
                let _ = crate::convert::kind_from_pb(r.kind);
                let _ = crate::convert::stage_from_pb(r.stage);
                let _ =
                    crate::convert::party_from_pb(i, "author", r.author.as_ref(), Some("jc-630"));
            }
        }
        1 => {
            if let Ok(r) = pb::GetPlanRequest::decode(bytes) {
                let _ = crate::convert::optional_date(i, "as_of", &r.as_of);
            }
        }
        2 => {
            if let Ok(r) = pb::ApplyPlanChangeRequest::decode(bytes) {
                let _ =
                    crate::convert::party_from_pb(i, "author", r.author.as_ref(), Some("jc-630"));
                let _ = crate::convert::change_from_pb(r.change.as_ref());
            }
        }
        3 => {
            if let Ok(r) = pb::GetPlanAsOfRequest::decode(bytes) {
                let _ = crate::convert::instant(i, "as_of_time", r.as_of_time.as_ref());
            }
        }
        4 => {
            let _ = pb::GetEmployerViewRequest::decode(bytes);
        }
        5 => {
            if let Ok(r) = pb::GrantPlanAccessRequest::decode(bytes) {
                let _ = crate::convert::access_from_pb(r.access);
                let _ = crate::convert::instant(i, "expire_time", r.expire_time.as_ref());
            }
        }
        6 => {
            let _ = pb::RevokePlanAccessRequest::decode(bytes);
        }
        _ => {
            let _ = pb::WatchPlanRequest::decode(bytes);
        }
    }
}
