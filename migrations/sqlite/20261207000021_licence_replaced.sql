-- 换发: a licence re-issued (corrected, renewed) is revoked and names its successor.
ALTER TABLE licences ADD COLUMN replaced_by TEXT;  -- the successor's identifier
