//! Signed caller identities: compact JWS tokens (JWT, RFC 7519) signed with EdDSA over Ed25519
//! (RFC 8037), verified against the public keys of a JWKS (RFC 7517).
//!
//! A token names the organisation, its kind, municipality, role and (optionally) the person. The
//! daemon trusts the keys of a configured JWKS file or, when none is configured, a key pair it
//! creates in its data directory on first start (`keys/token-signing-key.json`, private, and
//! `keys/jwks.json`, public); `kia token issue` signs with that private key.
//!
//! Expiry is checked against the real system time, never the settable clock the domain runs on:
//! moving the domain's "today" must not revive or kill credentials.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::identity::Identity;

/// The issuer a token names when none is configured.
pub const DEFAULT_ISSUER: &str = "kia";
/// The audience a token names when none is configured.
pub const DEFAULT_AUDIENCE: &str = "kia";
/// Tolerated clock difference between the issuer and this daemon.
const LEEWAY_SECONDS: i64 = 30;

/// Where the data directory keeps the daemon's own token key pair.
pub fn signing_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("token-signing-key.json")
}

/// The public half of the data directory's key, as a JWKS others may verify against.
pub fn jwks_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("jwks.json")
}

/// The claims of a kia token. Kind and municipality stay text here: a token that names an
/// unknown kind is well signed but still no identity (see [`Claims::identity`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: i64,
    /// The person acting, when the token names one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// The organisation acting, e.g. `jc-630`.
    pub organization: String,
    /// `jobcenter`, `provider`, `rehabilitation_centre`, `employer` or `operations`.
    pub organization_kind: String,
    /// A jobcenter's three-digit municipality code (kommunekode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub municipality: Option<String>,
    /// Role or discipline, e.g. `caseworker`, `doctor`.
    #[serde(default)]
    pub role: String,
}

impl Claims {
    /// Claims for an identity, valid for `ttl` from now.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        issuer: &str,
        audience: &str,
        organization: &str,
        kind: &str,
        municipality: Option<&str>,
        role: &str,
        person: Option<&str>,
        ttl: Duration,
    ) -> Self {
        let now = unix_now();
        Self {
            iss: issuer.to_owned(),
            aud: audience.to_owned(),
            exp: now + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2),
            iat: now,
            sub: person.map(str::to_owned),
            organization: organization.to_owned(),
            organization_kind: kind.to_owned(),
            municipality: municipality.map(str::to_owned),
            role: role.to_owned(),
        }
    }

    /// The caller these claims name; `Err` says, without personal detail, what is wrong.
    pub fn identity(&self) -> Result<Identity, &'static str> {
        Identity::new(
            &self.organization,
            &self.organization_kind,
            self.municipality.as_deref().unwrap_or(""),
            &self.role,
            self.sub.as_deref(),
        )
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Why a token was refused. The text goes to the caller: it names no person and no claim value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not EdDSA")]
    Algorithm,
    #[error("the token is signed by an unknown key")]
    UnknownKey,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not yet valid")]
    NotYetValid,
    #[error("the token is from another issuer")]
    WrongIssuer,
    #[error("the token is for another audience")]
    WrongAudience,
    #[error("the token names no valid identity: {0}")]
    Identity(&'static str),
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

/// One key of a JWKS; only Ed25519 (`kty` OKP, `crv` Ed25519) keys are used.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    crv: String,
    #[serde(default)]
    x: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "use")]
    use_: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// The RFC 7638 thumbprint of an Ed25519 public key, used as its key id.
fn thumbprint(key: &VerifyingKey) -> String {
    use sha2_v011::Digest as _;
    let canonical = format!(
        r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
        B64.encode(key.to_bytes())
    );
    B64.encode(sha2_v011::Sha256::digest(canonical.as_bytes()))
}

fn public_jwk(key: &VerifyingKey) -> Jwk {
    Jwk {
        kty: "OKP".into(),
        crv: "Ed25519".into(),
        x: B64.encode(key.to_bytes()),
        d: None,
        kid: Some(thumbprint(key)),
        alg: Some("EdDSA".into()),
        use_: Some("sig".into()),
    }
}

