package main

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"courier/config"
	"courier/store"
	"courier/wiki"
)

// addMatrixWikis adds the wikis of the home wiki's site matrix that
// [[wikis]] does not list to cfg.Wikis, and returns them. The matrix is
// read from the state file while that copy is younger than max_age, else
// from the wiki; when the wiki cannot give it, an older copy serves.
func addMatrixWikis(ctx context.Context, cfg *config.Config, st *store.Store,
	home *wiki.Client, log *slog.Logger) []config.Wiki {
	sites, fetched, err := st.SiteMatrix(ctx)
	if err != nil {
		log.Warn("could not read the cached site matrix", "err", err)
	}
	if len(sites) == 0 || time.Since(fetched) > cfg.Matrix.MaxAge {
		fresh, err := readMatrix(ctx, cfg, home)
		switch {
		case err != nil && len(sites) > 0:
			log.Warn("could not read the site matrix; using the copy in the state file",
				"wiki", home.ID(), "fetched", fetched, "err", err)
		case err != nil:
			log.Error("could not read the site matrix; only [[wikis]] are served",
				"wiki", home.ID(), "err", err)
		default:
			sites = fresh
			if err := st.SaveSiteMatrix(ctx, sites); err != nil {
				log.Warn("could not keep the site matrix in the state file", "err", err)
			}
		}
	}
	added := mergeSites(cfg, sites)
	log.Info("wikis from the site matrix", "wiki", home.ID(), "sites", len(sites),
		"added", len(added))
	return added
}

func readMatrix(ctx context.Context, cfg *config.Config, home *wiki.Client) ([]store.Site,
	error) {
	matrix, err := home.SiteMatrix(ctx)
	if err != nil {
		return nil, err
	}
	sites := make([]store.Site, 0, len(matrix))
	for _, m := range matrix {
		sites = append(sites, store.Site{ID: m.DBName, Domain: m.Domain,
			API: m.URL + cfg.Matrix.APIPath})
	}
	return sites, nil
}

// mergeSites appends to cfg.Wikis the sites whose id and domain no
// configured wiki has; a [[wikis]] table always wins over the matrix.
func mergeSites(cfg *config.Config, sites []store.Site) []config.Wiki {
	ids, domains := map[string]bool{}, map[string]bool{}
	for _, w := range cfg.Wikis {
		ids[w.ID], domains[strings.ToLower(w.Domain)] = true, true
	}
	var added []config.Wiki
	for _, s := range sites {
		if ids[s.ID] || domains[strings.ToLower(s.Domain)] {
			continue
		}
		w := config.Wiki{ID: s.ID, Domain: s.Domain, API: s.API,
			EditsPerMinute: cfg.Delivery.EditsPerMinute}
		added = append(added, w)
		cfg.Wikis = append(cfg.Wikis, w)
	}
	return added
}
