-- fundrecon schema, PostgreSQL dialect. Keep in step with ../sqlite/0005_entry_sum.sql.
-- The sum of the entries a statement delivered, all of them: an entry already stored from
-- an overlapping file is not stored again, so summing `entries` by statement would leave
-- it out and make the statement's arithmetic look broken. NULL on rows imported before
-- this column (their sum is taken from `entries`, as it was).
ALTER TABLE statements ADD COLUMN entry_sum NUMERIC(24,6);
