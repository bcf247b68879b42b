# FieldACS — every target makes .venv itself when it is missing or stale.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint bench screenshots dist dist-smoke clean engine

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# On Debian/Ubuntu, first install the Qt system libraries that are missing (as root, or
# with sudo after asking; otherwise it prints the apt-get line): installer/qt-deps.sh.
run: $(STAMP)
	@installer/qt-deps.sh $(PY)
	$(VENV)/bin/fieldacs

engine: $(STAMP)
	$(VENV)/bin/fieldacs-engine serve

lint: $(STAMP)
	$(VENV)/bin/ruff check acs_engine app tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# The console's tests run in their own process: Qt objects left from them must not meet the
# engine tests' event loops.
test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider --ignore=tests/gui
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider tests/gui

bench: $(STAMP)
	$(PY) benchmarks/sessions.py

# docs/screenshots/*.png from the running console with a few simulated CPEs; under a
# virtual X display (xvfb-run) when there is no display.
# At a laptop's 1280x800 (docs/screenshots/) and at 1920x1080 (docs/screenshots/1920x1080/).
screenshots: $(STAMP)
	@for size in 1280x800 1920x1080; do \
		if [ -z "$$DISPLAY" ] && [ -z "$$WAYLAND_DISPLAY" ] && command -v xvfb-run >/dev/null; then \
			FIELDACS_SHOT_SIZE=$$size xvfb-run -a -s "-screen 0 1920x1200x24" $(PY) docs/screenshots/make_screenshots.py || exit 1; \
		else \
			FIELDACS_SHOT_SIZE=$$size $(PY) docs/screenshots/make_screenshots.py || exit 1; \
		fi; \
	done

# dist/FieldACS/ (fieldacs + fieldacs-engine, one onedir bundle) and, on Linux, the tarball
# dist/FieldACS-<version>-linux-<arch>.tar.gz; see docs/installing.md.
dist: $(STAMP)
	rm -rf dist/FieldACS dist/FieldACS.app build/pyinstaller
	$(PY) -m PyInstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller installer/fieldacs.spec
	@if [ "$$(uname -s)" = Linux ]; then installer/package_linux.sh; fi

# Run the built programs: a simulated CPE's session against fieldacs-engine serve, and
# fieldacs offscreen (run `make dist` first).
dist-smoke:
	QT_QPA_PLATFORM=offscreen $(PYTHON) installer/smoke.py

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache
