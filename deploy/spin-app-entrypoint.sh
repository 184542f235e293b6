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

# The gateway's key-value store must be the Redis of redis_url (runtime-config.toml says why).
runtime_config=/app/runtime-config.toml
if [ -n "${SPIN_VARIABLE_REDIS_URL:-}" ]; then
  runtime_config=/tmp/runtime-config.toml
  # It holds the Redis URL, password included: readable by this user only.
  (umask 077 && RUNTIME_CONFIG=/app/runtime-config.toml pycommerce-runtime-config "$SPIN_VARIABLE_REDIS_URL" >"$runtime_config")
fi

exec spin up --from /app/spin.toml --listen "${SPIN_LISTEN:-0.0.0.0:3000}" \
  --runtime-config-file "$runtime_config" "$@"
