# syntax=docker/dockerfile:1
#
# One image for every app of the monorepo. The app it runs is chosen by APP, at build time (--build-arg APP=…)
# or at run time (-e APP=…): consortium | partner-service | projection-service | portal.
#
#   docker build -t hls-consortium/partner-service --build-arg APP=partner-service .
#
# How it runs: compiled JavaScript (tsc, tsconfig.build.json -> dist/), not ts-node. tsc leaves the path
# aliases as they are (require('@app/platform')), so something must resolve them at run time. tsconfig-paths
# and ts-node are dev dependencies and would need the tsconfig files in the image; instead the runtime stage
# links node_modules/@app/<lib> to dist/libs/<lib>/src, and Node's own module resolution finds every library,
# with nothing but production dependencies installed.

ARG NODE_IMAGE=node:20-bookworm-slim

# Build: every dependency, then the TypeScript compiled to dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY libs ./libs
COPY apps ./apps
RUN npx tsc -p tsconfig.build.json

# Production dependencies only. No install scripts: none of them needs one (pg is pure JavaScript, PGlite is
# WebAssembly).
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# Runtime: the compiled apps, production dependencies, the consortium file; a non-root user.
FROM ${NODE_IMAGE} AS runtime
ARG APP=partner-service
ENV APP=${APP} \
    NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    HLS_HOST=0.0.0.0 \
    HLS_DATA_DIR=/data \
    HLS_CONSORTIUM_FILE=/app/consortium/north-edinburgh.json
WORKDIR /app
# The projection service prints evidence packs to PDF with Chromium (Debian's package); other apps need none.
RUN if [ "$APP" = "projection-service" ] || [ "$APP" = "consortium" ]; then \
      apt-get update && apt-get install -y --no-install-recommends chromium fonts-liberation && \
      rm -rf /var/lib/apt/lists/*; \
    fi
ENV CHROMIUM_PATH=/usr/bin/chromium
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The portal's templates and static files are not compiled: it finds them beside its sources.
COPY --from=build /app/apps/portal/src ./apps/portal/src
COPY package.json ./
COPY consortium ./consortium
RUN set -eu; \
    mkdir -p node_modules/@app; \
    for lib in dist/libs/*; do ln -s "../../$lib/src" "node_modules/@app/$(basename "$lib")"; done; \
    test -f "dist/apps/$APP/src/main.js" || { echo "APP=$APP is not an app (see apps/)" >&2; exit 1; }; \
    mkdir -p /data && chown node:node /data
# The node image's unprivileged user (uid 1000). The app's files stay root's: it can read them, not change them.
USER node
# A service listens on PORT (3000); the one-process consortium (APP=consortium) on HLS_PORT (4000) and up.
EXPOSE 3000
# exec: node is PID 1 and gets SIGTERM itself, so `docker stop` is a clean stop.
CMD ["sh", "-c", "exec node \"dist/apps/$APP/src/main.js\""]
