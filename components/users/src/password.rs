//! Password hashing: Argon2id at OWASP's minimum (m = 19 MiB, t = 2, p = 1), PHC strings in the database.
//!
//! Verifying an unknown or unusable account still runs one full Argon2id verification against
//! [`DUMMY_HASH`], so a wrong email and a wrong password cost the same time. Every verification is counted
//! ([`verifications`]), so tests can show how many guesses the rate limits let through to Argon2id.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::atomic::{AtomicU64, Ordering};

use argon2::{Algorithm, Argon2, Params, Version};

/// Memory cost in KiB (19 MiB).
const MEMORY_KIB: u32 = 19 * 1024;
/// Iterations.
const ITERATIONS: u32 = 2;
/// Parallelism.
const LANES: u32 = 1;

/// A hash of a random password with the same parameters, verified against when there is no real hash.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXJhbmRvbXNhbHQ$4Tf6Y4kF/6u1ikEmnT8BcgEGrHwKTwM2vazkSwEwXeE";

/// Argon2id verifications run by this process, real or dummy.
static VERIFICATIONS: AtomicU64 = AtomicU64::new(0);

/// How many Argon2id verifications this process has run since it started (each [`verify`] call is one).
/// For tests and diagnostics: it is what the login and password-change limits bound.
pub fn verifications() -> u64 {
    VERIFICATIONS.load(Ordering::Relaxed)
}

/// Hashing failed (only with invalid parameters; never expected).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

fn argon2() -> Argon2<'static> {
    // The parameters are constants within Argon2's limits.
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a fresh random salt.
pub fn hash(password: &str) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| HashError(e.to_string()))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches `stored` (constant-time comparison inside `argon2`). `None` — no account or
/// no usable hash — verifies against the dummy hash and answers `false`, taking the same time.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    VERIFICATIONS.fetch_add(1, Ordering::Relaxed);
    let parsed = stored.and_then(|stored| PasswordHash::new(stored).ok());
    match parsed {
        Some(hash) => argon2().verify_password(password.as_bytes(), &hash).is_ok(),
        None => {
            if let Ok(dummy) = PasswordHash::new(DUMMY_HASH) {
                let _ = argon2().verify_password(password.as_bytes(), &dummy);
            }
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_use_owasp_parameters() {
        let stored = hash("correct horse battery").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
        assert!(verify("correct horse battery", Some(&stored)));
        assert!(!verify("wrong horse battery", Some(&stored)));
        assert_ne!(stored, hash("correct horse battery").unwrap(), "salts must differ");
    }

    #[test]
    fn missing_or_broken_hashes_never_verify() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok(), "the dummy hash must parse, or timing would differ");
        assert!(!verify("anything", None));
        assert!(!verify("anything", Some("not a phc string")));
    }
}
