#!/usr/bin/env bash
# Prints the gas of LightClient.submitBlock for committees of 4, 20 and 100 validators with
# just above 2/3 of them signing, and fails if 100 validators cost 594,533 gas or more.
# "transaction" is what an L1 transaction pays in total (21000 + calldata + execution).
# Needs `npm ci` in the repository root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
forge="$here/../node_modules/.bin/forge"
if [[ ! -x "$forge" ]]; then
    echo "contracts/gas-report.sh: $forge not found; run 'npm ci' in the repository root" >&2
    exit 1
fi

"$forge" test --use "$here/solc-wrapper.sh" --offline --match-contract LightClientGasTest -vv |
    sed -n 's/^ *submitBlock /submitBlock /p'
