package deliver

import (
	"fmt"
	"strconv"
	"strings"
)

// markerPrefix returns the start of the hidden marker of request id, the
// part Recover looks for in a page's history. The space after the id
// keeps request 12 from matching request 1234.
func markerPrefix(id int64) string {
	return "<!-- Courier: request " + strconv.FormatInt(id, 10) + " from "
}

// marker returns the hidden comment that ends every message of a request:
// who asked, on which wiki, and the list at the revision delivered. It
// lets a reader trace a message and lets Recover find it after a crash.
// Titles and user names cannot hold ">", so nothing closes it early.
func marker(j *Job) string {
	var b strings.Builder
	b.WriteString(markerPrefix(j.ID))
	fmt.Fprintf(&b, "User:%s@%s, list [[%s]]", j.Requester, j.HomeWiki, j.List)
	if j.ListRev > 0 {
		fmt.Fprintf(&b, " (oldid %d)", j.ListRev)
	}
	b.WriteString(" -->")
	return b.String()
}

// messageText returns what one target receives: the message, then the
// marker on a line of its own at the end.
func messageText(j *Job) string {
	return strings.TrimRight(j.Message, " \t\n") + "\n" + marker(j)
}

// summary returns the edit summary of a delivery, naming the request so
// that a recipient can find it from the history.
func summary(j *Job) string {
	return fmt.Sprintf("Message delivery: request %d from %s (%s)",
		j.ID, j.Requester, truncate(j.Subject, 200))
}

// truncate shortens s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// utf8Start reports whether b begins a UTF-8 character.
func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
