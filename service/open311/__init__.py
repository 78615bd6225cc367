"""Open311 GeoReport v2 under /open311/v2 (https://wiki.open311.org/GeoReport_v2).

Every resource answers in JSON or XML, chosen by its suffix (`services.json`,
`requests/12.xml`); errors come in the spec's format (`[{"code": 400, "description": …}]`,
`<errors><error>…`), one entry per problem found.

- services are the report categories (service_name in Japanese, description in English);
- a service request is a REPORT (service_request_id = report number); its status is its
  cluster's: open while crews have it open, closed once resolved, rejected or merged, with
  the latest note of the cluster's history as status_notes;
- POST files a report through the same workflow as the LINE chat (it joins a cluster of
  the same problem nearby), for a system holding an API key (`civic apikey add`).

Nothing that identifies a reporter ever leaves here: no LINE user ID, and of LINE reports
neither the resident's own words nor their photos (those stay with the crews; residents
were never told they would be published). Description and media_url are shown only for
reports filed through this API. The personal fields of a POST (email, name, phone, device
and account ids) are not even stored.

Modules: `formats` (JSON/XML rendering, the spec's errors), `filters` (the filter of GET
requests), `queries` (SQL), `filing` (POST requests: checks, the workflow, the hourly
allowance per key) and `routes`.
"""
