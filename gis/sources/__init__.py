"""Readers of official data formats: GSI shelters, 国土数値情報 / PLATEAU hazard zones, N03 areas.

Every reader returns fully validated records in EPSG:4326 or raises `SourceError`; none
returns part of a file.
"""
