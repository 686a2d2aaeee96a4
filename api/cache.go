package api

import (
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// responseCache keeps recent answers of public GETs, by URL and language.
type responseCache struct {
	mu      sync.Mutex
	entries map[string]cachedResponse
}

type cachedResponse struct {
	at          time.Time
	status      int
	contentType string
	body        []byte
}

const maxCacheEntries = 1000

// serve answers from the cache when it can, else renders with fill and keeps
// the answer, when it is a 200, for ttl. The public list and the events box
// are read far more than anything changes, and a second of staleness in a
// status or a seat count is not visible to anyone; sign-ups never go
// through this cache. A ttl of 0 turns it off.
func (rc *responseCache) serve(c *gin.Context, ttl time.Duration, key string, fill func() (status int, contentType string, body []byte, err error)) error {
	now := time.Now()
	rc.mu.Lock()
	e, ok := rc.entries[key]
	rc.mu.Unlock()
	if ok && now.Sub(e.at) < ttl {
		writeBody(c, e.status, e.contentType, e.body)
		return nil
	}
	status, ct, body, err := fill()
	if err != nil {
		return err
	}
	if status == 200 && ttl > 0 {
		rc.mu.Lock()
		if rc.entries == nil || len(rc.entries) >= maxCacheEntries {
			rc.entries = map[string]cachedResponse{}
		}
		rc.entries[key] = cachedResponse{at: now, status: status, contentType: ct, body: body}
		rc.mu.Unlock()
	}
	writeBody(c, status, ct, body)
	return nil
}

// writeBody answers with a known length: net/http then sends one plain body
// instead of chunks.
func writeBody(c *gin.Context, status int, contentType string, body []byte) {
	h := c.Writer.Header()
	// Canonical keys, set straight: this is the path of every cached page.
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h["Content-Type"] = []string{contentType}
	c.Status(status)
	_, _ = c.Writer.Write(body) // net/http drops it for HEAD
}
