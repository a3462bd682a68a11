package review

import (
	"context"
	"errors"
	"fmt"
	"time"

	"courier/wiki"
)

// apiWiki is HomeWiki over the Action API client.
type apiWiki struct {
	c      *wiki.Client
	assert string // "bot" when the account has the bot flag, else "user"
}

// NewHomeWiki returns the HomeWiki of a logged-in client; bot says whether
// the account has the bot flag, so write-backs assert it.
func NewHomeWiki(c *wiki.Client, bot bool) HomeWiki {
	a := &apiWiki{c: c, assert: "user"}
	if bot {
		a.assert = "bot"
	}
	return a
}

func (a *apiWiki) RevisionsAfter(ctx context.Context, title string, rev int64) ([]Revision,
	error) {
	// Start at rev itself, which exists (a revision id that does not is an
	// error), and drop it.
	q := wiki.RevQuery{FromID: rev, Content: true}
	if rev <= 0 {
		q.FromID = 0
	}
	revs, err := a.c.Revisions(ctx, title, q)
	if errors.Is(err, wiki.ErrNoSuchPage) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]Revision, 0, len(revs))
	for _, r := range revs {
		if r.RevID > rev {
			out = append(out, fromWiki(r))
		}
	}
	return out, nil
}

func (a *apiWiki) Revision(ctx context.Context, id int64) (Revision, bool, error) {
	r, err := a.c.RevisionByID(ctx, id)
	if errors.Is(err, wiki.ErrNoSuchRevision) {
		return Revision{}, false, nil
	}
	if err != nil {
		return Revision{}, false, err
	}
	return fromWiki(*r), true, nil
}

func (a *apiWiki) RevisionAt(ctx context.Context, title string, t time.Time) (Revision, bool,
	error) {
	r, ok, err := a.c.RevisionAt(ctx, title, t)
	return fromWiki(r), ok, err
}

func (a *apiWiki) Save(ctx context.Context, title, text, summary string, base Revision) (
	int64, error) {
	res, err := a.c.Edit(ctx, wiki.EditParams{
		Title: title, Text: text, Summary: summary, Bot: true, Assert: a.assert,
		NoCreate: true, BaseRevID: base.ID, BaseTimestamp: base.Timestamp,
		StartTimestamp: time.Now(),
	})
	if wiki.IsConflict(err) {
		return 0, fmt.Errorf("save %s: %w", title, ErrConflict)
	}
	if err != nil {
		return 0, err
	}
	return res.NewRevID, nil
}

func (a *apiWiki) UserGroupsAt(ctx context.Context, user string, t time.Time) ([]string,
	error) {
	return a.c.UserGroupsAt(ctx, user, t)
}

func fromWiki(r wiki.Revision) Revision {
	return Revision{ID: r.RevID, User: r.User, Timestamp: r.Timestamp, Text: r.Content}
}
