//! Fuzz target body (run by `fuzz/`, replayed from `fuzz/corpus/decode_audit` by the kia crate's
//! tests): any bytes, decoded as an AuditService request and converted the way the handlers do
//! (case ids, page tokens, a citizen's CPR number), give a value or a precise error, never a
//! panic.

use kia_domain::case::CaseId;
use kia_proto::v1 as pb;
use kia_runtime::citizen::Cpr;
use prost::Message;

/// The first byte picks the request type; the rest is its encoding.
pub fn requests(data: &[u8]) {
    use pb::get_access_report_request::Citizen;
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(r) = pb::ListAuditEventsRequest::decode(bytes) {
                let _ = r.case_id.parse::<CaseId>();
                let _ = kia_runtime::pagination::page_size(r.page_size);
                if let Ok(Some(raw)) = kia_runtime::pagination::decode(&r.page_token, "fuzz") {
                    let _ = raw.parse::<i64>();
                }
            }
        }
        1 => {
            if let Ok(r) = pb::GetAccessReportRequest::decode(bytes) {
                match r.citizen {
                    Some(Citizen::CaseId(raw)) => {
                        let _ = raw.parse::<CaseId>();
                    }
                    Some(Citizen::CitizenCpr(raw)) => {
                        let _ = Cpr::parse("citizen_cpr", &raw);
                    }
                    None => {}
                }
            }
        }
        _ => {
            let _ = pb::VerifyAuditChainRequest::decode(bytes);
        }
    }
}
