"""Table definitions (SQLAlchemy Core + GeoAlchemy2). Storage is EPSG:4326.

Spatial indexes are declared here explicitly (spatial_index=False on the columns) so that
the Alembic migrations and these definitions say the same thing.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

shelters = Table(
    "shelters",
    metadata,
    # 共通ID of the emergency site (or of the shelter when the facility has no site).
    Column("common_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("municipality", Text, nullable=False),
    # ShelterHazard values the site is designated for.
    Column("hazards", ARRAY(Text), nullable=False),
    Column("is_emergency_site", Boolean, nullable=False),
    Column("is_shelter", Boolean, nullable=False),
    Column("shelter_common_id", Text),
    Column("accepts", Text, nullable=False),
    Column("notes", Text, nullable=False),
    # A site missing from a newer release is kept for history but no longer offered.
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("shelters_geom_idx", "geom", postgresql_using="gist"),
)

hazard_layers = Table(
    "hazard_layers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),
    Column("source_file", Text, nullable=False),
    Column("checksum", Text, nullable=False),
    Column("feature_count", Integer, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

hazard_zones = Table(
    "hazard_zones",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("layer_id", Integer, ForeignKey("hazard_layers.id", ondelete="CASCADE"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("feature_index", Integer, nullable=False),
    Column("zone_key", Text),
    Column("rank", Integer),
    Column("depth_min_m", Float),
    Column("depth_max_m", Float),
    Column("label_ja", Text, nullable=False),
    Column("label_en", Text, nullable=False),
    Column("attributes", JSONB, nullable=False),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    Index("hazard_zones_geom_idx", "geom", postgresql_using="gist"),
)

# Hazard polygons cut into small pieces (ST_Subdivide) so a point lookup touches a few
# hundred vertices instead of a 23k-vertex multipolygon.
hazard_zone_parts = Table(
    "hazard_zone_parts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("zone_id", Integer, ForeignKey("hazard_zones.id", ondelete="CASCADE"), nullable=False),
    Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
    Index("hazard_zone_parts_geom_idx", "geom", postgresql_using="gist"),
    Index(
        "hazard_zone_parts_geog_idx",
        text("(geom::geography)"),
        postgresql_using="gist",
    ),
    Index("hazard_zone_parts_zone_idx", "zone_id"),
)

# Each hazard layer's zones unioned once, when the layer is loaded, and that union cut into
# small pieces: an alert to a whole layer counts its residents piece by piece through the
# index instead of unioning thousands of vertices per request.
hazard_layer_areas = Table(
    "hazard_layer_areas",
    metadata,
    Column(
        "layer_id",
        Integer,
        ForeignKey("hazard_layers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
)

hazard_layer_area_parts = Table(
    "hazard_layer_area_parts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "layer_id",
        Integer,
        ForeignKey("hazard_layer_areas.layer_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("geom", Geometry("GEOMETRY", srid=4326, spatial_index=False), nullable=False),
    Index("hazard_layer_area_parts_geom_idx", "geom", postgresql_using="gist"),
    Index("hazard_layer_area_parts_layer_idx", "layer_id"),
)

service_area = Table(
    "service_area",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("checksum", Text, nullable=False),
    Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A resident's filing. Its status is its cluster's: crews work clusters (the same problem
# reported by several residents), and every reporter in a cluster hears of a change.
report_clusters = Table(
    "report_clusters",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("category", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'received'")),
    # Centroid of the member reports, kept up to date by the report workflow.
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("report_count", Integer, nullable=False, server_default=text("0")),
    # Kept with the count so the crew map reads clusters without aggregating reports.
    Column("first_report_at", DateTime(timezone=True)),
    Column("last_report_at", DateTime(timezone=True)),
    Column("has_photo", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("closed_at", DateTime(timezone=True)),
    Index("report_clusters_geom_idx", "geom", postgresql_using="gist"),
    Index("report_clusters_status_idx", "status", "category"),
)

reports = Table(
    "reports",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("cluster_id", Integer, ForeignKey("report_clusters.id"), nullable=False),
    Column("category", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=text("''")),
    # The address the resident's phone gave with the location, if any.
    Column("address", Text, nullable=False, server_default=text("''")),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    # The reporter, kept only to notify them; never shown to crews or the public, and
    # removed after the retention period (`civic reports forget`).
    Column("line_user_id", Text),
    Column("language", Text, nullable=False, server_default=text("'ja'")),
    Column("source", Text, nullable=False, server_default=text("'line'")),
    # Open311 only: the filing system's key, its media_url, and the token it can look up.
    Column("api_key_id", Integer),
    Column("media_url", Text),
    Column("token", Text, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("reports_geom_idx", "geom", postgresql_using="gist"),
    Index("reports_geog_idx", text("(geom::geography)"), postgresql_using="gist"),
    Index("reports_cluster_idx", "cluster_id"),
    Index("reports_user_idx", "line_user_id", "created_at"),
    # Open311 lists requests newest first within a date window.
    Index("reports_created_idx", "created_at", "id"),
)

report_photos = Table(
    "report_photos",
    metadata,
    Column("report_id", Integer, ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    # Content address (SHA-256 of the stored, metadata-free image).
    Column("photo_key", Text, nullable=False),
)

cluster_events = Table(
    "cluster_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "cluster_id",
        Integer,
        ForeignKey("report_clusters.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("note", Text, nullable=False, server_default=text("''")),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("cluster_events_cluster_idx", "cluster_id", "at"),
)

# What an admin last said about a site in a disaster: open, full or closed. Kept apart from
# `shelters` so that reloading a newer GSI release never touches it.
shelter_status = Table(
    "shelter_status",
    metadata,
    Column(
        "common_id",
        Text,
        ForeignKey("shelters.common_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("status", Text, nullable=False),
    Column("note", Text, nullable=False, server_default=text("''")),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('open', 'full', 'closed')", name="shelter_status_check"),
)

# Every status change, for the disaster office's record.
shelter_status_log = Table(
    "shelter_status_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("common_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("note", Text, nullable=False, server_default=text("''")),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("shelter_status_log_idx", "common_id", "at"),
)

# The hazard an admin declared active (one row at most): the location answer puts open
# sites designated for it first. No row: no disaster declared.
active_hazard = Table(
    "active_hazard",
    metadata,
    Column("id", Integer, primary_key=True, server_default=text("1")),
    # A ShelterHazard value (flood, landslide, earthquake, ...).
    Column("hazard", Text, nullable=False),
    Column("declared_by", Text, nullable=False),
    Column("declared_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("id = 1", name="active_hazard_single_row"),
)

# Every declaration and end of a hazard, for the disaster office's record of the day.
hazard_declarations = Table(
    "hazard_declarations",
    metadata,
    Column("id", Integer, primary_key=True),
    # The ShelterHazard value declared; NULL: the declared hazard was ended.
    Column("hazard", Text),
    Column("actor", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("hazard_declarations_at_idx", "at"),
)

# Public facilities from the municipalities' standard open data (公共施設一覧, 医療機関一覧,
# AED設置箇所一覧). Keyed by the file's own city code, kind and ID so a newer file updates.
facilities = Table(
    "facilities",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("city_code", Text, nullable=False),
    # public_facility, medical or aed: which dataset the row came from.
    Column("dataset", Text, nullable=False),
    Column("source_id", Text, nullable=False),
    # Our category (aed, hospital, clinic, library, ward_office, community_centre, ...).
    Column("category", Text, nullable=False),
    # The file's own category text (種別 / 診療科目 / 設置場所), as published.
    Column("category_text", Text, nullable=False, server_default=text("''")),
    Column("name", Text, nullable=False),
    Column("kana", Text, nullable=False, server_default=text("''")),
    Column("address", Text, nullable=False, server_default=text("''")),
    Column("phone", Text, nullable=False, server_default=text("''")),
    Column("hours", Text, nullable=False, server_default=text("''")),
    Column("url", Text, nullable=False, server_default=text("''")),
    Column("barrier_free", Text, nullable=False, server_default=text("''")),
    Column("attributes", JSONB, nullable=False, server_default=text("'{}'")),
    Column("source_file", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("city_code", "dataset", "source_id", name="facilities_source_key"),
    Index("facilities_geom_idx", "geom", postgresql_using="gist"),
    Index("facilities_geog_idx", text("(geom::geography)"), postgresql_using="gist"),
    Index("facilities_category_idx", "category"),
)
