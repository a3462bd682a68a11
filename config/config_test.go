package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

const minimal = `
[account]
username = "Courier@courier"
user_agent = "Courier/test (ops@example.org)"

[home]
wiki = "metawiki"

[[wikis]]
id = "metawiki"
domain = "meta.wikimedia.org"
api = "https://meta.wikimedia.org/w/api.php"
`

func TestMinimalConfigTakesDefaults(t *testing.T) {
	cfg, err := Parse("c.toml", minimal)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"state", cfg.State, "courier.db"},
		{"password_env", cfg.Account.PasswordEnv, "COURIER_PASSWORD"},
		{"requests", cfg.Home.Requests, "Project:Message delivery/Requests"},
		{"approver_groups", cfg.Home.ApproverGroups, []string{"sysop"}},
		{"sender_groups", cfg.Home.SenderGroups, []string{"massmessage-sender"}},
		{"shutoff", cfg.Home.Shutoff, "User:Courier/Shutoff"},
		{"poll_interval", cfg.Stream.PollInterval, 30 * time.Second},
		{"edits_per_minute", cfg.Delivery.EditsPerMinute, 12},
		{"wiki edits_per_minute", cfg.Wikis[0].EditsPerMinute, 12},
		{"maxlag", cfg.Delivery.Maxlag, 5},
		{"max_targets", cfg.Delivery.MaxTargets, 5000},
		{"bot_name", cfg.Delivery.BotName, "Courier"},
		{"home wiki", cfg.HomeWiki().Domain, "meta.wikimedia.org"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestFileListsReplaceDefaultLists(t *testing.T) {
	text := strings.Replace(minimal, `wiki = "metawiki"`,
		"wiki = \"metawiki\"\napprover_groups = [\"bureaucrat\"]\nsender_groups = []", 1)
	cfg, err := Parse("c.toml", text)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Home.ApproverGroups, []string{"bureaucrat"}) {
		t.Errorf("approver_groups = %v", cfg.Home.ApproverGroups)
	}
	if len(cfg.Home.SenderGroups) != 0 {
		t.Errorf("sender_groups = %v, want none", cfg.Home.SenderGroups)
	}
}

