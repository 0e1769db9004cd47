# syntax=docker/dockerfile:1
# The API image: `docker build -t ai-model-api .` then `docker run -p 8000:8000 ai-model-api`.
#
# The project's image: the inference server by default, and the Flask page with another
# command (docker-compose.yml runs both from it). It is TP_Docker/Dockerfile's recipe (same
# base, stages, user, ENV, HEALTHCHECK and CMD; tests/shipping/test_dockerfile.py keeps
# them in step) with two differences: it installs requirements.txt (all serving
# dependencies, Flask included, never torch, tensorflow or scikit-learn) instead of
# TP_Docker/requirements.txt, and it also copies TP_Flask/. The builder installs into a
# venv; the runtime copies only that venv and the sources, runs as an unprivileged user and
# reports readiness. tests/shipping/test_image_recipe.py replays it in a fresh venv.

ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements.txt /tmp/requirements.txt
RUN python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir --requirement /tmp/requirements.txt \
    && find /opt/venv -name "__pycache__" -type d -prune -exec rm -rf {} + \
    && find /opt/venv -name "tests" -type d -path "*site-packages/*/tests" -prune -exec rm -rf {} +

FROM ${PYTHON_IMAGE} AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    API_HOST=0.0.0.0 \
    API_PORT=8000 \
    API_MODEL_REPOSITORY=/app/models
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
# Sources the apps import, and the committed default model repository (baked in: the image
# answers predictions with no volume). Mount your own repository over /app/models, read-only.
COPY utils/ utils/
COPY TP_Docker/ TP_Docker/
COPY TP_Flask/ TP_Flask/
COPY models/ models/
# The prediction log's default folder (out/prediction_log.sqlite3), owned by the app user:
# compose mounts a volume here that every replica and the Flask page share.
RUN mkdir -p out && chown 10001:10001 out
LABEL org.opencontainers.image.title="ai-model-api" \
      org.opencontainers.image.description="Open Inference Protocol v2 server and Flask page (onnxruntime)" \
      io.ai-model-deployment-tools.models-volume="/app/models"
USER 10001:10001
EXPOSE 8000
# Same readiness check and command as TP_Docker/Dockerfile: host, port and workers come
# from API_HOST / API_PORT / API_WORKERS (docker run -e API_WORKERS=2 ...).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "TP_Docker/healthcheck.py"]
CMD ["python", "TP_Docker/app.py"]
