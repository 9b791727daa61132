-- People's decisions on matching (`fundrecon review …`, the review web page): an
-- append-only audit trail. Keep in step with ../postgres/0003_review.sql.
--
-- Items are named by their stable identities, never by row ids: entries by entry_key,
-- book records by "direction:voucher_no" (JSON arrays of strings). Each row carries the
-- SHA-256 of the previous row's hash and its own fields (`review::chain_hash`), so a
-- changed or removed row breaks the chain (`fundrecon review verify`); `prev_hash` is
-- UNIQUE, so two writers can never fork the chain.
CREATE TABLE decisions (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_no    TEXT NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('confirm', 'reject', 'match', 'unmatch', 'annotate')),
    entry_keys    TEXT NOT NULL,
    record_keys   TEXT NOT NULL,
    -- confirm/reject of an automatic match: the rule that had made it
    rule          TEXT,
    -- unmatch: the decision it withdraws
    undoes        INTEGER REFERENCES decisions(id),
    reason        TEXT NOT NULL,
    decided_by    TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    prev_hash     TEXT NOT NULL UNIQUE,
    row_hash      TEXT NOT NULL UNIQUE
);
CREATE INDEX decisions_account ON decisions (account_no, id);

CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'decisions are append-only');
END;
CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
BEGIN
    SELECT RAISE(ABORT, 'decisions are append-only');
END;

-- Every open item records the rule-set version that classified it, like every match.
ALTER TABLE discrepancies ADD COLUMN ruleset TEXT NOT NULL DEFAULT '';
