#!/usr/bin/env bash
# Build ik_llama.cpp's llama-server for this machine's CPU, from the source that the PyPI sdist
# of ik-llama-cpp-python vendors (the only route to it without GitHub), and install the single
# executable at $1. The embedded model is then served by it with
#   generation: {embedded: {server_binary: .venv/bin/ik-llama-server}}
# Why: on 2 cores it reads prompts faster than the xllamacpp wheel (benchmarks/README.md, P2).
# Needs cmake, a C++17 compiler and libgomp; ~13 min on 2 cores.
set -euo pipefail

out="$(realpath -m "${1:?usage: build_ik_llama_server.sh OUTPUT_PATH}")"
pip="${PIP:-.venv/bin/pip}"
version="0.1.5"
sha256="33c67eb99e4dcab5e611050433243815709b8b3067753f9ce18375013cf002ad"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$pip" download --quiet --no-deps --no-binary :all: "ik-llama-cpp-python==$version" -d "$work"
sdist="$work/ik_llama_cpp_python-$version.tar.gz"
echo "$sha256  $sdist" | sha256sum --check --quiet
tar xzf "$sdist" -C "$work"
src="$work/ik_llama_cpp_python-$version/vendor/ik_llama.cpp"

# The sdist has no .git and leaves out the script that writes build-info.cpp from it.
mkdir -p "$src/common/cmake"
cat > "$src/common/cmake/build-info-gen-cpp.cmake" <<CMAKE
file(WRITE "\${CMAKE_CURRENT_LIST_DIR}/../build-info.cpp"
"int LLAMA_BUILD_NUMBER = 0;
char const *LLAMA_COMMIT = \"ik-llama-cpp-python-$version\";
char const *LLAMA_COMPILER = \"\";
char const *LLAMA_BUILD_TARGET = \"native\";
")
CMAKE

cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON \
  -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF > "$work/cmake.log" || { cat "$work/cmake.log"; exit 1; }
echo "Compiling ik_llama.cpp's llama-server for this CPU (~13 min on 2 cores)..."
cmake --build "$work/build" -j"$(nproc)" --target llama-server > "$work/build.log" 2>&1 \
  || { tail -40 "$work/build.log"; exit 1; }
install -D -m 755 "$work/build/bin/llama-server" "$out"
"$out" --version 2>&1 | head -2  # fails the build if the binary cannot run here
echo "Installed $out"
