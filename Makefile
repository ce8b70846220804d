# Ordo: the two commands a newcomer needs are `make devnet` and `make test`.
# Everything else they need (npm packages: Foundry and solc-js; Rust crates) is installed here.

CARGO ?= cargo
# Tests and lints build the test faults in (`test_fault` in a node's config); the devnet, the
# benchmarks and release binaries do not.
TEST_FEATURES := --features ordo-node/byzantine
# Python tools for the tests (schemathesis), installed by `deps`.
VENV := target/venv

.PHONY: all deps explorer chromium schemathesis devnet test test-fast lint contracts bench bench-mempool bench-load scenarios compose-check gas-report clean-devnet

all: test

# npm packages pinned by package-lock.json: forge, anvil, cast (Foundry) and solc-js; and the
# explorer's assets, which the node embeds when it is compiled.
deps: node_modules/.installed node/tests/js/node_modules/.installed enc/js/node_modules/.installed $(VENV)/.installed explorer

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# ethers v6 and viem, pinned, for the wallet-library test (node/tests/it/wallets.rs).
node/tests/js/node_modules/.installed: node/tests/js/package.json node/tests/js/package-lock.json
	cd node/tests/js && npm ci --no-audit --no-fund
	touch $@

# @noble/curves, @noble/ciphers and @noble/hashes, pinned, for enc/js (sealing and opening in
# JavaScript, checked against ordo-enc by `test-js-enc` and enc/tests/vectors.rs).
enc/js/node_modules/.installed: enc/js/package.json enc/js/package-lock.json
	cd enc/js && npm ci --no-audit --no-fund
	touch $@

# Schemathesis (PyPI), pinned with everything it needs by node/tests/schemathesis/requirements.txt,
# in a virtual environment of the project's own (VENV), for the OpenAPI test
# (node/tests/it/openapi.rs).
$(VENV)/.installed: node/tests/schemathesis/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r node/tests/schemathesis/requirements.txt
	touch $@

# The OpenAPI document against a live node alone: schemathesis, every check (about 30 s).
schemathesis: $(VENV)/.installed
	$(CARGO) nextest run -p ordo-node $(TEST_FEATURES) --profile ci -E 'test(/openapi::/)' --no-capture

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
# integration) and the Solidity tests. Built without incremental caches: on a fresh checkout they
# only double the size of target/ (about 11 GiB otherwise).
test: export CARGO_INCREMENTAL = 0
test: deps chromium lint
	$(CARGO) nextest run --workspace $(TEST_FEATURES) --profile ci
	$(CARGO) nextest run -p ordo-node --bin ordo --profile ci -E 'test(test_faults_parse_only)'
	contracts/test.sh
	$(MAKE) test-js-enc
	$(MAKE) fuzz-smoke

# The JavaScript sealing helper (enc/js) against the Rust crate's golden vectors; it checks that
# it still writes exactly enc/tests/sealed-by-js.json, which enc/tests/vectors.rs opens.
.PHONY: test-js-enc
test-js-enc: enc/js/node_modules/.installed
	cd enc/js && node --test

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

# The encrypted lane's primitives per transaction, against secp256k1 recovery in the same run.
# Override with e.g. `make bench-encryption VALIDATORS=16 TXS=500`.
VALIDATORS ?= 4
TXS ?= 500
bench-encryption:
	$(CARGO) run --release -p ordo-enc --example bench -- $(VALIDATORS) $(TXS)

# Open-loop load on a fresh 4-validator network (release build): finalized tx/s, latency
# percentiles, per-node CPU and memory, the ratio to this machine's verification bound.
# Writes target/bench-load.json and target/bench-load.svg. Override with e.g.
# `make bench-load RATE=1500 DURATION=600` or ARGS="--search".
RATE ?= 3000
DURATION ?= 60
bench-load: deps
	$(CARGO) build --release -p ordo-node -p ordo-testnet
	$(CARGO) run --release -p ordo-testnet -- bench --spawn 4 --rate $(RATE) --duration $(DURATION) --out target/bench-load.json $(ARGS)

