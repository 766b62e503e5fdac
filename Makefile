# Thin wrappers over manage.py (which needs only Python 3.11+); CI runs `python3 manage.py test`.
PY ?= python3

.PHONY: setup dev test lint typecheck pytest format asyncapi schemas

setup:
	$(PY) manage.py setup
dev:
	$(PY) manage.py dev
test:
	$(PY) manage.py test
lint:
	$(PY) manage.py lint
typecheck:
	$(PY) manage.py typecheck
pytest:
	$(PY) manage.py pytest
format:
	.venv/bin/ruff format . && .venv/bin/ruff check --fix .
asyncapi:
	.venv/bin/python scripts/asyncapi.py
schemas:
	.venv/bin/python -m om_contracts.schemas
