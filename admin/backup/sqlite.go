package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/mattn/go-sqlite3"
)

// copyDB copies the SQLite database src to dst with SQLite's online
// backup API: one consistent snapshot, while other connections (maild)
// keep reading and writing (WAL mode lets writers go on during the copy).
func copyDB(ctx context.Context, src, dst string) error {
	tmp := dst + ".tmp"
	for _, p := range []string{tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm"} {
		os.Remove(p)
	}
	if err := backupTo(ctx, src, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("back up %s: %w", src, err)
	}
	for _, p := range []string{dst + "-wal", dst + "-shm"} {
		os.Remove(p)
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	return nil
}

func dsn(path string, params url.Values) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + params.Encode()
}

func backupTo(ctx context.Context, src, dst string) error {
	srcDB, err := sql.Open("sqlite3", dsn(src, url.Values{"_busy_timeout": {"10000"}}))
	if err != nil {
		return err
	}
	defer srcDB.Close()
	dstDB, err := sql.Open("sqlite3", dsn(dst, url.Values{"_sync": {"FULL"}}))
	if err != nil {
		return err
	}
	defer dstDB.Close()
	srcConn, err := srcDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer srcConn.Close()
	dstConn, err := dstDB.Conn(ctx)
	if err != nil {
		return err
	}
	defer dstConn.Close()
	return dstConn.Raw(func(d any) error {
		dc, ok := d.(*sqlite3.SQLiteConn)
		if !ok {
			return errors.New("not a go-sqlite3 connection")
		}
		return srcConn.Raw(func(s any) error {
			sc, ok := s.(*sqlite3.SQLiteConn)
			if !ok {
				return errors.New("not a go-sqlite3 connection")
			}
			b, err := dc.Backup("main", sc, "main")
			if err != nil {
				return err
			}
			// All pages in one step: one read transaction, so one
			// snapshot; in WAL mode it does not block writers.
			for {
				done, err := b.Step(-1)
				if err != nil {
					b.Finish()
					return err
				}
				if done {
					break
				}
				if err := ctx.Err(); err != nil {
					b.Finish()
					return err
				}
			}
			return b.Finish()
		})
	})
}

// checkDB runs SQLite's integrity check on a copied database.
func checkDB(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite3", dsn(path, url.Values{"mode": {"ro"}, "immutable": {"1"}}))
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, `PRAGMA quick_check`).Scan(&res); err != nil {
		return fmt.Errorf("check %s: %w", path, err)
	}
	if res != "ok" {
		return fmt.Errorf("check %s: %s", path, res)
	}
	return nil
}

// schemaVersion reads yubin.db's migration level from a copy, read-only.
func schemaVersion(ctx context.Context, path string) (int, error) {
	db, err := sql.Open("sqlite3", dsn(path, url.Values{"mode": {"ro"}, "immutable": {"1"}}))
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var v int
	err = db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v)
	return v, err
}
