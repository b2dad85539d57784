#!/usr/bin/env python3
"""Benchmark `ct list`, `ct count` and `ct stats` against the floor (a bare ctnetlink dump) and conntrack.

Run as root from the repository's top folder (needs cargo, iproute2 and conntrack):

    python3 bench/run.py                      # 250,000 entries
    python3 bench/run.py --sizes 10000,50000,250000 --rounds 5
    python3 bench/run.py --sizes 250000,1000000 --rounds 5 --only listing

Needs GNU time (Debian package `time`) for the peak RSS. Wall times are measured around
each run (GNU time's own start, about a millisecond, is in every figure alike).

For each table size it makes a network namespace `ct-bench-<pid>`, fills its table with
N UDP entries (examples/fill_table; 100 of them carry mark 42), and times each command,
alternating the commands round by round, so a slow moment of the machine hits all of
them alike. It reports the median wall time and the peak RSS (from wait4) of each, and
the ratios the project's targets are stated in (among them `ct list -o table` against
`ct list`: at most 1.3 times the time, and at most 40 MiB peak RSS at 250,000 entries).
Everything runs inside the namespace; nothing is written outside it, and the namespace is
deleted at the end, also on failure. One exception: a size above the host's
nf_conntrack_max (a namespace cannot raise its own: the sysctl is read-only outside the
initial namespace) raises the host's for the run and restores it afterwards, also on
failure. `--only listing` times only the full listings (the floor, `ct list` in each
format, `ct top`, `ct count`, `conntrack -L`), which is what the 1,000,000-entry figures
need.
"""

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The build profile measured: release (what `cargo install` builds), or another one of
# Cargo.toml's named by CT_BENCH_PROFILE (dist: fat LTO).
PROFILE = os.environ.get("CT_BENCH_PROFILE", "release")
RELEASE = os.path.join(TOP, "target", PROFILE)
NARROW_MARK = 42
NARROW_COUNT = 100
NARROW_ZONE = 7
CONNTRACK_MAX = "/proc/sys/net/netfilter/nf_conntrack_max"
# The entries' timeout: long enough that none expires while a big table is measured.
FILL_TIMEOUT = "7200"

# Filters the kernel can evaluate (issue 9), each timed without and with -f ipv4: on the
# bench's table (UDP 10.x -> 10.255.0.1:53, source ports 1024-1279) they match nothing,
# about 1,000 entries (--sport), one entry (-s) or 100 (-m, -w).
KERNEL_FILTERS = [
    ["-p", "tcp"],
    ["-p", "udp", "--sport", "1024"],
    ["--icmp-type", "8"],
    ["-s", "10.1.0.5"],
    ["-m", str(NARROW_MARK)],
    ["-w", str(NARROW_ZONE)],
    ["-u", "ASSURED"],
]


def build():
    subprocess.run(
        ["cargo", "build", "--profile", PROFILE, "--quiet", "--bin", "ct",
         "--example", "dump_raw", "--example", "fill_table"],
        cwd=TOP, check=True)


def check_and_build(need_gnu_time=True):
    """Refuses to start without root or the tools, then builds the release binaries."""
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it creates a network namespace)")
    for tool in ("ip", "conntrack", "cargo"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is needed")
    if need_gnu_time and not os.path.exists("/usr/bin/time"):
        sys.exit("bench: GNU time is needed for the RSS figures (apt-get install time)")
    build()
    print(f"machine: {os.cpu_count()} cores, kernel {os.uname().release}")


def run_inside(netns, script, args):
    """Runs `script --inside ... args` inside a fresh namespace `netns` (loopback up,
    CT_BENCH_NETNS naming it), deleting the namespace afterwards, also on failure."""
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"], check=True)
        env = dict(os.environ, CT_BENCH_NETNS=netns)
        subprocess.run(["ip", "netns", "exec", netns, sys.executable, os.path.abspath(script)]
                       + args, env=env, check=True)
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)


def listing_commands():
    ct = os.path.join(RELEASE, "ct")
    cmds = [
        ("floor (dump_raw --discard)", [os.path.join(RELEASE, "examples", "dump_raw"), "--discard"]),
        ("ct list", [ct, "list"]),
    ]
    for fmt in ("json", "table"):
        cmds.append((f"ct list -o {fmt}", [ct, "list", "-o", fmt]))
    cmds += [
        ("ct top", [ct, "top"]),
        ("ct count (kernel counter)", [ct, "count"]),
        ("conntrack -L", ["conntrack", "-L"]),
    ]
    return cmds


