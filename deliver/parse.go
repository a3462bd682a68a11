package deliver

import (
	"courier/parser"
)

// parseList returns the entries of a list page's text, read with the home
// wiki's namespaces, and the problems of the page as a whole. An entry
// with a problem of its own (no title, a character no title holds, a
// template, an interwiki-looking prefix) is kept, marked bad, so that it
// is reported rather than dropped; a domain Courier does not know is left
// to the wiki lookup.
func parseList(site *parser.Site, text string) ([]entry, []parser.Problem) {
	list := parser.ParseList(text, parser.ListOptions{Site: site})
	out := make([]entry, len(list.Targets))
	for i, t := range list.Targets {
		out[i] = entry{seq: i + 1, domain: t.Domain, title: t.Title, line: t.Line}
		for _, p := range t.Problems {
			if p.Code != parser.ProblemUnknownDomain {
				out[i].bad = true
			}
		}
	}
	return out, list.Problems
}

// botsAllow reports whether a page's {{bots}} and {{nobots}} calls let
// bot leave a message.
func botsAllow(text, bot string) bool {
	return parser.BotsAllowed(text, bot, "").Allowed
}
