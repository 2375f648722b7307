# One image for every pixmill process of docker-compose.yml: the API, the standard and ML workers, and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# torch first, from PyTorch's CPU wheel index: the Linux wheel on PyPI brings the CUDA libraries (gigabytes).
# The ml extra pins the same version, so the install below keeps this one.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

WORKDIR /build
COPY pyproject.toml README.md requirements.lock ./
COPY src ./src
# Distributed mode: PostgreSQL driver, S3 (boto3), Celery, Redis, and the ML stack for the ML workers and renders.
# gcc builds DnCNN's C kernel (pixmill.ml._winograd; without it denoise falls back to torch, ~3x slower) and is
# removed again with the build folder. Versions come from the lock, as in CI.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install -c requirements.lock '.[postgres,s3,distributed,redis,ml]' \
    && python -c "import pixmill.ml._winograd" \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* /build

RUN useradd --system --create-home --home-dir /var/lib/pixmill --uid 10001 pixmill
USER pixmill
WORKDIR /var/lib/pixmill
ENV PIXMILL_DATA_DIR=/var/lib/pixmill

EXPOSE 8000
CMD ["pixmill", "serve", "--host", "0.0.0.0", "--port", "8000"]
