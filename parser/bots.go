package parser

import "strings"

// Verdict is what a page's {{bots}} and {{nobots}} calls say about one bot.
type Verdict struct {
	Allowed bool   // reports whether the bot may leave the message
	Rule    string // what denied it: "nobots", "deny=all", "allow=none", "optout=all" ...
	Source  string // the template call that denied it
	Line    int    // the line of that call; 0 when allowed
}

// botRules are the parameters of one {{bots}} or {{nobots}} call, each as
// written and as a folded list.
type botRules struct {
	nobots                       bool
	allow, deny, optout          []string
	hasAllow, hasDeny            bool
	rawAllow, rawDeny, rawOptout string
}

// BotsAllowed reports whether bot (its user name, without "User:") may
// leave a message of type msgType ("" for none in particular) on a page
// whose text is text, following the {{bots}}/{{nobots}} convention:
//   - {{nobots}} denies every bot, {{bots}} alone allows all;
//   - deny= lists bots that may not edit (all, none, or names);
//   - allow= lists the only bots that may (all, none, or names);
//   - optout= lists message types refused (all, or names).
//
// A bot named in allow= is allowed even where deny=all or {{nobots}} says
// otherwise, then optout= applies. Names and types match in any case and
// spacing, lists are comma-separated, and template names match in any
// case. Calls inside comments and <nowiki> do not count; when the page has
// several calls, any one that denies, denies.
func BotsAllowed(text, bot, msgType string) Verdict {
	d := parse(text)
	var lines *lineCounter
	for _, n := range d.nodes {
		if n.kind != kindTemplate {
			continue
		}
		rules, ok := d.botRules(n)
		if !ok {
			continue
		}
		if rule := rules.denial(foldBot(bot), foldBot(msgType)); rule != "" {
			if lines == nil {
				lines = newLineCounter(text)
			}
			return Verdict{Rule: rule, Source: text[n.start:n.end], Line: lines.at(n.start)}
		}
	}
	return Verdict{Allowed: true}
}

// botRules reads template node n if it is {{bots}} or {{nobots}}.
func (d *doc) botRules(n node) (botRules, bool) {
	p := d.parts[n.a]
	name := strings.ToLower(templateName(d.strip(p.start, p.end)))
	if name != "template:bots" && name != "template:nobots" {
		return botRules{}, false
	}
	r := botRules{nobots: name == "template:nobots"}
	for _, p := range d.parts[n.a+1 : n.b] {
		if p.eq < 0 {
			continue
		}
		key := strings.ToLower(trimPHP(d.strip(p.start, p.eq)))
		raw := trimPHP(d.strip(p.eq+1, p.end))
		switch key {
		case "allow":
			r.hasAllow, r.rawAllow, r.allow = true, raw, botList(raw)
		case "deny":
			r.hasDeny, r.rawDeny, r.deny = true, raw, botList(raw)
		case "optout":
			r.rawOptout, r.optout = raw, botList(raw)
		}
	}
	return r, true
}

// denial returns the rule that denies bot a message of type msgType, or "".
func (r botRules) denial(bot, msgType string) string {
	if r.hasAllow && has(r.allow, bot) {
		return r.optedOut(msgType)
	}
	switch {
	case r.hasDeny && (has(r.deny, bot) || has(r.deny, "all")):
		return "deny=" + r.rawDeny
	case r.hasAllow && has(r.allow, "all"):
	case r.hasAllow:
		return "allow=" + r.rawAllow
	case r.hasDeny && has(r.deny, "none"):
	case r.nobots:
		return "nobots"
	}
	return r.optedOut(msgType)
}

// optedOut returns the optout rule that refuses messages of type msgType,
// or "".
func (r botRules) optedOut(msgType string) string {
	if has(r.optout, "all") || msgType != "" && has(r.optout, msgType) {
		return "optout=" + r.rawOptout
	}
	return ""
}

// botList splits a comma-separated list of bot names or message types.
func botList(raw string) []string {
	var out []string
	for _, s := range strings.Split(raw, ",") {
		if s = foldBot(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// foldBot folds a bot name or message type for matching: any case,
// underscores as spaces, and without a "User:" prefix.
func foldBot(s string) string {
	s = strings.ToLower(collapseSpaces(trimPHP(s)))
	if rest, ok := cutNamespace(s, "user"); ok {
		s = rest
	}
	return s
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
