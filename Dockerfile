# Roomcast server image. Two stages: `build` compiles with the dev dependencies; the runtime stage has
# production dependencies only, the compiled output and the files the server reads at run time.
#   docker build -t roomcast .
#   docker run -p 4000:4000 --network <one with Redis as "redis"> -e REDIS_URL=redis://redis:6379 roomcast
# docs/deploy.md explains every choice here. test/e2e/production-install.test.ts mirrors the runtime
# stage's COPY lines, its `npm ci --omit=dev` and its CMD in a temporary directory (this file is parsed).

# Node 24 is the current LTS; the code keeps running on Node >= 20 (package.json engines).
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/client/package.json packages/client/
COPY scripts/prepare.mjs scripts/
# Dependencies first, in their own layer: sources change far more often than the lockfile.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY packages/client packages/client
COPY schema schema
COPY src src
# Compiles @roomcast/client (packages/client/dist) and the server (dist/, with its Lua scripts).
RUN npm run build

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# What `npm ci --omit=dev` needs: the manifests, the workspace's manifest (@roomcast/client is a
# workspace package, linked from node_modules, and the server imports its compiled protocol module),
# and `prepare`'s script, which finds dist/ already built and does not build.
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/package-lock.json ./package-lock.json
COPY --from=build /app/scripts/prepare.mjs ./scripts/prepare.mjs
COPY --from=build /app/packages/client/package.json ./packages/client/package.json
COPY --from=build /app/packages/client/dist ./packages/client/dist
# The compiled server with its Lua scripts (dist/{broker,presence,inspector}/scripts), the inspector's
# page (dist/inspector/page), and the SDL
# it reads at start-up (src/graphql/schema.ts reads ../../schema/ from dist/graphql/).
COPY --from=build /app/dist ./dist
COPY --from=build /app/schema ./schema
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# The node image's unprivileged user (uid 1000); the files stay root's, so the process cannot change them.
USER node
ENV PORT=4000
EXPOSE 4000
# Liveness only (the process answers). Balancers route on /readyz/replica instead (docs/deploy.md).
# The slim image has no curl: Node's fetch does the request.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM starts the graceful drain (DRAIN_MS, then exit within SHUTDOWN_TIMEOUT_MS = 10 s by default).
# `docker stop` waits 10 s before SIGKILL: run with `--stop-timeout 15` (compose.yaml sets
# stop_grace_period: 15s, deploy/k8s terminationGracePeriodSeconds: 20 with its 5 s preStop pause).
STOPSIGNAL SIGTERM
# node directly, not `npm start`: npm would be PID 1 and does not wait for its child on SIGTERM.
CMD ["node", "dist/main.js"]
