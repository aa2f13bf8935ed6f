package replica

import (
	"cmp"
	"slices"

	"iamd"
)

// state is the replica's copy of the records, indexed as decisions look
// them up. Records are never changed in place: a change replaces a record,
// so a reader may keep one it was handed.
type state struct {
	epoch   string
	seq     int64
	last    iamd.LogEntry // the entry at seq, when the replica applied it
	account iamd.Account

	keys        map[string]*iamd.KeyRecord
	keysOf      map[string][]string         // owner ID → its keys' IDs (two at most)
	users       map[string]*iamd.UserRecord // by ID
	userIDs     map[string]string           // account "/" folded name → ID (see named)
	groups      map[string]*iamd.GroupRecord
	groupIDs    map[string]string
	roles       map[string]*iamd.RoleRecord
	roleIDs     map[string]string
	policies    map[string]*iamd.PolicyRecord
	policyIDs   map[string]string
	buckets     map[string]*iamd.Bucket
	bucketIDs   map[string]string // name → ID: bucket names are the deployment's
	providers   map[string]*iamd.OIDCProvider
	providerIDs map[string]string // account "/" URL → ID
	org         []byte            // the organization's document; nil: none
}

// named is the key an entity of an account is indexed under by name.
func named(account, name string) string { return account + "/" + iamd.FoldName(name) }

func userName(u *iamd.UserRecord) string     { return named(u.Account, u.Name) }
func groupName(g *iamd.GroupRecord) string   { return named(g.Account, g.Name) }
func roleName(r *iamd.RoleRecord) string     { return named(r.Account, r.Name) }
func policyName(p *iamd.PolicyRecord) string { return named(p.Account, p.Name) }
func bucketName(b *iamd.Bucket) string       { return b.Name }

// providerName keeps the URL as it is: a provider's URL is matched exactly.
func providerName(p *iamd.OIDCProvider) string { return p.Account + "/" + p.URL }

func newState(epoch string, seq int64, account iamd.Account, r *iamd.Records) *state {
	st := &state{epoch: epoch, seq: seq, account: account,
		keys: make(map[string]*iamd.KeyRecord, len(r.Keys)), keysOf: make(map[string][]string, len(r.Users)+len(r.Buckets)),
		users: make(map[string]*iamd.UserRecord, len(r.Users)), userIDs: make(map[string]string, len(r.Users)),
		groups: map[string]*iamd.GroupRecord{}, groupIDs: map[string]string{},
		roles: map[string]*iamd.RoleRecord{}, roleIDs: map[string]string{},
		policies: map[string]*iamd.PolicyRecord{}, policyIDs: map[string]string{},
		buckets: map[string]*iamd.Bucket{}, bucketIDs: map[string]string{},
		providers: map[string]*iamd.OIDCProvider{}, providerIDs: map[string]string{}}
	mine(r, account.ID)
	st.put(r)
	st.org = r.Organization
	return st
}

// mine makes the records of a snapshot written before accounts, which
// name none, the snapshot's account's.
func mine(r *iamd.Records, account string) {
	for _, u := range r.Users {
		u.Account = cmp.Or(u.Account, account)
	}
	for _, g := range r.Groups {
		g.Account = cmp.Or(g.Account, account)
	}
	for _, ro := range r.Roles {
		ro.Account = cmp.Or(ro.Account, account)
	}
	for _, p := range r.Policies {
		p.Account = cmp.Or(p.Account, account)
	}
	for _, b := range r.Buckets {
		b.Account = cmp.Or(b.Account, account)
	}
	for _, p := range r.Providers {
		p.Account = cmp.Or(p.Account, account)
	}
	for _, k := range r.Keys {
		if k.Owner == iamd.OwnerRoot {
			k.OwnerID = cmp.Or(k.OwnerID, account)
		}
	}
}

// put stores every record of r, replacing those of the same IDs.
func (st *state) put(r *iamd.Records) {
	for _, u := range r.Users {
		putNamed(st.users, st.userIDs, u.ID, u, userName)
	}
	for _, k := range r.Keys {
		st.putKey(k)
	}
	for _, g := range r.Groups {
		putNamed(st.groups, st.groupIDs, g.ID, g, groupName)
	}
	for _, ro := range r.Roles {
		putNamed(st.roles, st.roleIDs, ro.ID, ro, roleName)
	}
	for _, p := range r.Policies {
		putNamed(st.policies, st.policyIDs, p.ID, p, policyName)
	}
	for _, b := range r.Buckets {
		putNamed(st.buckets, st.bucketIDs, b.ID, b, bucketName)
	}
	for _, p := range r.Providers {
		putNamed(st.providers, st.providerIDs, p.ID, p, providerName)
	}
}

// putNamed stores rec under id and its name, dropping the old name of a
// renamed one.
func putNamed[T any](byID map[string]T, ids map[string]string, id string, rec T, nameOf func(T) string) {
	if old, ok := byID[id]; ok {
		if n := nameOf(old); ids[n] == id {
			delete(ids, n)
		}
	}
	byID[id] = rec
	ids[nameOf(rec)] = id
}

