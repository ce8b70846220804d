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

# Plain files between the steps, because of two quirks of solcjs with pipes:
# - it reads stdin with a synchronous read, which fails with EAGAIN when forge hands over a
#   non-blocking pipe, so node's stream reader (which waits properly) copies stdin first;
# - it calls process.exit() right after writing its output, which truncates output written
#   into a pipe at the pipe buffer size (64 KiB); writes into a file are synchronous.
in="$(mktemp)"
out="$(mktemp)"
trap 'rm -f "$in" "$out"' EXIT
node -e '
const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => require("fs").writeFileSync(process.argv[1], Buffer.concat(chunks)));
' "$in"
status=0
node "$solcjs" "${args[@]}" <"$in" >"$out" || status=$?
grep -v '^>>>' "$out" || true
exit "$status"
