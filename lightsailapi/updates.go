package lightsailapi

import (
	"context"

	"iamd"
	"iamd/awsjson"
)

// Changes to a bucket after its creation, as Terraform's
// aws_lightsail_bucket makes them: tags, bundle, versioning. Lightsail
// names the tagged resource by resourceName (a bucket's name here).

type operationsResult struct {
	Operations []operation `json:"operations"`
}

// bucketResult is the answer of CreateBucket and UpdateBucket.
type bucketResult struct {
	Bucket     bucket      `json:"bucket"`
	Operations []operation `json:"operations"`
}

func (a *API) tagResource(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		ResourceName *string `json:"resourceName"`
		ResourceArn  *string `json:"resourceArn"`
		Tags         []tag   `json:"tags"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	name, err := bucketName(in.ResourceName)
	if err != nil {
		return nil, err
	}
	if in.Tags == nil {
		return nil, invalid("tags is required.")
	}
	tags, err := parseTags(in.Tags)
	if err != nil {
		return nil, err
	}
	op, err := a.svc.TagBucket(ctx, c, name, tags)
	if err != nil {
		return nil, err
	}
	return operationsResult{a.operations(op)}, nil
}

func (a *API) untagResource(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		ResourceName *string  `json:"resourceName"`
		ResourceArn  *string  `json:"resourceArn"`
		TagKeys      []string `json:"tagKeys"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	name, err := bucketName(in.ResourceName)
	if err != nil {
		return nil, err
	}
	if in.TagKeys == nil {
		return nil, invalid("tagKeys is required.")
	}
	op, err := a.svc.UntagBucket(ctx, c, name, in.TagKeys)
	if err != nil {
		return nil, err
	}
	return operationsResult{a.operations(op)}, nil
}

func (a *API) updateBucketBundle(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		BucketName *string `json:"bucketName"`
		BundleID   *string `json:"bundleId"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	name, err := bucketName(in.BucketName)
	if err != nil {
		return nil, err
	}
	bundle, err := required("bundleId", in.BundleID)
	if err != nil {
		return nil, err
	}
	if !a.activeBundle(bundle) {
		return nil, invalid("The bundle %q does not exist. GetBucketBundles lists the bundles.", clip(bundle))
	}
	op, err := a.svc.UpdateBucketBundle(ctx, c, name, bundle)
	if err != nil {
		return nil, err
	}
	return operationsResult{a.operations(op)}, nil
}

func (a *API) updateBucket(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		BucketName             *string         `json:"bucketName"`
		Versioning             *string         `json:"versioning"`
		AccessRules            *map[string]any `json:"accessRules"`
		ReadonlyAccessAccounts *[]string       `json:"readonlyAccessAccounts"`
		AccessLogConfig        *map[string]any `json:"accessLogConfig"`
		Cors                   *map[string]any `json:"cors"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	name, err := bucketName(in.BucketName)
	if err != nil {
		return nil, err
	}
	if in.AccessRules != nil || in.ReadonlyAccessAccounts != nil || in.AccessLogConfig != nil || in.Cors != nil {
		return nil, invalid("Only versioning can be changed: iamd keeps no access rules, read-only accounts, access logs or CORS for buckets.")
	}
	var versioning *bool
	if in.Versioning != nil {
		switch *in.Versioning {
		case "Enabled":
			versioning = new(bool)
			*versioning = true
		case "Suspended":
			versioning = new(bool)
		default:
			return nil, invalid("versioning must be Enabled or Suspended, not %q.", clip(*in.Versioning))
		}
	}
	b, op, err := a.svc.UpdateBucket(ctx, c, name, versioning)
	if err != nil {
		return nil, err
	}
	return bucketResult{a.bucket(b), a.operations(op)}, nil
}
