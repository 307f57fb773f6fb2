-- Workbooks uploaded to edit the catalogue, kept between the preview and the confirmation.
CREATE TABLE catalog_uploads (
    id         UUID PRIMARY KEY,
    account_id UUID NOT NULL REFERENCES accounts (id),
    file_name  TEXT NOT NULL,
    content    BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
