# `make run` and `make test` are the two commands a fresh machine needs.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1:8000

.PHONY: run test lint format lock bench clean vendor-js

$(STAMP): requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo --if-empty
	$(BIN)/python manage.py runserver $(HOST)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	@# pytest exits 5 when it collected nothing: that is a broken suite, say so.
	$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests" >&2; fi; exit $$rc

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Re-pin dependencies after editing pyproject.toml.
lock:
	$(PYTHON) -m venv /tmp/traceability-lock
	/tmp/traceability-lock/bin/pip install --quiet pip-tools
	/tmp/traceability-lock/bin/pip-compile --quiet --extra dev --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock pyproject.toml

bench: $(STAMP)
	$(BIN)/python bench/ledger_append.py
	$(BIN)/python bench/ledger_proofs.py

# Browser libraries the app serves itself (no CDN), pinned by frontend/package-lock.json.
ZXING_WASM := traceability/static/vendor/zxing-wasm
vendor-js:
	cd frontend && npm ci --ignore-scripts --no-audit --no-fund
	rm -rf $(ZXING_WASM) && mkdir -p $(ZXING_WASM)/es/reader $(ZXING_WASM)/reader
	cp frontend/node_modules/zxing-wasm/dist/es/share.js $(ZXING_WASM)/es/
	cp frontend/node_modules/zxing-wasm/dist/es/reader/index.js $(ZXING_WASM)/es/reader/
	cp frontend/node_modules/zxing-wasm/dist/reader/zxing_reader.wasm $(ZXING_WASM)/reader/
	cp frontend/node_modules/zxing-wasm/LICENSE $(ZXING_WASM)/
	node -p '"zxing-wasm " + require("./frontend/node_modules/zxing-wasm/package.json").version' \
		> $(ZXING_WASM)/VERSION

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
