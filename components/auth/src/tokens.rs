//! Issuing tokens: short-lived EdDSA access tokens and opaque, random refresh tokens (only their SHA-256
//! hash is stored).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kit::identity::Role;
use kit::jwt::{now_secs, AccessClaims, JwtError, Signer, ACCESS_TOKEN_TYPE};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// Length of an encoded refresh token (32 random bytes, base64url without padding).
const REFRESH_TOKEN_LENGTH: usize = 43;

/// An access token (EdDSA JWT, 15 minutes by default) and a refresh token (opaque, rotated on use): what
/// login and refresh return.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenPair {
    /// Bearer token for `Authorization`.
    pub access_token: String,
    /// Always `Bearer`.
    #[cfg_attr(feature = "openapi", schema(example = "Bearer"))]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[cfg_attr(feature = "openapi", schema(example = 900))]
    pub expires_in: u64,
    /// Spent by the next refresh (single use).
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    #[cfg_attr(feature = "openapi", schema(example = 604800))]
    pub refresh_expires_in: i64,
}

/// Signs access tokens for one issuer and audience.
#[derive(Debug, Clone)]
pub struct Issuer {
    /// The signing key.
    pub signer: Signer,
    /// `iss`.
    pub issuer: String,
    /// `aud`.
    pub audience: String,
    /// Access token lifetime, seconds.
    pub access_ttl_secs: u64,
    /// Refresh token lifetime, seconds.
    pub refresh_ttl_secs: i64,
}

impl Issuer {
    /// An access token for `user_id` with `role`.
    pub fn access_token(&self, user_id: &str, role: Role) -> Result<String, JwtError> {
        let now = now_secs();
        self.signer.sign(&AccessClaims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_owned(),
            exp: now + self.access_ttl_secs,
            iat: now,
            nbf: None,
            jti: uuid::Uuid::new_v4().to_string(),
            role,
            typ: ACCESS_TOKEN_TYPE.to_owned(),
        })
    }

    /// The response for a fresh access token and the given refresh token.
    pub fn pair(&self, access_token: String, refresh_token: String) -> TokenPair {
        TokenPair {
            access_token,
            token_type: "Bearer",
            expires_in: self.access_ttl_secs,
            refresh_token,
            refresh_expires_in: self.refresh_ttl_secs,
        }
    }
}

/// A new refresh token and the hash to store.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    let token = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let hash = Sha256::digest(token.as_bytes()).to_vec();
    (token, hash)
}

/// The stored hash of a presented refresh token, `None` when it is not even shaped like one.
pub fn refresh_token_hash(token: &str) -> Option<Vec<u8>> {
    let well_formed =
        token.len() == REFRESH_TOKEN_LENGTH && URL_SAFE_NO_PAD.decode(token).is_ok_and(|bytes| bytes.len() == 32);
    well_formed.then(|| Sha256::digest(token.as_bytes()).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_are_random_and_hash_consistently() {
        let (token, hash) = new_refresh_token();
        assert_eq!(token.len(), REFRESH_TOKEN_LENGTH);
        assert_eq!(refresh_token_hash(&token), Some(hash));
        assert_ne!(new_refresh_token().0, token);
        assert_eq!(refresh_token_hash("short"), None);
        assert_eq!(refresh_token_hash(&"!".repeat(REFRESH_TOKEN_LENGTH)), None);
    }
}
