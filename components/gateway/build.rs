//! Compresses `docs/openapi.json` into `OUT_DIR/openapi.json.gz`, which the gateway embeds instead of the
//! document itself: Spin resets every instance's memory from the module's data, so the 170 kB document cost
//! every request a little (`/health/live` on Spin 4.0.2: +1–3 % requests per second with the document
//! compressed, +3–5 % without it at all, alternating runs of one build each).

use std::io::Write;
use std::path::PathBuf;

fn main() {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    println!("cargo:rerun-if-changed={}", source.display());
    let document = std::fs::read(&source).expect("docs/openapi.json is readable");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&document).expect("compress the OpenAPI document");
    let compressed = encoder.finish().expect("compress the OpenAPI document");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("openapi.json.gz"), compressed).expect("write the compressed OpenAPI document");
}
