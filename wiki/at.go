package wiki

import (
	"context"
	"fmt"
	"net/url"
	"time"
)

// RevisionAt reads the revision of title that was current at time at, with
// its text: the newest one saved at or before it. It reports false, and no
// error, when the page did not exist then (or does not now). Timestamps are
// to the second, so an edit saved in the same second as at counts as
// before it.
func (c *Client) RevisionAt(ctx context.Context, title string, at time.Time) (Revision,
	bool, error) {
	p := url.Values{
		"action":  {"query"},
		"prop":    {"revisions"},
		"titles":  {title},
		"rvprop":  {revProps + "|content"},
		"rvslots": {"main"},
		"rvdir":   {"older"},
		"rvstart": {timestamp(at)},
		"rvlimit": {"1"},
	}
	resp, err := c.call(ctx, &request{params: p})
	if err != nil {
		return Revision{}, false, fmt.Errorf("read %q at %s: %w", title, timestamp(at), err)
	}
	var a struct {
		Pages []revPage `json:"pages"`
	}
	if err := c.decodeQuery(resp.body, &a); err != nil {
		return Revision{}, false, fmt.Errorf("read %q at %s: %w", title, timestamp(at), err)
	}
	if len(a.Pages) != 1 {
		return Revision{}, false, fmt.Errorf("read %q: %w: %d pages", title, ErrBadResponse,
			len(a.Pages))
	}
	pg := a.Pages[0]
	if pg.Missing || pg.Invalid || len(pg.Revisions) == 0 {
		return Revision{}, false, nil
	}
	r := pg.Revisions[0].revision()
	r.Title, r.PageID = pg.Title, pg.PageID
	return r, true, nil
}
