package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"eventreg/templates"
)

// staticFiles are the files under templates/static, read once. Pages link to
// them with a version (a digest of the content) in the query, so a browser
// may keep a versioned file for a year and still sees a new one at once.
type staticFiles struct {
	files map[string]*staticFile // by name, e.g. "style.css"
}

type staticFile struct {
	body        []byte
	contentType string
	version     string
}

func loadStatic() (*staticFiles, error) {
	st := &staticFiles{files: map[string]*staticFile{}}
	err := fs.WalkDir(templates.FS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.EqualFold(path.Base(p), "README.txt") {
			return err
		}
		b, err := fs.ReadFile(templates.FS, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = http.DetectContentType(b)
		}
		st.files[strings.TrimPrefix(p, "static/")] = &staticFile{body: b, contentType: ct, version: hex.EncodeToString(sum[:6])}
		return nil
	})
	return st, err
}

// url is the versioned address of a static file, for templates.
func (st *staticFiles) url(name string) string {
	f, ok := st.files[name]
	if !ok {
		return "/static/" + name
	}
	return "/static/" + name + "?v=" + f.version
}

func (st *staticFiles) serve(s *Server) gin.HandlerFunc {
	return func(c *gin.Context) {
		f, ok := st.files[strings.TrimPrefix(c.Param("file"), "/")]
		if !ok {
			s.renderNotFound(c)
			return
		}
		h := c.Writer.Header()
		if c.Query("v") == f.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=300")
		}
		h.Set("ETag", `"`+f.version+`"`)
		h.Set("Content-Type", f.contentType)
		// ServeContent answers If-None-Match with 304 and HEAD without a body.
		http.ServeContent(c.Writer, c.Request, "", time.Time{}, bytes.NewReader(f.body))
	}
}
