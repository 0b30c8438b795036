# Multi-stage build: compile with the Rust toolchain, run on a slim Debian as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY fixtures ./fixtures
# Cargo.toml declares the benchmark target; its file must exist for the manifest to load.
COPY benches ./benches
RUN cargo build --release --locked --bin sequence

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin sequence \
 && mkdir /data && chown sequence /data
COPY --from=build /src/target/release/sequence /usr/local/bin/sequence
USER sequence
ENV SEQUENCE_LISTEN=0.0.0.0:8080 \
    SEQUENCE_DATA_DIR=/data \
    RUST_LOG=info
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/sequence"]
CMD ["serve"]
