//! Who is calling: every RPC carries a caller identity (organisation, kind, municipality, role).
//!
//! In development mode the identity is read, unsigned, from request metadata; the daemon says so
//! loudly at start. Signed tokens replace it for real deployments.

use std::fmt;

use kia_domain::case::MunicipalityCode;
use tonic::metadata::MetadataMap;

use crate::error::ApiError;

/// Metadata keys of a development-mode identity.
pub mod headers {
    pub const ORGANIZATION: &str = "x-kia-organization";
    pub const ORGANIZATION_KIND: &str = "x-kia-organization-kind";
    pub const MUNICIPALITY: &str = "x-kia-municipality";
    pub const ROLE: &str = "x-kia-role";
}

/// The kind of organisation a caller acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrganizationKind {
    /// Jobcenter (jobcentret): owns the cases of its municipality.
    Jobcenter,
    /// Other actor / private provider (anden aktør).
    Provider,
    /// Rehabilitation centre or another health actor.
    RehabilitationCentre,
    /// Employer (arbejdsgiver).
    Employer,
    /// Operations team: aggregates and metrics only.
    Operations,
}

impl OrganizationKind {
    const NAMES: [(Self, &'static str); 5] = [
        (Self::Jobcenter, "jobcenter"),
        (Self::Provider, "provider"),
        (Self::RehabilitationCentre, "rehabilitation_centre"),
        (Self::Employer, "employer"),
        (Self::Operations, "operations"),
    ];

    pub fn as_str(&self) -> &'static str {
        Self::NAMES
            .iter()
            .find(|(k, _)| k == self)
            .map_or("", |(_, n)| n)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::NAMES.iter().find(|(_, n)| *n == raw).map(|(k, _)| *k)
    }
}

/// The verified (or, in development mode, declared) caller of one RPC.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    pub organization: String,
    pub kind: OrganizationKind,
    pub municipality: Option<MunicipalityCode>,
    pub role: String,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}/{}",
            self.kind.as_str(),
            self.organization,
            self.role
        )
    }
}

/// How callers prove who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Unsigned identities from metadata. Only for development and tests.
    Development,
}

impl Identity {
    /// Reads a development-mode identity from request metadata.
    pub fn from_metadata(metadata: &MetadataMap) -> Result<Self, ApiError> {
        let get = |key: &str| {
            metadata
                .get(key)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        let organization = get(headers::ORGANIZATION);
        if organization.is_empty() {
            return Err(ApiError::Unauthenticated("no caller identity".into()));
        }
        let kind = OrganizationKind::parse(get(headers::ORGANIZATION_KIND)).ok_or_else(|| {
            ApiError::Unauthenticated(format!(
                "{} is missing or unknown",
                headers::ORGANIZATION_KIND
            ))
        })?;
        let municipality = match get(headers::MUNICIPALITY) {
            "" => None,
            raw => Some(MunicipalityCode::parse(raw).map_err(|e| {
                ApiError::Unauthenticated(format!("{}: {e}", headers::MUNICIPALITY))
            })?),
        };
        if kind == OrganizationKind::Jobcenter && municipality.is_none() {
            return Err(ApiError::Unauthenticated(
                "a jobcenter identity names its municipality".into(),
            ));
        }
        Ok(Self {
            organization: organization.to_owned(),
            kind,
            municipality,
            role: get(headers::ROLE).to_owned(),
        })
    }

    /// The municipality whose cases this caller may see and change: a jobcenter's own.
    /// Checked before validation (AIP-211); every other kind is denied until grants (provider
    /// referrals, shared plans) give it access to particular cases.
    pub fn jobcenter_municipality(&self) -> Result<&MunicipalityCode, ApiError> {
        match (self.kind, &self.municipality) {
            (OrganizationKind::Jobcenter, Some(m)) => Ok(m),
            _ => Err(ApiError::PermissionDenied),
        }
    }

    /// Takes the identity the gate put on a request.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<Self, ApiError> {
        request
            .extensions()
            .get::<Identity>()
            .cloned()
            .ok_or_else(|| ApiError::Unauthenticated("no caller identity".into()))
    }
}
