//! The closed set of error kinds a kia RPC can answer with, mapped to gRPC status codes in one
//! place. Every status carries `google.rpc.ErrorInfo` (AIP-193); validation errors also carry a
//! `google.rpc.BadRequest` with one violation per field. Internal causes are logged, never sent.

use kia_domain::error::Invalid;
use kia_store::StoreError;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The error domain named in `ErrorInfo`.
pub const ERROR_DOMAIN: &str = "kia.dk";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidArgument(Invalid),
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    #[error("{reason}")]
    FailedPrecondition {
        rule_id: Option<String>,
        reason: String,
    },
    /// Deliberately says nothing about whether the resource exists (AIP-211).
    #[error("permission denied")]
    PermissionDenied,
    #[error("{0}")]
    Unauthenticated(String),
    #[error("the resource changed; current etag {current_etag}")]
    Aborted { current_etag: String },
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
    #[error("{resource} already exists")]
    AlreadyExists { resource: &'static str },
    /// A server limit: too many calls in flight, or a request too large. Retry with backoff
    /// (or send less).
    #[error("{0}")]
    ResourceExhausted(String),
    /// The call outlasted the server's request timeout.
    #[error("{0}")]
    DeadlineExceeded(String),
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(Invalid::single(field, description))
    }

    fn code_and_reason(&self) -> (Code, &'static str) {
        match self {
            Self::InvalidArgument(_) => (Code::InvalidArgument, "INVALID_ARGUMENT"),
            Self::NotFound { .. } => (Code::NotFound, "NOT_FOUND"),
            Self::FailedPrecondition { .. } => (Code::FailedPrecondition, "RULE_VIOLATED"),
            Self::PermissionDenied => (Code::PermissionDenied, "PERMISSION_DENIED"),
            Self::Unauthenticated(_) => (Code::Unauthenticated, "UNAUTHENTICATED"),
            Self::Aborted { .. } => (Code::Aborted, "ETAG_MISMATCH"),
            Self::Unavailable(_) => (Code::Unavailable, "UNAVAILABLE"),
            Self::Internal(_) => (Code::Internal, "INTERNAL"),
            Self::AlreadyExists { .. } => (Code::AlreadyExists, "ALREADY_EXISTS"),
            Self::ResourceExhausted(_) => (Code::ResourceExhausted, "RESOURCE_EXHAUSTED"),
            Self::DeadlineExceeded(_) => (Code::DeadlineExceeded, "DEADLINE_EXCEEDED"),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        Self::InvalidArgument(invalid)
    }
}

impl From<kia_domain::case::ChangeError> for ApiError {
    fn from(err: kia_domain::case::ChangeError) -> Self {
        use kia_domain::case::ChangeError;
        match err {
            ChangeError::Invalid(invalid) => Self::InvalidArgument(invalid),
            ChangeError::Refused { rule_id, reason } => Self::FailedPrecondition {
                rule_id: rule_id.map(|r| r.to_string()),
                reason,
            },
        }
    }
}

impl From<kia_domain::screening::ScreeningError> for ApiError {
    fn from(err: kia_domain::screening::ScreeningError) -> Self {
        use kia_domain::screening::{RULE_T21, ScreeningError};
        match err {
            ScreeningError::Invalid(invalid) => Self::InvalidArgument(invalid),
            ScreeningError::NotReady(_) => Self::FailedPrecondition {
                rule_id: Some(RULE_T21.to_owned()),
                reason: err.to_string(),
            },
            ScreeningError::DuplicateDiscipline { .. } | ScreeningError::AlreadyConcluded => {
                Self::FailedPrecondition {
                    rule_id: None,
                    reason: err.to_string(),
                }
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::IdempotencyMismatch => Self::invalid(
                "request_id",
                "was already used for a request with other parameters",
            ),
            StoreError::Serialization => {
                Self::Unavailable("a concurrent change won; retry the request".into())
            }
            StoreError::Unavailable(_) | StoreError::ReadOnly => {
                tracing::warn!(error = %err, "storage unavailable");
                Self::Unavailable("storage is unavailable; retry later".into())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        let (code, reason) = err.code_and_reason();
        let mut details = ErrorDetails::new();
        let mut metadata = std::collections::HashMap::new();
        match &err {
            ApiError::InvalidArgument(invalid) => {
                details.set_bad_request(
                    invalid
                        .0
                        .iter()
                        .map(|v| FieldViolation::new(v.field.clone(), v.description.clone()))
                        .collect::<Vec<_>>(),
                );
            }
            ApiError::FailedPrecondition {
                rule_id: Some(rule),
                ..
            } => {
                metadata.insert("rule_id".to_owned(), rule.clone());
            }
            ApiError::Aborted { current_etag } => {
                metadata.insert("current_etag".to_owned(), current_etag.clone());
            }
            ApiError::Internal(cause) => {
                tracing::error!(cause = %cause, "internal error");
            }
            _ => {}
        }
        details.set_error_info(reason, ERROR_DOMAIN, metadata);
        Status::with_error_details(code, err.to_string(), details)
    }
}

impl From<kia_domain::plan::PlanError> for ApiError {
    fn from(err: kia_domain::plan::PlanError) -> Self {
        use kia_domain::plan::PlanError;
        match err {
            PlanError::Invalid(invalid) => Self::InvalidArgument(invalid),
            PlanError::Precondition(p) => Self::FailedPrecondition {
                rule_id: None,
                reason: p.to_string(),
            },
            // The store's etag check answers ABORTED before a record can be out of sequence.
            PlanError::OutOfSequence { .. } => Self::Internal(err.to_string()),
        }
    }
}

impl From<kia_domain::contracting::EconomicsError> for ApiError {
    fn from(err: kia_domain::contracting::EconomicsError) -> Self {
        use kia_domain::contracting::EconomicsError;
        match err {
            EconomicsError::Invalid(invalid) => Self::InvalidArgument(invalid),
            EconomicsError::Reimbursement(e) => Self::FailedPrecondition {
                rule_id: None,
                reason: e.to_string(),
            },
        }
    }
}

impl From<kia_domain::contracting::AdmissionVerdict> for ApiError {
    /// A refused referral; an allowed verdict is no error and never converted.
    fn from(verdict: kia_domain::contracting::AdmissionVerdict) -> Self {
        use kia_domain::contracting::AdmissionVerdict;
        match verdict {
            AdmissionVerdict::Refused { rule_id, reason } => Self::FailedPrecondition {
                rule_id: Some(rule_id.to_string()),
                reason,
            },
            AdmissionVerdict::Allowed => Self::Internal("an allowed referral is no error".into()),
        }
    }
}
