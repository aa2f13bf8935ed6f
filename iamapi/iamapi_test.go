package iamapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"image/png"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"iamd"
	"iamd/awsquery"
	"iamd/iamapi"
	"iamd/instanceprofiles"
	"iamd/people"
	"iamd/sqlite"
)

func newAPI(t *testing.T) *iamapi.API {
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sealer, _ := iamd.NewSealer(make([]byte, 32))
	now := func() time.Time { return time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC) }
	svc, err := iamd.NewService(context.Background(), iamd.Config{Store: st, Sealer: sealer, Account: iamd.Account{ID: "123456789012"}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(); st.Close() })
	return iamapi.New(svc, iamapi.Parts{InstanceProfiles: instanceprofiles.New(svc, st, now),
		People: people.New(people.Config{Service: svc, Store: st, Sealer: sealer, Now: now})})
}

var root = &iamd.Caller{Kind: iamd.CallerRoot, Account: "123456789012"}

// masks replaces generated values so that documents compare exactly.
var masks = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`AIDA[A-Z2-7]{17}`), "AIDA…"},
	{regexp.MustCompile(`AKIA[A-Z2-7]{16}`), "AKIA…"},
	{regexp.MustCompile(`<SecretAccessKey>[A-Za-z0-9+/]{40}</SecretAccessKey>`), "<SecretAccessKey>…</SecretAccessKey>"},
	{regexp.MustCompile(`<Marker>[^<]+</Marker>`), "<Marker>…</Marker>"},
	{regexp.MustCompile(`AROA[A-Z2-7]{17}`), "AROA…"},
}