/// Verifies tokens: signature by a trusted key, issuer, audience, expiry, then the identity.
#[derive(Clone)]
pub struct Verifier {
    keys: HashMap<String, VerifyingKey>,
    issuer: String,
    audience: String,
    verified: Arc<VerifiedTokens>,
}

/// How many verified tokens a process remembers (a few hundred bytes each).
const VERIFIED_TOKENS: usize = 10_000;

/// Tokens whose signature and claims were checked, with the identity they name: a caller sends
/// the same token on every call, and the Ed25519 check is the dearest step of a small read.
/// Keyed by the token's exact text, so any other byte misses and is verified in full; an entry
/// serves only until the token's `exp` (the trusted keys, issuer and audience are fixed for the
/// life of the process). Bounded: when full, the expired entries go, and if that frees nothing,
/// every entry goes (the next calls verify again).
#[derive(Debug)]
struct VerifiedTokens {
    capacity: usize,
    entries: Mutex<HashMap<String, (i64, Identity)>>,
}

impl VerifiedTokens {
    fn new(capacity: usize) -> Self {
        Self {
            capacity,
            entries: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (i64, Identity)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The identity of a token verified before, while it has not expired at `now`.
    fn get(&self, token: &str, now: i64) -> Option<Identity> {
        let mut entries = self.lock();
        match entries.get(token) {
            Some((exp, identity)) if !expired(*exp, now) => Some(identity.clone()),
            Some(_) => {
                entries.remove(token);
                None
            }
            None => None,
        }
    }

    fn insert(&self, token: &str, exp: i64, identity: &Identity, now: i64) {
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.retain(|_, (exp, _)| !expired(*exp, now));
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(token.to_owned(), (exp, identity.clone()));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Whether a token with this `exp` has expired at `now` (allowing for clock difference).
fn expired(exp: i64, now: i64) -> bool {
    exp + LEEWAY_SECONDS <= now
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("keys", &self.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl Verifier {
    /// Trusts the Ed25519 keys of a JWKS document (other key types are skipped).
    pub fn from_jwks(jwks: &str, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let set: JwkSet = serde_json::from_str(jwks)
            .map_err(|e| anyhow::anyhow!("the JWKS is not a JSON key set: {e}"))?;
        let mut keys = HashMap::new();
        for jwk in set.keys {
            if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
                continue;
            }
            let x: [u8; 32] = B64
                .decode(&jwk.x)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| anyhow::anyhow!("an Ed25519 key's x is not 32 bytes"))?;
            let key = VerifyingKey::from_bytes(&x)
                .map_err(|e| anyhow::anyhow!("an Ed25519 key is invalid: {e}"))?;
            keys.insert(jwk.kid.unwrap_or_else(|| thumbprint(&key)), key);
        }
        if keys.is_empty() {
            anyhow::bail!("the JWKS holds no Ed25519 (OKP) key");
        }
        Ok(Self::new(keys, issuer, audience))
    }

    fn new(keys: HashMap<String, VerifyingKey>, issuer: &str, audience: &str) -> Self {
        Self {
            keys,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            verified: Arc::new(VerifiedTokens::new(VERIFIED_TOKENS)),
        }
    }

    pub fn from_jwks_file(path: &Path, issuer: &str, audience: &str) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading JWKS {}: {e}", path.display()))?;
        Self::from_jwks(&text, issuer, audience)
    }

    /// Checks a compact JWS and returns the identity it names.
    pub fn verify(&self, token: &str) -> Result<Identity, TokenError> {
        self.verify_at(token, unix_now())
    }

    fn verify_at(&self, token: &str, now: i64) -> Result<Identity, TokenError> {
        if let Some(identity) = self.verified.get(token, now) {
            return Ok(identity);
        }
        let claims = self.verify_claims(token, now)?;
        let identity = claims.identity().map_err(TokenError::Identity)?;
        self.verified.insert(token, claims.exp, &identity, now);
        Ok(identity)
    }

    fn verify_claims(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header = decode_json(h)?;
        if header.alg != "EdDSA" {
            return Err(TokenError::Algorithm);
        }
        let key = match &header.kid {
            Some(kid) => self.keys.get(kid),
            None if self.keys.len() == 1 => self.keys.values().next(),
            None => None,
        }
        .ok_or(TokenError::UnknownKey)?;
        let signature: [u8; 64] = B64
            .decode(s)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(TokenError::Malformed)?;
        let signed = &token[..h.len() + 1 + p.len()];
        key.verify_strict(signed.as_bytes(), &Signature::from_bytes(&signature))
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = decode_json(p)?;
        if expired(claims.exp, now) {
            return Err(TokenError::Expired);
        }
        if claims.iat - LEEWAY_SECONDS > now {
            return Err(TokenError::NotYetValid);
        }
        if claims.iss != self.issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.aud != self.audience {
            return Err(TokenError::WrongAudience);
        }
        Ok(claims)
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = B64.decode(part).map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

/// The private key that signs tokens.
pub struct TokenSigner {
    key: SigningKey,
    kid: String,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid)
            .finish()
    }
}

impl TokenSigner {
    fn new(key: SigningKey) -> Self {
        let kid = thumbprint(&key.verifying_key());
        Self { key, kid }
    }

    /// Loads the data directory's signing key, creating it (and its public JWKS) when absent.
    pub fn ensure_in(data_dir: &Path) -> anyhow::Result<Self> {
        let path = signing_key_path(data_dir);
        if path.exists() {
            return Self::load(&path);
        }
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let signer = Self::new(SigningKey::from_bytes(&seed));
        let mut private = public_jwk(&signer.key.verifying_key());
        private.d = Some(B64.encode(seed));
        crate::keyfile::write_private(&path, serde_json::to_string_pretty(&private)?.as_bytes())?;
        crate::keyfile::write_public(&jwks_path(data_dir), signer.jwks().as_bytes())?;
        Ok(signer)
    }

    fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let jwk: Jwk = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a JWK: {e}", path.display()))?;
        let seed: [u8; 32] = jwk
            .d
            .as_deref()
            .and_then(|d| B64.decode(d).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| anyhow::anyhow!("{} holds no Ed25519 private key", path.display()))?;
        Ok(Self::new(SigningKey::from_bytes(&seed)))
    }

    /// The public key as a JWKS document.
    pub fn jwks(&self) -> String {
        serde_json::json!({ "keys": [public_jwk(&self.key.verifying_key())] }).to_string()
    }

    /// A verifier that trusts exactly this key.
    pub fn verifier(&self, issuer: &str, audience: &str) -> Verifier {
        Verifier::new(
            HashMap::from([(self.kid.clone(), self.key.verifying_key())]),
            issuer,
            audience,
        )
    }

    /// Signs claims into a compact JWS.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "EdDSA".into(),
            typ: Some("JWT".into()),
            kid: Some(self.kid.clone()),
        };
        let signed = format!("{}.{}", b64_json(&header), b64_json(claims));
        let signature = self.key.sign(signed.as_bytes());
        format!("{signed}.{}", B64.encode(signature.to_bytes()))
    }
}

