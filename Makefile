.PHONY: test fast lint fmt docs bench

test:
	uv run pytest

fast:
	uv run pytest -m "not slow and not browser"

lint:
	uv run ruff check .

fmt:
	uv run ruff format .
	uv run ruff check --fix .

docs:
	uv run python -m miscope_core.views.docs

bench:
	uv run python benchmarks/bench_training.py
	uv run python benchmarks/bench_analysis.py
	uv run python benchmarks/bench_scrub.py
