-- Identity and access: regions, departments, accounts (people, staff, administrators),
-- enterprises and their members, groups, roles, grants with data scopes, sessions, login
-- failures, and the hash-chained audit log.
CREATE TABLE regions (
    code        TEXT PRIMARY KEY,            -- 6-digit administrative division code
    name        TEXT NOT NULL,
    full_name   TEXT NOT NULL,
    parent_code TEXT REFERENCES regions (code),
    level       INTEGER NOT NULL CHECK (level BETWEEN 0 AND 2)
);
CREATE INDEX regions_parent ON regions (parent_code);

CREATE TABLE departments (
    id          UUID PRIMARY KEY,
    name        TEXT NOT NULL,
    region_code TEXT NOT NULL REFERENCES regions (code),
    parent_id   UUID REFERENCES departments (id),
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (region_code, name)
);
CREATE INDEX departments_parent ON departments (parent_id);

CREATE TABLE accounts (
    id              UUID PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('person', 'staff', 'admin')),
    real_name       TEXT NOT NULL,
    phone_enc       TEXT NOT NULL,
    phone_hash      TEXT NOT NULL UNIQUE,
    id_number_enc   TEXT,
    id_number_hash  TEXT UNIQUE,
    password_hash   TEXT NOT NULL,
    department_id   UUID REFERENCES departments (id),
    admin_role      TEXT CHECK (admin_role IN ('system', 'security', 'audit')),
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    failed_logins   INTEGER NOT NULL DEFAULT 0,
    locked_until    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    last_login_at   TIMESTAMPTZ,
    CHECK ((kind = 'staff') = (department_id IS NOT NULL)),
    CHECK ((kind = 'admin') = (admin_role IS NOT NULL))
);
CREATE INDEX accounts_department ON accounts (department_id);

CREATE TABLE enterprises (
    id                   UUID PRIMARY KEY,
    credit_code          TEXT NOT NULL UNIQUE,
    name                 TEXT NOT NULL,
    legal_representative TEXT NOT NULL,
    created_by           UUID NOT NULL REFERENCES accounts (id),
    created_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE enterprise_members (
    enterprise_id UUID NOT NULL REFERENCES enterprises (id),
    account_id    UUID NOT NULL REFERENCES accounts (id),
    role          TEXT NOT NULL CHECK (role IN ('admin', 'agent')),
    status        TEXT NOT NULL CHECK (status IN ('invited', 'active')),
    invited_by    UUID REFERENCES accounts (id),
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (enterprise_id, account_id)
);
CREATE INDEX enterprise_members_account ON enterprise_members (account_id);

CREATE TABLE account_groups (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE group_members (
    group_id   UUID NOT NULL REFERENCES account_groups (id),
    account_id UUID NOT NULL REFERENCES accounts (id),
    PRIMARY KEY (group_id, account_id)
);
CREATE INDEX group_members_account ON group_members (account_id);

CREATE TABLE roles (
    id          UUID PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    admin_role  TEXT CHECK (admin_role IN ('system', 'security', 'audit')),
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE role_permissions (
    role_id    UUID NOT NULL REFERENCES roles (id),
    permission TEXT NOT NULL,
    PRIMARY KEY (role_id, permission)
);

CREATE TABLE grants (
    id           UUID PRIMARY KEY,
    role_id      UUID NOT NULL REFERENCES roles (id),
    grantee_kind TEXT NOT NULL CHECK (grantee_kind IN ('account', 'group', 'department')),
    grantee_id   UUID NOT NULL,
    scope        TEXT NOT NULL CHECK (scope IN ('own', 'department', 'subtree', 'region', 'all')),
    created_by   UUID,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (role_id, grantee_kind, grantee_id, scope)
);
CREATE INDEX grants_grantee ON grants (grantee_kind, grantee_id);

CREATE TABLE sessions (
    id                   UUID PRIMARY KEY,
    token_hash           TEXT NOT NULL UNIQUE,
    account_id           UUID NOT NULL REFERENCES accounts (id),
    kind                 TEXT NOT NULL CHECK (kind IN ('web', 'api')),
    acting_enterprise_id UUID REFERENCES enterprises (id),
    client_ip            TEXT NOT NULL DEFAULT '',
    user_agent           TEXT NOT NULL DEFAULT '',
    created_at           TIMESTAMPTZ NOT NULL,
    last_seen_at         TIMESTAMPTZ NOT NULL,
    expires_at           TIMESTAMPTZ NOT NULL,
    revoked_at           TIMESTAMPTZ
);
CREATE INDEX sessions_account ON sessions (account_id);

CREATE TABLE login_failures (
    id        UUID PRIMARY KEY,
    client_ip TEXT NOT NULL,
    login     TEXT NOT NULL,               -- keyed hash of what was typed, never the text
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_failures_ip ON login_failures (client_ip, at);

CREATE TABLE audit_log (
    seq          BIGINT PRIMARY KEY,
    at           TIMESTAMPTZ NOT NULL,
    actor_id     UUID,
    actor_label  TEXT NOT NULL,
    action       TEXT NOT NULL,
    target_kind  TEXT NOT NULL DEFAULT '',
    target_id    TEXT NOT NULL DEFAULT '',
    client_ip    TEXT NOT NULL DEFAULT '',
    result       TEXT NOT NULL CHECK (result IN ('success', 'failure', 'denied')),
    detail       TEXT NOT NULL DEFAULT '',
    prev_hash    TEXT NOT NULL,
    hash         TEXT NOT NULL
);
CREATE INDEX audit_log_actor ON audit_log (actor_id, seq);
CREATE INDEX audit_log_action ON audit_log (action, seq);

-- The application only appends; edits and deletions are refused here too (and found by
-- `govhall audit verify` if someone removes this trigger).
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
