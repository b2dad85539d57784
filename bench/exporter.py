#!/usr/bin/env python3
"""Benchmark `ct exporter`: scrape time against a full `ct list`, and memory over 100 scrapes.

Run as root from the repository's top folder (needs cargo, iproute2 and conntrack):

    python3 bench/exporter.py                 # 250,000 entries, 100 scrapes
    python3 bench/exporter.py --size 100000 --scrapes 50

It makes a network namespace `ct-bench-exporter-<pid>`, fills its table with N UDP
entries (examples/fill_table), starts `ct exporter` inside it on 127.0.0.1, and then,
alternating so a slow moment hits both alike, times a full `ct list` (output to
/dev/null) and a scrape of /metrics. The issue's targets: a scrape takes at most the time
of a full `ct list`, and the exporter stays under 32 MiB over 100 scrapes without
growing (VmRSS after scrape 10 and after the last; VmHWM, the peak). Everything runs
inside the namespace, which is deleted at the end, also on failure.
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as listing  # noqa: E402  (bench/run.py: build, RELEASE)

PORT = 9447


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def scrape():
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=60) as reply:
        body = reply.read()
    return time.perf_counter() - start, body


def list_once(ct):
    start = time.perf_counter()
    subprocess.run([ct, "list", "--quiet"], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def wait_for_port():
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", PORT), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("bench: the exporter did not start listening")


def inside(size, scrapes):
    netns = os.environ["CT_BENCH_NETNS"]
    fill = os.path.join(listing.RELEASE, "examples", "fill_table")
    subprocess.run([fill, netns, str(size)], check=True)
    ct = os.path.join(listing.RELEASE, "ct")
    exporter = subprocess.Popen([ct, "exporter", "--listen", f"127.0.0.1:{PORT}"],
                                stderr=subprocess.DEVNULL)
    try:
        wait_for_port()
        scrape_times, list_times = [], []
        rss_after_10 = None
        for number in range(1, scrapes + 1):
            seconds, body = scrape()
            scrape_times.append(seconds)
            if number == 10:
                rss_after_10 = status_kib(exporter.pid, "VmRSS")
            if number % 5 == 0:
                list_times.append(list_once(ct))
        entries = [line for line in body.decode().splitlines()
                   if line.startswith("conntrack_entries{")]
        rss_last = status_kib(exporter.pid, "VmRSS")
        peak = status_kib(exporter.pid, "VmHWM")
    finally:
        exporter.terminate()
        exporter.wait()
    scrape_median, list_median = statistics.median(scrape_times), statistics.median(list_times)
    print(f"\n{size:,} entries, {scrapes} scrapes ({entries[0] if entries else 'no entries line'}):\n")
    print("| measure | value |")
    print("| --- | ---: |")
    print(f"| scrape of /metrics, median | {scrape_median:.3f} s |")
    print(f"| full ct list, median of {len(list_times)} | {list_median:.3f} s |")
    print(f"| exporter VmRSS after scrape 10 | {rss_after_10 / 1024:.1f} MiB |")
    print(f"| exporter VmRSS after scrape {scrapes} | {rss_last / 1024:.1f} MiB |")
    print(f"| exporter peak (VmHWM) | {peak / 1024:.1f} MiB |")
    print()
    print(f"- scrape / ct list: {scrape_median / list_median:.2f} (target: at most 1)")
    print(f"- growth from scrape 10 to {scrapes}: {(rss_last - rss_after_10) / 1024:.1f} MiB; "
          f"peak {peak / 1024:.1f} MiB (target: under 32 MiB, no growth)")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=250000, help="entries in the table")
    parser.add_argument("--scrapes", type=int, default=100, help="scrapes of /metrics")
    parser.add_argument("--inside", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside, args.scrapes)
        return
    listing.check_and_build(need_gnu_time=False)
    listing.run_inside(f"ct-bench-exporter-{os.getpid()}", __file__,
                       ["--inside", str(args.size), "--scrapes", str(args.scrapes)])


if __name__ == "__main__":
    main()
