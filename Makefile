# The two commands a newcomer needs: `make run` and `make test`.
#
# Python packages come from requirements.lock: every package at an exact version with the hashes
# of its files, written by `make lock` from pyproject.toml. A pinned uv (tools/uv.txt, itself
# installed by pip with hashes) installs it; `make test` refuses a lock that pyproject.toml has
# moved away from. See README.md ("Installing") and docs/DECISIONS.md ("Installs").
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .venv-tools
UV := $(TOOLS)/bin/uv
LOCK := requirements.lock
# What the tests need from Debian: the browser and its driver (tests/browser), CJK fonts (pages
# and screenshots in Chinese), poppler's pdftotext/pdffonts/pdftoppm (document tests).
SYSTEM_PACKAGES := chromium chromium-driver fonts-noto-cjk poppler-utils
# What the service itself needs from Debian: the CJK fonts its 执法文书 (PDF) embed
# (config/documents.toml names the folder). Nothing else is fetched at run time.
RUN_PACKAGES := fonts-noto-cjk

# uv uses the Python we name and never downloads one; copying (not hard-linking) from its cache
# works whatever filesystem the cache is on.
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

.PHONY: run test lint lock lock-check system-packages bench clean

# The lock is resolved for every platform and Python the project allows (--universal), and holds
# the build backend named in [build-system] too, so the editable install needs nothing unlocked.
# $(1): the file to write; LOCK_ARGS: e.g. `make lock LOCK_ARGS=--upgrade`.
define compile_lock
$(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"], sep="\n")' \
	| $(UV) pip compile --quiet --universal --generate-hashes --extra dev \
		--custom-compile-command 'make lock' --output-file $(1) $(LOCK_ARGS) pyproject.toml -
endef

$(UV): tools/uv.txt
	rm -rf $(TOOLS)
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --require-hashes --only-binary :all: --no-deps -r tools/uv.txt
	touch $@

# Reinstalled only when pyproject.toml or the lock changed (or uv did).
$(STAMP): pyproject.toml $(LOCK) $(UV)
	@$(MAKE) --no-print-directory lock-check
	test -x $(BIN)/python || $(UV) venv --quiet --python $(PYTHON) $(VENV)
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
	touch $@

run: $(STAMP)
	@$(MAKE) --no-print-directory system-packages SYSTEM_PACKAGES="$(RUN_PACKAGES)"
	$(BIN)/rectify serve

test: $(STAMP) system-packages
	$(BIN)/ruff check rectify tests
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check rectify tests bench
	$(BIN)/ruff format --check rectify tests bench

# Rewrite requirements.lock from pyproject.toml, keeping every pin that still fits.
lock: $(UV)
	$(call compile_lock,$(LOCK))

# The lock's pins must be what `make lock` would write now: resolve again into a copy and compare
# the requirement lines (hashes and comments aside: a wheel the index adds later to a pinned
# version is no disagreement with pyproject.toml).
PINS = grep -v -e '--hash=' -e '^ *\#'
lock-check: $(UV)
	@tmp=$$(mktemp -d) && cp $(LOCK) $$tmp/lock && \
	$(call compile_lock,$$tmp/lock) && \
	$(PINS) $(LOCK) >$$tmp/old && $(PINS) $$tmp/lock >$$tmp/new && \
	if cmp -s $$tmp/old $$tmp/new; then rm -rf $$tmp; else \
		diff -u --label $(LOCK) --label 'make lock' $$tmp/old $$tmp/new | head -40; rm -rf $$tmp; \
		echo "$(LOCK) does not match pyproject.toml: run 'make lock' and commit $(LOCK)." >&2; \
		exit 1; fi

# Cheap when everything is there (one dpkg-query); else apt-get as root, refreshing the package
# lists only when the first attempt fails.
system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${db:Status-Abbrev}' $$p 2>/dev/null | grep -q '^ii' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "missing Debian packages:" $$missing "- install them as root: apt-get install" $$missing >&2; \
			exit 1; fi; \
		echo "installing" $$missing; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get install -y --no-install-recommends $$missing \
			|| (apt-get update && apt-get install -y --no-install-recommends $$missing); \
	fi

# Benchmarks (see bench/run.py): `make bench`, or e.g. `make bench BENCH_ARGS=--quick`.
# Their extra packages are not in the lock; the locked ones keep their versions (-c).
bench: $(STAMP)
	$(UV) pip install --quiet --python $(BIN)/python --no-build-isolation -c $(LOCK) -e '.[dev,bench]'
	command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) data
