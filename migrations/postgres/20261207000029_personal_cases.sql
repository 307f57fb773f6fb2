-- A person's own cases (not those they submitted for an enterprise), for 我的空间 and 我的待办: an
-- agent who filed thousands of an enterprise's cases still finds their own few through an index.
CREATE INDEX cases_personal_open ON cases (applicant_id, is_open) WHERE enterprise_id IS NULL;
CREATE INDEX cases_personal_submitted ON cases (applicant_id, submitted_at) WHERE enterprise_id IS NULL;
