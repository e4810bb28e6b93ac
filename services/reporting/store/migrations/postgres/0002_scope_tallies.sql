-- 0002: counts of findings by scope and outcome, so that a listing's total
-- costs a few rows whatever the sweep's size, and indexes that read filtered
-- findings in key order (the order of every listing).

-- Counts per (region, control, status, severity, suppressed), kept in the
-- transaction that inserts the findings, like sweep_tallies. A total whose
-- filter names no account is a sum over these rows (a few thousand per sweep
-- at most: regions x controls x outcomes).
CREATE TABLE sweep_scope_tallies (
  sweep_id   text COLLATE "C" NOT NULL REFERENCES sweeps (id) ON DELETE CASCADE,
  region     text COLLATE "C" NOT NULL,
  control_id text COLLATE "C" NOT NULL,
  status     smallint NOT NULL,
  severity   smallint NOT NULL,
  suppressed boolean  NOT NULL,
  n          bigint   NOT NULL,
  PRIMARY KEY (sweep_id, region, control_id, status, severity, suppressed)
);
INSERT INTO sweep_scope_tallies (sweep_id, region, control_id, status, severity, suppressed, n)
  SELECT sweep_id, region, control_id, status, severity, suppressed, COUNT(*) FROM findings
  GROUP BY sweep_id, region, control_id, status, severity, suppressed;

-- The reference to sweeps goes: its check ran a trigger and a lookup per
-- inserted finding, about a quarter of an insert's time, and it guarded
-- nothing RecordFindings does not: the only writer creates the sweep row and
-- locks it (FOR UPDATE) in the transaction that inserts its findings, and
-- nothing deletes a sweep. A future delete of a sweep must delete its
-- findings itself.
ALTER TABLE findings DROP CONSTRAINT findings_sweep_id_fkey;

-- Totals no longer scan findings_by_outcome. In its place, two indexes that
-- read a listing in order after a status or a control: in the order of
-- (account, region, control), and the few findings of one account, region
-- and control are sorted by resource ARN and field path as they are read
-- (an incremental sort). Every filter column is in both, so a filter is
-- decided inside the index (as an index condition) and only the findings of
-- the page are read from the heap: status = FAIL (with any severity) and one
-- control (with any region) list in order however rare their matches. The
-- ARN and field path stay out of them: an entry half the size makes each
-- recorded finding cheaper to index, and keeps more of the indexes in
-- memory while a large sweep is recorded in no particular order of
-- accounts. One account lists in order through the primary key.
DROP INDEX findings_by_outcome;
CREATE INDEX findings_by_status ON findings (sweep_id, status, account_id, region, control_id, severity, suppressed);
CREATE INDEX findings_by_control ON findings (sweep_id, control_id, account_id, region, status, severity, suppressed);
