//! Access tokens (RFC 8725 practice): EdDSA (Ed25519) only, a `kid` in every header, the header `typ`
//! `at+jwt` (RFC 9068 explicit typing), and `iss`, `aud`, `exp`, `iat`, `sub`, `role`, `typ` checked on every
//! verification. A token may not live longer than its kind allows (`exp − iat`): a user's access token at
//! most the configured access-token lifetime, a service token at most [`MAX_SERVICE_TOKEN_LIFETIME_SECS`] —
//! so a leaked signing key cannot mint tokens that outlive its rotation.
//!
//! Key ids are RFC 7638 JWK thumbprints, computed from the public key itself, so a signer and its verifiers
//! agree on the id without configuring one. Verification needs only public keys; several can be configured
//! at once for rotation.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::DecodePublicKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::identity::{Identity, Role};

mod eddsa;

/// The `typ` claim of an access token (refresh tokens are opaque and never JWTs).
pub const ACCESS_TOKEN_TYPE: &str = "access";
/// The JOSE header `typ` of an access token (RFC 9068).
pub const ACCESS_TOKEN_HEADER_TYPE: &str = "at+jwt";
/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: u64 = 30;
/// Default longest lifetime (`exp − iat`) of a user's access token: `access_token_ttl_secs`' default.
pub const MAX_ACCESS_TOKEN_LIFETIME_SECS: u64 = 900;
/// Default longest lifetime of a `service` token (the bridge signs 5-minute ones).
pub const MAX_SERVICE_TOKEN_LIFETIME_SECS: u64 = 600;

/// Claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Subject: the user id.
    pub sub: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Not before, seconds since the epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Unique token id.
    pub jti: String,
    /// The user's role.
    pub role: Role,
    /// Always [`ACCESS_TOKEN_TYPE`].
    pub typ: String,
}

/// Why a token or key was refused. The messages are safe to show a client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not a well-formed JWT, or a disallowed algorithm (`none`, HS256, ...).
    #[error("the access token is malformed or uses a disallowed algorithm")]
    Malformed,
    /// No configured key has the token's `kid`.
    #[error("the access token was signed by an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the access token signature is invalid")]
    BadSignature,
    /// `exp` is in the past.
    #[error("the access token has expired")]
    Expired,
    /// `nbf` or `iat` is in the future.
    #[error("the access token is not valid yet")]
    NotYetValid,
    /// Wrong `iss`.
    #[error("the access token has the wrong issuer")]
    WrongIssuer,
    /// Wrong `aud`.
    #[error("the access token has the wrong audience")]
    WrongAudience,
    /// Missing or wrong claims (`typ`, `sub`, `role`, ...).
    #[error("the access token has invalid claims")]
    InvalidClaims,
    /// The JOSE header's `typ` is not `at+jwt`: some other kind of JWT.
    #[error("the token is not an access token")]
    WrongType,
    /// `exp − iat` is longer than tokens of its kind may live.
    #[error("the access token lives longer than allowed")]
    TooLongLived,
    /// A configured key cannot be used (a settings error, not a client error).
    #[error("invalid key: {0}")]
    InvalidKey(String),
}

/// An Ed25519 public key with its key id.
#[derive(Debug, Clone)]
pub struct PublicKey {
    kid: String,
    raw: [u8; 32],
}

impl PublicKey {
    /// Parses one SPKI PEM block (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, JwtError> {
        let key = ed25519_dalek::VerifyingKey::from_public_key_pem(pem.trim())
            .map_err(|error| JwtError::InvalidKey(error.to_string()))?;
        let raw = key.to_bytes();
        Ok(Self { kid: thumbprint(&raw), raw })
    }

    /// Parses every public-key PEM block in `pems` (one or more, concatenated).
    pub fn all_from_pems(pems: &str) -> Result<Vec<Self>, JwtError> {
        const END: &str = "-----END PUBLIC KEY-----";
        let mut keys = Vec::new();
        let mut rest = pems;
        while let Some(end) = rest.find(END) {
            let block = &rest[..end + END.len()];
            keys.push(Self::from_pem(block)?);
            rest = &rest[end + END.len()..];
        }
        if !rest.trim().is_empty() {
            return Err(JwtError::InvalidKey("text after the last PEM block".to_owned()));
        }
        Ok(keys)
    }

    /// The RFC 7638 thumbprint used as `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The key as a JWK (for a JWKS document).
    pub fn to_jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.raw),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        })
    }
}

