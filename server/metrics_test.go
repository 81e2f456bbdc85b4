//go:build unix

package main

import (
	"errors"
	"testing"
)

func TestMetricsAddr(t *testing.T) {
	tests := []struct {
		listen  string
		public  bool
		want    string
		wantErr bool
	}{
		{"", false, "", false},
		{"9090", false, "127.0.0.1:9090", false},
		{":9090", false, "127.0.0.1:9090", false},
		{"127.0.0.1:9090", false, "127.0.0.1:9090", false},
		{"localhost:0", false, "localhost:0", false},
		{"[::1]:9090", false, "[::1]:9090", false},
		{"0.0.0.0:9090", false, "", true},
		{"10.1.2.3:9090", false, "", true},
		{"0.0.0.0:9090", true, "0.0.0.0:9090", false},
		{"10.1.2.3:9090", true, "10.1.2.3:9090", false},
		{"metrics", false, "", true},
		{"127.0.0.1:", false, "", true},
		{"127.0.0.1:70000", false, "", true},
		{"::1", false, "", true},
	}
	for _, tt := range tests {
		got, err := metricsAddr(tt.listen, tt.public)
		if got != tt.want || (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, errUsage)) {
			t.Errorf("metricsAddr(%q, %v) = %q, %v; want %q, error %v (a usage error)", tt.listen, tt.public, got, err, tt.want, tt.wantErr)
		}
	}
}
