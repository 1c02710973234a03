# Two commands for everyone (see README.md):
#   make reproduce   the whole study on the synthetic cohort, quick profile (the paper's complete-case design)
#   make test        the whole test suite
# Both create .venv if needed and install the pinned package once: the stamp is keyed on the lock.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := .ci/constraints.txt
KEY    := $(shell cat $(LOCK) settings.ini setup.py 2>/dev/null | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(KEY)
DEV_STAMP := $(VENV)/.installed-dev-$(KEY)
PROFILE ?= quick
DATA    ?= synthetic

.PHONY: install install-dev docs test-docs reproduce reproduce-natural reproduce-end-to-end reproduce-second-generator test test-notebooks test-python smoke bench-synthetic bench-mimic lab clean-venv

# install: what the study needs (make reproduce); install-dev adds the tests, nbdev, the site's builder and JupyterLab
install: $(STAMP)
install-dev: $(DEV_STAMP)

# torch's x86_64 wheels carry CUDA libraries: the venv is about 7 GB. Say so before pip fills the disk halfway;
# --no-cache-dir keeps pip from storing a second copy of every wheel. VENV=/larger/disk/venv puts it elsewhere.
NEED_GB ?= 7
$(STAMP):
	@mkdir -p $(dir $(VENV)); free=$$(df -Pk $(dir $(VENV)) | awk 'NR==2 {print int($$4 / 1048576)}'); \
	if [ -d $(VENV)/lib ] || [ "$$free" -ge $(NEED_GB) ]; then :; else \
	  echo "make install: the environment needs about $(NEED_GB) GB (torch with its CUDA libraries) but only $$free GB are free on $$(df -P $(dir $(VENV)) | awk 'NR==2 {print $$6}'); free some space, or run make with VENV=/a/larger/disk/venv" >&2; exit 1; fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-cache-dir --upgrade "pip>=23.2"
	$(BIN)/python -m pip install --quiet --no-cache-dir -c $(LOCK) -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

$(DEV_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet --no-cache-dir -c $(LOCK) -e ".[dev]"
	@rm -f $(VENV)/.installed-dev-*
	@touch $@

reproduce: install
	$(BIN)/mmkd-study reproduce --profile $(PROFILE) --data $(DATA)

# the second scenario, beyond the paper: every admission with the modalities it has (results/natural, figures/natural)
reproduce-natural: install
	$(BIN)/mmkd-study reproduce --profile $(PROFILE) --data $(DATA) --scenario natural

# KD and GM where they can act: the quick model trained end to end, 5 models × 23 seeds (results/end_to_end, figures/end_to_end); trains only the runs not committed yet (hours), then aggregates
reproduce-end-to-end: install
	$(BIN)/mmkd-study reproduce --profile end_to_end --data $(DATA)

# the claims on a second synthetic configuration, chosen before any result (01_synthetic): image strongest, missingness at random;
# then each verdict beside the primary study's (results/second_generator/verdicts_vs_primary.md)
reproduce-second-generator: install
	$(BIN)/mmkd-study reproduce --profile second_generator --data $(DATA)
	$(BIN)/mmkd-study compare-verdicts --primary results --second results/second_generator

# make test installs Debian's chromium when it can (scripts/ensure_chromium.sh) for the site's browser test, which builds
# a small site; without chromium that test skips, except in CI.
# make test starts a local single-node Slurm (scripts/local_slurm.sh) for the Slurm executor's tests and stops it after,
# unless one was already running. Where it cannot start (not root, no apt) those tests are skipped, except in CI (CI set),
# where that is a failure.
SLURM := scripts/local_slurm.sh
test: install-dev
	@scripts/ensure_chromium.sh || [ -z "$$CI" ] || exit 1
	@was=0; $(SLURM) status 2>/dev/null && was=1; \
	if [ $$was = 0 ]; then $(SLURM) start || { [ -z "$$CI" ] || exit 1; echo "make test: no local Slurm (see above): tests/test_slurm.py will skip" >&2; }; fi; \
	status=0; $(MAKE) --no-print-directory test-notebooks test-python || status=$$?; \
	if [ $$was = 0 ]; then $(SLURM) stop || true; fi; exit $$status

# nbdev_test runs every module notebook (study notebooks are run by the smoke test in tests/), two at a time, each with one
# OpenMP thread: two kernels with a thread per core each spin-wait on each other (the notebooks took 15 min instead of 2 here).
test-notebooks: install-dev
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/nbdev_test --n_workers 2 --timing

# pytest also checks that notebooks are clean and the package is in sync, and runs the smoke study; it names its 10 slowest tests.
test-python: install-dev
	$(BIN)/python -m pytest tests/ -q --durations=10

# The study's site (docs/build.py): every module notebook executed and shown as nbdev's docs show it, the study notebooks
# as a smoke study runs them, REPORT.md and the benchmarks; Sphinx + myst-nb. Open _docs/html/index.html.
docs: install-dev
	$(BIN)/python docs/build.py

# The full site in headless Chromium: every page, image, link and anchor; screenshots in _docs/screenshots (make docs first).
test-docs: install-dev
	@scripts/ensure_chromium.sh || [ -z "$$CI" ] || exit 1
	@test -f _docs/html/index.html || { echo "make test-docs: no site in _docs/html; run make docs first" >&2; exit 1; }
	MMKD_DOCS_SITE=_docs/html $(BIN)/python -m pytest tests/test_docs_site.py -q

bench-synthetic: install
	$(BIN)/mmkd-study cohort --out data/bench_20000 --n 20000 --image-size 224 --bench

# The MIMIC-IV builder on fake MIMIC trees of 1 M + 2.5 M and 2 M + 5 M event rows, against plain pandas: results/benchmarks_mimic.md
bench-mimic: install
	$(BIN)/mmkd-study bench-mimic --work data/bench_mimic --out results

lab: install-dev
	$(BIN)/jupyter lab nbs/

clean-venv:
	rm -rf $(VENV)