/// The verification keys of a component: `jwt_public_key` plus any `jwt_additional_public_keys` (rotation).
pub fn public_keys_from_config(config: &crate::Config) -> Result<Vec<PublicKey>, crate::config::ConfigError> {
    let invalid = |name: &str, error: JwtError| crate::config::ConfigError::Invalid {
        name: name.to_owned(),
        reason: error.to_string(),
    };
    let mut keys = PublicKey::all_from_pems(&config.require("jwt_public_key")?)
        .map_err(|error| invalid("jwt_public_key", error))?;
    if let Some(extra) = config.get("jwt_additional_public_keys")? {
        keys.extend(PublicKey::all_from_pems(&extra).map_err(|error| invalid("jwt_additional_public_keys", error))?);
    }
    Ok(keys)
}

/// RFC 7638 thumbprint of an Ed25519 key: base64url(SHA-256 of the canonical JWK members).
fn thumbprint(raw: &[u8; 32]) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, URL_SAFE_NO_PAD.encode(raw));
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// Verifies access tokens against a set of public keys.
#[derive(Clone)]
pub struct Verifier {
    /// `(kid, key, whether it is a service key)`.
    keys: Vec<(String, DecodingKey, bool)>,
    validation: Validation,
    /// Longest `exp − iat` of a user's token, seconds.
    max_lifetime_secs: u64,
    /// Longest `exp − iat` of a service token, seconds.
    max_service_lifetime_secs: u64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kids: Vec<&str> = self.keys.iter().map(|(kid, _, _)| kid.as_str()).collect();
        f.debug_struct("Verifier").field("kids", &kids).finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier trusting `keys` for tokens of `issuer` meant for `audience`.
    pub fn new(keys: &[PublicKey], issuer: &str, audience: &str) -> Result<Self, JwtError> {
        if keys.is_empty() {
            return Err(JwtError::InvalidKey("no public key configured".to_owned()));
        }
        // Every verification goes through a verifier, so building one is the moment to install.
        eddsa::install();
        let keys = decoding_keys(keys, false)?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        Ok(Self {
            keys,
            validation,
            max_lifetime_secs: MAX_ACCESS_TOKEN_LIFETIME_SECS,
            max_service_lifetime_secs: MAX_SERVICE_TOKEN_LIFETIME_SECS,
        })
    }

    /// Refuses user tokens living (`exp − iat`) longer than `user_secs` — the issuer's access-token
    /// lifetime — and service tokens longer than `service_secs`.
    pub fn with_max_lifetimes(mut self, user_secs: u64, service_secs: u64) -> Self {
        self.max_lifetime_secs = user_secs;
        self.max_service_lifetime_secs = service_secs;
        self
    }

    /// Also trusts `keys` for user tokens (a key rotation's new or old keys beside the current ones).
    pub fn with_keys(mut self, keys: &[PublicKey]) -> Result<Self, JwtError> {
        self.keys.extend(decoding_keys(keys, false)?);
        Ok(self)
    }

    /// Refuses service tokens living (`exp − iat`) longer than `secs`.
    pub fn with_max_service_lifetime(mut self, secs: u64) -> Self {
        self.max_service_lifetime_secs = secs;
        self
    }

    /// Also trusts `keys` — and only them — for tokens of role `service` (a native service such as the
    /// bridge signs its own short-lived tokens; its key can never vouch for a user or an admin).
    pub fn with_service_keys(mut self, keys: &[PublicKey]) -> Result<Self, JwtError> {
        self.keys.extend(decoding_keys(keys, true)?);
        Ok(self)
    }

