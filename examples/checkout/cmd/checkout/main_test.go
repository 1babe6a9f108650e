package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // empty: run must serve until its context ends
	}{
		{"the sim backend serves until the context ends", []string{"--backend", "sim", "--listen", "127.0.0.1:0"}, ""},
		{"an unknown backend is an error", []string{"--backend", "mongo"}, "backend"},
		{"an order hold below one millisecond is an error", []string{"--backend", "sim", "--order-db-ms", "0"}, "--order-db-ms"},
		{"an unknown flag is an error", []string{"--nope"}, "flag provided but not defined"},
		{"a stray argument is an error", []string{"--backend", "sim", "extra"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, tt.args, &stdout, &stderr)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("run() = %v; stderr:\n%s", err, stderr.String())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error()+stderr.String(), tt.wantErr)):
				t.Fatalf("run() = %v, want an error mentioning %q; stderr:\n%s", err, tt.wantErr, stderr.String())
			}
			if tt.wantErr == "" && !strings.Contains(stderr.String(), "checkout listening") {
				t.Errorf("stderr does not log the listen address:\n%s", stderr.String())
			}
		})
	}
}
