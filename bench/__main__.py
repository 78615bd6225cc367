"""`python -m bench` (or `make bench`): print the benchmark figures."""

from bench import clusters, crewmap, disaster, location, reports, surge

print("Location answer (Kita-ku data, 2-core machine; medians, ratio to a same-run floor)")
for line in location.run():
    print(line)

print()
print("Report flow under load (photo + category + location, six webhooks per report)")
for line in reports.run():
    print(line)

print()
print("Report clustering (100k synthetic reports; medians, ratio to a same-run floor)")
for line in clusters.run():
    print(line)

print()
print("Crew map frame (100k synthetic reports from PostGIS; medians, ratio to a same-run floor)")
for line in crewmap.served():
    print(line)

print()
print("Disaster ops (Kita-ku data + synthetic rows; medians, ratio to a same-run floor)")
for line in disaster.run():
    print(line)

print()
print("Surge (SYNTHETIC national data; civic serve + civic worker processes, stand-in process)")
for line in surge.run():
    print(line)
