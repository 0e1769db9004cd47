# One entry point for people and CI. Every target sets up what it needs first.
#   make demo   - walk the demo model through the whole path, printing where results are
#   make test   - install everything and pass the default test-suite (under ~15 minutes)
# `make help` lists the rest.

SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 3
export TF_ENABLE_ONEDNN_OPTS := 0
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: help venv system-deps demo test test-slow test-all lint models bench

help: ## list the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt requirements-convert.txt requirements-dev.txt
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

venv: $(STAMP) ## create .venv with the full toolchain (idempotent, quick the second time)

# Debian programs that tests drive for real; installed only when one is missing, so the
# second run costs nothing. CI runs as root on a fresh machine of this kind.
DEBIAN_TOOLS := chromium:chromium,chromium-driver nginx:nginx prometheus:prometheus wrk:wrk
system-deps: ## Debian packages the tests drive for real (chromium, nginx, prometheus, wrk)
	@need=""; for pair in $(DEBIAN_TOOLS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; pkg=$${pkg//,/ }; \
	  command -v $$cmd >/dev/null || need="$$need $$pkg"; done; \
	if [ -n "$$need" ]; then echo "installing Debian packages:$$need"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -qq --no-install-recommends $$need >/dev/null; fi

demo: venv ## convert, publish, predict and benchmark the bundled demo model end to end
	@echo "== 1/3 convert: the scikit-learn pipeline to ONNX, with a parity check =="
	$(PY) TP_ONNX/model_conversion.py --input TP_ONNX/model.pkl --output out/demo/model.onnx
	@echo "== 2/3 predict: the ONNX model on a handwritten digit image =="
	$(PY) TP_ONNX/onnx_inference.py --model out/demo/model.onnx --image tests/testdata/digit_3.png
	@echo "== 3/3 benchmark: onnxruntime versus scikit-learn =="
	$(PY) TP_ONNX/onnx_inference.py --model out/demo/model.onnx --benchmark --quick
	@echo "Results: out/demo/ (model.onnx, manifest.json, benchmark.json)"

test: venv system-deps ## the default test-suite (slow suites excluded)
	$(PY) -m pytest -m "not slow" -q

test-slow: venv system-deps ## the slow suites (MiniLM, load and fault tests); CI runs them too
	$(PY) -m pytest -m slow -q || [ $$? -eq 5 ]  # 5: no slow test collected

test-all: test test-slow ## both

lint: venv ## ruff, strict mypy on utils
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

models: venv ## retrain the demo models and rebuild their ONNX forms and repository
	$(PY) TP_ONNX/build_demo_models.py

bench: venv ## every benchmark that prints numbers
	$(PY) TP_ONNX/onnx_inference.py --model models/digits_torch/1/model.onnx --benchmark
