-- Who asked for each rerun of a batch (`runs rerun`), oldest first, one line each:
-- `<who> at <UTC time> from <stage>`. `queued_by` keeps who queued the batch first.
-- Keep in step with ../postgres/0007_rerun_by.sql.
ALTER TABLE runs ADD COLUMN rerun_by TEXT;
