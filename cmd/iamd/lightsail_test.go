package main

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/lightsail"
	lstypes "github.com/aws/aws-sdk-go-v2/service/lightsail/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func (s *testServer) lightsail(id, secret string) *lightsail.Client {
	return lightsail.NewFromConfig(s.awsConfig(id, secret))
}

func mustBucket(t *testing.T, ls *lightsail.Client, name string) {
	t.Helper()
	if _, err := ls.CreateBucket(ctx, &lightsail.CreateBucketInput{BucketName: aws.String(name), BundleId: aws.String("small_1_0")}); err != nil {
		t.Fatal(err)
	}
}

func TestLightsailBucketKeys(t *testing.T) {
	s := start(t)
	ls := s.lightsail(rootID, rootSecret)
	out, err := ls.CreateBucket(ctx, &lightsail.CreateBucketInput{BucketName: aws.String("photos"), BundleId: aws.String("small_1_0"),
		Tags: []lstypes.Tag{{Key: aws.String("team"), Value: aws.String("a")}}})
	if err != nil {
		t.Fatal(err)
	}
	b := out.Bucket
	if *b.Name != "photos" || *b.BundleId != "small_1_0" || !strings.HasPrefix(*b.Arn, "arn:aws:lightsail:us-east-1:123456789012:Bucket/") ||
		*b.State.Code != "OK" || len(b.Tags) != 1 || time.Since(*b.CreatedAt) > time.Minute {
		t.Fatalf("bucket %+v", b)
	}
	if len(out.Operations) != 1 || out.Operations[0].OperationType != lstypes.OperationTypeCreateBucket || out.Operations[0].Status != lstypes.OperationStatusSucceeded {
		t.Fatalf("operations %+v", out.Operations)
	}

	k, err := ls.CreateBucketAccessKey(ctx, &lightsail.CreateBucketAccessKeyInput{BucketName: aws.String("photos")})
	if err != nil {
		t.Fatal(err)
	}
	key := k.AccessKey
	if !reKeyID.MatchString(*key.AccessKeyId) || !reSecret.MatchString(*key.SecretAccessKey) || key.Status != lstypes.StatusTypeActive ||
		key.CreatedAt == nil || key.LastUsed != nil {
		t.Fatalf("access key %+v", key)
	}
	op := k.Operations[0]
	if *op.ResourceName != "photos" || op.ResourceType != lstypes.ResourceTypeBucket || op.OperationType != lstypes.OperationTypeCreateBucketAccessKey ||
		!*op.IsTerminal || op.Status != lstypes.OperationStatusSucceeded || op.Location.RegionName != "us-east-1" || op.StatusChangedAt == nil {
		t.Fatalf("operation %+v", op)
	}
	got, err := ls.GetOperation(ctx, &lightsail.GetOperationInput{OperationId: op.Id})
	if err != nil || *got.Operation.Id != *op.Id || got.Operation.OperationType != op.OperationType {
		t.Fatalf("GetOperation %+v %v", got, err)
	}
	ops, err := ls.GetOperations(ctx, &lightsail.GetOperationsInput{})
	if err != nil || len(ops.Operations) != 2 || *ops.Operations[0].Id != *op.Id {
		t.Fatalf("GetOperations %+v %v", ops, err)
	}

	list, err := ls.GetBucketAccessKeys(ctx, &lightsail.GetBucketAccessKeysInput{BucketName: aws.String("photos")})
	if err != nil || len(list.AccessKeys) != 1 {
		t.Fatalf("GetBucketAccessKeys %+v %v", list, err)
	}
	lk := list.AccessKeys[0]
	if lk.SecretAccessKey != nil || *lk.LastUsed.Region != "N/A" || *lk.LastUsed.ServiceName != "N/A" || lk.LastUsed.LastUsedDate != nil {
		t.Fatalf("listed before use: %+v %+v", lk, lk.LastUsed)
	}

	// The key is a real credential for STS, scoped to its bucket.
	id, err := s.sts(*key.AccessKeyId, *key.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	// It signs as the bucket itself: an ARN no IAM user can have.
	bs, berr := ls.GetBuckets(ctx, &lightsail.GetBucketsInput{BucketName: aws.String("photos")})
	if berr != nil {
		t.Fatal(berr)
	}
	if err != nil || *id.Arn != *bs.Buckets[0].Arn || !strings.HasPrefix(*id.Arn, "arn:aws:lightsail:us-east-1:"+account+":Bucket/") || *id.Account != account {
		t.Fatalf("bucket key identity %+v %v", id, err)
	}
	list, _ = ls.GetBucketAccessKeys(ctx, &lightsail.GetBucketAccessKeysInput{BucketName: aws.String("photos")})
	lu := list.AccessKeys[0].LastUsed
	if lu.LastUsedDate == nil || time.Since(*lu.LastUsedDate).Abs() > 5*time.Second || *lu.ServiceName != "sts" || *lu.Region != "us-east-1" {
		t.Fatalf("last used after a request: %+v", lu)
	}
	_, err = s.iam(*key.AccessKeyId, *key.SecretAccessKey).ListUsers(ctx, &iam.ListUsersInput{})
	wantAPIError(t, err, "AccessDenied", 403)
	_, err = s.lightsail(*key.AccessKeyId, *key.SecretAccessKey).GetBuckets(ctx, &lightsail.GetBucketsInput{})
	wantAPIError(t, err, "AccessDeniedException", 400)
	var ad *lstypes.AccessDeniedException
	if !errors.As(err, &ad) {
		t.Fatalf("not an AccessDeniedException: %T", err)
	}

	// The secret is never shown again.
	if strings.Contains(s.Logs.String(), *key.SecretAccessKey) {
		t.Fatal("the log holds the bucket key's secret")
	}

	// Delete: the key is refused on its next request.
	if _, err := ls.DeleteBucketAccessKey(ctx, &lightsail.DeleteBucketAccessKeyInput{BucketName: aws.String("photos"), AccessKeyId: key.AccessKeyId}); err != nil {
		t.Fatal(err)
	}
	_, err = s.sts(*key.AccessKeyId, *key.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	wantAPIError(t, err, "InvalidClientTokenId", 403)
	_, err = ls.DeleteBucketAccessKey(ctx, &lightsail.DeleteBucketAccessKeyInput{BucketName: aws.String("photos"), AccessKeyId: key.AccessKeyId})
	var nf *lstypes.NotFoundException
	if !errors.As(err, &nf) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestLightsailLimitsAndDelete(t *testing.T) {
	s := start(t)
	ls := s.lightsail(rootID, rootSecret)
	mustBucket(t, ls, "photos")
	var wg sync.WaitGroup
	errs := make([]error, 16)
	keys := make([]*lstypes.AccessKey, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := ls.CreateBucketAccessKey(ctx, &lightsail.CreateBucketAccessKeyInput{BucketName: aws.String("photos")})
			errs[i] = err
			if err == nil {
				keys[i] = out.AccessKey
			}
		}()
	}
	wg.Wait()
	ok := 0
	var live []*lstypes.AccessKey
	for i, err := range errs {
		if err == nil {
			ok++
			live = append(live, keys[i])
			continue
		}
		var ie *lstypes.InvalidInputException
		if !errors.As(err, &ie) || !strings.Contains(*ie.Message, "maximum of 2 access keys per bucket") {
			t.Fatalf("refused create: %v", err)
		}
	}
	if ok != 2 {
		t.Fatalf("%d of 16 concurrent bucket key creates succeeded, want exactly 2", ok)
	}

	var ie *lstypes.InvalidInputException
	_, err := ls.CreateBucket(ctx, &lightsail.CreateBucketInput{BucketName: aws.String("photos"), BundleId: aws.String("small_1_0")})
	if !errors.As(err, &ie) {
		t.Fatalf("duplicate bucket: %v", err)
	}
	for _, bad := range []*lightsail.CreateBucketInput{
		{BucketName: aws.String("No_Caps"), BundleId: aws.String("small_1_0")},
		{BucketName: aws.String("ab"), BundleId: aws.String("small_1_0")},
		{BucketName: aws.String("fine-name"), BundleId: aws.String("nope_1_0")},
	} {
		if _, err := ls.CreateBucket(ctx, bad); !errors.As(err, &ie) {
			t.Fatalf("CreateBucket(%s, %s): %v", *bad.BucketName, *bad.BundleId, err)
		}
	}
	var nf *lstypes.NotFoundException
	if _, err := ls.CreateBucketAccessKey(ctx, &lightsail.CreateBucketAccessKeyInput{BucketName: aws.String("nope")}); !errors.As(err, &nf) {
		t.Fatalf("key for unknown bucket: %v", err)
	}
	if _, err := ls.GetBuckets(ctx, &lightsail.GetBucketsInput{BucketName: aws.String("nope")}); !errors.As(err, &nf) {
		t.Fatalf("GetBuckets(nope): %v", err)
	}

	// A bucket with keys is deleted only with forceDelete, and its keys with it.
	if _, err := ls.DeleteBucket(ctx, &lightsail.DeleteBucketInput{BucketName: aws.String("photos")}); !errors.As(err, &ie) {
		t.Fatalf("DeleteBucket with keys: %v", err)
	}
	for _, k := range live {
		if _, err := s.sts(*k.AccessKeyId, *k.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
			t.Fatalf("key after refused delete: %v", err)
		}
	}
	if _, err := ls.DeleteBucket(ctx, &lightsail.DeleteBucketInput{BucketName: aws.String("photos"), ForceDelete: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	for _, k := range live {
		_, err := s.sts(*k.AccessKeyId, *k.SecretAccessKey).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		wantAPIError(t, err, "InvalidClientTokenId", 403)
	}
	bs, err := ls.GetBuckets(ctx, &lightsail.GetBucketsInput{})
	if err != nil || len(bs.Buckets) != 0 {
		t.Fatalf("buckets after delete: %+v %v", bs, err)
	}
	bundles, err := ls.GetBucketBundles(ctx, &lightsail.GetBucketBundlesInput{})
	if err != nil || len(bundles.Bundles) != 3 || *bundles.Bundles[0].BundleId != "small_1_0" {
		t.Fatalf("bundles %+v %v", bundles, err)
	}

	// IAM users may not manage buckets until policies exist.
	mustUser(t, s, "Bob")
	bk := mustKey(t, s.root(), "Bob")
	_, err = s.lightsail(*bk.AccessKeyId, *bk.SecretAccessKey).CreateBucket(ctx, &lightsail.CreateBucketInput{BucketName: aws.String("bobs"), BundleId: aws.String("small_1_0")})
	wantAPIError(t, err, "AccessDeniedException", 400)
}
