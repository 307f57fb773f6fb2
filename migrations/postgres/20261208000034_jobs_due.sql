-- The job claim reads due jobs in order and stops at its limit (issue 22's benchmark: with 25,000
-- messages waiting, the claim read and sorted all of them, 20 ms a claim). The index gives the
-- order whole; the queue's statistics are refreshed sooner, as it grows and shrinks quickly.
CREATE INDEX jobs_due ON jobs (state, run_at, id);
DROP INDEX jobs_ready;
ALTER TABLE jobs SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_scale_factor = 0.05);
