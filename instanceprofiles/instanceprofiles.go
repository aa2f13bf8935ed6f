// Package instanceprofiles serves IAM's instance profiles: containers for
// one role, which AWS hands to EC2 instances. iamd runs no instances; it
// keeps them so that Terraform modules and templates written for AWS,
// which make them beside their roles, apply unchanged. Each action is
// decided by the caller's policies on the profile's ARN.
package instanceprofiles

import (
	"context"
	"crypto/rand"
	"io"
	"time"

	"iamd"
)

// Profiles serves the instance profile actions.
type Profiles struct {
	svc   *iamd.Service
	store iamd.Store
	now   func() time.Time
	rand  io.Reader
}

// New returns the instance profiles of svc's account, kept in store; now
// is the clock (time.Now if nil).
func New(svc *iamd.Service, store iamd.Store, now func() time.Time) *Profiles {
	if now == nil {
		now = time.Now
	}
	return &Profiles{svc: svc, store: store, now: now, rand: rand.Reader}
}

// MaxTags is AWS's limit of tags on an instance profile.
const MaxTags = 50

func (p *Profiles) arn(path, name string) string {
	return (&iamd.InstanceProfile{Path: path, Name: name}).ARN(p.svc.Account().ID)
}

// authorize decides action on the profile of that name: on its stored ARN
// when it exists, else on the name as requested.
func (p *Profiles) authorize(ctx context.Context, c *iamd.Caller, action, name string, tf iamd.TagFacts) (*iamd.InstanceProfile, error) {
	ip, err := p.store.GetInstanceProfile(ctx, name)
	resource := p.arn("/", name)
	if err == nil {
		resource, tf.Resource = ip.ARN(p.svc.Account().ID), ip.Tags
	}
	if aerr := p.svc.AuthorizeTagged(ctx, c, action, resource, tf); aerr != nil {
		return nil, aerr
	}
	return ip, err
}

// Create makes an instance profile without a role.
func (p *Profiles) Create(ctx context.Context, c *iamd.Caller, name, path string, tags []iamd.Tag) (*iamd.InstanceProfile, error) {
	if path == "" {
		path = "/"
	}
	if err := p.svc.AuthorizeTagged(ctx, c, "iam:CreateInstanceProfile", p.arn(path, name), iamd.TagFacts{Setting: tags}); err != nil {
		return nil, err
	}
	if err := iamd.CheckTagKeys(tags); err != nil {
		return nil, err
	}
	if len(tags) > MaxTags {
		return nil, iamd.Errorf(iamd.LimitExceeded, "The number of tags has reached the maximum limit.")
	}
	id, err := iamd.NewInstanceProfileID(p.rand)
	if err != nil {
		return nil, err
	}
	ip := &iamd.InstanceProfile{ID: id, Name: name, Path: path, CreatedAt: p.now().UTC().Truncate(time.Millisecond), Tags: tags}
	if err := p.store.CreateInstanceProfile(ctx, ip); err != nil {
		return nil, err
	}
	return ip, nil
}

// Get returns a profile, with its role's name.
func (p *Profiles) Get(ctx context.Context, c *iamd.Caller, name string) (*iamd.InstanceProfile, error) {
	return p.authorize(ctx, c, "iam:GetInstanceProfile", name, iamd.TagFacts{})
}

// List lists profiles under pathPrefix, or those holding role when it is
// not "" (ListInstanceProfilesForRole, decided on the role).
func (p *Profiles) List(ctx context.Context, c *iamd.Caller, pathPrefix, role string, page iamd.Page) ([]*iamd.InstanceProfile, string, error) {
	if role != "" {
		r, err := p.svc.GetRole(ctx, &iamd.Caller{Kind: iamd.CallerRoot, Account: p.svc.Account().ID}, role)
		resource := "arn:aws:iam::" + p.svc.Account().ID + ":role/" + role
		if err == nil {
			resource = r.ARN(p.svc.Account().ID)
		}
		if aerr := p.svc.Authorize(ctx, c, "iam:ListInstanceProfilesForRole", resource); aerr != nil {
			return nil, "", aerr
		}
		if err != nil {
			return nil, "", err
		}
		return p.store.ListInstanceProfiles(ctx, "/", role, page)
	}
	if err := p.svc.Authorize(ctx, c, "iam:ListInstanceProfiles", p.arn(pathPrefix, "")); err != nil {
		return nil, "", err
	}
	return p.store.ListInstanceProfiles(ctx, pathPrefix, "", page)
}

// ListTags returns a profile's tags.
func (p *Profiles) ListTags(ctx context.Context, c *iamd.Caller, name string) ([]iamd.Tag, error) {
	ip, err := p.authorize(ctx, c, "iam:ListInstanceProfileTags", name, iamd.TagFacts{})
	if err != nil {
		return nil, err
	}
	return ip.Tags, nil
}

// Delete deletes a profile that holds no role.
func (p *Profiles) Delete(ctx context.Context, c *iamd.Caller, name string) error {
	if _, err := p.authorize(ctx, c, "iam:DeleteInstanceProfile", name, iamd.TagFacts{}); err != nil {
		return err
	}
	return p.store.DeleteInstanceProfile(ctx, name)
}

// AddRole puts role into the profile; as on AWS the caller must also be
// allowed to pass the role (iam:PassRole).
func (p *Profiles) AddRole(ctx context.Context, c *iamd.Caller, name, role string) error {
	if _, err := p.authorize(ctx, c, "iam:AddRoleToInstanceProfile", name, iamd.TagFacts{}); err != nil {
		return err
	}
	if err := p.svc.Authorize(ctx, c, "iam:PassRole", "arn:aws:iam::"+p.svc.Account().ID+":role/"+role); err != nil {
		return err
	}
	return p.store.SetInstanceProfileRole(ctx, name, role, true)
}

// RemoveRole takes role out of the profile.
func (p *Profiles) RemoveRole(ctx context.Context, c *iamd.Caller, name, role string) error {
	if _, err := p.authorize(ctx, c, "iam:RemoveRoleFromInstanceProfile", name, iamd.TagFacts{}); err != nil {
		return err
	}
	return p.store.SetInstanceProfileRole(ctx, name, role, false)
}

// Tag adds or replaces tags.
func (p *Profiles) Tag(ctx context.Context, c *iamd.Caller, name string, tags []iamd.Tag) error {
	if _, err := p.authorize(ctx, c, "iam:TagInstanceProfile", name, iamd.TagFacts{Setting: tags}); err != nil {
		return err
	}
	if err := iamd.CheckTagKeys(tags); err != nil {
		return err
	}
	return p.store.UpdateInstanceProfileTags(ctx, name, func(have []iamd.Tag) ([]iamd.Tag, error) {
		merged, err := iamd.MergeTags(have, tags)
		if err == nil && len(merged) > MaxTags {
			return nil, iamd.Errorf(iamd.LimitExceeded, "The number of tags has reached the maximum limit.")
		}
		return merged, err
	})
}

// Untag removes tags by key.
func (p *Profiles) Untag(ctx context.Context, c *iamd.Caller, name string, keys []string) error {
	if _, err := p.authorize(ctx, c, "iam:UntagInstanceProfile", name, iamd.TagFacts{Removing: keys}); err != nil {
		return err
	}
	return p.store.UpdateInstanceProfileTags(ctx, name, func(have []iamd.Tag) ([]iamd.Tag, error) { return iamd.RemoveTags(have, keys), nil })
}
