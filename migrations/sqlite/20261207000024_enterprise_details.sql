-- 企业信息维护: what an enterprise's administrators keep current besides its name and legal
-- representative. The contact number is sealed like every phone number (SM4).
ALTER TABLE enterprises ADD COLUMN address TEXT NOT NULL DEFAULT '';
ALTER TABLE enterprises ADD COLUMN contact_name TEXT NOT NULL DEFAULT '';
ALTER TABLE enterprises ADD COLUMN contact_phone_enc TEXT NOT NULL DEFAULT '';
ALTER TABLE enterprises ADD COLUMN updated_at TEXT;
