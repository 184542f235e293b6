# The Spin app as a container image, for docker compose (and any container platform without SpinKube):
#   docker build -f deploy/spin-app.Dockerfile -t pycommerce-app .
# On SpinKube the app ships as an OCI artifact instead (`spin registry push`, docs/operations.md); the shim
# runs the same .wasm files and spin.toml.
ARG RUST_VERSION=1.95
ARG SPIN_VERSION=v4.0.2

FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-wasip2
COPY . .
# What spin.toml's [component.*.build] commands build (`spin build`): every crate under components/.
RUN packages="$(for dir in components/*/; do printf -- '-p %s ' "$(basename "$dir")"; done)" \
    && cargo build --target wasm32-wasip2 --release --locked $packages

FROM debian:bookworm-slim AS spin
ARG SPIN_VERSION
ARG TARGETARCH
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
RUN case "${TARGETARCH:-amd64}" in amd64) arch=amd64 ;; arm64) arch=aarch64 ;; *) echo "unsupported: $TARGETARCH" >&2; exit 1 ;; esac \
    && curl -fsSL "https://github.com/spinframework/spin/releases/download/${SPIN_VERSION}/spin-${SPIN_VERSION}-linux-${arch}.tar.gz" \
       | tar -xz -C /usr/local/bin spin \
    && spin --version

FROM debian:bookworm-slim
# curl: the healthcheck. Spin itself needs only CA certificates (outbound TLS).
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app spin
COPY --from=spin /usr/local/bin/spin /usr/local/bin/spin
WORKDIR /app
# spin.toml names its sources as target/wasm32-wasip2/release/<name>.wasm: keep that layout.
COPY spin.toml runtime-config.toml ./
COPY --from=build /src/target/wasm32-wasip2/release/*.wasm target/wasm32-wasip2/release/
COPY deploy/spin-app-entrypoint.sh /usr/local/bin/pycommerce-app
COPY scripts/runtime-config /usr/local/bin/pycommerce-runtime-config
RUN chown -R spin /app
USER spin
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=6 \
    CMD curl -fsS http://127.0.0.1:3000/health/live >/dev/null || exit 1
ENTRYPOINT ["pycommerce-app"]
