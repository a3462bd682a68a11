package deliver

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"courier/store"
	"courier/wiki"
)

// botsTemplates are the templates whose transclusion makes the preflight
// read a page's text for {{bots}} and {{nobots}} rules. Asking the link
// tables first means only the few pages that carry one are read in full:
// a talk page can be large, and reading hundreds of them for nothing is
// the load this bot exists to avoid. A redirect to either template (such
// as Template:NoBots) is listed as well, since MediaWiki records both.
var botsTemplates = []string{"Template:Bots", "Template:Nobots"}

// verdict is what the preflight decided about one title.
type verdict struct {
	final  string // the page the message goes to, redirects followed
	reason string // a skip reason; "" delivers
}

// preflight checks titles of one wiki, in batches of the client's size:
// where redirects lead, whether the page may receive a message, and
// whether its owner exists and opted in. titles are normalised already and
// in an allowed namespace. It costs one page query a batch, plus one for
// the texts of pages with {{bots}} or {{nobots}} and one list=users a
// batch when user talk pages are among them.
func (r *delivery) preflight(ctx context.Context, l *lane, titles []string) (
	map[string]verdict, error) {
	set, err := l.client.Pages(ctx, wiki.PageQuery{
		Titles:     titles,
		Redirects:  true,
		Categories: []string{r.d.optoutCategory()},
		Templates:  botsTemplates,
	})
	if err != nil {
		return nil, fmt.Errorf("preflight %d pages on %s: %w", len(titles), l.cfg.ID, err)
	}

	// Page by page: redirects, content model, opt-out category.
	out := make(map[string]verdict, len(titles))
	var withBots []string
	for _, title := range titles {
		v, pg := r.judgePage(l, set, title)
		out[title] = v
		if v.reason == "" && pg != nil && len(pg.Templates) > 0 {
			withBots = append(withBots, v.final)
		}
	}

	// {{bots}} and {{nobots}}, read from the text of the pages that carry one.
	denied, err := r.botsDenied(ctx, l, withBots)
	if err != nil {
		return nil, err
	}
	// Accounts behind user talk pages.
	missing, err := r.missingUsers(ctx, l, out)
	if err != nil {
		return nil, err
	}
	for title, v := range out {
		switch {
		case v.reason != "":
		case missing[v.final]:
			v.reason = ReasonNouser
		case denied[v.final]:
			v.reason = ReasonNobots
		}
		out[title] = v
	}
	return out, nil
}

// optoutCategory returns the opt-out category's full title.
func (d *Deliverer) optoutCategory() string {
	return "Category:" + d.opts.Delivery.OptoutCategory
}

// judgePage returns the verdict on one title from the page query, and the
// page it ends on.
func (r *delivery) judgePage(l *lane, set *wiki.PageSet, title string) (verdict, *wiki.Page) {
	final, pg := set.Resolve(title)
	v := verdict{final: final}
	start := title
	if n, ok := set.Normalized[title]; ok {
		start = n
	}
	switch {
	case pg == nil || pg.Interwiki != "":
		v.reason = ReasonBadRedirect // to another wiki
		if final == start {
			v.reason = ReasonBadTitle
		}
	case final != start && !sameSpace(l, start, pg):
		v.reason = ReasonBadRedirect
	case pg.Invalid || pg.Special:
		v.reason = ReasonBadTitle
	case !pg.Missing && pg.ContentModel != "" && pg.ContentModel != "wikitext":
		v.reason = ReasonUnsupported
	case len(pg.Categories) > 0:
		v.reason = ReasonOptout
	case pg.Redirect:
		v.reason = ReasonBadRedirect // a loop, or more hops than followed
	}
	return v, pg
}

// sameSpace reports whether a redirect from title to pg stays where a
// message to title may go: in the same namespace and, for user talk pages,
// in the same user's space.
func sameSpace(l *lane, title string, pg *wiki.Page) bool {
	ns, text := l.split(title)
	if ns != pg.Namespace {
		return false
	}
	if ns != nsUserTalk {
		return true
	}
	_, to := l.split(pg.Title)
	return userOf(text) == userOf(to)
}

