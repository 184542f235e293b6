//! Development signing keys, written once to a local, git-ignored directory so a fresh checkout runs without
//! any committed key: the Ed25519 pair of user access tokens (auth signs, the gateway verifies) and the pair
//! of the bridge's `service` tokens (the bridge signs, the gateway verifies via `service_public_keys`), and
//! the bridge token the app presents on every bridge call (`bridge serve` and the `bridge_token` variable).

use std::io::Write;
use std::path::Path;

/// Private key file name (PKCS#8 PEM).
pub const PRIVATE_KEY_FILE: &str = "jwt_private.pem";
/// Public key file name (SPKI PEM).
pub const PUBLIC_KEY_FILE: &str = "jwt_public.pem";
/// The bridge's service private key file name.
pub const SERVICE_PRIVATE_KEY_FILE: &str = "service_private.pem";
/// The bridge's service public key file name.
pub const SERVICE_PUBLIC_KEY_FILE: &str = "service_public.pem";

/// The bridge token file name (one line, 43 characters).
pub const BRIDGE_TOKEN_FILE: &str = "bridge_token";

/// Writes both development pairs and the bridge token into `dir`, each unless its files exist; returns
/// whether it wrote any.
pub fn write_dev_key_pair(dir: &Path) -> anyhow::Result<bool> {
    let users = write_pair(dir, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE)?;
    let service = write_pair(dir, SERVICE_PRIVATE_KEY_FILE, SERVICE_PUBLIC_KEY_FILE)?;
    let token = write_token(dir)?;
    Ok(users || service || token)
}

/// Writes a fresh bridge token (mode 0600) unless the file exists.
fn write_token(dir: &Path) -> anyhow::Result<bool> {
    let path = dir.join(BRIDGE_TOKEN_FILE);
    if path.exists() {
        return Ok(false);
    }
    std::fs::create_dir_all(dir)?;
    private_file(&path)?.write_all(format!("{}\n", crate::auth::generate_token()).as_bytes())?;
    Ok(true)
}

/// A file only its owner can read, created or truncated.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes a fresh pair unless both files exist; the private key is created with mode 0600.
fn write_pair(dir: &Path, private_name: &str, public_name: &str) -> anyhow::Result<bool> {
    let private = dir.join(private_name);
    let public = dir.join(public_name);
    if private.exists() && public.exists() {
        return Ok(false);
    }
    std::fs::create_dir_all(dir)?;
    let (private_pem, public_pem) = kit::jwt::generate_key_pair()?;
    private_file(&private)?.write_all(private_pem.as_bytes())?;
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
        let service = std::fs::read_to_string(dir.join(SERVICE_PRIVATE_KEY_FILE)).unwrap();
        let service_public = std::fs::read_to_string(dir.join(SERVICE_PUBLIC_KEY_FILE)).unwrap();
        let service_signer = kit::jwt::Signer::from_pem(&service).unwrap();
        assert_eq!(kit::jwt::PublicKey::from_pem(&service_public).unwrap().kid(), service_signer.kid());
        assert_ne!(service_signer.kid(), signer.kid(), "two distinct pairs");
        let token = std::fs::read_to_string(dir.join(BRIDGE_TOKEN_FILE)).unwrap();
        assert!(crate::auth::ServiceToken::new(&token).is_ok(), "the bridge accepts the token it wrote");
        assert!(!write_dev_key_pair(&dir).unwrap(), "an existing pair must be kept");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
