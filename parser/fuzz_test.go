package parser

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzSeeds are small pages that reach the scanner's corners.
var fuzzSeeds = []string{
	"== A ==\n{{Delivery request\n| list = L\n| subject = S\n| message = M ~~~~\n}}\n",
	"{{delivery_request|list=L|subject=S|page=P|status=pending|id=12}}",
	"{{Delivery request|message=[[a|b]] {{!}} <nowiki>|}}</nowiki> <!-- } -->|list=x}}",
	"{{Delivery request\n|subject=a\n==h | x ==\n}}",
	"{{{{Delivery request|a=b}}}}{{{Delivery request|x}}}",
	"-{{Delivery request|a=-{b|c}-}}-{",
	"{{Delivery request|list=a<!--",
	"<includeonly>{{Delivery request}}</includeonly><noinclude>{{Delivery request}}</noinclude>",
	"{{Delivery request|a=\n<!-- c -->\n=b\n}}",
	"{{#target:User talk:A}}\n* [[User talk:B|b]]\n{{#target:Talk:C|de.wikipedia.org}}",
	`{"description": "d", "targets": [{"title": "User talk:A"}, {"title": "B", "site": "x.org"}]}`,
	`{"targets": [{"title": "\u00e9\"x", "n": [1, -2.5e3, true, {"a": null}]}], "targets": []}`,
	`{"Targets": [{"TITLE": "a"}], "description": "d\u00e9", "x": {"y": [false]}}`,
	"{{bots|deny=Courier}}{{nobots}}<pre>{{bots}}</pre>",
}

// FuzzParseRequests checks the preprocessor's tree and the requests read
// from any text: in range, well nested, in order, trimmed, with lines that
// agree with the text; and that {{bots}} verdicts are consistent.
func FuzzParseRequests(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		defer watchdog(text)()
		checkDoc(t, text, parse(text))
		checkRequests(t, text, ParseRequests(text))
		v := BotsAllowed(text, "Courier", "news")
		if v.Allowed != (v.Rule == "") || v.Allowed != (v.Line == 0) {
			t.Fatalf("verdict %+v is inconsistent", v)
		}
	})
}

// FuzzWriteBack writes any status and note (and sometimes an id) into any
// closed request of any text, and checks the write-back property: it
// succeeds, other requests stay as they were, the values read back, and
// without Courier's parameters old and new text are the same bytes.
func FuzzWriteBack(f *testing.F) {
	for i, s := range fuzzSeeds {
		f.Add(s, "approved", "x|y}}{{z [[w", uint8(i))
	}
	f.Fuzz(func(t *testing.T, text, status, note string, pick uint8) {
		defer watchdog(text, status, note)()
		reqs := closedRequests(ParseRequests(text))
		if len(reqs) == 0 {
			return
		}
		r := reqs[int(pick)%len(reqs)]
		values := map[string]string{"status": status, "note": note}
		if pick%3 == 0 {
			values["id"] = "1234"
		}
		out, err := WriteBack(text, RefOf(r), values)
		if errors.Is(err, ErrAmbiguous) && countID(reqs, r.ID) > 1 {
			return
		}
		if err != nil {
			t.Fatalf("write back to %q: %v", text[r.Start:r.End], err)
		}
		checkWriteBack(t, text, out, r, values)
	})
}

// FuzzParseList checks the targets read from any text: lines in range and
// in page order, titles trimmed, problems complete; and that the fast JSON
// scanner agrees with encoding/json whenever it reads a text itself.
func FuzzParseList(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		defer watchdog(text)()
		checkJSONRoads(t, text)
		l := ParseList(text, ListOptions{Domains: map[string]bool{"de.wikipedia.org": true}})
		lines := strings.Count(text, "\n") + 1
		last := 0
		for _, tg := range l.Targets {
			if tg.Line < 1 || tg.Line > lines {
				t.Fatalf("target %+v: line out of 1..%d", tg, lines)
			}
			if !looksLikeJSON(text) && tg.Line < last {
				t.Fatalf("target %+v before line %d: not in page order", tg, last)
			}
			last = tg.Line
			if tg.Title != trimPHP(tg.Title) {
				t.Fatalf("target title %q is not trimmed", tg.Title)
			}
			for _, p := range tg.Problems {
				if p.Line != tg.Line || p.Text == "" || p.Code == "" {
					t.Fatalf("target %+v: problem %+v", tg, p)
				}
			}
		}
	})
}

