// Package config reads Courier's TOML configuration: defaults first, the
// file decoded over them, then a validation that names the key and the
// line of every mistake, so an operator never has to guess what is wrong.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Config is the whole configuration of one Courier process.
type Config struct {
	// State is the SQLite file that holds the stream position, the requests
	// and every per-target outcome.
	State string `toml:"state"`

	Account  Account  `toml:"account"`
	Home     Home     `toml:"home"`
	Stream   Stream   `toml:"stream"`
	Delivery Delivery `toml:"delivery"`
	HTTP     HTTP     `toml:"http"`
	Matrix   Matrix   `toml:"sitematrix"`
	Wikis    []Wiki   `toml:"wikis"`

	// path is the file the configuration was read from, for messages.
	path string
}

// Account is the bot account Courier logs in with on every wiki.
type Account struct {
	// Username is the account name, or a bot password's "Name@appid".
	Username string `toml:"username"`

	// PasswordEnv names the environment variable that holds the password.
	PasswordEnv string `toml:"password_env"`

	// Password is read from the file only when the operator writes it
	// there; PasswordEnv is the default way.
	Password string `toml:"password"`

	// UserAgent is sent with every request; Wikimedia asks for a contact.
	UserAgent string `toml:"user_agent"`
}

// Home names the wiki and the pages where requests are filed, senders
// listed, deliveries logged and the bot stopped.
type Home struct {
	Wiki           string   `toml:"wiki"`
	Requests       string   `toml:"requests"`
	Senders        string   `toml:"senders"`
	Log            string   `toml:"log"`
	Shutoff        string   `toml:"shutoff"`
	ApproverGroups []string `toml:"approver_groups"`
	SenderGroups   []string `toml:"sender_groups"`

	// SelfApproval reports whether an approver may approve a request of
	// their own.
	SelfApproval bool `toml:"self_approval"`

	// LogMaxBytes is the size past which the log continues on a new
	// monthly subpage.
	LogMaxBytes int `toml:"log_max_bytes"`
}

// Stream says where recent changes come from.
type Stream struct {
	// URL is the EventStreams recent-change URL; "" polls instead.
	URL string `toml:"url"`

	// PollInterval is how often list=recentchanges is read when polling.
	PollInterval time.Duration `toml:"poll_interval"`
}

// Delivery governs how messages are sent.
type Delivery struct {
	EditsPerMinute int    `toml:"edits_per_minute"`
	Maxlag         int    `toml:"maxlag"`
	OptoutCategory string `toml:"optout_category"`
	MaxTargets     int    `toml:"max_targets"`

	// BotName is the name {{bots|deny=...}} rules are read for; it
	// defaults to the account name without its "@appid".
	BotName string `toml:"bot_name"`
}

// HTTP is the optional metrics and health listener.
type HTTP struct {
	// Listen is an address such as "127.0.0.1:9090"; "" serves nothing.
	Listen string `toml:"listen"`
}

// Matrix takes the wikis of a farm from the home wiki's site matrix (the
// SiteMatrix extension, as on Wikimedia's wikis) instead of listing each
// in [[wikis]].
type Matrix struct {
	// Enabled reports whether the site matrix adds to [[wikis]].
	Enabled bool `toml:"enabled"`

	// APIPath is the path of api.php on every wiki of the farm.
	APIPath string `toml:"api_path"`

	// MaxAge is how long the copy kept in the state file is used before
	// the matrix is read again.
	MaxAge time.Duration `toml:"max_age"`
}

// Wiki is one wiki Courier may read or deliver to.
type Wiki struct {
	// ID is the database name, the "wiki" field of a recent-change event.
	ID string `toml:"id"`

	// Domain is the host name as #target lists and JSON lists write it.
	Domain string `toml:"domain"`

	// API is the URL of the wiki's api.php.
	API string `toml:"api"`

	// EditsPerMinute overrides delivery.edits_per_minute on this wiki.
	EditsPerMinute int `toml:"edits_per_minute"`
}