// userOf returns the user a user (talk) page belongs to: its text up to
// the first slash.
func userOf(text string) string {
	name, _, _ := strings.Cut(text, "/")
	return name
}

// botsDenied reads the texts of titles, in batches, and returns those
// whose {{bots}} or {{nobots}} rules keep Courier out.
func (r *delivery) botsDenied(ctx context.Context, l *lane, titles []string) (
	map[string]bool, error) {
	out := map[string]bool{}
	if len(titles) == 0 {
		return out, nil
	}
	set, err := l.client.Pages(ctx, wiki.PageQuery{Titles: titles, Content: true})
	if err != nil {
		return nil, fmt.Errorf("read {{bots}} rules of %d pages on %s: %w",
			len(titles), l.cfg.ID, err)
	}
	for _, title := range titles {
		_, pg := set.Resolve(title)
		if pg != nil && !botsAllow(pg.Content, r.d.botName(l)) {
			out[title] = true
		}
	}
	return out, nil
}

// botName returns the name {{bots}} rules are read for.
func (d *Deliverer) botName(l *lane) string {
	if d.opts.Delivery.BotName != "" {
		return d.opts.Delivery.BotName
	}
	_, _, user := l.state()
	return user
}

// missingUsers looks up the owners of the user talk pages among the
// verdicts still delivering, in batches, and returns the final titles
// whose owner is no account: missing, an IP address, or temporary.
func (r *delivery) missingUsers(ctx context.Context, l *lane, vs map[string]verdict) (
	map[string]bool, error) {
	owners := map[string][]string{} // user → final titles
	for _, v := range vs {
		if ns, text := l.split(v.final); v.reason == "" && ns == nsUserTalk {
			u := userOf(text)
			owners[u] = append(owners[u], v.final)
		}
	}
	out := map[string]bool{}
	if len(owners) == 0 {
		return out, nil
	}
	names := make([]string, 0, len(owners))
	for u := range owners {
		names = append(names, u)
	}
	slices.Sort(names)
	users, err := l.client.Users(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("look up %d users on %s: %w", len(names), l.cfg.ID, err)
	}
	for _, name := range names {
		if u := users[name]; u == nil || u.Missing || u.Invalid || isTemporary(u) {
			for _, title := range owners[name] {
				out[title] = true
			}
		}
	}
	return out, nil
}

// tempName matches the names MediaWiki gives temporary accounts by
// default ("~2026-12345"), for wikis whose list=users does not say so.
var tempName = regexp.MustCompile(`^~\d{4}-`)

// isTemporary reports whether u is a temporary account, which has no
// person behind it to read a message.
func isTemporary(u *wiki.User) bool {
	return slices.Contains(u.Groups, "temp") || tempName.MatchString(u.Name)
}

// refresh preflights again the targets of batch whose check is older than
// PreflightMaxAge (or was made by an earlier run), records the skips, and
// returns the targets still to send.
func (r *delivery) refresh(ctx context.Context, l *lane, batch []store.Target) (
	[]store.Target, error) {
	if r.isCancelled() {
		return batch, nil
	}
	var stale []string
	now := time.Now()
	for i := range batch {
		at, ok := r.fresh[keyOf(&batch[i])]
		if !ok || now.Sub(at) > r.d.opts.PreflightMaxAge {
			stale = append(stale, batch[i].Title)
		}
	}
	if len(stale) == 0 {
		return batch, nil
	}
	vs, err := r.preflight(ctx, l, stale)
	if err != nil {
		return nil, err
	}

	keep := make([]store.Target, 0, len(batch))
	for i := range batch {
		t := &batch[i]
		v, checked := vs[t.Title]
		if checked && v.reason == "" && v.final != t.Title {
			// A recorded target is a page, not a redirect; one that became
			// a redirect since (a move) is not followed, since its message
			// would be recorded under a page it did not go to.
			v.reason = ReasonBadRedirect
		}
		if !checked || v.reason == "" {
			keep = append(keep, *t)
			continue
		}
		if err := r.outcome(ctx, t, store.TargetSkipped, v.reason, 0); err != nil {
			return nil, err
		}
	}
	return keep, nil
}
