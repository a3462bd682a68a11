package parser

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// RequestTemplate is the template a delivery request calls.
const RequestTemplate = "Delivery request"

// MaxSubject is the longest subject a request may have, in bytes.
const MaxSubject = 240

// requestPage is the page RequestTemplate names, as templateName gives it.
var requestPage = "Template:" + RequestTemplate

// knownParams are the parameters of RequestTemplate.
var knownParams = map[string]bool{
	"list": true, "subject": true, "message": true, "page": true,
	"status": true, "id": true, "progress": true, "result": true, "note": true,
}

// States are the values the status parameter may take.
var States = []string{
	"", "pending", "approved", "delivering", "done", "rejected", "cancel", "cancelled",
}

// Request is one call of RequestTemplate on a request page.
type Request struct {
	Section  string // text of the nearest heading above it; "" above the first
	Line     int    // line of its "{{"
	Start    int    // offset of its "{{"
	End      int    // offset just past its "}}"; the end of the page when unclosed
	Unclosed bool   // reports whether the call is never closed

	// The parameters' values, as the template receives them: comments
	// dropped and spaces trimmed; "" when absent. When one is given twice,
	// the last one counts, as in MediaWiki. Status is lowercased.
	List, Subject, Message, Page       string
	Status, ID, Progress, Result, Note string

	Params   []Param   // every parameter, in order, unknown ones too
	Problems []Problem // what makes the request invalid; nil when none
}

// Param is one parameter of a request.
type Param struct {
	Name       string // trimmed; for a positional parameter, its number
	Value      string // comments dropped; trimmed unless positional
	Positional bool   // reports whether it has no "name ="
	Line       int    // line of its "|"
	Start, End int    // from its "|" to just before the next "|" or "}}"

	eq                 int // offset of its "=", or -1
	nameStart, nameEnd int // the name's bytes, trimmed
	valStart, valEnd   int // the value's bytes, trimmed of spaces and edge comments
}

