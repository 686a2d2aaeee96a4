package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"eventreg/registration"
)

// demoEvents are the six entries of a technology portal's "latest events"
// box, dated relative to now so that open, filling fast, download, offer and
// replay all show.
func demoEvents(now time.Time) []map[string]any {
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	day := func(days int, hour int) string {
		d := now.In(shanghai).AddDate(0, 0, days)
		return time.Date(d.Year(), d.Month(), d.Day(), hour, 0, 0, 0, shanghai).Format(time.RFC3339)
	}
	return []map[string]any{
		{
			"slug": "murata-ar-vr", "kind": "online_conference", "organizer": "村田製作所 Murata",
			"title":                  "【在線會議】村田用於AR/VR設計開發解決方案",
			"summary":                "AR/VR 設計開發的元件與模組解決方案，線上發表與問答。",
			"registration_closes_at": day(28, 18), "capacity": 500,
			"join_url": "https://example.com/live/murata-ar-vr", "state": "published",
		},
		{
			"slug": "allegro-ev-chassis", "kind": "webinar", "organizer": "Allegro MicroSystems",
			"title":     "Allegro助力汽車電氣化和底盤解決方案優化在線研討會",
			"summary":   "電流感測、馬達驅動與底盤系統的最新方案。",
			"starts_at": day(41, 14), "ends_at": day(41, 16), "capacity": 20,
			"join_url": "https://example.com/webinar/allegro", "state": "published",
		},
		{
			"slug": "ofweek-2025-cio-summit", "kind": "online_summit", "organizer": "OFweek 維科網",
			"title":                  "OFweek2025中國智造CIO在線峰會",
			"summary":                "製造業 CIO 談數位轉型與智慧工廠。",
			"registration_closes_at": day(47, 18),
			"join_url":               "https://example.com/summit/cio-2025", "state": "published",
		},
		{
			"slug": "onsemi-treo", "kind": "offer", "organizer": "安森美 onsemi",
			"title":                  "【限時免費】安森美:Treo 平臺帶來出色的精密模擬",
			"summary":                "限時免費索取 Treo 平臺評估資料。",
			"registration_closes_at": day(57, 23),
			"join_url":               "https://example.com/offer/onsemi-treo", "state": "published",
		},
		{
			"slug": "smart-manufacturing-bluebook-2024", "kind": "download", "organizer": "OFweek 維科網",
			"title":                  "《2024智能製造產業高端化、智能化、綠色化發展藍皮書》",
			"summary":                "智能製造產業發展藍皮書，免費下載。",
			"registration_closes_at": day(245, 23),
			"download_url":           "https://example.com/download/bluebook-2024.pdf", "state": "published",
		},
		{
			"slug": "ofweek-2024-iot", "kind": "in_person", "organizer": "OFweek 維科網",
			"title":                 "【線下會議】OFweek 2024(第九屆)物聯網產業大會",
			"summary":               "第九屆物聯網產業大會，精彩回顧已上線。",
			"registration_opens_at": day(-400, 9), "starts_at": day(-330, 9), "ends_at": day(-329, 18),
			"location": "深圳會展中心", "replay_url": "https://example.com/replay/ofweek-2024-iot",
			"state": "published",
		},
	}
}

// loadDemo fills an empty database with the demo events and enough sign-ups
// for the Allegro webinar to be filling fast.
func loadDemo(ctx context.Context, svc *registration.Service, log *slog.Logger) error {
	existing, err := svc.Store().Events(ctx, registration.EventFilter{})
	if err != nil {
		return err
	}
	if len(existing) > 0 {
		log.Info("demo: database not empty, demo events not loaded")
		return nil
	}
	for _, ev := range demoEvents(svc.Now()) {
		ev["timezone"] = "Asia/Shanghai"
		raw := map[string]json.RawMessage{}
		for k, v := range ev {
			b, err := json.Marshal(v)
			if err != nil {
				return err
			}
			raw[k] = b
		}
		if _, err := svc.CreateEvent(ctx, raw); err != nil {
			return fmt.Errorf("%s: %w", ev["slug"], err)
		}
	}
	for i := 1; i <= 17; i++ {
		in := registration.SignupInput{
			Name: fmt.Sprintf("示範參加者 %d", i), Email: fmt.Sprintf("attendee%d@example.com", i),
			Company: "Example Ltd", Locale: "zh-Hant", Consent: true,
		}
		if _, err := svc.Signup(ctx, "allegro-ev-chassis", in, ""); err != nil {
			return err
		}
	}
	log.Info("demo: loaded six events and 17 sign-ups")
	return nil
}
