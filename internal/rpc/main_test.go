package rpc

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/hepclinic/hep/internal/pgtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if template.path != "" {
		os.RemoveAll(filepath.Dir(template.path))
	}
	// The PostgreSQL benchmarks (bench_postgres_test.go) start a cluster
	// for the binary: stop and remove it.
	if err := pgtest.Shutdown(); err != nil {
		fmt.Fprintln(os.Stderr, "rpc: stopping PostgreSQL:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}
