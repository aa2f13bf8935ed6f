package iamd

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
)

// Lightsail-style buckets and their access keys. Every change is
// synchronous and is recorded as a Succeeded operation that GetOperation
// can return later, as Terraform's provider expects.

// NewUUID returns a random (version 4) UUID.
func NewUUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	hex.Encode(out[9:13], b[4:6])
	hex.Encode(out[14:18], b[6:8])
	hex.Encode(out[19:23], b[8:10])
	hex.Encode(out[24:], b[10:])
	out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
	return string(out[:]), nil
}

// operation records that opType happened to bucket name.
func (s *Service) operation(ctx context.Context, opType, name string) (*Operation, error) {
	id, err := NewUUID(s.rand)
	if err != nil {
		return nil, err
	}
	op := &Operation{ID: id, ResourceName: name, ResourceType: "Bucket", Type: opType, CreatedAt: s.timestamp()}
	if err := s.store.PutOperation(ctx, op); err != nil {
		return nil, err
	}
	return op, nil
}

// CreateBucket creates a bucket. Its name and bundle are already valid.
func (s *Service) CreateBucket(ctx context.Context, c *Caller, name, bundleID string, tags []Tag, versioning bool) (*Bucket, *Operation, error) {
	if err := s.authorize(ctx, c, "lightsail:CreateBucket", on("*")); err != nil {
		return nil, nil, err
	}
	id, err := NewUUID(s.rand)
	if err != nil {
		return nil, nil, err
	}
	pid, err := NewUserID(s.rand)
	if err != nil {
		return nil, nil, err
	}
	b := &Bucket{ID: id, Name: name, BundleID: bundleID, CreatedAt: s.timestamp(), Tags: tags, Versioning: versioning, PrincipalID: pid}
	if s.objects != nil {
		// The object store first: iamd never records a bucket the store
		// does not have. A failure here leaves nothing; a crash between
		// the two leaves an empty bucket in the store that the next
		// CreateBucket of that name takes over.
		if _, err := s.store.GetBucket(ctx, name); err == nil {
			return nil, nil, BucketExists(name)
		}
		if err := s.objects.CreateBucket(ctx, name); err != nil {
			return nil, nil, err
		}
	}
	if err := s.store.CreateBucket(ctx, b); err != nil {
		if s.objects != nil && !errors.Is(err, ErrAlreadyExists) {
			if derr := s.objects.DeleteBucket(context.WithoutCancel(ctx), name, false); derr != nil {
				s.log.Warn("a bucket made in the object store could not be removed after iamd failed to record it", "bucket", name, "err", derr)
			}
		}
		return nil, nil, err
	}
	op, err := s.operation(ctx, "CreateBucket", name)
	return b, op, err
}

// BucketURL is where clients reach the bucket's objects, or "" when iamd
// has no object store.
func (s *Service) BucketURL(name string) string {
	if s.objects == nil {
		return ""
	}
	return s.objects.URL(name)
}

// GetBucket returns the named bucket.
func (s *Service) GetBucket(ctx context.Context, c *Caller, name string) (*Bucket, error) {
	if err := s.authorize(ctx, c, "lightsail:GetBuckets", s.bucketARN(ctx, c, name)); err != nil {
		return nil, err
	}
	return s.store.GetBucket(ctx, name)
}

// ListBuckets lists buckets by name.
func (s *Service) ListBuckets(ctx context.Context, c *Caller, p Page) ([]*Bucket, string, error) {
	if err := s.authorize(ctx, c, "lightsail:GetBuckets", on("*")); err != nil {
		return nil, "", err
	}
	return s.store.ListBuckets(ctx, p)
}

// DeleteBucket deletes a bucket; with force, its access keys too, which
// are refused from the next request on.
func (s *Service) DeleteBucket(ctx context.Context, c *Caller, name string, force bool) (*Operation, error) {
	if err := s.authorize(ctx, c, "lightsail:DeleteBucket", s.bucketARN(ctx, c, name)); err != nil {
		return nil, err
	}
	if s.objects != nil {
		// iamd forgets the bucket only once the object store has removed
		// it: a failure leaves both as they were, and a crash between the
		// two leaves a record whose next DeleteBucket completes.
		if _, err := s.store.GetBucket(ctx, name); err != nil {
			return nil, err
		}
		if !force {
			keys, _, err := s.store.ListAccessKeys(ctx, BucketOwner(name), Page{MaxItems: 1})
			if err != nil {
				return nil, err
			}
			if len(keys) > 0 {
				return nil, BucketHasKeys(name)
			}
		}
		if err := s.objects.DeleteBucket(ctx, name, force); err != nil {
			return nil, err
		}
	}
	keys, err := s.store.DeleteBucket(ctx, name, force)
	for _, id := range keys {
		s.forget(id)
	}
	if err != nil {
		return nil, err
	}
	return s.operation(ctx, "DeleteBucket", name)
}

// CreateBucketAccessKey creates an Active key for a bucket and returns it
// with its secret, which is never available again.
func (s *Service) CreateBucketAccessKey(ctx context.Context, c *Caller, bucket string) (*AccessKey, string, *Operation, error) {
	owner := BucketOwner(bucket)
	if err := s.authorize(ctx, c, "lightsail:CreateBucketAccessKey", s.bucketARN(ctx, c, bucket)); err != nil {
		return nil, "", nil, err
	}
	k, secret, err := s.newKey(ctx, owner, "", "")
	if err != nil {
		return nil, "", nil, err
	}
	op, err := s.operation(ctx, "CreateBucketAccessKey", bucket)
	return k, secret, op, err
}

// ListBucketAccessKeys returns a bucket's keys with their last use.
func (s *Service) ListBucketAccessKeys(ctx context.Context, c *Caller, bucket string) ([]*AccessKey, error) {
	owner := BucketOwner(bucket)
	if err := s.authorize(ctx, c, "lightsail:GetBucketAccessKeys", s.bucketARN(ctx, c, bucket)); err != nil {
		return nil, err
	}
	keys, _, err := s.store.ListAccessKeys(ctx, owner, Page{MaxItems: 100})
	for _, k := range keys {
		k.LastUsed = s.lastUsed(k.ID, k.LastUsed)
	}
	return keys, err
}

// DeleteBucketAccessKey deletes a bucket's key.
func (s *Service) DeleteBucketAccessKey(ctx context.Context, c *Caller, bucket, id string) (*Operation, error) {
	owner := BucketOwner(bucket)
	if err := s.authorize(ctx, c, "lightsail:DeleteBucketAccessKey", s.bucketARN(ctx, c, bucket)); err != nil {
		return nil, err
	}
	err := s.store.DeleteAccessKey(ctx, owner, id)
	s.forget(id)
	if err != nil {
		return nil, err
	}
	return s.operation(ctx, "DeleteBucketAccessKey", bucket)
}

// GetOperation returns a recorded operation.
func (s *Service) GetOperation(ctx context.Context, c *Caller, id string) (*Operation, error) {
	if err := s.authorize(ctx, c, "lightsail:GetOperation", on("*")); err != nil {
		return nil, err
	}
	return s.store.GetOperation(ctx, id)
}

// ListOperations lists recorded operations, newest first.
func (s *Service) ListOperations(ctx context.Context, c *Caller, p Page) ([]*Operation, string, error) {
	if err := s.authorize(ctx, c, "lightsail:GetOperations", on("*")); err != nil {
		return nil, "", err
	}
	return s.store.ListOperations(ctx, p)
}
