//! The citizen's CPR number (personnummer): validated at intake, then kept only as a keyed hash
//! (HMAC-SHA256, to find the citizen's other cases) and sealed with ChaCha20-Poly1305 (for the
//! jobcenter of the case). It never reaches a log line, a span, a metric or an error message:
//! [`Cpr`] prints as `Cpr(..)`, and the errors it makes name the field, not the value.
//!
//! The keys live in `keys/citizen-keys.json` in the data directory (created on first start) or a
//! file named by `--citizen-keys`. Replicas on one database must share that file: another key
//! finds no earlier case and opens no sealed number.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::Mac;
use kia_store::CitizenIdentity;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

/// A validated CPR number: ten digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Cpr(String);

impl std::fmt::Debug for Cpr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cpr(..)")
    }
}

impl Cpr {
    /// Accepts `DDMMYYSSSS` or `DDMMYY-SSSS` with a day and month that can exist. The error
    /// names `field` and never echoes the input.
    pub fn parse(field: &str, raw: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::invalid(field, "must be a CPR number: 10 digits, DDMMYY-SSSS");
        let raw = raw.trim();
        let digits: String = match raw.len() {
            10 => raw.to_owned(),
            11 if raw.as_bytes()[6] == b'-' => format!("{}{}", &raw[..6], &raw[7..]),
            _ => return Err(invalid()),
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let number = |range: std::ops::Range<usize>| digits[range].parse::<u32>().unwrap_or(0);
        if !(1..=31).contains(&number(0..2)) || !(1..=12).contains(&number(2..4)) {
            return Err(invalid());
        }
        Ok(Self(digits))
    }

    /// The ten digits, for the one caller allowed to see them.
    pub fn reveal(&self) -> String {
        format!("{}-{}", &self.0[..6], &self.0[6..])
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// 32 bytes, base64: the HMAC-SHA256 key of the lookup hash.
    hmac: String,
    /// 32 bytes, base64: the ChaCha20-Poly1305 key of the sealed copy.
    aead: String,
}

/// The keys that hash and seal CPR numbers.
#[derive(Clone)]
pub struct CitizenKeys {
    hmac: [u8; 32],
    aead: [u8; 32],
}

impl std::fmt::Debug for CitizenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CitizenKeys(..)")
    }
}

/// Where the data directory keeps the citizen keys.
pub fn keys_path(data_dir: &Path) -> PathBuf {
    data_dir.join("keys").join("citizen-keys.json")
}

fn random_key() -> anyhow::Result<[u8; 32]> {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(key)
}

impl CitizenKeys {
    /// Loads the key file, creating it with fresh keys when absent.
    pub fn ensure(path: &Path) -> anyhow::Result<Self> {
        if !path.exists() {
            let file = KeyFile {
                hmac: B64.encode(random_key()?),
                aead: B64.encode(random_key()?),
            };
            crate::keyfile::write_private(path, serde_json::to_string_pretty(&file)?.as_bytes())?;
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        let file: KeyFile = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{} is not a citizen key file: {e}", path.display()))?;
        let key = |b64: &str| -> anyhow::Result<[u8; 32]> {
            B64.decode(b64)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| anyhow::anyhow!("{}: a key is not 32 bytes", path.display()))
        };
        Ok(Self {
            hmac: key(&file.hmac)?,
            aead: key(&file.aead)?,
        })
    }

    /// The lookup hash: equal numbers hash equal, and without the key nothing can be learnt.
    pub fn hash(&self, cpr: &Cpr) -> String {
        let mut mac = hmac::Hmac::<sha2_v011::Sha256>::new_from_slice(&self.hmac)
            .expect("HMAC takes keys of any length");
        mac.update(cpr.0.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The number sealed for one case (the case id is bound in, so a sealed number cannot be
    /// moved to another case), with its hash.
    pub fn protect(&self, cpr: &Cpr, case_id: &str) -> Result<CitizenIdentity, ApiError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| ApiError::Internal(format!("randomness: {e}")))?;
        let cipher = ChaCha20Poly1305::new(&self.aead.into());
        let sealed = cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: cpr.0.as_bytes(),
                    aad: case_id.as_bytes(),
                },
            )
            .map_err(|_| ApiError::Internal("sealing a CPR number failed".into()))?;
        let mut stored = nonce.to_vec();
        stored.extend(sealed);
        Ok(CitizenIdentity {
            hash: self.hash(cpr),
            sealed: B64.encode(stored),
        })
    }

    /// Opens a number sealed for `case_id`.
    pub fn open(&self, sealed: &str, case_id: &str) -> Result<Cpr, ApiError> {
        let broken = || ApiError::Internal("a sealed CPR number does not open".into());
        let bytes = B64.decode(sealed).map_err(|_| broken())?;
        if bytes.len() < 12 {
            return Err(broken());
        }
        let (nonce, sealed) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| broken())?;
        let cipher = ChaCha20Poly1305::new(&self.aead.into());
        let clear = cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: case_id.as_bytes(),
                },
            )
            .map_err(|_| broken())?;
        let digits = String::from_utf8(clear).map_err(|_| broken())?;
        Ok(Cpr(digits))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn keys() -> CitizenKeys {
        CitizenKeys {
            hmac: [1; 32],
            aead: [2; 32],
        }
    }

    #[test]
    fn both_written_forms_are_one_number() {
        let a = Cpr::parse("cpr", "0707614285").unwrap();
        let b = Cpr::parse("cpr", "070761-4285").unwrap();
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), "Cpr(..)");
        assert_eq!(keys().hash(&a), keys().hash(&b));
    }

    #[test]
    fn malformed_numbers_are_refused_without_echo() {
        for raw in [
            "070761428",
            "0707614285x",
            "3213614285",
            "0713614285",
            "07076a4285",
            "",
        ] {
            let err = Cpr::parse("citizen_cpr", raw).unwrap_err();
            let text = format!("{err} {err:?}");
            assert!(text.contains("citizen_cpr"), "{text}");
            assert!(raw.is_empty() || !text.contains(raw), "{text}");
        }
    }

    #[test]
    fn a_sealed_number_opens_only_for_its_case() {
        let cpr = Cpr::parse("cpr", "070761-4285").unwrap();
        let protected = keys().protect(&cpr, "case-1").unwrap();
        assert!(!protected.sealed.contains("0707614285"));
        assert_eq!(keys().open(&protected.sealed, "case-1").unwrap(), cpr);
        assert!(keys().open(&protected.sealed, "case-2").is_err());
    }
}
