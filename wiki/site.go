package wiki

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"

	"courier/parser"
)

// SiteInfo is what a wiki says about itself.
type SiteInfo struct {
	SiteName   string // "Meta"
	Server     string // "//meta.wikimedia.org"
	ServerName string // "meta.wikimedia.org"
	WikiID     string // the database name, "metawiki"
	MainPage   string
	Generator  string // "MediaWiki 1.39.17"
	Lang       string
	Namespaces []parser.Namespace // sorted by id
}

// Namespace returns the namespace with the given id, or false.
func (s *SiteInfo) Namespace(id int) (parser.Namespace, bool) {
	for _, ns := range s.Namespaces {
		if ns.ID == id {
			return ns, true
		}
	}
	return parser.Namespace{}, false
}

type siteInfoAnswer struct {
	General struct {
		SiteName   string `json:"sitename"`
		Server     string `json:"server"`
		ServerName string `json:"servername"`
		WikiID     string `json:"wikiid"`
		MainPage   string `json:"mainpage"`
		Generator  string `json:"generator"`
		Lang       string `json:"lang"`
	} `json:"general"`
	Namespaces map[string]struct {
		ID        int    `json:"id"`
		Name      string `json:"name"`
		Canonical string `json:"canonical"`
		Case      string `json:"case"`
	} `json:"namespaces"`
	Aliases []struct {
		ID    int    `json:"id"`
		Alias string `json:"alias"`
	} `json:"namespacealiases"`
}

// SiteInfo reads the wiki's names and namespaces (meta=siteinfo).
func (c *Client) SiteInfo(ctx context.Context) (*SiteInfo, error) {
	p := url.Values{
		"action": {"query"},
		"meta":   {"siteinfo"},
		"siprop": {"general|namespaces|namespacealiases"},
	}
	resp, err := c.call(ctx, &request{params: p})
	if err != nil {
		return nil, fmt.Errorf("read siteinfo: %w", err)
	}
	var a siteInfoAnswer
	if err := c.decodeQuery(resp.body, &a); err != nil {
		return nil, fmt.Errorf("read siteinfo: %w", err)
	}
	if len(a.Namespaces) == 0 {
		return nil, fmt.Errorf("read siteinfo of %s: %w: no namespaces", c.id, ErrBadResponse)
	}

	g := a.General
	info := &SiteInfo{
		SiteName:   g.SiteName,
		Server:     g.Server,
		ServerName: g.ServerName,
		WikiID:     g.WikiID,
		MainPage:   g.MainPage,
		Generator:  g.Generator,
		Lang:       g.Lang,
		Namespaces: a.namespaces(),
	}
	return info, nil
}

// namespaces converts the answer to parser's namespaces, aliases included.
func (a *siteInfoAnswer) namespaces() []parser.Namespace {
	aliases := map[int][]string{}
	for _, al := range a.Aliases {
		aliases[al.ID] = append(aliases[al.ID], al.Alias)
	}
	out := make([]parser.Namespace, 0, len(a.Namespaces))
	for _, ns := range a.Namespaces {
		out = append(out, parser.Namespace{
			ID:          ns.ID,
			Name:        ns.Name,
			Canonical:   ns.Canonical,
			Aliases:     aliases[ns.ID],
			FirstLetter: ns.Case == "first-letter",
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// UserInfo is what the wiki says about the logged-in account.
type UserInfo struct {
	ID     int64
	Name   string
	Anon   bool // not logged in
	Groups []string
	Rights []string

	Bot         bool // in the bot group, or holding the bot right
	HighLimits  bool // apihighlimits: 500 titles a request
	NoRateLimit bool

	Blocked      bool
	BlockPartial bool   // the block covers only some pages
	BlockedBy    string // who blocked the account
	BlockReason  string
	BlockExpiry  string // "infinite" or a timestamp
}

// BatchSize returns how many titles one request may carry for this user.
func (u *UserInfo) BatchSize() int {
	if u.HighLimits {
		return highLimit
	}
	return lowLimit
}

// UserInfo reads the logged-in account's groups, rights and block.
func (c *Client) UserInfo(ctx context.Context) (*UserInfo, error) {
	return c.userInfo(ctx, false)
}

func (c *Client) userInfo(ctx context.Context, checkingLogin bool) (*UserInfo, error) {
	p := url.Values{
		"action": {"query"},
		"meta":   {"userinfo"},
		"uiprop": {"groups|rights|blockinfo"},
	}
	r := &request{params: p, noAssert: checkingLogin, noRelogin: checkingLogin}
	resp, err := c.call(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("read userinfo: %w", err)
	}
	var a struct {
		UserInfo struct {
			ID          int64    `json:"id"`
			Name        string   `json:"name"`
			Anon        bool     `json:"anon"`
			Groups      []string `json:"groups"`
			Rights      []string `json:"rights"`
			BlockID     int64    `json:"blockid"`
			BlockedBy   string   `json:"blockedby"`
			BlockReason string   `json:"blockreason"`
			BlockExpiry string   `json:"blockexpiry"`
			Partial     bool     `json:"blockpartial"`
		} `json:"userinfo"`
	}
	if err := c.decodeQuery(resp.body, &a); err != nil {
		return nil, fmt.Errorf("read userinfo: %w", err)
	}

	u := a.UserInfo
	return &UserInfo{
		ID:           u.ID,
		Name:         u.Name,
		Anon:         u.Anon,
		Groups:       u.Groups,
		Rights:       u.Rights,
		Bot:          slices.Contains(u.Groups, "bot") || slices.Contains(u.Rights, "bot"),
		HighLimits:   slices.Contains(u.Rights, "apihighlimits"),
		NoRateLimit:  slices.Contains(u.Rights, "noratelimit"),
		Blocked:      u.BlockID != 0,
		BlockPartial: u.Partial,
		BlockedBy:    u.BlockedBy,
		BlockReason:  u.BlockReason,
		BlockExpiry:  u.BlockExpiry,
	}, nil
}