/// Plain structs of strings and numbers always serialize.
fn b64_json(value: &impl Serialize) -> String {
    B64.encode(serde_json::to_vec(value).unwrap_or_default())
}

/// Parses a duration like `8h`, `30m`, `90s` or `2d`.
pub fn parse_ttl(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw.len().saturating_sub(1);
    let (number, unit) = raw.split_at(split);
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{raw:?}: give a number and s, m, h or d (e.g. 8h)")),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{raw:?}: give a number and s, m, h or d (e.g. 8h)"))?;
    Ok(Duration::from_secs(n * seconds))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::new(SigningKey::from_bytes(&[7; 32]))
    }

    fn claims(ttl: Duration) -> Claims {
        Claims::new(
            "kia",
            "kia",
            "jc-630",
            "jobcenter",
            Some("630"),
            "caseworker",
            Some("cw-17"),
            ttl,
        )
    }

    #[test]
    fn a_signed_token_names_its_identity() {
        let s = signer();
        let token = s.sign(&claims(Duration::from_secs(60)));
        let identity = s.verifier("kia", "kia").verify(&token).unwrap();
        assert_eq!(identity.organization, "jc-630");
        assert_eq!(identity.kind, crate::identity::OrganizationKind::Jobcenter);
        assert_eq!(identity.person.as_deref(), Some("cw-17"));
    }

    #[test]
    fn expiry_issuer_audience_and_signature_are_checked() {
        let s = signer();
        let v = s.verifier("kia", "kia");
        let token = s.sign(&claims(Duration::from_secs(60)));
        let later = unix_now() + 60 + LEEWAY_SECONDS;
        assert_eq!(v.verify_claims(&token, later), Err(TokenError::Expired));
        assert_eq!(
            s.verifier("other", "kia").verify(&token),
            Err(TokenError::WrongIssuer)
        );
        assert_eq!(
            s.verifier("kia", "other").verify(&token),
            Err(TokenError::WrongAudience)
        );
        let stranger = TokenSigner::new(SigningKey::from_bytes(&[8; 32]));
        let mut forged = stranger.sign(&claims(Duration::from_secs(60)));
        forged.replace_range(
            ..forged.find('.').unwrap(),
            token.split('.').next().unwrap(),
        );
        assert_eq!(v.verify(&forged), Err(TokenError::BadSignature));
        assert_eq!(v.verify("a.b"), Err(TokenError::Malformed));
    }

    #[test]
    fn a_remembered_token_still_expires_and_a_changed_byte_is_verified_again() {
        let s = signer();
        let v = s.verifier("kia", "kia");
        let token = s.sign(&claims(Duration::from_secs(60)));
        let now = unix_now();
        assert!(v.verify_at(&token, now).is_ok());
        assert_eq!(v.verified.len(), 1);
        // The same token past its expiry: refused, and forgotten.
        assert_eq!(
            v.verify_at(&token, now + 60 + LEEWAY_SECONDS),
            Err(TokenError::Expired)
        );
        assert_eq!(v.verified.len(), 0);
        // The remembered token's header and claims under another signature: checked in full.
        assert!(v.verify_at(&token, now).is_ok());
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let mut bytes = B64.decode(signature).unwrap();
        bytes[0] ^= 1;
        let forged = format!("{signed}.{}", B64.encode(bytes));
        assert_eq!(v.verify_at(&forged, now), Err(TokenError::BadSignature));
    }

    #[test]
    fn remembered_tokens_are_bounded() {
        let identity = claims(Duration::from_secs(60)).identity().unwrap();
        let tokens = VerifiedTokens::new(3);
        let now = 1_000;
        tokens.insert("expired", now - LEEWAY_SECONDS - 1, &identity, now - 100);
        tokens.insert("a", now + 60, &identity, now);
        tokens.insert("b", now + 60, &identity, now);
        // Full: the expired entry makes room.
        tokens.insert("c", now + 60, &identity, now);
        assert_eq!(tokens.len(), 3);
        assert!(tokens.get("a", now).is_some());
        assert!(tokens.get("expired", now).is_none());
        // Full of live entries: they all go, the newest stays.
        tokens.insert("d", now + 60, &identity, now);
        assert_eq!(tokens.len(), 1);
        assert!(tokens.get("d", now).is_some());
        assert!(tokens.get("a", now).is_none());
    }

    #[test]
    fn a_jwks_round_trips() {
        let s = signer();
        let v = Verifier::from_jwks(&s.jwks(), "kia", "kia").unwrap();
        let token = s.sign(&claims(Duration::from_secs(60)));
        assert!(v.verify(&token).is_ok());
    }

    #[test]
    fn ttls_parse() {
        assert_eq!(parse_ttl("8h"), Ok(Duration::from_secs(8 * 3600)));
        assert_eq!(parse_ttl("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_ttl("8 hours").is_err());
    }
}
