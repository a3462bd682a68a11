package parser

import (
	"reflect"
	"testing"
)

// brief is a target without its problems' sentences.
type brief struct {
	Title, Domain string
	Line          int
	Codes         []string
}

func briefs(l List) []brief {
	var out []brief
	for _, t := range l.Targets {
		b := brief{Title: t.Title, Domain: t.Domain, Line: t.Line}
		for _, p := range t.Problems {
			b.Codes = append(b.Codes, p.Code)
		}
		out = append(out, b)
	}
	return out
}

func TestParseList(t *testing.T) {
	known := map[string]bool{"de.wikipedia.org": true, "meta.wikimedia.org": true}
	tests := []struct {
		name, text string
		want       []brief
	}{
		{"target", "{{#target:User talk:Alice}}", []brief{{"User talk:Alice", "", 1, nil}}},
		{"target on another wiki", "{{#target:Talk:Foo|de.wikipedia.org}}",
			[]brief{{"Talk:Foo", "de.wikipedia.org", 1, nil}}},
		{"spacing, case and comments", "{{ #TARGET: User talk:A <!-- x --> | DE.wikipedia.org }}",
			[]brief{{"User talk:A", "de.wikipedia.org", 1, nil}}},
		{"not a parser function with a space", "{{#target :User talk:A}}", nil},
		{"bulleted links", "* [[User talk:Alice]]\n* [[User:Bob|Bob]]\n# [[:Talk:Foo]]",
			[]brief{{"User talk:Alice", "", 1, nil}, {"User:Bob", "", 2, nil},
				{"Talk:Foo", "", 3, nil}}},
		{"mixed, in page order", "* [[User:A]]\n{{#target:User:B}}\n* [[User:C]]",
			[]brief{{"User:A", "", 1, nil}, {"User:B", "", 2, nil}, {"User:C", "", 3, nil}}},
		{"not a bulleted link", "Intro [[User:A]]\n* text [[User:B]]\n*[http://x.org x]", nil},
		{"categories and files are not targets", "* [[Category:Lists]]\n* [[File:A.png]]\n" +
			"* [[:Category:Lists]]", []brief{{"Category:Lists", "", 3, nil}}},
		{"hidden targets", "<!-- {{#target:User:A}}\n* [[User:B]] -->\n<nowiki>{{#target:C}}" +
			"</nowiki>\n<pre>\n* [[User:D]]\n</pre>", nil},
		{"unknown domain", "{{#target:User:A|xx.wikipedia.org}}",
			[]brief{{"User:A", "xx.wikipedia.org", 1, []string{ProblemUnknownDomain}}}},
		{"interwiki without a domain", "{{#target:de:Benutzer:A}}\n* [[w:User:B]]",
			[]brief{{"de:Benutzer:A", "", 1, []string{ProblemInterwiki}},
				{"w:User:B", "", 2, []string{ProblemInterwiki}}}},
		{"a lowercase namespace is no interwiki", "{{#target:user talk:a}}",
			[]brief{{"user talk:a", "", 1, nil}}},
		{"empty title", "{{#target:}}\n{{#target: |de.wikipedia.org}}",
			[]brief{{"", "", 1, []string{ProblemEmptyTitle}},
				{"", "de.wikipedia.org", 2, []string{ProblemEmptyTitle}}}},
		{"invalid characters", "{{#target:User:A#top}}\n* [[User:<b>]]",
			[]brief{{"User:A#top", "", 1, []string{ProblemBadTitle}},
				{"User:<b>", "", 2, []string{ProblemBadTitle}}}},
		{"a template in the title", "{{#target:User talk:{{PAGENAME}}}}",
			[]brief{{"User talk:{{PAGENAME}}", "", 1, []string{ProblemTemplateTitle}}}},
		{"an unclosed link", "* [[User talk:A\n* [[User talk:B]]",
			[]brief{{"User talk:A", "", 1, []string{ProblemUnclosedLink}},
				{"User talk:B", "", 2, nil}}},
		{"targets inside another template", "{{Div col|\n* [[User:A]]\n{{#target:User:B}}\n}}",
			[]brief{{"User:A", "", 2, nil}, {"User:B", "", 3, nil}}},
		{"JSON", `{"description": "Tech", "targets": [
  {"title": "User talk:Alice"},
  {"title": "Talk:Foo", "site": "de.wikipedia.org"},
  {"title": "x", "site": "nowhere.org"}
]}`, []brief{{"User talk:Alice", "", 2, nil}, {"Talk:Foo", "de.wikipedia.org", 3, nil},
			{"x", "nowhere.org", 4, []string{ProblemUnknownDomain}}}},
		{"a wikitable is not JSON", "{| class=\"wikitable\"\n|-\n| {{#target:User:A}}\n|}",
			[]brief{{"User:A", "", 3, nil}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := ParseList(tc.text, ListOptions{Domains: known})
			if got := briefs(l); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			if len(l.Problems) != 0 {
				t.Errorf("page problems %v", l.Problems)
			}
		})
	}
}

