package wiki

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Revision is one revision of a page.
type Revision struct {
	Title     string
	PageID    int64
	RevID     int64
	ParentID  int64
	Timestamp time.Time
	User      string
	UserID    int64
	Comment   string
	Minor     bool

	ContentModel string
	Content      string // main slot; "" when not asked for or hidden

	UserHidden    bool // revision-deleted user name
	CommentHidden bool
	TextHidden    bool
}

type revisionJSON struct {
	RevID         int64     `json:"revid"`
	ParentID      int64     `json:"parentid"`
	Timestamp     time.Time `json:"timestamp"`
	User          string    `json:"user"`
	UserID        int64     `json:"userid"`
	Comment       string    `json:"comment"`
	Minor         bool      `json:"minor"`
	UserHidden    bool      `json:"userhidden"`
	CommentHidden bool      `json:"commenthidden"`
	TextHidden    bool      `json:"texthidden"`
	Slots         struct {
		Main struct {
			ContentModel string `json:"contentmodel"`
			Content      string `json:"content"`
			TextHidden   bool   `json:"texthidden"`
		} `json:"main"`
	} `json:"slots"`
}

func (r *revisionJSON) revision() Revision {
	return Revision{
		RevID:         r.RevID,
		ParentID:      r.ParentID,
		Timestamp:     r.Timestamp,
		User:          r.User,
		UserID:        r.UserID,
		Comment:       r.Comment,
		Minor:         r.Minor,
		ContentModel:  r.Slots.Main.ContentModel,
		Content:       r.Slots.Main.Content,
		UserHidden:    r.UserHidden,
		CommentHidden: r.CommentHidden,
		TextHidden:    r.TextHidden || r.Slots.Main.TextHidden,
	}
}

// revPage is a page of a prop=revisions answer.
type revPage struct {
	Title     string         `json:"title"`
	PageID    int64          `json:"pageid"`
	Missing   bool           `json:"missing"`
	Invalid   bool           `json:"invalid"`
	Revisions []revisionJSON `json:"revisions"`
}

// RevQuery says which revisions of a page Revisions returns, oldest first.
type RevQuery struct {
	FromID  int64     // start at this revision id, inclusive
	Since   time.Time // or at this time, inclusive
	Limit   int       // at most this many; 0 for all
	Content bool      // with the main slot's text
}

// revProps are the rvprop values every revision read asks for.
const revProps = "ids|timestamp|user|userid|comment|flags|contentmodel"

