package wiki

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// PageQuery asks about many pages at once, as a delivery's preflight does.
// All props go into one request per batch of BatchSize titles.
type PageQuery struct {
	Titles     []string
	Redirects  bool     // follow redirects, one hop after another
	Content    bool     // fetch the latest revision's main-slot text
	Categories []string // report membership in these (full titles)
	Templates  []string // report transclusion of these (full titles)
}

// Page is what a PageQuery learnt about one page.
type Page struct {
	Title     string // as MediaWiki writes it
	Namespace int
	PageID    int64

	Missing       bool   // no such page (yet)
	Invalid       bool   // not a valid title
	InvalidReason string // why not
	Special       bool   // a special or media page, which cannot be edited
	Interwiki     string // the prefix of a title on another wiki
	Redirect      bool   // a redirect (reported when not followed)

	ContentModel string
	LastRevID    int64
	Touched      time.Time

	Content      string    // with PageQuery.Content
	RevTimestamp time.Time // of the latest revision, with Content
	Categories   []string  // those of PageQuery.Categories it is in
	Templates    []string  // those of PageQuery.Templates it transcludes
}

// Redirect is where a redirect points.
type Redirect struct {
	To        string
	Fragment  string
	Interwiki string // set when the target is on another wiki
}

// PageSet is the answer to a PageQuery.
type PageSet struct {
	Pages      map[string]*Page    // by title as MediaWiki writes it
	Normalized map[string]string   // input title → title MediaWiki writes
	Redirects  map[string]Redirect // redirect title → its target
}

// maxHops bounds the redirects Resolve follows.
const maxHops = 10

// Resolve follows title through normalisation and redirects and returns
// the title it ends on and that page, or nil if the set does not hold it.
// A redirect to another wiki ends at the redirect's target title, with no
// page.
func (s *PageSet) Resolve(title string) (string, *Page) {
	if n, ok := s.Normalized[title]; ok {
		title = n
	}
	for range maxHops {
		r, ok := s.Redirects[title]
		if !ok {
			break
		}
		if r.Interwiki != "" {
			return r.To, nil
		}
		title = r.To
	}
	return title, s.Pages[title]
}

type pageAnswer struct {
	Normalized []fromTo `json:"normalized"`
	Converted  []fromTo `json:"converted"`
	Redirects  []struct {
		From      string `json:"from"`
		To        string `json:"to"`
		Fragment  string `json:"tofragment"`
		Interwiki string `json:"tointerwiki"`
	} `json:"redirects"`
	Interwiki []struct {
		Title  string `json:"title"`
		Prefix string `json:"iw"`
	} `json:"interwiki"`
	Pages []pageEntry `json:"pages"`
}

type fromTo struct {
	From string `json:"from"`
	To   string `json:"to"`
}

type pageEntry struct {
	Title         string         `json:"title"`
	NS            int            `json:"ns"`
	PageID        int64          `json:"pageid"`
	Missing       bool           `json:"missing"`
	Invalid       bool           `json:"invalid"`
	InvalidReason string         `json:"invalidreason"`
	Special       bool           `json:"special"`
	Redirect      bool           `json:"redirect"`
	ContentModel  string         `json:"contentmodel"`
	LastRevID     int64          `json:"lastrevid"`
	Touched       time.Time      `json:"touched"`
	Revisions     []revisionJSON `json:"revisions"`
	Categories    []titleJSON    `json:"categories"`
	Templates     []titleJSON    `json:"templates"`
}

type titleJSON struct {
	Title string `json:"title"`
}

// Pages answers q, one request per batch of titles plus continuations.
func (c *Client) Pages(ctx context.Context, q PageQuery) (*PageSet, error) {
	set := &PageSet{
		Pages:      map[string]*Page{},
		Normalized: map[string]string{},
		Redirects:  map[string]Redirect{},
	}
	err := c.batches(q.Titles, func(batch []string) error {
		return c.pageBatch(ctx, q, batch, set)
	})
	if err != nil {
		return nil, fmt.Errorf("query %d pages: %w", len(q.Titles), err)
	}
	return set, nil
}

