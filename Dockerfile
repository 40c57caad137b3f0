# syntax=docker/dockerfile:1
# ---- builder ---------------------------------------------------------------
FROM rust:1-bookworm AS builder
WORKDIR /app

# Dependencies first, built against a dummy crate, so editing src/ does not
# rebuild the whole dependency tree (this layer is cached until Cargo.* change).
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
 && echo 'fn main() {}' > src/main.rs \
 && touch src/lib.rs \
 && cargo build --release --locked --bin rota \
 && rm -rf src

# Templates (askama), migrations (sqlx::migrate!) and static files are embedded
# at compile time, so they are needed here and not in the runtime image.
COPY build.rs ./
COPY src/ src/
COPY migrations/ migrations/
COPY templates/ templates/
COPY static/ static/
# No database is reachable during the image build; sqlx must not try one.
ENV SQLX_OFFLINE=true
# The commit `rota --version` and rota_build_info report (.git is not in the
# build context): docker build --build-arg ROTA_COMMIT=$(git rev-parse --short=12 HEAD) .
ARG ROTA_COMMIT=unknown
ENV ROTA_COMMIT=$ROTA_COMMIT
# touch: COPY keeps old mtimes, which cargo could mistake for the dummy build.
RUN touch build.rs src/main.rs src/lib.rs \
 && cargo build --release --locked --bin rota \
 && cp target/release/rota /usr/local/bin/rota

# ---- runtime ---------------------------------------------------------------
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin rota
COPY --from=builder /usr/local/bin/rota /usr/local/bin/rota

USER rota
ENV ROTA_LISTEN=0.0.0.0:8080
EXPOSE 8080
# The slim image has no curl: `rota healthcheck` GETs http://127.0.0.1:8080/healthz
# and exits 0 (healthy) or 1.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["rota", "healthcheck"]
ENTRYPOINT ["rota"]
CMD ["serve"]
