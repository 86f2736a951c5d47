# Every target creates (or reuses) its own virtualenv in .venv, so a fresh clone needs only python3 and make.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: venv lint typecheck pytest test demo sandbox bench docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade uv
	$(VENV)/bin/uv pip install -q --python $(PY) -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP)

lint: venv
	$(VENV)/bin/ruff check airflow_provider_codat tests bench example_dags
	$(VENV)/bin/ruff format --check airflow_provider_codat tests bench example_dags

typecheck: venv
	$(VENV)/bin/mypy airflow_provider_codat

pytest: venv
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest docs

SITE_DIR ?= site

docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d $(SITE_DIR)

sandbox: venv
	$(VENV)/bin/codat-sandbox --port 8765

demo: venv
	$(PY) example_dags/run_demo.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
