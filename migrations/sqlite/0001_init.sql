-- fundrecon schema, SQLite dialect. Keep in step with ../postgres/0001_init.sql:
-- same tables, columns and constraints; money is canonical decimal TEXT here, NUMERIC there.

-- Every raw file ever fetched, by content. The bytes live in the archive folder.
CREATE TABLE raw_files (
    sha256        TEXT PRIMARY KEY,
    size          INTEGER NOT NULL,
    first_name    TEXT NOT NULL,
    channel       TEXT NOT NULL,
    archived_at   TEXT NOT NULL,
    -- set once the file's statements are stored (in the same transaction)
    imported_at   TEXT,
    format        TEXT
);

-- A batch: one bank (channel) for one business date. Reruns reuse the row.
CREATE TABLE runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    channel       TEXT NOT NULL,
    bank          TEXT NOT NULL,
    business_date TEXT NOT NULL,
    state         TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    error         TEXT,
    created_at    TEXT NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    summary       TEXT,
    UNIQUE (channel, business_date)
);

-- Which files a batch fetched (a file belongs to the batch that first saw it).
CREATE TABLE run_files (
    run_id        INTEGER NOT NULL REFERENCES runs(id),
    sha256        TEXT NOT NULL REFERENCES raw_files(sha256),
    name          TEXT NOT NULL,
    -- when this batch first saw the file; among unimported files of one name, only the
    -- latest counts (a corrected re-delivery supersedes a broken one)
    added_at      TEXT NOT NULL,
    PRIMARY KEY (run_id, sha256)
);

CREATE TABLE statements (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sha256        TEXT NOT NULL REFERENCES raw_files(sha256),
    seq_in_file   INTEGER NOT NULL,
    account_no    TEXT NOT NULL,
    raw_account   TEXT NOT NULL,
    currency      TEXT NOT NULL,
    sequence      TEXT,
    statement_id  TEXT,
    opening_date  TEXT,
    opening       TEXT,
    closing_date  TEXT,
    closing       TEXT,
    entry_count   INTEGER NOT NULL,
    location      TEXT NOT NULL,
    -- newline-separated problems that did not stop the import (running-balance breaks)
    flags         TEXT NOT NULL DEFAULT '',
    UNIQUE (sha256, seq_in_file)
);

-- Bank entries. Identity: (account_no, entry_key); entry_key is the bank reference plus an
-- occurrence number, so two identical payments on one day stay two.
CREATE TABLE entries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    statement_id  INTEGER NOT NULL REFERENCES statements(id),
    account_no    TEXT NOT NULL,
    entry_key     TEXT NOT NULL,
    booking_date  TEXT NOT NULL,
    value_date    TEXT,
    amount        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    bank_ref      TEXT,
    customer_ref  TEXT,
    end_to_end_id TEXT,
    counterparty_account TEXT,
    counterparty_name    TEXT,
    counterparty_bank    TEXT,
    narrative     TEXT NOT NULL,
    kind          TEXT NOT NULL,
    type_code     TEXT,
    return_reason TEXT,
    location      TEXT NOT NULL,
    UNIQUE (account_no, entry_key)
);

-- Book records (拨付 / 收款). Identity: (account_no, direction, voucher_no).
CREATE TABLE book_records (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    voucher_no    TEXT NOT NULL,
    account_no    TEXT NOT NULL,
    direction     TEXT NOT NULL,
    book_date     TEXT NOT NULL,
    amount        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    counterparty_account TEXT,
    counterparty_name    TEXT,
    purpose       TEXT,
    batch_ref     TEXT,
    source        TEXT NOT NULL,
    location      TEXT NOT NULL,
    UNIQUE (account_no, direction, voucher_no)
);

-- Automatic matching results of the latest matching pass per account. Replaced as a whole
-- (in one transaction) by each pass; decisions made by people live elsewhere (issue 4).
CREATE TABLE matches (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_no    TEXT NOT NULL,
    rule          TEXT NOT NULL,
    ruleset       TEXT NOT NULL,
    detail        TEXT NOT NULL
);
CREATE TABLE match_entries (
    match_id      INTEGER NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
    entry_id      INTEGER NOT NULL REFERENCES entries(id),
    PRIMARY KEY (match_id, entry_id)
);
CREATE TABLE match_records (
    match_id      INTEGER NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
    record_id     INTEGER NOT NULL REFERENCES book_records(id),
    PRIMARY KEY (match_id, record_id)
);

CREATE TABLE discrepancies (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_no    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    entry_id      INTEGER REFERENCES entries(id),
    record_id     INTEGER REFERENCES book_records(id),
    statement_id  INTEGER REFERENCES statements(id),
    bank_ref      TEXT,
    voucher_no    TEXT,
    on_date       TEXT NOT NULL,
    amount        TEXT,
    expected      TEXT,
    rule          TEXT NOT NULL,
    detail        TEXT NOT NULL
);

CREATE INDEX entries_account ON entries (account_no, booking_date);
CREATE INDEX book_records_account ON book_records (account_no, book_date);
CREATE INDEX matches_account ON matches (account_no);
CREATE INDEX discrepancies_account ON discrepancies (account_no);
CREATE INDEX statements_account ON statements (account_no, closing_date);
