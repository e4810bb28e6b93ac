-- 0001: sweeps, their findings, tallies and assessed scopes.
-- Text keys use COLLATE "C" (byte order), as SQLite's BINARY does, so both
-- engines sort findings the same way whatever the database's locale.

CREATE TABLE sweeps (
  id           text COLLATE "C" NOT NULL PRIMARY KEY,
  state        smallint    NOT NULL,            -- reportingv1.SweepState
  started_at   timestamptz NOT NULL,
  finalized_at timestamptz,                     -- NULL while running
  accounts     bigint      NOT NULL DEFAULT 0,  -- distinct accounts among findings
  regions      bigint      NOT NULL DEFAULT 0   -- distinct regions among findings
);
CREATE INDEX sweeps_by_start ON sweeps (started_at, id);
CREATE INDEX sweeps_by_state ON sweeps (state, started_at, id);

-- One row per finding; the columns are what queries filter and sort on, body
-- is the whole evaluationv1.Finding (proto.Marshal) so nothing is lost.
CREATE TABLE findings (
  sweep_id      text COLLATE "C" NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  account_id    text COLLATE "C" NOT NULL,
  region        text COLLATE "C" NOT NULL,
  control_id    text COLLATE "C" NOT NULL,
  resource_arn  text COLLATE "C" NOT NULL,
  field_path    text COLLATE "C" NOT NULL,
  severity      smallint NOT NULL,              -- evaluationv1.Severity
  status        smallint NOT NULL,              -- evaluationv1.FindingStatus
  suppressed    boolean  NOT NULL,
  resource_type text     NOT NULL,
  body          bytea    NOT NULL,
  -- The identity of a finding and the order of every listing.
  PRIMARY KEY (sweep_id, account_id, region, control_id, resource_arn, field_path)
);
-- Filters on outcome (status, severity, suppression) narrowed by the scope
-- columns, for totals and for sparse filters; the scope columns make the
-- index cover counts that also filter on account, region or control.
CREATE INDEX findings_by_outcome ON findings (sweep_id, status, severity, suppressed, account_id, region, control_id);

-- Counts per (status, severity, suppressed), kept in the transaction that
-- inserts the findings, so a sweep's counts never scan its findings.
CREATE TABLE sweep_tallies (
  sweep_id   text COLLATE "C" NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  status     smallint NOT NULL,
  severity   smallint NOT NULL,
  suppressed boolean  NOT NULL,
  n          bigint   NOT NULL,
  PRIMARY KEY (sweep_id, status, severity, suppressed)
);

-- The distinct accounts and regions seen in findings, to keep
-- sweeps.accounts and sweeps.regions exact.
CREATE TABLE sweep_accounts (
  sweep_id   text COLLATE "C" NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  account_id text COLLATE "C" NOT NULL,
  PRIMARY KEY (sweep_id, account_id)
);
CREATE TABLE sweep_regions (
  sweep_id text COLLATE "C" NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  region   text COLLATE "C" NOT NULL,
  PRIMARY KEY (sweep_id, region)
);

-- The (account, region) pairs a sweep recorded as assessed.
CREATE TABLE assessed_scopes (
  sweep_id   text COLLATE "C" NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  account_id text COLLATE "C" NOT NULL,
  region     text COLLATE "C" NOT NULL,
  PRIMARY KEY (sweep_id, account_id, region)
);
