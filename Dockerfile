# Trackcast service image. CPU by default; for CUDA build with
#   docker build --build-arg TORCH_INDEX_URL= -t trackcast:cuda .
# (an empty TORCH_INDEX_URL installs PyPI's CUDA build of torch) and run with --gpus all.
FROM python:3.11-slim

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg libgl1 libglib2.0-0 curl \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY scripts ./scripts
COPY app ./app
COPY models ./models
# The same install script as `make`; torch comes from TORCH_INDEX_URL when set.
RUN TORCH_INDEX_URL="${TORCH_INDEX_URL}" scripts/install.sh /opt/venv

ENV PATH=/opt/venv/bin:$PATH \
    TRACKCAST_HOST=0.0.0.0 \
    TRACKCAST_PORT=8000 \
    TRACKCAST_DATA_DIR=/data
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["curl", "-fsS", "http://127.0.0.1:8000/readyz"]
CMD ["trackcast", "serve"]
