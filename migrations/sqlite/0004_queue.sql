-- The batch queue of `fundrecon worker`, SQLite dialect. Keep in step with
-- ../postgres/0004_queue.sql. Machine times (leases, retry times, heartbeats) are epoch
-- milliseconds in INTEGER columns, so comparisons are plain numbers on both backends.

-- `runs.state` of a worker batch: queued → fetching → parsing → matching → reporting →
-- done | failed (`fundrecon run` still uses `running`). A batch in a stage state is held
-- by `lease_owner` until `lease_until_ms`; with no owner, or an expired lease, any worker
-- may take it and (re)run that stage.
ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_until_ms INTEGER;
-- not before: the backoff after a transient failure
ALTER TABLE runs ADD COLUMN next_at_ms INTEGER NOT NULL DEFAULT 0;
-- tries of the current stage (reset when the batch moves on)
ALTER TABLE runs ADD COLUMN stage_tries INTEGER NOT NULL DEFAULT 0;
-- where a queued batch begins: NULL = fetching; `parsing` reuses the archived files
ALTER TABLE runs ADD COLUMN start_stage TEXT;
-- who queued it: `schedule <channel>`, `rerun by <user>`…
ALTER TABLE runs ADD COLUMN queued_by TEXT;
CREATE INDEX runs_queue ON runs (state, next_at_ms);

-- Every stage execution: who ran it, when, how it ended. `outcome` is NULL while running,
-- and stays NULL when the worker died (the next row of the stage is the takeover).
CREATE TABLE run_stages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id        INTEGER NOT NULL REFERENCES runs(id),
    stage         TEXT NOT NULL,
    worker_id     TEXT NOT NULL,
    try_no        INTEGER NOT NULL,
    started_at    TEXT NOT NULL,
    finished_at   TEXT,
    -- done, retry, failed, aborted (shutdown), lease_lost
    outcome       TEXT,
    error         TEXT
);
CREATE INDEX run_stages_run ON run_stages (run_id, id);

-- Worker processes, for `status` and the metrics.
CREATE TABLE workers (
    id            TEXT PRIMARY KEY,
    host          TEXT NOT NULL,
    pid           INTEGER NOT NULL,
    version       TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    heartbeat_ms  INTEGER NOT NULL,
    stopped_at    TEXT
);

-- SQLite only (the table exists on both for one schema): the one worker allowed on an
-- embedded database holds this row while its heartbeat is fresh.
CREATE TABLE worker_lock (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    worker_id     TEXT,
    host          TEXT,
    pid           INTEGER,
    heartbeat_ms  INTEGER NOT NULL
);
