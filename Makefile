# worldsim: every target sets itself up (a .venv in the repo root) and then runs.
#   make demo   `worldsim demo`: the whole pipeline (simulate, record, train world models, evaluate, trajectory
#               optimization, system identification) → outputs/demo/report.html (about 15 minutes on 2 cores)
#   make test   lint + the pytest suite on CPU (the viewer window under Xvfb, the demo's report in Chromium)
#   make bench  benchmarks/: speed vs MuJoCo, gymnasium and the torch reference (every ratio), MuJoCo agreement,
#               gradient checks → outputs/bench.txt (about 15 minutes on 2 cores)

SHELL  := /bin/bash
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export WARP_CACHE_PATH := $(CURDIR)/.cache/warp
export MINARI_DATASETS_PATH := $(CURDIR)/.cache/minari
export PYTHONUNBUFFERED := 1

.PHONY: setup test lint demo bench clean

DEB_PACKAGES := libusb-1.0-0                      # open3d-cpu links libusb
BENCH_DEB_PACKAGES := libegl1 libgl1-mesa-dri     # mujoco.Renderer (MUJOCO_GL=egl) in benchmarks/render.py
# the viewer's window (Open3D's GUI on Mesa's software Vulkan) under a virtual display, and a browser for the report
TEST_DEB_PACKAGES := xvfb libvulkan1 mesa-vulkan-drivers chromium

# install Debian packages only when missing: $(call apt_install,PACKAGES)
define apt_install
	@missing=$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "apt-get install $$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

$(STAMP): pyproject.toml
	$(call apt_install,$(DEB_PACKAGES))
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# the CPU wheel of torch first, so that no CUDA build is pulled in by the loose range in pyproject
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(call apt_install,$(TEST_DEB_PACKAGES))
	$(PY) -m pytest -q

demo: setup
	$(VENV)/bin/worldsim demo

# every ratio in one run (~15 min on 2 cores), also written to outputs/bench.txt
bench: setup
	$(call apt_install,$(BENCH_DEB_PACKAGES))
	mkdir -p outputs
	{ $(PY) benchmarks/physics_step.py && \
	  $(PY) benchmarks/physics_step.py --sweep && \
	  $(PY) benchmarks/accuracy.py && \
	  $(PY) benchmarks/gradient_memory.py && \
	  $(PY) benchmarks/render.py && \
	  $(PY) benchmarks/envs.py && \
	  $(PY) benchmarks/import_time.py; } 2>&1 | tee outputs/bench.txt.tmp; \
	status=$${PIPESTATUS[0]}; mv outputs/bench.txt.tmp outputs/bench.txt; exit $$status

clean:
	rm -rf $(VENV) .cache outputs
