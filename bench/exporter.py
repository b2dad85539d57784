#!/usr/bin/env python3
"""Benchmark `ct exporter`: scrape time against a full `ct list`, and memory over 100 scrapes.

Run as root from the repository's top folder (needs cargo, iproute2 and conntrack):

    python3 bench/exporter.py                 # 250,000 entries, 100 scrapes
    python3 bench/exporter.py --size 100000 --scrapes 50
    python3 bench/exporter.py --size 1000000 --scrapes 20   # raises nf_conntrack_max for the run

It makes a network namespace `ct-bench-exporter-<pid>`, fills its table with N UDP
entries (examples/fill_table), starts `ct exporter` inside it on 127.0.0.1, and then,
alternating so a slow moment hits both alike, times a full `ct list` (output to
/dev/null) and a scrape of /metrics. The issue's targets: a scrape takes at most the time
of a full `ct list`, and the exporter stays under 32 MiB over 100 scrapes without
growing (VmRSS after scrape 10 and after the last; VmHWM, the peak). Everything runs
inside the namespace, which is deleted at the end, also on failure.

    python3 bench/exporter.py --many 100      # 100 empty namespaces beside one of 250,000

With --many E it times, in alternating rounds, `ct list --netns big` (the floor), an
`--all-netns` scrape and an `--all-netns --no-breakdown` scrape over E empty namespaces
and one of N entries. So that the host's other namespaces (other users' tests) are not
in the scrape, it runs in its own mount and pid namespaces (`unshare`) with a private
/run/netns: --all-netns sees the bench's namespaces and the initial one only. Targets:
the scrape at most 1.2x the floor; the --no-breakdown scrape under 100 ms.
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


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def scrape_at(port):
    start = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=60) as reply:
        body = reply.read().decode()
    return time.perf_counter() - start, body


def wait_for(port):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench: no exporter on port {port}")


def many(size, empties, rounds):
    """Runs in private mount and pid namespaces (see --many): makes the namespaces,
    fills the big one, and times the floor and the two scrapes round by round."""
    ct = os.path.join(listing.RELEASE, "ct")
    fill = os.path.join(listing.RELEASE, "examples", "fill_table")
    os.makedirs("/run/netns", exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "ct-bench", "/run/netns"], check=True)
    names = ["ctb-big"] + [f"ctb-e{n:03}" for n in range(empties)]
    exporters = []
    try:
        for name in names:
            subprocess.run(["ip", "netns", "add", name], check=True)
        subprocess.run([fill, "ctb-big", str(size)], check=True)
        ports = {"breakdown": free_port(), "no-breakdown": free_port()}
        for kind, port in ports.items():
            extra = ["--no-breakdown"] if kind == "no-breakdown" else []
            exporters.append(subprocess.Popen(
                [ct, "exporter", "--all-netns", "--listen", f"127.0.0.1:{port}"] + extra,
                stderr=subprocess.DEVNULL))
        for port in ports.values():
            wait_for(port)
        times = {"floor": [], "breakdown": [], "no-breakdown": []}
        loads, bodies = [], {}
        for _ in range(rounds):
            start = time.perf_counter()
            subprocess.run([ct, "list", "--netns", "ctb-big", "--quiet"],
                           stdout=subprocess.DEVNULL, check=True)
            times["floor"].append(time.perf_counter() - start)
            for kind, port in ports.items():
                seconds, bodies[kind] = scrape_at(port)
                times[kind].append(seconds)
            with open("/proc/loadavg") as loadavg:
                loads.append(loadavg.read().split()[0])
    finally:
        for exporter in exporters:
            exporter.terminate()
            exporter.wait()
        for name in names:
            subprocess.run(["ip", "netns", "del", name], check=False,
                           stderr=subprocess.DEVNULL)
        subprocess.run(["umount", "/run/netns"], check=False)
    for kind, body in bodies.items():
        namespaces = sum(line.startswith("conntrack_entries{") for line in body.splitlines())
        big = [line for line in body.splitlines()
               if line.startswith('conntrack_entries{netns="ctb-big"}')]
        timeouts = sum(line.startswith("conntrack_scrape_timeouts_total{") and
                       not line.endswith(" 0") for line in body.splitlines())
        print(f"{kind}: {namespaces} namespaces; {big[0] if big else 'no ctb-big'}; "
              f"{timeouts} cut short by the deadline")
    med = {kind: statistics.median(values) for kind, values in times.items()}
    print(f"\n{empties} empty namespaces and one of {size:,} entries, median of {rounds} "
          f"rounds (1-minute load at each round: {' '.join(loads)}):\n")
    print("| measure | median | against the floor |")
    print("| --- | ---: | ---: |")
    print(f"| `ct list --netns big` (the floor) | {med['floor']:.3f} s | 1.00 |")
    print(f"| `--all-netns` scrape | {med['breakdown']:.3f} s | "
          f"{med['breakdown'] / med['floor']:.2f} |")
    print(f"| `--all-netns --no-breakdown` scrape | {med['no-breakdown'] * 1000:.1f} ms | "
          f"{med['no-breakdown'] / med['floor']:.3f} |")
    print(f"\n- scrape / floor: {med['breakdown'] / med['floor']:.2f} (target: at most 1.2)")
    print(f"- --no-breakdown scrape: {med['no-breakdown'] * 1000:.1f} ms (target: under 100 ms)")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=250000, help="entries in the table")
    parser.add_argument("--scrapes", type=int, default=100, help="scrapes of /metrics")
    parser.add_argument("--many", type=int, metavar="E",
                        help="time --all-netns scrapes over E empty namespaces and one of --size")
    parser.add_argument("--rounds", type=int, default=7, help="rounds of --many")
    parser.add_argument("--inside", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--isolated", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside, args.scrapes)
        return
    if args.isolated:
        many(args.size, args.many, args.rounds)
        return
    listing.check_and_build(need_gnu_time=False)
    # A size above the host's nf_conntrack_max (a million) raises it for the run.
    with listing.conntrack_max_at_least(args.size + 1000):
        if args.many is not None:
            # Private mounts (/run/netns) and pids (/proc): --all-netns sees only the
            # bench's namespaces and the initial one. Everything made dies with them.
            subprocess.run(["unshare", "--mount", "--propagation", "private", "--pid", "--fork",
                            "--mount-proc", sys.executable, os.path.abspath(__file__),
                            "--isolated", "--many", str(args.many), "--size", str(args.size),
                            "--rounds", str(args.rounds)], check=True)
            return
        listing.run_inside(f"ct-bench-exporter-{os.getpid()}", __file__,
                           ["--inside", str(args.size), "--scrapes", str(args.scrapes)])


if __name__ == "__main__":
    main()
