//! What every client command of `kia` shares: the caller identity it attaches to each call.

use anyhow::{Context as _, bail};
use tonic::metadata::{AsciiMetadataValue, MetadataMap};

/// The environment variable with a development identity: `organization:kind:municipality:role`.
pub const DEV_IDENTITY_VAR: &str = "KIA_DEV_IDENTITY";

/// Attaches the caller's identity to every call: a bearer token (`--token` / `KIA_TOKEN`) when
/// given, else the development-mode `x-kia-*` metadata from `KIA_DEV_IDENTITY`.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    headers: Vec<(&'static str, AsciiMetadataValue)>,
}

/// A development identity, as `KIA_DEV_IDENTITY` spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevIdentity {
    pub organization: String,
    pub kind: String,
    pub municipality: String,
    pub role: String,
}

impl DevIdentity {
    /// Parses `organization:kind:municipality:role` (the municipality may be empty).
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let parts: Vec<&str> = raw.split(':').collect();
        let [organization, kind, municipality, role] = parts[..] else {
            bail!("{DEV_IDENTITY_VAR} must be organization:kind:municipality:role, got {raw:?}");
        };
        if organization.is_empty() || kind.is_empty() || role.is_empty() {
            bail!("{DEV_IDENTITY_VAR} needs an organization, a kind and a role, got {raw:?}");
        }
        Ok(Self {
            organization: organization.to_owned(),
            kind: kind.to_owned(),
            municipality: municipality.to_owned(),
            role: role.to_owned(),
        })
    }
}

impl ClientIdentity {
    /// The identity from a token if one is given, else from `dev` (usually `KIA_DEV_IDENTITY`).
    pub fn new(token: Option<&str>, dev: Option<&DevIdentity>) -> anyhow::Result<Self> {
        let value = |raw: &str| {
            AsciiMetadataValue::try_from(raw).context("identity values must be ASCII text")
        };
        let headers = match (token, dev) {
            (Some(token), _) => vec![("authorization", value(&format!("Bearer {token}"))?)],
            (None, Some(dev)) => {
                let mut headers = vec![
                    ("x-kia-organization", value(&dev.organization)?),
                    ("x-kia-organization-kind", value(&dev.kind)?),
                    ("x-kia-role", value(&dev.role)?),
                ];
                if !dev.municipality.is_empty() {
                    headers.push(("x-kia-municipality", value(&dev.municipality)?));
                }
                headers
            }
            (None, None) => bail!(
                "no caller identity: pass --token (or set KIA_TOKEN), or set \
                 {DEV_IDENTITY_VAR}=organization:kind:municipality:role for a development daemon"
            ),
        };
        Ok(Self { headers })
    }

    fn attach(&self, metadata: &mut MetadataMap) {
        for (key, value) in &self.headers {
            metadata.insert(*key, value.clone());
        }
    }
}

impl tonic::service::Interceptor for ClientIdentity {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        self.attach(request.metadata_mut());
        Ok(request)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_dev_identity_has_four_parts() {
        let id = DevIdentity::parse("jc-630:jobcenter:630:caseworker").unwrap();
        assert_eq!(
            (id.organization.as_str(), id.municipality.as_str()),
            ("jc-630", "630")
        );
        assert!(DevIdentity::parse("genoptraening:rehabilitation_centre::physio").is_ok());
        assert!(DevIdentity::parse("jc-630:jobcenter:630").is_err());
        assert!(DevIdentity::parse(":jobcenter:630:caseworker").is_err());
    }

    #[test]
    fn a_token_wins_over_a_dev_identity() {
        let dev = DevIdentity::parse("jc-630:jobcenter:630:caseworker").unwrap();
        let mut md = MetadataMap::new();
        ClientIdentity::new(Some("abc"), Some(&dev))
            .unwrap()
            .attach(&mut md);
        assert_eq!(md.get("authorization").unwrap(), "Bearer abc");
        assert!(md.get("x-kia-organization").is_none());
        assert!(ClientIdentity::new(None, None).is_err());
    }
}
