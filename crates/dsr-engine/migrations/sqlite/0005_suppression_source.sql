-- Why an identity hash is on the suppression list: `opt_out` (an opt-out request), `gpc` (a
-- Global Privacy Control signal sent with any request), `minor_not_opted_in` (the records show
-- a subject under 16, who has not opted in to sale). Rows from before this migration were
-- opt-outs.
ALTER TABLE suppressions ADD COLUMN source TEXT NOT NULL DEFAULT 'opt_out';
