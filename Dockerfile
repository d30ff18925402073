# syntax=docker/dockerfile:1
# Build: the sqlite driver (mattn/go-sqlite3) needs cgo, so build on glibc
# and run on a glibc slim image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/pochta ./cmd/pochta

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin pochta \
    && mkdir -p /data && chown pochta:pochta /data
COPY --from=build /out/pochta /usr/local/bin/pochta
RUN ln -s /usr/local/bin/pochta /usr/local/bin/sendmail
USER pochta
WORKDIR /data
ENV POCHTA_SERVER_DATA_DIR=/data
VOLUME ["/data"]
# SMTP in, submission (STARTTLS, implicit TLS), IMAP (STARTTLS, TLS),
# POP3 (STLS, TLS), HTTP, HTTPS (webmail, REST API, MAPI/HTTP, Autodiscover).
EXPOSE 2525 2587 2465 1143 1993 1110 1995 8080 8443
HEALTHCHECK --interval=30s --timeout=5s CMD ["/usr/local/bin/pochta", "health"]
ENTRYPOINT ["/usr/local/bin/pochta"]
CMD ["serve"]
