package watcher

import (
	"context"
	"fmt"

	"courier/parser"
	"courier/wiki"
)

// NewWiki returns the Wiki that client serves: its namespaces read from
// the wiki's siteinfo for normalising titles, its recent changes read
// through client. domain is the wiki's host name, as the config has it.
func NewWiki(ctx context.Context, client *wiki.Client, domain string) (Wiki, error) {
	info, err := client.SiteInfo(ctx)
	if err != nil {
		return Wiki{}, fmt.Errorf("read namespaces of %s: %w", client.ID(), err)
	}
	return Wiki{
		ID:        client.ID(),
		Domain:    domain,
		Normalize: SiteNormalizer(parser.NewSite(info.Namespaces)),
		Changes:   FromClient(client),
	}, nil
}

// SiteNormalizer normalises titles with site's namespaces.
func SiteNormalizer(site *parser.Site) Normalizer {
	return func(title string) (string, int, error) {
		t, err := site.Normalize(title)
		if err != nil {
			return "", 0, err
		}
		return t.String(), t.Namespace(), nil
	}
}

// FromClient returns the RecentChanges of a *wiki.Client.
func FromClient(client *wiki.Client) RecentChanges {
	return clientChanges{client}
}

type clientChanges struct {
	client *wiki.Client
}

// RecentChanges lists edits and page creations, oldest first.
func (a clientChanges) RecentChanges(ctx context.Context, q Query) ([]Change, error) {
	rcs, err := a.client.RecentChanges(ctx, wiki.RCQuery{
		Start: q.Start, End: q.End, Titles: q.Titles, Namespaces: q.Namespaces,
		Types: []string{"edit", "new"},
	})
	if err != nil {
		return nil, err
	}
	out := make([]Change, 0, len(rcs))
	for _, rc := range rcs {
		out = append(out, Change{
			Wiki: a.client.ID(), Title: rc.Title, NS: rc.Namespace, RevID: rc.RevID,
			OldRevID: rc.OldRevID, User: rc.User, Timestamp: rc.Timestamp, Type: rc.Type,
		})
	}
	return out, nil
}
