// Package readfile reads the files headroom is given (scenarios, configs,
// documents) with a size limit, so that a wrong path such as /dev/zero or a
// multi-gigabyte file ends with a clear error instead of exhausting memory.
package readfile

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Limits of the kinds of files headroom reads.
const (
	// Config bounds a configuration file: serve's config, token files,
	// topology, prices, the resource catalog.
	Config int64 = 4 << 20
	// Document bounds a document another command wrote: run.json,
	// analysis.json, plan.json, a dashboard.
	Document int64 = 256 << 20
)

// ErrTooLarge is wrapped by the error of a file over its limit.
var ErrTooLarge = errors.New("file too large")

// Read reads the file at path, refusing one over limit bytes. A regular
// file is refused by its size before it is read; anything else (a device,
// a pipe) is read up to the limit.
func Read(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > limit {
		return nil, fmt.Errorf("%w: %q is %s, more than the limit of %s (is it the right file?)", ErrTooLarge, path, Size(fi.Size()), Size(limit))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %q holds more than the limit of %s (is it the right file?)", ErrTooLarge, path, Size(limit))
	}
	return data, nil
}

// Size formats a byte count in the largest binary unit that keeps it whole
// or, failing that, with one decimal.
func Size(n int64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	v, u := float64(n), 0
	for v >= 1024 && u < len(units)-1 {
		v /= 1024
		u++
	}
	if u == 0 || v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[u])
	}
	return fmt.Sprintf("%.1f %s", v, units[u])
}
