-- The unique IDs of the users and roles a trust policy names, bound when
-- it was written (JSON: ARN -> ID), as IAM binds them: a user deleted and
-- made again under its name is not the principal the policy trusted.
ALTER TABLE iam_roles ADD COLUMN trust_ids TEXT NOT NULL DEFAULT '{}';
