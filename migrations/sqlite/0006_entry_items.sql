-- fundrecon schema, SQLite dialect. Keep in step with ../postgres/0006_entry_items.sql.
-- The items of a batch entry (camt `NtryDtls/Btch` with several `TxDtls`: each payee's
-- amount, end-to-end id, account and name) as JSON, written with the entry in the same
-- row and transaction. Matching pairs a batch debit with the vouchers its items name
-- even when the bank gives no batch reference. NULL for entries that are no batch.
ALTER TABLE entries ADD COLUMN items TEXT;
