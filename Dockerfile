# ipvsd: the gRPC control plane for Linux IPVS.
#   docker build -t ipvsd .
#   docker run --rm --network host --cap-add NET_ADMIN ipvsd
# (add --cap-add SYS_ADMIN and -v /run/netns:/run/netns only to serve other
# network namespaces, with --netns). The host's kernel needs the ip_vs module.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts
COPY gen gen
COPY src src
# tsc into dist/, and ipvsctl bundled into dist/ipvsctl.cjs (bin/ipvsctl.mjs runs it).
RUN npm run build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Runtime dependencies only; ffi-rs ships prebuilt binaries.
RUN npm ci --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY package.json ./
COPY bin bin
# In a container the kernel is the host's: never fall back to the sandbox.
ENV IPVSD_SANDBOX=never NODE_ENV=production
EXPOSE 50051
# The standard gRPC health service, through the same client code the tests use.
HEALTHCHECK --interval=10s --timeout=6s --start-period=10s --retries=3 CMD ["node", "dist/src/server/healthcheck.js"]
ENTRYPOINT ["node", "dist/src/server/main.js"]