// batches calls fn on consecutive slices of BatchSize names.
func (c *Client) batches(names []string, fn func([]string) error) error {
	size := c.BatchSize()
	for start := 0; start < len(names); start += size {
		end := min(start+size, len(names))
		if err := fn(names[start:end]); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) pageBatch(ctx context.Context, q PageQuery, batch []string, set *PageSet) error {
	p := pageParams(q, batch)
	return c.query(ctx, p, func(body []byte) (bool, error) {
		var a pageAnswer
		if err := c.decodeQuery(body, &a); err != nil {
			return false, err
		}
		set.merge(&a)
		return true, nil
	})
}

func pageParams(q PageQuery, batch []string) url.Values {
	props := []string{"info"}
	p := url.Values{"titles": {strings.Join(batch, "|")}}
	if q.Redirects {
		p.Set("redirects", "1")
	}
	if q.Content {
		props = append(props, "revisions")
		p.Set("rvprop", "ids|timestamp|content|contentmodel")
		p.Set("rvslots", "main")
	}
	if len(q.Categories) > 0 {
		props = append(props, "categories")
		p.Set("clcategories", strings.Join(q.Categories, "|"))
		p.Set("cllimit", "max")
	}
	if len(q.Templates) > 0 {
		props = append(props, "templates")
		p.Set("tltemplates", strings.Join(q.Templates, "|"))
		p.Set("tllimit", "max")
	}
	p.Set("prop", strings.Join(props, "|"))
	return p
}

// merge adds one answer to the set. A continued query repeats pages with
// the parts of their props that did not fit before.
func (s *PageSet) merge(a *pageAnswer) {
	for _, n := range append(a.Normalized, a.Converted...) {
		s.Normalized[n.From] = n.To
	}
	for _, r := range a.Redirects {
		s.Redirects[r.From] = Redirect{To: r.To, Fragment: r.Fragment, Interwiki: r.Interwiki}
	}
	for _, iw := range a.Interwiki {
		s.Pages[iw.Title] = &Page{Title: iw.Title, Interwiki: iw.Prefix}
	}
	for i := range a.Pages {
		s.mergePage(&a.Pages[i])
	}
}

func (s *PageSet) mergePage(e *pageEntry) {
	pg, ok := s.Pages[e.Title]
	if !ok {
		pg = &Page{Title: e.Title}
		s.Pages[e.Title] = pg
	}
	pg.Namespace = e.NS
	pg.PageID = max(pg.PageID, e.PageID)
	pg.Missing = pg.Missing || e.Missing
	pg.Invalid = pg.Invalid || e.Invalid
	pg.Special = pg.Special || e.Special
	pg.Redirect = pg.Redirect || e.Redirect
	if e.InvalidReason != "" {
		pg.InvalidReason = e.InvalidReason
	}
	if e.ContentModel != "" {
		pg.ContentModel = e.ContentModel
	}
	pg.LastRevID = max(pg.LastRevID, e.LastRevID)
	if !e.Touched.IsZero() {
		pg.Touched = e.Touched
	}
	if len(e.Revisions) > 0 {
		rev := e.Revisions[0].revision()
		pg.Content, pg.RevTimestamp = rev.Content, rev.Timestamp
	}
	for _, cat := range e.Categories {
		pg.Categories = append(pg.Categories, cat.Title)
	}
	for _, tpl := range e.Templates {
		pg.Templates = append(pg.Templates, tpl.Title)
	}
}

// User is what list=users says about one account name.
type User struct {
	Name    string // as MediaWiki writes it
	ID      int64
	Missing bool // no such account
	Invalid bool // not a valid user name: an IP address, for one
	Groups  []string

	Blocked      bool
	BlockPartial bool
	BlockExpiry  string
}

type userEntry struct {
	Name        string   `json:"name"`
	ID          int64    `json:"userid"`
	Missing     bool     `json:"missing"`
	Invalid     bool     `json:"invalid"`
	Groups      []string `json:"groups"`
	BlockID     int64    `json:"blockid"`
	Partial     bool     `json:"blockpartial"`
	BlockExpiry string   `json:"blockexpiry"`
}

// Users looks names up with list=users, one request per batch of
// BatchSize names. The map is keyed by the names as given; a name
// MediaWiki did not answer for is absent.
func (c *Client) Users(ctx context.Context, names []string) (map[string]*User, error) {
	out := make(map[string]*User, len(names))
	err := c.batches(names, func(batch []string) error {
		return c.userBatch(ctx, batch, out)
	})
	if err != nil {
		return nil, fmt.Errorf("look up %d users: %w", len(names), err)
	}
	return out, nil
}

func (c *Client) userBatch(ctx context.Context, batch []string, out map[string]*User) error {
	p := url.Values{
		"action":  {"query"},
		"list":    {"users"},
		"ususers": {strings.Join(batch, "|")},
		"usprop":  {"groups|blockinfo"},
	}
	resp, err := c.call(ctx, &request{params: p})
	if err != nil {
		return err
	}
	var a struct {
		Users []userEntry `json:"users"`
	}
	if err := c.decodeQuery(resp.body, &a); err != nil {
		return err
	}

	// MediaWiki answers valid names in canonical form and invalid ones
	// as given, in an order of its own.
	byName := make(map[string]*User, len(a.Users))
	for _, e := range a.Users {
		byName[e.Name] = &User{
			Name: e.Name, ID: e.ID, Missing: e.Missing, Invalid: e.Invalid,
			Groups: e.Groups, Blocked: e.BlockID != 0, BlockPartial: e.Partial,
			BlockExpiry: e.BlockExpiry,
		}
	}
	for _, name := range batch {
		if u, ok := byName[name]; ok {
			out[name] = u
		} else if u, ok := byName[canonicalUser(name)]; ok {
			out[name] = u
		}
	}
	return nil
}

// canonicalUser writes a user name the way MediaWiki does: underscores as
// spaces, runs of spaces as one, the first letter upper case.
func canonicalUser(name string) string {
	name = strings.Join(strings.Fields(strings.ReplaceAll(name, "_", " ")), " ")
	for i, r := range name {
		return strings.ToUpper(string(r)) + name[i+len(string(r)):]
	}
	return name
}
