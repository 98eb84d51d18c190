# govgraph: `make demo` runs the gateway over the demo city, `make test` runs every test but the
# fleet's, `make test-fleet` those (two gateway hosts behind HAProxy: apt-get install haproxy).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
# JavaScript clients the tests drive (graphql-http's audit, Apollo Client), where npm is.
JS_STAMP := tests/js/node_modules/.installed
NPM := $(shell command -v npm)

.PHONY: demo test test-fleet check bench bench-sizing bench-audit bench-differential schema catalog-docs clean

# Development: the tests, linters and every extra (dev pulls in demo and otel).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(JS_STAMP): tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --loglevel=error
	touch $(JS_STAMP)

# The demo needs only the gateway and the demo extra (an embedded PostgreSQL).
$(DEMO_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[demo]'
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/govgraph demo $(ARGS)

test: $(STAMP) $(if $(NPM),$(JS_STAMP))
	$(BIN)/python -m pytest -m "not fleet" $(PYTEST_ARGS)

test-fleet: $(STAMP)
	$(BIN)/python -m pytest -m fleet -s $(PYTEST_ARGS)

# The benchmarks (bench/results.md), then what a core serves per operation (bench/sizing.md),
# then the audit log at 10,000,000 events (bench/audit_scale.md; GOVGRAPH_BENCH_AUDIT_EVENTS),
# then the plan executor against Strawberry's on many more generated queries than `make test`.
bench: $(STAMP)
	$(BIN)/python -m bench.run $(ARGS)
	$(BIN)/python -m bench.sizing $(SIZING_ARGS)
	$(BIN)/python -m bench.audit_scale $(AUDIT_ARGS)
	$(MAKE) bench-differential

bench-differential: $(STAMP)
	GOVGRAPH_DIFFERENTIAL_EXAMPLES=20000 \
		$(BIN)/python -m pytest -p no:cacheprovider tests/gateway/test_plan_differential.py

bench-sizing: $(STAMP)
	$(BIN)/python -m bench.sizing $(SIZING_ARGS)

bench-audit: $(STAMP)
	$(BIN)/python -m bench.audit_scale $(AUDIT_ARGS)

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/govgraph export-schema > schema.graphql
	$(BIN)/govgraph export-schema --console > console.graphql

# docs/catalog.md ends with the catalogue as `govgraph catalog` prints it.
catalog-docs: $(STAMP)
	$(BIN)/govgraph catalog --update-page docs/catalog.md

clean:
	rm -rf $(VENV) tests/js/node_modules .govgraph .pytest_cache .mypy_cache .ruff_cache
