-- fundrecon schema, PostgreSQL dialect. Keep in step with ../sqlite/0009_book_withdrawn.sql.
-- Vouchers leave the books (issue 15): a 作废 row, a negating record (红字冲销), or, for a
-- book source whose every delivery is its full books, absence from the latest delivery.
-- The row stays (decisions and old matches name it); `withdrawn` says why it left, NULL
-- while it is in the books. `delivery` is the SHA-256 of the book file that last
-- delivered the voucher, which tells a full export's missing vouchers apart.
ALTER TABLE book_records ADD COLUMN withdrawn TEXT;
ALTER TABLE book_records ADD COLUMN delivery TEXT;
-- A negating record (红字冲销) names the voucher it cancels: that voucher stays out of the
-- books while the negating record is stored, whichever delivery brings it back.
ALTER TABLE book_records ADD COLUMN negates TEXT;
-- A full export withdraws what it does not hold within its period: found by source and date.
CREATE INDEX book_records_source_date ON book_records (source, book_date);
