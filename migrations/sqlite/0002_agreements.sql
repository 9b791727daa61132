-- Deposit agreements loaded into the database (`fundrecon agreements load`), beside the
-- ones in the config. Stored as the validated TOML text an operator loaded, unchanged,
-- with who loaded it and when; the same text loaded twice is one row.
CREATE TABLE agreements (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_no    TEXT NOT NULL,
    terms         TEXT NOT NULL,
    sha256        TEXT NOT NULL UNIQUE,
    loaded_at     TEXT NOT NULL,
    loaded_by     TEXT NOT NULL
);
CREATE INDEX agreements_account ON agreements (account_no);
