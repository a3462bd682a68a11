package wikitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// UserAgent is what Session sends.
const UserAgent = "courier-wikitest/1.0 (test set-up)"

// ErrMissingPage is returned by Session.Text for a page that does not exist.
var ErrMissingPage = errors.New("wikitest: page does not exist")

// APIError is an error answer of the Action API.
type APIError struct {
	Code string // e.g. "protectedpage", "maxlag", "ratelimited"
	Info string
}

func (e *APIError) Error() string { return "api error " + e.Code + ": " + e.Info }

// Session is a small logged-in Action API client for setting tests up and
// checking their results; it is not the code under test, so it is plain:
// formatversion=2, no maxlag, no retries. It is safe for concurrent use.
type Session struct {
	API  string // the api.php URL
	User string // the name it logged in with

	hc *http.Client
	mu sync.Mutex
	// csrf is the cached edit token, fetched on first use.
	csrf string
}

// NewSession logs in to api as user with password: a bot password login
// (user is NAME@appid) through action=login, a main account through
// action=clientlogin, as MediaWiki asks of each.
func NewSession(api, user, password string) (*Session, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("make cookie jar: %w", err)
	}
	s := &Session{API: api, User: user, hc: &http.Client{Jar: jar, Timeout: 2 * time.Minute}}
	token, err := s.Token("login")
	if err != nil {
		return nil, fmt.Errorf("log in as %q: %w", user, err)
	}
	if strings.Contains(user, "@") {
		resp, err := s.Post(values(map[string]string{
			"action": "login", "lgname": user, "lgpassword": password, "lgtoken": token,
		}))
		if err != nil {
			return nil, fmt.Errorf("log in as %q: %w", user, err)
		}
		if r := str(resp, "login", "result"); r != "Success" {
			return nil, fmt.Errorf("log in as %q: %s: %s", user, r, str(resp, "login", "reason"))
		}
		return s, nil
	}
	resp, err := s.Post(values(map[string]string{
		"action": "clientlogin", "username": user, "password": password,
		"logintoken": token, "loginreturnurl": "http://127.0.0.1/",
	}))
	if err != nil {
		return nil, fmt.Errorf("log in as %q: %w", user, err)
	}
	if st := str(resp, "clientlogin", "status"); st != "PASS" {
		return nil, fmt.Errorf("log in as %q: %s: %s", user, st, str(resp, "clientlogin", "message"))
	}
	return s, nil
}

// Get sends a GET to the API and returns the decoded answer; an error
// answer is an *APIError.
func (s *Session) Get(params url.Values) (map[string]any, error) {
	return s.do(http.MethodGet, params)
}

// Post sends a POST to the API and returns the decoded answer; an error
// answer is an *APIError. Unless params has a token, the CSRF token is
// added, and fetched again once if MediaWiki answers badtoken.
func (s *Session) Post(params url.Values) (map[string]any, error) {
	if params.Has("token") || isLoginAction(params.Get("action")) {
		return s.do(http.MethodPost, params)
	}
	for try := 0; ; try++ {
		token, err := s.csrfToken(try > 0)
		if err != nil {
			return nil, err
		}
		p := cloneValues(params)
		p.Set("token", token)
		resp, err := s.do(http.MethodPost, p)
		var apiErr *APIError
		if try == 0 && errors.As(err, &apiErr) && apiErr.Code == "badtoken" {
			continue
		}
		return resp, err
	}
}

func isLoginAction(action string) bool {
	return action == "login" || action == "clientlogin"
}

// csrfToken returns the cached edit token, or a fresh one if refresh.
func (s *Session) csrfToken(refresh bool) (string, error) {
	s.mu.Lock()
	token := s.csrf
	s.mu.Unlock()
	if token != "" && !refresh {
		return token, nil
	}
	token, err := s.Token("csrf")
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.csrf = token
	s.mu.Unlock()
	return token, nil
}

