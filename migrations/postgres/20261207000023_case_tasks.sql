-- 待办 and 办件统计: the open cases, and all the cases, of a person or an enterprise.
CREATE INDEX cases_applicant_open ON cases (applicant_id, is_open);
CREATE INDEX cases_enterprise_open ON cases (enterprise_id, is_open);
