//! Writes the OpenAPI document: `cargo run -p openapi -- docs/openapi.json` (to stdout without a path).

use std::io::Write;

fn main() -> std::io::Result<()> {
    let json = openapi::to_json();
    match std::env::args_os().nth(1) {
        Some(path) => std::fs::write(path, json),
        None => std::io::stdout().write_all(json.as_bytes()),
    }
}
