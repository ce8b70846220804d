#!/usr/bin/env bash
# Builds the contracts with solc-js (through solc-wrapper.sh), checks that the committed
# artifacts/ (the Rust bindings' source) match the build, and runs the Forge tests, offline.
# Needs the repo-root toolchain: run `npm ci` in the repository root first.
# Extra arguments go to `forge test` (for example `-vv` or `--match-contract Inbox`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
forge="$here/../node_modules/.bin/forge"
if [[ ! -x "$forge" ]]; then
    echo "contracts/test.sh: $forge not found; run 'npm ci' in the repository root" >&2
    exit 1
fi

./gen-artifacts.sh --check
"$forge" test --use "$here/solc-wrapper.sh" --offline "$@"
