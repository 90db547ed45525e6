.PHONY: run test lint bench migrations

run:  ## Set up and run the whole service (web, worker, beat) with demo data.
	bash scripts/run.sh

test:  ## Set up throwaway services, then ruff, mypy, import-linter and pytest.
	bash scripts/test.sh $(PYTEST_ARGS)

bench:  ## Run every benchmark under benchmarks/ and print the figures.
	bash scripts/bench.sh

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy . && .venv/bin/lint-imports