// Token fetches a token of the given type (csrf, login, userrights, ...).
func (s *Session) Token(kind string) (string, error) {
	resp, err := s.Get(values(map[string]string{
		"action": "query", "meta": "tokens", "type": kind,
	}))
	if err != nil {
		return "", fmt.Errorf("fetch %s token: %w", kind, err)
	}
	token := str(resp, "query", "tokens", kind+"token")
	if token == "" {
		return "", fmt.Errorf("fetch %s token: none in answer", kind)
	}
	return token, nil
}

// do sends one request and decodes the answer.
func (s *Session) do(method string, params url.Values) (map[string]any, error) {
	p := cloneValues(params)
	p.Set("format", "json")
	p.Set("formatversion", "2")
	var req *http.Request
	var err error
	if method == http.MethodGet {
		req, err = http.NewRequest(method, s.API+"?"+p.Encode(), nil)
	} else {
		req, err = http.NewRequest(method, s.API, strings.NewReader(p.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("make request: %w", err)
	}
	req.Header.Set("User-Agent", UserAgent)
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", p.Get("action"), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s answer: %w", p.Get("action"), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("call %s: HTTP %s: %.300s", p.Get("action"), resp.Status, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("decode %s answer: %w: %.300s", p.Get("action"), err, body)
	}
	if e, ok := out["error"].(map[string]any); ok {
		code, _ := e["code"].(string)
		info, _ := e["info"].(string)
		return out, &APIError{Code: code, Info: info}
	}
	return out, nil
}

// Edit saves text as the content of title and returns the new revision id
// (the current one when the text was unchanged).
func (s *Session) Edit(title, text, summary string) (int64, error) {
	return s.edit(map[string]string{"title": title, "text": text, "summary": summary})
}

// AppendSection adds a new section headed heading to title, as a message
// delivery does, and returns the new revision id.
func (s *Session) AppendSection(title, heading, text, summary string) (int64, error) {
	return s.edit(map[string]string{
		"title": title, "section": "new", "sectiontitle": heading, "text": text,
		"summary": summary,
	})
}

func (s *Session) edit(params map[string]string) (int64, error) {
	params["action"] = "edit"
	resp, err := s.Post(values(params))
	if err != nil {
		return 0, fmt.Errorf("edit %q: %w", params["title"], err)
	}
	if r := str(resp, "edit", "result"); r != "Success" {
		return 0, fmt.Errorf("edit %q: result %q", params["title"], r)
	}
	if rev := num(resp, "edit", "newrevid"); rev > 0 {
		return rev, nil
	}
	revs, err := s.Revisions(params["title"], 1)
	if err != nil {
		return 0, fmt.Errorf("edit %q: %w", params["title"], err)
	}
	if len(revs) == 0 {
		return 0, fmt.Errorf("edit %q: no revision after a null edit", params["title"])
	}
	return revs[0].ID, nil
}

// Text returns the current wikitext of title, or ErrMissingPage.
func (s *Session) Text(title string) (string, error) {
	resp, err := s.Get(values(map[string]string{
		"action": "query", "prop": "revisions", "titles": title,
		"rvprop": "content", "rvslots": "main",
	}))
	if err != nil {
		return "", fmt.Errorf("read %q: %w", title, err)
	}
	page := firstPage(resp)
	if page == nil || page["missing"] == true {
		return "", fmt.Errorf("read %q: %w", title, ErrMissingPage)
	}
	revs, _ := page["revisions"].([]any)
	if len(revs) == 0 {
		return "", fmt.Errorf("read %q: no revision", title)
	}
	rev, _ := revs[0].(map[string]any)
	return str(rev, "slots", "main", "content"), nil
}

// Revision is one revision of a page.
type Revision struct {
	ID        int64
	ParentID  int64
	User      string
	Timestamp time.Time
	Comment   string
	Size      int
	Minor     bool
}

// Revisions returns up to limit revisions of title, newest first; none for
// a missing page.
func (s *Session) Revisions(title string, limit int) ([]Revision, error) {
	resp, err := s.Get(values(map[string]string{
		"action": "query", "prop": "revisions", "titles": title,
		"rvprop": "ids|timestamp|user|comment|size|flags", "rvlimit": strconv.Itoa(limit),
	}))
	if err != nil {
		return nil, fmt.Errorf("read history of %q: %w", title, err)
	}
	page := firstPage(resp)
	if page == nil {
		return nil, nil
	}
	raw, _ := page["revisions"].([]any)
	out := make([]Revision, 0, len(raw))
	for _, r := range raw {
		m, _ := r.(map[string]any)
		ts, _ := time.Parse(time.RFC3339, str(m, "timestamp"))
		minor, _ := m["minor"].(bool)
		out = append(out, Revision{
			ID: num(m, "revid"), ParentID: num(m, "parentid"), User: str(m, "user"),
			Timestamp: ts, Comment: str(m, "comment"), Size: int(num(m, "size")), Minor: minor,
		})
	}
	return out, nil
}

// Protect protects title for edits and moves at level ("sysop",
// "autoconfirmed"; "all" lifts it) until expiry ("infinite", "1 day").
func (s *Session) Protect(title, level, expiry string) error {
	_, err := s.Post(values(map[string]string{
		"action": "protect", "title": title, "expiry": expiry + "|" + expiry,
		"protections": "edit=" + level + "|move=" + level, "reason": "wikitest",
	}))
	if err != nil {
		return fmt.Errorf("protect %q: %w", title, err)
	}
	return nil
}

// Block blocks user from editing until expiry ("infinite", "1 day").
func (s *Session) Block(user, expiry, reason string) error {
	_, err := s.Post(values(map[string]string{
		"action": "block", "user": user, "expiry": expiry, "reason": reason,
	}))
	if err != nil {
		return fmt.Errorf("block %q: %w", user, err)
	}
	return nil
}

// Unblock lifts a block of user.
func (s *Session) Unblock(user string) error {
	_, err := s.Post(values(map[string]string{
		"action": "unblock", "user": user, "reason": "wikitest",
	}))
	if err != nil {
		return fmt.Errorf("unblock %q: %w", user, err)
	}
	return nil
}

// Delete deletes title.
func (s *Session) Delete(title, reason string) error {
	_, err := s.Post(values(map[string]string{
		"action": "delete", "title": title, "reason": reason,
	}))
	if err != nil {
		return fmt.Errorf("delete %q: %w", title, err)
	}
	return nil
}

// Move renames from to to, leaving a redirect behind unless noRedirect.
func (s *Session) Move(from, to, reason string, noRedirect bool) error {
	params := map[string]string{"action": "move", "from": from, "to": to, "reason": reason}
	if noRedirect {
		params["noredirect"] = "1"
	}
	if _, err := s.Post(values(params)); err != nil {
		return fmt.Errorf("move %q to %q: %w", from, to, err)
	}
	return nil
}

// values turns a map into url.Values.
func values(m map[string]string) url.Values {
	v := url.Values{}
	for k, x := range m {
		v.Set(k, x)
	}
	return v
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, x := range v {
		out[k] = append([]string(nil), x...)
	}
	return out
}

// walk follows keys through nested JSON objects.
func walk(m map[string]any, keys ...string) any {
	var cur any = m
	for _, k := range keys {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = obj[k]
	}
	return cur
}

// str returns the string at keys, or "".
func str(m map[string]any, keys ...string) string {
	s, _ := walk(m, keys...).(string)
	return s
}

// num returns the number at keys, or 0.
func num(m map[string]any, keys ...string) int64 {
	f, _ := walk(m, keys...).(float64)
	return int64(f)
}

// firstPage returns query.pages[0] of a formatversion=2 answer.
func firstPage(resp map[string]any) map[string]any {
	pages, _ := walk(resp, "query", "pages").([]any)
	if len(pages) == 0 {
		return nil
	}
	page, _ := pages[0].(map[string]any)
	return page
}
