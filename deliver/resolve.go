package deliver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"courier/store"
	"courier/wiki"
)

// entry is one target as the list gives it.
type entry struct {
	seq    int    // 1-based position in the list
	line   int    // its line on the list page; 0 for a category's member
	domain string // "" for the home wiki
	title  string // as written
	bad    bool   // the list parser found its title unusable
}

// resolve reads the request's list and turns it into the request's
// targets: each title normalised with its wiki's namespaces, User: made
// User talk:, redirects followed, duplicates dropped, and the preflight
// done, in one batched pass a wiki. Every entry of the list becomes one
// target, skipped ones with their reason, so the details page accounts
// for every line.
func (r *delivery) resolve(ctx context.Context) ([]store.Target, error) {
	entries, err := r.readList(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]store.Target, len(entries))
	byWiki := map[string][]int{} // wiki id → indexes into rows
	for i, e := range entries {
		rows[i] = store.Target{RequestID: r.job.ID, Seq: e.seq, Title: e.title}
		id, ok := r.d.wikiOf(e.domain, r.job.HomeWiki)
		if !ok {
			// Validation upstream refuses such lists; should one get here
			// anyway, its targets are reported, never sent.
			rows[i].Wiki, rows[i].State, rows[i].Reason =
				strings.ToLower(e.domain), store.TargetSkipped, ReasonUnknownWiki
			continue
		}
		rows[i].Wiki = id
		if e.bad {
			rows[i].State, rows[i].Reason = store.TargetSkipped, ReasonBadTitle
			continue
		}
		byWiki[id] = append(byWiki[id], i)
	}
	if err := r.resolveWikis(ctx, rows, byWiki); err != nil {
		return nil, err
	}
	dropDuplicates(rows)
	if n := countTargets(rows); r.d.opts.Delivery.MaxTargets > 0 &&
		n > r.d.opts.Delivery.MaxTargets {
		return nil, fmt.Errorf("resolve list of request %d: %d targets, max %d: %w",
			r.job.ID, n, r.d.opts.Delivery.MaxTargets, ErrTooManyTargets)
	}
	return rows, nil
}

// wikiOf returns the id of the wiki a list entry's domain names.
func (d *Deliverer) wikiOf(domain, home string) (string, bool) {
	if domain == "" {
		return home, true
	}
	id, ok := d.domains[strings.ToLower(strings.TrimSpace(domain))]
	return id, ok
}

