package review

import (
	"context"
	"fmt"
	"strings"

	"courier/parser"
	"courier/wiki"
)

// apiLists counts list targets: a list page read by parser, or a
// category's members.
type apiLists struct {
	c       *wiki.Client
	site    *parser.Site
	domains map[string]bool
}

// NewLists returns the Lists of the home wiki; domains are the domains of
// the configured wikis, lowercase, the only ones a list may name.
func NewLists(c *wiki.Client, site *parser.Site, domains map[string]bool) Lists {
	return &apiLists{c: c, site: site, domains: domains}
}

func (l *apiLists) CountTargets(ctx context.Context, list Revision, title string) (int,
	string, error) {
	if t, err := l.site.Normalize(title); err == nil && t.Namespace() == nsCategory {
		members, err := l.c.CategoryMembers(ctx, t.String())
		return len(members), "", err
	}
	parsed := parser.ParseList(list.Text, parser.ListOptions{Domains: l.domains, Site: l.site})
	if len(parsed.Problems) > 0 {
		return 0, listProblem(title, parsed.Problems[0]), nil
	}
	for _, t := range parsed.Targets {
		if len(t.Problems) > 0 {
			return 0, listProblem(title, t.Problems[0]), nil
		}
	}
	return len(parsed.Targets), "", nil
}

func listProblem(title string, p parser.Problem) string {
	return fmt.Sprintf("The list [[%s]] has a problem on line %d: %s", title, p.Line,
		strings.TrimSpace(p.Text))
}

// nsCategory is MediaWiki's category namespace: a list there is its members.
const nsCategory = 14