func TestConfigErrorsNameKeyAndLine(t *testing.T) {
	tests := []struct {
		name string
		edit func(string) string
		want []string // substrings of the error, all required
	}{
		{
			name: "unknown key",
			edit: func(s string) string {
				return strings.Replace(s, "[home]\n", "[home]\nwikki = \"x\"\n", 1)
			},
			want: []string{`c.toml:7: unknown key "home.wikki"`},
		},
		{
			name: "unknown key in a wiki",
			edit: func(s string) string { return s + "apii = \"x\"\n" },
			want: []string{`c.toml:13: unknown key "wikis.apii"`},
		},
		{
			name: "unknown table",
			edit: func(s string) string { return s + "[deliver]\nmaxlag = 3\n" },
			want: []string{`unknown key "deliver.maxlag"`, "c.toml:14"},
		},
		{
			name: "missing required key",
			edit: func(s string) string {
				return strings.Replace(s, "user_agent = \"Courier/test (ops@example.org)\"\n", "", 1)
			},
			want: []string{"account.user_agent: missing or empty"},
		},
		{
			name: "wrong type",
			edit: func(s string) string { return s + "[delivery]\nedits_per_minute = \"fast\"\n" },
			want: []string{"c.toml:14", "edits_per_minute"},
		},
		{
			name: "bad duration",
			edit: func(s string) string { return s + "[stream]\npoll_interval = \"30 seconds\"\n" },
			want: []string{"c.toml:14", "poll_interval"},
		},
		{
			name: "too short a poll interval",
			edit: func(s string) string { return s + "[stream]\npoll_interval = \"10ms\"\n" },
			want: []string{"c.toml:14: stream.poll_interval: must be at least 1s"},
		},
		{
			name: "home wiki not among wikis",
			edit: func(s string) string {
				return strings.Replace(s, `wiki = "metawiki"`, `wiki = "enwiki"`, 1)
			},
			want: []string{`c.toml:7: home.wiki: "enwiki" is not the id of any [[wikis]] table`},
		},
		{
			name: "duplicate wiki id",
			edit: func(s string) string {
				return s + "[[wikis]]\nid = \"metawiki\"\ndomain = \"x.org\"\napi = \"https://x.org/w/api.php\"\n"
			},
			want: []string{`c.toml:13: wikis[1].id: "metawiki" is already wikis[0].id`},
		},
		{
			name: "duplicate wiki domain",
			edit: func(s string) string {
				return s + "[[wikis]]\nid = \"x\"\ndomain = \"META.wikimedia.org\"\napi = \"https://x.org/w/api.php\"\n"
			},
			want: []string{`wikis[1].domain: "META.wikimedia.org" is already wikis[0].domain`},
		},
		{
			name: "wiki without api",
			edit: func(s string) string {
				return strings.Replace(s, "api = \"https://meta.wikimedia.org/w/api.php\"\n", "", 1)
			},
			want: []string{"c.toml:9: wikis[0].api: missing"},
		},
		{
			name: "api not a URL",
			edit: func(s string) string {
				return strings.Replace(s, "https://meta.wikimedia.org/w/api.php", "meta/api.php", 1)
			},
			want: []string{`wikis[0].api: "meta/api.php" is not an http(s) URL`},
		},
		{
			name: "no wikis",
			edit: func(s string) string { return s[:strings.Index(s, "[[wikis]]")] },
			want: []string{"no [[wikis]] table"},
		},
		{
			name: "negative rate",
			edit: func(s string) string { return s + "[delivery]\nedits_per_minute = -1\n" },
			want: []string{"c.toml:14: delivery.edits_per_minute: must be a positive number"},
		},
		{
			name: "site matrix path",
			edit: func(s string) string { return s + "[sitematrix]\napi_path = \"w/api.php\"\n" },
			want: []string{`c.toml:14: sitematrix.api_path: must start with /, not "w/api.php"`},
		},
		{
			name: "syntax error",
			edit: func(s string) string { return s + "[delivery\n" },
			want: []string{"c.toml:14"},
		},
		{
			name: "several problems at once",
			edit: func(s string) string {
				s = strings.Replace(s, `wiki = "metawiki"`, `wiki = "enwiki"`, 1)
				return s + "[delivery]\nmaxlagg = 3\n"
			},
			want: []string{`unknown key "delivery.maxlagg"`, `"enwiki" is not the id`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.toml", tt.edit(minimal))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestPasswordComesFromTheEnvironment(t *testing.T) {
	cfg, err := Parse("c.toml", minimal)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("COURIER_PASSWORD", "")
	if _, err := cfg.ResolvePassword(); err == nil ||
		!strings.Contains(err.Error(), "COURIER_PASSWORD") {
		t.Errorf("empty variable: err = %v, want one naming COURIER_PASSWORD", err)
	}
	t.Setenv("COURIER_PASSWORD", "s3cret")
	if pw, err := cfg.ResolvePassword(); err != nil || pw != "s3cret" {
		t.Errorf("ResolvePassword = %q, %v", pw, err)
	}

	explicit := strings.Replace(minimal, "[home]", "password = \"infile\"\n\n[home]", 1)
	cfg, err = Parse("c.toml", explicit)
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := cfg.ResolvePassword(); pw != "infile" {
		t.Errorf("explicit password = %q, want the file's", pw)
	}
}

// TestExampleShowsEveryKey keeps config.toml.example complete: it must
// parse, and every key of Config must be written in it.
func TestExampleShowsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../config.toml.example")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if _, err := Parse("config.toml.example", text); err != nil {
		t.Fatalf("the example does not parse: %v", err)
	}
	for _, key := range keysOf(reflect.TypeFor[Config](), "") {
		name := key[strings.LastIndex(key, ".")+1:]
		if !strings.Contains(text, "\n"+name+" =") && !strings.Contains(text, "# "+name+" =") {
			t.Errorf("config.toml.example does not show %s", key)
		}
	}
}

func keysOf(t reflect.Type, prefix string) []string {
	var keys []string
	for f := range t.Fields() {
		tag := f.Tag.Get("toml")
		if tag == "" {
			continue
		}
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
			keys = append(keys, keysOf(ft, prefix+tag+".")...)
			continue
		}
		keys = append(keys, prefix+tag)
	}
	return keys
}
