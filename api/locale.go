package api

import (
	"github.com/gin-gonic/gin"
	"golang.org/x/text/language"
)

var (
	localeTags    = []language.Tag{language.English, language.SimplifiedChinese, language.TraditionalChinese}
	localeNames   = []string{"en", "zh-Hans", "zh-Hant"}
	localeMatcher = language.NewMatcher(localeTags)
)

// supportedLocale maps any spelling of a supported locale (zh-CN, zh_TW,
// zh-hant, en-GB) to its canonical name, or "".
func supportedLocale(s string) string {
	if s == "" {
		return ""
	}
	tag, err := language.Parse(s)
	if err != nil {
		return ""
	}
	_, i, conf := localeMatcher.Match(tag)
	if conf < language.High {
		return ""
	}
	return localeNames[i]
}

// acceptLocale picks from an Accept-Language header: zh-CN and zh-SG give
// zh-Hans, zh-TW and zh-HK give zh-Hant.
func acceptLocale(header string) string {
	if header == "" {
		return ""
	}
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return ""
	}
	_, i, conf := localeMatcher.Match(tags...)
	if conf <= language.No {
		return ""
	}
	return localeNames[i]
}

// locale is the request's language: ?lang=, then the lang cookie (pages),
// then Accept-Language, then the configured default.
func (s *Server) locale(c *gin.Context) string {
	if l := supportedLocale(c.Query("lang")); l != "" {
		return l
	}
	if ck, err := c.Cookie("lang"); err == nil {
		if l := supportedLocale(ck); l != "" {
			return l
		}
	}
	if l := acceptLocale(c.GetHeader("Accept-Language")); l != "" {
		return l
	}
	return s.svc.DefaultLocale()
}
