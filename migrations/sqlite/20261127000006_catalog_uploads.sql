-- Workbooks uploaded to edit the catalogue, kept between the preview and the confirmation.
CREATE TABLE catalog_uploads (
    id         BLOB PRIMARY KEY,
    account_id BLOB NOT NULL REFERENCES accounts (id),
    file_name  TEXT NOT NULL,
    content    BLOB NOT NULL,
    created_at TEXT NOT NULL
);
