-- The job claim reads due jobs in order and stops at its limit: the index gives the order whole.
CREATE INDEX jobs_due ON jobs (state, run_at, id);
DROP INDEX jobs_ready;