func dropNamed[T any](byID map[string]T, ids map[string]string, id string, nameOf func(T) string) {
	if old, ok := byID[id]; ok {
		if n := nameOf(old); ids[n] == id {
			delete(ids, n)
		}
		delete(byID, id)
	}
}

// putKey stores k, which no reader holds yet: its owner's ID and its
// status are shared with what the replica already holds rather than kept
// once per key (a replica of 200,000 keys is smaller by megabytes).
func (st *state) putKey(k *iamd.KeyRecord) {
	st.dropKey(k.ID)
	if u, ok := st.users[k.OwnerID]; ok {
		k.OwnerID = u.ID
	}
	switch k.Status {
	case iamd.StatusActive:
		k.Status = iamd.StatusActive
	case iamd.StatusInactive:
		k.Status = iamd.StatusInactive
	}
	st.keys[k.ID] = k
	st.keysOf[k.OwnerID] = append(st.keysOf[k.OwnerID], k.ID)
}

func (st *state) dropKey(id string) {
	if old, ok := st.keys[id]; ok {
		ids := slices.DeleteFunc(st.keysOf[old.OwnerID], func(k string) bool { return k == id })
		if len(ids) == 0 {
			delete(st.keysOf, old.OwnerID)
		} else {
			st.keysOf[old.OwnerID] = ids
		}
		delete(st.keys, id)
	}
}

// effects are what applying a delta changed, for the Service's caches.
type effects struct {
	keys     map[string]struct{}
	policies bool
}

// apply makes st current to d: every entity an entry names takes its
// record from d, or is deleted when d has none.
func (st *state) apply(d *iamd.Delta) effects {
	fx := effects{keys: map[string]struct{}{}}
	have := map[iamd.ChangeKind]map[string]bool{}
	mark := func(k iamd.ChangeKind, id string) {
		if have[k] == nil {
			have[k] = map[string]bool{}
		}
		have[k][id] = true
	}
	for _, k := range d.Keys {
		mark(iamd.ChangeKey, k.ID)
	}
	for _, u := range d.Users {
		mark(iamd.ChangeUser, u.ID)
	}
	for _, g := range d.Groups {
		mark(iamd.ChangeGroup, g.ID)
	}
	for _, r := range d.Roles {
		mark(iamd.ChangeRole, r.ID)
	}
	for _, p := range d.Policies {
		mark(iamd.ChangePolicy, p.ID)
	}
	for _, b := range d.Buckets {
		mark(iamd.ChangeBucket, b.ID)
	}
	for _, p := range d.Providers {
		mark(iamd.ChangeProvider, p.ID)
	}
	// Keys whose owner changes change with it: what they sign as.
	ownerKeys := func(owner string) {
		for _, k := range st.keysOf[owner] {
			fx.keys[k] = struct{}{}
		}
	}
	for _, e := range d.Entries {
		if have[e.Kind][e.ID] {
			continue
		}
		switch e.Kind {
		case iamd.ChangeKey:
			st.dropKey(e.ID)
		case iamd.ChangeUser:
			dropNamed(st.users, st.userIDs, e.ID, userName)
		case iamd.ChangeGroup:
			dropNamed(st.groups, st.groupIDs, e.ID, groupName)
		case iamd.ChangeRole:
			dropNamed(st.roles, st.roleIDs, e.ID, roleName)
		case iamd.ChangePolicy:
			dropNamed(st.policies, st.policyIDs, e.ID, policyName)
		case iamd.ChangeBucket:
			dropNamed(st.buckets, st.bucketIDs, e.ID, bucketName)
		case iamd.ChangeProvider:
			dropNamed(st.providers, st.providerIDs, e.ID, providerName)
		}
	}
	mine(&d.Records, st.account.ID) // a journal written before accounts
	st.put(&d.Records)
	for _, e := range d.Entries {
		if e.Kind == iamd.ChangeOrganization {
			st.org = d.Records.Organization
		}
	}
	for _, e := range d.Entries {
		switch e.Kind {
		case iamd.ChangeKey:
			fx.keys[e.ID] = struct{}{}
		case iamd.ChangeUser:
			ownerKeys(e.ID)
			fx.policies = true
		case iamd.ChangeBucket:
			ownerKeys(e.ID)
		default:
			fx.policies = true
		}
		if e.Seq > st.seq {
			st.seq, st.last = e.Seq, e
		}
	}
	return fx
}

// records lists every record, for the snapshot file.
func (st *state) records() iamd.Records {
	var r iamd.Records
	r.Keys = make([]*iamd.KeyRecord, 0, len(st.keys))
	for _, k := range st.keys {
		r.Keys = append(r.Keys, k)
	}
	r.Users = make([]*iamd.UserRecord, 0, len(st.users))
	for _, u := range st.users {
		r.Users = append(r.Users, u)
	}
	for _, g := range st.groups {
		r.Groups = append(r.Groups, g)
	}
	for _, ro := range st.roles {
		r.Roles = append(r.Roles, ro)
	}
	for _, p := range st.policies {
		r.Policies = append(r.Policies, p)
	}
	for _, b := range st.buckets {
		r.Buckets = append(r.Buckets, b)
	}
	for _, p := range st.providers {
		r.Providers = append(r.Providers, p)
	}
	r.Organization = st.org
	return r
}
