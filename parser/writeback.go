package parser

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Owned are the parameters Courier writes into a request, in the order it
// adds them.
var Owned = []string{"status", "id", "progress", "result", "note"}

// The errors of WriteBack.
var (
	ErrNoRequest = errors.New("no such request on the page")
	ErrAmbiguous = errors.New("more than one request has that id")
	ErrUnclosed  = errors.New("the request is not closed")
	ErrNotOwned  = errors.New("not a parameter Courier owns")
	ErrUnsafe    = errors.New("the write-back would change more than Courier's parameters")
)

// Ref names one request on a page: by its id parameter when ID is set,
// otherwise by the offset of its "{{" (a request Courier has not yet given
// an id). When two requests carry one id (a copy and paste), Offset picks
// one of them; if it picks none, WriteBack refuses with ErrAmbiguous.
type Ref struct {
	ID     string
	Offset int
}

// RefOf returns the Ref that names r.
func RefOf(r Request) Ref {
	return Ref{ID: r.ID, Offset: r.Start}
}

// edit replaces text[start:end] with s.
type edit struct {
	start, end int
	s          string
}

// WriteBack sets the parameters Courier owns (see Owned) in the request ref
// names, to the values given, and returns the new page text. It replaces
// the value of a parameter the request has (the last one, if it has it
// twice) and adds the others in the template's own layout: on a line of
// their own when the template is laid out one parameter a line, inline
// otherwise. Values are escaped with EscapeValue. Every byte outside those
// parameters stays as it was; WriteBack checks this by parsing its result
// and returns ErrUnsafe rather than a page it cannot vouch for.
func WriteBack(text string, ref Ref, values map[string]string) (string, error) {
	for name := range values {
		if !isOwned(name) {
			return "", fmt.Errorf("write %q: %w", name, ErrNotOwned)
		}
	}
	reqs := ParseRequests(text)
	k, err := findRequest(reqs, ref)
	if err != nil {
		return "", err
	}
	r := reqs[k]
	esc := make(map[string]string, len(values))
	for name, v := range values {
		esc[name] = EscapeValue(v)
	}
	out := applyEdits(text, planEdits(text, &r, esc))
	if err := verifyWrite(reqs, k, ParseRequests(out), text, out, esc); err != nil {
		return "", fmt.Errorf("write back request on line %d: %w", r.Line, err)
	}
	return out, nil
}

func isOwned(name string) bool { return slices.Contains(Owned, name) }

// findRequest returns the index of the request ref names.
func findRequest(reqs []Request, ref Ref) (int, error) {
	var found []int
	for i, r := range reqs {
		if ref.ID != "" && r.ID == ref.ID || ref.ID == "" && r.Start == ref.Offset {
			found = append(found, i)
		}
	}
	if len(found) > 1 {
		found = slices.DeleteFunc(found, func(i int) bool { return reqs[i].Start != ref.Offset })
		if len(found) != 1 {
			return -1, fmt.Errorf("find request %q: %w", ref.ID, ErrAmbiguous)
		}
	}
	switch {
	case len(found) == 0 && ref.ID != "":
		return -1, fmt.Errorf("find request with id %q: %w", ref.ID, ErrNoRequest)
	case len(found) == 0:
		return -1, fmt.Errorf("find request at offset %d: %w", ref.Offset, ErrNoRequest)
	case reqs[found[0]].Unclosed:
		return -1, fmt.Errorf("find request on line %d: %w", reqs[found[0]].Line, ErrUnclosed)
	}
	return found[0], nil
}

// planEdits returns the edits that set the escaped values in r.
func planEdits(text string, r *Request, esc map[string]string) []edit {
	var edits []edit
	var added strings.Builder
	at, tail := appendPoint(text, r)
	st := layoutOf(text, r, strings.Contains(tail, "\n"))
	for _, name := range Owned {
		v, ok := esc[name]
		if !ok {
			continue
		}
		if p := r.lastParam(name); p != nil {
			edits = append(edits, replaceValue(text, p, v, st))
			continue
		}
		added.WriteString("|" + st.body(name, v) + tail)
	}
	if added.Len() > 0 {
		edits = append(edits, edit{at, at, added.String()})
	}
	return edits
}

// lastParam returns the last named parameter called name, or nil.
func (r *Request) lastParam(name string) *Param {
	for i := len(r.Params) - 1; i >= 0; i-- {
		if p := &r.Params[i]; !p.Positional && p.Name == name {
			return p
		}
	}
	return nil
}

