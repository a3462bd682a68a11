package parser

import "strings"

// kind is what a node of a preprocessed page is.
type kind uint8

const (
	kindTemplate kind = iota + 1 // {{name|...}}, parser functions such as {{#target:...}} too
	kindArg                      // {{{name|default}}}
	kindComment                  // <!-- ... -->; an unclosed one runs to the end of the page
	kindTag                      // an extension tag and its content, such as <nowiki>...</nowiki>
	kindIgnore                   // <includeonly>...</includeonly>, or a <noinclude> tag
	kindHeading                  // == text ==, at the start of a line
)

// node is one element the preprocessor found. Nodes are kept in the order
// they were completed, so the descendants of a node are the nodes just
// before it that start at or after its start.
type node struct {
	kind       kind
	level      int // heading level, 1 to 6
	start, end int // the element's bytes
	// a and b depend on the kind: for templates and arguments, the range of
	// their parts in doc.parts; for headings, the text between the equals
	// signs.
	a, b int
}

// part is one "|"-separated part of a template or argument; the first is
// its name.
type part struct {
	start, end int // the part's bytes, after the "|" or the opening braces
	eq         int // offset of the "=" that names the part, or -1
}

// span is a range of bytes.
type span struct{ start, end int }

// doc is a preprocessed page.
type doc struct {
	text     string
	nodes    []node
	parts    []part
	cuts     []span // bytes a page view drops: comments and ignored elements, in order
	opaque   []span // comments, tags and ignored elements, in order: no wikitext inside
	unclosed []node // brace runs opened and never closed, with their parts in parts
}

// piece is an element the scanner has opened and not yet closed.
type piece struct {
	open       byte // '{', '[', '-' for -{, '\n' for a heading
	start      int  // offset of the first opening character
	count      int  // opening characters still unmatched
	minus      bool // a "-" stood just before the braces, as in -{{
	parts      int  // index of the piece's first part in scanner.pstack
	commentEnd int  // last byte of the last comment in the current part, or -1
	visualEnd  int  // where the current part's text ended before that comment
}

// scanner turns wikitext into a doc, the way MediaWiki's preprocessor
// builds its tree for a page view.
type scanner struct {
	d         doc
	text      string
	i         int
	stack     []piece
	pstack    []part
	lineStart bool            // process a line start at i without a newline before it
	noMoreGT  bool            // no ">" after some "<name": no tag can open any more
	noClose   map[string]bool // tags with no closing tag after some point
}

// special marks the bytes the scanner may stop at; which of them matter
// depends on the open element.
var special = func() (t [256]bool) {
	for _, c := range []byte("[{<\n-}]|=") {
		t[c] = true
	}
	return t
}()

// parse preprocesses text.
func parse(text string) *doc {
	s := &scanner{text: text, lineStart: true}
	s.d.text = text
	if n := strings.Count(text, "{{"); n > 64 {
		s.d.nodes = make([]node, 0, n+n/8) // one for each call, and some comments
		s.d.parts = make([]part, 0, 2*n)
	}
	s.run()
	return &s.d
}

func (s *scanner) top() *piece {
	if len(s.stack) == 0 {
		return nil
	}
	return &s.stack[len(s.stack)-1]
}

// flags reports whether a "|" separates parts and whether a "=" names the
// current part, as they do in a template's or argument's parts.
func (s *scanner) flags() (pipe, equals bool) {
	p := s.top()
	if p == nil || p.open == '\n' || p.open == '[' {
		return false, false
	}
	n := len(s.pstack) - p.parts
	return true, n > 1 && s.pstack[len(s.pstack)-1].eq < 0
}

func (s *scanner) run() {
	for {
		if s.lineStart {
			s.lineStart = false
			s.lineBegin()
			continue
		}
		s.skipLiteral()
		if s.i >= len(s.text) {
			if p := s.top(); p != nil && p.open == '\n' {
				s.lineEnd()
				continue
			}
			break
		}
		s.step()
	}
	s.finish()
}

// skipLiteral moves i to the next byte that may start or end something.
func (s *scanner) skipLiteral() {
	t := s.text
	for s.i < len(t) && !special[t[s.i]] {
		s.i++
	}
}

