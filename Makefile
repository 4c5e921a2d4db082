# Every target CI uses is here; CI (.ci/run) calls `make test`, exactly as you do.
PYTHON ?= python3
BIN := .venv/bin
export PYTHONDONTWRITEBYTECODE := 1

.DEFAULT_GOAL := help
.PHONY: help setup browser up down status demo check generate test test-unit test-integration lint format clean bench

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-18s %s\n", $$1, $$2}'

setup: ## Virtualenv + engine jars from Maven Central (idempotent, cached in ~/.cache/rta)
	@$(PYTHON) -m stack.bootstrap

browser: ## Debian's Chromium + ChromeDriver for the browser tests (apt-get as root, when missing)
	@$(PYTHON) -m stack.bootstrap --browser

up: setup ## Start Kafka, Flink and Pinot on 127.0.0.1 and wait until ready
	@$(BIN)/rta up

down: ## Stop every engine process (by PID)
	@if [ -x $(BIN)/rta ]; then $(BIN)/rta down; else echo "nothing set up"; fi

status: ## Show each engine's processes, memory and readiness
	@$(BIN)/rta status

demo: up ## Set up, start the stack, provision, run the API and the generator, print URLs and curl lines
	@$(BIN)/python -m stack.demo

check: setup lint ## The fast tier (about a minute, no engines): lint, types, generated files up to date, unit tests but the slow ones
	@$(BIN)/rta generate --check
	@$(BIN)/pytest tests/unit -m "not slow" -q

generate: setup ## Rewrite the Flink SQL and Pinot files generated from core/ (the dataset registry)
	@$(BIN)/rta generate

test: setup browser lint ## Set up, lint, and run the whole suite (unit + integration on the real engines)
	@$(BIN)/rta generate --check
	@$(BIN)/pytest

test-unit: setup ## Unit tests only (no engines)
	@$(BIN)/pytest tests/unit

test-integration: setup browser ## Integration tests only (starts a real test stack on ports +10000)
	@$(BIN)/pytest tests/integration

# `make bench` knobs: sustained rates tried for 5 minutes each, the target rate (given up once the newest
# event in Pinot is a minute old), the long freshness run and the rest after it, a cold start.
BENCH_RATES ?= 1500 2500 3500 4500 5500
BENCH_SUSTAINED_S ?= 300
BENCH_TARGET_RATE ?= 10000
BENCH_TARGET_S ?= 1800
BENCH_THROUGHPUT_EVENTS ?= 1000000
BENCH_FRESHNESS_RATE ?= 1500
BENCH_FRESHNESS_S ?= 1920
BENCH_REST_S ?= 300
BENCH_API_S ?= 10
BENCH_BUDGET_RATE ?= 2000
BENCH_BUDGET_S ?= 180
BENCH_COLD ?= 1
BENCH := RTA_RUN_DIR=$(CURDIR)/.run/bench

bench: setup ## Every benchmark, on a fresh stack in .run/bench (stops the demo stack: same ports; ~100 min)
	@$(BIN)/rta down
	@$(BENCH) $(BIN)/rta down  # a previous bench run's engines, before their pid files go
	@rm -rf .run/bench
	@mkdir -p bench/results && git rev-parse --short HEAD > bench/results/.started  # bench.report: this run's results and commit
	@$(BENCH) $(BIN)/rta up --no-pipeline
	@$(BENCH) $(BIN)/python -m bench.generator --kafka
	@$(BENCH) $(BIN)/python -m bench.flink_stage
	@$(BENCH) $(BIN)/python -m bench.pipeline_throughput --events $(BENCH_THROUGHPUT_EVENTS)
	@$(BENCH) $(BIN)/rta down  # the rest starts on a fresh stack, without the replay's state
	@rm -rf .run/bench
	@$(BENCH) $(BIN)/rta up
	@$(BENCH) $(BIN)/python -m bench.budget --rate $(BENCH_BUDGET_RATE) --duration $(BENCH_BUDGET_S)
	@$(BENCH) $(BIN)/python -m bench.sustained $(foreach r,$(BENCH_RATES),--rate $(r)) --duration $(BENCH_SUSTAINED_S)
	@$(BENCH) $(BIN)/python -m bench.sustained --rate $(BENCH_TARGET_RATE) --duration $(BENCH_TARGET_S) --give-up-delay-s 60
	@$(BENCH) $(BIN)/python -m bench.sustained --rate $(BENCH_FRESHNESS_RATE) --duration $(BENCH_FRESHNESS_S)
	@$(BENCH) $(BIN)/python -m bench.at_rest --seconds $(BENCH_REST_S)
	@$(BENCH) $(BIN)/python -m bench.api_latency
	@$(BENCH) $(BIN)/python -m bench.api_load --seconds $(BENCH_API_S)
	@$(BENCH) $(BIN)/rta down
	@$(BIN)/python -m bench.startup $(if $(filter 1,$(BENCH_COLD)),--cold,--no-cold)
	@$(BIN)/python -m bench.api_cost  # in process, no engines
	@$(BIN)/python -m bench.report

lint: setup ## ruff + mypy
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

format: setup ## Apply ruff's formatting and safe fixes
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

clean: down ## Stop everything and delete run data (keeps the download cache)
	rm -rf .run
