-- irreversible in spirit: papers keep question versions
DROP TABLE question_versions;
DROP TABLE questions;