// TestShapes checks the XML of each action against the shapes of
// botocore's IAM model: result wrappers, member lists, omitted members.
func TestShapes(t *testing.T) {
	api := newAPI(t)
	ctx := context.Background()
	const ns = `xmlns="https://iam.amazonaws.com/doc/2010-05-08/"`
	const meta = `<ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>`
	tests := []struct {
		action string
		params awsquery.Params
		want   string
	}{
		{"CreateUser", awsquery.Params{"UserName": "Bob", "Tags.member.1.Key": "team", "Tags.member.1.Value": "a"},
			`<CreateUserResponse ` + ns + `><CreateUserResult><User><Path>/</Path><UserName>Bob</UserName><UserId>AIDA…</UserId><Arn>arn:aws:iam::123456789012:user/Bob</Arn><CreateDate>2026-11-24T08:00:00Z</CreateDate><Tags><member><Key>team</Key><Value>a</Value></member></Tags></User></CreateUserResult>` + meta + `</CreateUserResponse>`},
		{"CreateUser", awsquery.Params{"UserName": "Al", "Path": "/ops/"},
			`<CreateUserResponse ` + ns + `><CreateUserResult><User><Path>/ops/</Path><UserName>Al</UserName><UserId>AIDA…</UserId><Arn>arn:aws:iam::123456789012:user/ops/Al</Arn><CreateDate>2026-11-24T08:00:00Z</CreateDate></User></CreateUserResult>` + meta + `</CreateUserResponse>`},
		{"ListUsers", awsquery.Params{"MaxItems": "1"},
			`<ListUsersResponse ` + ns + `><ListUsersResult><Users><member><Path>/ops/</Path><UserName>Al</UserName><UserId>AIDA…</UserId><Arn>arn:aws:iam::123456789012:user/ops/Al</Arn><CreateDate>2026-11-24T08:00:00Z</CreateDate></member></Users><IsTruncated>true</IsTruncated><Marker>…</Marker></ListUsersResult>` + meta + `</ListUsersResponse>`},
		{"ListUsers", awsquery.Params{"PathPrefix": "/nobody/"},
			`<ListUsersResponse ` + ns + `><ListUsersResult><Users></Users><IsTruncated>false</IsTruncated></ListUsersResult>` + meta + `</ListUsersResponse>`},
		{"CreateAccessKey", awsquery.Params{"UserName": "bob"},
			`<CreateAccessKeyResponse ` + ns + `><CreateAccessKeyResult><AccessKey><UserName>Bob</UserName><AccessKeyId>AKIA…</AccessKeyId><Status>Active</Status><SecretAccessKey>…</SecretAccessKey><CreateDate>2026-11-24T08:00:00Z</CreateDate></AccessKey></CreateAccessKeyResult>` + meta + `</CreateAccessKeyResponse>`},
		{"ListAccessKeys", awsquery.Params{"UserName": "Bob"},
			`<ListAccessKeysResponse ` + ns + `><ListAccessKeysResult><AccessKeyMetadata><member><UserName>Bob</UserName><AccessKeyId>AKIA…</AccessKeyId><Status>Active</Status><CreateDate>2026-11-24T08:00:00Z</CreateDate></member></AccessKeyMetadata><IsTruncated>false</IsTruncated></ListAccessKeysResult>` + meta + `</ListAccessKeysResponse>`},
		{"GetUser", awsquery.Params{},
			`<GetUserResponse ` + ns + `><GetUserResult><User><UserId>123456789012</UserId><Arn>arn:aws:iam::123456789012:root</Arn><CreateDate>2026-11-24T08:00:00Z</CreateDate></User></GetUserResult>` + meta + `</GetUserResponse>`},
		{"DeleteUser", awsquery.Params{"UserName": "Al"},
			`<DeleteUserResponse ` + ns + `>` + meta + `</DeleteUserResponse>`},
		{"CreateRole", awsquery.Params{"RoleName": "ci", "Path": "/ops/", "Description": "d", "MaxSessionDuration": "7200",
			"AssumeRolePolicyDocument": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}`,
			"Tags.member.1.Key":        "team", "Tags.member.1.Value": "a"},
			`<CreateRoleResponse ` + ns + `><CreateRoleResult><Role><Path>/ops/</Path><RoleName>ci</RoleName><RoleId>AROA…</RoleId><Arn>arn:aws:iam::123456789012:role/ops/ci</Arn><CreateDate>2026-11-24T08:00:00Z</CreateDate><AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22123456789012%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%7D</AssumeRolePolicyDocument><Description>d</Description><MaxSessionDuration>7200</MaxSessionDuration></Role></CreateRoleResult>` + meta + `</CreateRoleResponse>`},
		{"GetRole", awsquery.Params{"RoleName": "CI"},
			`<GetRoleResponse ` + ns + `><GetRoleResult><Role><Path>/ops/</Path><RoleName>ci</RoleName><RoleId>AROA…</RoleId><Arn>arn:aws:iam::123456789012:role/ops/ci</Arn><CreateDate>2026-11-24T08:00:00Z</CreateDate><AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22AWS%22%3A%22123456789012%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%7D</AssumeRolePolicyDocument><Description>d</Description><MaxSessionDuration>7200</MaxSessionDuration><Tags><member><Key>team</Key><Value>a</Value></member></Tags><RoleLastUsed></RoleLastUsed></Role></GetRoleResult>` + meta + `</GetRoleResponse>`},
		{"ListRoleTags", awsquery.Params{"RoleName": "ci"},
			`<ListRoleTagsResponse ` + ns + `><ListRoleTagsResult><Tags><member><Key>team</Key><Value>a</Value></member></Tags><IsTruncated>false</IsTruncated></ListRoleTagsResult>` + meta + `</ListRoleTagsResponse>`},
		{"ListInstanceProfilesForRole", awsquery.Params{"RoleName": "ci"},
			`<ListInstanceProfilesForRoleResponse ` + ns + `><ListInstanceProfilesForRoleResult><InstanceProfiles></InstanceProfiles><IsTruncated>false</IsTruncated></ListInstanceProfilesForRoleResult>` + meta + `</ListInstanceProfilesForRoleResponse>`},
		{"TagUser", awsquery.Params{"UserName": "bob", "Tags.member.1.Key": "team", "Tags.member.1.Value": "b", "Tags.member.2.Key": "env", "Tags.member.2.Value": "prod"},
			`<TagUserResponse ` + ns + `>` + meta + `</TagUserResponse>`},
		{"ListUserTags", awsquery.Params{"UserName": "Bob"},
			`<ListUserTagsResponse ` + ns + `><ListUserTagsResult><Tags><member><Key>team</Key><Value>b</Value></member><member><Key>env</Key><Value>prod</Value></member></Tags><IsTruncated>false</IsTruncated></ListUserTagsResult>` + meta + `</ListUserTagsResponse>`},
		{"UntagUser", awsquery.Params{"UserName": "Bob", "TagKeys.member.1": "ENV"},
			`<UntagUserResponse ` + ns + `>` + meta + `</UntagUserResponse>`},
		{"UpdateUser", awsquery.Params{"UserName": "Bob", "NewUserName": "Robert", "NewPath": "/r/"},
			`<UpdateUserResponse ` + ns + `>` + meta + `</UpdateUserResponse>`},
		{"GetUser", awsquery.Params{"UserName": "robert"},
			`<GetUserResponse ` + ns + `><GetUserResult><User><Path>/r/</Path><UserName>Robert</UserName><UserId>AIDA…</UserId><Arn>arn:aws:iam::123456789012:user/r/Robert</Arn><CreateDate>2026-11-24T08:00:00Z</CreateDate><Tags><member><Key>team</Key><Value>b</Value></member></Tags></User></GetUserResult>` + meta + `</GetUserResponse>`},
		{"ListSSHPublicKeys", awsquery.Params{"UserName": "Robert"},
			`<ListSSHPublicKeysResponse ` + ns + `><ListSSHPublicKeysResult><SSHPublicKeys></SSHPublicKeys><IsTruncated>false</IsTruncated></ListSSHPublicKeysResult>` + meta + `</ListSSHPublicKeysResponse>`},
		{"ListMFADevices", awsquery.Params{"UserName": "Robert"},
			`<ListMFADevicesResponse ` + ns + `><ListMFADevicesResult><MFADevices></MFADevices><IsTruncated>false</IsTruncated></ListMFADevicesResult>` + meta + `</ListMFADevicesResponse>`},
		{"ListVirtualMFADevices", awsquery.Params{},
			`<ListVirtualMFADevicesResponse ` + ns + `><ListVirtualMFADevicesResult><VirtualMFADevices></VirtualMFADevices><IsTruncated>false</IsTruncated></ListVirtualMFADevicesResult>` + meta + `</ListVirtualMFADevicesResponse>`},
		{"ListSigningCertificates", awsquery.Params{"UserName": "Robert"},
			`<ListSigningCertificatesResponse ` + ns + `><ListSigningCertificatesResult><Certificates></Certificates><IsTruncated>false</IsTruncated></ListSigningCertificatesResult>` + meta + `</ListSigningCertificatesResponse>`},
		{"ListServiceSpecificCredentials", awsquery.Params{"UserName": "Robert"},
			`<ListServiceSpecificCredentialsResponse ` + ns + `><ListServiceSpecificCredentialsResult><ServiceSpecificCredentials></ServiceSpecificCredentials><IsTruncated>false</IsTruncated></ListServiceSpecificCredentialsResult>` + meta + `</ListServiceSpecificCredentialsResponse>`},
		{"GenerateCredentialReport", awsquery.Params{},
			`<GenerateCredentialReportResponse ` + ns + `><GenerateCredentialReportResult><State>STARTED</State><Description>No report exists. Starting a new report generation task</Description></GenerateCredentialReportResult>` + meta + `</GenerateCredentialReportResponse>`},
		{"ListRolePolicies", awsquery.Params{"RoleName": "ci"},
			`<ListRolePoliciesResponse ` + ns + `><ListRolePoliciesResult><PolicyNames></PolicyNames><IsTruncated>false</IsTruncated></ListRolePoliciesResult>` + meta + `</ListRolePoliciesResponse>`},
	}
	for _, tt := range tests {
		res, err := api.Do(ctx, root, tt.action, tt.params)
		if err != nil {
			t.Fatalf("%s: %v", tt.action, err)
		}
		doc, err := awsquery.EncodeResult(awsquery.NamespaceIAM, tt.action, res, "rid")
		if err != nil {
			t.Fatal(err)
		}
		got := string(doc)
		for _, m := range masks {
			got = m.re.ReplaceAllString(got, m.with)
		}
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.action, got, tt.want)
		}
	}
}

// TestErrors checks validation and domain errors against IAM's codes.
func TestErrors(t *testing.T) {
	api := newAPI(t)
	ctx := context.Background()
	api.Do(ctx, root, "CreateUser", awsquery.Params{"UserName": "Bob"})
	api.Do(ctx, root, "CreateUser", awsquery.Params{"UserName": "Carl"})
	if _, err := api.Do(ctx, root, "CreateRole", awsquery.Params{"RoleName": "Ops", "AssumeRolePolicyDocument": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}`}); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		action string
		p      awsquery.Params
	}{
		{"CreateRole", awsquery.Params{"RoleName": "Ops2", "AssumeRolePolicyDocument": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}`}},
		{"CreateInstanceProfile", awsquery.Params{"InstanceProfileName": "web"}},
		{"AddRoleToInstanceProfile", awsquery.Params{"InstanceProfileName": "web", "RoleName": "ops2"}},
	} {
		if _, err := api.Do(ctx, root, step.action, step.p); err != nil {
			t.Fatalf("%s: %v", step.action, err)
		}
	}
	fiftyOne := awsquery.Params{"RoleName": "Ops"}
	for i := 1; i <= 51; i++ {
		fiftyOne["TagKeys.member."+strconv.Itoa(i)] = "k" + strconv.Itoa(i)
	}
	long := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a'
		}
		return string(b)
	}
	tests := []struct {
		name   string
		action string
		params awsquery.Params
		status int
		code   string
		msg    string
	}{
		{"missing name", "CreateUser", awsquery.Params{}, 400, "ValidationError", "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"},
		// AWS's words for a name or path outside its pattern:
		// aws-cloudformation/cfn-lint#996 (policyName),
		// app-sre/qontract-reconcile#2640 (roleName); lengths keep the
		// model's form, as AWS's answers do.
		{"name pattern", "CreateUser", awsquery.Params{"UserName": "a b"}, 400, "ValidationError", `The specified value for userName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-`},
		{"role name pattern", "CreateRole", awsquery.Params{"RoleName": "a b", "AssumeRolePolicyDocument": "{}"}, 400, "ValidationError", `The specified value for roleName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-`},
		{"group name pattern", "CreateGroup", awsquery.Params{"GroupName": "a*b"}, 400, "ValidationError", `The specified value for groupName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-`},
		{"policy name pattern", "PutUserPolicy", awsquery.Params{"UserName": "Bob", "PolicyName": "Deny unless VPC", "PolicyDocument": "{}"}, 400, "ValidationError", `The specified value for policyName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-`},
		{"name length", "CreateUser", awsquery.Params{"UserName": strings.Repeat("a", 65)}, 400, "ValidationError", `1 validation error detected: Value '` + strings.Repeat("a", 65) + `' at 'userName' failed to satisfy constraint: Member must have length less than or equal to 64`},
		{"name 65 on create", "CreateUser", awsquery.Params{"UserName": long(65)}, 400, "ValidationError", "length less than or equal to 64"},
		{"name 128 elsewhere", "GetUser", awsquery.Params{"UserName": long(128)}, 404, "NoSuchEntity", ""},
		{"name 129 elsewhere", "GetUser", awsquery.Params{"UserName": long(129)}, 400, "ValidationError", "length less than or equal to 128"},
		{"unicode name", "CreateUser", awsquery.Params{"UserName": "bøb"}, 400, "ValidationError", "It must contain only alphanumeric characters"},
		{"path", "CreateUser", awsquery.Params{"UserName": "x", "Path": "/a"}, 400, "ValidationError", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."},
		// A boundary must be an existing managed policy; worded as an
		// attachment of one is (AWS's public output for this case is not
		// known).
		{"boundary missing", "CreateUser", awsquery.Params{"UserName": "x", "PermissionsBoundary": "arn:aws:iam::aws:policy/X"}, 404, "NoSuchEntity", "Policy arn:aws:iam::aws:policy/X does not exist or is not attachable."},
		{"boundary of a missing user", "PutUserPermissionsBoundary", awsquery.Params{"UserName": "nobody", "PermissionsBoundary": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}, 404, "NoSuchEntity", "The user with name nobody cannot be found."},
		{"boundary required", "PutRolePermissionsBoundary", awsquery.Params{"RoleName": "Ops"}, 400, "ValidationError", "Value null at 'permissionsBoundary'"},
		{"duplicate tag", "CreateUser", awsquery.Params{"UserName": "x", "Tags.member.1.Key": "a", "Tags.member.1.Value": "", "Tags.member.2.Key": "A", "Tags.member.2.Value": ""}, 400, "InvalidInput", "Duplicate tag keys"},
		{"tag without value", "CreateUser", awsquery.Params{"UserName": "x", "Tags.member.1.Key": "a"}, 400, "ValidationError", "tags.1.member.value"},
		{"exists", "CreateUser", awsquery.Params{"UserName": "BOB"}, 409, "EntityAlreadyExists", "User with name BOB already exists."},
		{"no such user", "GetUser", awsquery.Params{"UserName": "nobody"}, 404, "NoSuchEntity", "The user with name nobody cannot be found."},
		{"key id short", "DeleteAccessKey", awsquery.Params{"AccessKeyId": "AKIA"}, 400, "ValidationError", "length greater than or equal to 16"},
		{"no such key", "DeleteAccessKey", awsquery.Params{"UserName": "Bob", "AccessKeyId": "AKIAAAAAAAAAAAAAAAAA"}, 404, "NoSuchEntity", "The Access Key with id AKIAAAAAAAAAAAAAAAAA cannot be found."},
		{"status expired", "UpdateAccessKey", awsquery.Params{"AccessKeyId": "AKIAAAAAAAAAAAAAAAAA", "Status": "Expired"}, 400, "InvalidInput", ""},
		{"status enum", "UpdateAccessKey", awsquery.Params{"AccessKeyId": "AKIAAAAAAAAAAAAAAAAA", "Status": "active"}, 400, "ValidationError", "enum value set"},
		{"status missing", "UpdateAccessKey", awsquery.Params{"AccessKeyId": "AKIAAAAAAAAAAAAAAAAA"}, 400, "ValidationError", "'status'"},
		{"max items 0", "ListUsers", awsquery.Params{"MaxItems": "0"}, 400, "ValidationError", "greater than or equal to 1"},
		{"max items big", "ListUsers", awsquery.Params{"MaxItems": "1001"}, 400, "ValidationError", "less than or equal to 1000"},
		{"marker foreign", "ListUsers", awsquery.Params{"Marker": "@@"}, 400, "ValidationError", "Invalid Marker"},
		{"last used unknown", "GetAccessKeyLastUsed", awsquery.Params{"AccessKeyId": "AKIAAAAAAAAAAAAAAAAA"}, 404, "NoSuchEntity", ""},
		{"unknown action", "CreateSAMLProvider", awsquery.Params{}, 400, "InvalidAction", "Could not find operation CreateSAMLProvider for version 2010-05-08"},
		{"role name missing", "CreateRole", awsquery.Params{}, 400, "ValidationError", "Value null at 'roleName'"},
		{"trust policy with a Resource", "CreateRole", awsquery.Params{"RoleName": "r", "AssumeRolePolicyDocument": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}}`}, 400, "MalformedPolicyDocument", "Has prohibited field Resource"},
		{"trust policy naming a missing user", "CreateRole", awsquery.Params{"RoleName": "r", "AssumeRolePolicyDocument": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/ghost"},"Action":"sts:AssumeRole"}}`}, 400, "MalformedPolicyDocument", "Invalid principal in policy"},
		{"trust policy without Principal", "CreateRole", awsquery.Params{"RoleName": "r", "AssumeRolePolicyDocument": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:AssumeRole"}}`}, 400, "MalformedPolicyDocument", "Missing required field Principal"},
		{"login profile", "GetLoginProfile", awsquery.Params{"UserName": "Bob"}, 404, "NoSuchEntity", "Login Profile for User Bob cannot be found."},
		{"SSH keys of nobody", "ListSSHPublicKeys", awsquery.Params{"UserName": "nobody"}, 404, "NoSuchEntity", ""},
		{"reserved tag key", "TagUser", awsquery.Params{"UserName": "Bob", "Tags.member.1.Key": "aws:team", "Tags.member.1.Value": "x"}, 400, "InvalidInput", "reserved"},
		{"rename onto a taken name", "UpdateUser", awsquery.Params{"UserName": "Bob", "NewUserName": "carl"}, 409, "EntityAlreadyExists", ""},
		{"no report", "GetCredentialReport", awsquery.Params{}, 410, "ReportNotPresent", ""},
		{"role missing", "GetRole", awsquery.Params{"RoleName": "nobody"}, 404, "NoSuchEntity", "The role with name nobody cannot be found."},
		// Instance profiles: one role each; neither deleted while joined.
		{"a second role in a profile", "AddRoleToInstanceProfile", awsquery.Params{"InstanceProfileName": "web", "RoleName": "Ops"}, 409, "LimitExceeded", "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1"},
		{"a role in a profile", "DeleteRole", awsquery.Params{"RoleName": "Ops2"}, 409, "DeleteConflict", "Cannot delete entity, must remove roles from instance profile first."},
		{"a profile holding a role", "DeleteInstanceProfile", awsquery.Params{"InstanceProfileName": "web"}, 409, "DeleteConflict", "Cannot delete entity, must remove roles from instance profile first."},
		{"a missing profile", "GetInstanceProfile", awsquery.Params{"InstanceProfileName": "nope"}, 404, "NoSuchEntity", "Instance Profile nope cannot be found."},
		{"a profile name pattern", "CreateInstanceProfile", awsquery.Params{"InstanceProfileName": "a b"}, 400, "ValidationError", "The specified value for instanceProfileName is invalid."},
		{"role policy missing", "GetRolePolicy", awsquery.Params{"RoleName": "Ops", "PolicyName": "nope"}, 404, "NoSuchEntity", "The role policy with name nope cannot be found."},
		{"role policy missing, deleted", "DeleteRolePolicy", awsquery.Params{"RoleName": "Ops", "PolicyName": "nope"}, 404, "NoSuchEntity", "The role policy with name nope cannot be found."},
		{"group policy missing", "GetGroupPolicy", awsquery.Params{"GroupName": "nobody", "PolicyName": "nope"}, 404, "NoSuchEntity", ""},
		// Untag's keys: the model's constraints, the list quoted as AWS's
		// request validation quotes a list (its public output for this
		// list is not known).
		{"untag user, a bad key", "UntagUser", awsquery.Params{"UserName": "Bob", "TagKeys.member.1": "bad*key"}, 400, "ValidationError", "Value '[bad*key]' at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+]"},
		{"untag role, 129 characters", "UntagRole", awsquery.Params{"RoleName": "Ops", "TagKeys.member.1": long(129)}, 400, "ValidationError", "at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 128"},
		{"untag role, 51 keys", "UntagRole", fiftyOne, 400, "ValidationError", "at 'tagKeys' failed to satisfy constraint: Member must have length less than or equal to 50"},
		// Tags: one failed constraint per message.
		{"tag key pattern only", "TagUser", awsquery.Params{"UserName": "Bob", "Tags.member.1.Key": "bad*key", "Tags.member.1.Value": "v"}, 400, "ValidationError", "1 validation error detected: Value 'bad*key' at 'tags.1.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+"},
		{"tag key length only", "TagUser", awsquery.Params{"UserName": "Bob", "Tags.member.1.Key": long(129), "Tags.member.1.Value": "v"}, 400, "ValidationError", "at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"tag value length only", "TagUser", awsquery.Params{"UserName": "Bob", "Tags.member.1.Key": "k", "Tags.member.1.Value": long(257)}, 400, "ValidationError", "at 'tags.1.member.value' failed to satisfy constraint: Member must have length less than or equal to 256"},
		{"role session too long", "CreateRole", awsquery.Params{"RoleName": "r", "AssumeRolePolicyDocument": "{}", "MaxSessionDuration": "50000"}, 400, "ValidationError", "maxSessionDuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := api.Do(ctx, root, tt.action, tt.params)
			if err == nil {
				t.Fatal("no error")
			}
			status, code, msg, sender := iamapi.ErrorResponse(err)
			if status != tt.status || code != tt.code || !sender {
				t.Fatalf("got %d %s %q, want %d %s", status, code, msg, tt.status, tt.code)
			}
			if tt.msg != "" && !regexp.MustCompile(regexp.QuoteMeta(tt.msg)).MatchString(msg) {
				t.Fatalf("message %q lacks %q", msg, tt.msg)
			}
		})
	}
}

func TestInternalErrorsAreGeneric(t *testing.T) {
	status, code, msg, sender := iamapi.ErrorResponse(&iamd.Error{Kind: iamd.Internal, Message: "disk /var/lib/x failed", Err: context.DeadlineExceeded})
	if status != 500 || code != "ServiceFailure" || sender || regexp.MustCompile(`disk|deadline`).MatchString(msg) {
		t.Fatalf("%d %s %q %v", status, code, msg, sender)
	}
}

// TestTagPaging: List{User,Role,Policy,OpenIDConnectProvider}Tags honour
// MaxItems and Marker: three tags a page of one at a time, truncated
// until the last.
func TestTagPaging(t *testing.T) {
	api := newAPI(t)
	ctx := context.Background()
	three := awsquery.Params{"Tags.member.1.Key": "a", "Tags.member.1.Value": "1", "Tags.member.2.Key": "b", "Tags.member.2.Value": "2",
		"Tags.member.3.Key": "c", "Tags.member.3.Value": "3"}
	with := func(p awsquery.Params, more awsquery.Params) awsquery.Params {
		out := awsquery.Params{}
		for k, v := range p {
			out[k] = v
		}
		for k, v := range more {
			out[k] = v
		}
		return out
	}
	mustDo := func(action string, p awsquery.Params) string {
		t.Helper()
		res, err := api.Do(ctx, root, action, p)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		doc, err := awsquery.EncodeResult(awsquery.NamespaceIAM, action, res, "rid")
		if err != nil {
			t.Fatal(err)
		}
		return string(doc)
	}
	mustDo("CreateUser", with(three, awsquery.Params{"UserName": "u"}))
	mustDo("CreateRole", with(three, awsquery.Params{"RoleName": "r", "AssumeRolePolicyDocument": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}}`}))
	mustDo("CreatePolicy", with(three, awsquery.Params{"PolicyName": "p", "PolicyDocument": `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:Get*","Resource":"*"}}`}))
	for action, p := range map[string]awsquery.Params{"ListUserTags": {"UserName": "u"}, "ListRoleTags": {"RoleName": "r"},
		"ListPolicyTags": {"PolicyArn": "arn:aws:iam::123456789012:policy/p"}} {
		marker := ""
		for _, want := range []string{"a", "b", "c"} {
			q := with(p, awsquery.Params{"MaxItems": "1"})
			if marker != "" {
				q["Marker"] = marker
			}
			doc := mustDo(action, q)
			if !strings.Contains(doc, "<Tags><member><Key>"+want+"</Key>") || strings.Count(doc, "<member>") != 1 {
				t.Fatalf("%s page %s: %s", action, want, doc)
			}
			last := want == "c"
			if strings.Contains(doc, "<IsTruncated>true</IsTruncated>") == last {
				t.Fatalf("%s page %s: IsTruncated wrong: %s", action, want, doc)
			}
			m := regexp.MustCompile(`<Marker>([^<]*)</Marker>`).FindStringSubmatch(doc)
			if (m == nil) != last {
				t.Fatalf("%s page %s: Marker wrong: %s", action, want, doc)
			}
			if m != nil {
				marker = m[1]
			}
		}
	}
}

// TestVirtualMFADeviceQRCode: CreateVirtualMFADevice returns, once, the
// seed in base32 and as a QR code: a PNG an authenticator app can scan.
func TestVirtualMFADeviceQRCode(t *testing.T) {
	api := newAPI(t)
	res, err := api.Do(context.Background(), root, "CreateVirtualMFADevice", awsquery.Params{"VirtualMFADeviceName": "phone"})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := awsquery.EncodeResult(awsquery.NamespaceIAM, "CreateVirtualMFADevice", res, "rid")
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Device struct{ Base32StringSeed, QRCodePNG string } `xml:"CreateVirtualMFADeviceResult>VirtualMFADevice"`
	}
	if err := xml.Unmarshal(doc, &out); err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(out.Device.QRCodePNG)
	if err != nil {
		t.Fatalf("QRCodePNG is not base64: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("QRCodePNG is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
		t.Fatalf("QR code of %v, want 256×256", b)
	}
	if out.Device.Base32StringSeed == "" {
		t.Fatal("no seed beside the QR code")
	}
}
