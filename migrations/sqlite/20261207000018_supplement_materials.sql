-- Supplements per requested material: a request for more (补齐补正) lists the materials it asks
-- for, and each file the applicant gives with the answer says which of them it is.
ALTER TABLE case_events ADD COLUMN requested TEXT NOT NULL DEFAULT '[]';  -- JSON list of material names
ALTER TABLE case_files ADD COLUMN material TEXT NOT NULL DEFAULT '';      -- '' for staff's files
