package wiki

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// RCQuery selects recent changes, oldest first.
type RCQuery struct {
	Start time.Time // the oldest change, inclusive; required
	End   time.Time // the newest, inclusive; zero for now

	// Titles keeps only changes to these pages, written as MediaWiki
	// writes them. One title is asked of the wiki (rctitle); several are
	// filtered here from one listing of the window, which costs fewer
	// requests than one listing per title for the few pages Courier
	// watches over a short window. Narrow that listing with Namespaces.
	Titles []string

	Namespaces []int    // rcnamespace; none for all
	Types      []string // rctype: "edit", "new", "log", ...; none for all
}

// RecentChange is one entry of list=recentchanges.
type RecentChange struct {
	Type      string    `json:"type"`
	Namespace int       `json:"ns"`
	Title     string    `json:"title"`
	PageID    int64     `json:"pageid"`
	RevID     int64     `json:"revid"`
	OldRevID  int64     `json:"old_revid"`
	RCID      int64     `json:"rcid"`
	User      string    `json:"user"`
	UserID    int64     `json:"userid"`
	Timestamp time.Time `json:"timestamp"`
	Comment   string    `json:"comment"`
	Bot       bool      `json:"bot"`
	Minor     bool      `json:"minor"`
	New       bool      `json:"new"`

	LogID     int64           `json:"logid"`
	LogType   string          `json:"logtype"`
	LogAction string          `json:"logaction"`
	LogParams json.RawMessage `json:"logparams"`
}

// RecentChanges lists the changes q selects, following continuation.
func (c *Client) RecentChanges(ctx context.Context, q RCQuery) ([]RecentChange, error) {
	p := rcParams(q)
	keep := titleFilter(q.Titles)
	var out []RecentChange
	err := c.query(ctx, p, func(body []byte) (bool, error) {
		var a struct {
			Changes []RecentChange `json:"recentchanges"`
		}
		if err := c.decodeQuery(body, &a); err != nil {
			return false, err
		}
		for _, rc := range a.Changes {
			if keep(rc.Title) {
				out = append(out, rc)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list recent changes: %w", err)
	}
	return out, nil
}

func rcParams(q RCQuery) url.Values {
	p := url.Values{
		"list":    {"recentchanges"},
		"rcprop":  {"title|ids|timestamp|user|userid|flags|loginfo|comment"},
		"rcdir":   {"newer"},
		"rclimit": {"max"},
		"rcstart": {timestamp(q.Start)},
	}
	if !q.End.IsZero() {
		p.Set("rcend", timestamp(q.End))
	}
	if len(q.Titles) == 1 {
		p.Set("rctitle", q.Titles[0])
	}
	if len(q.Namespaces) > 0 {
		ns := make([]string, len(q.Namespaces))
		for i, n := range q.Namespaces {
			ns[i] = strconv.Itoa(n)
		}
		p.Set("rcnamespace", strings.Join(ns, "|"))
	}
	if len(q.Types) > 0 {
		p.Set("rctype", strings.Join(q.Types, "|"))
	}
	return p
}

// titleFilter returns a test that keeps every title when titles is empty,
// else only those listed (underscores read as spaces).
func titleFilter(titles []string) func(string) bool {
	if len(titles) == 0 {
		return func(string) bool { return true }
	}
	set := make(map[string]bool, len(titles))
	for _, t := range titles {
		set[strings.ReplaceAll(t, "_", " ")] = true
	}
	return func(t string) bool { return set[t] }
}

// CategoryMembers lists the titles in category, a full title such as
// "Category:Opted-out of message delivery", following continuation.
func (c *Client) CategoryMembers(ctx context.Context, category string) ([]string, error) {
	p := url.Values{
		"list":    {"categorymembers"},
		"cmtitle": {category},
		"cmprop":  {"title"},
		"cmlimit": {"max"},
	}
	var out []string
	err := c.query(ctx, p, func(body []byte) (bool, error) {
		var a struct {
			Members []titleJSON `json:"categorymembers"`
		}
		if err := c.decodeQuery(body, &a); err != nil {
			return false, err
		}
		for _, m := range a.Members {
			out = append(out, m.Title)
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list members of %q: %w", category, err)
	}
	return out, nil
}
