//! Compiles `proto/` with protox (pure Rust, no `protoc` to install) and generates the prost messages, plus
//! tonic clients and servers with the `grpc` feature. The encoded descriptor set is kept for gRPC reflection.

use std::path::PathBuf;

const PROTOS: &[&str] =
    &["pycommerce/catalog/v1/catalog.proto", "pycommerce/users/v1/users.proto", "pycommerce/events/v1/outbox.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    println!("cargo:rerun-if-changed={}", root.display());
    let descriptors = protox::compile(PROTOS, [&root])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("descriptor.bin"), prost::Message::encode_to_vec(&descriptors))?;
    let grpc = std::env::var_os("CARGO_FEATURE_GRPC").is_some();
    tonic_prost_build::configure().build_client(grpc).build_server(grpc).compile_fds(descriptors)?;
    Ok(())
}
