#!/usr/bin/env bash
# Extracts the ABI and creation bytecode of the deployable contracts from forge's build output
# (out/) into artifacts/<Contract>.json, the files the `ordo-contracts` crate generates its
# bindings from. Never edit artifacts/ by hand: change the Solidity and run this script.
#
#   ./gen-artifacts.sh           build with forge, then rewrite artifacts/
#   ./gen-artifacts.sh --check   build with forge, then fail if artifacts/ differs from the build
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
forge="$here/../node_modules/.bin/forge"
if [[ ! -x "$forge" ]]; then
    echo "gen-artifacts: $forge not found; run 'npm ci' in the repository root" >&2
    exit 1
fi

contracts=(StakeTable Inbox LightClient BatchInbox)
mode="${1:-write}"

"$forge" build --use "$here/solc-wrapper.sh" --offline --quiet

dest="$here/artifacts"
if [[ "$mode" == "--check" ]]; then
    dest="$(mktemp -d)"
    trap 'rm -rf "$dest"' EXIT
fi
mkdir -p "$dest"

for name in "${contracts[@]}"; do
    node -e '
const fs = require("fs");
const [src, dst] = process.argv.slice(1);
const built = JSON.parse(fs.readFileSync(src, "utf8"));
const artifact = { abi: built.abi, bytecode: { object: built.bytecode.object } };
fs.writeFileSync(dst, JSON.stringify(artifact, null, 2) + "\n");
' "$here/out/$name.sol/$name.json" "$dest/$name.json"
done

if [[ "$mode" == "--check" ]]; then
    status=0
    for name in "${contracts[@]}"; do
        if ! cmp -s "$dest/$name.json" "$here/artifacts/$name.json"; then
            echo "gen-artifacts: artifacts/$name.json is out of date with src/; run contracts/gen-artifacts.sh and commit" >&2
            status=1
        fi
    done
    [[ $status -eq 0 ]] && echo "gen-artifacts: artifacts/ match a fresh build"
    exit "$status"
fi
echo "gen-artifacts: wrote ${contracts[*]/%/.json} to artifacts/"