    /// Verifies `token` and returns the identity it carries.
    pub fn verify(&self, token: &str) -> Result<Identity, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Malformed)?;
        if header.alg != Algorithm::EdDSA {
            return Err(JwtError::Malformed);
        }
        if !header.typ.as_deref().is_some_and(is_access_token_header_type) {
            return Err(JwtError::WrongType);
        }
        let kid = header.kid.ok_or(JwtError::UnknownKey)?;
        let (_, key, service_key) = self.keys.iter().find(|(known, _, _)| *known == kid).ok_or(JwtError::UnknownKey)?;
        let data = jsonwebtoken::decode::<AccessClaims>(token, key, &self.validation).map_err(|error| {
            use jsonwebtoken::errors::ErrorKind;
            match error.kind() {
                ErrorKind::ExpiredSignature => JwtError::Expired,
                ErrorKind::ImmatureSignature => JwtError::NotYetValid,
                ErrorKind::InvalidIssuer => JwtError::WrongIssuer,
                ErrorKind::InvalidAudience => JwtError::WrongAudience,
                ErrorKind::InvalidSignature => JwtError::BadSignature,
                ErrorKind::MissingRequiredClaim(_) | ErrorKind::Json(_) => JwtError::InvalidClaims,
                _ => JwtError::Malformed,
            }
        })?;
        let claims = data.claims;
        if claims.iat > now_secs().saturating_add(LEEWAY_SECS) {
            return Err(JwtError::NotYetValid);
        }
        if claims.typ != ACCESS_TOKEN_TYPE || (claims.role == Role::Service) != *service_key {
            return Err(JwtError::InvalidClaims);
        }
        // Both instants come from the issuer's clock, so no leeway: a longer-lived token was minted by
        // something other than our issuers' settings (a leaked key, a misconfiguration).
        let max_lifetime = if *service_key { self.max_service_lifetime_secs } else { self.max_lifetime_secs };
        if claims.exp.saturating_sub(claims.iat) > max_lifetime {
            return Err(JwtError::TooLongLived);
        }
        let user_id = uuid::Uuid::parse_str(&claims.sub).map_err(|_| JwtError::InvalidClaims)?;
        Ok(Identity { user_id: user_id.hyphenated().to_string(), role: claims.role })
    }
}

/// `at+jwt`, or its full media type `application/at+jwt` (RFC 7515 §4.1.9), in any case.
fn is_access_token_header_type(typ: &str) -> bool {
    let typ = typ.trim();
    let typ = if typ.len() > 12 && typ[..12].eq_ignore_ascii_case("application/") { &typ[12..] } else { typ };
    typ.eq_ignore_ascii_case(ACCESS_TOKEN_HEADER_TYPE)
}

fn decoding_keys(keys: &[PublicKey], service: bool) -> Result<Vec<(String, DecodingKey, bool)>, JwtError> {
    keys.iter()
        .map(|key| {
            let x = URL_SAFE_NO_PAD.encode(key.raw);
            DecodingKey::from_ed_components(&x)
                .map(|decoding| (key.kid.clone(), decoding, service))
                .map_err(|error| JwtError::InvalidKey(error.to_string()))
        })
        .collect()
}

/// Signs access tokens with one Ed25519 private key (used by `auth`, and by tests).
#[derive(Clone)]
pub struct Signer {
    kid: String,
    key: EncodingKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer from a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> Result<Self, JwtError> {
        use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
        let signing = ed25519_dalek::SigningKey::from_pkcs8_pem(pem.trim())
            .map_err(|error| JwtError::InvalidKey(error.to_string()))?;
        let kid = thumbprint(&signing.verifying_key().to_bytes());
        let der = signing.to_pkcs8_der().map_err(|error| JwtError::InvalidKey(error.to_string()))?;
        // Every signature goes through a signer, so building one is the moment to install.
        eddsa::install();
        Ok(Self { kid, key: EncodingKey::from_ed_der(der.as_bytes()) })
    }

    /// The key id put in every token header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Signs `claims` with `typ: at+jwt` and this key's `kid`.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, JwtError> {
        self.sign_with_header_type(claims, Some(ACCESS_TOKEN_HEADER_TYPE))
    }

    /// Signs `claims` with another JOSE header `typ`, or none: a token every verifier must refuse as not an
    /// access token. For tests of verifiers; [`Signer::sign`] is the only way tokens are issued.
    pub fn sign_with_header_type(&self, claims: &AccessClaims, typ: Option<&str>) -> Result<String, JwtError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|error| JwtError::InvalidKey(error.to_string()))
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|elapsed| elapsed.as_secs()).unwrap_or(0)
}

/// Extracts the token of an `Authorization: Bearer <token>` header value (scheme case-insensitive).
pub fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' ')).then_some(token)
}

