package parser

import (
	"fmt"
	"sort"
	"strings"
)

// ListOptions tune ParseList.
type ListOptions struct {
	// Domains are the domains of the wikis Courier delivers to, such as
	// "de.wikipedia.org", lowercase; a target on another is a problem. Nil:
	// domains are not checked.
	Domains map[string]bool
	// Site tells which title prefixes are namespaces of the home wiki, and
	// so not the prefix of another wiki; nil: the standard English ones.
	Site *Site
}

// Target is one page a list delivers to.
type Target struct {
	Title    string    `json:"title"`  // as written, trimmed; a link's leading colon dropped
	Domain   string    `json:"domain"` // the wiki's domain, lowercase; "" for the home wiki
	Line     int       `json:"line"`
	Problems []Problem `json:"problems"`
}

// List is what a target list page holds.
type List struct {
	Description string    `json:"description,omitempty"` // a JSON list's description
	Targets     []Target  `json:"targets"`
	Problems    []Problem `json:"problems"` // about the page as a whole, such as bad JSON
}

// defaultSite is the Site a list is read with when its options name none.
var defaultSite = NewSite(DefaultNamespaces(""))

// ParseList returns the targets of a list page, in page order. The page is
// MassMessage's JSON list content when it is a JSON object; otherwise it
// is wikitext, with targets written {{#target:Title}},
// {{#target:Title|domain}} or as a bulleted link, "* [[Title]]" or
// "* [[Title|label]]", in any mix. Targets inside comments, <nowiki> and
// other extension tags do not count. Titles are not normalised here (that
// needs each target wiki's namespaces, see Site.Normalize), only checked
// for what no title may hold.
func ParseList(text string, opts ListOptions) List {
	if opts.Site == nil {
		opts.Site = defaultSite
	}
	if looksLikeJSON(text) {
		return parseJSONList(text, opts)
	}
	d := parse(text)
	c := listReader{d: d, opts: opts, lines: newLineCounter(text)}
	return List{Targets: c.merge(c.templateTargets(), c.bulletTargets())}
}

// listReader reads the targets of one wikitext list.
type listReader struct {
	d     *doc
	opts  ListOptions
	lines *lineCounter
}

// located is a target and the offset it starts at.
type located struct {
	at       int
	t        Target
	unclosed bool // a bulleted link without its "]]"
}

// templateTargets returns the {{#target:...}} calls of the page.
func (c *listReader) templateTargets() []located {
	d := c.d
	out := make([]located, 0, len(d.nodes))
	for j, n := range d.nodes {
		if n.kind != kindTemplate {
			continue
		}
		name := d.partText(j, d.parts[n.a])
		if !hasPrefixFold(name, "#target:") {
			continue
		}
		t := Target{Title: trimPHP(name[len("#target:"):])}
		if n.b-n.a > 1 {
			t.Domain = strings.ToLower(trimPHP(d.partText(j, d.parts[n.a+1])))
		}
		out = append(out, located{at: n.start, t: t})
	}
	// Nodes come in the order they close: a call inside another call's
	// arguments comes before it.
	if !sort.SliceIsSorted(out, func(a, b int) bool { return out[a].at < out[b].at }) {
		sort.SliceStable(out, func(a, b int) bool { return out[a].at < out[b].at })
	}
	return out
}

// partText returns part p of node j as the page view sees it, trimmed.
// Only comments inside node j can drop bytes, and those are the nodes
// just before it.
func (d *doc) partText(j int, p part) string {
	if j == 0 || d.nodes[j-1].start < d.nodes[j].start {
		return trimPHP(d.text[p.start:p.end])
	}
	return trimPHP(d.strip(p.start, p.end))
}

// bulletTargets returns the links that start bulleted or numbered lines.
func (c *listReader) bulletTargets() []located {
	text := c.d.text
	var out []located
	for pos := 0; pos < len(text); {
		if text[pos] == '*' || text[pos] == '#' {
			if l, ok := c.bullet(pos); ok {
				out = append(out, l)
			}
		}
		nl := strings.IndexByte(text[pos:], '\n')
		if nl < 0 {
			break
		}
		pos += nl + 1
	}
	return out
}

