#!/usr/bin/env bash
# Nightly eval: bring the index up to date, run the gold set, write reports, exit like `rag eval`.
#   RAG=/path/to/.venv/bin/rag  REPORTS=/var/lib/rag/reports  eval/nightly.sh
# Exit codes: 0 every gate passed; 1 a gate failed (or ingest failed); 2 bad input.
# Reports go to $REPORTS/YYYY-MM-DD/ and $REPORTS/latest/ (report.html has the trend charts).
set -euo pipefail
cd "$(dirname "$0")/.."
RAG="${RAG:-.venv/bin/rag}"
REPORTS="${REPORTS:-${RAG_HOME:-$HOME/.local/share/rag}/reports}"
day="$(date -u +%F)"

"$RAG" ingest -q corpus/
status=0
"$RAG" eval --out "$REPORTS/$day" "$@" || status=$?
rm -rf "$REPORTS/latest" && cp -r "$REPORTS/$day" "$REPORTS/latest"
exit "$status"
