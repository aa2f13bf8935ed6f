package iamd_test

import (
	"testing"
	"time"

	"iamd"
)

// TestCheckDoorScope is the table of scopes a door may be handed a
// signing key for.
func TestCheckDoorScope(t *testing.T) {
	now := time.Date(2026, 12, 4, 23, 50, 0, 0, time.UTC)
	for _, tt := range []struct {
		date, region, service string
		want                  iamd.Kind // -1: allowed
	}{
		{"20261204", "us-east-1", "s3", -1},
		{"20261205", "us-east-1", "s3", -1}, // 23:50 + 15 min skew is tomorrow
		{"20261127", "eu-west-1", "s3", -1}, // a presigned URL's 7 days back
		{"20261126", "us-east-1", "s3", iamd.AccessDenied},
		{"20261206", "us-east-1", "s3", iamd.AccessDenied},
		{"20271001", "us-east-1", "s3", iamd.AccessDenied}, // 300 days ahead
		{"20261204", "us-east-1", "execute-api", -1},
		{"20261204", "us-east-1", "iam", iamd.AccessDenied},
		{"20261204", "us-east-1", "sts", iamd.AccessDenied},
		{"20261204", "us-east-1", "lightsail", iamd.AccessDenied},
		{"20261204", "us-east-1", "organizations", iamd.AccessDenied},
		{"20261204", "us-east-1", "IAM", iamd.Invalid},
		{"2026-12-04", "us-east-1", "s3", iamd.Invalid},
		{"20261304", "us-east-1", "s3", iamd.Invalid},
		{"20261204", "", "s3", iamd.Invalid},
		{"20261204", "us-east-1", "", iamd.Invalid},
		{"20261204", "us-east-1/x", "s3", iamd.Invalid},
	} {
		err := iamd.CheckDoorScope(tt.date, tt.region, tt.service, now)
		switch {
		case tt.want == -1 && err != nil:
			t.Errorf("%s/%s/%s: %v", tt.date, tt.region, tt.service, err)
		case tt.want != -1 && (err == nil || iamd.KindOf(err) != tt.want):
			t.Errorf("%s/%s/%s: %v, want kind %d", tt.date, tt.region, tt.service, err, tt.want)
		}
	}
}

func TestCheckDoorActions(t *testing.T) {
	for _, tt := range []struct {
		service string
		actions []string
		ok      bool
	}{
		{"s3", []string{"s3:GetObject", "s3:PutObject"}, true},
		{"execute-api", []string{"execute-api:Invoke"}, true},
		{"s3", []string{"iam:CreateAccessKey"}, false},
		{"s3", []string{"IAM:CreateAccessKey"}, false},
		{"s3", []string{"s3:GetObject", "sts:AssumeRole"}, false},
		{"s3", []string{"lightsail:GetBuckets"}, false},
		{"s3", []string{"iamd:DecideRequests"}, false},
		{"s3", []string{"*:GetObject"}, false},
		{"s3", []string{"s?:GetObject"}, false},
		{"s3", []string{"GetObject"}, false},
		{"iam", []string{"s3:GetObject"}, false},
	} {
		if err := iamd.CheckDoorActions(tt.service, tt.actions); (err == nil) != tt.ok {
			t.Errorf("%s %v: %v", tt.service, tt.actions, err)
		}
	}
}
