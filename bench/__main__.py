"""`python -m bench` (or `make bench`): print the benchmark figures."""

from bench import location

print("Location answer (Kita-ku data, 2-core machine; medians, ratio to a same-run floor)")
for line in location.run():
    print(line)
