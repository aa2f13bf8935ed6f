// Package lightsailapi serves Lightsail's bucket actions over JSON 1.1:
// it decodes and validates requests against botocore's Lightsail model,
// calls the domain Service, and shapes results and errors as Lightsail does.
package lightsailapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"unicode/utf8"

	"iamd"
	"iamd/awsjson"
)

// TargetPrefix is the X-Amz-Target prefix of Lightsail's operations.
const TargetPrefix = "Lightsail_20161128"

// Bundle is a bucket plan offered by GetBucketBundles.
type Bundle struct {
	BundleID             string  `json:"bundleId"`
	Name                 string  `json:"name"`
	Price                float64 `json:"price"`
	StoragePerMonthInGb  int     `json:"storagePerMonthInGb"`
	TransferPerMonthInGb int     `json:"transferPerMonthInGb"`
	IsActive             bool    `json:"isActive"`
}

//go:embed bundles.json
var defaultBundles []byte

// ParseBundles reads a bundle list in GetBucketBundles' JSON form.
func ParseBundles(b []byte) ([]Bundle, error) {
	var out []Bundle
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("bucket bundles: %w", err)
	}
	for _, x := range out {
		if x.BundleID == "" || x.Name == "" {
			return nil, errors.New("bucket bundles: every bundle needs a bundleId and a name")
		}
	}
	return out, nil
}

// DefaultBundles returns the built-in bundles: small_1_0, medium_1_0, large_1_0.
func DefaultBundles() []Bundle {
	b, err := ParseBundles(defaultBundles)
	if err != nil {
		panic(err) // embedded at build time and covered by a test
	}
	return b
}

// API is Lightsail's action table bound to a Service.
type API struct {
	svc     *iamd.Service
	bundles []Bundle
	actions map[string]func(ctx context.Context, c *iamd.Caller, body []byte) (any, error)
}

// New returns the Lightsail API for svc, offering bundles (nil: the defaults).
func New(svc *iamd.Service, bundles []Bundle) *API {
	if bundles == nil {
		bundles = DefaultBundles()
	}
	a := &API{svc: svc, bundles: bundles}
	a.actions = map[string]func(context.Context, *iamd.Caller, []byte) (any, error){
		"CreateBucket":          a.createBucket,
		"GetBuckets":            a.getBuckets,
		"DeleteBucket":          a.deleteBucket,
		"GetBucketBundles":      a.getBucketBundles,
		"CreateBucketAccessKey": a.createBucketAccessKey,
		"GetBucketAccessKeys":   a.getBucketAccessKeys,
		"DeleteBucketAccessKey": a.deleteBucketAccessKey,
		"GetOperation":          a.getOperation,
		"TagResource":           a.tagResource,
		"UntagResource":         a.untagResource,
		"UpdateBucketBundle":    a.updateBucketBundle,
		"UpdateBucket":          a.updateBucket,
		"GetOperations":         a.getOperations,
	}
	return a
}

// Do runs operation for caller with the raw JSON body.
func (a *API) Do(ctx context.Context, c *iamd.Caller, operation string, body []byte) (any, error) {
	fn, ok := a.actions[operation]
	if !ok {
		return nil, &awsjson.Error{Status: http.StatusBadRequest, Type: "UnknownOperationException", Message: "Lightsail has no operation " + clip(operation) + "."}
	}
	return fn(ctx, c, body)
}

// ---- wire shapes ----

type tag struct {
	Key   *string `json:"key,omitempty"`
	Value *string `json:"value,omitempty"`
}

type location struct {
	AvailabilityZone string `json:"availabilityZone"`
	RegionName       string `json:"regionName"`
}

type bucket struct {
	ResourceType             string       `json:"resourceType"`
	AccessRules              accessRules  `json:"accessRules"`
	Arn                      string       `json:"arn"`
	BundleID                 string       `json:"bundleId"`
	CreatedAt                awsjson.Time `json:"createdAt"`
	URL                      string       `json:"url,omitempty"`
	Location                 location     `json:"location"`
	Name                     string       `json:"name"`
	SupportCode              string       `json:"supportCode"`
	Tags                     []tag        `json:"tags"`
	ObjectVersioning         string       `json:"objectVersioning"`
	AbleToUpdateBundle       bool         `json:"ableToUpdateBundle"`
	ReadonlyAccessAccounts   []string     `json:"readonlyAccessAccounts"`
	ResourcesReceivingAccess []struct{}   `json:"resourcesReceivingAccess"`
	State                    struct {
		Code string `json:"code"`
	} `json:"state"`
	AccessLogConfig struct {
		Enabled bool `json:"enabled"`
	} `json:"accessLogConfig"`
}

