package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchRuns keeps `maildesk bench` working: a tiny run of every part,
// with the real binary as the child. It checks the figures exist and that
// exactly-once held (benchThroughput fails otherwise), not how fast.
func TestBenchRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several daemons")
	}
	t.Setenv("MAILDESK_RUN_MAIN", "1") // the children are this test binary running main
	out := t.TempDir()
	var table strings.Builder
	o := benchOptions{Messages: 60, Latency: 5, Scale: []int{0, 150}, ScaleMessages: 30, Runs: 2, Seed: 7, OutDir: out}
	if err := runBench(context.Background(), o, &table); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(files) != 1 {
		t.Fatalf("results: %v", files)
	}
	data, _ := os.ReadFile(files[0])
	var r benchResult
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Throughput == nil || r.Throughput.Tickets != r.Throughput.NewTickets || r.Throughput.BaselinePerSecond <= 0 ||
		r.Latency == nil || r.Latency.Messages != 5 || len(r.Scale) != 2 || r.Scale[1].Existing != 150 ||
		len(r.Throughput.Runs) != 2 || len(r.Scale[0].Runs) != 2 || len(r.Scale[1].Runs) != 2 {
		t.Fatalf("result = %s", data)
	}
	for _, want := range []string{"THROUGHPUT", "LATENCY", "SCALE"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %s:\n%s", want, table.String())
		}
	}
}
