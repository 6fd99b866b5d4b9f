# raftstack node image (docs/operations.md). Build:  docker build -t raftstack .
# Every node flag comes from its RAFTSTACK_* variable, e.g. one node of three:
#   docker run -e RAFTSTACK_ID=1 -e RAFTSTACK_CLUSTER=http://raftstack1:12379,http://raftstack2:12379,http://raftstack3:12379 \
#     -v raftstack1:/data raftstack
# BASE_IMAGE must provide node (>= 20.18.1, on PATH) and, for the build stages, npm and /bin/sh.
# The final stage runs no command of the base (COPY only), so any image with node works for it.
ARG BASE_IMAGE=node:20-slim

# Compile the TypeScript: the same build as `npm pack` (dist/src with declarations).
FROM ${BASE_IMAGE} AS build
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# sim/ and check/ are test tools that the package does not ship either (package.json "files").
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json \
 && node -e 'for (const d of ["sim", "check"]) require("fs").rmSync("dist/src/" + d, { recursive: true })' \
 && node -e 'require("fs").mkdirSync("/data")'

# The runtime dependencies alone, from the lock file.
FROM ${BASE_IMAGE} AS deps
WORKDIR /deps
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM ${BASE_IMAGE}
WORKDIR /opt/raftstack
COPY --from=deps /deps/node_modules ./node_modules
COPY --from=build /build/dist/src ./dist/src
COPY package.json LICENSE ./
COPY bin ./bin
# GET /v1/openapi.json serves this file.
COPY docs/openapi.json ./docs/openapi.json
# The data volume belongs to the user the node runs as (uid 1000: `node` in the official node images);
# a new named volume mounted here takes this owner.
COPY --from=build --chown=1000:1000 /data /data
ENV NODE_ENV=production \
    RAFTSTACK_DATA_DIR=/data \
    RAFTSTACK_HOST=0.0.0.0 \
    RAFTSTACK_PORT=12380
USER 1000:1000
VOLUME ["/data"]
# 12379 peers (Raft), 12380 clients (HTTP API); RAFTSTACK_RESP_PORT adds a Redis protocol port (6379 by convention).
EXPOSE 12379 12380
# Liveness, not readiness: an orchestrator restarts an unhealthy container, and restarting a node that
# sees no leader brings no leader back. /readyz is for load balancers (docs/operations.md, Health).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.RAFTSTACK_PORT}/livez`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# No arguments: a node configured from RAFTSTACK_* (or RAFTSTACK_CONFIG). Arguments run any raftstack
# command instead (`docker run --rm raftstack status --endpoints http://raftstack1:12380`).
# SIGTERM (docker stop) is a graceful stop: a leader hands leadership over first.
ENTRYPOINT ["node", "/opt/raftstack/bin/raftstack.js"]
