-- Paper materials sent by the applicant to the department (纸质材料寄送) beside results sent to
-- the applicant: each case has at most one live shipment in each direction.
ALTER TABLE shipments ADD COLUMN direction TEXT NOT NULL DEFAULT 'result' CHECK (direction IN ('result', 'materials'));
DROP INDEX shipments_one_live;
CREATE UNIQUE INDEX shipments_one_live ON shipments (case_id, direction) WHERE state NOT IN ('returned', 'lost');
