FROM python:3.11-slim-bookworm
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core libmagic1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hopen ./hopen
COPY indicators ./indicators
COPY funding ./funding
COPY ami ./ami
COPY envelopes ./envelopes
COPY audits ./audits
RUN pip install --no-cache-dir .
COPY . .
# Static files are collected into the image and served by WhiteNoise (the key is only for this step).
RUN SECRET_KEY=build-only-key-build-only-key-build-only-key-build-only-key \
    DJANGO_SETTINGS_MODULE=hopen.settings.production STATIC_ROOT=/srv/hopen/static \
    python manage.py collectstatic --no-input
RUN useradd --system --home /srv/hopen hopen && mkdir -p /srv/hopen/private-media \
    && chown -R hopen /srv/hopen
USER hopen
EXPOSE 8000
