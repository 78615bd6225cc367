# The civic-gis service, for a server deployment beside the postgis/postgis image.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY gis gis
COPY service service
RUN pip install --no-cache-dir .
COPY shelters.geojson ./
COPY hazard_maps hazard_maps
ENV SHELTERS_FILE=/app/shelters.geojson HAZARD_MAPS_DIR=/app/hazard_maps \
    SERVICE_AREA=/app/hazard_maps/service_area.geojson PHOTO_DIR=/data/photos
RUN useradd --system --uid 10001 civic && mkdir -p /data/photos && chown civic /data/photos
USER civic
EXPOSE 8000
CMD ["sh", "-c", "civic db upgrade && civic load bundled && civic serve --host 0.0.0.0 --port 8000"]