// watchdog panics, naming the input, when one run of a fuzz target takes
// longer than any input of a fuzzer's size should: the sign of a loop
// that does not end or of work that grows as the square of the input. The
// caller defers the function it returns.
func watchdog(input ...string) func() {
	tm := time.AfterFunc(5*time.Second, func() {
		panic(fmt.Sprintf("a fuzz run took over 5s on %q", input))
	})
	return func() { tm.Stop() }
}

// checkJSONRoads checks that the fast JSON scanner, when it reads text at
// all, reads it as encoding/json does, lines included.
func checkJSONRoads(t *testing.T, text string) {
	t.Helper()
	fast, starts, ok := scanJSONList(text)
	if !ok {
		return
	}
	var slow jsonList
	if err := json.Unmarshal([]byte(text), &slow); err != nil {
		t.Fatalf("the scanner read %q, which encoding/json refuses: %v", text, err)
	}
	if !reflect.DeepEqual(fast.Targets, slow.Targets) && len(fast.Targets)+len(slow.Targets) > 0 ||
		fast.Description != slow.Description {
		t.Fatalf("scanner %+v, encoding/json %+v", fast, slow)
	}
	if offsets := jsonTargetOffsets(text); !reflect.DeepEqual(offsets, starts) &&
		len(offsets)+len(starts) > 0 {
		t.Fatalf("scanner offsets %v, jsonTargetOffsets %v", starts, offsets)
	}
}

func closedRequests(reqs []Request) []Request {
	var out []Request
	for _, r := range reqs {
		if !r.Unclosed {
			out = append(out, r)
		}
	}
	return out
}

func countID(reqs []Request, id string) int {
	n := 0
	for _, r := range reqs {
		if id != "" && r.ID == id {
			n++
		}
	}
	return n
}

// checkDoc checks the preprocessor's tree: nodes within the text and
// properly nested, parts within their node, in order.
func checkDoc(t *testing.T, text string, d *doc) {
	t.Helper()
	for j, n := range d.nodes {
		if n.start < 0 || n.end > len(text) || n.start >= n.end {
			t.Fatalf("node %d [%d,%d) out of range", j, n.start, n.end)
		}
		for k := 0; k < j; k++ {
			m := d.nodes[k]
			crosses := m.start < n.start && n.start < m.end && m.end < n.end ||
				n.start < m.start && m.start < n.end && n.end < m.end
			if crosses {
				t.Fatalf("nodes [%d,%d) and [%d,%d) overlap", m.start, m.end, n.start, n.end)
			}
		}
		if !wellFormed(text, n) {
			t.Fatalf("node %d of kind %d is %q", j, n.kind, text[n.start:n.end])
		}
		if n.kind == kindTemplate || n.kind == kindArg {
			checkParts(t, text, n, d.parts[n.a:n.b])
		}
	}
}

// wellFormed reports whether node n's bytes look like what its kind is.
func wellFormed(text string, n node) bool {
	src := text[n.start:n.end]
	switch n.kind {
	case kindTemplate:
		return strings.HasPrefix(src, "{{") && strings.HasSuffix(src, "}}")
	case kindArg:
		return strings.HasPrefix(src, "{{{") && strings.HasSuffix(src, "}}}")
	case kindComment:
		return strings.HasPrefix(strings.TrimLeft(src, " \t"), "<!--")
	case kindTag, kindIgnore:
		return strings.HasPrefix(src, "<")
	case kindHeading:
		return strings.HasPrefix(src, "=") && (n.end == len(text) || text[n.end] == '\n' ||
			strings.HasSuffix(src, "=")) && n.level >= 1 && n.level <= 6
	}
	return false
}

