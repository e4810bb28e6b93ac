-- 0001: sweeps, their findings, tallies and assessed scopes.
-- Times are Unix microseconds (the precision PostgreSQL keeps, so both
-- engines answer alike). Text compares byte-wise (BINARY), as the
-- PostgreSQL schema's COLLATE "C" does, so both sort findings the same way.

CREATE TABLE sweeps (
  id           TEXT    NOT NULL PRIMARY KEY,
  state        INTEGER NOT NULL,           -- reportingv1.SweepState
  started_at   INTEGER NOT NULL,
  finalized_at INTEGER,                    -- NULL while running
  accounts     INTEGER NOT NULL DEFAULT 0, -- distinct accounts among findings
  regions      INTEGER NOT NULL DEFAULT 0  -- distinct regions among findings
);
CREATE INDEX sweeps_by_start ON sweeps (started_at, id);
CREATE INDEX sweeps_by_state ON sweeps (state, started_at, id);

-- One row per finding; the columns are what queries filter and sort on, body
-- is the whole evaluationv1.Finding (proto.Marshal) so nothing is lost. The
-- small columns come before body so filtering never reads its overflow pages.
CREATE TABLE findings (
  sweep_id      TEXT    NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  account_id    TEXT    NOT NULL,
  region        TEXT    NOT NULL,
  control_id    TEXT    NOT NULL,
  resource_arn  TEXT    NOT NULL,
  field_path    TEXT    NOT NULL,
  severity      INTEGER NOT NULL,          -- evaluationv1.Severity
  status        INTEGER NOT NULL,          -- evaluationv1.FindingStatus
  suppressed    INTEGER NOT NULL,          -- 0 or 1
  resource_type TEXT    NOT NULL,
  body          BLOB    NOT NULL,
  -- The identity of a finding and the order of every listing.
  UNIQUE (sweep_id, account_id, region, control_id, resource_arn, field_path)
);
-- Filters on outcome (status, severity, suppression) narrowed by the scope
-- columns, for totals and for sparse filters; the scope columns make the
-- index cover counts that also filter on account, region or control.
CREATE INDEX findings_by_outcome ON findings (sweep_id, status, severity, suppressed, account_id, region, control_id);

-- Counts per (status, severity, suppressed), kept in the transaction that
-- inserts the findings, so a sweep's counts never scan its findings.
CREATE TABLE sweep_tallies (
  sweep_id   TEXT    NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  status     INTEGER NOT NULL,
  severity   INTEGER NOT NULL,
  suppressed INTEGER NOT NULL,
  n          INTEGER NOT NULL,
  PRIMARY KEY (sweep_id, status, severity, suppressed)
) WITHOUT ROWID;

-- The distinct accounts and regions seen in findings, to keep
-- sweeps.accounts and sweeps.regions exact.
CREATE TABLE sweep_accounts (
  sweep_id   TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  account_id TEXT NOT NULL,
  PRIMARY KEY (sweep_id, account_id)
) WITHOUT ROWID;
CREATE TABLE sweep_regions (
  sweep_id TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  region   TEXT NOT NULL,
  PRIMARY KEY (sweep_id, region)
) WITHOUT ROWID;

-- The (account, region) pairs a sweep recorded as assessed.
CREATE TABLE assessed_scopes (
  sweep_id   TEXT NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  account_id TEXT NOT NULL,
  region     TEXT NOT NULL,
  PRIMARY KEY (sweep_id, account_id, region)
) WITHOUT ROWID;