// Default returns the configuration used for every key the file leaves out.
func Default() Config {
	return Config{
		State: "courier.db",
		Account: Account{
			PasswordEnv: "COURIER_PASSWORD",
		},
		Home: Home{
			Requests:       "Project:Message delivery/Requests",
			Senders:        "Project:Message delivery/Senders",
			Log:            "Project:Message delivery/Log",
			ApproverGroups: []string{"sysop"},
			SenderGroups:   []string{"massmessage-sender"},
			LogMaxBytes:    200_000,
		},
		Stream: Stream{
			URL:          "https://stream.wikimedia.org/v2/stream/recentchange",
			PollInterval: 30 * time.Second,
		},
		Matrix: Matrix{APIPath: "/w/api.php", MaxAge: 24 * time.Hour},
		Delivery: Delivery{
			EditsPerMinute: 12,
			Maxlag:         5,
			OptoutCategory: "Opted-out of message delivery",
			MaxTargets:     5000,
		},
	}
}

// Load reads the configuration file at path over the defaults and
// validates it.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, string(data))
}

// Parse decodes TOML text over the defaults and validates it; path is used
// only in messages.
func Parse(path, text string) (*Config, error) {
	cfg := Default()
	cfg.path = path

	// The file's lists replace the defaults instead of extending them.
	cfg.Home.ApproverGroups, cfg.Home.SenderGroups = nil, nil
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		return nil, decodeError(path, err)
	}
	if !md.IsDefined("home", "approver_groups") {
		cfg.Home.ApproverGroups = Default().Home.ApproverGroups
	}
	if !md.IsDefined("home", "sender_groups") {
		cfg.Home.SenderGroups = Default().Home.SenderGroups
	}

	lines := newLineIndex(text)
	var problems []string
	for _, key := range md.Undecoded() {
		problems = append(problems, fmt.Sprintf("%s:%d: unknown key %q",
			path, lines.key(key), key.String()))
	}
	problems = append(problems, cfg.validate(md, lines)...)
	if len(problems) > 0 {
		return nil, &Error{Path: path, Problems: problems}
	}
	cfg.applyDerived()
	return &cfg, nil
}

// Error lists every problem of a configuration file, one a line.
type Error struct {
	Path     string
	Problems []string
}

func (e *Error) Error() string {
	return "config " + e.Path + ":\n  " + strings.Join(e.Problems, "\n  ")
}

// decodeError turns a TOML syntax or type error into one that names the
// file, the line and the key.
func decodeError(path string, err error) error {
	var perr toml.ParseError
	if errors.As(err, &perr) {
		msg := perr.Message
		if perr.LastKey != "" {
			msg = fmt.Sprintf("key %q: %s", perr.LastKey, msg)
		}
		return &Error{Path: path, Problems: []string{
			fmt.Sprintf("%s:%d: %s", path, perr.Position.Line, msg)}}
	}
	// Type mismatches come as "toml: line N (last key K): message".
	msg := strings.TrimPrefix(err.Error(), "toml: ")
	if m := typeErrRE.FindStringSubmatch(msg); m != nil {
		msg = fmt.Sprintf("%s: key %s: %s", m[1], m[2], m[3])
		return &Error{Path: path, Problems: []string{path + ":" + msg}}
	}
	return &Error{Path: path, Problems: []string{path + ": " + msg}}
}

var typeErrRE = regexp.MustCompile(`^line (\d+) \(last key ("[^"]*")\): (.*)$`)

// applyDerived fills the values that follow from others.
func (c *Config) applyDerived() {
	if c.Delivery.BotName == "" {
		name, _, _ := strings.Cut(c.Account.Username, "@")
		c.Delivery.BotName = name
	}
	if c.Home.Shutoff == "" {
		name, _, _ := strings.Cut(c.Account.Username, "@")
		c.Home.Shutoff = "User:" + name + "/Shutoff"
	}
	for i := range c.Wikis {
		if c.Wikis[i].EditsPerMinute == 0 {
			c.Wikis[i].EditsPerMinute = c.Delivery.EditsPerMinute
		}
	}
}

// Path returns the file the configuration was read from.
func (c *Config) Path() string { return c.path }

// Wiki returns the wiki with the given id.
func (c *Config) Wiki(id string) (Wiki, bool) {
	for _, w := range c.Wikis {
		if w.ID == id {
			return w, true
		}
	}
	return Wiki{}, false
}

// WikiByDomain returns the wiki with the given domain, as lists write it.
func (c *Config) WikiByDomain(domain string) (Wiki, bool) {
	for _, w := range c.Wikis {
		if strings.EqualFold(w.Domain, domain) {
			return w, true
		}
	}
	return Wiki{}, false
}

// HomeWiki returns the wiki where requests live.
func (c *Config) HomeWiki() Wiki {
	w, _ := c.Wiki(c.Home.Wiki)
	return w
}

