-- A user's or role's permissions boundary: the ARN of the managed policy
-- that bounds what its identity policies can grant ('' for none).
ALTER TABLE users ADD COLUMN boundary TEXT NOT NULL DEFAULT '';
ALTER TABLE iam_roles ADD COLUMN boundary TEXT NOT NULL DEFAULT '';
