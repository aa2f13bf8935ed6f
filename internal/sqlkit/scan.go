package sqlkit

import (
	"fmt"

	"iamd"
)

// Row is what both drivers' rows offer: *sql.Row, *sql.Rows and pgx.Row.
type Row interface {
	Scan(dest ...any) error
}

// Column lists of the tables both stores share, in the order the scanners
// below read them.
const (
	UserCols   = `id, name, path, created_at, tags, boundary`
	BucketCols = `id, name, bundle_id, created_at, tags, versioning, principal_id, account`
	OpCols     = `id, resource_name, resource_type, operation_type, created_at`
)

// ScanUser reads UserCols.
func ScanUser(row Row) (*iamd.User, error) {
	var u iamd.User
	var created int64
	var tags string
	if err := row.Scan(&u.ID, &u.Name, &u.Path, &created, &tags, &u.Boundary); err != nil {
		return nil, err
	}
	u.CreatedAt = FromMS(created)
	var err error
	if u.Tags, err = ParseTags(tags); err != nil {
		return nil, fmt.Errorf("corrupt tags of user %s: %w", u.ID, err)
	}
	return &u, nil
}

// ScanBucket reads BucketCols.
func ScanBucket(row Row) (*iamd.Bucket, error) {
	var b iamd.Bucket
	var created int64
	var tags string
	if err := row.Scan(&b.ID, &b.Name, &b.BundleID, &created, &tags, &b.Versioning, &b.PrincipalID, &b.Account); err != nil {
		return nil, err
	}
	b.CreatedAt = FromMS(created)
	var err error
	if b.Tags, err = ParseTags(tags); err != nil {
		return nil, fmt.Errorf("corrupt tags of bucket %s: %w", b.Name, err)
	}
	return &b, nil
}

// ScanOp reads OpCols.
func ScanOp(row Row) (*iamd.Operation, error) {
	var op iamd.Operation
	var created int64
	if err := row.Scan(&op.ID, &op.ResourceName, &op.ResourceType, &op.Type, &created); err != nil {
		return nil, err
	}
	op.CreatedAt = FromMS(created)
	return &op, nil
}

// LastUsed receives the nullable last_used_* columns; both drivers scan
// NULL into a nil pointer.
type LastUsed struct {
	At              *int64
	Region, Service *string
}

// Value is the domain form: the zero LastUsed when the key was never used.
func (l LastUsed) Value() iamd.LastUsed {
	if l.At == nil {
		return iamd.LastUsed{}
	}
	return iamd.LastUsed{At: FromMS(*l.At), Region: deref(l.Region), Service: deref(l.Service)}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
