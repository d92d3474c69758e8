# Two commands: `make run` (dashboard on the bundled demo) and `make test` (all tests).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# pytest-xdist workers for `make test` (whole files per worker: module fixtures are built once)
TEST_WORKERS ?= 2

.PHONY: run test cli-demo bench
run:
	scripts/setup
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.headless true

test:
	scripts/setup dev
	scripts/install-browser
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder tests

bench:
	scripts/setup dev
	$(PY) -m bench
