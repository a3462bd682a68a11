package parser

import "strings"

// extensionTags are the tags whose content the preprocessor hands to their
// extension untouched: core's and those of Wikimedia's wikis. A "|" or
// "}}" inside them belongs to no template, and Courier looks for no
// request or target inside them (<ref> and <poem> do expand templates when
// they render, but a request or target inside a footnote or poem is not
// one an editor meant).
var extensionTags = map[string]bool{
	"nowiki": true, "pre": true, "gallery": true, "indicator": true,
	"langconvert": true, "ref": true, "references": true,
	"syntaxhighlight": true, "source": true, "math": true, "chem": true,
	"ce": true, "templatedata": true, "templatestyles": true, "poem": true,
	"score": true, "graph": true, "timeline": true, "hiero": true,
	"categorytree": true, "charinsert": true, "inputbox": true,
	"imagemap": true, "mapframe": true, "maplink": true, "section": true,
	"languages": true,
	// A page view hides <includeonly>...</includeonly>, content and all.
	"includeonly": true,
}

// ignoredTags are tags a page view drops while keeping what they enclose.
var ignoredTags = map[string]bool{
	"noinclude": true, "/noinclude": true, "onlyinclude": true, "/onlyinclude": true,
}

// angle handles a "<" at i: a comment, a tag the preprocessor knows, or text.
func (s *scanner) angle() {
	t, i := s.text, s.i
	if strings.HasPrefix(t[i+1:], "!--") {
		s.comment()
		return
	}
	name, ok := s.tagName(i + 1)
	if !ok || s.noMoreGT {
		s.i++
		return
	}
	gt := strings.IndexByte(t[i+1+len(name):], '>')
	if gt < 0 {
		s.noMoreGT = true
		s.i++
		return
	}
	gt += i + 1 + len(name)
	if ignoredTags[name] {
		s.addLeaf(kindIgnore, i, gt+1)
		s.i = gt + 1
		return
	}
	s.element(name, gt)
}

// tagName returns the lowercased name of the tag that starts at i (after
// its "<"), if it is one the preprocessor knows and a space, "/>" or ">"
// follows it.
func (s *scanner) tagName(i int) (string, bool) {
	t := s.text
	j := i
	if j < len(t) && t[j] == '/' {
		j++
	}
	for j < len(t) && isLetter(t[j]) {
		j++
	}
	if j == i || j >= len(t) {
		return "", false
	}
	if c := t[j]; !isPCRESpace(c) && c != '>' && !(c == '/' && j+1 < len(t) && t[j+1] == '>') {
		return "", false
	}
	name := strings.ToLower(t[i:j])
	return name, extensionTags[name] || ignoredTags[name]
}

func isLetter(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// element handles an extension tag (or <includeonly>) whose opening tag
// ends at gt: it runs to its closing tag, or, without one, is text, except
// <includeonly>, which then runs to the end of the page.
func (s *scanner) element(name string, gt int) {
	t, start := s.text, s.i
	end := gt + 1
	if t[gt-1] != '/' {
		e := -1
		if !s.noClose[name] {
			e = closingTag(t, gt+1, name)
		}
		switch {
		case e >= 0:
			end = e
		case t[start+1:start+1+len(name)] == "includeonly":
			end = len(t) // MediaWiki compares the name as written here

		default:
			if s.noClose == nil {
				s.noClose = map[string]bool{}
			}
			s.noClose[name] = true
			s.i = gt + 1
			return
		}
	}
	k := kindTag
	if name == "includeonly" {
		k = kindIgnore
	}
	s.addLeaf(k, start, end)
	s.i = end
}

// closingTag returns the offset just past the first "</name>" (any case,
// spaces allowed before the ">") at or after from, or -1.
func closingTag(t string, from int, name string) int {
	for k := from; ; {
		j := strings.Index(t[k:], "</")
		if j < 0 {
			return -1
		}
		j += k + 2
		if hasPrefixFold(t[j:], name) {
			e := j + len(name)
			for e < len(t) && isPCRESpace(t[e]) {
				e++
			}
			if e < len(t) && t[e] == '>' {
				return e + 1
			}
		}
		k = j
	}
}

// comment handles "<!--" at i. A comment alone on its line (with spaces
// around it, and perhaps more comments) takes its line and the newline
// after it out of the page view, and a heading may start right after it.
func (s *scanner) comment() {
	t, i := s.text, s.i
	endPos := strings.Index(t[i+4:], "-->")
	if endPos < 0 {
		s.addLeaf(kindComment, i, len(t))
		s.i = len(t)
		return
	}
	endPos += i + 4
	wsStart := i - s.spacesBack(i)
	wsEnd := endPos + 2 + s.spacesFwd(endPos+3) // the last space, or the '>'
	comments := []span{{wsStart, wsEnd}}
	for strings.HasPrefix(t[wsEnd+1:], "<!--") {
		c := strings.Index(t[wsEnd+4:], "-->")
		if c < 0 {
			break
		}
		c += wsEnd + 4
		c += 2 + s.spacesFwd(c+3)
		comments = append(comments, span{wsEnd + 1, c})
		wsEnd = c
	}
	start, last := i, endPos+2
	if wsStart > 0 && t[wsStart-1] == '\n' && wsEnd+1 < len(t) && t[wsEnd+1] == '\n' {
		for _, c := range comments[:len(comments)-1] {
			s.addLeaf(kindComment, c.start, c.end+1)
		}
		start, last = comments[len(comments)-1].start, wsEnd+1
		s.lineStart = true
	}
	if p := s.top(); p != nil {
		if p.commentEnd < 0 || p.commentEnd != wsStart-1 {
			p.visualEnd = wsStart
		}
		p.commentEnd = last
	}
	s.addLeaf(kindComment, start, last+1)
	s.i = last + 1
}