// Revisions lists revisions of title from q.FromID or q.Since on, oldest
// first, following continuation. A missing page is ErrNoSuchPage.
func (c *Client) Revisions(ctx context.Context, title string, q RevQuery) ([]Revision, error) {
	var out []Revision
	err := c.eachRevision(ctx, title, q, func(r Revision) bool {
		out = append(out, r)
		return q.Limit <= 0 || len(out) < q.Limit
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachRevision hands the revisions of title to fn, oldest first, until fn
// returns false.
func (c *Client) eachRevision(ctx context.Context, title string, q RevQuery,
	fn func(Revision) bool) error {
	p := url.Values{
		"prop":    {"revisions"},
		"titles":  {title},
		"rvprop":  {revProps},
		"rvslots": {"main"},
		"rvdir":   {"newer"},
		"rvlimit": {"max"},
	}
	if q.Content {
		p.Set("rvprop", revProps+"|content")
	}
	if q.FromID > 0 {
		p.Set("rvstartid", strconv.FormatInt(q.FromID, 10))
	} else if !q.Since.IsZero() {
		p.Set("rvstart", timestamp(q.Since))
	}

	err := c.query(ctx, p, func(body []byte) (bool, error) {
		pg, err := c.singlePage(body, title)
		if err != nil {
			return false, err
		}
		for i := range pg.Revisions {
			r := pg.Revisions[i].revision()
			r.Title, r.PageID = pg.Title, pg.PageID
			if !fn(r) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("read revisions of %q: %w", title, err)
	}
	return nil
}

// singlePage returns the one page of a prop=revisions answer.
func (c *Client) singlePage(body []byte, title string) (*revPage, error) {
	var a struct {
		Pages []revPage `json:"pages"`
	}
	if err := c.decodeQuery(body, &a); err != nil {
		return nil, err
	}
	if len(a.Pages) != 1 {
		return nil, fmt.Errorf("%w: %d pages for one title", ErrBadResponse, len(a.Pages))
	}
	pg := &a.Pages[0]
	if pg.Missing || pg.Invalid {
		return nil, fmt.Errorf("%s %q: %w", c.id, title, ErrNoSuchPage)
	}
	return pg, nil
}

// RevisionByID reads one revision, with its content. A deleted or unknown
// id is ErrNoSuchRevision.
func (c *Client) RevisionByID(ctx context.Context, id int64) (*Revision, error) {
	p := url.Values{
		"action":  {"query"},
		"prop":    {"revisions"},
		"revids":  {strconv.FormatInt(id, 10)},
		"rvprop":  {revProps + "|content"},
		"rvslots": {"main"},
	}
	resp, err := c.call(ctx, &request{params: p})
	if err != nil {
		return nil, fmt.Errorf("read revision %d: %w", id, err)
	}
	var a struct {
		Pages []revPage `json:"pages"`
	}
	if err := c.decodeQuery(resp.body, &a); err != nil {
		return nil, fmt.Errorf("read revision %d: %w", id, err)
	}
	for _, pg := range a.Pages {
		for i := range pg.Revisions {
			if pg.Revisions[i].RevID == id {
				r := pg.Revisions[i].revision()
				r.Title, r.PageID = pg.Title, pg.PageID
				return &r, nil
			}
		}
	}
	return nil, fmt.Errorf("read revision %d of %s: %w", id, c.id, ErrNoSuchRevision)
}

// PageText reads the latest revision of title with its text. It reports
// false, and no error, when the page does not exist.
func (c *Client) PageText(ctx context.Context, title string) (Revision, bool, error) {
	p := url.Values{
		"action":  {"query"},
		"prop":    {"revisions"},
		"titles":  {title},
		"rvprop":  {revProps + "|content"},
		"rvslots": {"main"},
	}
	resp, err := c.call(ctx, &request{params: p})
	if err != nil {
		return Revision{}, false, fmt.Errorf("read %q: %w", title, err)
	}
	var a struct {
		Pages []revPage `json:"pages"`
	}
	if err := c.decodeQuery(resp.body, &a); err != nil {
		return Revision{}, false, fmt.Errorf("read %q: %w", title, err)
	}
	if len(a.Pages) != 1 {
		err := fmt.Errorf("read %q: %w: %d pages", title, ErrBadResponse, len(a.Pages))
		return Revision{}, false, err
	}
	pg := a.Pages[0]
	if pg.Missing || pg.Invalid || len(pg.Revisions) == 0 {
		return Revision{}, false, nil
	}
	r := pg.Revisions[0].revision()
	r.Title, r.PageID = pg.Title, pg.PageID
	return r, true, nil
}

// FindMarker looks through the revisions of title saved at or after since,
// oldest first, for the first whose text holds marker, and returns it, or
// nil if none does. It is how a delivery interrupted between its edit and
// its record learns whether the edit was saved. A missing page holds no
// marker.
func (c *Client) FindMarker(ctx context.Context, title string, since time.Time,
	marker string) (*Revision, error) {
	var found *Revision
	q := RevQuery{Since: since, Content: true}
	err := c.eachRevision(ctx, title, q, func(r Revision) bool {
		if strings.Contains(r.Content, marker) {
			found = &r
			return false
		}
		return true
	})
	if err != nil && !errors.Is(err, ErrNoSuchPage) {
		return nil, err
	}
	return found, nil
}

// Contrib is one edit in a user's contributions.
type Contrib struct {
	Title     string    `json:"title"`
	Namespace int       `json:"ns"`
	PageID    int64     `json:"pageid"`
	RevID     int64     `json:"revid"`
	ParentID  int64     `json:"parentid"`
	Timestamp time.Time `json:"timestamp"`
	Comment   string    `json:"comment"`
	New       bool      `json:"new"`
	Minor     bool      `json:"minor"`
}

// Contribs lists the edits user saved at or after since, oldest first.
func (c *Client) Contribs(ctx context.Context, user string, since time.Time) ([]Contrib, error) {
	p := url.Values{
		"list":    {"usercontribs"},
		"ucuser":  {user},
		"ucdir":   {"newer"},
		"ucprop":  {"ids|title|timestamp|comment|flags"},
		"uclimit": {"max"},
	}
	if !since.IsZero() {
		p.Set("ucstart", timestamp(since))
	}
	var out []Contrib
	err := c.query(ctx, p, func(body []byte) (bool, error) {
		var a struct {
			Contribs []Contrib `json:"usercontribs"`
		}
		if err := c.decodeQuery(body, &a); err != nil {
			return false, err
		}
		out = append(out, a.Contribs...)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list contributions of %s: %w", user, err)
	}
	return out, nil
}
