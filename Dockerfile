# Multi-stage build: the official Swift image compiles, a slim Debian image
# with libpq and zlib runs.
FROM swift:6.2-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev zlib1g-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product hacksync --static-swift-stdlib \
    && cp "$(swift build -c release --show-bin-path)/hacksync" /usr/local/bin/hacksync

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 zlib1g ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 hacksync
COPY --from=build /usr/local/bin/hacksync /usr/local/bin/hacksync
COPY triggers /usr/local/share/hacksync/triggers
ENV HACKSYNC_MIGRATIONS=/usr/local/share/hacksync/triggers \
    HACKSYNC_LISTEN=0.0.0.0:8080
USER hacksync
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
ENTRYPOINT ["hacksync"]
CMD ["serve"]