type accessRules struct {
	GetObject            string `json:"getObject"`
	AllowPublicOverrides bool   `json:"allowPublicOverrides"`
}

type operation struct {
	ID              string       `json:"id"`
	ResourceName    string       `json:"resourceName"`
	ResourceType    string       `json:"resourceType"`
	CreatedAt       awsjson.Time `json:"createdAt"`
	Location        location     `json:"location"`
	IsTerminal      bool         `json:"isTerminal"`
	OperationType   string       `json:"operationType"`
	Status          string       `json:"status"`
	StatusChangedAt awsjson.Time `json:"statusChangedAt"`
}

type lastUsed struct {
	LastUsedDate *awsjson.Time `json:"lastUsedDate,omitempty"`
	Region       string        `json:"region"`
	ServiceName  string        `json:"serviceName"`
}

type accessKey struct {
	AccessKeyID     string       `json:"accessKeyId"`
	SecretAccessKey string       `json:"secretAccessKey,omitempty"`
	Status          string       `json:"status"`
	CreatedAt       awsjson.Time `json:"createdAt"`
	LastUsed        *lastUsed    `json:"lastUsed,omitempty"`
}

func (a *API) location() location {
	return location{AvailabilityZone: "all", RegionName: a.svc.Region()}
}

func (a *API) bucket(b *iamd.Bucket) bucket {
	acct, region := a.svc.Account().ID, a.svc.Region()
	// With an object store, the bucket's address there; without one the
	// bucket holds no objects anywhere, and has no address: url is left
	// out rather than name a bucket on AWS that does not exist.
	url := a.svc.BucketURL(b.Name)
	out := bucket{
		ResourceType: "Bucket", AccessRules: accessRules{GetObject: "private"},
		Arn: b.ARN(region, acct), BundleID: b.BundleID,
		CreatedAt: awsjson.Time(b.CreatedAt), URL: url,
		Location: a.location(), Name: b.Name, SupportCode: acct + "/" + b.ID, Tags: []tag{},
		ObjectVersioning: "NeverEnabled", AbleToUpdateBundle: true,
		ReadonlyAccessAccounts: []string{}, ResourcesReceivingAccess: []struct{}{},
	}
	if b.Versioning {
		out.ObjectVersioning = "Enabled"
	}
	out.State.Code = "OK"
	for _, t := range b.Tags {
		out.Tags = append(out.Tags, tag{Key: &t.Key, Value: &t.Value})
	}
	return out
}

func (a *API) operation(op *iamd.Operation) operation {
	return operation{
		ID: op.ID, ResourceName: op.ResourceName, ResourceType: op.ResourceType, CreatedAt: awsjson.Time(op.CreatedAt),
		Location: a.location(), IsTerminal: true, OperationType: op.Type, Status: "Succeeded", StatusChangedAt: awsjson.Time(op.CreatedAt),
	}
}

func (a *API) operations(op *iamd.Operation) []operation { return []operation{a.operation(op)} }

func (a *API) accessKey(k *iamd.AccessKey, secret string, withLastUsed bool) accessKey {
	out := accessKey{AccessKeyID: k.ID, SecretAccessKey: secret, Status: string(k.Status), CreatedAt: awsjson.Time(k.CreatedAt)}
	if withLastUsed {
		out.LastUsed = &lastUsed{Region: "N/A", ServiceName: "N/A"}
		if !k.LastUsed.At.IsZero() {
			at := awsjson.Time(k.LastUsed.At)
			out.LastUsed = &lastUsed{LastUsedDate: &at, Region: k.LastUsed.Region, ServiceName: k.LastUsed.Service}
		}
	}
	return out
}

// ---- validation ----

var reBucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,52}[a-z0-9]$`)

func invalid(format string, args ...any) error {
	return iamd.Errorf(iamd.Invalid, format, args...)
}

func bucketName(p *string) (string, error) {
	if p == nil {
		return "", invalid("bucketName is required.")
	}
	if !reBucketName.MatchString(*p) {
		return "", invalid("The bucket name %q is invalid: use 3 to 54 lowercase letters, digits and hyphens, starting and ending with a letter or digit.", clip(*p))
	}
	return *p, nil
}

func required(name string, p *string) (string, error) {
	if p == nil || *p == "" {
		return "", invalid("%s is required.", name)
	}
	return *p, nil
}

func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}

// ---- actions ----

func (a *API) createBucket(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		BucketName             *string `json:"bucketName"`
		BundleID               *string `json:"bundleId"`
		Tags                   []tag   `json:"tags"`
		EnableObjectVersioning *bool   `json:"enableObjectVersioning"`
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
	tags, err := parseTags(in.Tags)
	if err != nil {
		return nil, err
	}
	versioning := in.EnableObjectVersioning != nil && *in.EnableObjectVersioning
	b, op, err := a.svc.CreateBucket(ctx, c, name, bundle, tags, versioning)
	if err != nil {
		return nil, err
	}
	return bucketResult{a.bucket(b), a.operations(op)}, nil
}

// parseTags checks tags as Lightsail does: at most 50, keys of 1 to 128
// characters, values of at most 256.
func parseTags(in []tag) ([]iamd.Tag, error) {
	if len(in) > 50 {
		return nil, invalid("A resource may have at most 50 tags.")
	}
	var tags []iamd.Tag
	for _, t := range in {
		if t.Key == nil || *t.Key == "" || utf8.RuneCountInString(*t.Key) > 128 {
			return nil, invalid("Every tag needs a key of 1 to 128 characters.")
		}
		v := ""
		if t.Value != nil {
			v = *t.Value
		}
		if utf8.RuneCountInString(v) > 256 {
			return nil, invalid("Tag values are at most 256 characters.")
		}
		tags = append(tags, iamd.Tag{Key: *t.Key, Value: v})
	}
	return tags, nil
}

func (a *API) activeBundle(id string) bool {
	for _, b := range a.bundles {
		if b.BundleID == id && b.IsActive {
			return true
		}
	}
	return false
}

const pageSize = 100

func (a *API) getBuckets(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		BucketName *string `json:"bucketName"`
		PageToken  *string `json:"pageToken"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	type result struct {
		Buckets       []bucket `json:"buckets"`
		NextPageToken string   `json:"nextPageToken,omitempty"`
	}
	if in.BucketName != nil {
		name, err := bucketName(in.BucketName)
		if err != nil {
			return nil, err
		}
		b, err := a.svc.GetBucket(ctx, c, name)
		if err != nil {
			return nil, err
		}
		return result{Buckets: []bucket{a.bucket(b)}}, nil
	}
	page := iamd.Page{MaxItems: pageSize}
	if in.PageToken != nil {
		page.Marker = *in.PageToken
	}
	bs, next, err := a.svc.ListBuckets(ctx, c, page)
	if err != nil {
		return nil, err
	}
	out := result{Buckets: make([]bucket, 0, len(bs)), NextPageToken: next}
	for _, b := range bs {
		out.Buckets = append(out.Buckets, a.bucket(b))
	}
	return out, nil
}

func (a *API) deleteBucket(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		BucketName  *string `json:"bucketName"`
		ForceDelete *bool   `json:"forceDelete"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	name, err := bucketName(in.BucketName)
	if err != nil {
		return nil, err
	}
	op, err := a.svc.DeleteBucket(ctx, c, name, in.ForceDelete != nil && *in.ForceDelete)
	if err != nil {
		return nil, err
	}
	return struct {
		Operations []operation `json:"operations"`
	}{a.operations(op)}, nil
}

func (a *API) getBucketBundles(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		IncludeInactive *bool `json:"includeInactive"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	if err := a.svc.Authorize(ctx, c, "lightsail:GetBucketBundles", "*"); err != nil {
		return nil, err
	}
	out := make([]Bundle, 0, len(a.bundles))
	for _, b := range a.bundles {
		if b.IsActive || (in.IncludeInactive != nil && *in.IncludeInactive) {
			out = append(out, b)
		}
	}
	return struct {
		Bundles []Bundle `json:"bundles"`
	}{out}, nil
}