/// A fresh Ed25519 key pair as `(private PKCS#8 PEM, public SPKI PEM)`, for development and tests.
pub fn generate_key_pair() -> Result<(String, String), JwtError> {
    use ed25519_dalek::pkcs8::{EncodePrivateKey, EncodePublicKey};
    let signing = ed25519_dalek::SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    let private = signing.to_pkcs8_pem(Default::default()).map_err(|error| JwtError::InvalidKey(error.to_string()))?;
    let public = signing
        .verifying_key()
        .to_public_key_pem(Default::default())
        .map_err(|error| JwtError::InvalidKey(error.to_string()))?;
    Ok((private.to_string(), public))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "pycommerce";
    const AUDIENCE: &str = "pycommerce-api";

    fn claims() -> AccessClaims {
        let now = now_secs();
        AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: uuid::Uuid::new_v4().to_string(),
            exp: now + 900,
            iat: now,
            nbf: None,
            jti: uuid::Uuid::new_v4().to_string(),
            role: Role::Customer,
            typ: ACCESS_TOKEN_TYPE.into(),
        }
    }

    fn setup() -> (Signer, Verifier) {
        let (private, public) = generate_key_pair().unwrap();
        let signer = Signer::from_pem(&private).unwrap();
        let key = PublicKey::from_pem(&public).unwrap();
        assert_eq!(key.kid(), signer.kid());
        (signer, Verifier::new(&[key], ISSUER, AUDIENCE).unwrap())
    }

    #[test]
    fn a_valid_token_yields_its_identity() {
        let (signer, verifier) = setup();
        let claims = claims();
        let identity = verifier.verify(&signer.sign(&claims).unwrap()).unwrap();
        assert_eq!(identity.user_id, claims.sub);
        assert_eq!(identity.role, Role::Customer);
    }

    #[test]
    fn bad_tokens_are_refused_with_the_right_reason() {
        let (signer, verifier) = setup();
        let sign = |change: fn(&mut AccessClaims)| {
            let mut claims = claims();
            change(&mut claims);
            signer.sign(&claims).unwrap()
        };
        assert_eq!(verifier.verify(&sign(|c| c.exp = now_secs() - 120)), Err(JwtError::Expired));
        assert_eq!(verifier.verify(&sign(|c| c.nbf = Some(now_secs() + 600))), Err(JwtError::NotYetValid));
        assert_eq!(verifier.verify(&sign(|c| c.iat = now_secs() + 600)), Err(JwtError::NotYetValid));
        assert_eq!(verifier.verify(&sign(|c| c.iss = "evil".into())), Err(JwtError::WrongIssuer));
        assert_eq!(verifier.verify(&sign(|c| c.aud = "other".into())), Err(JwtError::WrongAudience));
        assert_eq!(verifier.verify(&sign(|c| c.typ = "refresh".into())), Err(JwtError::InvalidClaims));
        assert_eq!(verifier.verify(&sign(|c| c.sub = "x".into())), Err(JwtError::InvalidClaims));
        assert_eq!(verifier.verify("not.a.jwt"), Err(JwtError::Malformed));
        assert_eq!(verifier.verify(""), Err(JwtError::Malformed));
    }

    #[test]
    fn tokens_from_another_key_or_tampered_are_refused() {
        let (_, verifier) = setup();
        let (other, _) = setup();
        assert_eq!(verifier.verify(&other.sign(&claims()).unwrap()), Err(JwtError::UnknownKey));

        let (signer, verifier) = setup();
        let token = signer.sign(&claims()).unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        payload["role"] = "admin".into();
        parts[1] = URL_SAFE_NO_PAD.encode(payload.to_string());
        assert_eq!(verifier.verify(&parts.join(".")), Err(JwtError::BadSignature));
    }

    #[test]
    fn alg_none_and_hmac_tokens_are_refused() {
        let (signer, verifier) = setup();
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims()).unwrap());
        for alg in ["none", "HS256"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, signer.kid()));
            assert_eq!(verifier.verify(&format!("{header}.{body}.")), Err(JwtError::Malformed), "{alg}");
        }
    }

    /// A user key, a service key, and a verifier trusting each for its own roles.
    fn user_and_service_keys() -> (Signer, Signer, Verifier) {
        let (user_private, user_public) = generate_key_pair().unwrap();
        let (service_private, service_public) = generate_key_pair().unwrap();
        let user_signer = Signer::from_pem(&user_private).unwrap();
        let service_signer = Signer::from_pem(&service_private).unwrap();
        let verifier = Verifier::new(&[PublicKey::from_pem(&user_public).unwrap()], ISSUER, AUDIENCE)
            .unwrap()
            .with_service_keys(&[PublicKey::from_pem(&service_public).unwrap()])
            .unwrap();
        (user_signer, service_signer, verifier)
    }

    #[test]
    fn service_keys_sign_only_service_tokens_and_user_keys_never_do() {
        let (user_signer, service_signer, verifier) = user_and_service_keys();
        let with_role = |role| AccessClaims { role, exp: now_secs() + 300, ..claims() };

        let service = verifier.verify(&service_signer.sign(&with_role(Role::Service)).unwrap()).unwrap();
        assert_eq!(service.role, Role::Service);
        assert_eq!(verifier.verify(&user_signer.sign(&with_role(Role::Admin)).unwrap()).unwrap().role, Role::Admin);
        for role in [Role::Admin, Role::Customer] {
            let token = service_signer.sign(&with_role(role)).unwrap();
            assert_eq!(verifier.verify(&token), Err(JwtError::InvalidClaims), "a service key signing {role:?}");
        }
        let forged = user_signer.sign(&with_role(Role::Service)).unwrap();
        assert_eq!(verifier.verify(&forged), Err(JwtError::InvalidClaims), "a user key signing a service token");
    }

    #[test]
    fn a_token_without_the_access_token_header_type_is_refused() {
        let (signer, verifier) = setup();
        for typ in [None, Some("JWT"), Some("jwt"), Some("dpop+jwt"), Some("at+jwt2")] {
            let token = signer.sign_with_header_type(&claims(), typ).unwrap();
            assert_eq!(verifier.verify(&token), Err(JwtError::WrongType), "{typ:?}");
        }
        for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
            let token = signer.sign_with_header_type(&claims(), Some(typ)).unwrap();
            assert!(verifier.verify(&token).is_ok(), "{typ}");
        }
    }

    #[test]
    fn tokens_may_not_outlive_their_kinds_maximum_lifetime() {
        let (user_signer, service_signer, verifier) = user_and_service_keys();
        let now = now_secs();
        let lasting = |role, secs| AccessClaims { role, iat: now, exp: now + secs, ..claims() };

        assert!(verifier.verify(&user_signer.sign(&lasting(Role::Customer, 900)).unwrap()).is_ok());
        let day = user_signer.sign(&lasting(Role::Admin, 86_400)).unwrap();
        assert_eq!(verifier.verify(&day), Err(JwtError::TooLongLived));
        assert_eq!(
            verifier.verify(&user_signer.sign(&lasting(Role::Customer, 901)).unwrap()),
            Err(JwtError::TooLongLived)
        );
        assert!(verifier.verify(&service_signer.sign(&lasting(Role::Service, 600)).unwrap()).is_ok());
        // A leaked service key cannot mint a token that lives for a year.
        let year = service_signer.sign(&lasting(Role::Service, 365 * 86_400)).unwrap();
        assert_eq!(verifier.verify(&year), Err(JwtError::TooLongLived));
        assert_eq!(
            verifier.verify(&service_signer.sign(&lasting(Role::Service, 601)).unwrap()),
            Err(JwtError::TooLongLived)
        );
        // An issued-at far in the past does not help: the lifetime is still exp − iat.
        let backdated = AccessClaims { iat: now - 3000, exp: now + 600, ..claims() };
        assert_eq!(verifier.verify(&user_signer.sign(&backdated).unwrap()), Err(JwtError::TooLongLived));

        let strict = verifier.with_max_lifetimes(300, 60);
        assert_eq!(
            strict.verify(&user_signer.sign(&lasting(Role::Customer, 900)).unwrap()),
            Err(JwtError::TooLongLived)
        );
        assert_eq!(
            strict.verify(&service_signer.sign(&lasting(Role::Service, 300)).unwrap()),
            Err(JwtError::TooLongLived)
        );
        assert!(strict.verify(&service_signer.sign(&lasting(Role::Service, 60)).unwrap()).is_ok());
    }

    #[test]
    fn several_pem_blocks_give_several_keys() {
        let (_, first) = generate_key_pair().unwrap();
        let (_, second) = generate_key_pair().unwrap();
        let keys = PublicKey::all_from_pems(&format!("{first}\n{second}")).unwrap();
        assert_eq!(keys.len(), 2);
        assert_ne!(keys[0].kid(), keys[1].kid());
        assert!(PublicKey::all_from_pems("garbage").is_err());
    }

    #[test]
    fn bearer_tokens_are_extracted_strictly() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer a b"), None);
    }
}
