-- fundrecon schema, PostgreSQL dialect. Keep in step with ../sqlite/0008_statement_fingerprint.sql.
-- What a statement says (`Statement::fingerprint`: account, ids, balances, entries; not the
-- file's bytes): the same statement sent again in other bytes (CRLF line ends, another
-- name) is recognised and counted once; one with the same identity (account, statement id
-- or sequence, period) but other content is stored, flagged and reported. NULL on rows
-- imported before this column (never compared).
ALTER TABLE statements ADD COLUMN fingerprint TEXT;
CREATE INDEX statements_fingerprint ON statements (account_no, fingerprint);
