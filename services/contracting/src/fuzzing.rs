//! Fuzz target body (run by `fuzz/`, replayed from `fuzz/corpus/decode_contracting` by the kia
//! crate's tests): any bytes, decoded as a ContractingService request and converted to domain
//! types with the handlers' conversions, give a value or a precise error, never a panic.

use kia_domain::contracting as d;
use kia_proto::v1 as pb;
use prost::Message;

/// The first byte picks the request type; the rest is its encoding.
pub fn requests(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    match which % 14 {
        0 => {
            if let Ok(r) = pb::CreateProviderRequest::decode(bytes) {
                let raw = r.provider.unwrap_or_default();
                let raw = crate::convert::raw_provider(&raw);
                let _ = d::Provider::parse(d::ProviderId::new(1, 1), &raw, "provider.");
            }
        }
        1 => {
            if let Ok(r) = pb::CreateContractRequest::decode(bytes) {
                let raw = r.contract.unwrap_or_default();
                if let Ok(raw) = crate::convert::raw_contract(&raw) {
                    let _ = d::Contract::parse(d::ContractId::new(2, 2), &raw, "contract.");
                }
            }
        }
        2 => {
            if let Ok(r) = pb::RecordReferralEventRequest::decode(bytes) {
                let _ = crate::convert::referral_event(&r);
            }
        }
        3 => {
            if let Ok(r) = pb::GetScorecardRequest::decode(bytes) {
                let _ = d::DateRange::parse(&r.period_from, &r.period_to, "period_");
            }
        }
        4 => {
            if let Ok(r) = pb::RankProvidersRequest::decode(bytes) {
                let _ = crate::convert::metric_from_pb(r.metric);
                let _ = d::DateRange::parse(&r.period_from, &r.period_to, "period_");
            }
        }
        5 => {
            if let Ok(r) = pb::RoskildeWhatIfRequest::decode(bytes) {
                let _ = d::roskilde_net_gain(r.effect_pp, r.price_factor);
            }
        }
        6 => {
            let _ = pb::GetNetGainRequest::decode(bytes);
        }
        7 => {
            let _ = pb::GetProviderRequest::decode(bytes);
        }
        8 => {
            let _ = pb::ListProvidersRequest::decode(bytes);
        }
        9 => {
            let _ = pb::GetContractRequest::decode(bytes);
        }
        10 => {
            let _ = pb::ListContractsRequest::decode(bytes);
        }
        11 => {
            let _ = pb::ReferCaseRequest::decode(bytes);
        }
        12 => {
            let _ = pb::GetReferralRequest::decode(bytes);
        }
        _ => {
            let _ = pb::ListReferralsRequest::decode(bytes);
        }
    }
}