func TestParseListDomainsUnchecked(t *testing.T) {
	l := ParseList("{{#target:User:A|anything.org}}", ListOptions{})
	if len(l.Targets) != 1 || len(l.Targets[0].Problems) != 0 {
		t.Errorf("with no known domains: %+v", l.Targets)
	}
}

func TestParseListSiteNamespaces(t *testing.T) {
	site := NewSite(append(DefaultNamespaces("Meta"), Namespace{ID: 200, Name: "gw",
		Canonical: "gw"}))
	l := ParseList("{{#target:gw:A}}\n{{#target:meta:A}}", ListOptions{Site: site})
	for _, tg := range l.Targets {
		if len(tg.Problems) != 0 {
			t.Errorf("%q is a namespace of the site, got %v", tg.Title, tg.Problems)
		}
	}
}

func TestParseListBadJSON(t *testing.T) {
	tests := []struct {
		text string
		line int
	}{
		{"{\"targets\": [\n{\"title\": \"A\"},\n{\"title\": }]}", 3},
		{"{\"targets\": [{\"title\": 5}]}", 1},
		{"{\"targets\": {}}", 1},
	}
	for _, tc := range tests {
		l := ParseList(tc.text, ListOptions{})
		p := l.Problems
		if len(p) != 1 || p[0].Code != ProblemBadJSON || p[0].Line != tc.line {
			t.Errorf("%q: problems %+v, want bad JSON on line %d", tc.text, l.Problems, tc.line)
		}
	}
}

func TestJSONScannerAgreesWithEncodingJSON(t *testing.T) {
	tests := []struct {
		text string
		fast bool // whether the scanner reads it itself
	}{
		{`{"description": "d", "targets": [{"title": "A"}, {"title": "B", "site": "x.org"}]}`, true},
		{`{"targets": [{"title": "Caf\u00e9 \"x\"", "n": [1, -0.5e+3, true, {"a": [false]}]}]}`, true},
		{`{"targets": [{"title": "A"}], "targets": [{"title": "B"}]}`, true},
		{" {\n\"targets\" : [ ] } \n", true},
		{`{"targets": [{"title": "é"}]}`, true},
		{`{"Targets": [{"title": "A"}]}`, false},
		{`{"targets": [{"Title": "A"}]}`, false},
		{`{"targets": [null]}`, false},
		{`{"targets": [{"title": null}]}`, false},
		{`{"t\u0061rgets": [{"title": "A"}]}`, false},
		{`{"targets": [{"title": 5}]}`, false},
		{`{"targets": [{"title": "A"}]} x`, false},
		{`{"targets": [{"title": "A",}]}`, false},
		{`{"targets": [{"title": "a` + "\x01" + `"}]}`, false},
		{`{"n": 01}`, false},
		{`{"n": 1.}`, false},
		{`{"n": tru}`, false},
	}
	for _, tc := range tests {
		checkJSONRoads(t, tc.text)
		if _, _, ok := scanJSONList(tc.text); ok != tc.fast {
			t.Errorf("scanJSONList(%q) read it: %v, want %v", tc.text, ok, tc.fast)
		}
	}
}