// step handles the special byte at i.
func (s *scanner) step() {
	t, i := s.text, s.i
	c := t[i]
	pipe, equals := s.flags()
	p := s.top()
	switch {
	case c == '|' && pipe:
		s.addPart()
	case c == '=' && equals:
		s.pstack[len(s.pstack)-1].eq = i
		s.i++
	case c == '<':
		s.angle()
	case c == '\n' && p != nil && p.open == '\n':
		s.lineEnd()
	case c == '\n':
		s.i++
		s.lineBegin()
	case p != nil && p.open == '{' && c == '}':
		s.closeBraces()
	case p != nil && p.open == '[' && c == ']':
		s.closeBrackets()
	case p != nil && p.open == '-' && c == '}' && i+1 < len(t) && t[i+1] == '-':
		s.pop()
		s.i += 2
	case c == '-' && i+1 < len(t) && t[i+1] == '{':
		s.openMinus()
	case c == '{' || c == '[':
		s.open(c)
	default:
		s.i++
	}
}

// run1 counts the bytes c from i, at most max.
func (s *scanner) run1(c byte, i, max int) int {
	n := 0
	for i+n < len(s.text) && s.text[i+n] == c && n < max {
		n++
	}
	return n
}

func (s *scanner) push(open byte, start, count int) {
	s.stack = append(s.stack, piece{
		open: open, start: start, count: count,
		parts: len(s.pstack), commentEnd: -1,
	})
	s.pstack = append(s.pstack, part{start: start + count, eq: -1})
}

func (s *scanner) pop() {
	p := s.top()
	s.pstack = s.pstack[:p.parts]
	s.stack = s.stack[:len(s.stack)-1]
}

func (s *scanner) addPart() {
	s.pstack[len(s.pstack)-1].end = s.i
	s.pstack = append(s.pstack, part{start: s.i + 1, eq: -1})
	s.top().commentEnd = -1
	s.i++
}

// open handles a run of "{" or "[": two or more open an element.
func (s *scanner) open(c byte) {
	n := s.run1(c, s.i, len(s.text))
	if n >= 2 {
		s.push(c, s.i, n)
	}
	s.i += n
}

// openMinus handles "-{": a language conversion block, unless more braces
// follow, in which case the braces win and the "-" is remembered.
func (s *scanner) openMinus() {
	n := s.run1('{', s.i+1, len(s.text))
	if n == 1 {
		s.push('-', s.i, 2)
		s.i += 2
		return
	}
	s.i++
	s.push('{', s.i, n)
	s.top().minus = true
	s.i += n
}

// closeBraces handles a run of "}" that may close the open braces: two
// make a template, three an argument, and braces left over stay open.
func (s *scanner) closeBraces() {
	p := *s.top()
	n := s.run1('}', s.i, min(p.count, 3)) // more would match no more, and cost time
	m := n
	if m < 2 {
		s.i += n
		return
	}
	k := kindTemplate
	if m == 3 {
		k = kindArg
	}
	s.pstack[len(s.pstack)-1].end = s.i
	first := len(s.d.parts)
	s.d.parts = append(s.d.parts, s.pstack[p.parts:]...)
	s.d.nodes = append(s.d.nodes, node{
		kind: k, start: p.start + p.count - m, end: s.i + m,
		a: first, b: len(s.d.parts),
	})
	s.pop()
	s.i += m
	s.reopen(p, p.count-m)
}

// reopen puts back what is left of piece p after a match took some of its
// opening braces.
func (s *scanner) reopen(p piece, left int) {
	switch {
	case left >= 2:
		s.push(p.open, p.start, left)
		s.top().minus = p.minus
	case left == 1 && p.minus:
		s.push('-', p.start-1, 2)
	}
}

// closeBrackets handles a run of "]" while "[[" is open: two close it,
// and it leaves no element, only text in which a "|" was not a separator.
func (s *scanner) closeBrackets() {
	p := *s.top()
	n := s.run1(']', s.i, min(p.count, 2))
	if n < 2 {
		s.i += n
		return
	}
	s.pop()
	s.i += 2
	if p.count-2 >= 2 {
		s.push('[', p.start, p.count-2)
	}
}

