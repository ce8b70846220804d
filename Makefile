# Ordo: the two commands a newcomer needs are `make devnet` and `make test`.
# Everything else they need (npm packages: Foundry and solc-js; Rust crates) is installed here.

CARGO ?= cargo
# Tests and lints build the test faults in (`test_fault` in a node's config); the devnet, the
# benchmarks and release binaries do not.
TEST_FEATURES := --features ordo-node/byzantine

.PHONY: all deps explorer chromium devnet test test-fast lint contracts bench bench-mempool bench-load scenarios compose-check gas-report clean-devnet

all: test

# npm packages pinned by package-lock.json: forge, anvil, cast (Foundry) and solc-js; and the
# explorer's assets, which the node embeds when it is compiled.
deps: node_modules/.installed node/tests/js/node_modules/.installed explorer

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# ethers v6 and viem, pinned, for the wallet-library test (node/tests/it/wallets.rs).
node/tests/js/node_modules/.installed: node/tests/js/package.json node/tests/js/package-lock.json
	cd node/tests/js && npm ci --no-audit --no-fund
	touch $@

# The web explorer (explorer/: TypeScript, Vite, pinned by explorer/package-lock.json), built
# into explorer/dist, which api/build.rs embeds into `ordo`. Without it the node serves a page
# saying to run this.
explorer: explorer/dist/index.html

explorer/node_modules/.installed: explorer/package.json explorer/package-lock.json
	npm ci --prefix explorer --no-audit --no-fund
	touch $@

explorer/dist/index.html: explorer/node_modules/.installed explorer/index.html explorer/vite.config.ts explorer/tsconfig.json $(shell find explorer/src -type f)
	npm run --prefix explorer build

# Headless Chromium for the explorer's end-to-end test (Debian's package; installed only when
# missing).
chromium: /usr/bin/chromium

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
/usr/bin/chromium:
	$(SUDO) apt-get install -y chromium || { $(SUDO) apt-get update && $(SUDO) apt-get install -y chromium; }

# A local network of 4 validators, each its own process on 127.0.0.1 (Ctrl-C stops it).
devnet: deps
	$(CARGO) run --release -p ordo-node --bin ordo -- devnet $(ARGS)

# The full test suite: formatting, lints, every Rust test (unit, property, multi-process
# integration) and the Solidity tests.
test: deps chromium lint
	$(CARGO) nextest run --workspace $(TEST_FEATURES) --profile ci
	$(CARGO) nextest run -p ordo-node --bin ordo --profile ci -E 'test(test_faults_parse_only)'
	contracts/test.sh

# The quick loop while editing: lints and unit/property tests, no multi-process networks.
test-fast: lint
	$(CARGO) nextest run --workspace $(TEST_FEATURES) --lib --bins

lint: explorer
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets $(TEST_FEATURES) -- -D warnings

contracts: deps
	contracts/test.sh

# Figures: idle devnet block interval and time to first block.
bench: deps
	$(CARGO) run --release -p ordo-node --bin ordo -- devnet --home target/bench-devnet --fresh --bench-seconds 30

bench-mempool: deps
	$(CARGO) run --release -p ordo-node --bin ordo -- bench-mempool

# Open-loop load on a fresh 4-validator network (release build): finalized tx/s, latency
# percentiles, per-node CPU and memory, the ratio to this machine's verification bound.
# Writes target/bench-load.json and target/bench-load.svg. Override with e.g.
# `make bench-load RATE=1500 DURATION=600` or ARGS="--search".
RATE ?= 3000
DURATION ?= 60
bench-load: deps
	$(CARGO) build --release -p ordo-node -p ordo-testnet
	$(CARGO) run --release -p ordo-testnet -- bench --spawn 4 --rate $(RATE) --duration $(DURATION) --out target/bench-load.json $(ARGS)

# Every fault scenario on fresh local networks under load (release build); non-zero exit if any
# verdict fails. Writes target/testnet-scenarios/verdicts.json.
scenarios:
	$(CARGO) build --release -p ordo-node --features ordo-node/byzantine -p ordo-testnet
	$(CARGO) run --release -p ordo-testnet -- scenario all $(ARGS)

# Validates testnet/docker-compose.yml (Debian's docker-compose parses it without an engine).
compose-check:
	docker-compose -f testnet/docker-compose.yml config -q && echo "testnet/docker-compose.yml: valid"

gas-report: deps
	contracts/gas-report.sh

clean-devnet:
	rm -rf .devnet
