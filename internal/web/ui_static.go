package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"time"
)

// asset is one static file with the hash that names its current version.
type asset struct {
	body        []byte
	hash        string
	contentType string
}

// loadAssets reads the static files and hashes each one. Their URLs carry
// the hash (/static/HASH/app.css), so browsers may cache them for a year and
// still fetch the new file right after an upgrade.
func loadAssets(files fs.FS) (map[string]asset, error) {
	out := map[string]asset{}
	names, err := fs.Glob(files, "static/*")
	if err != nil {
		return nil, fmt.Errorf("web: list static files: %w", err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(files, n)
		if err != nil {
			return nil, fmt.Errorf("web: read %s: %w", n, err)
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(n))
		if ct == "" {
			ct = "application/octet-stream"
		}
		out[path.Base(n)] = asset{body: b, hash: hex.EncodeToString(sum[:6]), contentType: ct}
	}
	return out, nil
}

// assetURL is the content-hashed URL of a static file. An unknown name is a
// template bug; the error fails the render, so any test of the page finds it.
func (t *templates) assetURL(name string) (string, error) {
	a, ok := t.assets[name]
	if !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return "/static/" + a.hash + "/" + name, nil
}

// staticFile serves a static file. With the current hash it may be cached
// for good; with an old hash (a page rendered before an upgrade) it gets the
// current file, which must not be cached under the old name.
func (s *Server) staticFile(w http.ResponseWriter, r *http.Request) {
	a, ok := s.tmpl.assets[r.PathValue("file")]
	if !ok {
		s.renderError(w, r, http.StatusNotFound, "there is no file at this address")
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	if r.PathValue("hash") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	h.Set("ETag", `"`+a.hash+`"`)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}
