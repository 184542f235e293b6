//! jsonwebtoken's cryptography, for the one algorithm tokens use here: EdDSA (Ed25519, ed25519-dalek).
//!
//! jsonwebtoken's own RustCrypto provider brings RSA, ECDSA and HMAC with it, code and tables that every
//! component verifying or signing a token carried and never ran (on Spin, in each instance's module). This
//! provider knows EdDSA alone: any other algorithm or key is refused, which [`super::Verifier`] does anyway
//! before a signature is looked at.

use ed25519_dalek::pkcs8::DecodePrivateKey;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use jsonwebtoken::crypto::{CryptoProvider, JwkUtils, JwtSigner, JwtVerifier};
use jsonwebtoken::errors::{Error, ErrorKind};
use jsonwebtoken::{signature, Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};

static PROVIDER: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    // JWKs are never parsed: keys come as PEM.
    jwk_utils: JwkUtils::new_unimplemented(),
};

/// Makes this provider jsonwebtoken's, before its first signature or verification: called where a
/// `Verifier` or `Signer` is built, which every use needs first. Later calls change nothing (only this
/// provider is ever installed).
pub(super) fn install() {
    let _already_installed = PROVIDER.install_default();
}

fn new_signer(algorithm: &Algorithm, key: &EncodingKey) -> Result<Box<dyn JwtSigner>, Error> {
    if *algorithm != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    // The key's content is its PKCS#8 DER, as `EncodingKey::from_ed_der` takes it.
    let key = SigningKey::from_pkcs8_der(key.inner()).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdDsaSigner(key)))
}

fn new_verifier(algorithm: &Algorithm, key: &DecodingKey) -> Result<Box<dyn JwtVerifier>, Error> {
    if *algorithm != Algorithm::EdDSA || key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    // An Ed key's bytes are the raw 32-byte public key (`DecodingKey::from_ed_components`).
    let raw: &[u8; 32] = key.as_bytes().try_into().map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let key = VerifyingKey::from_bytes(raw).map_err(|_| ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdDsaVerifier(key)))
}

struct EdDsaSigner(SigningKey);

impl signature::Signer<Vec<u8>> for EdDsaSigner {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(ed25519_dalek::Signer::sign(&self.0, message).to_bytes().to_vec())
    }
}

impl JwtSigner for EdDsaSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

struct EdDsaVerifier(VerifyingKey);

impl signature::Verifier<Vec<u8>> for EdDsaVerifier {
    /// ed25519-dalek's verification, as jsonwebtoken's own provider did it (a non-canonical `S` is refused),
    /// so the tokens accepted are exactly those accepted before this provider.
    fn verify(&self, message: &[u8], signature: &Vec<u8>) -> Result<(), signature::Error> {
        ed25519_dalek::Verifier::verify(&self.0, message, &Signature::from_slice(signature)?)
    }
}

impl JwtVerifier for EdDsaVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};

    use super::*;

    #[test]
    fn other_algorithms_neither_sign_nor_verify() {
        install();
        let claims = serde_json::json!({ "sub": "x" });
        for algorithm in [Algorithm::HS256, Algorithm::RS256, Algorithm::ES256] {
            let signed = jsonwebtoken::encode(&Header::new(algorithm), &claims, &EncodingKey::from_secret(b"secret"));
            assert!(signed.is_err(), "{algorithm:?} signed");
        }
        // A correctly signed HS256 token (HMAC-SHA256 under "secret"), checked as HS256 with that secret: the
        // provider refuses rather than verifies it.
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.s-j4haezxh6wrOeRmpuRS-Rw8jJk0bExcSPOJv4OfXE";
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let decoded =
            jsonwebtoken::decode::<serde_json::Value>(token, &DecodingKey::from_secret(b"secret"), &validation);
        assert!(decoded.is_err());
    }

    #[test]
    fn an_ed_key_of_the_wrong_length_is_refused() {
        install();
        let key = DecodingKey::from_ed_components("AAEC").unwrap();
        assert!(
            matches!(new_verifier(&Algorithm::EdDSA, &key), Err(error) if *error.kind() == ErrorKind::InvalidEddsaKey)
        );
        let key = EncodingKey::from_ed_der(b"not pkcs8");
        assert!(
            matches!(new_signer(&Algorithm::EdDSA, &key), Err(error) if *error.kind() == ErrorKind::InvalidEddsaKey)
        );
    }
}
