#!/usr/bin/env bash
# Install everything the tests need, then run them (arguments go to pytest). The README's Quick start and
# .ci/run both call this, so "the test command" is one thing.
#   - the project and its test extras in .venv (llama-cpp-python is built for this CPU family: ~5 min once;
#     no AMX kernels: a VM may list amx_tile and still trap on tileloadd, which killed the LLM server);
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
CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF" \
    .venv/bin/pip install -q -e '.[test]'
exec .venv/bin/pytest "$@"
