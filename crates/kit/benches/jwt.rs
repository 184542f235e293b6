//! Cost of signing and verifying one access token (EdDSA): `cargo bench -p kit --bench jwt`.

use std::time::{Duration, Instant};

use kit::identity::Role;
use kit::jwt::{generate_key_pair, now_secs, AccessClaims, PublicKey, Signer, Verifier, ACCESS_TOKEN_TYPE};

fn time(name: &str, runs: u32, mut operation: impl FnMut()) {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let begin = Instant::now();
            operation();
            begin.elapsed()
        })
        .collect();
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / runs;
    println!(
        "{name:<12} n={runs} mean={mean:.1?} p50={:.1?} p99={:.1?}",
        samples[runs as usize / 2],
        samples[runs as usize * 99 / 100]
    );
}

fn main() {
    let (private, public) = generate_key_pair().expect("key pair");
    let signer = Signer::from_pem(&private).expect("signer");
    let verifier =
        Verifier::new(&[PublicKey::from_pem(&public).expect("key")], "pycommerce", "pycommerce-api").expect("verifier");
    let now = now_secs();
    let claims = AccessClaims {
        iss: "pycommerce".into(),
        aud: "pycommerce-api".into(),
        sub: "0190a0c2-0000-7000-8000-000000000001".into(),
        exp: now + 900,
        iat: now,
        nbf: None,
        jti: "bench".into(),
        role: Role::Customer,
        typ: ACCESS_TOKEN_TYPE.into(),
    };
    let token = signer.sign(&claims).expect("sign");
    time("jwt sign", 5000, || {
        signer.sign(&claims).expect("sign");
    });
    time("jwt verify", 5000, || {
        verifier.verify(&token).expect("verify");
    });
}
