//! Development signing keys: an Ed25519 pair written once to a local, git-ignored directory so a fresh
//! checkout runs without any committed key.

use std::io::Write;
use std::path::Path;

/// Private key file name (PKCS#8 PEM).
pub const PRIVATE_KEY_FILE: &str = "jwt_private.pem";
/// Public key file name (SPKI PEM).
pub const PUBLIC_KEY_FILE: &str = "jwt_public.pem";

/// Writes a fresh key pair into `dir` unless both files exist; returns whether it wrote one. The private key
/// is created with mode 0600.
pub fn write_dev_key_pair(dir: &Path) -> anyhow::Result<bool> {
    let private = dir.join(PRIVATE_KEY_FILE);
    let public = dir.join(PUBLIC_KEY_FILE);
    if private.exists() && public.exists() {
        return Ok(false);
    }
    std::fs::create_dir_all(dir)?;
    let (private_pem, public_pem) = kit::jwt::generate_key_pair()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&private)?.write_all(private_pem.as_bytes())?;
    std::fs::write(&public, public_pem)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_usable_pair_once() {
        let dir = std::env::temp_dir().join(format!("pc-keys-{}", std::process::id()));
        assert!(write_dev_key_pair(&dir).unwrap());
        let private = std::fs::read_to_string(dir.join(PRIVATE_KEY_FILE)).unwrap();
        let public = std::fs::read_to_string(dir.join(PUBLIC_KEY_FILE)).unwrap();
        let signer = kit::jwt::Signer::from_pem(&private).unwrap();
        assert_eq!(kit::jwt::PublicKey::from_pem(&public).unwrap().kid(), signer.kid());
        assert!(!write_dev_key_pair(&dir).unwrap(), "an existing pair must be kept");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
