// Package scenario reads and writes scenario files: YAML (or JSON) documents
// of model.Scenario, with every problem reported as file:line:col, the
// field's path and what was expected.
//
// ReadFile and Parse decode a document, apply model.Scenario.SetDefaults and
// run model.Scenario.Validate; Marshal and Write produce clean YAML that
// Parse reads back to the same scenario; FromQuick builds a one-URL scenario
// from k6-style command-line flags (--vus, --duration, --stage, --rate).
//
// A minimal scenario:
//
//	name: quick
//	target: http://127.0.0.1:8080
//	flows:
//	  - name: health
//	    steps:
//	      - method: GET
//	        path: /healthz
//	executors:
//	  - type: constant-vus
//	    vus: 10
//	    duration: 30s
//	thresholds:
//	  http_req_duration: ["p(95)<800"]
package scenario