// bullet reads the list item at the start of a line, pos, if its text
// starts with a link to a page.
func (c *listReader) bullet(pos int) (located, bool) {
	d, text := c.d, c.d.text
	if containsOffset(d.opaque, pos) {
		return located{}, false
	}
	i := pos
	for i < len(text) && strings.IndexByte("*#:; \t", text[i]) >= 0 {
		i++
	}
	for k := firstEndingAfter(d.cuts, i); k < len(d.cuts) && d.cuts[k].start == i; k++ {
		i = d.cuts[k].end // comments before the link
		for i < len(text) && (text[i] == ' ' || text[i] == '\t') {
			i++
		}
	}
	if !strings.HasPrefix(text[i:], "[[") {
		return located{}, false
	}
	eol := strings.IndexByte(text[i:], '\n')
	if eol < 0 {
		eol = len(text) - i
	}
	line := text[i+2 : i+eol]
	end := strings.Index(line, "]]")
	if end < 0 {
		return located{at: pos, t: Target{Title: linkTarget(line)}, unclosed: true}, true
	}
	link := linkTarget(d.strip(i+2, i+2+end))
	colon := strings.HasPrefix(link, ":")
	link = strings.TrimLeft(link, ": ")
	if !colon && c.embeds(link) {
		return located{}, false
	}
	return located{at: pos, t: Target{Title: link}}, true
}

// linkTarget returns the page part of a link's inside.
func linkTarget(inside string) string {
	if k := strings.IndexByte(inside, '|'); k >= 0 {
		inside = inside[:k]
	}
	return trimPHP(inside)
}

// embeds reports whether a link to title, without a leading colon, does
// not link but files the page in a category or shows a file.
func (c *listReader) embeds(title string) bool {
	k := strings.IndexByte(title, ':')
	if k <= 0 {
		return false
	}
	id, ok := c.opts.Site.byName[foldName(title[:k])]
	return ok && (id == 6 || id == 14 || id == NSMedia)
}

// merge returns the targets of both lists, which are each in page order,
// in page order, with their lines and problems.
func (c *listReader) merge(a, b []located) []Target {
	out := make([]Target, 0, len(a)+len(b))
	for len(a) > 0 || len(b) > 0 {
		var next located
		if len(b) == 0 || len(a) > 0 && a[0].at < b[0].at {
			next, a = a[0], a[1:]
		} else {
			next, b = b[0], b[1:]
		}
		t := next.t
		t.Line = c.lines.at(next.at)
		if next.unclosed {
			t.Problems = []Problem{{Line: t.Line, Code: ProblemUnclosedLink, Text: fmt.Sprintf(
				"The link on line %d is not closed: end it with ]].", t.Line)}}
		} else {
			t.Problems = targetProblems(t, c.opts)
		}
		out = append(out, t)
	}
	return out
}

// targetProblems returns what is wrong with one target's title or domain;
// nil, without allocating, for a good one.
func targetProblems(t Target, opts ListOptions) []Problem {
	var out []Problem
	switch {
	case t.Title == "":
		out = append(out, t.problem(ProblemEmptyTitle,
			fmt.Sprintf("The target on line %d has no title.", t.Line)))
	case strings.Contains(t.Title, "{{"):
		out = append(out, t.problem(ProblemTemplateTitle, t.at()+" is made with a template "+
			"or variable, which Courier does not expand: write the title itself."))
	default:
		if reason := illegalChar(t.Title); reason != "" {
			out = append(out, t.problem(ProblemBadTitle, t.at()+" cannot be a page title: "+
				reason))
		} else if t.Domain == "" && looksInterwiki(t.Title, opts.Site) {
			out = append(out, t.problem(ProblemInterwiki, t.at()+" looks like a page on "+
				"another wiki: name the wiki by its domain instead, as in "+
				"{{#target:Title|de.wikipedia.org}}."))
		}
	}
	if t.Domain != "" && opts.Domains != nil && !opts.Domains[t.Domain] {
		out = append(out, t.problem(ProblemUnknownDomain, fmt.Sprintf(
			"%s is on %q, which is not a wiki Courier delivers to.", t.at(), t.Domain)))
	}
	return out
}

// at names target t in a problem's sentence.
func (t Target) at() string {
	return fmt.Sprintf("The target %q on line %d", t.Title, t.Line)
}

func (t Target) problem(code, text string) Problem {
	return Problem{Line: t.Line, Code: code, Text: text}
}

// looksInterwiki reports whether title starts with what looks like the
// prefix of another wiki (a language code such as "de:" or an interwiki
// prefix such as "w:" or "meta:"): a short lowercase word that is no
// namespace of the site. Editors write namespaces capitalised.
func looksInterwiki(title string, site *Site) bool {
	title = strings.TrimPrefix(title, ":")
	if title == "" || title[0] < 'a' || title[0] > 'z' {
		return false
	}
	k := strings.IndexByte(title, ':')
	if k <= 0 || k > 12 {
		return false
	}
	for i := 0; i < k; i++ {
		if c := title[i]; (c < 'a' || c > 'z') && c != '-' {
			return false
		}
	}
	_, isNamespace := site.byName[title[:k]]
	return !isNamespace
}
