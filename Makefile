# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
TORCH  := torch==2.13.0
WORKERS ?= 2
DEMO_INPUT ?= tests/data/prose tests/data/web-sample.warc.gz

.PHONY: demo demo-mixture test clean-demo

$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q $(TORCH)
	$(PYTHON) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/scratchlm run pipelines/recipes/demo.yaml --input $(DEMO_INPUT) --output runs/demo --workers $(WORKERS)

# the sample crawl and the prose mixed 30/70 (pipelines/recipes/mixture.yaml, docs/mixtures.md)
demo-mixture: $(STAMP)
	$(VENV)/bin/scratchlm mix pipelines/recipes/mixture.yaml --output runs/mixture --workers $(WORKERS)

test: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(PYTHON) -m pytest -q -n $(WORKERS) --dist loadgroup -p no:cacheprovider

clean-demo:
	rm -rf runs/demo runs/mixture
