-- PermissionsBoundaryUsageCount and ListPolicies' PolicyUsageFilter look
-- users and roles up by their boundary.
CREATE INDEX users_boundary ON users(boundary) WHERE boundary <> '';
CREATE INDEX iam_roles_boundary ON iam_roles(boundary) WHERE boundary <> '';
