"""Readers of official data formats: GSI shelters, 国土数値情報 / PLATEAU hazard zones, N03 areas,
the standard facility lists (公共施設, 医療機関, AED).

Every reader returns fully validated records in EPSG:4326 or raises `SourceError`; none
returns part of a file silently (the facility reader skips rows without coordinates, and
lists them).
"""
