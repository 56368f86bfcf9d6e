# driftd — the two commands a newcomer needs:
#   make demo   start the local Kafka and ClickHouse and run the main job
#   make test   start them and run every test against them
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

LOCAL      ?= $(CURDIR)/.local
BIN        ?= $(CURDIR)/bin
KAFKA      ?= 127.0.0.1:19092
KAFKA_SASL ?= 127.0.0.1:19094
KAFKA_TLS  ?= 127.0.0.1:19095
CLICKHOUSE ?= 127.0.0.1:19000
VERSION    ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GO_TEST_FLAGS ?= -race -shuffle=on -count=1 -timeout=20m

export DRIFTD_LOCAL_DIR := $(LOCAL)
export DRIFTD_PROBE := $(LOCAL)/bin/probe

.PHONY: help
help:
	@echo "make demo           start services and run the demo"
	@echo "make test           start services, vet, and run all tests against them"
	@echo "make bench          end-to-end benchmark against the kafka-go ceiling and the peers"
	@echo "make bench-go       per-event micro-benchmarks (go test -bench)"
	@echo "make build          build bin/driftd"
	@echo "make services-up    start local Kafka ($(KAFKA)) and ClickHouse ($(CLICKHOUSE))"
	@echo "make services-down  stop them"

.PHONY: build
build:
	go build -trimpath -ldflags "-X main.version=$(VERSION)" -o $(BIN)/driftd ./cmd/driftd

$(LOCAL)/bin/probe: $(wildcard deploy/local/probe/*.go) go.mod go.sum
	go build -o $@ ./deploy/local/probe

.PHONY: services-up
services-up: $(LOCAL)/bin/probe
	deploy/local/kafka.sh up
	deploy/local/clickhouse.sh up

.PHONY: services-down
services-down:
	deploy/local/kafka.sh down
	deploy/local/clickhouse.sh down

.PHONY: services-status
services-status:
	@deploy/local/kafka.sh status
	@deploy/local/clickhouse.sh status

# The HTML report test renders pages in Debian's headless Chromium.
.PHONY: test-tools
test-tools:
	@command -v chromium >/dev/null || { echo "installing chromium (Debian package) for the report rendering test"; \
		sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq chromium >/dev/null; }

.PHONY: lint
lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	go vet ./...

# testdata/stats is a verbatim copy of ../shared/fixtures/stats (the scipy /
# scikit-learn reference cases); the diff keeps it so wherever shared/ is beside us.
.PHONY: test
test: services-up test-tools lint build
	DRIFTD_TEST_KAFKA_BROKERS=$(KAFKA) DRIFTD_TEST_KAFKA_SASL_BROKERS=$(KAFKA_SASL) \
		DRIFTD_TEST_KAFKA_TLS_BROKERS=$(KAFKA_TLS) DRIFTD_TEST_KAFKA_TLS_DIR=$(LOCAL)/kafka/tls DRIFTD_TEST_CLICKHOUSE_ADDR=$(CLICKHOUSE) DRIFTD_REQUIRE_SERVICES=1 \
		go test $(GO_TEST_FLAGS) -v ./... 2>&1 | tee $(LOCAL)/go-test.log | grep -E '^(=== RUN|--- |ok |FAIL|PASS|panic|\s+\S+_test\.go)' | grep -v '^=== RUN'
	@echo "full go test log: $(LOCAL)/go-test.log"
	if [ -d ../shared/fixtures/stats ]; then diff -r ../shared/fixtures/stats testdata/stats; fi
	python3 testdata/stats/check.py --driftd $(BIN)/driftd
	@echo "tests: $$(grep -c -- '--- PASS' $(LOCAL)/go-test.log) passed, $$(grep -c -- '--- FAIL' $(LOCAL)/go-test.log) failed, $$(grep -c -- '--- SKIP' $(LOCAL)/go-test.log) skipped"

# The benchmark (docs/benchmarks.md): loads Kafka once with BENCH_EVENTS
# simulated events, measures driftd against a consume-only ceiling and its
# peers, prints one table and writes the figures to BENCH_OUT.
BENCH_EVENTS    ?= 2000000
BENCH_PEER_ROWS ?= 1000000
BENCH_OUT       ?= bench-results.json
BENCH_VENV      ?= $(LOCAL)/bench-venv

.PHONY: bench
bench: services-up build
	@stamp=$(BENCH_VENV)/.requirements-$$(sha256sum deploy/bench/requirements.txt | cut -c1-16); \
	if [ ! -f $$stamp ]; then \
		py=$$(command -v python3.11 || command -v python3 || true); \
		if [ -z "$$py" ]; then echo "bench: no python3; the peers will be reported as not run"; \
		else echo "bench: installing the peers (deploy/bench/requirements.txt) into $(BENCH_VENV)"; \
			{ "$$py" -m venv $(BENCH_VENV) && $(BENCH_VENV)/bin/pip install -q -r deploy/bench/requirements.txt && touch $$stamp; } \
				|| echo "bench: installing the peers failed; the table will say so"; fi; \
	fi
	go run ./deploy/bench -driftd $(BIN)/driftd -probe $(LOCAL)/bin/probe -python $(BENCH_VENV)/bin/python \
		-kafka $(KAFKA) -clickhouse $(CLICKHOUSE) -events $(BENCH_EVENTS) -peer-rows $(BENCH_PEER_ROWS) \
		-out $(BENCH_OUT) -dir $(LOCAL)/bench -broker-pid-file $(LOCAL)/kafka/kafka.pid -clickhouse-pid-file $(LOCAL)/clickhouse/clickhouse.pid

# Per-event and per-window costs (ns/op, allocs/op) of the hot paths,
# without services: the accumulators, the decoder, the join store, the
# generator. Compare runs with benchstat.
.PHONY: bench-go
bench-go:
	go test -run '^$$' -bench . -benchmem -count=1 -benchtime=1s ./stats ./processor ./internal/simulate ./alerts

.PHONY: demo
demo: services-up build
	go build -o $(LOCAL)/bin/demo ./deploy/demo
	$(LOCAL)/bin/demo --driftd $(BIN)/driftd --probe $(LOCAL)/bin/probe --kafka $(KAFKA) --clickhouse $(CLICKHOUSE) --dir $(LOCAL)/demo
