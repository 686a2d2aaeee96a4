package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	_ "github.com/mattn/go-sqlite3"
)

// benchBaseline serves the bare baseline that eventreg bench compares with:
// in "signup" mode a gin handler doing one SQLite transaction per sign-up
// (guarded counter update and insert; WAL, synchronous=NORMAL, one
// connection), in "json" mode a gin handler answering a small JSON body.
// It is what a naive server does, with far fewer rules.
func benchBaseline(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	if len(args) != 1 || (args[0] != "signup" && args[0] != "json") {
		return errors.New("usage: eventreg bench-baseline signup|json")
	}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/readyz", func(c *gin.Context) { c.JSON(200, gin.H{"status": "ready"}) })
	r.GET("/json", func(c *gin.Context) {
		c.JSON(200, gin.H{"items": []gin.H{{"slug": "allegro", "title": "Allegro助力汽車電氣化", "status": "open", "cta": "火熱報名中"}}})
	})
	if args[0] == "signup" {
		path := getenv("EVENTREG_DB")
		if path == "" {
			path = "baseline.db"
		}
		db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&_txlock=immediate")
		if err != nil {
			return err
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		for _, q := range []string{
			`CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, capacity INTEGER, confirmed INTEGER NOT NULL DEFAULT 0)`,
			`CREATE TABLE IF NOT EXISTS registrations (id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL, name TEXT, email TEXT, status TEXT, created_at TIMESTAMP)`,
			`INSERT OR IGNORE INTO events (id, capacity) VALUES (1, 10000000)`,
		} {
			if _, err := db.Exec(q); err != nil {
				return err
			}
		}
		r.POST("/api/v1/events/:slug/registrations", func(c *gin.Context) {
			var in struct{ Name, Email string }
			if err := c.ShouldBindJSON(&in); err != nil {
				c.JSON(400, gin.H{"error": err.Error()})
				return
			}
			tx, err := db.BeginTx(c.Request.Context(), nil)
			if err != nil {
				c.JSON(503, gin.H{"error": err.Error()})
				return
			}
			defer tx.Rollback()
			res, err := tx.Exec(`UPDATE events SET confirmed = confirmed + 1 WHERE id = 1 AND (capacity IS NULL OR confirmed < capacity)`)
			if err != nil {
				c.JSON(503, gin.H{"error": err.Error()})
				return
			}
			status := "confirmed"
			if n, _ := res.RowsAffected(); n == 0 {
				status = "waitlisted"
			}
			var id int64
			if err := tx.QueryRow(`INSERT INTO registrations (event_id, name, email, status, created_at) VALUES (1, ?, ?, ?, ?) RETURNING id`,
				in.Name, strings.ToLower(in.Email), status, time.Now().UTC()).Scan(&id); err != nil {
				c.JSON(503, gin.H{"error": err.Error()})
				return
			}
			if err := tx.Commit(); err != nil {
				c.JSON(503, gin.H{"error": err.Error()})
				return
			}
			c.JSON(201, gin.H{"id": id, "status": status})
		})
	}
	addr := getenv("EVENTREG_ADDR")
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintln(stderr, "baseline listening on", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
