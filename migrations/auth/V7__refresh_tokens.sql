-- Refresh tokens: opaque random strings, stored only as SHA-256 hashes. Each login starts a family; every
-- refresh marks the presented token used and issues a child in the same family. Presenting a used token
-- again means it was stolen or replayed: the whole family is revoked.
CREATE TABLE auth.refresh_tokens (
    id uuid PRIMARY KEY,
    family_id uuid NOT NULL,
    user_id uuid NOT NULL,
    token_hash bytea NOT NULL CONSTRAINT refresh_tokens_hash_key UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    revoked_at timestamptz
);

CREATE INDEX refresh_tokens_family_idx ON auth.refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user_idx ON auth.refresh_tokens (user_id);
