#!/usr/bin/env python3
"""Benchmark event streams: `ct watch` against `conntrack -E` during a burst of inserts.

Run as root from the repository's top folder (needs cargo, iproute2, conntrack and GNU
time, Debian package `time`):

    python3 bench/watch.py                     # 250,000 entries, 3 rounds
    python3 bench/watch.py --count 100000 --rounds 5

Each run makes a fresh network namespace `ct-bench-watch-<pid>-<n>`, starts one watcher
in it writing to a file (`ct watch -e NEW`, `conntrack -E -e NEW`, and the same ct with
a narrow filter, with and without its kernel-side BPF filter), waits until the kernel
lists the watcher as a listener, inserts COUNT entries as fast as examples/fill_table
goes, waits until the watcher's output stops growing, and stops it with SIGINT. It
reports, per watcher, the median of the rounds: events received (of those that match),
how often the kernel reported ENOBUFS, the insert rate, the rate the watcher wrote
events at, and the watcher's CPU time (user + system, from GNU time). The namespace is
deleted after each run, also on failure.
"""

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The build profile measured: release (what `cargo install` builds), or another one of
# Cargo.toml's named by CT_BENCH_PROFILE (dist: fat LTO).
PROFILE = os.environ.get("CT_BENCH_PROFILE", "release")
RELEASE = os.path.join(TOP, "target", PROFILE)
# fill_table's sources are 10.0.(i >> 16).(i >> 8): this prefix holds 256 x 2 entries.
NARROW = ["-s", "10.0.0.0/31"]


def watchers():
    ct = os.path.join(RELEASE, "ct")
    return [
        ("ct watch -e NEW", [ct, "watch", "-e", "NEW"], None),
        ("conntrack -E -e NEW", ["conntrack", "-E", "-e", "NEW"], None),
        ("ct watch -e NEW " + " ".join(NARROW), [ct, "watch", "-e", "NEW"] + NARROW, 512),
        ("same, --no-kernel-filter", [ct, "watch", "-e", "NEW", "--no-kernel-filter"] + NARROW, 512),
    ]


def build():
    subprocess.run(
        ["cargo", "build", "--profile", PROFILE, "--quiet", "--bin", "ct", "--example", "fill_table"],
        cwd=TOP, check=True)


def listeners(netns):
    """Netfilter sockets of the namespace that joined a multicast group."""
    table = subprocess.run(["ip", "netns", "exec", netns, "cat", "/proc/net/netlink"],
                           capture_output=True, text=True, check=True).stdout
    count = 0
    for line in table.splitlines()[1:]:
        columns = line.split()
        if len(columns) > 3 and columns[1] == "12" and int(columns[3], 16) != 0:
            count += 1
    return count


def line_count(path):
    with open(path, "rb") as f:
        return sum(1 for _ in f)


def one_run(netns, argv, count):
    """Returns (received, enobufs, fill seconds, seconds until the last event was written, cpu seconds)."""
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            out_path, err_path, time_path = (os.path.join(tmp, n) for n in ("out", "err", "time"))
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                watcher = subprocess.Popen(
                    ["/usr/bin/time", "-f", "%U %S", "-o", time_path,
                     "ip", "netns", "exec", netns] + argv,
                    stdout=out, stderr=err, start_new_session=True)
                deadline = time.monotonic() + 20
                while listeners(netns) < 1:
                    if time.monotonic() > deadline:
                        raise RuntimeError("the watcher never listened")
                    time.sleep(0.02)
                started = time.monotonic()
                subprocess.run([os.path.join(RELEASE, "examples", "fill_table"), netns, str(count)],
                               check=True)
                filled = time.monotonic() - started
                # Wait for the output to stop growing for a second.
                last, last_change = -1, time.monotonic()
                while time.monotonic() - last_change < 1.0:
                    size = os.path.getsize(out_path)
                    if size != last:
                        last, last_change = size, time.monotonic()
                    time.sleep(0.05)
                drained = last_change - started
                # SIGINT to the watcher itself (GNU time's child), as Ctrl-C would.
                child = subprocess.run(["pgrep", "-P", str(watcher.pid)],
                                       capture_output=True, text=True).stdout.split()
                for pid in child:
                    os.kill(int(pid), signal.SIGINT)
                watcher.wait(timeout=30)
            received = line_count(out_path)
            stderr = open(err_path, errors="replace").read()
            # conntrack warns at each ENOBUFS; ct sums them up at the end.
            enobufs = stderr.count("We have hit ENOBUFS")
            totals = re.findall(r"full (\d+) times \(ENOBUFS\)", stderr)
            if totals:
                enobufs = int(totals[-1])
            user, system = (float(x) for x in open(time_path).read().split()[-2:])
            return received, enobufs, filled, drained, user + system
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=250_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/watch.py needs root (network namespaces, conntrack)")
    build()
    results = {name: [] for name, _, _ in watchers()}
    run = 0
    for round_number in range(args.rounds):
        for name, argv, _ in watchers():
            run += 1
            netns = f"ct-bench-watch-{os.getpid()}-{run}"
            results[name].append(one_run(netns, argv, args.count))
            received, enobufs, filled, drained, cpu = results[name][-1]
            print(f"round {round_number + 1}: {name}: {received} events, ENOBUFS {enobufs}, "
                  f"fill {filled:.2f} s, last event at {drained:.2f} s, cpu {cpu:.2f} s",
                  file=sys.stderr)
    print(f"\n{args.count} entries inserted; median of {args.rounds} rounds\n")
    print("| watcher | events received | ENOBUFS | inserts a second | events a second | CPU time |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, _, matching in watchers():
        rows = results[name]
        received = statistics.median(r[0] for r in rows)
        enobufs = statistics.median(r[1] for r in rows)
        inserts = statistics.median(args.count / r[2] for r in rows)
        rate = statistics.median(r[0] / max(r[3], 1e-9) for r in rows)
        cpu = statistics.median(r[4] for r in rows)
        expected = matching if matching is not None else args.count
        # A narrow filter's few events say nothing of a rate.
        rate_text = f"{rate:,.0f}" if matching is None else "-"
        print(f"| {name} | {received:,.0f} of {expected:,} | {enobufs:.0f} | {inserts:,.0f} "
              f"| {rate_text} | {cpu:.2f} s |")


if __name__ == "__main__":
    main()
