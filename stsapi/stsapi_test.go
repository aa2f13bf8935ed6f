package stsapi_test

import (
	"context"
	"errors"
	"testing"

	"iamd"
	"iamd/awsquery"
	"iamd/stsapi"
)

func TestGetCallerIdentity(t *testing.T) {
	api := stsapi.New(nil, nil, nil) // GetCallerIdentity needs no store
	for _, tt := range []struct {
		caller *iamd.Caller
		want   string
	}{
		{&iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"},
			`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><UserId>123456789012</UserId><Account>123456789012</Account><Arn>arn:aws:iam::123456789012:root</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`},
		{&iamd.Caller{Kind: iamd.CallerUser, Account: "123456789012", User: &iamd.User{ID: "AIDAEXAMPLE0000000000", Name: "Bob", Path: "/a/"}},
			`<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><UserId>AIDAEXAMPLE0000000000</UserId><Account>123456789012</Account><Arn>arn:aws:iam::123456789012:user/a/Bob</Arn></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>`},
	} {
		res, err := api.Do(context.Background(), tt.caller, "GetCallerIdentity", awsquery.Params{})
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := awsquery.EncodeResult(awsquery.NamespaceSTS, "GetCallerIdentity", res, "r")
		if string(doc) != tt.want {
			t.Fatalf("got  %s\nwant %s", doc, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	api := stsapi.New(nil, nil, nil)
	root := &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}
	for _, tt := range []struct {
		action string
		p      awsquery.Params
		code   string
	}{
		{"GetAccessKeyInfo", awsquery.Params{}, "ValidationError"},
		{"GetAccessKeyInfo", awsquery.Params{"AccessKeyId": "short"}, "ValidationError"},
		{"AssumeRole", awsquery.Params{}, "ValidationError"},
		{"AssumeRole", awsquery.Params{"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "a"}, "ValidationError"},
		{"AssumeRole", awsquery.Params{"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "ab", "DurationSeconds": "60"}, "ValidationError"},
		{"GetSessionToken", awsquery.Params{"DurationSeconds": "200000"}, "ValidationError"},
		{"GetFederationToken", awsquery.Params{}, "InvalidAction"},
	} {
		_, err := api.Do(context.Background(), root, tt.action, tt.p)
		if _, code, _, _ := stsapi.ErrorResponse(err); code != tt.code {
			t.Errorf("%s %v: %v, want %s", tt.action, tt.p, err, tt.code)
		}
	}
	if s, code, _, sender := stsapi.ErrorResponse(errors.New("boom")); s != 500 || code != "ServiceFailure" || sender {
		t.Fatal("unknown failure not ServiceFailure")
	}
}
