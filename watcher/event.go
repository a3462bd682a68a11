package watcher

import (
	"bytes"
	"strconv"
	"time"
)

// rcEvent holds the fields of a recent-change event the watcher reads;
// encoding/json skips the rest. MediaWiki writes null for what it lacks
// (a log entry's revision, a new page's old revision), which leaves the
// zero value here; nothing below depends on a field being present.
type rcEvent struct {
	Meta struct {
		Domain string `json:"domain"`
	} `json:"meta"`
	Wiki      string `json:"wiki"`
	Type      string `json:"type"`
	Namespace int    `json:"namespace"`
	Title     string `json:"title"`
	User      string `json:"user"`
	Timestamp int64  `json:"timestamp"`
	Revision  struct {
		Old int64 `json:"old"`
		New int64 `json:"new"`
	} `json:"revision"`
}

// mayMatch is the prefilter every event passes before it is decoded: it
// reports whether data has a "wiki" member whose value is a watched wiki's
// id. It is conservative, never false for an event of a watched wiki: it
// allows white space around the colon, checks every "wiki" member (a log
// entry's parameters may hold another), and lets through a value with an
// escape, which it does not decode. The filter reads the wiki and not the
// title because wiki ids are plain database names, while a title may be
// written with escapes (\/ or \u00e9) that would need decoding to compare.
// A "wiki" inside a string value is written \"wiki\", so it is not found.
//
// It looks for the member name by its 'k', the rarest of its bytes in
// events (quotes are the commonest), so that the fast IndexByte does the
// scanning and few places need a closer look.
func (s *watchSet) mayMatch(data []byte) bool {
	if len(s.wikis) == 0 {
		return false
	}
	for i := 0; ; {
		j := bytes.IndexByte(data[i:], 'k')
		if j < 0 {
			return false
		}
		k := i + j // data[k-3:k+3] is `"wiki"` if this is the name
		i = k + 1
		if k < 3 || k+3 > len(data) || data[k+1] != 'i' || data[k+2] != '"' ||
			data[k-1] != 'i' || data[k-2] != 'w' || data[k-3] != '"' {
			continue
		}
		v, escaped, ok := memberString(data[k+3:])
		if !ok {
			continue
		}
		if escaped {
			return true
		}
		if _, ok := s.wikis[string(v)]; ok {
			return true
		}
	}
}

// keyTitle is the member name the second stage looks for.
var keyTitle = []byte(`"title"`)

// mayMatchTitle is the second stage, for the few events that passed
// mayMatch: it reports whether some "title" member is a watched page's, or
// cannot be ruled out without decoding (it holds an escape, or is not in
// MediaWiki's form). Like mayMatch it checks every such member, so it is
// conservative too; it spares the decoding of the other changes of the
// watched wikis, which on Meta are most of them.
func (s *watchSet) mayMatchTitle(data []byte) bool {
	for i := 0; ; {
		j := bytes.Index(data[i:], keyTitle)
		if j < 0 {
			return false
		}
		i += j + len(keyTitle)
		v, escaped, ok := memberString(data[i:])
		if !ok {
			continue
		}
		if escaped || s.titles[string(v)] || looksRawBytes(v) {
			return true
		}
	}
}

// memberString reads `: "value"` at the start of b, white space allowed
// around the colon. ok is false when b does not hold a member's string
// value; escaped is true when the value holds a backslash.
func memberString(b []byte) (v []byte, escaped, ok bool) {
	b = skipSpace(b)
	if len(b) == 0 || b[0] != ':' {
		return nil, false, false
	}
	b = skipSpace(b[1:])
	if len(b) == 0 || b[0] != '"' {
		return nil, false, false
	}
	b = b[1:]
	end := bytes.IndexByte(b, '"')
	if end < 0 {
		return nil, false, false
	}
	v = b[:end]
	return v, bytes.IndexByte(v, '\\') >= 0, true
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// eventTime returns the time of the event in data without decoding it:
// meta.dt (milliseconds, which EventStreams's since= counts in) when there
// is one, else MediaWiki's timestamp (seconds). It is read only when the
// position is saved, never for every event.
func eventTime(data []byte) (time.Time, bool) {
	if v, _, ok := findString(data, []byte(`"dt"`)); ok {
		if t, err := time.Parse(time.RFC3339Nano, string(v)); err == nil {
			return t, true
		}
	}
	i := bytes.Index(data, []byte(`"timestamp"`))
	if i < 0 {
		return time.Time{}, false
	}
	b := skipSpace(data[i+len(`"timestamp"`):])
	if len(b) == 0 || b[0] != ':' {
		return time.Time{}, false
	}
	b = skipSpace(b[1:])
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	sec, err := strconv.ParseInt(string(b[:n]), 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}

// findString returns the string value of the first member named by key
// (quotes included) that has one.
func findString(data, key []byte) (v []byte, escaped, ok bool) {
	for i := 0; ; {
		j := bytes.Index(data[i:], key)
		if j < 0 {
			return nil, false, false
		}
		i += j + len(key)
		if v, escaped, ok := memberString(data[i:]); ok {
			return v, escaped, true
		}
	}
}
