//! Who may see which alerts — the one place AlertService decides it.
//!
//! A jobcentre sees every alert of its municipality's cases; a provider, rehabilitation centre
//! or other organisation sees the alerts addressed to it (`recipient_organisation`); employers
//! and operations see none (alerts name cases and health activities).

use kia_domain::case::MunicipalityCode;
use kia_runtime::identity::OrganizationKind;
use kia_runtime::{ApiError, Identity};
use kia_store::{AlertFilter, AlertRecord};

/// The alerts a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertScope {
    Municipality(MunicipalityCode),
    Recipient(String),
}

impl AlertScope {
    /// Checked before validation (AIP-211).
    pub fn of(identity: &Identity) -> Result<Self, ApiError> {
        match identity.kind {
            OrganizationKind::Jobcenter => identity
                .jobcenter_municipality()
                .map(|m| Self::Municipality(m.clone())),
            OrganizationKind::Provider | OrganizationKind::RehabilitationCentre => {
                Ok(Self::Recipient(identity.organization.clone()))
            }
            OrganizationKind::Employer | OrganizationKind::Operations => {
                Err(ApiError::PermissionDenied)
            }
        }
    }

    pub fn sees(&self, alert: &AlertRecord) -> bool {
        match self {
            Self::Municipality(m) => &alert.municipality == m,
            Self::Recipient(org) => alert.recipient.organisation.as_deref() == Some(org),
        }
    }

    /// Whether an `alert` event (its municipality and payload) is one this scope sees.
    pub fn sees_event(&self, municipality: Option<&str>, payload: &serde_json::Value) -> bool {
        match self {
            Self::Municipality(m) => municipality == Some(m.as_str()),
            Self::Recipient(org) => {
                payload["recipient_organisation"].as_str() == Some(org.as_str())
            }
        }
    }

    /// Narrows a requested filter to the scope; a municipality other than the caller's own is
    /// refused.
    pub fn narrow(&self, mut filter: AlertFilter) -> Result<AlertFilter, ApiError> {
        match self {
            Self::Municipality(m) => {
                if filter.municipality.as_ref().is_some_and(|f| f != m) {
                    return Err(ApiError::PermissionDenied);
                }
                filter.municipality = Some(m.clone());
            }
            Self::Recipient(org) => {
                if filter.municipality.is_some() {
                    return Err(ApiError::PermissionDenied);
                }
                filter.recipient_organisation = Some(org.clone());
            }
        }
        Ok(filter)
    }
}

/// Only the operations team may move the clock.
pub fn may_set_clock(identity: &Identity) -> Result<(), ApiError> {
    if identity.kind == OrganizationKind::Operations {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied)
    }
}
