package api

import (
	"context"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"eventreg/registration"
)

// Metrics are eventreg's Prometheus metrics, on a registry of their own.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	signups   *prometheus.CounterVec
	delivered *prometheus.CounterVec
	delivery  *prometheus.HistogramVec
	lag       prometheus.Histogram
}

// NewMetrics registers the metrics; outbox rows by state are read from the
// store when scraped.
func NewMetrics(store *registration.Store) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventreg_http_requests_total", Help: "HTTP requests by route, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "eventreg_http_request_duration_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route", "method"}),
		signups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventreg_signups_total", Help: "Sign-ups by result: confirmed, waitlisted, duplicate, or the refusal code.",
		}, []string{"result"}),
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eventreg_mail_attempts_total", Help: "Delivery attempts by message kind and outcome (sent, retry, failed, skipped).",
		}, []string{"kind", "outcome"}),
		delivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "eventreg_mail_delivery_seconds", Help: "Time from a message falling due to its delivery, by kind.",
			Buckets: []float64{.1, .5, 1, 2, 5, 10, 30, 60, 300, 1800, 7200},
		}, []string{"kind"}),
		lag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "eventreg_reminder_lag_seconds", Help: "Reminder lag: sent time minus due time.",
			Buckets: []float64{.1, .5, 1, 2, 5, 10, 30, 60, 300, 1800},
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.signups, m.delivered, m.delivery, m.lag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if store != nil {
		m.reg.MustRegister(&outboxCollector{store: store, desc: prometheus.NewDesc("eventreg_outbox_messages",
			"Outbox rows by state.", []string{"status"}, nil)})
	}
	return m
}

// ObserveDelivery records one delivery attempt; the mail worker calls it.
func (m *Metrics) ObserveDelivery(kind, outcome string, dueAt, at time.Time) {
	if m == nil {
		return
	}
	m.delivered.WithLabelValues(kind, outcome).Inc()
	if outcome != registration.MsgSent {
		return
	}
	d := at.Sub(dueAt).Seconds()
	m.delivery.WithLabelValues(kind).Observe(d)
	if kind == registration.KindReminder {
		m.lag.Observe(d)
	}
}

func (m *Metrics) signup(result string) {
	if m != nil {
		m.signups.WithLabelValues(result).Inc()
	}
}

// middleware counts requests by route (never by raw path: paths hold tokens).
func (m *Metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(c.Writer.Status())).Inc()
		m.latency.WithLabelValues(route, c.Request.Method).Observe(time.Since(start).Seconds())
	}
}

func (m *Metrics) handler() gin.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return func(c *gin.Context) { h.ServeHTTP(c.Writer, c.Request) }
}

// outboxCollector reads the outbox by state at scrape time.
type outboxCollector struct {
	store *registration.Store
	desc  *prometheus.Desc
}

func (o *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

func (o *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := o.store.OutboxCounts(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(o.desc, err)
		return
	}
	for _, st := range msgStatuses {
		ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(counts[st]), st)
	}
}
