-- 项目档案: an enterprise's investment project, the cases it groups by stage (a case in one
-- dossier at most), and the approvals (批文) it got before the hall, with their files.
CREATE TABLE projects (
    id             UUID PRIMARY KEY,
    enterprise_id  UUID NOT NULL REFERENCES enterprises (id),
    name           TEXT NOT NULL,
    code           TEXT NOT NULL,               -- 投资项目代码, '' when none
    scale_yuan     BIGINT,                      -- investment scale in yuan
    land_centi_m2  BIGINT,                      -- land area in hundredths of a square metre
    stage          TEXT NOT NULL,
    created_by     UUID NOT NULL REFERENCES accounts (id),
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX projects_enterprise ON projects (enterprise_id, created_at);

CREATE TABLE project_cases (
    project_id  UUID NOT NULL REFERENCES projects (id),
    case_id     UUID NOT NULL UNIQUE REFERENCES cases (id),
    stage       TEXT NOT NULL,
    added_by    UUID NOT NULL REFERENCES accounts (id),
    added_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, case_id)
);

CREATE TABLE project_approvals (
    id            UUID PRIMARY KEY,
    project_id    UUID NOT NULL REFERENCES projects (id),
    stage         TEXT NOT NULL,
    title         TEXT NOT NULL,
    number        TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    issued_on     DATE NOT NULL,
    file_name     TEXT,
    content_type  TEXT,
    sha256        TEXT,
    content       BYTEA,
    added_by      UUID NOT NULL REFERENCES accounts (id),
    added_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX project_approvals_project ON project_approvals (project_id, issued_on);
