# Two commands for a new machine (Python 3.11):
#   make run    install into .venv, then run the default config (embedded LLM, no API key, no GPU)
#   make test   install into .venv, then run the test suite
# The review tests start a real Argilla server: they need Debian's redis-server, chromium and
# chromium-driver (`make test` installs them with apt when run as root, see
# scripts/install_system_deps.sh) and argilla-server's own virtualenv (make argilla-server).
PYTHON ?= python3
VENV ?= .venv
CONFIG ?= configs/default.yaml
BIN := $(VENV)/bin

.PHONY: install run test test-fast clean argilla-server system-deps native-llm native-llm-ik teacher

$(BIN)/.installed: requirements.txt requirements-embedded-llm.txt constraints.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install -r requirements.txt -c constraints.txt
	$(BIN)/pip install --no-deps -r requirements-embedded-llm.txt
	$(BIN)/pip install --no-deps -e .
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/pip install -r requirements-dev.txt -c constraints.txt
	touch $@

install: $(BIN)/.installed teacher

# The teacher (EmbeddingGemma-300M, Gemma Terms of Use): its 25 slice wheels are downloaded from
# PyPI into ~/.cache/embedtune/teacher-wheels (never installed: they are versions of one package)
# and assembled, size-, CRC- and sha256-checked, into ~/.cache/embedtune/embeddinggemma-300m.
# A no-op once assembled. About 1.1 GB of downloads.
teacher: $(BIN)/.installed
	$(BIN)/python -m embedtune.bundled.teacher

# Redis and Chromium for the Argilla tests (apt as root, else a message naming the packages).
system-deps:
	bash scripts/install_system_deps.sh

# argilla-server 2.8 in a virtualenv of its own (its FastAPI/pydantic pins conflict with ZenML's),
# under ~/.cache/embedtune/ (EMBEDTUNE_ARGILLA_VENV overrides); `run.py argilla-up` does the same.
argilla-server: $(BIN)/.installed
	$(BIN)/python -c "from argilla_local.local_server import default_venv, ensure_server_venv; ensure_server_venv(default_venv())"

# Optional: rebuild the embedded LLM runtime (xllamacpp, same version) for this machine's CPU
# (AVX-512/VNNI where it has them; the PyPI wheel targets AVX2). Needs cmake and a C++ compiler;
# ~7 min on 2 cores. LLGuidance (Rust, crates.io) and BoringSSL are left out; JSON-schema output
# then goes through llama.cpp's own grammar. Measured in benchmarks/README.md (P2).
native-llm: install
	NPROC=$$(nproc) CMAKE_ARGS="-DLLAMA_LLGUIDANCE=OFF -DLLAMA_BUILD_BORINGSSL=OFF" \
	  $(BIN)/pip install --force-reinstall --no-deps --no-binary xllamacpp \
	  "$$(grep '^xllamacpp==' requirements.txt)"

# Optional, faster still: ik_llama.cpp's llama-server built for this CPU from the source in the
# ik-llama-cpp-python sdist (PyPI), installed as .venv/bin/ik-llama-server. Use it with
# `generation: {embedded: {server_binary: .venv/bin/ik-llama-server}}`. ~13 min on 2 cores.
native-llm-ik: $(BIN)/ik-llama-server

$(BIN)/ik-llama-server: scripts/build_ik_llama_server.sh | $(BIN)/.installed
	PIP=$(BIN)/pip bash scripts/build_ik_llama_server.sh $@

run: install
	ZENML_ANALYTICS_OPT_IN=false $(BIN)/python run.py --config $(CONFIG)

test: system-deps $(BIN)/.installed-dev argilla-server teacher
	ZENML_ANALYTICS_OPT_IN=false $(BIN)/python -m pytest -ra

test-fast: system-deps $(BIN)/.installed-dev argilla-server teacher
	ZENML_ANALYTICS_OPT_IN=false $(BIN)/python -m pytest -ra -m "not e2e and not llm"

clean:
	rm -rf $(VENV) outputs
