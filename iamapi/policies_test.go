package iamapi_test

import (
	"context"
	"regexp"
	"testing"

	"iamd/awsquery"
	"iamd/iamapi"
)

// TestPolicyShapes checks the XML of the policy and group actions against
// botocore's shapes, in one scenario run as the root.
func TestPolicyShapes(t *testing.T) {
	api := newAPI(t)
	ctx := context.Background()
	const ns = `xmlns="https://iam.amazonaws.com/doc/2010-05-08/"`
	const meta = `<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>`
	const doc = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}}`
	const encoded = `%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22iam%3AGet%2A%22%2C%22Resource%22%3A%22%2A%22%7D%7D`
	const arn = "arn:aws:iam::123456789012:policy/team/Read"
	const date = "2026-11-24T08:00:00Z"
	tests := []struct {
		action string
		params awsquery.Params
		want   string
	}{
		{"CreatePolicy", awsquery.Params{"PolicyName": "Read", "Path": "/team/", "PolicyDocument": doc, "Description": "read"},
			`<CreatePolicyResult><Policy><PolicyName>Read</PolicyName><PolicyId>ANPA…</PolicyId><Arn>` + arn + `</Arn><Path>/team/</Path><DefaultVersionId>v1</DefaultVersionId><AttachmentCount>0</AttachmentCount><PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount><IsAttachable>true</IsAttachable><Description>read</Description><CreateDate>` + date + `</CreateDate><UpdateDate>` + date + `</UpdateDate></Policy></CreatePolicyResult>`},
		{"GetPolicyVersion", awsquery.Params{"PolicyArn": arn, "VersionId": "v1"},
			`<GetPolicyVersionResult><PolicyVersion><Document>` + encoded + `</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>` + date + `</CreateDate></PolicyVersion></GetPolicyVersionResult>`},
		{"CreatePolicyVersion", awsquery.Params{"PolicyArn": arn, "PolicyDocument": doc, "SetAsDefault": "true"},
			`<CreatePolicyVersionResult><PolicyVersion><VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>` + date + `</CreateDate></PolicyVersion></CreatePolicyVersionResult>`},
		{"ListPolicyVersions", awsquery.Params{"PolicyArn": arn},
			`<ListPolicyVersionsResult><Versions><member><VersionId>v2</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>` + date + `</CreateDate></member><member><VersionId>v1</VersionId><IsDefaultVersion>false</IsDefaultVersion><CreateDate>` + date + `</CreateDate></member></Versions><IsTruncated>false</IsTruncated></ListPolicyVersionsResult>`},
		{"CreateGroup", awsquery.Params{"GroupName": "Devs"},
			`<CreateGroupResult><Group><Path>/</Path><GroupName>Devs</GroupName><GroupId>AGPA…</GroupId><Arn>arn:aws:iam::123456789012:group/Devs</Arn><CreateDate>` + date + `</CreateDate></Group></CreateGroupResult>`},
		{"CreateUser", awsquery.Params{"UserName": "Bob"}, ``},
		{"AddUserToGroup", awsquery.Params{"GroupName": "devs", "UserName": "bob"}, ``},
		{"GetGroup", awsquery.Params{"GroupName": "devs"},
			`<GetGroupResult><Group><Path>/</Path><GroupName>Devs</GroupName><GroupId>AGPA…</GroupId><Arn>arn:aws:iam::123456789012:group/Devs</Arn><CreateDate>` + date + `</CreateDate></Group><Users><member><Path>/</Path><UserName>Bob</UserName><UserId>AIDA…</UserId><Arn>arn:aws:iam::123456789012:user/Bob</Arn><CreateDate>` + date + `</CreateDate></member></Users><IsTruncated>false</IsTruncated></GetGroupResult>`},
		{"AttachGroupPolicy", awsquery.Params{"GroupName": "Devs", "PolicyArn": arn}, ``},
		{"AttachUserPolicy", awsquery.Params{"UserName": "Bob", "PolicyArn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"},
			`<AttachUserPolicyResponse ` + ns + `>` + meta + `</AttachUserPolicyResponse>`},
		{"ListAttachedUserPolicies", awsquery.Params{"UserName": "Bob"},
			`<ListAttachedUserPoliciesResult><AttachedPolicies><member><PolicyName>IAMReadOnlyAccess</PolicyName><PolicyArn>arn:aws:iam::aws:policy/IAMReadOnlyAccess</PolicyArn></member></AttachedPolicies><IsTruncated>false</IsTruncated></ListAttachedUserPoliciesResult>`},
		{"ListEntitiesForPolicy", awsquery.Params{"PolicyArn": arn},
			`<ListEntitiesForPolicyResult><PolicyGroups><member><GroupName>Devs</GroupName><GroupId>AGPA…</GroupId></member></PolicyGroups><PolicyUsers></PolicyUsers><PolicyRoles></PolicyRoles><IsTruncated>false</IsTruncated></ListEntitiesForPolicyResult>`},
		{"PutUserPolicy", awsquery.Params{"UserName": "Bob", "PolicyName": "Own", "PolicyDocument": doc}, ``},
		{"GetUserPolicy", awsquery.Params{"UserName": "Bob", "PolicyName": "own"},
			`<GetUserPolicyResult><UserName>Bob</UserName><PolicyName>Own</PolicyName><PolicyDocument>` + encoded + `</PolicyDocument></GetUserPolicyResult>`},
		{"ListUserPolicies", awsquery.Params{"UserName": "Bob"},
			`<ListUserPoliciesResult><PolicyNames><member>Own</member></PolicyNames><IsTruncated>false</IsTruncated></ListUserPoliciesResult>`},
		{"ListGroupsForUser", awsquery.Params{"UserName": "Bob"},
			`<ListGroupsForUserResult><Groups><member><Path>/</Path><GroupName>Devs</GroupName><GroupId>AGPA…</GroupId><Arn>arn:aws:iam::123456789012:group/Devs</Arn><CreateDate>` + date + `</CreateDate></member></Groups><IsTruncated>false</IsTruncated></ListGroupsForUserResult>`},
		{"ListPolicies", awsquery.Params{"Scope": "Local"},
			`<ListPoliciesResult><Policies><member><PolicyName>Read</PolicyName><PolicyId>ANPA…</PolicyId><Arn>` + arn + `</Arn><Path>/team/</Path><DefaultVersionId>v2</DefaultVersionId><AttachmentCount>1</AttachmentCount><PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount><IsAttachable>true</IsAttachable><CreateDate>` + date + `</CreateDate><UpdateDate>` + date + `</UpdateDate></member></Policies><IsTruncated>false</IsTruncated></ListPoliciesResult>`},
		// A policy counts the users and roles it bounds, and
		// PolicyUsageFilter=PermissionsBoundary lists those that bound
		// someone (Read, not the AWS-managed one attached to Bob).
		{"PutUserPermissionsBoundary", awsquery.Params{"UserName": "Bob", "PermissionsBoundary": arn}, ``},
		{"ListPolicies", awsquery.Params{"PolicyUsageFilter": "PermissionsBoundary"},
			`<ListPoliciesResult><Policies><member><PolicyName>Read</PolicyName><PolicyId>ANPA…</PolicyId><Arn>` + arn + `</Arn><Path>/team/</Path><DefaultVersionId>v2</DefaultVersionId><AttachmentCount>1</AttachmentCount><PermissionsBoundaryUsageCount>1</PermissionsBoundaryUsageCount><IsAttachable>true</IsAttachable><CreateDate>` + date + `</CreateDate><UpdateDate>` + date + `</UpdateDate></member></Policies><IsTruncated>false</IsTruncated></ListPoliciesResult>`},
		{"DeleteUserPermissionsBoundary", awsquery.Params{"UserName": "Bob"}, ``},
		{"ListPolicies", awsquery.Params{"PolicyUsageFilter": "PermissionsBoundary"},
			`<ListPoliciesResult><Policies></Policies><IsTruncated>false</IsTruncated></ListPoliciesResult>`},
		{"SimulatePrincipalPolicy", awsquery.Params{"PolicySourceArn": "arn:aws:iam::123456789012:user/Bob", "ActionNames.member.1": "iam:GetUser", "ActionNames.member.2": "iam:DeleteUser"},
			`<SimulatePrincipalPolicyResult><EvaluationResults><member><EvalActionName>iam:GetUser</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>allowed</EvalDecision><MatchedStatements><member><SourcePolicyId>Own</SourcePolicyId><SourcePolicyType>user</SourcePolicyType><StartPosition><Line>1</Line><Column>37</Column></StartPosition><EndPosition><Line>1</Line><Column>89</Column></EndPosition></member><member><SourcePolicyId>IAMReadOnlyAccess</SourcePolicyId><SourcePolicyType>aws-managed</SourcePolicyType><StartPosition><Line>1</Line><Column>38</Column></StartPosition><EndPosition><Line>1</Line><Column>161</Column></EndPosition></member><member><SourcePolicyId>Read</SourcePolicyId><SourcePolicyType>user-managed</SourcePolicyType><StartPosition><Line>1</Line><Column>37</Column></StartPosition><EndPosition><Line>1</Line><Column>89</Column></EndPosition></member></MatchedStatements><MissingContextValues></MissingContextValues></member><member><EvalActionName>iam:DeleteUser</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>implicitDeny</EvalDecision><MatchedStatements></MatchedStatements><MissingContextValues></MissingContextValues></member></EvaluationResults><IsTruncated>false</IsTruncated></SimulatePrincipalPolicyResult>`},
		{"SimulateCustomPolicy", awsquery.Params{"PolicyInputList.member.1": `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}}`,
			"ActionNames.member.1": "iam:GetUser", "ContextEntries.member.1.ContextKeyName": "aws:SecureTransport", "ContextEntries.member.1.ContextKeyValues.member.1": "false", "ContextEntries.member.1.ContextKeyType": "boolean"},
			`<SimulateCustomPolicyResult><EvaluationResults><member><EvalActionName>iam:GetUser</EvalActionName><EvalResourceName>*</EvalResourceName><EvalDecision>explicitDeny</EvalDecision><MatchedStatements><member><SourcePolicyId>PolicyInputList.1</SourcePolicyId><SourcePolicyType>none</SourcePolicyType><StartPosition><Line>1</Line><Column>37</Column></StartPosition><EndPosition><Line>1</Line><Column>134</Column></EndPosition></member></MatchedStatements><MissingContextValues></MissingContextValues></member></EvaluationResults><IsTruncated>false</IsTruncated></SimulateCustomPolicyResult>`},
	}
	ids := regexp.MustCompile(`(ANPA|AGPA|AIDA)[A-Z2-7]{17}`)
	for _, tt := range tests {
		res, err := api.Do(ctx, root, tt.action, tt.params)
		if err != nil {
			t.Fatalf("%s: %v", tt.action, err)
		}
		if tt.want == "" {
			continue
		}
		out, err := awsquery.EncodeResult(awsquery.NamespaceIAM, tt.action, res, "rid")
		if err != nil {
			t.Fatal(err)
		}
		got := ids.ReplaceAllString(string(out), "$1…")
		if res != nil {
			got = regexp.MustCompile(`^<\w+Response [^>]+>(.*)`+regexp.QuoteMeta(meta)+`</\w+Response>$`).ReplaceAllString(got, "$1")
		}
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.action, got, tt.want)
		}
	}
}

// TestPolicyErrors checks the policy actions' errors against IAM's codes.
func TestPolicyErrors(t *testing.T) {
	api := newAPI(t)
	ctx := context.Background()
	const doc = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}}`
	for _, step := range []struct {
		action string
		params awsquery.Params
	}{
		{"CreateUser", awsquery.Params{"UserName": "Bob"}},
		{"CreateGroup", awsquery.Params{"GroupName": "g"}},
		{"CreatePolicy", awsquery.Params{"PolicyName": "P", "PolicyDocument": doc}},
		{"AttachUserPolicy", awsquery.Params{"UserName": "Bob", "PolicyArn": "arn:aws:iam::123456789012:policy/P"}},
		{"AddUserToGroup", awsquery.Params{"UserName": "Bob", "GroupName": "g"}},
	} {
		if _, err := api.Do(ctx, root, step.action, step.params); err != nil {
			t.Fatalf("%s: %v", step.action, err)
		}
	}
	tests := []struct {
		name   string
		action string
		params awsquery.Params
		status int
		code   string
		msg    string
	}{
		{"malformed", "PutUserPolicy", awsquery.Params{"UserName": "Bob", "PolicyName": "x", "PolicyDocument": `{"Statement":[]}`}, 400, "MalformedPolicyDocument", ""},
		{"unknown operator", "CreatePolicy", awsquery.Params{"PolicyName": "x", "PolicyDocument": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringFancy":{"aws:username":"a"}}}}`}, 400, "MalformedPolicyDocument", "Condition operator StringFancy is not supported"},
		{"document pattern", "PutUserPolicy", awsquery.Params{"UserName": "Bob", "PolicyName": "x", "PolicyDocument": "{\"a\":\"\u2603\"}"}, 400, "ValidationError", "The specified value for policyDocument is invalid. It must contain only printable ASCII characters."},
		{"policy exists", "CreatePolicy", awsquery.Params{"PolicyName": "p", "PolicyDocument": doc}, 409, "EntityAlreadyExists", "A policy called p already exists."},
		{"no such policy", "GetPolicy", awsquery.Params{"PolicyArn": "arn:aws:iam::123456789012:policy/nope"}, 404, "NoSuchEntity", "Policy arn:aws:iam::123456789012:policy/nope does not exist or is not attachable."},
		{"wrong path", "GetPolicy", awsquery.Params{"PolicyArn": "arn:aws:iam::123456789012:policy/x/P"}, 404, "NoSuchEntity", ""},
		{"other account", "GetPolicy", awsquery.Params{"PolicyArn": "arn:aws:iam::999999999999:policy/P"}, 404, "NoSuchEntity", ""},
		{"bad arn", "GetPolicy", awsquery.Params{"PolicyArn": "arn:aws:iam::123456789012:user/P"}, 400, "InvalidInput", "is not valid"},
		{"attached", "DeletePolicy", awsquery.Params{"PolicyArn": "arn:aws:iam::123456789012:policy/P"}, 409, "DeleteConflict", "attached"},
		{"aws managed", "DeletePolicy", awsquery.Params{"PolicyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}, 400, "InvalidInput", ""},
		{"no version", "GetPolicyVersion", awsquery.Params{"PolicyArn": "arn:aws:iam::123456789012:policy/P", "VersionId": "v7"}, 404, "NoSuchEntity", ""},
		{"version pattern", "GetPolicyVersion", awsquery.Params{"PolicyArn": "arn:aws:iam::123456789012:policy/P", "VersionId": "7"}, 400, "ValidationError", "'versionId'"},
		{"default version", "DeletePolicyVersion", awsquery.Params{"PolicyArn": "arn:aws:iam::123456789012:policy/P", "VersionId": "v1"}, 409, "DeleteConflict", ""},
		{"user has policies", "DeleteUser", awsquery.Params{"UserName": "Bob"}, 409, "DeleteConflict", "Cannot delete entity"},
		{"group has users", "DeleteGroup", awsquery.Params{"GroupName": "g"}, 409, "DeleteConflict", "must remove users from group first"},
		{"not attached", "DetachUserPolicy", awsquery.Params{"UserName": "Bob", "PolicyArn": "arn:aws:iam::aws:policy/IAMFullAccess"}, 404, "NoSuchEntity", ""},
		{"no inline", "GetUserPolicy", awsquery.Params{"UserName": "Bob", "PolicyName": "x"}, 404, "NoSuchEntity", "The user policy with name x cannot be found."},
		{"no group", "GetGroup", awsquery.Params{"GroupName": "nope"}, 404, "NoSuchEntity", "The group with name nope cannot be found."},
		{"scope enum", "ListPolicies", awsquery.Params{"Scope": "Mine"}, 400, "ValidationError", "enum value set"},
		{"boundary simulation", "SimulateCustomPolicy", awsquery.Params{"PolicyInputList.member.1": doc, "ActionNames.member.1": "iam:GetUser", "ResourcePolicy": doc}, 400, "InvalidInput", "not supported"},
		{"simulate without actions", "SimulateCustomPolicy", awsquery.Params{"PolicyInputList.member.1": doc}, 400, "ValidationError", "'actionNames'"},
		{"simulate a stranger", "SimulatePrincipalPolicy", awsquery.Params{"PolicySourceArn": "arn:aws:iam::123456789012:user/nobody", "ActionNames.member.1": "iam:GetUser"}, 404, "NoSuchEntity", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := api.Do(ctx, root, tt.action, tt.params)
			if err == nil {
				t.Fatal("no error")
			}
			status, code, msg, _ := iamapi.ErrorResponse(err)
			if status != tt.status || code != tt.code {
				t.Fatalf("got %d %s %q, want %d %s", status, code, msg, tt.status, tt.code)
			}
			if tt.msg != "" && !regexp.MustCompile(regexp.QuoteMeta(tt.msg)).MatchString(msg) {
				t.Fatalf("message %q lacks %q", msg, tt.msg)
			}
		})
	}
}
