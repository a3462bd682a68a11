package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Site is one wiki of a farm, as the site matrix gave it.
type Site struct {
	ID     string // the database name
	Domain string
	API    string
}

// SaveSiteMatrix replaces the cached site matrix with sites.
func (s *Store) SaveSiteMatrix(ctx context.Context, sites []Site) error {
	return s.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sitematrix"); err != nil {
			return fmt.Errorf("replace the site matrix: %w", err)
		}
		t := now()
		for _, site := range sites {
			_, err := tx.ExecContext(ctx,
				"INSERT INTO sitematrix (id, domain, api, fetched) VALUES (?, ?, ?, ?)",
				site.ID, site.Domain, site.API, t)
			if err != nil {
				return fmt.Errorf("save site %s of the site matrix: %w", site.ID, err)
			}
		}
		return nil
	})
}

// SiteMatrix returns the cached site matrix and when it was fetched; no
// sites and a zero time when none was saved.
func (s *Store) SiteMatrix(ctx context.Context) ([]Site, time.Time, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT id, domain, api, fetched FROM sitematrix ORDER BY id")
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read the site matrix: %w", err)
	}
	defer rows.Close()
	var sites []Site
	var fetched time.Time
	for rows.Next() {
		var site Site
		var t string
		if err := rows.Scan(&site.ID, &site.Domain, &site.API, &t); err != nil {
			return nil, time.Time{}, fmt.Errorf("read the site matrix: %w", err)
		}
		sites, fetched = append(sites, site), parseTime(t)
	}
	return sites, fetched, rows.Err()
}
