package wiki

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// MatrixSite is one wiki of a farm, as the SiteMatrix extension lists it.
type MatrixSite struct {
	DBName string // "dewiki"
	URL    string // "https://de.wikipedia.org"
	Domain string // "de.wikipedia.org"
}

// matrixEntry is one site of a sitematrix answer; closed, private and
// fishbowl wikis carry those keys (as true, or "" in formatversion=1).
type matrixEntry struct {
	URL      string          `json:"url"`
	DBName   string          `json:"dbname"`
	Closed   json.RawMessage `json:"closed"`
	Private  json.RawMessage `json:"private"`
	Fishbowl json.RawMessage `json:"fishbowl"`
}

// SiteMatrix lists the open, public wikis of the farm the client's wiki
// belongs to (action=sitematrix, following continuation). Closed wikis,
// which nobody can edit, and private and fishbowl ones, where a bot from
// outside has no place, are left out.
func (c *Client) SiteMatrix(ctx context.Context) ([]MatrixSite, error) {
	p := url.Values{
		"action":     {"sitematrix"},
		"smsiteprop": {"url|dbname"},
		"smlimit":    {"max"},
	}
	var out []MatrixSite
	for {
		resp, err := c.call(ctx, &request{params: p})
		if err != nil {
			return nil, fmt.Errorf("read the site matrix of %s: %w", c.id, err)
		}
		sites, err := decodeMatrix(resp.body)
		if err != nil {
			return nil, fmt.Errorf("read the site matrix of %s: %w", c.id, err)
		}
		out = append(out, sites...)
		if resp.cont == nil {
			return out, nil
		}
		next := url.Values{}
		for k, v := range p {
			next[k] = v
		}
		for k, v := range resp.cont {
			next[k] = v
		}
		p = next
	}
}

// decodeMatrix reads the sites of one sitematrix answer: the language
// groups under numbered keys, each with its "site" list, and "specials".
func decodeMatrix(body []byte) ([]MatrixSite, error) {
	var a struct {
		SiteMatrix map[string]json.RawMessage `json:"sitematrix"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	var entries []matrixEntry
	for key, raw := range a.SiteMatrix {
		switch key {
		case "count":
			continue
		case "specials":
			var specials []matrixEntry
			if err := json.Unmarshal(raw, &specials); err != nil {
				return nil, fmt.Errorf("%w: specials: %v", ErrBadResponse, err)
			}
			entries = append(entries, specials...)
		default:
			var lang struct {
				Site []matrixEntry `json:"site"`
			}
			if err := json.Unmarshal(raw, &lang); err != nil {
				return nil, fmt.Errorf("%w: language %s: %v", ErrBadResponse, key, err)
			}
			entries = append(entries, lang.Site...)
		}
	}
	var out []MatrixSite
	for _, e := range entries {
		if flagged(e.Closed) || flagged(e.Private) || flagged(e.Fishbowl) ||
			e.DBName == "" || e.URL == "" {
			continue
		}
		u, err := url.Parse(e.URL)
		if err != nil || u.Host == "" {
			continue
		}
		out = append(out, MatrixSite{DBName: e.DBName, URL: strings.TrimSuffix(e.URL, "/"),
			Domain: strings.ToLower(u.Host)})
	}
	slices.SortFunc(out, func(a, b MatrixSite) int { return strings.Compare(a.DBName, b.DBName) })
	return out, nil
}

// flagged reports whether a sitematrix flag is present and not false.
func flagged(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "false" && string(raw) != "null"
}
