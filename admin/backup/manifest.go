package backup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

const (
	manifestName = "manifest.json"
	markerName   = ".in-progress"
	formatV1     = 1
)

// Kinds of manifest entries.
const (
	kindDir     = "dir"
	kindDB      = "db"      // SQLite online backup copy
	kindMessage = "message" // immutable: Maildir message or spool file
	kindFile    = "file"    // any other file, copied
)

// Manifest describes one backup.
type Manifest struct {
	Format   int       `json:"format"`
	Created  time.Time `json:"created"`
	Finished time.Time `json:"finished"`
	Host     string    `json:"host"`
	DataDir  string    `json:"data_dir"`
	// Schema is yubin.db's schema version when the backup was taken.
	Schema int     `json:"schema"`
	Files  []Entry `json:"files"`
}

// Entry is one file or directory, path relative to the data directory
// ("/" separated).
type Entry struct {
	Path   string      `json:"path"`
	Kind   string      `json:"kind"`
	Mode   fs.FileMode `json:"mode"`
	Size   int64       `json:"size,omitempty"`
	MTime  int64       `json:"mtime,omitempty"` // unix nanoseconds
	SHA256 string      `json:"sha256,omitempty"`
}

func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, manifestName))
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, manifestName), err)
	}
	if m.Format != formatV1 {
		return nil, fmt.Errorf("%s: unknown format %d", filepath.Join(dir, manifestName), m.Format)
	}
	return &m, nil
}

func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", " ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, manifestName+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, manifestName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	return err
}

// Open reads the manifest of a finished backup in dir.
func Open(dir string) (*Manifest, error) {
	if _, err := os.Stat(filepath.Join(dir, markerName)); err == nil {
		return nil, fmt.Errorf("%s: a backup was interrupted or is running (%s exists); take a new one", dir, markerName)
	}
	m, err := readManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: not a Yubin backup (no %s)", dir, manifestName)
	}
	return m, err
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