func checkParts(t *testing.T, text string, n node, parts []part) {
	t.Helper()
	prev := n.start
	for _, p := range parts {
		if p.start < prev || p.end < p.start || p.end > n.end {
			t.Fatalf("part [%d,%d) of [%d,%d) out of order", p.start, p.end, n.start, n.end)
		}
		if p != parts[0] && text[p.start-1] != '|' {
			t.Fatalf("part [%d,%d) does not follow a |", p.start, p.end)
		}
		if p.eq >= 0 && (p.eq < p.start || p.eq >= p.end || text[p.eq] != '=') {
			t.Fatalf("part [%d,%d): bad = at %d", p.start, p.end, p.eq)
		}
		prev = p.end
	}
}

// checkRequests checks what ParseRequests says against the text.
func checkRequests(t *testing.T, text string, reqs []Request) {
	t.Helper()
	end := 0
	for _, r := range reqs {
		if r.Start < end || r.End > len(text) || !strings.HasPrefix(text[r.Start:], "{{") {
			t.Fatalf("request [%d,%d) out of range or order", r.Start, r.End)
		}
		if !r.Unclosed && !strings.HasSuffix(text[:r.End], "}}") {
			t.Fatalf("closed request [%d,%d) does not end with }}", r.Start, r.End)
		}
		if want := strings.Count(text[:r.Start], "\n") + 1; r.Line != want {
			t.Fatalf("request at %d: line %d, want %d", r.Start, r.Line, want)
		}
		checkParams(t, text, r)
		if !r.Unclosed {
			end = r.End
		}
	}
}

func checkParams(t *testing.T, text string, r Request) {
	t.Helper()
	prev := r.Start
	for _, p := range r.Params {
		if p.Start < prev || p.End > r.End || text[p.Start] != '|' {
			t.Fatalf("param %+v of [%d,%d) out of range", p, r.Start, r.End)
		}
		if !p.Positional && (p.Value != trimPHP(p.Value) || p.Name != trimPHP(p.Name)) {
			t.Fatalf("param %+v is not trimmed", p)
		}
		prev = p.End
	}
	for _, pr := range r.Problems {
		if pr.Line < r.Line || pr.Text == "" || pr.Code == "" {
			t.Fatalf("request on line %d: problem %+v", r.Line, pr)
		}
	}
}

// checkWriteBack checks one write-back of values into request r of old,
// giving out: every other request is as it was, r reads back the escaped
// values, and without r's owned parameters both pages are the same bytes.
func checkWriteBack(t *testing.T, old, out string, r Request, values map[string]string) {
	t.Helper()
	before, after := ParseRequests(old), ParseRequests(out)
	if len(before) != len(after) {
		t.Fatalf("%d requests became %d:\n%s", len(before), len(after), out)
	}
	k := -1
	for i := range before {
		if before[i].Start == r.Start {
			k = i
			continue
		}
		a, b := before[i], after[i]
		if !a.Unclosed && old[a.Start:a.End] != out[b.Start:b.End] {
			t.Fatalf("request %d changed:\n%s", i, out)
		}
	}
	got := after[k]
	for name, v := range values {
		if g, ok := got.Get(name); !ok || g != EscapeValue(v) {
			t.Fatalf("%s reads back %q (given: %v), want %q:\n%s", name, g, ok, EscapeValue(v), out)
		}
	}
	if a, b := removeOwned(old, before[k]), removeOwned(out, got); a != b {
		t.Fatalf("without Courier's parameters the pages differ:\nold: %q\nnew: %q", a, b)
	}
}

// removeOwned cuts the parameters Courier owns out of request r of text,
// each from its "|" to the next "|" or the closing braces. It is written
// apart from the package's own check so that each checks the other.
func removeOwned(text string, r Request) string {
	owned := map[string]bool{"status": true, "id": true, "progress": true, "result": true,
		"note": true}
	out := text
	for i := len(r.Params) - 1; i >= 0; i-- {
		if p := r.Params[i]; !p.Positional && owned[p.Name] {
			out = out[:p.Start] + out[p.End:]
		}
	}
	return out
}
