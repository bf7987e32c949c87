# One image for every drx process; the command picks the service:
#   drx run ingest | drx run matching | drx run notify | drx db upgrade | drx topics create
# Build from the repository root:  docker build -t drx:0.1.0 .
# deploy/docker-compose.yml and deploy/k8s/ run this image; tests/unit/deploy checks that the
# commands they give it exist in the CLI.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/drx
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
# A regular (not editable) install: the runtime stage needs only /opt/drx, not the sources.
RUN /opt/drx/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/drx/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DRX_LOG_FORMAT=json
COPY --from=build /opt/drx /opt/drx
# A fixed numeric id, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
RUN groupadd --system --gid 10001 drx \
    && useradd --system --uid 10001 --gid drx --home-dir /home/drx --create-home drx
USER 10001:10001
WORKDIR /home/drx
# Health (/livez, /readyz) and Prometheus metrics (/metrics) of the workers.
EXPOSE 8080
ENTRYPOINT ["drx"]
CMD ["--help"]
