# Every target creates (or reuses) its own virtualenv in .venv, so a fresh clone needs only python3 and make.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: venv venv-floor lint typecheck pytest test test-floor demo sandbox bench docs clean

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
	$(VENV)/bin/mypy airflow_provider_codat example_dags

pytest: venv
	$(PY) -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest docs

# The floor: the Airflow-facing tests again on the oldest Airflow the provider supports (the
# apache-airflow>= of pyproject.toml, installed exactly), in a venv of its own. FLOOR_PINS holds
# what that Airflow needs pinned that its own metadata leaves open. Another version by hand, e.g.:
#   make test-floor FLOOR_VENV=.venv-3.2 FLOOR_AIRFLOW=3.2.2 FLOOR_PINS="'svcs<26' 'fastapi<0.137'"
FLOOR_VENV ?= .venv-floor
FLOOR_PY := $(FLOOR_VENV)/bin/python
FLOOR_AIRFLOW := $(shell sed -n 's/^ *"apache-airflow>=\([0-9.]*\)".*/\1/p' pyproject.toml)
FLOOR_PINS :=
FLOOR_STAMP := $(FLOOR_VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
FLOOR_TESTS := tests/hooks tests/operators tests/sensors tests/triggers tests/example_dags \
	tests/test_airflow_errors.py tests/test_version_compat.py

$(FLOOR_STAMP): pyproject.toml Makefile $(STAMP)
	test -n "$(FLOOR_AIRFLOW)" || { echo "no apache-airflow>= pin in pyproject.toml" >&2; exit 1; }
	test -x $(FLOOR_PY) || $(PYTHON) -m venv $(FLOOR_VENV)
	$(VENV)/bin/uv pip install -q --python $(FLOOR_PY) -e '.[dev]' 'apache-airflow==$(FLOOR_AIRFLOW)' $(FLOOR_PINS)
	rm -f $(FLOOR_VENV)/.installed-* && touch $(FLOOR_STAMP)

venv-floor: $(FLOOR_STAMP)

test-floor: venv-floor
	$(FLOOR_PY) -c 'import airflow; assert airflow.__version__ == "$(FLOOR_AIRFLOW)", airflow.__version__'
	$(FLOOR_PY) -m pytest $(FLOOR_TESTS) $(PYTEST_ARGS)

SITE_DIR ?= site

docs: venv
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d $(SITE_DIR)

sandbox: venv
	$(VENV)/bin/codat-sandbox --port 8765

demo: venv
	$(PY) example_dags/run_demo.py

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .mypy_cache .ruff_cache
