//! Who is calling: every RPC carries a caller identity (organisation, kind, municipality, role).
//!
//! Callers send a signed bearer token ([`crate::auth`]). In development mode
//! (`--insecure-dev-identities`) the identity may instead come, unsigned, from request metadata;
//! the daemon says so loudly at start.

use std::fmt;
use std::sync::Arc;

use kia_domain::case::MunicipalityCode;
use tonic::metadata::MetadataMap;

use crate::auth::Verifier;
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
    /// The person acting, when the token names one (its `sub`).
    pub person: Option<String>,
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
#[derive(Debug, Clone)]
pub enum AuthMode {
    /// Signed bearer tokens only (`authorization: Bearer <JWT>`).
    Tokens(Arc<Verifier>),
    /// Development: a bearer token when one is sent, else the unsigned `x-kia-*` metadata.
    /// Never for a daemon others can reach.
    Development(Arc<Verifier>),
}

impl AuthMode {
    /// The caller of a request, or why it is refused (UNAUTHENTICATED, no personal detail).
    pub fn authenticate(&self, metadata: &MetadataMap) -> Result<Identity, ApiError> {
        let bearer = metadata
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.strip_prefix("Bearer ").map(str::trim));
        let bearer = match bearer {
            Some(None) => {
                return Err(ApiError::Unauthenticated(
                    "the authorization header is not a Bearer token".into(),
                ));
            }
            Some(Some(token)) => Some(token),
            None => None,
        };
        match (self, bearer) {
            (Self::Tokens(verifier) | Self::Development(verifier), Some(token)) => verifier
                .verify(token)
                .map_err(|e| ApiError::Unauthenticated(e.to_string())),
            (Self::Tokens(_), None) => Err(ApiError::Unauthenticated(
                "no bearer token: send authorization: Bearer <JWT>".into(),
            )),
            (Self::Development(_), None) => Identity::from_metadata(metadata),
        }
    }
}

impl Identity {
    /// Builds an identity from its parts, as a token or development metadata names them.
    pub fn new(
        organization: &str,
        kind: &str,
        municipality: &str,
        role: &str,
        person: Option<&str>,
    ) -> Result<Self, &'static str> {
        if organization.is_empty() {
            return Err("no organisation");
        }
        let kind = OrganizationKind::parse(kind).ok_or("the organisation kind is unknown")?;
        let municipality = match municipality {
            "" => None,
            raw => Some(MunicipalityCode::parse(raw).map_err(|_| "the municipality is invalid")?),
        };
        if kind == OrganizationKind::Jobcenter && municipality.is_none() {
            return Err("a jobcenter identity names its municipality");
        }
        Ok(Self {
            organization: organization.to_owned(),
            kind,
            municipality,
            role: role.to_owned(),
            person: person.filter(|p| !p.is_empty()).map(str::to_owned),
        })
    }

    /// Reads a development-mode identity from request metadata.
    pub fn from_metadata(metadata: &MetadataMap) -> Result<Self, ApiError> {
        let get = |key: &str| {
            metadata
                .get(key)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
        };
        if get(headers::ORGANIZATION).is_empty() {
            return Err(ApiError::Unauthenticated("no caller identity".into()));
        }
        Self::new(
            get(headers::ORGANIZATION),
            get(headers::ORGANIZATION_KIND),
            get(headers::MUNICIPALITY),
            get(headers::ROLE),
            None,
        )
        .map_err(|e| ApiError::Unauthenticated(format!("development identity: {e}")))
    }

    /// The municipality whose cases this caller may see and change: a jobcenter's own. Checked
    /// before validation (AIP-211); other kinds reach particular cases only through a referral,
    /// a plan grant or the case's employer reference (see [`crate::authz`]).
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
