DROP TABLE exam_plan_candidates;
DROP TABLE exam_plans;
