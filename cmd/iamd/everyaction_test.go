package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"iamd/accounts"
	"iamd/federation"
	"iamd/iamapi"
	"iamd/instanceprofiles"
	"iamd/internal/oidctest"
	"iamd/people"
	"iamd/stsapi"
)

// TestEveryActionAnswersAsTheModel calls every IAM and STS action iamd
// serves, once each at least, with real values through the real server;
// each answer must succeed, and its XML is checked against botocore's
// model of that action's output by the test client (shapeChecker):
// result wrappers (empty ones included), member names and types,
// required members. An action served and missing here fails the test, so
// a new one cannot arrive unchecked.
func TestEveryActionAnswersAsTheModel(t *testing.T) {
	if err := loadModels(); err != nil {
		t.Skip(err) // TestMain fails the run in CI
	}
	s := start(t)
	is := oidctest.New(t, "/every")
	called := map[string]bool{}
	type creds struct{ id, secret, token string }
	rootCreds := creds{rootID, rootSecret, ""}
	call := func(as creds, svc, action string, kv ...string) []byte {
		t.Helper()
		form := url.Values{"Action": {action}, "Version": {"2010-05-08"}}
		if svc == "sts" {
			form.Set("Version", "2011-06-15")
		}
		for i := 0; i+1 < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		body := form.Encode()
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		if as.id != "" {
			if as.token != "" {
				req.Header.Set("X-Amz-Security-Token", as.token)
			}
			sum := sha256.Sum256([]byte(body))
			if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: as.id, SecretAccessKey: as.secret, SessionToken: as.token},
				req, hex.EncodeToString(sum[:]), svc, "us-east-1", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := s.HTTP.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: HTTP %d: %s", action, resp.StatusCode, out)
		}
		called[svc+":"+action] = true
		return out
	}
	iamCall := func(action string, kv ...string) []byte { t.Helper(); return call(rootCreds, "iam", action, kv...) }
	field := func(doc []byte, name string) string {
		t.Helper()
		m := regexp.MustCompile(`<` + name + `>([^<]*)</` + name + `>`).FindSubmatch(doc)
		if m == nil {
			t.Fatalf("no <%s> in %s", name, doc)
		}
		return string(m[1])
	}
	const (
		acct  = "arn:aws:iam::" + account
		allow = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":["iam:ChangePassword","iam:GetUser","sts:AssumeRole","sts:GetSessionToken"],"Resource":"*"}}`
		read  = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}`
		trust = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"` + account + `"},"Action":"sts:AssumeRole"}}`
	)
	policyARN := acct + ":policy/team/p1"

	// Users, their keys and tags.
	iamCall("CreateUser", "UserName", "u1", "Tags.member.1.Key", "team", "Tags.member.1.Value", "a")
	iamCall("GetUser", "UserName", "u1")
	iamCall("ListUsers")
	iamCall("UpdateUser", "UserName", "u1", "NewPath", "/people/")
	iamCall("TagUser", "UserName", "u1", "Tags.member.1.Key", "env", "Tags.member.1.Value", "prod")
	iamCall("ListUserTags", "UserName", "u1")
	iamCall("UntagUser", "UserName", "u1", "TagKeys.member.1", "env")
	key := iamCall("CreateAccessKey", "UserName", "u1")
	u1 := creds{field(key, "AccessKeyId"), field(key, "SecretAccessKey"), ""}
	iamCall("ListAccessKeys", "UserName", "u1")
	iamCall("UpdateAccessKey", "UserName", "u1", "AccessKeyId", u1.id, "Status", "Inactive")
	iamCall("UpdateAccessKey", "UserName", "u1", "AccessKeyId", u1.id, "Status", "Active")
	iamCall("GetAccessKeyLastUsed", "AccessKeyId", u1.id)
	iamCall("PutUserPolicy", "UserName", "u1", "PolicyName", "own", "PolicyDocument", allow)
	iamCall("GetUserPolicy", "UserName", "u1", "PolicyName", "own")
	iamCall("ListUserPolicies", "UserName", "u1")

	// Groups.
	iamCall("CreateGroup", "GroupName", "g1")
	iamCall("GetGroup", "GroupName", "g1")
	iamCall("ListGroups")
	iamCall("UpdateGroup", "GroupName", "g1", "NewPath", "/team/")
	iamCall("AddUserToGroup", "GroupName", "g1", "UserName", "u1")
	iamCall("ListGroupsForUser", "UserName", "u1")
	iamCall("PutGroupPolicy", "GroupName", "g1", "PolicyName", "gp", "PolicyDocument", read)
	iamCall("GetGroupPolicy", "GroupName", "g1", "PolicyName", "gp")
	iamCall("ListGroupPolicies", "GroupName", "g1")

	// Managed policies and their versions.
	iamCall("CreatePolicy", "PolicyName", "p1", "Path", "/team/", "PolicyDocument", read, "Description", "reads")
	iamCall("GetPolicy", "PolicyArn", policyARN)
	iamCall("ListPolicies", "Scope", "Local")
	iamCall("CreatePolicyVersion", "PolicyArn", policyARN, "PolicyDocument", read, "SetAsDefault", "true")
	iamCall("ListPolicyVersions", "PolicyArn", policyARN)
	iamCall("GetPolicyVersion", "PolicyArn", policyARN, "VersionId", "v2")
	iamCall("SetDefaultPolicyVersion", "PolicyArn", policyARN, "VersionId", "v1")
	iamCall("DeletePolicyVersion", "PolicyArn", policyARN, "VersionId", "v2")
	iamCall("TagPolicy", "PolicyArn", policyARN, "Tags.member.1.Key", "team", "Tags.member.1.Value", "a")
	iamCall("ListPolicyTags", "PolicyArn", policyARN)
	iamCall("UntagPolicy", "PolicyArn", policyARN, "TagKeys.member.1", "team")

	// Roles, boundaries, instance profiles.
	iamCall("CreateRole", "RoleName", "r1", "AssumeRolePolicyDocument", trust)
	iamCall("GetRole", "RoleName", "r1")
	iamCall("ListRoles")
	iamCall("UpdateRole", "RoleName", "r1", "Description", "the role", "MaxSessionDuration", "7200")
	iamCall("UpdateRoleDescription", "RoleName", "r1", "Description", "still the role")
	iamCall("UpdateAssumeRolePolicy", "RoleName", "r1", "PolicyDocument", trust)
	iamCall("TagRole", "RoleName", "r1", "Tags.member.1.Key", "team", "Tags.member.1.Value", "a")
	iamCall("ListRoleTags", "RoleName", "r1")
	iamCall("UntagRole", "RoleName", "r1", "TagKeys.member.1", "team")
	iamCall("PutRolePolicy", "RoleName", "r1", "PolicyName", "rp", "PolicyDocument", read)
	iamCall("GetRolePolicy", "RoleName", "r1", "PolicyName", "rp")
	iamCall("ListRolePolicies", "RoleName", "r1")
	iamCall("PutRolePermissionsBoundary", "RoleName", "r1", "PermissionsBoundary", policyARN)
	iamCall("DeleteRolePermissionsBoundary", "RoleName", "r1")
	iamCall("PutUserPermissionsBoundary", "UserName", "u1", "PermissionsBoundary", "arn:aws:iam::aws:policy/AdministratorAccess")
	iamCall("DeleteUserPermissionsBoundary", "UserName", "u1")
	for _, kind := range []string{"User", "Group", "Role"} {
		name := map[string]string{"User": "u1", "Group": "g1", "Role": "r1"}[kind]
		iamCall("Attach"+kind+"Policy", kind+"Name", name, "PolicyArn", policyARN)
		iamCall("ListAttached"+kind+"Policies", kind+"Name", name)
	}
	iamCall("ListEntitiesForPolicy", "PolicyArn", policyARN)
	iamCall("CreateInstanceProfile", "InstanceProfileName", "ip1", "Tags.member.1.Key", "team", "Tags.member.1.Value", "a")
	iamCall("AddRoleToInstanceProfile", "InstanceProfileName", "ip1", "RoleName", "r1")
	iamCall("GetInstanceProfile", "InstanceProfileName", "ip1")
	iamCall("ListInstanceProfiles")
	iamCall("ListInstanceProfilesForRole", "RoleName", "r1")
	iamCall("TagInstanceProfile", "InstanceProfileName", "ip1", "Tags.member.1.Key", "env", "Tags.member.1.Value", "prod")
	iamCall("ListInstanceProfileTags", "InstanceProfileName", "ip1")
	iamCall("UntagInstanceProfile", "InstanceProfileName", "ip1", "TagKeys.member.1", "env")
	iamCall("RemoveRoleFromInstanceProfile", "InstanceProfileName", "ip1", "RoleName", "r1")
	iamCall("DeleteInstanceProfile", "InstanceProfileName", "ip1")

	// People: passwords and MFA devices.
	iamCall("UpdateAccountPasswordPolicy", "MinimumPasswordLength", "12", "RequireNumbers", "true", "AllowUsersToChangePassword", "true")
	iamCall("GetAccountPasswordPolicy")
	iamCall("CreateLoginProfile", "UserName", "u1", "Password", "first-Password-1")
	iamCall("GetLoginProfile", "UserName", "u1")
	iamCall("UpdateLoginProfile", "UserName", "u1", "Password", "second-Password-2")
	call(u1, "iam", "ChangePassword", "OldPassword", "second-Password-2", "NewPassword", "third-Password-3")
	iamCall("DeleteLoginProfile", "UserName", "u1")
	iamCall("DeleteAccountPasswordPolicy")
	dev := iamCall("CreateVirtualMFADevice", "VirtualMFADeviceName", "u1-phone")
	serial := field(dev, "SerialNumber")
	b32, _ := base64.StdEncoding.DecodeString(field(dev, "Base32StringSeed"))
	seed, err := people.Base32.DecodeString(string(b32))
	if err != nil {
		t.Fatal(err)
	}
	now := people.StepAt(time.Now())
	iamCall("ListVirtualMFADevices")
	iamCall("EnableMFADevice", "UserName", "u1", "SerialNumber", serial, "AuthenticationCode1", people.Code(seed, now-1), "AuthenticationCode2", people.Code(seed, now))
	iamCall("ListMFADevices", "UserName", "u1")
	iamCall("ResyncMFADevice", "UserName", "u1", "SerialNumber", serial, "AuthenticationCode1", people.Code(seed, now+1), "AuthenticationCode2", people.Code(seed, now+2))
	iamCall("TagMFADevice", "SerialNumber", serial, "Tags.member.1.Key", "team", "Tags.member.1.Value", "a")
	iamCall("ListMFADeviceTags", "SerialNumber", serial)
	iamCall("UntagMFADevice", "SerialNumber", serial, "TagKeys.member.1", "team")
	iamCall("DeactivateMFADevice", "UserName", "u1", "SerialNumber", serial)
	iamCall("DeleteVirtualMFADevice", "SerialNumber", serial)

	// OpenID Connect providers, and a web identity exchanged for a session.
	host := strings.TrimPrefix(is.URL, "https://")
	providerARN := acct + ":oidc-provider/" + host
	iamCall("CreateOpenIDConnectProvider", "Url", is.URL, "ClientIDList.member.1", "sts.amazonaws.com", "ThumbprintList.member.1", is.Thumbprint)
	iamCall("GetOpenIDConnectProvider", "OpenIDConnectProviderArn", providerARN)
	iamCall("ListOpenIDConnectProviders")
	iamCall("AddClientIDToOpenIDConnectProvider", "OpenIDConnectProviderArn", providerARN, "ClientID", "other")
	iamCall("RemoveClientIDFromOpenIDConnectProvider", "OpenIDConnectProviderArn", providerARN, "ClientID", "other")
	iamCall("UpdateOpenIDConnectProviderThumbprint", "OpenIDConnectProviderArn", providerARN, "ThumbprintList.member.1", is.Thumbprint)
	iamCall("TagOpenIDConnectProvider", "OpenIDConnectProviderArn", providerARN, "Tags.member.1.Key", "team", "Tags.member.1.Value", "a")
	iamCall("ListOpenIDConnectProviderTags", "OpenIDConnectProviderArn", providerARN)
	iamCall("UntagOpenIDConnectProvider", "OpenIDConnectProviderArn", providerARN, "TagKeys.member.1", "team")
	iamCall("CreateRole", "RoleName", "web", "AssumeRolePolicyDocument", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"Federated":"`+providerARN+
		`"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"`+host+`:aud":"sts.amazonaws.com"}}}}`)
	claims := oidctest.Kubernetes("build", "runner")
	claims["exp"] = time.Now().Add(5 * time.Minute).Unix()
	call(creds{}, "sts", "AssumeRoleWithWebIdentity", "RoleArn", acct+":role/web", "RoleSessionName", "ci", "WebIdentityToken", is.Sign(t, claims))

	// STS with the user's key.
	call(u1, "sts", "GetCallerIdentity")
	call(u1, "sts", "GetSessionToken", "DurationSeconds", "900")
	assumed := call(u1, "sts", "AssumeRole", "RoleArn", acct+":role/r1", "RoleSessionName", "every")
	session := creds{field(assumed, "AccessKeyId"), field(assumed, "SecretAccessKey"), field(assumed, "SessionToken")}
	call(session, "sts", "GetCallerIdentity")
	call(rootCreds, "sts", "GetAccessKeyInfo", "AccessKeyId", u1.id)

	// The account.
	iamCall("CreateAccountAlias", "AccountAlias", "every-action")
	iamCall("ListAccountAliases")
	iamCall("DeleteAccountAlias", "AccountAlias", "every-action")
	iamCall("GetAccountSummary")
	iamCall("GetAccountAuthorizationDetails")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if state := field(iamCall("GenerateCredentialReport"), "State"); state == "COMPLETE" || time.Now().After(deadline) {
			break
		}
	}
	iamCall("GetCredentialReport")
	iamCall("SimulatePrincipalPolicy", "PolicySourceArn", acct+":user/people/u1", "ActionNames.member.1", "s3:GetObject")
	iamCall("SimulateCustomPolicy", "PolicyInputList.member.1", read, "ActionNames.member.1", "s3:GetObject")
	for _, a := range []string{"ListSSHPublicKeys", "ListServiceSpecificCredentials", "ListSigningCertificates"} {
		iamCall(a, "UserName", "u1")
	}

	// And everything away again.
	for _, kind := range []string{"User", "Group", "Role"} {
		name := map[string]string{"User": "u1", "Group": "g1", "Role": "r1"}[kind]
		iamCall("Detach"+kind+"Policy", kind+"Name", name, "PolicyArn", policyARN)
		iamCall("Delete"+kind+"Policy", kind+"Name", name, "PolicyName", map[string]string{"User": "own", "Group": "gp", "Role": "rp"}[kind])
	}
	iamCall("RemoveUserFromGroup", "GroupName", "g1", "UserName", "u1")
	iamCall("DeleteAccessKey", "UserName", "u1", "AccessKeyId", u1.id)
	iamCall("DeletePolicy", "PolicyArn", policyARN)
	iamCall("DeleteGroup", "GroupName", "g1")
	iamCall("DeleteRole", "RoleName", "r1")
	iamCall("DeleteRole", "RoleName", "web")
	iamCall("DeleteUser", "UserName", "u1")
	iamCall("DeleteOpenIDConnectProvider", "OpenIDConnectProviderArn", providerARN)

	fed := federation.New(federation.Config{})
	served := map[string][]string{
		"iam": iamapi.New(nil, iamapi.Parts{Federation: fed, InstanceProfiles: instanceprofiles.New(nil, nil, nil), People: people.New(people.Config{}), Accounts: accounts.New(nil, nil)}).Actions(),
		"sts": stsapi.New(nil, fed, nil).Actions(),
	}
	for svc, actions := range served {
		slices.Sort(actions)
		for _, a := range actions {
			if !called[svc+":"+a] {
				t.Errorf("%s %s is served and not called here: add it, so that its answer is checked against the model", svc, a)
			}
		}
	}
}
