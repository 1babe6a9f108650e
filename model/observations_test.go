package model

import (
	"encoding/json"
	"math"
	"testing"
)

func TestBucketsWriteAnInfiniteBoundAsPrometheusDoes(t *testing.T) {
	in := []Bucket{{UpperBound: 0.25, Count: 3}, {UpperBound: math.Inf(1), Count: 5}}
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	if want := `[{"le":0.25,"count":3},{"le":"+Inf","count":5}]`; string(data) != want {
		t.Errorf("JSON = %s, want %s", data, want)
	}
	var back []Bucket
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if len(back) != 2 || back[0] != in[0] || !math.IsInf(back[1].UpperBound, 1) || back[1].Count != 5 {
		t.Errorf("round trip = %+v, want %+v", back, in)
	}
	var str Bucket
	if err := json.Unmarshal([]byte(`{"le":"0.5","count":1}`), &str); err != nil || str.UpperBound != 0.5 {
		t.Errorf(`le "0.5" read as %+v, %v`, str, err)
	}
	if err := json.Unmarshal([]byte(`{"le":"lots","count":1}`), &str); err == nil {
		t.Error(`le "lots" gave no error`)
	}
	if _, err := json.Marshal(Bucket{UpperBound: math.NaN()}); err == nil {
		t.Error("a NaN bound was written")
	}
}
