package parser

import "testing"

func TestBotsAllowed(t *testing.T) {
	tests := []struct {
		text, msgType string
		allowed       bool
		rule          string
	}{
		{"no template", "", true, ""},
		{"{{bots}}", "", true, ""},
		{"{{nobots}}", "", false, "nobots"},
		{"{{Nobots}}", "", false, "nobots"},
		{"{{NOBOTS}}", "", false, "nobots"},
		{"{{ Template:Nobots }}", "", false, "nobots"},
		{"{{bots|deny=all}}", "", false, "deny=all"},
		{"{{bots|deny=All}}", "", false, "deny=All"},
		{"{{bots|deny=none}}", "", true, ""},
		{"{{bots|deny=OtherBot}}", "", true, ""},
		{"{{bots|deny=OtherBot, Courier}}", "", false, "deny=OtherBot, Courier"},
		{"{{bots|deny = OtherBot ,courier }}", "", false, "deny=OtherBot ,courier"},
		{"{{bots|deny=User:Courier}}", "", false, "deny=User:Courier"},
		{"{{bots|allow=all}}", "", true, ""},
		{"{{bots|allow=none}}", "", false, "allow=none"},
		{"{{bots|allow=OtherBot}}", "", false, "allow=OtherBot"},
		{"{{bots|allow=OtherBot,Courier}}", "", true, ""},
		{"{{bots|allow=Courier|deny=all}}", "", true, ""},
		{"{{nobots|allow=Courier}}", "", true, ""},
		{"{{nobots|allow=OtherBot}}", "", false, "allow=OtherBot"},
		{"{{bots|optout=all}}", "", false, "optout=all"},
		{"{{bots|optout=all}}", "news", false, "optout=all"},
		{"{{bots|optout=news, tech}}", "tech", false, "optout=news, tech"},
		{"{{bots|optout=news}}", "tech", true, ""},
		{"{{bots|optout=news}}", "", true, ""},
		{"{{bots|allow=Courier|optout=all}}", "", false, "optout=all"},
		{"{{bots|Deny=all}}", "", false, "deny=all"},
		{"{{bots|deny=<!-- nobody -->}}", "", true, ""},
		{"<!-- {{nobots}} -->", "", true, ""},
		{"<nowiki>{{nobots}}</nowiki>", "", true, ""},
		{"{{bots}} then {{bots|deny=Courier}}", "", false, "deny=Courier"},
		{"{{User box|{{nobots}}}}", "", false, "nobots"},
	}
	for _, tc := range tests {
		v := BotsAllowed(tc.text, "Courier", tc.msgType)
		if v.Allowed != tc.allowed || v.Rule != tc.rule {
			t.Errorf("BotsAllowed(%q, %q) = %+v, want allowed %v by %q",
				tc.text, tc.msgType, v, tc.allowed, tc.rule)
		}
	}
}

func TestBotsVerdictSource(t *testing.T) {
	v := BotsAllowed("Hi\n\n{{bots|deny=Courier}}\n", "courier", "")
	if v.Line != 3 || v.Source != "{{bots|deny=Courier}}" {
		t.Errorf("verdict %+v, want line 3 and the call", v)
	}
}
