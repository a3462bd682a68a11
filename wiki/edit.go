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

// Retry names failures an edit retries beyond those after which the wiki
// certainly saved nothing (maxlag, ratelimited, readonly, badtoken, a
// database error, a lost session, a connection that never carried the
// request), which every edit retries.
type Retry uint8

const (
	// RetryConflict retries editconflict. Safe for section=new, which
	// adds a section to whatever the page holds; not for a write-back
	// with BaseTimestamp, whose caller must re-read and re-apply.
	RetryConflict Retry = 1 << iota

	// RetryUncertain retries failures after which the edit may have been
	// saved: a time-out or dropped connection after sending, an HTTP 5xx.
	// Only for edits that do no harm twice. Without it such a failure is
	// returned and IsUncertain reports it. Not for section=new: MediaWiki
	// answers a resent section that was saved (same user and summary as
	// the page's last edit) with editconflict; FindMarker tells instead.
	RetryUncertain
)

// EditParams describe one edit (action=edit).
type EditParams struct {
	Title        string
	Section      string // "new" adds a section; "" edits the whole page
	SectionTitle string // the new section's heading, with Section "new"
	Text         string
	AppendText   string // appended instead of replacing, when Text is ""
	Summary      string

	Bot        bool
	Minor      bool
	NoCreate   bool   // fail with missingtitle if the page does not exist
	CreateOnly bool   // fail with articleexists if it does
	Assert     string // "bot" or "user"; "" for "user" once logged in
	Tags       []string

	// BaseRevID is the revision the edit is based on, BaseTimestamp its
	// timestamp, StartTimestamp when the caller read it; with them
	// MediaWiki reports an intervening edit it cannot merge as
	// editconflict. Timestamps have one-second resolution: only BaseRevID
	// catches an edit saved in the same second as the base, and when it
	// is set BaseTimestamp is not sent.
	BaseRevID      int64
	BaseTimestamp  time.Time
	StartTimestamp time.Time

	Retry Retry
}

// EditResult is what MediaWiki says about a saved edit.
type EditResult struct {
	Title        string
	PageID       int64
	NewRevID     int64 // 0 when NoChange
	OldRevID     int64 // 0 for a new page
	NewTimestamp time.Time
	NoChange     bool // the text was the same; nothing was saved
	New          bool // the edit created the page
	Warnings     []Warning
}

type editAnswer struct {
	Edit *struct {
		Result       string          `json:"result"`
		Title        string          `json:"title"`
		PageID       int64           `json:"pageid"`
		NewRevID     int64           `json:"newrevid"`
		OldRevID     int64           `json:"oldrevid"`
		NewTimestamp time.Time       `json:"newtimestamp"`
		NoChange     bool            `json:"nochange"`
		New          bool            `json:"new"`
		Captcha      json.RawMessage `json:"captcha"`
		Info         string          `json:"info"`
	} `json:"edit"`
}

// Edit saves an edit with the session's csrf token and returns the new
// revision. A refused edit is an *APIError with MediaWiki's code, such as
// "protectedpage" or "editconflict".
func (c *Client) Edit(ctx context.Context, e EditParams) (EditResult, error) {
	r := &request{params: e.values(), post: true, token: true, assert: e.Assert, retry: e.Retry}
	resp, err := c.call(ctx, r)
	if err != nil {
		return EditResult{}, fmt.Errorf("edit %q: %w", e.Title, err)
	}

	var a editAnswer
	if err := json.Unmarshal(resp.body, &a); err != nil || a.Edit == nil {
		return EditResult{}, fmt.Errorf("edit %q on %s: %w", e.Title, c.id, ErrBadResponse)
	}
	ed := a.Edit
	if ed.Result != "Success" {
		return EditResult{}, c.editFailure(e.Title, ed.Result, ed.Info, len(ed.Captcha) > 0)
	}
	return EditResult{
		Title:        ed.Title,
		PageID:       ed.PageID,
		NewRevID:     ed.NewRevID,
		OldRevID:     ed.OldRevID,
		NewTimestamp: ed.NewTimestamp,
		NoChange:     ed.NoChange,
		New:          ed.New,
		Warnings:     resp.warnings,
	}, nil
}

// editFailure turns an answer with a result other than Success (a
// CAPTCHA, an extension's hook) into an *APIError.
func (c *Client) editFailure(title, result, info string, captcha bool) error {
	code := "edit-" + strings.ToLower(result)
	if captcha {
		code = "captcha"
	}
	if info == "" {
		info = "the wiki answered " + result
	}
	ae := &APIError{Code: code, Info: info, Wiki: c.id, Action: "edit"}
	return fmt.Errorf("edit %q: %w: %w", title, ErrEditNotAccepted, ae)
}

func (e *EditParams) values() url.Values {
	p := url.Values{
		"action":    {"edit"},
		"title":     {e.Title},
		"watchlist": {"nochange"},
	}
	set := func(k, v string) {
		if v != "" {
			p.Set(k, v)
		}
	}
	flag := func(k string, on bool) {
		if on {
			p.Set(k, "1")
		}
	}
	set("section", e.Section)
	set("sectiontitle", e.SectionTitle)
	set("summary", e.Summary)
	set("tags", strings.Join(e.Tags, "|"))
	if e.Text != "" || e.AppendText == "" {
		p.Set("text", e.Text)
	} else {
		p.Set("appendtext", e.AppendText)
	}
	flag("bot", e.Bot)
	flag("minor", e.Minor)
	if !e.Minor {
		p.Set("notminor", "1")
	}
	flag("nocreate", e.NoCreate)
	flag("createonly", e.CreateOnly)
	// With baserevid, basetimestamp must stay out: MediaWiki then takes
	// an edit saved in the same second as the base for the bot's own
	// (userWasLastToEdit) and lets the conflict pass.
	if e.BaseRevID > 0 {
		p.Set("baserevid", strconv.FormatInt(e.BaseRevID, 10))
	} else if !e.BaseTimestamp.IsZero() {
		p.Set("basetimestamp", timestamp(e.BaseTimestamp))
	}
	if !e.StartTimestamp.IsZero() {
		p.Set("starttimestamp", timestamp(e.StartTimestamp))
	}
	return p
}
