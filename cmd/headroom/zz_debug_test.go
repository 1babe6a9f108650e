package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/headroom-sh/headroom/analyzer"
)

func TestZZDumpObs(t *testing.T) {
	run := os.Getenv("ZZ_RUN")
	if run == "" {
		t.Skip()
	}
	e := &env{stdin: nil, stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.NewTextHandler(io.Discard, nil)), getenv: os.Getenv}
	f := &analyzeFlags{runFile: run, maxErrorRate: "5%", saturation: "90%", sloP95: analyzer.DefaultSLOP95, timeout: 30e9, step: 2e9, rateWindow: 4e9}
	opts, err := analyzeOptions(f)
	if err != nil {
		t.Fatal(err)
	}
	_, obs, _, err := analyzeWindowObs(context.Background(), e, f, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(obs)
	os.WriteFile(os.Getenv("ZZ_OUT"), b, 0o644)
}
