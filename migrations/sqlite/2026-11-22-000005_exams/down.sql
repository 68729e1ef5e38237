DROP TABLE exam_attempt_events;
DROP TABLE exam_answers;
DROP TABLE exam_attempts;
DROP TABLE exam_batch_cells;
DROP TABLE exam_candidates;
DROP TABLE exam_sessions;
DROP TABLE exam_batches;
