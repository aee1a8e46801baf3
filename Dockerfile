# Followup's image: the wheel (with its package data: rule pack, seed inspections, templates,
# migrations) installed at the versions of constraints.txt, run as a user of its own.
# docker build -t followup .   (compose.yaml builds it; README, "Running with Docker Compose")

FROM python:3.11-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY events events
COPY schemas schemas
COPY services services
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
# otel: the OpenTelemetry exporter, used only with FOLLOWUP_OTEL_ENABLED=true; build with
# --build-arg EXTRAS= for an image without it.
ARG EXTRAS=otel
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FOLLOWUP_DATA_DIR=/data \
    FOLLOWUP_HTTP_HOST=0.0.0.0
COPY constraints.txt /tmp/constraints.txt
COPY --from=wheel /wheels /tmp/wheels
# Installed from the wheel alone, never the checkout: what runs is what ships.
RUN wheel="$(ls /tmp/wheels/followup-*.whl)" \
    && pip install --no-cache-dir -c /tmp/constraints.txt "${wheel}${EXTRAS:+[$EXTRAS]}" \
    && rm -rf /tmp/wheels /tmp/constraints.txt \
    && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home followup \
    && mkdir -p /data && chown followup:followup /data && chmod 0700 /data
USER followup
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8040
# Alive: the process answers HTTP (the database and Redis are /readyz's, compose.yaml's).
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "services.entrypoints.http.probe", "/healthz"]
ENTRYPOINT ["followup"]
CMD ["serve"]
