ALTER TABLE exam_candidates DROP COLUMN exempt_part;
