# netmon — run `make help` for the targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
LISTEN ?= 127.0.0.1:9580
# Debian packages the tests start for real: net-snmp's snmpd and CLI tools; the lab's keepalived,
# sshd and iproute2 (ip, bridge); Alertmanager (drill silences); prometheus-snmp-exporter, the
# peer the benchmark's ratios are measured against (the bench test fails without it); PostgreSQL,
# and Redis with libpq-dev for the real NetBox the tests install from PyPI (tests/netbox_server.py).
DEBS   := snmpd snmp keepalived frr openssh-server openssh-client iproute2 openssl prometheus-alertmanager prometheus prometheus-snmp-exporter postgresql redis-server libpq-dev

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck unit deps deps-system dashboards bench bench-full bench-deps soak fuzz mutate clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/netmon: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

deps: $(BIN)/netmon ## create .venv and install netmon with its dev tools

# policy-rc.d keeps the packages' own init scripts from starting system daemons: tests start
# their own snmpd on high ports and stop it by PID.
deps-system: ## install the Debian packages the tests need (root; skipped when present)
	@missing=""; for p in $(DEBS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  guard=""; if [ ! -e /usr/sbin/policy-rc.d ]; then \
	    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  rc=$$?; [ -n "$$guard" ] && rm -f /usr/sbin/policy-rc.d; exit $$rc; \
	fi

run: deps ## start the demo: a simulated network on loopback and the daemon (http://$(LISTEN)/metrics)
	$(BIN)/netmon demo --listen $(LISTEN)

lint: deps ## ruff and mypy --strict
	$(BIN)/ruff check netmon tests dashboards bench
	$(BIN)/ruff format --check netmon tests dashboards bench
	$(BIN)/mypy

unit: deps ## the fast tests only (no daemons)
	$(BIN)/pytest -q -m 'not snmpd and not daemon and not root'

test: deps deps-system lint ## everything: lint, types, unit and integration tests
	$(BIN)/pytest -q

bench: deps deps-system bench-deps ## quick benchmark (~6 min): netmon vs prometheus-snmp-exporter, v2c and v3, 100 and 1,000 pairs; then bench-check
	$(BIN)/python -m bench.run --pairs 100 1000 --cycles 3 --out bench/results-quick.json
	@$(MAKE) --no-print-directory bench-check BENCH_RESULTS=bench/results-quick.json

bench-full: deps deps-system bench-deps ## full benchmark (~13 min): v2c and v3, up to 5,000 pairs; writes bench/results.json; then bench-check
	$(BIN)/python -m bench.run --pairs 100 1000 5000 --daemon-pairs 1000 5000 --cycles 3 --out bench/results.json
	@$(MAKE) --no-print-directory bench-check BENCH_RESULTS=bench/results.json

# A run's ratios (netmon CPU / the exporter's, same run) against docs/performance.md's checked
# figures, within the tolerance the doc states: the documented numbers must still be true.
BENCH_RESULTS ?= bench/results-quick.json
bench-check: deps ## compare a bench run's ratios with docs/performance.md (BENCH_RESULTS=file)
	$(BIN)/python -m bench.check $(BENCH_RESULTS)

soak: deps deps-system ## the long soak (30 min): memory, fds and schedule of the daemon stay flat
	NETMON_SOAK_SECONDS=$${NETMON_SOAK_SECONDS:-1800} $(BIN)/pytest -q tests/test_soak.py

# mutmut copies netmon/ and the tests into mutants/ and runs each mutant against the fast tests
# that cover it; mypy first drops the mutants that would not type-check. The report fails on a
# survivor that docs/mutation-survivors/*.yaml does not explain (~20 min on 2 cores).
mutate: deps ## mutation testing of evaluate, the kinds and the SNMP codec; score in docs/mutation.md
	rm -rf mutants
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/mutmut run
	$(BIN)/python -m tests.mutation_report --write

fuzz: deps ## longer fuzzing of the inventory loader, the SNMP codec and the kinds
	NETMON_FUZZ_EXAMPLES=$${NETMON_FUZZ_EXAMPLES:-5000} $(BIN)/pytest -q tests/test_inventory_fuzz.py tests/test_snmpwire.py tests/test_kinds_contract.py

# The peer comes with DEBS (deps-system); without it the bench has nothing to compare with.
bench-deps: deps-system
	@command -v prometheus-snmp-exporter >/dev/null || { echo "bench: prometheus-snmp-exporter not on PATH" >&2; exit 1; }

dashboards: deps ## rebuild dashboards/*.json from dashboards/build.py
	$(BIN)/python dashboards/build.py

clean: ## remove the virtualenv and caches
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
