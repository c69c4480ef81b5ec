//! Opaque page tokens for keyset pagination (AIP-158): the last key seen plus a digest of the
//! filters, so a token is refused when used with other filters.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ApiError;

/// Default and largest page sizes.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 500;

/// The page size a request asks for: 0 means the default; above the maximum is clamped.
pub fn page_size(requested: i32) -> Result<u32, ApiError> {
    match requested {
        n if n < 0 => Err(ApiError::invalid("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok(u32::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE)),
    }
}

/// A stable digest of a request's filters (FNV-1a: tokens only need to tell filters apart).
pub fn filter_digest(parts: &[&str]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0x1f)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{hash:016x}")
}

pub fn encode(last_key: &str, filters: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1|{filters}|{last_key}"))
}

/// The last key of the previous page, or `None` for the first page.
pub fn decode(token: &str, filters: &str) -> Result<Option<String>, ApiError> {
    if token.is_empty() {
        return Ok(None);
    }
    let bad = || ApiError::invalid("page_token", "is not a token this server issued");
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    let mut parts = raw.splitn(3, '|');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some(f), Some(key)) if f == filters => Ok(Some(key.to_owned())),
        (Some("v1"), Some(_), Some(_)) => Err(ApiError::invalid(
            "page_token",
            "was issued for other filters; repeat the filters of the first request",
        )),
        _ => Err(bad()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_only_with_the_same_filters() {
        let f = filter_digest(&["630", "open"]);
        let token = encode("abc", &f);
        assert_eq!(decode(&token, &f).unwrap().as_deref(), Some("abc"));
        assert!(decode(&token, &filter_digest(&["630", ""])).is_err());
        assert!(decode("not-a-token!", &f).is_err());
        assert_eq!(decode("", &f).unwrap(), None);
    }

    #[test]
    fn page_sizes_default_clamp_and_refuse_negatives() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(10_000).unwrap(), MAX_PAGE_SIZE);
        assert_eq!(page_size(7).unwrap(), 7);
        assert!(page_size(-1).is_err());
    }
}
