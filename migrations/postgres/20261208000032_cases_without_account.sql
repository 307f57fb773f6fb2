-- Cases of people without an account (issue 22: counter intake, cases a department's system
-- started itself): `applicant_id` may be NULL, the applicant then known by the keyed hash of
-- their ID number (`applicant_key`, the same hash as accounts.id_number_hash) so that the case
-- joins their 我的办件 once they have an account; and where a case came from (`channel`).
ALTER TABLE cases ALTER COLUMN applicant_id DROP NOT NULL;
ALTER TABLE cases ADD COLUMN channel TEXT NOT NULL DEFAULT 'online'
    CHECK (channel IN ('online', 'counter', 'department'));
ALTER TABLE cases ADD COLUMN applicant_key TEXT;
CREATE INDEX cases_unclaimed ON cases (applicant_key) WHERE applicant_id IS NULL;
