//! Fuzz target body (run by `fuzz/`, replayed from `fuzz/corpus/decode_cases` by the kia crate's
//! tests): any bytes, decoded as a CaseService request and converted to domain types the way the
//! handlers do, must give a value or a precise error, never a panic.

use kia_domain::case::{CaseId, CaseIntake};
use kia_proto::v1 as pb;
use prost::Message;

/// The first byte picks the request type; the rest is its encoding.
pub fn requests(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 30).unwrap_or_default();
    let id = |raw: &str| {
        let _ = raw.parse::<CaseId>();
    };
    match which % 13 {
        0 => {
            if let Ok(r) = pb::CreateCaseRequest::decode(bytes) {
                let raw = r.r#case.unwrap_or_default();
                let _ = CaseIntake::parse(&crate::convert::raw_intake(&raw), today, "case.");
            }
        }
        1 => {
            if let Ok(r) = pb::GetCaseRequest::decode(bytes) {
                id(&r.case_id);
            }
        }
        2 => {
            if let Ok(r) = pb::ListCasesRequest::decode(bytes) {
                let _ = crate::convert::case_filter(&r);
                let _ = kia_runtime::pagination::page_size(r.page_size);
                let _ = kia_runtime::pagination::decode(&r.page_token, "fuzz");
            }
        }
        3 => {
            if let Ok(r) = pb::VisitateRequest::decode(bytes) {
                id(&r.case_id);
                let _ = crate::convert::visitation(&r);
            }
        }
        4 => {
            if let Ok(r) = pb::RecordFollowUpRequest::decode(bytes) {
                let _ = crate::convert::follow_up(&r);
            }
        }
        5 => {
            if let Ok(r) = pb::SetExemptionRequest::decode(bytes) {
                let _ = crate::convert::exemption(&r);
            }
        }
        6 => {
            if let Ok(r) = pb::LiftExemptionRequest::decode(bytes) {
                let _ = crate::convert::lifted_exemption(&r);
            }
        }
        7 => {
            if let Ok(r) = pb::RecordPartialReturnRequest::decode(bytes) {
                let _ = crate::convert::partial_return(&r);
            }
        }
        8 => {
            if let Ok(r) = pb::RecordCaseStepRequest::decode(bytes) {
                let _ = crate::convert::case_step(&r);
            }
        }
        9 => {
            if let Ok(r) = pb::CloseCaseRequest::decode(bytes) {
                let _ = crate::convert::closure(&r);
            }
        }
        10 => {
            if let Ok(r) = pb::GetTimelineRequest::decode(bytes) {
                let _ = crate::convert::rule_set_from_pb(r.rule_set);
                let _ = kia_domain::case::parse_date(&r.as_of);
            }
        }
        11 => {
            if let Ok(r) = pb::GetReimbursementRequest::decode(bytes) {
                id(&r.case_id);
            }
        }
        _ => {
            let _ = pb::WatchCaseEventsRequest::decode(bytes);
        }
    }
}
