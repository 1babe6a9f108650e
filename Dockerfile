# syntax=docker/dockerfile:1
#
# headroom's container images, built from the repository root:
#
#   docker build -t headroom .                                  # headroom (the default, last stage)
#   docker build --target checkout -t headroom-checkout .       # the checkout demo
#
# The TypeScript parser behind `headroom generate --express` is tree-sitter,
# C code built with cgo, so headroom links against glibc: the runtime is
# Debian slim (glibc, CA certificates for HTTPS remote write, curl for
# container healthchecks), not scratch. Both images run as the unprivileged
# user headroom (uid 65532). deploy/deploy_test.go checks this file.

ARG GO_VERSION=1.26.8
ARG DEBIAN_RELEASE=bookworm

# ---------------------------------------------------------------- build
FROM golang:${GO_VERSION}-${DEBIAN_RELEASE} AS build
WORKDIR /src
ENV GOFLAGS=-buildvcs=false
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# headroom needs cgo (tree-sitter); the checkout demo is pure Go.
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
	CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/headroom ./cmd/headroom && \
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/checkout ./examples/checkout/cmd/checkout

# -------------------------------------------------------------- runtime
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update && \
	apt-get install -y --no-install-recommends ca-certificates curl && \
	rm -rf /var/lib/apt/lists/* && \
	groupadd --system --gid 65532 headroom && \
	useradd --system --uid 65532 --gid 65532 --home-dir /var/lib/headroom --shell /usr/sbin/nologin headroom && \
	mkdir -p /var/lib/headroom/runs && \
	chown -R 65532:65532 /var/lib/headroom

# ------------------------------------------------------------- checkout
FROM runtime AS checkout
COPY --from=build /out/checkout /usr/local/bin/checkout
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/checkout"]
CMD ["--listen", ":8080"]

# ------------------------------------------------------------- headroom
FROM runtime AS headroom
COPY --from=build /out/headroom /usr/local/bin/headroom
# Example scenarios, for `headroom run /usr/share/headroom/scenarios/...`.
COPY examples/scenarios /usr/share/headroom/scenarios
USER 65532:65532
WORKDIR /var/lib/headroom
# headroom serve (API, /healthz, /readyz, /metrics); `headroom run
# --metrics-addr 0.0.0.0:9464` serves a runner's load metrics on 9464.
EXPOSE 8090 9464
ENTRYPOINT ["/usr/local/bin/headroom"]
CMD ["serve", "--listen", "0.0.0.0:8090", "--data-dir", "/var/lib/headroom"]
