#!/usr/bin/env python3
"""Benchmark `ct top` against a full `ct list`, and the saved-dump reader (`--input`).

Run as root from the repository's top folder (needs cargo, iproute2, conntrack and GNU
time, Debian package `time`):

    python3 bench/top.py                      # 250,000 entries, median of 5 runs
    python3 bench/top.py --size 100000 --rounds 3

It makes a network namespace `ct-bench-top-<pid>`, fills its table with N UDP entries
(examples/fill_table), and times, round by round so a slow moment hits all alike:
`ct list` (the yardstick), `ct top` grouped by protocol and state (the issue's target:
at most 1.2 times `ct list`, under 16 MiB peak RSS), by source /16, by source (about
1,000 groups) and by source and port (a group per entry: memory grows with groups), and
what ct top replaces, `conntrack -L | awk | sort | uniq -c` (GNU time sees only the
shell's memory there). It then saves the table as `conntrack -L` text and as ct's JSON
Lines (in a temporary folder, removed at the end) and times `ct list --input` and
`ct top --input` on them. The namespace is deleted at the end, also on failure.
"""

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as listing  # noqa: E402  (bench/run.py: build, run_once, measure)

RELEASE = listing.RELEASE


def commands(saved_text, saved_json):
    ct = os.path.join(RELEASE, "ct")
    return [
        ("ct list", [ct, "list"]),
        ("ct top --by proto,state", [ct, "top", "--by", "proto,state", "-o", "plain"]),
        ("ct top --by src/16", [ct, "top", "--by", "src/16", "-o", "plain"]),
        ("ct top --by src (about 1,000 groups)", [ct, "top", "--by", "src", "-o", "plain"]),
        ("ct top --by src,sport (a group per entry)",
         [ct, "top", "--by", "src,sport", "-o", "plain"]),
        ("conntrack -L | awk | sort | uniq -c (RSS: the shell's)",
         ["sh", "-c", "conntrack -L 2>/dev/null | awk '{print $1, $4}' | sort | uniq -c | sort -rn"]),
        ("ct list --input (conntrack -L text)", [ct, "list", "--input", saved_text]),
        ("ct list --input (ct JSON Lines)", [ct, "list", "--input", saved_json]),
        ("ct top --input --by proto,state (text)",
         [ct, "top", "--input", saved_text, "--by", "proto,state", "-o", "plain"]),
    ]


def inside(size, rounds):
    """Runs in the benchmark namespace: fill, save, measure, print."""
    fill = os.path.join(RELEASE, "examples", "fill_table")
    netns = os.environ["CT_BENCH_NETNS"]
    subprocess.run([fill, netns, str(size)], check=True)
    ct = os.path.join(RELEASE, "ct")
    with tempfile.TemporaryDirectory(prefix="ct-bench-top-") as folder:
        saved_text = os.path.join(folder, "conntrack-L.txt")
        saved_json = os.path.join(folder, "ct-list.json")
        with open(saved_text, "wb") as out:
            subprocess.run(["conntrack", "-L"], stdout=out, stderr=subprocess.DEVNULL, check=True)
        with open(saved_json, "wb") as out:
            subprocess.run([ct, "list", "--quiet", "-o", "json"], stdout=out, check=True)
        cmds = commands(saved_text, saved_json)
        results = listing.measure(cmds, rounds)
    print(f"\n{size:,} entries, median of {rounds} runs:\n")
    print("| command | time (s) | peak RSS (MiB) |")
    print("| --- | ---: | ---: |")
    for name, _ in cmds:
        seconds, kib = results[name]
        print(f"| {name} | {seconds:.3f} | {kib / 1024:.1f} |")
    t = {name: results[name][0] for name, _ in cmds}
    top, top_kib = results["ct top --by proto,state"]
    print()
    print(f"- ct top --by proto,state / ct list: {top / t['ct list']:.2f} (target: at most 1.2)")
    print(f"- ct top --by proto,state peak RSS: {top_kib / 1024:.1f} MiB (target: under 16 MiB)")
    print(f"- conntrack -L | awk | sort | uniq -c / ct top: "
          f"{t['conntrack -L | awk | sort | uniq -c (RSS: the shell' + chr(39) + 's)'] / top:.1f}")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=250000, help="entries in the table")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each command (median)")
    parser.add_argument("--inside", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.inside:
        inside(args.inside, args.rounds)
        return
    listing.check_and_build()
    listing.run_inside(f"ct-bench-top-{os.getpid()}", __file__,
                       ["--inside", str(args.size), "--rounds", str(args.rounds)])


if __name__ == "__main__":
    main()
