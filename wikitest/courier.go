package wikitest

import (
	"fmt"
	"strings"
)

// CourierConfig says what a Courier config for an Env holds beyond the
// Env itself.
type CourierConfig struct {
	State          string // the state file
	Login          string // the bot's login, NAME@appid
	UserAgent      string
	EditsPerMinute int
	// Home holds more lines of the [home] table, after its wiki key,
	// which names the Env's first wiki.
	Home string
}

// CourierConfig returns the text of a Courier config file that follows
// the Env's stream and serves every wiki of the Env, the first as home.
func (e *Env) CourierConfig(c CourierConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "state = %q\n[account]\nusername = %q\nuser_agent = %q\n",
		c.State, c.Login, c.UserAgent)
	fmt.Fprintf(&b, "[home]\nwiki = %q\n%s", e.Wikis[0].ID, c.Home)
	fmt.Fprintf(&b, "[stream]\nurl = %q\n[delivery]\nedits_per_minute = %d\n",
		e.Stream.URL, c.EditsPerMinute)
	for _, w := range e.Wikis {
		fmt.Fprintf(&b, "[[wikis]]\nid = %q\ndomain = %q\napi = %q\n", w.ID, w.Domain, w.API)
	}
	return b.String()
}
