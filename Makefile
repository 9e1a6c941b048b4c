# `make test` and `make demo` work on a fresh clone with only python3 (>= 3.11) and
# make: the virtualenv is (re)built whenever pyproject.toml is newer than it
# (scripts/make-venv.sh: installs python3-venv as root with apt if python3 lacks it).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test demo lint typecheck unit redis bench clean

test: lint typecheck unit

# The SDK end to end against the local simulator, on loopback: examples/demo.py.
demo: $(STAMP)
	$(BIN)/python examples/demo.py

$(STAMP): pyproject.toml
	scripts/make-venv.sh $(PYTHON) $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy --strict intelepeer_async receiver tests examples benchmarks

# The Redis tests start their own redis-server (>= 6.2) on a free loopback port;
# this installs one when missing (Debian's package, as root), builds Redis 6.2
# into $(BIN) when apt's is older (Debian 11, Ubuntu 22.04), or says how.
redis: $(STAMP)
	scripts/ensure-redis.sh $(BIN)

unit: $(STAMP) redis
	$(BIN)/pytest -q

# Issue 10's performance targets, measured side by side (~4 min on 2 cores; not part
# of `make test`, which runs only a --quick smoke of the same code). Writes
# benchmarks/results.json and prints the table; see benchmarks/__init__.py.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
