-- The batch queue of `fundrecon worker`, PostgreSQL dialect. Keep in step with
-- ../sqlite/0004_queue.sql. Machine times (leases, retry times, heartbeats) are epoch
-- milliseconds in BIGINT columns, so comparisons are plain numbers on both backends.

-- `runs.state` of a worker batch: queued → fetching → parsing → matching → reporting →
-- done | failed (`fundrecon run` still uses `running`). A batch in a stage state is held
-- by `lease_owner` until `lease_until_ms`; with no owner, or an expired lease, any worker
-- may take it (SELECT … FOR UPDATE SKIP LOCKED) and (re)run that stage.
ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_until_ms BIGINT;
-- not before: the backoff after a transient failure
ALTER TABLE runs ADD COLUMN next_at_ms BIGINT NOT NULL DEFAULT 0;
-- tries of the current stage (reset when the batch moves on)
ALTER TABLE runs ADD COLUMN stage_tries BIGINT NOT NULL DEFAULT 0;
-- where a queued batch begins: NULL = fetching; `parsing` reuses the archived files
ALTER TABLE runs ADD COLUMN start_stage TEXT;
-- who queued it: `schedule <channel>`, `rerun by <user>`…
ALTER TABLE runs ADD COLUMN queued_by TEXT;
CREATE INDEX runs_queue ON runs (state, next_at_ms);

-- Every stage execution: who ran it, when, how it ended. `outcome` is NULL while running,
-- and stays NULL when the worker died (the next row of the stage is the takeover).
CREATE TABLE run_stages (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id        BIGINT NOT NULL REFERENCES runs(id),
    stage         TEXT NOT NULL,
    worker_id     TEXT NOT NULL,
    try_no        BIGINT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    -- done, retry, failed, aborted (shutdown), lease_lost
    outcome       TEXT,
    error         TEXT
);
CREATE INDEX run_stages_run ON run_stages (run_id, id);

-- Worker processes, for `status` and the metrics.
CREATE TABLE workers (
    id            TEXT PRIMARY KEY,
    host          TEXT NOT NULL,
    pid           BIGINT NOT NULL,
    version       TEXT NOT NULL,
    started_at    TIMESTAMPTZ NOT NULL,
    heartbeat_ms  BIGINT NOT NULL,
    stopped_at    TIMESTAMPTZ
);

-- SQLite only (the table exists on both for one schema): the one worker allowed on an
-- embedded database holds this row while its heartbeat is fresh.
CREATE TABLE worker_lock (
    id            BIGINT PRIMARY KEY CHECK (id = 1),
    worker_id     TEXT,
    host          TEXT,
    pid           BIGINT,
    heartbeat_ms  BIGINT NOT NULL
);