// Get returns the last value of the named parameter and whether it is given.
func (r *Request) Get(name string) (string, bool) {
	for i := len(r.Params) - 1; i >= 0; i-- {
		if p := r.Params[i]; !p.Positional && p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// ParseRequests returns the delivery requests text holds, in page order.
// A request inside a comment, <nowiki>, <pre> or another extension tag is
// not one; a call nested in another request's parameters belongs to that
// request's message.
func ParseRequests(text string) []Request {
	d := parse(text)
	lines := newLineCounter(text)
	parents := d.parents()
	heads := d.topHeadings(parents)
	var out []Request
	for j, in := range d.requestNodes(parents) {
		if in == isRequestNode {
			out = append(out, d.request(d.nodes[j], false, lines, heads))
		}
	}
	for _, n := range d.unclosed {
		if d.isRequest(n) {
			out = append(out, d.request(n, true, lines, heads))
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Start < out[b].Start })
	return out
}

// What requestNodes says of a node.
const (
	notRequest    = iota
	isRequestNode // a call of RequestTemplate outside any other
	inRequest     // inside a request
)

// requestNodes tells, for each node, whether it is a request or inside one.
// A parent comes after its children, so one pass from the end does.
func (d *doc) requestNodes(parents []int) []uint8 {
	out := make([]uint8, len(d.nodes))
	for j := len(d.nodes) - 1; j >= 0; j-- {
		switch p := parents[j]; {
		case p >= 0 && out[p] != notRequest:
			out[j] = inRequest
		case d.nodes[j].kind == kindTemplate && d.isRequest(d.nodes[j]):
			out[j] = isRequestNode
		}
	}
	return out
}

// isRequest reports whether template node n calls RequestTemplate.
func (d *doc) isRequest(n node) bool {
	p := d.parts[n.a]
	return templateName(d.strip(p.start, p.end)) == requestPage
}

// parents returns, for each node, the index of the template, argument or
// heading that encloses it, or -1.
func (d *doc) parents() []int {
	par := make([]int, len(d.nodes))
	var stack []int
	for j := len(d.nodes) - 1; j >= 0; j-- {
		n := d.nodes[j]
		for len(stack) > 0 && d.nodes[stack[len(stack)-1]].start > n.start {
			stack = stack[:len(stack)-1]
		}
		par[j] = -1
		if len(stack) > 0 {
			par[j] = stack[len(stack)-1]
		}
		if n.kind == kindTemplate || n.kind == kindArg || n.kind == kindHeading {
			stack = append(stack, j)
		}
	}
	return par
}

// topHeadings returns the headings outside every template and argument:
// the page's sections.
func (d *doc) topHeadings(parents []int) []node {
	var out []node
	for j, n := range d.nodes {
		if n.kind == kindHeading && parents[j] < 0 {
			out = append(out, n)
		}
	}
	return out
}

// headingText returns the text of heading n.
func (d *doc) headingText(n node) string {
	if n.b <= n.a {
		return ""
	}
	return trimPHP(d.strip(n.a, n.b))
}

// request reads the request that template node n holds.
func (d *doc) request(n node, unclosed bool, lines *lineCounter, heads []node) Request {
	r := Request{Line: lines.at(n.start), Start: n.start, End: n.end, Unclosed: unclosed}
	k := sort.Search(len(heads), func(i int) bool { return heads[i].start >= n.start })
	if k > 0 {
		r.Section = d.headingText(heads[k-1])
	}
	positional := 0
	for _, p := range d.parts[n.a+1 : n.b] {
		prm := d.param(p, lines)
		if prm.Positional {
			positional++
			prm.Name = strconv.Itoa(positional)
		}
		r.Params = append(r.Params, prm)
	}
	r.fill()
	r.Problems = r.check()
	return r
}

// param reads one part of a template as a parameter.
func (d *doc) param(p part, lines *lineCounter) Param {
	prm := Param{Line: lines.at(p.start - 1), Start: p.start - 1, End: p.end, eq: p.eq}
	if p.eq < 0 {
		prm.Positional = true
		prm.valStart, prm.valEnd = p.start, p.end
		prm.Value = d.strip(p.start, p.end)
		return prm
	}
	prm.nameStart, prm.nameEnd = d.trimRange(p.start, p.eq)
	prm.valStart, prm.valEnd = d.trimRange(p.eq+1, p.end)
	prm.Name = d.strip(prm.nameStart, prm.nameEnd)
	prm.Value = d.strip(prm.valStart, prm.valEnd)
	return prm
}

// trimRange narrows [start, end) past the spaces and dropped bytes
// (comments) at both ends, so that its text is the trimmed value.
func (d *doc) trimRange(start, end int) (int, int) {
	t := d.text
	for start < end {
		if c, ok := d.cutAt(start); ok && c.end <= end {
			start = c.end // before spaces: a comment taking its line starts with them
		} else if isPHPSpace(t[start]) {
			start++
		} else {
			break
		}
	}
	for end > start {
		if c, ok := d.cutEndingAt(end); ok && c.start >= start {
			end = c.start // before spaces: a comment taking its line ends with one
		} else if isPHPSpace(t[end-1]) {
			end--
		} else {
			break
		}
	}
	return start, end
}

// cutAt returns the dropped span that starts at i.
func (d *doc) cutAt(i int) (span, bool) {
	k := firstEndingAfter(d.cuts, i)
	if k < len(d.cuts) && d.cuts[k].start == i {
		return d.cuts[k], true
	}
	return span{}, false
}

// cutEndingAt returns the dropped span that ends at i.
func (d *doc) cutEndingAt(i int) (span, bool) {
	k := firstEndingAfter(d.cuts, i-1)
	if k < len(d.cuts) && d.cuts[k].end == i {
		return d.cuts[k], true
	}
	return span{}, false
}

// fill sets the value fields from the parameters; the last one counts.
func (r *Request) fill() {
	fields := map[string]*string{
		"list": &r.List, "subject": &r.Subject, "message": &r.Message,
		"page": &r.Page, "status": &r.Status, "id": &r.ID,
		"progress": &r.Progress, "result": &r.Result, "note": &r.Note,
	}
	for _, p := range r.Params {
		if f := fields[p.Name]; f != nil && !p.Positional {
			*f = p.Value
		}
	}
	r.Status = strings.ToLower(r.Status)
}

// check returns what makes the request invalid.
func (r *Request) check() []Problem {
	var out []Problem
	add := func(line int, code, format string, args ...any) {
		out = append(out, Problem{Line: line, Code: code, Text: fmt.Sprintf(format, args...)})
	}
	at := fmt.Sprintf("The request on line %d", r.Line)
	if r.Unclosed {
		add(r.Line, ProblemUnclosed, "%s is not closed: end it with }}. "+
			"(An unclosed [[, -{ or <!-- inside it also hides the }}.)", at)
	}
	r.checkParams(at, add)
	r.checkContent(at, add)
	sort.SliceStable(out, func(a, b int) bool { return out[a].Line < out[b].Line })
	return out
}

type addFunc func(line int, code, format string, args ...any)

// checkParams reports unknown, positional and duplicate parameters.
func (r *Request) checkParams(at string, add addFunc) {
	seen := map[string]int{}
	for _, p := range r.Params {
		switch {
		case p.Positional:
			add(p.Line, ProblemPositional, "%s has text without a parameter name on line %d "+
				"(%q): write each parameter as | name = value, and a | inside a value as {{!}}.",
				at, p.Line, excerpt(p.Value))
		case !knownParams[p.Name]:
			add(p.Line, ProblemUnknownParam, "%s has an unknown parameter %q on line %d%s",
				at, p.Name, p.Line, unknownHint(p.Name))
		case seen[p.Name] > 0:
			add(p.Line, ProblemDuplicate, "%s gives %s twice (lines %d and %d): keep one; "+
				"only the last one counts.", at, p.Name, seen[p.Name], p.Line)
		}
		if !p.Positional {
			seen[p.Name] = p.Line
		}
	}
}

// unknownHint ends the sentence about an unknown parameter.
func unknownHint(name string) string {
	if knownParams[strings.ToLower(name)] {
		return fmt.Sprintf(": parameter names are lowercase, write %s.", strings.ToLower(name))
	}
	return ": remove it or fix its name (the parameters are list, subject, message, page, " +
		"status, id, progress, result and note)."
}

// checkContent reports missing or malformed values.
func (r *Request) checkContent(at string, add addFunc) {
	line := r.lineOf
	if r.List == "" {
		add(line("list"), ProblemNoList,
			"%s has no list: add | list = Project:Message delivery/Lists/Name.", at)
	}
	switch {
	case r.Subject == "":
		add(line("subject"), ProblemNoSubject, "%s has no subject: add | subject = the "+
			"section title each recipient will see.", at)
	case strings.ContainsAny(r.Subject, "\r\n"):
		add(line("subject"), ProblemSubjectLines,
			"The subject of the request on line %d spans several lines: write it on one line.",
			r.Line)
	case len(r.Subject) > MaxSubject:
		add(line("subject"), ProblemLongSubject, "The subject of the request on line %d is "+
			"%d bytes long: shorten it to at most %d.", r.Line, len(r.Subject), MaxSubject)
	}
	switch {
	case r.Message != "" && r.Page != "":
		add(line("page"), ProblemBothMessages, "%s has both a message and a page: keep one "+
			"of them.", at)
	case r.Message == "" && r.Page == "":
		add(r.Line, ProblemNoMessage, "%s has no message: add | message = the text to "+
			"deliver, or | page = the page that holds it.", at)
	}
	r.checkOwned(at, add)
}

// checkOwned reports a status or id Courier would not have written.
func (r *Request) checkOwned(at string, add addFunc) {
	if !knownState(r.Status) {
		add(r.lineOf("status"), ProblemBadStatus, "%s has status %q, which Courier does "+
			"not know: an approver writes approved, a requester cancel.", at, r.Status)
	}
	if r.ID != "" && strings.Trim(r.ID, "0123456789") != "" {
		add(r.lineOf("id"), ProblemBadID, "%s has id %q, which is not a revision number: "+
			"leave id to Courier.", at, r.ID)
	}
}

// knownState reports whether status is one of States, in any case.
func knownState(status string) bool {
	for _, s := range States {
		if strings.EqualFold(s, status) {
			return true
		}
	}
	return false
}

// lineOf returns the line of the last parameter called name, or the
// request's line when it has none.
func (r *Request) lineOf(name string) int {
	for i := len(r.Params) - 1; i >= 0; i-- {
		if p := r.Params[i]; !p.Positional && p.Name == name {
			return p.Line
		}
	}
	return r.Line
}

// excerpt shortens s for a problem's sentence.
func excerpt(s string) string {
	s = strings.Join(strings.Fields(s[:min(len(s), 200)]), " ")
	if len(s) <= 40 {
		return s
	}
	cut := 40
	for cut > 0 && s[cut]&0xc0 == 0x80 {
		cut--
	}
	return s[:cut] + "..."
}
