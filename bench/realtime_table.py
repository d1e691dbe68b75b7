"""Prints the side-by-side table of scripts/bench-realtime.sh: one column per
server, one row per metric, each cell the median over the repeats (with the
range when there were several).

    python bench/realtime_table.py RESULTS_TSV
"""
import statistics
import sys


def main():
    rows = {}
    servers = []
    for line in open(sys.argv[1]):
        server, metric, value = line.rstrip("\n").split("\t")
        if server not in servers:
            servers.append(server)
        try:
            rows.setdefault(metric, {}).setdefault(server, []).append(float(value))
        except ValueError:
            rows.setdefault(metric, {}).setdefault(server, [])
    print("| metric | " + " | ".join(servers) + " |")
    print("|---|" + "---|" * len(servers))
    for metric, by_server in rows.items():
        cells = []
        for server in servers:
            values = by_server.get(server, [])
            if not values:
                cells.append("—")
            elif len(values) == 1:
                cells.append(f"{values[0]:g}")
            else:
                cells.append(f"{statistics.median(values):g} ({min(values):g}–{max(values):g})")
        print(f"| {metric} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
