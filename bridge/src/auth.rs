//! The credential every RPC but health needs: `authorization: Bearer <service token>`, a shared secret the
//! app holds as its secret Spin variable `bridge_token`. Anyone who reaches the port could otherwise reserve
//! any stock or read any user, so a missing or wrong token is `UNAUTHENTICATED` before a service runs.
//!
//! [`AuthLayer`] sits inside tonic-web's layer, so it sees gRPC-Web calls already translated to gRPC and
//! its refusal goes back in the caller's framing; health stays open for probes and load balancers.

use std::fmt;
use std::task::{Context, Poll};

use futures::future::{BoxFuture, FutureExt};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Shortest token accepted (a generated one has 43 characters: 32 random bytes, base64url).
pub const MIN_TOKEN_LEN: usize = 32;

/// Calls to these path prefixes need no token.
const OPEN_PREFIXES: &[&str] = &["/grpc.health.v1.Health/"];

/// Why a configured token is refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Fewer than [`MIN_TOKEN_LEN`] characters.
    #[error("the service token has {0} characters; at least {MIN_TOKEN_LEN} are required")]
    TooShort(usize),
    /// A character that cannot travel in an HTTP header value.
    #[error("the service token may only hold visible ASCII characters (no spaces)")]
    BadCharacter,
}

/// The bridge's service token. Only its SHA-256 digest is kept, so neither `Debug` nor a dump shows it, and
/// comparing digests in constant time leaks neither content nor length.
#[derive(Clone)]
pub struct ServiceToken {
    digest: [u8; 32],
}

impl ServiceToken {
    /// Parses a token as configured; surrounding whitespace (a file's trailing newline) is ignored.
    pub fn new(token: &str) -> Result<Self, TokenError> {
        let token = token.trim();
        if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
            return Err(TokenError::BadCharacter);
        }
        if token.len() < MIN_TOKEN_LEN {
            return Err(TokenError::TooShort(token.len()));
        }
        Ok(Self { digest: Sha256::digest(token.as_bytes()).into() })
    }

    /// Whether `presented` is this token, in time independent of where they differ.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented).into();
        bool::from(self.digest.ct_eq(&digest))
    }

    /// Whether an `authorization` header value is `Bearer <this token>`.
    fn authorizes(&self, header: Option<&http::HeaderValue>) -> bool {
        let Some(value) = header.map(http::HeaderValue::as_bytes) else {
            return false;
        };
        match value.split_at_checked(7) {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case(b"bearer ") => self.matches(token),
            _ => false,
        }
    }
}

impl fmt::Debug for ServiceToken {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("ServiceToken(redacted)")
    }
}

/// A fresh random token: 32 bytes from the OS generator, base64url without padding (43 characters).
pub fn generate_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Refuses every call without the service token, except health.
#[derive(Clone, Debug)]
pub struct AuthLayer(pub ServiceToken);

impl<S> tower::Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService { inner, token: self.0.clone() }
    }
}

/// The service [`AuthLayer`] wraps around the router.
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    inner: S,
    token: ServiceToken,
}

impl<S, B, R> tower::Service<http::Request<B>> for AuthService<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    R: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let open = OPEN_PREFIXES.iter().any(|prefix| path.starts_with(prefix));
        if open || self.token.authorizes(request.headers().get(http::header::AUTHORIZATION)) {
            return self.inner.call(request).boxed();
        }
        // The same answer for a missing and a wrong token: a caller learns nothing about the secret.
        let refusal = tonic::Status::unauthenticated("a valid bridge service token is required").into_http::<R>();
        futures::future::ready(Ok(refusal)).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_or_unprintable_tokens_are_refused_and_a_file_newline_is_ignored() {
        assert!(matches!(ServiceToken::new("short"), Err(TokenError::TooShort(5))));
        assert!(matches!(ServiceToken::new(&"a".repeat(31)), Err(TokenError::TooShort(31))));
        assert!(matches!(ServiceToken::new(&format!("{} b", "a".repeat(40))), Err(TokenError::BadCharacter)));
        let token = ServiceToken::new(&format!("{}\n", "a".repeat(32))).unwrap();
        assert!(token.matches("a".repeat(32).as_bytes()));
        assert!(!token.matches("a".repeat(33).as_bytes()));
        assert_eq!(format!("{token:?}"), "ServiceToken(redacted)");
    }

    #[test]
    fn only_a_bearer_header_with_the_token_authorizes() {
        let secret = generate_token();
        assert_eq!(secret.len(), 43);
        let token = ServiceToken::new(&secret).unwrap();
        let header = |value: &str| http::HeaderValue::from_str(value).unwrap();
        assert!(token.authorizes(Some(&header(&format!("Bearer {secret}")))));
        assert!(token.authorizes(Some(&header(&format!("bearer {secret}")))));
        assert!(!token.authorizes(None));
        assert!(!token.authorizes(Some(&header(&secret))));
        assert!(!token.authorizes(Some(&header(&format!("Basic {secret}")))));
        assert!(!token.authorizes(Some(&header(&format!("Bearer {}", generate_token())))));
        assert!(!token.authorizes(Some(&header("Bearer"))));
    }
}
