#!/usr/bin/env bash
# Install everything the tests need, then run them (arguments go to pytest). The README's Quick start and
# .ci/run both call this, so "the test command" is one thing.
#   - the project and its test extras in .venv (llama-cpp-python is built for this CPU family: ~5 min once;
#     no AVX-512 or AMX kernels: a VM may list amx_tile and still trap on tileloadd, which killed the LLM server);
#   - Debian's chromium for the browser tests: Playwright never downloads a browser.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    if ! command -v apt-get >/dev/null; then
        echo "error: the browser tests need chromium at /usr/bin/chromium; install it with your package manager" >&2
        exit 1
    fi
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing chromium for the browser tests (apt-get)..." >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

python3.11 -m venv .venv
export CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
.venv/bin/pip install -q -e '.[test]'

# pip's wheel cache ignores CMAKE_ARGS: a llama-cpp-python wheel built earlier on this machine with other flags
# (AVX-512, AMX) is reused as is. The library reports what it was compiled with; rebuild it when that is not ours.
if .venv/bin/python -c 'import llama_cpp; print(llama_cpp.llama_print_system_info().decode())' | grep -q 'AVX512\|AMX'; then
    version=$(.venv/bin/python -c 'import importlib.metadata as m; print(m.version("llama-cpp-python"))')
    echo "rebuilding llama-cpp-python $version without AVX-512 and AMX (pip's cache held another build)..." >&2
    .venv/bin/pip install -q --no-cache-dir --force-reinstall --no-deps "llama-cpp-python==$version"
fi
exec .venv/bin/pytest "$@"