def commands():
    ct = os.path.join(RELEASE, "ct")
    cmds = [cmd for cmd in listing_commands() if not cmd[0].startswith("conntrack")]
    cmds += [
        (f"ct list -m {NARROW_MARK} (kernel filter)", [ct, "list", "-m", str(NARROW_MARK)]),
        (f"ct count -m {NARROW_MARK} (kernel filter)", [ct, "count", "-m", str(NARROW_MARK)]),
        ("ct list -p udp (every entry matches)", [ct, "list", "-p", "udp"]),
        ("ct count -p udp (every entry matches)", [ct, "count", "-p", "udp"]),
        ("ct stats", [ct, "stats"]),
    ]
    for flags in KERNEL_FILTERS:
        for family in ([], ["-f", "ipv4"]):
            name = f"ct list {' '.join(flags + family)} (kernel filter)"
            if name not in dict(cmds):
                cmds.append((name, [ct, "list"] + flags + family))
    cmds += [
        ("conntrack -L", ["conntrack", "-L"]),
        ("conntrack -L -o xml", ["conntrack", "-L", "-o", "xml"]),
        ("conntrack -C", ["conntrack", "-C"]),
    ]
    return cmds


def run_once(argv):
    """Wall seconds and peak RSS (KiB) of one run, output to /dev/null.

    GNU time measures the RSS: a child forked straight from this Python process would
    report Python's own peak (Linux carries it across exec), GNU time's is tiny. Its
    report comes back through a pipe, so the benchmark writes no file."""
    read_end, write_end = os.pipe()
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", f"/dev/fd/{write_end}"] + argv,
                              stdout=null, stderr=subprocess.PIPE, pass_fds=(write_end,))
        seconds = time.perf_counter() - start
    os.close(write_end)
    with os.fdopen(read_end) as report:
        kib = report.read().split()[-1]
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed: {proc.stderr.decode(errors='replace')}")
    return seconds, int(kib)


def measure(cmds, rounds):
    times = {name: [] for name, _ in cmds}
    rss = {name: 0 for name, _ in cmds}
    for _ in range(rounds):
        for name, argv in cmds:
            seconds, kib = run_once(argv)
            times[name].append(seconds)
            rss[name] = max(rss[name], kib)
    return {name: (statistics.median(times[name]), rss[name]) for name, _ in cmds}