// ResolvePassword returns the account's password: the file's own
// `password` when the operator wrote one, else the variable named by
// `password_env`.
func (c *Config) ResolvePassword() (string, error) {
	if c.Account.Password != "" {
		return c.Account.Password, nil
	}
	pw := os.Getenv(c.Account.PasswordEnv)
	if pw == "" {
		return "", fmt.Errorf("account.password_env: the variable %s is empty or unset",
			c.Account.PasswordEnv)
	}
	return pw, nil
}

// validate checks every value and returns one message a problem.
func (c *Config) validate(md toml.MetaData, lines lineIndex) []string {
	v := validator{path: c.path, md: md, lines: lines}

	v.required(c.State, "state")
	v.required(c.Account.Username, "account", "username")
	v.required(c.Account.UserAgent, "account", "user_agent")
	if c.Account.Password == "" {
		v.required(c.Account.PasswordEnv, "account", "password_env")
	}
	v.required(c.Home.Wiki, "home", "wiki")
	v.required(c.Home.Requests, "home", "requests")
	v.required(c.Home.Log, "home", "log")
	v.nonEmptyList(c.Home.ApproverGroups, "home", "approver_groups")
	v.positive(c.Home.LogMaxBytes, "home", "log_max_bytes")

	if c.Stream.URL != "" {
		v.url(c.Stream.URL, "stream", "url")
	}
	if c.Stream.PollInterval < time.Second {
		v.addf([]string{"stream", "poll_interval"}, "must be at least 1s, not %s",
			c.Stream.PollInterval)
	}

	v.positive(c.Delivery.EditsPerMinute, "delivery", "edits_per_minute")
	v.positive(c.Delivery.Maxlag, "delivery", "maxlag")
	v.positive(c.Delivery.MaxTargets, "delivery", "max_targets")
	v.required(c.Delivery.OptoutCategory, "delivery", "optout_category")

	if !strings.HasPrefix(c.Matrix.APIPath, "/") {
		v.addf([]string{"sitematrix", "api_path"}, "must start with /, not %q", c.Matrix.APIPath)
	}
	if c.Matrix.MaxAge < time.Minute {
		v.addf([]string{"sitematrix", "max_age"}, "must be at least 1m, not %s", c.Matrix.MaxAge)
	}
	c.validateWikis(&v)
	return v.problems
}

// validateWikis checks the [[wikis]] tables and that [home] names one.
func (c *Config) validateWikis(v *validator) {
	if len(c.Wikis) == 0 {
		v.problems = append(v.problems, fmt.Sprintf(
			"%s: no [[wikis]] table: list at least the home wiki", v.path))
		return
	}
	ids := map[string]int{}
	domains := map[string]int{}
	for i, w := range c.Wikis {
		at := v.lines.arrayTable("wikis", i)
		where := fmt.Sprintf("%s:%d: wikis[%d]", v.path, at, i)
		if w.ID == "" {
			v.problems = append(v.problems, where+".id: missing (the database name, e.g. metawiki)")
		}
		if w.Domain == "" {
			v.problems = append(v.problems, where+".domain: missing (e.g. meta.wikimedia.org)")
		}
		if w.API == "" {
			v.problems = append(v.problems, where+".api: missing (the URL of api.php)")
		} else if u, err := url.Parse(w.API); err != nil || u.Host == "" ||
			(u.Scheme != "http" && u.Scheme != "https") {
			v.problems = append(v.problems, fmt.Sprintf("%s.api: %q is not an http(s) URL",
				where, w.API))
		}
		if w.EditsPerMinute < 0 {
			v.problems = append(v.problems, where+".edits_per_minute: must be positive")
		}
		if j, dup := ids[w.ID]; dup && w.ID != "" {
			v.problems = append(v.problems, fmt.Sprintf("%s.id: %q is already wikis[%d].id",
				where, w.ID, j))
		}
		d := strings.ToLower(w.Domain)
		if j, dup := domains[d]; dup && d != "" {
			v.problems = append(v.problems, fmt.Sprintf(
				"%s.domain: %q is already wikis[%d].domain", where, w.Domain, j))
		}
		ids[w.ID], domains[d] = i, i
	}
	if _, ok := ids[c.Home.Wiki]; c.Home.Wiki != "" && !ok {
		v.addf([]string{"home", "wiki"}, "%q is not the id of any [[wikis]] table", c.Home.Wiki)
	}
}
