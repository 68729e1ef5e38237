-- An exemption a province grants (持法律职业资格，免考公共法律知识), carried from the plan: the part
-- the candidate does not sit ('' none). Their score is the rest, scaled to the batch's total.
ALTER TABLE exam_candidates ADD COLUMN exempt_part TEXT NOT NULL DEFAULT '';