// resolveWikis resolves each wiki's rows, the wikis in parallel: each
// goroutine writes only its own rows, and resolveWikis waits for all.
func (r *delivery) resolveWikis(ctx context.Context, rows []store.Target,
	byWiki map[string][]int) error {
	var wg sync.WaitGroup
	errs := make([]error, 0, len(byWiki))
	var mu sync.Mutex
	for id, idx := range byWiki {
		wg.Go(func() {
			if err := r.resolveWiki(ctx, r.d.lanes[id], rows, idx); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// resolveWiki normalises and preflights the rows at idx, all on l's wiki.
func (r *delivery) resolveWiki(ctx context.Context, l *lane, rows []store.Target,
	idx []int) error {
	if err := l.prepare(ctx); err != nil {
		return err
	}

	// Titles first: MediaWiki's spelling, User: to User talk:, namespace.
	var titles []string
	for _, i := range idx {
		title, reason := r.d.normalize(l, rows[i].Title)
		rows[i].Title = title
		if reason != "" {
			rows[i].State, rows[i].Reason = store.TargetSkipped, reason
			continue
		}
		titles = append(titles, title)
	}
	titles = slices.Compact(sortedCopy(titles))

	// Then the wiki: redirects, pages, owners.
	vs, err := r.preflight(ctx, l, titles)
	if err != nil {
		return err
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, i := range idx {
		if rows[i].State != "" {
			continue
		}
		v := vs[rows[i].Title]
		rows[i].State = store.TargetQueued
		if v.reason != "" {
			rows[i].State, rows[i].Reason = store.TargetSkipped, v.reason
			continue
		}
		rows[i].Title = v.final
		r.fresh[targetKey{r.job.ID, l.cfg.ID, v.final}] = now
	}
	return nil
}

// normalize returns title as the wiki writes it, a user page turned into
// its talk page, and a skip reason when it may not receive a message.
func (d *Deliverer) normalize(l *lane, title string) (string, string) {
	ns, full, ok := l.normalize(title)
	if !ok {
		return strings.TrimSpace(title), ReasonBadTitle
	}
	if ns == nsUser {
		ns, full = l.talkOf(full)
	}
	if !d.allowedNamespace(ns) {
		return full, ReasonBadNS
	}
	return full, ""
}

// allowedNamespace reports whether pages in ns may receive messages: the
// talk namespaces and the configured others. Special and Media (negative
// ids) never can.
func (d *Deliverer) allowedNamespace(ns int) bool {
	return ns > 0 && ns%2 == 1 || slices.Contains(d.opts.AllowedNamespaces, ns) && ns >= 0
}

// dropDuplicates skips every row that lands on a page an earlier row of
// the same wiki delivers to, and gives rows that would share a key in the
// store one of their own.
func dropDuplicates(rows []store.Target) {
	seen := map[[2]string]bool{}
	for i := range rows {
		k := [2]string{rows[i].Wiki, rows[i].Title}
		if !seen[k] {
			seen[k] = true
			continue
		}
		rows[i].State, rows[i].Reason = store.TargetSkipped, ReasonDuplicate
		// The store keys a target by its title; a second line naming the
		// same page is kept as that title with its place in the list.
		rows[i].Title = fmt.Sprintf("%s (entry %d)", rows[i].Title, rows[i].Seq)
		seen[[2]string{rows[i].Wiki, rows[i].Title}] = true
	}
}

// countTargets returns the rows that are targets in their own right: all
// but the duplicates.
func countTargets(rows []store.Target) int {
	n := 0
	for _, t := range rows {
		if t.Reason != ReasonDuplicate {
			n++
		}
	}
	return n
}

// readList returns the entries of the request's list: the list page's
// text at the approved revision, or the members of a category.
func (r *delivery) readList(ctx context.Context) ([]entry, error) {
	home := r.d.lanes[r.job.HomeWiki]
	if home == nil {
		return nil, fmt.Errorf("read list of request %d: home wiki %q not configured",
			r.job.ID, r.job.HomeWiki)
	}
	if err := home.prepare(ctx); err != nil {
		return nil, err
	}
	if ns, _, ok := home.normalize(r.job.List); ok && ns == nsCategory {
		return r.categoryList(ctx, home)
	}

	rev, err := r.listRevision(ctx, home)
	if err != nil {
		return nil, err
	}
	site, _, _ := home.state()
	entries, problems := parseList(site, rev.Content)
	if len(entries) == 0 && len(problems) > 0 {
		return nil, fmt.Errorf("read list %q (oldid %d): %w: %s", r.job.List, rev.RevID,
			ErrBadList, problems[0].Text)
	}
	for _, p := range problems {
		r.log.Warn("problem in list page", "wiki", home.cfg.ID, "title", r.job.List,
			"request_id", r.job.ID, "line", p.Line, "problem", p.Text)
	}
	return entries, nil
}

// listRevision reads the list at the approved revision, or its current
// text when the job names none.
func (r *delivery) listRevision(ctx context.Context, home *lane) (*wiki.Revision, error) {
	if r.job.ListRev > 0 {
		rev, err := home.client.RevisionByID(ctx, r.job.ListRev)
		if errors.Is(err, wiki.ErrNoSuchRevision) {
			return nil, fmt.Errorf("read list %q (oldid %d): %w: %w",
				r.job.List, r.job.ListRev, ErrNoList, err)
		}
		if err != nil {
			return nil, fmt.Errorf("read list %q (oldid %d): %w", r.job.List, r.job.ListRev, err)
		}
		return rev, nil
	}
	rev, ok, err := home.client.PageText(ctx, r.job.List)
	if err != nil {
		return nil, fmt.Errorf("read list %q: %w", r.job.List, err)
	}
	if !ok {
		return nil, fmt.Errorf("read list %q: %w", r.job.List, ErrNoList)
	}
	return &rev, nil
}

// categoryList returns the members of the category the list names, in
// the order MediaWiki sorts them. A category has no revision that holds
// its members, so they are read as they are when delivery starts.
func (r *delivery) categoryList(ctx context.Context, home *lane) ([]entry, error) {
	members, err := home.client.CategoryMembers(ctx, r.job.List)
	if err != nil {
		return nil, fmt.Errorf("read list %q: %w", r.job.List, err)
	}
	out := make([]entry, len(members))
	for i, m := range members {
		out[i] = entry{seq: i + 1, title: m}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
