package iamd

import (
	"time"

	"iamd/policy"
)

// builtinPolicy is an AWS-managed policy: fixed, version v1, the same in
// every account.
type builtinPolicy struct {
	ManagedPolicy
	Document string
	compiled *policy.Policy
}

// awsManagedCreated is the creation date iamd reports for its AWS-managed
// policies.
var awsManagedCreated = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// awsManaged are the AWS-managed policies iamd offers, by name. The first
// three have AWS's names and grant what AWS's do within what iamd serves;
// IAMSelfManageAccessKeys is iamd's own: a user may manage its own access
// keys and read its own user, nothing else.
var awsManaged = []*builtinPolicy{
	newBuiltin("AdministratorAccess", "ANPAIWMBCKSKIEE64ZLYK", "Provides full access to AWS services and resources.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`),
	newBuiltin("IAMFullAccess", "ANPAI7XKCFMBPM3QQRRVQ", "Provides full access to IAM.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`),
	newBuiltin("IAMReadOnlyAccess", "ANPAJKSO7NDY4T57MWDSQ", "Provides read only access to IAM.",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["iam:Get*","iam:List*","iam:SimulateCustomPolicy","iam:SimulatePrincipalPolicy"],"Resource":"*"}]}`),
	newBuiltin("IAMSelfManageAccessKeys", "ANPAIAMDSELFMANAGEKEY", "Lets an IAM user create, list, rotate and delete its own access keys, and read its own user.",
		`{"Version":"2012-10-17","Statement":[{"Sid":"ManageOwnAccessKeys","Effect":"Allow","Action":["iam:CreateAccessKey","iam:DeleteAccessKey","iam:GetAccessKeyLastUsed","iam:GetUser","iam:ListAccessKeys","iam:UpdateAccessKey"],"Resource":["arn:aws:iam::*:user/${aws:username}","arn:aws:iam::*:user/*/${aws:username}"]}]}`),
}

var awsManagedByARN = func() map[string]*builtinPolicy {
	m := make(map[string]*builtinPolicy, len(awsManaged))
	for _, b := range awsManaged {
		m[b.ARN("")] = b
	}
	return m
}()

func newBuiltin(name, id, description, doc string) *builtinPolicy {
	p, err := policy.Parse(doc)
	if err != nil {
		panic("iamd: built-in policy " + name + ": " + err.Error())
	}
	return &builtinPolicy{
		ManagedPolicy: ManagedPolicy{ID: id, Name: name, Path: "/", Description: description, DefaultVersion: "v1",
			CreatedAt: awsManagedCreated, UpdatedAt: awsManagedCreated, AWSManaged: true},
		Document: doc,
		compiled: p,
	}
}
