package wiki

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"
)

// rightsEntry is one entry of the rights log (letype=rights).
type rightsEntry struct {
	Timestamp time.Time `json:"timestamp"`
	Params    struct {
		Old     []string     `json:"oldgroups"`
		New     []string     `json:"newgroups"`
		OldMeta []membership `json:"oldmetadata"`
		NewMeta []membership `json:"newmetadata"`
	} `json:"params"`
}

// membership is a group with the expiry of the user's membership in it.
type membership struct {
	Group  string `json:"group"`
	Expiry string `json:"expiry"` // "infinity" or a timestamp
}

// UserGroupsAt returns the groups user was in at the time at: the explicit
// groups, plus "*" and "user" for an account that exists now.
//
// It reads the rights log: the groups before the first change at or after
// at, else the current groups, plus temporary memberships that the last
// change before at granted and that ran out since (their end leaves no log
// entry). That costs three requests.
//
// Its limits: a group granted or removed without a log entry (by a
// maintenance script such as createAndPromote.php, or in the database) is
// seen only as the current state; global groups of a wiki farm and
// autopromoted groups (autoconfirmed) are not included; the log has
// one-second resolution, and a change in the same second as at counts as
// after it; a user renamed since at is looked up under the new name only.
func (c *Client) UserGroupsAt(ctx context.Context, user string, at time.Time) ([]string, error) {
	groups, err := c.groupsAt(ctx, user, at)
	if err != nil {
		return nil, fmt.Errorf("read groups of %s at %s: %w", user, timestamp(at), err)
	}
	return groups, nil
}

func (c *Client) groupsAt(ctx context.Context, user string, at time.Time) ([]string, error) {
	u, err := c.currentMemberships(ctx, user)
	if err != nil {
		return nil, err
	}
	implicit := []string{"*", "user"}

	// The first change at or after at starts from the groups held then.
	groups := withGroups(implicit, u.groups)
	after, err := c.rightsEntry(ctx, u.name, at, "newer")
	if err != nil {
		return nil, err
	}
	if after != nil {
		groups = withGroups(implicit, unexpired(after.Params.Old, after.Params.OldMeta, at))
	}

	// A temporary membership that ran out between at and then left no
	// entry: the last change before at shows it.
	before, err := c.rightsEntry(ctx, u.name, at.Add(-time.Second), "older")
	if err != nil || before == nil {
		return groups, err
	}
	for _, m := range before.Params.NewMeta {
		if m.Expiry != "infinity" && expiresAfter(m.Expiry, at) {
			groups = withGroups(groups, []string{m.Group})
		}
	}
	return groups, nil
}

type memberships struct {
	name   string // as MediaWiki writes it
	groups []string
}

// currentMemberships reads user's explicit groups now.
func (c *Client) currentMemberships(ctx context.Context, user string) (*memberships, error) {
	p := url.Values{
		"action":  {"query"},
		"list":    {"users"},
		"ususers": {user},
		"usprop":  {"groupmemberships"},
	}
	resp, err := c.call(ctx, &request{params: p})
	if err != nil {
		return nil, err
	}
	var a struct {
		Users []struct {
			Name        string       `json:"name"`
			Missing     bool         `json:"missing"`
			Invalid     bool         `json:"invalid"`
			Memberships []membership `json:"groupmemberships"`
		} `json:"users"`
	}
	if err := c.decodeQuery(resp.body, &a); err != nil {
		return nil, err
	}
	if len(a.Users) != 1 || a.Users[0].Missing || a.Users[0].Invalid {
		return nil, fmt.Errorf("%s %q: %w", c.id, user, ErrNoSuchUser)
	}
	m := &memberships{name: a.Users[0].Name}
	for _, g := range a.Users[0].Memberships {
		m.groups = append(m.groups, g.Group)
	}
	return m, nil
}

// rightsEntry returns the first rights log entry of user from start on in
// direction dir ("newer" or "older"), or nil.
func (c *Client) rightsEntry(ctx context.Context, user string, start time.Time,
	dir string) (*rightsEntry, error) {
	p := url.Values{
		"action":  {"query"},
		"list":    {"logevents"},
		"letype":  {"rights"},
		"letitle": {"User:" + user},
		"leprop":  {"timestamp|details"},
		"ledir":   {dir},
		"lestart": {timestamp(start)},
		"lelimit": {"1"},
	}
	resp, err := c.call(ctx, &request{params: p})
	if err != nil {
		return nil, err
	}
	var a struct {
		Events []rightsEntry `json:"logevents"`
	}
	if err := c.decodeQuery(resp.body, &a); err != nil {
		return nil, err
	}
	if len(a.Events) == 0 {
		return nil, nil
	}
	return &a.Events[0], nil
}

// unexpired returns the groups whose membership had not ended at at.
func unexpired(groups []string, meta []membership, at time.Time) []string {
	var out []string
	for _, g := range groups {
		if expiry, ok := expiryOf(g, meta); !ok || expiresAfter(expiry, at) {
			out = append(out, g)
		}
	}
	return out
}

func expiryOf(group string, meta []membership) (string, bool) {
	for _, m := range meta {
		if m.Group == group {
			return m.Expiry, true
		}
	}
	return "", false
}

// expiresAfter reports whether an expiry ("infinity" or a timestamp) lies
// after at. An expiry it cannot read counts as not expired.
func expiresAfter(expiry string, at time.Time) bool {
	if expiry == "" || expiry == "infinity" || expiry == "infinite" {
		return true
	}
	t, err := time.Parse(time.RFC3339, expiry)
	return err != nil || t.After(at)
}

// withGroups returns base with the groups of more it lacks appended.
func withGroups(base, more []string) []string {
	out := slices.Clone(base)
	for _, g := range more {
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}