func (a *API) createBucketAccessKey(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		BucketName *string `json:"bucketName"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	name, err := bucketName(in.BucketName)
	if err != nil {
		return nil, err
	}
	k, secret, op, err := a.svc.CreateBucketAccessKey(ctx, c, name)
	if err != nil {
		return nil, err
	}
	return struct {
		AccessKey  accessKey   `json:"accessKey"`
		Operations []operation `json:"operations"`
	}{a.accessKey(k, secret, false), a.operations(op)}, nil
}

func (a *API) getBucketAccessKeys(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		BucketName *string `json:"bucketName"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	name, err := bucketName(in.BucketName)
	if err != nil {
		return nil, err
	}
	keys, err := a.svc.ListBucketAccessKeys(ctx, c, name)
	if err != nil {
		return nil, err
	}
	out := make([]accessKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, a.accessKey(k, "", true))
	}
	return struct {
		AccessKeys []accessKey `json:"accessKeys"`
	}{out}, nil
}

func (a *API) deleteBucketAccessKey(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		BucketName  *string `json:"bucketName"`
		AccessKeyID *string `json:"accessKeyId"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	name, err := bucketName(in.BucketName)
	if err != nil {
		return nil, err
	}
	id, err := required("accessKeyId", in.AccessKeyID)
	if err != nil {
		return nil, err
	}
	op, err := a.svc.DeleteBucketAccessKey(ctx, c, name, id)
	if err != nil {
		return nil, err
	}
	return struct {
		Operations []operation `json:"operations"`
	}{a.operations(op)}, nil
}

func (a *API) getOperation(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		OperationID *string `json:"operationId"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	id, err := required("operationId", in.OperationID)
	if err != nil {
		return nil, err
	}
	op, err := a.svc.GetOperation(ctx, c, id)
	if err != nil {
		return nil, err
	}
	return struct {
		Operation operation `json:"operation"`
	}{a.operation(op)}, nil
}

func (a *API) getOperations(ctx context.Context, c *iamd.Caller, body []byte) (any, error) {
	var in struct {
		PageToken *string `json:"pageToken"`
	}
	if err := awsjson.Decode(body, &in); err != nil {
		return nil, err
	}
	page := iamd.Page{MaxItems: pageSize}
	if in.PageToken != nil {
		page.Marker = *in.PageToken
	}
	ops, next, err := a.svc.ListOperations(ctx, c, page)
	if err != nil {
		return nil, err
	}
	out := make([]operation, 0, len(ops))
	for _, op := range ops {
		out = append(out, a.operation(op))
	}
	return struct {
		Operations    []operation `json:"operations"`
		NextPageToken string      `json:"nextPageToken,omitempty"`
	}{out, next}, nil
}

// ---- errors ----

// codes maps domain kinds to Lightsail's exceptions. Lightsail answers a
// missing resource with 400, not 404.
var codes = map[iamd.Kind]struct {
	status int
	typ    string
	code   string
}{
	iamd.NotFound:      {http.StatusBadRequest, "NotFoundException", "NotFound"},
	iamd.AlreadyExists: {http.StatusBadRequest, "InvalidInputException", "AlreadyExists"},
	iamd.LimitExceeded: {http.StatusBadRequest, "InvalidInputException", "LimitExceeded"},
	iamd.Conflict:      {http.StatusBadRequest, "InvalidInputException", "Conflict"},
	iamd.Invalid:       {http.StatusBadRequest, "InvalidInputException", "InvalidInput"},
	iamd.InvalidInput:  {http.StatusBadRequest, "InvalidInputException", "InvalidInput"},
	iamd.AccessDenied:  {http.StatusBadRequest, "AccessDeniedException", "AccessDenied"},
	iamd.Unavailable:   {http.StatusServiceUnavailable, "ServiceException", "ServiceUnavailable"},
}

// ErrorResponse returns the HTTP status and envelope for err. Unknown
// failures become ServiceException with a generic message.
func ErrorResponse(err error) (int, awsjson.ErrorBody) {
	var je *awsjson.Error
	if errors.As(err, &je) {
		return je.Status, awsjson.ErrorBody{Type: je.Type, Message: je.Message}
	}
	w, ok := codes[iamd.KindOf(err)]
	if !ok {
		return http.StatusInternalServerError, awsjson.ErrorBody{Type: "ServiceException", Code: "InternalFailure",
			Message: "The request processing has failed because of an unknown error, exception or failure."}
	}
	return w.status, awsjson.ErrorBody{Type: w.typ, Message: iamd.MessageOf(err), Code: w.code}
}

// Actions lists the operations served.
func (a *API) Actions() []string {
	out := make([]string, 0, len(a.actions))
	for k := range a.actions {
		out = append(out, k)
	}
	return out
}
