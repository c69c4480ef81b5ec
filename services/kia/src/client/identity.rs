//! Who the command line says it is: the one interceptor that attaches the caller's identity to
//! every call, and the config file it may come from.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use tonic::metadata::{Ascii, MetadataValue};

/// The identity attached to every call: a bearer token when one is given (`--token`, KIA_TOKEN
/// or the config file), else development-mode metadata from KIA_DEV_IDENTITY.
#[derive(Debug, Clone)]
pub enum Credentials {
    Bearer(MetadataValue<Ascii>),
    Dev(DevIdentity),
}

/// `organization:kind:municipality:role`, e.g. `jc-630:jobcenter:630:caseworker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevIdentity {
    pub organization: String,
    pub kind: String,
    pub municipality: String,
    pub role: String,
}

impl DevIdentity {
    pub fn parse(raw: &str) -> anyhow::Result<Self> {
        let parts: Vec<&str> = raw.split(':').collect();
        let [organization, kind, municipality, role] = parts.as_slice() else {
            bail!(
                "KIA_DEV_IDENTITY must be organization:kind:municipality:role \
                 (e.g. jc-630:jobcenter:630:caseworker), got {raw:?}"
            );
        };
        if organization.is_empty() || kind.is_empty() {
            bail!("KIA_DEV_IDENTITY must name an organization and its kind, got {raw:?}");
        }
        Ok(Self {
            organization: (*organization).to_owned(),
            kind: (*kind).to_owned(),
            municipality: (*municipality).to_owned(),
            role: (*role).to_owned(),
        })
    }
}

impl Credentials {
    pub fn bearer(token: &str) -> anyhow::Result<Self> {
        let value = format!("Bearer {}", token.trim())
            .parse()
            .context("the token is not valid ASCII")?;
        Ok(Self::Bearer(value))
    }

    /// The municipality the caller acts for, when the identity says it in the clear.
    pub fn municipality(&self) -> Option<&str> {
        match self {
            Self::Dev(dev) if !dev.municipality.is_empty() => Some(&dev.municipality),
            _ => None,
        }
    }
}

impl tonic::service::Interceptor for Credentials {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let md = request.metadata_mut();
        match self {
            Self::Bearer(value) => {
                md.insert("authorization", value.clone());
            }
            Self::Dev(dev) => {
                for (key, value) in [
                    ("x-kia-organization", &dev.organization),
                    ("x-kia-organization-kind", &dev.kind),
                    ("x-kia-municipality", &dev.municipality),
                    ("x-kia-role", &dev.role),
                ] {
                    if value.is_empty() {
                        continue;
                    }
                    let value = value.parse().map_err(|_| {
                        tonic::Status::invalid_argument(format!("{key} is not valid ASCII"))
                    })?;
                    md.insert(key, value);
                }
            }
        }
        Ok(request)
    }
}

/// `config.toml`: `server = "http://..."` and `token = "..."`, both optional.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    pub server: Option<String>,
    pub token: Option<String>,
}

impl ConfigFile {
    /// `$XDG_CONFIG_HOME/kia/config.toml`, else `~/.config/kia/config.toml`.
    pub fn default_path() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("kia").join("config.toml"))
    }

    /// Reads the file; a missing default file is an empty config, a missing named one an error.
    pub fn load(path: &Path, named: bool) -> anyhow::Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => {
                return Ok(Self::default());
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_dev_identity_names_four_parts_and_may_leave_the_municipality_empty() {
        let dev = DevIdentity::parse("quick-care:provider::coordinator").unwrap();
        assert_eq!(dev.municipality, "");
        assert_eq!(dev.kind, "provider");
        assert!(DevIdentity::parse("jc-630:jobcenter:630").is_err());
        assert!(DevIdentity::parse(":jobcenter:630:caseworker").is_err());
    }

    #[test]
    fn the_interceptor_sends_a_token_or_the_development_identity_never_both() {
        use tonic::service::Interceptor as _;
        let mut bearer = Credentials::bearer("abc.def").unwrap();
        let request = bearer.call(tonic::Request::new(())).unwrap();
        let md = request.metadata();
        assert_eq!(md.get("authorization").unwrap(), "Bearer abc.def");
        assert!(md.get("x-kia-organization").is_none());

        let mut dev =
            Credentials::Dev(DevIdentity::parse("quick-care:provider::coordinator").unwrap());
        let request = dev.call(tonic::Request::new(())).unwrap();
        let md = request.metadata();
        assert_eq!(md.get("x-kia-organization").unwrap(), "quick-care");
        assert_eq!(md.get("x-kia-organization-kind").unwrap(), "provider");
        assert!(
            md.get("x-kia-municipality").is_none(),
            "empty parts are not sent"
        );
        assert!(md.get("authorization").is_none());
        assert_eq!(dev.municipality(), None);
    }

    #[test]
    fn the_config_file_names_server_and_token() {
        let config: ConfigFile =
            toml::from_str("server = \"http://kia:50051\"\ntoken = \"abc\"\n").unwrap();
        assert_eq!(config.server.as_deref(), Some("http://kia:50051"));
        assert_eq!(config.token.as_deref(), Some("abc"));
        assert!(toml::from_str::<ConfigFile>("tokn = \"x\"").is_err());
    }
}
