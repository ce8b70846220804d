#!/usr/bin/env bash
# Presents solc-js (the npm `solc` package, pinned in the repo-root package.json) with the
# command-line face of a native `solc`, so `forge build --use contracts/solc-wrapper.sh` works
# on machines where forge cannot download a native compiler.
#
# - `--version` answers in native solc's two-line format;
# - the `--allow-paths <dir>` pair forge passes is dropped (solcjs does not know it);
# - everything else (`--base-path`, `--include-path`, `--standard-json`, stdin) goes to solcjs;
# - solcjs' own notices (lines starting with `>>>`) are removed from its standard output.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
solcjs="$here/../node_modules/solc/solc.js"
if [[ ! -f "$solcjs" ]]; then
    echo "solc-wrapper: $solcjs not found; run 'npm ci' in the repository root" >&2
    exit 1
fi

args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --version)
            v="$(node "$solcjs" --version)"
            echo "solc, the solidity compiler commandline interface"
            echo "Version: ${v%%.Emscripten*}.Linux.g++"
            exit 0
            ;;
        --allow-paths)
            shift 2 || shift
            ;;
        --allow-paths=*)
            shift
            ;;
        *)
            args+=("$1")
            shift
            ;;
    esac
done

# solcjs calls process.exit() right after writing its output; into a pipe that truncates the
# output at the pipe buffer (64 KiB), so it writes into a file (synchronous in node) instead.
out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
node "$solcjs" "${args[@]}" >"$out" || status=$?
grep -v '^>>>' "$out" || true
exit "$status"