def inside(size, rounds, only_listing):
    """Runs in the benchmark namespace: fill, measure, print."""
    fill = os.path.join(RELEASE, "examples", "fill_table")
    netns = os.environ["CT_BENCH_NETNS"]
    timeout = ["--timeout", FILL_TIMEOUT]
    subprocess.run([fill, netns, str(size - 2 * NARROW_COUNT)] + timeout, check=True)
    subprocess.run([fill, netns, str(NARROW_COUNT), "--mark", str(NARROW_MARK), "--base", "1"] + timeout,
                   check=True)
    subprocess.run([fill, netns, str(NARROW_COUNT), "--zone", str(NARROW_ZONE), "--base", "2"] + timeout,
                   check=True)
    cmds = listing_commands() if only_listing else commands()
    load = open("/proc/loadavg").read().split()[:3]
    results = measure(cmds, rounds)
    load_after = open("/proc/loadavg").read().split()[:3]
    print(f"\n{size:,} entries, median of {rounds} runs "
          f"(load average {' '.join(load)} before, {' '.join(load_after)} after):\n")
    print("| command | time (s) | peak RSS (MiB) |")
    print("| --- | ---: | ---: |")
    for name, _ in cmds:
        seconds, kib = results[name]
        print(f"| {name} | {seconds:.3f} | {kib / 1024:.1f} |")
    t = {name: results[name][0] for name, _ in cmds}
    floor, ct, conntrack = t["floor (dump_raw --discard)"], t["ct list"], t["conntrack -L"]
    print()
    print(f"- ct list / floor: {ct / floor:.3f} (target: at most 1.05)")
    for name in ("ct list -o json", "ct top"):
        print(f"- {name} / floor: {t[name] / floor:.3f} (target: at most 1.05)")
    for name in ("ct list", "ct list -o json", "ct top"):
        print(f"- {name} peak RSS: {results[name][1] / 1024:.1f} MiB (target: under 8 MiB)")
    print(f"- ct list / conntrack -L: {ct / conntrack:.2f}")
    if "ct list -o json" in t:
        print(f"- ct list -o json / conntrack -L: {t['ct list -o json'] / conntrack:.2f}")
    if "ct list -o table" in t:
        table_mib = results["ct list -o table"][1] / 1024
        print(f"- ct list -o table / ct list: {t['ct list -o table'] / ct:.2f} (target: at most 1.3)")
        print(f"- ct list -o table peak RSS: {table_mib:.1f} MiB "
              f"(ct list: {results['ct list'][1] / 1024:.1f} MiB; target: at most 40 MiB)")
    if only_listing:
        print(f"- ct count: {t['ct count (kernel counter)'] * 1000:.1f} ms (target: under 10 ms)")
        sys.stdout.flush()
        return
    narrow = t[f"ct list -m {NARROW_MARK} (kernel filter)"]
    print(f"- narrow kernel filter ({NARROW_COUNT} of {size:,}) / full ct list: {narrow / ct:.3f}")
    print(f"- ct count: {t['ct count (kernel counter)'] * 1000:.1f} ms (target: under 10 ms)")
    for flag in (f"-m {NARROW_MARK} (kernel filter)", "-p udp (every entry matches)"):
        ratio = t[f"ct count {flag}"] / t[f"ct list {flag}"]
        print(f"- ct count {flag} / ct list {flag}: {ratio:.2f} (target: at most 1)")
    worst = max((t[name] / ct, name) for name in t if name.endswith("(kernel filter)") and name.startswith("ct list"))
    print(f"- slowest kernel-evaluable filter / full ct list: {worst[0]:.3f}, {worst[1]} (target: at most 0.2)")
    sys.stdout.flush()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="250000", help="comma-separated table sizes")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each command (median)")
    parser.add_argument("--only", choices=["listing"],
                        help="time only the full listings (floor, formats, top, count, conntrack -L)")
    parser.add_argument("--inside", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # A kill ends the run through the `finally`s: the namespace goes, nf_conntrack_max
    # comes back.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))

    if args.inside:
        inside(args.inside, args.rounds, args.only == "listing")
        return
    if os.geteuid() != 0:
        sys.exit("bench: run as root (it creates a network namespace)")
    for tool in ("ip", "conntrack", "cargo"):
        if not shutil.which(tool):
            sys.exit(f"bench: {tool} is needed")
    if not os.path.exists("/usr/bin/time"):
        sys.exit("bench: GNU time is needed for the RSS figures (apt-get install time)")
    build()
    print(f"machine: {os.cpu_count()} cores, kernel {os.uname().release}; "
          f"conntrack: {subprocess.run(['conntrack', '--version'], capture_output=True, text=True).stdout.strip()}")
    for size in (int(s) for s in args.sizes.split(",")):
        netns = f"ct-bench-{os.getpid()}-{size}"
        with conntrack_max_at_least(size + 1000):
            subprocess.run(["ip", "netns", "add", netns], check=True)
            try:
                env = dict(os.environ, CT_BENCH_NETNS=netns)
                subprocess.run([
                    "ip", "netns", "exec", netns, sys.executable, os.path.abspath(__file__),
                    "--inside", str(size), "--rounds", str(args.rounds),
                ] + (["--only", args.only] if args.only else []), env=env, check=True)
            finally:
                subprocess.run(["ip", "netns", "del", netns], check=False)


@contextlib.contextmanager
def conntrack_max_at_least(wanted):
    """Raises the host's nf_conntrack_max to `wanted` while the block runs, if it is lower,
    and puts the old value back afterwards, also on failure. The host's, because this
    kernel keeps the sysctl read-only in every other namespace (each namespace's table is
    still bounded by it)."""
    with open(CONNTRACK_MAX) as current:
        old = int(current.read())
    if old >= wanted:
        yield
        return
    print(f"bench: raising nf_conntrack_max from {old} to {wanted} for this run")
    with open(CONNTRACK_MAX, "w") as sysctl:
        sysctl.write(str(wanted))
    try:
        yield
    finally:
        with open(CONNTRACK_MAX, "w") as sysctl:
            sysctl.write(str(old))
        print(f"bench: nf_conntrack_max back to {old}")


if __name__ == "__main__":
    main()
