// Package templates holds every embedded file of eventreg: page templates,
// email templates (HTML and text), the stylesheet and the locale catalogs.
package templates

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"strings"
	"sync"
)

//go:embed pages email locales static
var files embed.FS

// FS is the tree of embedded files: pages/, email/, locales/, static/.
var FS fs.FS = files

// Locales are the supported locales, default first.
var Locales = []string{"en", "zh-Hans", "zh-Hant"}

var (
	catalogOnce sync.Once
	catalogs    map[string]map[string]string
	catalogErr  error
)

func loadCatalogs() {
	catalogs = make(map[string]map[string]string, len(Locales))
	for _, loc := range Locales {
		// Each locale is a folder of flat JSON catalogs (key → format string),
		// one file per area (common, pages, email, console), merged.
		m := map[string]string{}
		names, err := fs.Glob(files, "locales/"+loc+"/*.json")
		if err != nil {
			catalogErr = err
			return
		}
		for _, name := range names {
			b, err := files.ReadFile(name)
			if err != nil {
				catalogErr = err
				return
			}
			part := map[string]string{}
			if err := json.Unmarshal(b, &part); err != nil {
				catalogErr = fmt.Errorf("%s: %w", name, err)
				return
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					catalogErr = fmt.Errorf("%s: key %q defined twice", name, k)
					return
				}
				m[k] = v
			}
		}
		catalogs[loc] = m
	}
}

// Check reports a broken catalog; callers run it once at start.
func Check() error {
	catalogOnce.Do(loadCatalogs)
	return catalogErr
}

// SupportedLocale returns loc when it is one of Locales, else "".
func SupportedLocale(loc string) string {
	for _, l := range Locales {
		if strings.EqualFold(l, loc) {
			return l
		}
	}
	return ""
}

// T looks key up in the catalog of locale, falling back to English and then to
// the key itself, and formats it with args when any are given.
func T(locale, key string, args ...any) string {
	catalogOnce.Do(loadCatalogs)
	s, ok := catalogs[locale][key]
	if !ok {
		s, ok = catalogs["en"][key]
	}
	if !ok {
		s = key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Keys lists every key of a locale's catalog, for completeness tests.
func Keys(locale string) []string {
	catalogOnce.Do(loadCatalogs)
	keys := make([]string, 0, len(catalogs[locale]))
	for k := range catalogs[locale] {
		keys = append(keys, k)
	}
	return keys
}
