#!/bin/sh
# Entry point of the Spin app image: fills the signing-key variables from files when they are not set (the
# compose `keys` job writes development keys to /keys), then runs `spin up` on 0.0.0.0:3000.
set -eu

from_file() { # from_file VARIABLE FILE: VARIABLE=$(cat FILE) when VARIABLE is empty and FILE exists
  eval "current=\${$1:-}"
  if [ -z "$current" ] && [ -r "$2" ]; then
    value="$(cat "$2")"
    export "$1=$value"
  fi
}
from_file SPIN_VARIABLE_JWT_PUBLIC_KEY /keys/jwt_public.pem
from_file SPIN_VARIABLE_JWT_PRIVATE_KEY /keys/jwt_private.pem
# The bridge signs its service tokens with its own key; the gateway trusts its public half for service
# tokens only (service_public_keys), never for user tokens.
from_file SPIN_VARIABLE_SERVICE_PUBLIC_KEYS /keys/service_public.pem
# The token the app presents on every bridge call; the bridge reads the same file (BRIDGE_SERVICE_TOKEN_FILE).
from_file SPIN_VARIABLE_BRIDGE_TOKEN /keys/bridge_token

# An empty endpoint means "no telemetry": Spin would otherwise try to export to "".
if [ -z "${OTEL_EXPORTER_OTLP_ENDPOINT:-}" ]; then unset OTEL_EXPORTER_OTLP_ENDPOINT; fi

# Spin's runtime configuration, resolved from the environment now: the gateway's key-value store on the Redis of
# redis_url, and every variable in a static provider, which Spin reads far faster than the environment
# (scripts/runtime-config says why). It holds the keys and passwords: readable by this user only.
runtime_config=/tmp/runtime-config.toml
(umask 077 && RUNTIME_CONFIG=/app/runtime-config.toml pycommerce-runtime-config /app/spin.toml >"$runtime_config")

exec spin up --from /app/spin.toml --listen "${SPIN_LISTEN:-0.0.0.0:3000}" \
  --runtime-config-file "$runtime_config" "$@"
