# The `ordo` binary in a small runtime image. Build from the repository root:
#   docker build -t ordo .
# One container runs one node: `ordo node --home /home/ordo`, with the node's home (config.toml,
# genesis.json, validator_key.json; data/ is created) mounted there. See docs/DEPLOY.md.

# The explorer's assets (explorer/dist), which the node embeds when it is compiled.
FROM node:22-bookworm-slim AS explorer
WORKDIR /src/explorer
COPY explorer/package.json explorer/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY explorer/ ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
COPY --from=explorer /src/explorer/dist explorer/dist
RUN cargo build --release --locked -p ordo-node --bin ordo \
 && install -m 0755 target/release/ordo /usr/local/bin/ordo

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/ordo ordo
COPY --from=build /usr/local/bin/ordo /usr/local/bin/ordo
USER ordo
WORKDIR /home/ordo
VOLUME ["/home/ordo"]
# consensus p2p, transaction gossip, HTTP API
EXPOSE 26650 27650 8650
# Ready = deciding blocks (GET /v1/health answers 200); see docs/METRICS.md.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
  CMD curl -fsS http://127.0.0.1:8650/v1/health > /dev/null || exit 1
ENTRYPOINT ["ordo", "--log-format", "json"]
CMD ["node", "--home", "/home/ordo"]
