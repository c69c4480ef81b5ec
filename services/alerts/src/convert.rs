//! Alerts and clock readings to and from their protobuf messages.

use chrono::{DateTime, Utc};
use kia_domain::alerts::{AlertRule, Severity};
use kia_proto::v1 as pb;
use kia_runtime::ApiError;
use kia_store::{AlertChangeKind, AlertFilter, AlertRecord, AlertState};

pub(crate) fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

pub(crate) fn instant(t: Option<&prost_types::Timestamp>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).ok()?))
}

fn severity(s: Severity) -> pb::AlertSeverity {
    match s {
        Severity::Warning => pb::AlertSeverity::Warning,
        Severity::High => pb::AlertSeverity::High,
        Severity::Critical => pb::AlertSeverity::Critical,
    }
}

fn state_to_pb(s: AlertState) -> pb::AlertState {
    match s {
        AlertState::Open => pb::AlertState::Open,
        AlertState::Acknowledged => pb::AlertState::Acknowledged,
        AlertState::Resolved => pb::AlertState::Resolved,
    }
}

pub(crate) fn change_to_pb(k: AlertChangeKind) -> pb::AlertChange {
    match k {
        AlertChangeKind::Raised => pb::AlertChange::Raised,
        AlertChangeKind::Updated => pb::AlertChange::Updated,
        AlertChangeKind::Acknowledged => pb::AlertChange::Acknowledged,
        AlertChangeKind::Resolved => pb::AlertChange::Resolved,
    }
}

/// JSON as a protobuf `Value`.
fn value(v: &serde_json::Value) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match v {
        serde_json::Value::Null => Kind::NullValue(0),
        serde_json::Value::Bool(b) => Kind::BoolValue(*b),
        serde_json::Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        serde_json::Value::String(s) => Kind::StringValue(s.clone()),
        serde_json::Value::Array(a) => Kind::ListValue(prost_types::ListValue {
            values: a.iter().map(value).collect(),
        }),
        serde_json::Value::Object(o) => Kind::StructValue(structure(o)),
    };
    prost_types::Value { kind: Some(kind) }
}

fn structure(o: &serde_json::Map<String, serde_json::Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: o.iter().map(|(k, v)| (k.clone(), value(v))).collect(),
    }
}

pub(crate) fn alert_to_pb(a: &AlertRecord) -> pb::Alert {
    pb::Alert {
        alert_id: a.id.to_string(),
        rule: a.rule.as_str().to_owned(),
        source: a.rule.source().to_owned(),
        severity: severity(a.severity) as i32,
        state: state_to_pb(a.state) as i32,
        case_id: a.case.to_string(),
        subject: a.subject.clone(),
        recipient_organisation: a.recipient.organisation.clone().unwrap_or_default(),
        recipient_role: a.recipient.role.clone(),
        municipality: a.municipality.to_string(),
        cause: a.cause.clone(),
        data: a.data.as_object().map(structure),
        due_on: a.due_on.map(|d| d.to_string()).unwrap_or_default(),
        raised_at: Some(timestamp(a.raised_at)),
        updated_at: Some(timestamp(a.updated_at)),
        acknowledged_by: a.acknowledged_by.clone().unwrap_or_default(),
        acknowledged_at: a.acknowledged_at.map(timestamp),
        resolved_at: a.resolved_at.map(timestamp),
        version: a.version,
    }
}

/// The filters of a ListAlerts request, every violation at once.
pub(crate) fn alert_filter(r: &pb::ListAlertsRequest) -> Result<AlertFilter, ApiError> {
    use kia_domain::error::Invalid;
    let mut invalid = Invalid::default();
    let municipality = match r.municipality.as_str() {
        "" => None,
        raw => kia_domain::case::MunicipalityCode::parse(raw)
            .map_err(|e| invalid.push("municipality", e))
            .ok(),
    };
    let case = match r.case_id.as_str() {
        "" => None,
        raw => raw
            .parse()
            .map_err(|_| invalid.push("case_id", "must be a case id as kia issued it"))
            .ok(),
    };
    let rule = match r.rule.as_str() {
        "" => None,
        raw => {
            let rule = AlertRule::parse(raw);
            if rule.is_none() {
                invalid.push("rule", "must be an alert rule kia evaluates, e.g. AL-04");
            }
            rule
        }
    };
    let state = match pb::AlertState::try_from(r.state) {
        Ok(pb::AlertState::Unspecified) => None,
        Ok(pb::AlertState::Open) => Some(AlertState::Open),
        Ok(pb::AlertState::Acknowledged) => Some(AlertState::Acknowledged),
        Ok(pb::AlertState::Resolved) => Some(AlertState::Resolved),
        Err(_) => {
            invalid.push("state", "is not an alert state");
            None
        }
    };
    Ok(invalid.into_result(AlertFilter {
        municipality,
        recipient_organisation: None,
        case,
        rule,
        state,
    })?)
}
