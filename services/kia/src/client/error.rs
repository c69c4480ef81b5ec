//! How a failed command reports itself: a message carrying the gRPC status and the field or rule
//! at fault, and an exit code scripts can rely on.

use std::process::ExitCode;

use tonic::Code;
use tonic_types::StatusExt;

/// Exit codes of the client commands (documented in `kia --help` and README).
pub mod exit {
    pub const OK: u8 = 0;
    /// Anything not listed below (internal error, unknown status).
    pub const OTHER: u8 = 1;
    /// Bad usage or a request the daemon refused as invalid (INVALID_ARGUMENT, OUT_OF_RANGE).
    pub const USAGE: u8 = 2;
    /// NOT_FOUND.
    pub const NOT_FOUND: u8 = 3;
    /// PERMISSION_DENIED or UNAUTHENTICATED, or no identity to send.
    pub const DENIED: u8 = 4;
    /// FAILED_PRECONDITION, ABORTED (stale etag) or ALREADY_EXISTS: the state forbids it.
    pub const CONFLICT: u8 = 5;
    /// UNAVAILABLE or DEADLINE_EXCEEDED, or the daemon cannot be reached: retry later.
    pub const UNAVAILABLE: u8 = 6;
    /// `kia import`: the file was read to the end, but some rows were rejected.
    pub const ROWS_REJECTED: u8 = 7;
    /// `kia audit verify`: the audit trail's hash chain is broken.
    pub const CHAIN_BROKEN: u8 = 8;
}

/// The text of `kia --help` that lists the exit codes.
pub const EXIT_CODES_HELP: &str = "\
Exit codes (client commands):
  0  success
  1  other error (internal error, unknown status)
  2  usage error, or INVALID_ARGUMENT / OUT_OF_RANGE from the daemon
  3  NOT_FOUND
  4  PERMISSION_DENIED or UNAUTHENTICATED (or no identity configured)
  5  FAILED_PRECONDITION, ABORTED (stale etag) or ALREADY_EXISTS
  6  UNAVAILABLE or DEADLINE_EXCEEDED, or the daemon cannot be reached
  7  kia import: some rows were rejected (the others were imported)
  8  kia audit verify: the audit trail's hash chain is broken";

/// One field the daemon found at fault.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// A failed command.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    /// The gRPC status code name (`NOT_FOUND`), or `USAGE` / `UNREACHABLE` / `ERROR` for
    /// failures that never reached the daemon.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub field_violations: Vec<FieldViolation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_etag: Option<String>,
    #[serde(skip)]
    pub exit: u8,
}

impl Failure {
    fn local(code: &str, exit: u8, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            message: message.into(),
            field_violations: Vec::new(),
            rule_id: None,
            current_etag: None,
            exit,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Self::local("USAGE", exit::USAGE, message)
    }

    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::local("UNREACHABLE", exit::UNAVAILABLE, message)
    }

    pub fn no_identity(message: impl Into<String>) -> Self {
        Self::local("UNAUTHENTICATED", exit::DENIED, message)
    }

    pub fn chain_broken(message: impl Into<String>) -> Self {
        Self::local("CHAIN_BROKEN", exit::CHAIN_BROKEN, message)
    }

    pub fn other(message: impl Into<String>) -> Self {
        Self::local("ERROR", exit::OTHER, message)
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.exit)
    }

    /// One line for people: the status, the message, then the fields and the rule at fault.
    pub fn human(&self) -> String {
        let mut out = format!("{}: {}", self.code, self.message);
        for v in &self.field_violations {
            out.push_str(&format!("\n  field {}: {}", v.field, v.description));
        }
        if let Some(rule) = &self.rule_id {
            out.push_str(&format!("\n  rule {rule}"));
        }
        if let Some(etag) = &self.current_etag {
            out.push_str(&format!("\n  current etag {etag}"));
        }
        out
    }

    /// The first field at fault, for the import report.
    pub fn field(&self) -> Option<&str> {
        self.field_violations.first().map(|v| v.field.as_str())
    }
}

pub fn exit_for(code: Code) -> u8 {
    match code {
        Code::Ok => exit::OK,
        Code::InvalidArgument | Code::OutOfRange => exit::USAGE,
        Code::NotFound => exit::NOT_FOUND,
        Code::PermissionDenied | Code::Unauthenticated => exit::DENIED,
        Code::FailedPrecondition | Code::Aborted | Code::AlreadyExists => exit::CONFLICT,
        Code::Unavailable | Code::DeadlineExceeded => exit::UNAVAILABLE,
        _ => exit::OTHER,
    }
}

/// The name gRPC gives a code (`FAILED_PRECONDITION`).
pub fn code_name(code: Code) -> String {
    let debug = format!("{code:?}");
    let mut out = String::new();
    for (i, c) in debug.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Self {
        let details = status.get_error_details();
        let field_violations = details
            .bad_request()
            .map(|br| {
                br.field_violations
                    .iter()
                    .map(|v| FieldViolation {
                        field: v.field.clone(),
                        description: v.description.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let info = details.error_info();
        let meta = |key: &str| info.and_then(|i| i.metadata.get(key).cloned());
        Self {
            code: code_name(status.code()),
            message: status.message().to_owned(),
            field_violations,
            rule_id: meta("rule_id"),
            current_etag: meta("current_etag"),
            exit: exit_for(status.code()),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(err: anyhow::Error) -> Self {
        Self::other(format!("{err:#}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tonic_types::ErrorDetails;

    #[test]
    fn a_status_with_details_names_its_field_and_rule() {
        let mut details = ErrorDetails::new();
        details.set_bad_request(vec![tonic_types::FieldViolation::new(
            "case.first_sick_day",
            "must be a date",
        )]);
        let status = tonic::Status::with_error_details(Code::InvalidArgument, "bad", details);
        let failure = Failure::from(status);
        assert_eq!(failure.code, "INVALID_ARGUMENT");
        assert_eq!(failure.exit, exit::USAGE);
        assert_eq!(failure.field(), Some("case.first_sick_day"));
        assert!(
            failure
                .human()
                .contains("field case.first_sick_day: must be a date")
        );

        let mut details = ErrorDetails::new();
        details.set_error_info(
            "RULE_VIOLATED",
            "kia.dk",
            [("rule_id".to_owned(), "001-I4".to_owned())],
        );
        let status = tonic::Status::with_error_details(Code::FailedPrecondition, "no", details);
        let failure = Failure::from(status);
        assert_eq!(
            (
                failure.code.as_str(),
                failure.exit,
                failure.rule_id.as_deref()
            ),
            ("FAILED_PRECONDITION", exit::CONFLICT, Some("001-I4"))
        );
    }

    #[test]
    fn every_code_has_its_documented_exit() {
        assert_eq!(exit_for(Code::NotFound), 3);
        assert_eq!(exit_for(Code::Unauthenticated), 4);
        assert_eq!(exit_for(Code::Aborted), 5);
        assert_eq!(exit_for(Code::Unavailable), 6);
        assert_eq!(exit_for(Code::Internal), 1);
        assert_eq!(code_name(Code::DeadlineExceeded), "DEADLINE_EXCEEDED");
    }
}
