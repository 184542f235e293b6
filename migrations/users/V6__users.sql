-- User accounts. Emails are stored normalised (trimmed, lower case), which makes the unique constraint
-- case-insensitive. Rows are never hard-deleted: orders keep referring to them; deletion erases the
-- personal data instead (see docs/auth.md).
CREATE TABLE users.users (
    id uuid PRIMARY KEY,
    email text NOT NULL
        CONSTRAINT users_email_key UNIQUE
        CONSTRAINT users_email_normalised CHECK (email = lower(btrim(email))),
    full_name text NOT NULL,
    role text NOT NULL DEFAULT 'customer' CONSTRAINT users_role_known CHECK (role IN ('customer', 'admin')),
    active boolean NOT NULL DEFAULT true,
    password_hash text NOT NULL,
    -- Refresh tokens issued before this instant are dead (password change, deactivation, deletion).
    sessions_revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

-- Admin listing filters by role and active flag, in id (creation) order.
CREATE INDEX users_role_active_id_idx ON users.users (role, active, id) WHERE deleted_at IS NULL;
