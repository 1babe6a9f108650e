// Package analyzer is the pure math over a run's collected series: it fits
// the Universal Scalability Law to throughput against concurrency, finds the
// knees of throughput and latency curves, builds the stage table, finds the
// breaking points — a throughput plateau while load rises (saturation), an
// open-model run falling behind its offered rate, SLO and error crossings,
// retrograde throughput, the USL's peak — with their uncertainty and
// confidence, and does bottleneck attribution, baseline comparison,
// repeatability and soak drift.
//
// The package does no I/O and logs nothing: inputs are plain slices and model
// types, results are model types, and doubts about a result are recorded in
// the result itself (model.USL.Notes and Confidence), never printed.
// Every formula cites its source, and the tests check the numbers against
// published reference values.
package analyzer
