-- People's decisions on matching (`fundrecon review …`, the review web page): an
-- append-only audit trail. Keep in step with ../sqlite/0003_review.sql.
--
-- Items are named by their stable identities, never by row ids: entries by entry_key,
-- book records by "direction:voucher_no" (JSON arrays of strings). Each row carries the
-- SHA-256 of the previous row's hash and its own fields (`review::chain_hash`), so a
-- changed or removed row breaks the chain (`fundrecon review verify`); `prev_hash` is
-- UNIQUE, so two writers can never fork the chain.
CREATE TABLE decisions (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_no    TEXT NOT NULL,
    action        TEXT NOT NULL CHECK (action IN ('confirm', 'reject', 'match', 'unmatch', 'annotate')),
    entry_keys    TEXT NOT NULL,
    record_keys   TEXT NOT NULL,
    rule          TEXT,
    undoes        BIGINT REFERENCES decisions(id),
    reason        TEXT NOT NULL,
    decided_by    TEXT NOT NULL,
    decided_at    TIMESTAMPTZ NOT NULL,
    prev_hash     TEXT NOT NULL UNIQUE,
    row_hash      TEXT NOT NULL UNIQUE
);
CREATE INDEX decisions_account ON decisions (account_no, id);

CREATE FUNCTION decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'decisions are append-only';
END
$$;
CREATE TRIGGER decisions_no_change BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION decisions_append_only();

-- Every open item records the rule-set version that classified it, like every match.
ALTER TABLE discrepancies ADD COLUMN ruleset TEXT NOT NULL DEFAULT '';
