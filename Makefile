# The two commands a newcomer needs: `make dev` and `make test`. Everything they need is
# installed from the lock files here, into .venv (and the SAM CLI into .venv-sam, whose
# pins clash with ours).
SHELL := /bin/bash
PYTHON ?= $(shell scripts/find-python)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
PIP_FLAGS := --quiet --disable-pip-version-check --no-input
SOURCES := layers/core/agent_tasks infra/local/agent_tasks_local functions scripts/check_package.py scripts/backfill_task_index.py clients/python/agent_tasks_client $(wildcard tests/bench/*.py)

.PHONY: dev test install lint typecheck templates unit integration e2e e2e-aws package contract bench lock clean client-models

install: $(VENV)/.installed

# uv (pinned in requirements/uv.txt, bootstrapped with pip) installs the locks: on 2 cores it takes
# about 20 s where pip took about 110 s per venv, mostly by not compiling every module's bytecode
# up front (Python compiles what is imported, once).
UV := $(VENV)/bin/uv
# Python then writes each module's bytecode when it is first imported; with this set (some shells
# set it) every process would compile everything it imports again.
unexport PYTHONDONTWRITEBYTECODE

$(UV): requirements/uv.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_FLAGS) -r requirements/uv.txt
	touch $@

$(VENV)/.installed: requirements/dev.lock pyproject.toml $(UV)
	$(UV) pip install --quiet --python $(BIN)/python -r requirements/dev.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

$(SAM_VENV)/.installed: requirements/sam.txt $(UV)
	test -x $(SAM_VENV)/bin/python || $(UV) venv --quiet --python $(PYTHON) $(SAM_VENV)
	$(UV) pip install --quiet --python $(SAM_VENV)/bin/python -r requirements/sam.txt
	touch $@

## make dev: the whole service on http://localhost:8000 against the local cloud (Ctrl-C stops it)
dev: install
	$(BIN)/agent-tasks dev

## make test: every check, as CI runs it
# The static checks are single-threaded: two at a time use both cores (output kept per target).
test: install
	$(MAKE) --no-print-directory -j2 --output-sync=target lint typecheck templates
	$(MAKE) --no-print-directory unit integration e2e

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy $(SOURCES)

templates: install $(SAM_VENV)/.installed
	$(BIN)/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --template-file template.yaml

# Tests marked slow are benchmarks (the 5,000-task scheduler tick): `make bench` runs them.
unit: install
	$(BIN)/pytest tests/unit tests/contract -q -n 2 -m "not slow"

integration: install
	$(BIN)/pytest tests/integration -q -n 2

e2e: install
	$(BIN)/pytest tests/e2e -q -n 2 --dist loadgroup

## make e2e-aws STACK=<name>: the e2e tests against a deployed stack (skipped without AWS credentials)
e2e-aws: install
	@test -n "$(STACK)" || { echo "usage: make e2e-aws STACK=<deployed stack name>" >&2; exit 2; }
	AGENT_TASKS_E2E_STACK=$(STACK) $(BIN)/pytest tests/e2e -q -rs -n 2 --dist loadgroup

## make package: sam build (arm64, CPython 3.13) and the checks Lambda would make (size, imports, .pyc, no dev deps)
package: install $(SAM_VENV)/.installed
	scripts/package

bench: install
	$(BIN)/pytest tests/unit -q -m slow
	FAN_OUT_SLOTS=1000 $(BIN)/pytest tests/integration/test_schedule_fan_out.py -q -p no:randomly
	$(BIN)/python -m tests.bench

## make client-models: regenerate the client's TypedDicts from the API's OpenAPI document
client-models: install
	# The API function's settings are required at import (issue 13): give it names that reach nothing.
	TABLE_NAME=unused BUCKET_NAME=unused EVENT_BUS_NAME=unused AWS_DEFAULT_REGION=us-east-1 \
	STATE_MACHINE_ARN=arn:aws:states:us-east-1:123456789012:stateMachine:unused \
	$(BIN)/python -c 'from tests.support.fixtures import load_function; print(load_function("api")._openapi_document())' > $(VENV)/openapi.json
	$(BIN)/python clients/python/codegen.py $(VENV)/openapi.json | $(BIN)/ruff format --stdin-filename models.py - > clients/python/agent_tasks_client/models.py

## make lock: re-resolve requirements/dev.in into requirements/dev.lock
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install $(PIP_FLAGS) -r requirements/dev.in
	.venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > requirements/dev.lock
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
