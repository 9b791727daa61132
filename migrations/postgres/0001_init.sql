-- fundrecon schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_init.sql:
-- same tables, columns and constraints; money is NUMERIC here, canonical decimal TEXT there.

-- Every raw file ever fetched, by content. The bytes live in the archive folder.
CREATE TABLE raw_files (
    sha256        TEXT PRIMARY KEY,
    size          BIGINT NOT NULL,
    first_name    TEXT NOT NULL,
    channel       TEXT NOT NULL,
    archived_at   TIMESTAMPTZ NOT NULL,
    -- set once the file's statements are stored (in the same transaction)
    imported_at   TIMESTAMPTZ,
    format        TEXT
);

-- A batch: one bank (channel) for one business date. Reruns reuse the row.
CREATE TABLE runs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel       TEXT NOT NULL,
    bank          TEXT NOT NULL,
    business_date DATE NOT NULL,
    state         TEXT NOT NULL,
    attempts      BIGINT NOT NULL DEFAULT 0,
    error         TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    started_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ,
    summary       TEXT,
    UNIQUE (channel, business_date)
);

-- Which files a batch fetched (a file belongs to the batch that first saw it).
CREATE TABLE run_files (
    run_id        BIGINT NOT NULL REFERENCES runs(id),
    sha256        TEXT NOT NULL REFERENCES raw_files(sha256),
    name          TEXT NOT NULL,
    -- when this batch first saw the file; among unimported files of one name, only the
    -- latest counts (a corrected re-delivery supersedes a broken one)
    added_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (run_id, sha256)
);

CREATE TABLE statements (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256        TEXT NOT NULL REFERENCES raw_files(sha256),
    seq_in_file   BIGINT NOT NULL,
    account_no    TEXT NOT NULL,
    raw_account   TEXT NOT NULL,
    currency      TEXT NOT NULL,
    sequence      TEXT,
    statement_id  TEXT,
    opening_date  DATE,
    opening       NUMERIC(24,6),
    closing_date  DATE,
    closing       NUMERIC(24,6),
    entry_count   BIGINT NOT NULL,
    location      TEXT NOT NULL,
    -- newline-separated problems that did not stop the import (running-balance breaks)
    flags         TEXT NOT NULL DEFAULT '',
    UNIQUE (sha256, seq_in_file)
);

-- Bank entries. Identity: (account_no, entry_key); entry_key is the bank reference plus an
-- occurrence number, so two identical payments on one day stay two.
CREATE TABLE entries (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    statement_id  BIGINT NOT NULL REFERENCES statements(id),
    account_no    TEXT NOT NULL,
    entry_key     TEXT NOT NULL,
    booking_date  DATE NOT NULL,
    value_date    DATE,
    amount        NUMERIC(24,6) NOT NULL,
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
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    voucher_no    TEXT NOT NULL,
    account_no    TEXT NOT NULL,
    direction     TEXT NOT NULL,
    book_date     DATE NOT NULL,
    amount        NUMERIC(24,6) NOT NULL,
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
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_no    TEXT NOT NULL,
    rule          TEXT NOT NULL,
    ruleset       TEXT NOT NULL,
    detail        TEXT NOT NULL
);
CREATE TABLE match_entries (
    match_id      BIGINT NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
    entry_id      BIGINT NOT NULL REFERENCES entries(id),
    PRIMARY KEY (match_id, entry_id)
);
CREATE TABLE match_records (
    match_id      BIGINT NOT NULL REFERENCES matches(id) ON DELETE CASCADE,
    record_id     BIGINT NOT NULL REFERENCES book_records(id),
    PRIMARY KEY (match_id, record_id)
);

CREATE TABLE discrepancies (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_no    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    entry_id      BIGINT REFERENCES entries(id),
    record_id     BIGINT REFERENCES book_records(id),
    statement_id  BIGINT REFERENCES statements(id),
    bank_ref      TEXT,
    voucher_no    TEXT,
    on_date       DATE NOT NULL,
    amount        NUMERIC(24,6),
    expected      NUMERIC(24,6),
    rule          TEXT NOT NULL,
    detail        TEXT NOT NULL
);

CREATE INDEX entries_account ON entries (account_no, booking_date);
CREATE INDEX book_records_account ON book_records (account_no, book_date);
CREATE INDEX matches_account ON matches (account_no);
CREATE INDEX discrepancies_account ON discrepancies (account_no);
CREATE INDEX statements_account ON statements (account_no, closing_date);