// replaceValue returns the edit that gives parameter p the value v,
// keeping the spaces and comments around its old value. An empty value is
// written after the "=" and the space the template puts there.
func replaceValue(text string, p *Param, v string, st layout) edit {
	if p.valStart < p.valEnd || v == "" {
		return edit{p.valStart, p.valEnd, v}
	}
	i := p.eq + 1
	switch {
	case i < p.End && text[i] == ' ':
		i++
		if i == p.End {
			v += " " // keep the space before the next "|" or the "}}"
		}
	case v != "":
		v = st.post + v
	}
	return edit{i, i, v}
}

// appendPoint returns where new parameters go, and the spaces each is
// followed by. New parameters go just before a "|" or the closing "}}",
// where the template is sure to take them as its own parameters: before
// the "}}" when it stands on a line of its own or the template is written
// on one line, otherwise before the last parameter that starts a line.
func appendPoint(text string, r *Request) (int, string) {
	closing := r.End - 2
	ws := spacesBefore(text, closing, r.Start)
	if strings.Contains(ws, "\n") {
		return closing, lastLine(ws)
	}
	for i := len(r.Params) - 1; i >= 0; i-- {
		p := r.Params[i]
		if ws := spacesBefore(text, p.Start, r.Start); strings.Contains(ws, "\n") {
			return p.Start, lastLine(ws)
		}
	}
	return closing, ws
}

// spacesBefore returns the run of spaces, tabs and newlines just before i,
// not reaching back to from.
func spacesBefore(text string, i, from int) string {
	j := i
	for j > from && (text[j-1] == ' ' || text[j-1] == '\t' || text[j-1] == '\n') {
		j--
	}
	return text[j:i]
}

// lastLine returns the part of ws from its last newline on.
func lastLine(ws string) string {
	return ws[strings.LastIndexByte(ws, '\n'):]
}

// layout is how a template writes its named parameters.
type layout struct {
	pre   string // between "|" and the name
	width int    // name and padding, when names are padded to a column, else 0
	pad   bool   // a space between name and "="
	post  string // between "=" and the value
}

// layoutOf reads the layout of r's last named parameter with a value.
// Names are padded to a column only when the template pads them so and
// parameters go on lines of their own.
func layoutOf(text string, r *Request, multiline bool) layout {
	var named []*Param
	for i := range r.Params {
		if p := &r.Params[i]; !p.Positional && p.nameStart < p.nameEnd {
			named = append(named, p)
		}
	}
	if len(named) == 0 && !multiline {
		return layout{}
	}
	if len(named) == 0 {
		return layout{pre: " ", pad: true, post: " "}
	}
	p := named[len(named)-1]
	for i := len(named) - 1; i >= 0 && p.valStart == p.valEnd; i-- {
		p = named[i]
	}
	st := layout{
		pre:  onlySpaces(text[p.Start+1:p.nameStart], " "),
		post: onlySpaces(text[p.eq+1:p.eq+1+leadingSpaces(text[p.eq+1:p.End])], " "),
		pad:  p.nameEnd < p.eq && text[p.nameEnd] == ' ',
	}
	if multiline {
		st.width = alignedWidth(text, named)
	}
	return st
}

// alignedWidth returns the width names and padding take when the named
// parameters pad their names to one column, or 0.
func alignedWidth(text string, named []*Param) int {
	width, lengths := -1, map[int]bool{}
	for _, p := range named {
		w := p.eq - p.nameStart
		if strings.Trim(text[p.nameEnd:p.eq], " ") != "" || width >= 0 && w != width {
			return 0
		}
		width, lengths[p.nameEnd-p.nameStart] = w, true
	}
	if len(lengths) < 2 {
		return 0
	}
	return width
}

// onlySpaces returns s if it is only spaces and tabs, else instead.
func onlySpaces(s, instead string) string {
	if strings.Trim(s, " \t") != "" {
		return instead
	}
	return s
}

// leadingSpaces counts the spaces and tabs s starts with.
func leadingSpaces(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t"))
}

// body returns "name = value" in layout st.
func (st layout) body(name, v string) string {
	pad := ""
	if n := st.width - len(name); n > 0 && st.pad {
		pad = strings.Repeat(" ", n)
	} else if st.pad {
		pad = " "
	}
	if v == "" {
		return st.pre + name + pad + "="
	}
	return st.pre + name + pad + "=" + st.post + v
}

// applyEdits applies non-overlapping edits to text; edits at one offset
// apply in the order given.
func applyEdits(text string, edits []edit) string {
	sort.SliceStable(edits, func(a, b int) bool { return edits[a].start < edits[b].start })
	var b strings.Builder
	pos := 0
	for _, e := range edits {
		b.WriteString(text[pos:e.start])
		b.WriteString(e.s)
		pos = e.end
	}
	b.WriteString(text[pos:])
	return b.String()
}
