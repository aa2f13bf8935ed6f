// Package s3objects is iamd's ObjectStore on an S3 endpoint (an object
// gateway such as versitygw): Lightsail buckets are made and removed there.
// It signs with an access key of iamd's root, which the gateway checks
// through iamd like any other key, so no other secret is configured.
package s3objects

import (
	"context"
	"errors"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"iamd"
)

// Store is an iamd.ObjectStore on one S3 endpoint, path-style.
type Store struct {
	endpoint string
	client   *s3.Client
}

// Credentials returns the key to sign with: an ID and its secret.
type Credentials func(ctx context.Context) (id string, secret []byte, err error)

// New returns a Store at endpoint (http://host:port) in region.
func New(endpoint, region string, creds Credentials) *Store {
	endpoint = strings.TrimSuffix(endpoint, "/")
	provider := aws.CredentialsProviderFunc(func(ctx context.Context) (aws.Credentials, error) {
		id, secret, err := creds(ctx)
		if err != nil {
			return aws.Credentials{}, err
		}
		return aws.Credentials{AccessKeyID: id, SecretAccessKey: string(secret), Source: "iamd root"}, nil
	})
	c := s3.New(s3.Options{
		Region:       region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  provider,
		// A failure is reported to the Lightsail caller, who may retry;
		// the calls are idempotent either way.
		RetryMaxAttempts: 2,
	})
	return &Store{endpoint: endpoint, client: c}
}

// URL is the bucket's path-style address on the endpoint.
func (s *Store) URL(name string) string { return s.endpoint + "/" + name + "/" }

// CreateBucket makes the bucket; one that exists and is already iamd's is
// not an error.
func (s *Store) CreateBucket(ctx context.Context, name string) error {
	_, err := s.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	var owned *types.BucketAlreadyOwnedByYou
	if err == nil || errors.As(err, &owned) {
		return nil
	}
	return unavailable("create bucket "+name, err)
}

// DeleteBucket deletes the bucket, with force its objects first (and their
// versions and unfinished uploads); a bucket that does not exist is not an
// error.
func (s *Store) DeleteBucket(ctx context.Context, name string, force bool) error {
	if force {
		if err := s.empty(ctx, name); err != nil {
			return err
		}
	}
	_, err := s.client.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(name)})
	switch code := errorCode(err); {
	case err == nil, code == "NoSuchBucket":
		return nil
	case code == "BucketNotEmpty":
		return iamd.BucketNotEmpty(name)
	}
	return unavailable("delete bucket "+name, err)
}

// empty deletes every object and unfinished upload of the bucket.
func (s *Store) empty(ctx context.Context, name string) error {
	uploads := s3.NewListMultipartUploadsPaginator(s.client, &s3.ListMultipartUploadsInput{Bucket: aws.String(name)})
	for uploads.HasMorePages() {
		page, err := uploads.NextPage(ctx)
		if errorCode(err) == "NoSuchBucket" {
			return nil
		}
		if err != nil {
			return unavailable("list uploads of "+name, err)
		}
		for _, u := range page.Uploads {
			if _, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String(name), Key: u.Key, UploadId: u.UploadId}); err != nil && errorCode(err) != "NoSuchUpload" {
				return unavailable("abort an upload in "+name, err)
			}
		}
	}
	objects := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(name)})
	for objects.HasMorePages() {
		page, err := objects.NextPage(ctx)
		if errorCode(err) == "NoSuchBucket" {
			return nil
		}
		if err != nil {
			return unavailable("list objects of "+name, err)
		}
		if len(page.Contents) == 0 {
			continue
		}
		ids := make([]types.ObjectIdentifier, len(page.Contents))
		for i, o := range page.Contents {
			ids[i] = types.ObjectIdentifier{Key: o.Key}
		}
		out, err := s.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(name), Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)}})
		if err != nil {
			return unavailable("delete objects of "+name, err)
		}
		if len(out.Errors) > 0 {
			return iamd.Errorf(iamd.Unavailable, "the object store did not delete %d objects of %s", len(out.Errors), name)
		}
	}
	return nil
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// unavailable reports a failure of the object store: the Lightsail caller
// gets a ServiceException and may retry; the cause goes to the log.
func unavailable(what string, err error) error {
	return &iamd.Error{Kind: iamd.Unavailable, Message: "The object store could not " + what + ".", Err: err}
}