# The encrypted lane against a plaintext control, in one run on one fresh 4-validator network
# with an encryption key (release build): the first half of the load all plaintext, the second
# with ENC_FRACTION sealed, same rate. Prints each half's finalized tx/s and their ratio,
# latency, the validators' CPU per encrypted transaction and each block's opening time (from the
# nodes' logs). Writes target/bench-encrypted-lane.json and .svg. Override with e.g.
# `make bench-encrypted-lane RATE=1200 DURATION=30`.
.PHONY: bench-encrypted-lane
ENC_FRACTION ?= 0.2
bench-encrypted-lane: RATE = 600
bench-encrypted-lane: deps
	$(CARGO) build --release -p ordo-node -p ordo-testnet
	$(CARGO) run --release -p ordo-testnet -- bench --spawn 4 --rate $(RATE) --duration $(DURATION) --compare-encrypted $(ENC_FRACTION) --home target/bench-encrypted-lane --out target/bench-encrypted-lane.json $(ARGS)

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

# Fuzzing (docs/FUZZING.md): cargo-fuzz and libFuzzer over every decoder of untrusted bytes, in
# the separate package fuzz/ (its own lock file and target directory). cargo-fuzz is installed
# at a pinned version when missing. Without a sanitizer (the default) stable rustc builds the
# targets; `FUZZ_SANITIZER=address` needs rustc's -Zsanitizer, which RUSTC_BOOTSTRAP=1 unlocks.
.PHONY: fuzz fuzz-smoke fuzz-build fuzz-seeds fuzz-tool
CARGO_FUZZ_VERSION := 0.13.2
FUZZ_TARGETS := types consensus_codec store mempool l1_logs json crypto batch dkg
FUZZ_SECONDS ?= 60
FUZZ_SANITIZER ?= none
FUZZ := cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz
FUZZ_BIN := $(CURDIR)/fuzz/target/x86_64-unknown-linux-gnu/release

fuzz-tool:
	@$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked --version $(CARGO_FUZZ_VERSION)

fuzz-build: fuzz-tool
	$(FUZZ) build -O --sanitizer $(FUZZ_SANITIZER)

# Every target for FUZZ_SECONDS each, from the committed seeds plus what earlier runs found
# (fuzz/corpus/, not committed). A crash stops it; the input is in fuzz/artifacts/<target>/.
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t fuzz/artifacts/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_BIN)/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=fuzz/artifacts/$$t/ fuzz/corpus/$$t fuzz/seeds/$$t \
	    >fuzz/artifacts/$$t/last-run.log 2>&1; rc=$$?; \
	  grep -E '^#[0-9]+[[:space:]]+DONE|number_of_executed_units|panicked|Test unit written' \
	    fuzz/artifacts/$$t/last-run.log; \
	  [ $$rc -eq 0 ] || { echo "fuzz: $$t failed, see fuzz/artifacts/$$t/last-run.log"; exit 1; }; \
	done

# The pass `make test` runs: builds the targets and runs each over its committed seeds once
# (`-runs=0`), so a decoder change that breaks a seed's checks fails the tests. A cold build of
# fuzz/ takes 8-20 minutes here, too long to add fuzzing time on top (docs/FUZZING.md).
fuzz-smoke: fuzz-build
	cd fuzz && $(CARGO) fmt --check
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/artifacts/$$t; \
	  $(FUZZ_BIN)/$$t -runs=0 fuzz/seeds/$$t >fuzz/artifacts/$$t/smoke.log 2>&1; rc=$$?; \
	  echo "fuzz-smoke: $$t: $$(ls fuzz/seeds/$$t | wc -l) seeds, exit $$rc"; \
	  [ $$rc -eq 0 ] || { cat fuzz/artifacts/$$t/smoke.log; exit 1; }; \
	done

# Rewrites fuzz/seeds/ (after a format change): the `seeds` binary writes them on its first run.
fuzz-seeds: fuzz-build
	rm -rf fuzz/seeds
	ORDO_FUZZ_SEEDS=$(CURDIR)/fuzz/seeds $(FUZZ_BIN)/seeds -runs=1 >/dev/null 2>&1
	@find fuzz/seeds -type f | wc -l | xargs echo "seeds written:"
