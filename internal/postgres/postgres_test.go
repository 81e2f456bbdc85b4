package postgres

import (
	"context"
	"testing"

	"github.com/hepclinic/hep/internal/hep"
	"github.com/hepclinic/hep/internal/hep/heptest"
	"github.com/hepclinic/hep/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// migratedTemplate is the database every test's database is copied from:
// migrated once per test binary.
func migratedTemplate(t testing.TB) string {
	t.Helper()
	return pgtest.Template(t, "hep_migrated", func(ctx context.Context, url string) error {
		_, err := Migrate(ctx, url)
		return err
	})
}

// newURL returns the URL of a fresh, migrated database, dropped when t
// ends.
func newURL(t testing.TB) string {
	t.Helper()
	return pgtest.NewDatabase(t, migratedTemplate(t))
}

func openTest(t testing.TB, url string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), url, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// openConformance opens a fresh store for the suites in heptest.
func openConformance(t *testing.T, clock hep.Clock) hep.Store {
	return openTest(t, newURL(t), WithClock(clock))
}

func TestConformance(t *testing.T) {
	heptest.Run(t, openConformance)
}

func TestProperty(t *testing.T) {
	heptest.RunProperty(t, openConformance)
}
