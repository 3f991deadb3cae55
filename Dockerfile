# syntax=docker/dockerfile:1
# The image of the main command: the triggerer and a job step worker in one process (as scripts/start
# runs them), on Node LTS on Debian slim, with Debian's supervisor (for the supervisor steps) and
# redis-server (the embedded default when no REDIS_URL is given), as a non-root user. Run a role
# alone with the command `triggerer` (without --worker) or `worker`.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY bin ./bin
COPY src ./src
COPY triggers ./triggers
RUN npm run build && npm prune --omit=dev --ignore-scripts

FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends supervisor redis-server tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --create-home --uid 10001 --shell /usr/sbin/nologin triggerer
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
ENV NODE_ENV=production \
    XDG_STATE_HOME=/home/triggerer/.local/state
USER triggerer
# /metrics, /healthz and /readyz
EXPOSE 9464
# tini forwards SIGTERM so the triggerer hands its triggers off instead of being killed.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/bin/supervisor-triggerer.js"]
CMD ["triggerer", "--worker", "--metrics-host", "0.0.0.0"]
