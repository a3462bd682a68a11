package watcher

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// watchSet is the set of watched pages. It is never changed once
// published: Watch and Unwatch publish a new one, so the stream reads it
// without a lock.
type watchSet struct {
	wikis  map[string]*wikiWatch // only wikis with at least one title
	titles map[string]bool       // every watched title of every wiki
}

// wikiWatch is the watched pages of one wiki.
type wikiWatch struct {
	titles     map[string]int // normalised title to its namespace
	list       []string       // the titles, sorted, for backfill queries
	namespaces []int          // their namespaces, sorted, for the same
}

// Watch adds a page to the watched set: its changes are handed over from
// now on. title is normalised for the wiki, so "Project:Foo_bar" and
// "Meta:foo bar" name the same page on Meta.
func (w *Watcher) Watch(wiki, title string) error {
	return w.change(wiki, title, true)
}

// Unwatch removes a page from the watched set.
func (w *Watcher) Unwatch(wiki, title string) error {
	return w.change(wiki, title, false)
}

// Watched returns the watched titles of wiki, normalised, sorted.
func (w *Watcher) Watched(wiki string) []string {
	ww := w.watched.Load().wikis[wiki]
	if ww == nil {
		return nil
	}
	return slices.Clone(ww.list)
}

// change adds or removes one page and publishes the new set.
func (w *Watcher) change(wiki, title string, add bool) error {
	verb := map[bool]string{true: "watch", false: "unwatch"}[add]
	wk, ok := w.wikis[wiki]
	if !ok {
		return fmt.Errorf("%s %q on %s: %w", verb, title, wiki, ErrUnknownWiki)
	}
	norm, ns, err := wk.Normalize(title)
	if err != nil {
		return fmt.Errorf("%s %q on %s: %w", verb, title, wiki, err)
	}

	w.watchMu.Lock()
	defer w.watchMu.Unlock()
	old := w.watched.Load()
	titles := map[string]int{}
	if ww := old.wikis[wiki]; ww != nil {
		titles = maps.Clone(ww.titles)
	}
	if add {
		titles[norm] = ns
	} else {
		delete(titles, norm)
	}

	next := &watchSet{wikis: maps.Clone(old.wikis), titles: map[string]bool{}}
	if len(titles) == 0 {
		delete(next.wikis, wiki)
	} else {
		next.wikis[wiki] = newWikiWatch(titles)
	}
	for _, ww := range next.wikis {
		for t := range ww.titles {
			next.titles[t] = true
		}
	}
	w.watched.Store(next)
	w.log.Debug("watched pages changed", "wiki", wiki, "title", norm, "watched", add,
		"pages", len(titles))
	return nil
}

func newWikiWatch(titles map[string]int) *wikiWatch {
	ww := &wikiWatch{titles: titles, list: slices.Sorted(maps.Keys(titles))}
	for _, ns := range titles {
		if !slices.Contains(ww.namespaces, ns) {
			ww.namespaces = append(ww.namespaces, ns)
		}
	}
	slices.Sort(ww.namespaces)
	return ww
}

// lookup returns the watched title that title, as a feed writes it, names.
// MediaWiki writes titles normalised, so the direct look-up is the one that
// counts; a title with underscores or a lower-case first letter is read
// again the way Watch reads titles, in case a feed is less careful.
func (ww *wikiWatch) lookup(title string, wk *Wiki) (string, int, bool) {
	if ns, ok := ww.titles[title]; ok {
		return title, ns, true
	}
	if !looksRaw(title) {
		return "", 0, false
	}
	norm, _, err := wk.Normalize(title)
	if err != nil {
		return "", 0, false
	}
	ns, ok := ww.titles[norm]
	return norm, ns, ok
}

// looksRaw reports whether title may not be in MediaWiki's form.
func looksRaw(title string) bool {
	if strings.ContainsRune(title, '_') {
		return true
	}
	r, _ := utf8.DecodeRuneInString(title)
	return unicode.IsLower(r)
}

// looksRawBytes is looksRaw for a title not yet copied into a string.
func looksRawBytes(title []byte) bool {
	if bytes.IndexByte(title, '_') >= 0 {
		return true
	}
	r, _ := utf8.DecodeRune(title)
	return unicode.IsLower(r)
}

// upperFirst returns s with its first letter in upper case.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if u := unicode.ToUpper(r); u != r {
		return string(u) + s[n:]
	}
	return s
}
