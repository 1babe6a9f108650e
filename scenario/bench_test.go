package scenario

import (
	"os"
	"testing"
)

func BenchmarkParseCheckout(b *testing.B) {
	data, err := os.ReadFile("../examples/scenarios/checkout.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data, "checkout.yaml"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalCheckout(b *testing.B) {
	s, err := ReadFile("../examples/scenarios/checkout.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(s); err != nil {
			b.Fatal(err)
		}
	}
}
