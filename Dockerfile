# Shipyard's default production image for a Node.js + pnpm service, used when the app has no Dockerfile
# of its own. It expects: package.json with "packageManager": "pnpm@X.Y.Z", pnpm-lock.yaml, a `build`
# script that writes dist/, the entry point dist/server.js, and optionally migrations/ (copied as is).
#
#   docker build --build-arg SENTRY_RELEASE="$(git rev-parse HEAD)" -t app .
#
# Stages: pnpm (the pinned pnpm) → fetch (lockfile only) → deps / prod-deps → build, and
# node-runtime (the base image without its package managers) → runtime.
# Dependencies are downloaded in a layer keyed on pnpm-lock.yaml alone, so a source change — or a
# package.json change that leaves the lockfile alone — never downloads a dependency again. The app's
# .dockerignore must exclude node_modules and dist (see examples/app/.dockerignore): `COPY . .` would
# otherwise put the host's node_modules over the one installed here.

# Every stage starts from this image (the runtime from a trimmed copy); override it to build on a mirror
# or another Node (22 works).
ARG NODE_IMAGE=node:24-alpine

# ---- pnpm: exactly the pnpm named by package.json's packageManager field -------------------------
# Installed with npm rather than corepack: corepack is gone from Node 25 images, and it refuses
# registries (mirrors, proxies) that do not serve npm's signatures.
FROM ${NODE_IMAGE} AS pnpm
COPY package.json /tmp/package.json
RUN pm="$(node -p "require('/tmp/package.json').packageManager || ''")"; \
    case "$pm" in \
      pnpm@*) npm install --global --prefix /opt/pnpm --no-audit --no-fund "${pm%%+*}" ;; \
      *) echo "package.json must pin pnpm, e.g. \"packageManager\": \"pnpm@10.34.8\" (found: \"$pm\")" >&2; exit 1 ;; \
    esac

# ---- fetch: every package of the lockfile into the shared pnpm store ------------------------------
# /opt/pnpm holds only pnpm itself, so this stage stays cached while package.json changes around it.
FROM ${NODE_IMAGE} AS fetch
ENV PATH=/opt/pnpm/bin:$PATH PNPM_STORE=/pnpm/store CI=true
COPY --from=pnpm /opt/pnpm /opt/pnpm
WORKDIR /app
# The bracket globs copy .npmrc (registry, auth) and pnpm-workspace.yaml (pnpm 10 settings such as
# onlyBuiltDependencies) when the app has them, and nothing when it does not.
COPY pnpm-lock.yaml .npmr[c] pnpm-workspace.yam[l] ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm fetch --store-dir "$PNPM_STORE"

# ---- deps: all dependencies, to build ---------------------------------------------------------------
# --prefer-offline rather than --offline: when this layer is rebuilt on a machine whose cache mount is
# empty (a fresh CI runner with a restored layer cache), it downloads what is missing instead of failing.
FROM fetch AS deps
COPY package.json pnpm-lock.yaml ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --frozen-lockfile --prefer-offline --store-dir "$PNPM_STORE"

# ---- prod-deps: production dependencies only, for the runtime image --------------------------------
# `pnpm fetch` filled node_modules/.pnpm with every package, dev ones included, and `install --prod`
# would leave them there: start from an empty node_modules and link from the store.
FROM fetch AS prod-deps
COPY package.json pnpm-lock.yaml ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    rm -rf node_modules \
 && pnpm install --prod --frozen-lockfile --prefer-offline --store-dir "$PNPM_STORE"

# ---- build: compile, then gather what the runtime needs in /out -----------------------------------
FROM deps AS build
COPY . .
RUN pnpm run build \
 && mkdir -p /out \
 && cp -R package.json dist /out/ \
 && if [ -d migrations ]; then cp -R migrations /out/; fi

# ---- node-runtime: the base image without what only a build needs -----------------------------------
# The service runs `node` and nothing else. npm, npx, corepack and yarn (close to 20 MB with their own
# dependency trees, and CVE reports against code that never runs), node's C headers (for native addons,
# compiled in the stages above), docs and man pages stay out of production. These are the official
# image's paths; `rm -rf` passes over the ones a base lacks (Node 25 has no corepack, a mirror may
# differ), and `node --version` fails the build if node itself was hurt.
FROM ${NODE_IMAGE} AS node-runtime
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-v* \
           /usr/local/include/node /usr/local/share/doc /usr/local/share/man \
           /usr/local/CHANGELOG.md /usr/local/README.md \
 && node --version

# ---- runtime ------------------------------------------------------------------------------------------
# Deleting files in a layer on top of the base would only hide them: its layers would still ship them.
# Hence scratch plus one copy of node-runtime. The trade-off: the base becomes one flattened layer that
# shares nothing with node:24-alpine's own layers on a host or in the registry (and a builder without
# the layer cache makes it anew) — irrelevant on Fargate, which pulls every layer for every task
# anyway — in exchange for a smaller pull and no Node package manager in production.
# scratch keeps none of the base image's settings: PATH is restated here, USER/WORKDIR below, and there
# is no ENTRYPOINT — the official one only put `node` in front of a script name, so CMD and the ECS
# command overrides start with node (["node", "dist/migrate.js"]). A base that needs its own ENV at
# run time must get it restated here too.
FROM scratch AS runtime
COPY --from=node-runtime / /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The release Sentry and /version report; Shipyard passes the commit sha.
ARG SENTRY_RELEASE=dev
ARG REVISION=unknown
ARG SOURCE_URL=""
LABEL org.opencontainers.image.version="${SENTRY_RELEASE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.description="Built with Shipyard's default Dockerfile"
ENV NODE_ENV=production PORT=3000 SENTRY_RELEASE=${SENTRY_RELEASE}
WORKDIR /app
# Owned by root and read-only for the app user: a compromised process cannot rewrite its own code.
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /out/ ./
USER node
EXPOSE 3000
# Docker only; ECS ignores it and uses the task definition's healthCheck (the same command). Neither
# wget nor curl is needed.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node itself is PID 1 (no npm/pnpm wrapper that would swallow the signal): SIGTERM starts the drain.
STOPSIGNAL SIGTERM
CMD ["node", "dist/server.js"]
