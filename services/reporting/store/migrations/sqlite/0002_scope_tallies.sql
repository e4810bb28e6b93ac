-- 0002: counts of findings by scope and outcome, so that a listing's total
-- costs a few rows whatever the sweep's size, and indexes that read filtered
-- findings in key order (the order of every listing).

-- Counts per (region, control, status, severity, suppressed), kept in the
-- transaction that inserts the findings, like sweep_tallies. A total whose
-- filter names no account is a sum over these rows (a few thousand per sweep
-- at most: regions x controls x outcomes).
CREATE TABLE sweep_scope_tallies (
  sweep_id   TEXT    NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  region     TEXT    NOT NULL,
  control_id TEXT    NOT NULL,
  status     INTEGER NOT NULL,
  severity   INTEGER NOT NULL,
  suppressed INTEGER NOT NULL,
  n          INTEGER NOT NULL,
  PRIMARY KEY (sweep_id, region, control_id, status, severity, suppressed)
) WITHOUT ROWID;
INSERT INTO sweep_scope_tallies (sweep_id, region, control_id, status, severity, suppressed, n)
  SELECT sweep_id, region, control_id, status, severity, suppressed, COUNT(*) FROM findings
  GROUP BY sweep_id, region, control_id, status, severity, suppressed;

-- findings is rebuilt as a table clustered on its key (WITHOUT ROWID): the
-- key's index was a second copy of every key beside the rowid table, so each
-- insert wrote one B-tree more, and a listing in key order looked every row
-- up in the table. Its rows (about 500 bytes) stay far below the size at
-- which SQLite moves a WITHOUT ROWID row to overflow pages.
--
-- The reference to sweeps goes: RecordFindings, the only writer, creates the
-- sweep row in the transaction that inserts its findings, and nothing
-- deletes a sweep, so the check only cost a lookup per finding. A future
-- delete of a sweep must delete its findings itself.
CREATE TABLE findings_v2 (
  sweep_id      TEXT    NOT NULL,
  account_id    TEXT    NOT NULL,
  region        TEXT    NOT NULL,
  control_id    TEXT    NOT NULL,
  resource_arn  TEXT    NOT NULL,
  field_path    TEXT    NOT NULL,
  severity      INTEGER NOT NULL,          -- evaluationv1.Severity
  status        INTEGER NOT NULL,          -- evaluationv1.FindingStatus
  suppressed    INTEGER NOT NULL,          -- 0 or 1
  resource_type TEXT    NOT NULL,
  body          BLOB    NOT NULL,          -- proto.Marshal of the evaluationv1.Finding
  -- The identity of a finding and the order of every listing.
  PRIMARY KEY (sweep_id, account_id, region, control_id, resource_arn, field_path)
) WITHOUT ROWID;
INSERT INTO findings_v2 (sweep_id, account_id, region, control_id, resource_arn, field_path, severity, status, suppressed, resource_type, body)
  SELECT sweep_id, account_id, region, control_id, resource_arn, field_path, severity, status, suppressed, resource_type, body FROM findings;
DROP TABLE findings; -- and findings_by_outcome with it
ALTER TABLE findings_v2 RENAME TO findings;

-- Totals no longer scan findings_by_outcome. In its place, two indexes that
-- hold a listing's order after a status or a control, and the outcome
-- columns last, so a filter is decided inside the index and only the
-- findings of the page are read from the table: status = FAIL (with any
-- severity) and one control (with any region) list in order, however rare
-- their matches. One account lists in order through the table's key.
CREATE INDEX findings_by_status ON findings (sweep_id, status, account_id, region, control_id, resource_arn, field_path, severity, suppressed);
CREATE INDEX findings_by_control ON findings (sweep_id, control_id, account_id, region, resource_arn, field_path, status, severity, suppressed);
