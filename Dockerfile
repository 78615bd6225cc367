# The civic-gis service, for a server deployment beside the postgis/postgis image.

# The crew map's JS/CSS from the npm registry (served by the app: no CDN at view time).
FROM node:20-slim AS assets
WORKDIR /build
COPY frontend frontend
COPY service/crew/static service/crew/static
RUN cd frontend && npm ci --no-audit --no-fund && node copy-assets.mjs

FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY gis gis
COPY service service
COPY --from=assets /build/service/crew/static/vendor service/crew/static/vendor
# The message catalogs are compiled where the package is installed (from /, so that the
# installed package is the one imported).
RUN pip install --no-cache-dir . && cd / && python -m service.vocabulary.build compile
COPY shelters.geojson ./
COPY hazard_maps hazard_maps
ENV SHELTERS_FILE=/app/shelters.geojson HAZARD_MAPS_DIR=/app/hazard_maps \
    SERVICE_AREA=/app/hazard_maps/service_area.geojson PHOTO_DIR=/data/photos
RUN useradd --system --uid 10001 civic && mkdir -p /data/photos && chown civic /data/photos
USER civic
EXPOSE 8000
CMD ["sh", "-c", "civic db upgrade && civic load bundled && civic serve --host 0.0.0.0 --port 8000"]
