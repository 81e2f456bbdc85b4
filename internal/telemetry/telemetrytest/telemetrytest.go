// Package telemetrytest reads a Prometheus metrics endpoint in tests: it
// scrapes over HTTP and parses the text exposition into samples keyed by
// series, so that a test can compare counters before and after a call.
package telemetrytest

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Samples are the samples of one scrape, by series: the metric name and
// its labels as the exposition spells them, such as
// `hep_push_records_total{result="applied"}` (client_golang writes labels
// sorted by name).
type Samples map[string]float64

// Get returns the sample of series, or 0 when it is absent (a counter not
// yet incremented).
func (s Samples) Get(series string) float64 { return s[series] }

// Delta returns how much series moved from before to s.
func (s Samples) Delta(before Samples, series string) float64 { return s[series] - before[series] }

// Scrape GETs url (text format) and returns the body; any failure or a
// status other than 200 fails the test.
func Scrape(t testing.TB, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("scraping %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("scraping %s: %s\n%s", url, resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scraping %s: Content-Type %q, want the text format", url, ct)
	}
	return string(body)
}

// Parse reads a text exposition (comments skipped, no timestamps). A line
// it cannot read fails the test.
func Parse(t testing.TB, text string) Samples {
	t.Helper()
	s := Samples{}
	for line := range strings.SplitSeq(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("exposition line without a value: %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("exposition line %q: %v", line, err)
		}
		s[line[:i]] = v
	}
	return s
}
