# Celeriac worker and beat images: the official Swift 6 image (Debian bookworm) plus hiredis.
# Build: docker build -t celeriac .   Run: see docker-compose.yml.
FROM swift:6.1-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
COPY Benchmarks ./Benchmarks
COPY Examples ./Examples
RUN swift build -c release --product celeriac \
    && swift build -c release --product celeriac-worker \
    && swift build -c release --product celeriac-beat \
    && mkdir -p /out \
    && cp "$(swift build -c release --show-bin-path)"/celeriac* /out/

FROM swift:6.1-bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libhiredis0.14 \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
COPY Examples/beat.json /etc/celeriac/beat.json
ENV CELERIAC_BROKER_URL=redis://redis:6379/0
CMD ["celeriac-worker"]
