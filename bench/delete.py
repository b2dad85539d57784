#!/usr/bin/env python3
"""Benchmark deleting by filter: `ct delete` against `conntrack -D`.

Run as root from the repository's top folder (needs cargo, iproute2 and conntrack):

    python3 bench/delete.py                    # 250,000 entries, 3 rounds
    python3 bench/delete.py --rounds 5
    python3 bench/delete.py --total 1000000    # raises nf_conntrack_max for the run

Each run makes a fresh network namespace `ct-bench-delete-<pid>-<n>` and fills it with
TOTAL UDP entries (250,000 unless `--total` says; examples/fill_table): 64,000 from
10.1.0.0/16 with mark 42, the rest from other /16s with mark 0. A TOTAL above the host's
nf_conntrack_max raises it for the run and puts it back (bench/run.py's
`conntrack_max_at_least`). Then it times one deletion, output to /dev/null:

- by the /16 prefix (`-s 10.1.0.0/16`): a prefix the kernel cannot match, so all
  250,000 entries cross; `ct delete` (entry by entry, its default) deletes many to a
  datagram; conntrack dumps and sends one request per entry, waiting for each
  acknowledgement;
- by mark (`-m 42`): `ct delete` dumps what the kernel's filter lets through and deletes
  it entry by entry (its default, whose lines and count are exact); `ct delete
  --one-request` sends one flush request carrying the mark (Linux 6.12 and later take
  the whole filter), after dumping what it is about to delete for the lines it prints;
  conntrack dumps by mark and deletes one by one.

It also times `ct flush -f ipv6` on the same table (no IPv6 entry): the floor of any
flush request, the kernel's walk of the whole table. It checks that exactly 64,000
entries went (none for the floor), reports the median time of each and the ratios to
conntrack (the floor's to conntrack's by mark) and the peak RSS of each (GNU time), and
deletes the namespace after each run, also on failure, waiting 3 s before each timing
for the last one's teardown.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as listing  # noqa: E402  (bench/run.py: run_once, conntrack_max_at_least)

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The build profile measured: release (what `cargo install` builds), or another one of
# Cargo.toml's named by CT_BENCH_PROFILE (dist: fat LTO).
PROFILE = os.environ.get("CT_BENCH_PROFILE", "release")
RELEASE = os.path.join(TOP, "target", PROFILE)
MATCHING = 64_000
TOTAL = 250_000  # the default of --total


def build():
    subprocess.run(
        ["cargo", "build", "--profile", PROFILE, "--quiet", "--bin", "ct", "--example", "fill_table"],
        cwd=TOP, check=True)


def fill(netns, total):
    fill_table = os.path.join(RELEASE, "examples", "fill_table")
    subprocess.run([fill_table, netns, str(MATCHING), "--base", "1", "--mark", "42"], check=True)
    rest = total - MATCHING
    for base in (2, 3, 4):
        subprocess.run([fill_table, netns, str(rest // 3 + (1 if base == 2 else 0) * (rest % 3)),
                        "--base", str(base)], check=True)


def count(netns):
    out = subprocess.run(["ip", "netns", "exec", netns, "conntrack", "-C"],
                         capture_output=True, text=True, check=True).stdout
    return int(out.strip())


def one_run(netns, argv, total):
    """Seconds and peak RSS (KiB) of `argv` run in a fresh namespace of `total` entries."""
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        fill(netns, total)
        # The previous run's namespace is torn down in the background, entries and all;
        # let that finish before timing.
        time.sleep(3)
        before = count(netns)
        took, kib = listing.run_once(["ip", "netns", "exec", netns] + argv)
        gone = before - count(netns)
        expected = 0 if "ipv6" in argv else MATCHING
        if gone != expected:
            raise RuntimeError(f"{' '.join(argv)} deleted {gone} entries, not {expected}")
        return took, kib
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--total", type=int, default=TOTAL, help="entries in each table")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/delete.py needs root (network namespaces, conntrack)")
    build()
    ct = os.path.join(RELEASE, "ct")
    cases = [
        ("ct delete -s 10.1.0.0/16", [ct, "delete", "-s", "10.1.0.0/16"]),
        ("conntrack -D -s 10.1.0.0/16", ["conntrack", "-D", "-s", "10.1.0.0/16"]),
        ("ct delete -m 42", [ct, "delete", "-m", "42"]),
        ("ct delete -m 42 --one-request", [ct, "delete", "-m", "42", "--one-request"]),
        ("conntrack -D -m 42", ["conntrack", "-D", "-m", "42"]),
        # The floor of any flush request: the kernel walks the whole table (no IPv6
        # entry here, so it deletes nothing).
        ("ct flush -f ipv6", [ct, "flush", "-f", "ipv6"]),
    ]
    times = {name: [] for name, _ in cases}
    rss = {name: 0 for name, _ in cases}
    run = 0
    load = open("/proc/loadavg").read().split()[:3]
    with listing.conntrack_max_at_least(args.total + 1000):
        for round_number in range(args.rounds):
            for name, argv in cases:
                run += 1
                took, kib = one_run(f"ct-bench-delete-{os.getpid()}-{run}", argv, args.total)
                times[name].append(took)
                rss[name] = max(rss[name], kib)
                print(f"round {round_number + 1}: {name}: {took:.3f} s", file=sys.stderr)
    load_after = open("/proc/loadavg").read().split()[:3]
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"\n{MATCHING:,} of {args.total:,} entries deleted; median of {args.rounds} rounds "
          f"(load average {' '.join(load)} before, {' '.join(load_after)} after)\n")
    print("| command | time | share of conntrack's | peak RSS |")
    print("| --- | ---: | ---: | ---: |")
    for name, _ in cases:
        if name.startswith("ct flush"):
            reference = "conntrack -D -m 42"
        elif name.startswith("ct"):
            reference = "conntrack -D" + name.split("delete", 1)[1].split(" --", 1)[0]
        else:
            reference = name
        print(f"| {name} | {median[name]:.3f} s | {median[name] / median[reference]:.2f} "
              f"| {rss[name] / 1024:.1f} MiB |")


if __name__ == "__main__":
    main()