// lineBegin looks for a heading at the start of a line, at i.
func (s *scanner) lineBegin() {
	n := s.run1('=', s.i, 6)
	if n == 0 {
		return
	}
	if _, equals := s.flags(); n == 1 && equals {
		return // "=" names the part: MediaWiki lets it, not the heading, have it
	}
	s.push('\n', s.i, n)
	s.i += n
}

// lineEnd closes the open heading at the end of its line, at i, making it
// a heading if its line ends with equals signs.
func (s *scanner) lineEnd() {
	p := *s.top()
	end := s.i - s.spacesBack(s.i)
	if p.commentEnd >= 0 && end-1 == p.commentEnd {
		end = p.visualEnd - s.spacesBack(p.visualEnd)
	}
	eqs := 0
	for end-eqs > 0 && s.text[end-eqs-1] == '=' {
		eqs++
	}
	level := min(eqs, p.count)
	if eqs > 0 && end-eqs == p.start {
		level = 0 // only equals signs on the line: "=====" is level 2
		if eqs >= 3 {
			level = min(6, (eqs-1)/2)
		}
	}
	s.pop()
	if level > 0 {
		s.d.nodes = append(s.d.nodes, node{
			kind: kindHeading, level: level, start: p.start, end: s.i,
			a: p.start + level, b: end - level,
		})
	}
}

// spacesBack counts the spaces and tabs just before i.
func (s *scanner) spacesBack(i int) int {
	n := 0
	for i-n > 0 && (s.text[i-n-1] == ' ' || s.text[i-n-1] == '\t') {
		n++
	}
	return n
}

// spacesFwd counts the spaces and tabs from i.
func (s *scanner) spacesFwd(i int) int {
	n := 0
	for i+n < len(s.text) && (s.text[i+n] == ' ' || s.text[i+n] == '\t') {
		n++
	}
	return n
}

// finish records the brace runs still open at the end of the page; their
// text stays text, and the elements inside them stay elements.
func (s *scanner) finish() {
	for k, p := range s.stack {
		if p.open != '{' {
			continue
		}
		to := len(s.pstack)
		if k+1 < len(s.stack) {
			to = s.stack[k+1].parts
		}
		s.pstack[to-1].end = len(s.text)
		first := len(s.d.parts)
		s.d.parts = append(s.d.parts, s.pstack[p.parts:to]...)
		s.d.unclosed = append(s.d.unclosed, node{
			kind: kindTemplate, start: p.start, end: len(s.text),
			a: first, b: len(s.d.parts),
		})
	}
}

// addLeaf records a comment, tag or ignored element.
func (s *scanner) addLeaf(k kind, start, end int) {
	s.d.nodes = append(s.d.nodes, node{kind: k, start: start, end: end})
	s.d.opaque = append(s.d.opaque, span{start, end})
	if k != kindTag {
		s.d.cuts = append(s.d.cuts, span{start, end})
	}
}

// hasPrefixFold reports whether s starts with the ASCII word w, in any case.
func hasPrefixFold(s, w string) bool {
	if len(s) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if lowerASCII(s[i]) != lowerASCII(w[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isPCRESpace reports whether c is in PCRE's \s.
func isPCRESpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

// containsOffset reports whether the sorted spans hold offset i.
func containsOffset(spans []span, i int) bool {
	k := firstEndingAfter(spans, i)
	return k < len(spans) && spans[k].start <= i
}

// strip returns the text of [start, end) as a page view sees it: without
// comments and ignored elements.
func (d *doc) strip(start, end int) string {
	k := firstEndingAfter(d.cuts, start)
	if k == len(d.cuts) || d.cuts[k].start >= end {
		return d.text[start:end]
	}
	var b strings.Builder
	pos := start
	for ; k < len(d.cuts) && d.cuts[k].start < end; k++ {
		c := d.cuts[k]
		if c.start > pos {
			b.WriteString(d.text[pos:c.start])
		}
		pos = max(pos, c.end)
	}
	if pos < end {
		b.WriteString(d.text[pos:end])
	}
	return b.String()
}

// firstEndingAfter returns the index of the first sorted span that ends
// after i.
func firstEndingAfter(spans []span, i int) int {
	lo, hi := 0, len(spans)
	for lo < hi {
		m := (lo + hi) / 2
		if spans[m].end <= i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
