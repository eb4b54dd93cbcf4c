# Pulse: `make run` starts the daemon and a chat; `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run test check lint typecheck imports proto bench clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

run: $(STAMP)
	@$(BIN)/python scripts/run.py

# Byte-compile first: the suite starts hundreds of daemons and CLIs, and where
# PYTHONDONTWRITEBYTECODE is set none of them could cache what it compiled
# (tests/daemon/test_chat.py: 131 s without, 49 s with, on a busy 2-core machine).
test: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 pulsed pulsectl pulsetui proto tests >/dev/null
	$(BIN)/python -m pytest -q -rs -p no:cacheprovider --timeout=120 tests --ignore=tests/bench

lint: $(STAMP)
	$(BIN)/ruff check pulsed pulsectl pulsetui tests scripts
	$(BIN)/ruff format --check pulsed pulsectl pulsetui tests scripts

typecheck: $(STAMP)
	$(BIN)/mypy pulsed pulsectl pulsetui

imports: $(STAMP)
	$(BIN)/lint-imports

check: lint typecheck imports test

proto: $(STAMP)
	$(BIN)/python scripts/gen_proto.py

bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) build *.egg-info
