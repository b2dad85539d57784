#!/usr/bin/env python3
"""Benchmark `ct list --all-netns` and `ct top --all-netns` on hosts of many namespaces.

Run as root from the repository's top folder (needs cargo, iproute2, util-linux's
unshare and mount, and GNU time, Debian package `time`):

    python3 bench/namespaces.py                    # 2 x 125,000; 100 empty + 250,000
    python3 bench/namespaces.py --side 5 --cases side   # 5 x 50,000
    python3 bench/namespaces.py --size 50000 --empty 20 --rounds 3

Two cases, each in namespaces of its own (`ct-bench-ns-<pid>-...`, deleted at the end,
also on failure):

- side by side: SIDE namespaces (two unless `--side` says) of SIZE/SIDE entries each.
  `ct list --all-netns` (their dumps overlap, one per core) against `ct list --netns` of
  each, one after the other (the sum is the floor of reading them in turn; issue 20:
  0.62-0.72 for two of 125,000, at most 0.75 for five of 50,000).
- empty ones: EMPTY empty namespaces beside one of SIZE entries. `ct list --all-netns`
  and `ct top --all-netns --once` against `ct list --netns` of the big one alone (issue
  20's target: at most 1.2; an empty namespace is counted, not dumped).

`--all-netns` reads every namespace of the host, and other programs' namespaces would
be measured too: each case runs in a mount and PID namespace of its own
(`unshare --mount --pid --mount-proc`), inside an empty network namespace, where
/run/netns holds only the case's namespaces and /proc only the benchmark's processes.
Commands alternate round by round so that a slow moment of the machine hits all alike;
the medians, the ratios, the peak RSS and the load (/proc/loadavg) before and after
are printed.
"""

import argparse
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as listing  # noqa: E402  (bench/run.py: build, run_once, measure)

RELEASE = listing.RELEASE


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def fill(netns, count, base):
    subprocess.run([os.path.join(RELEASE, "examples", "fill_table"), netns, str(count),
                    "--base", str(base)], check=True)


def inside(case, names, rounds):
    """Runs in the case's own mount, PID and (empty) network namespace: /run/netns shows
    only `names`, bind-mounted from a copy made before the view was replaced."""
    keep = tempfile.mkdtemp(prefix="ct-bench-ns-")
    try:
        measure_inside(case, names, rounds, keep)
    finally:
        subprocess.run(["umount", "-R", keep], check=False)
        os.rmdir(keep)


def measure_inside(case, names, rounds, keep):
    subprocess.run(["mount", "-t", "tmpfs", "none", keep], check=True)
    for name in names:
        open(os.path.join(keep, name), "w").close()
        subprocess.run(["mount", "--bind", f"/run/netns/{name}", os.path.join(keep, name)],
                       check=True)
    subprocess.run(["mount", "-t", "tmpfs", "none", "/run/netns"], check=True)
    for name in names:
        open(os.path.join("/run/netns", name), "w").close()
        subprocess.run(["mount", "--bind", os.path.join(keep, name),
                        os.path.join("/run/netns", name)], check=True)
    ct = os.path.join(RELEASE, "ct")
    if case == "side":
        cmds = [("ct list --all-netns", [ct, "list", "--all-netns"])]
        cmds += [(f"ct list --netns {name}", [ct, "list", "--netns", name]) for name in names]
    else:
        big = names[0]
        cmds = [
            ("ct list --netns big", [ct, "list", "--netns", big]),
            ("ct list --all-netns", [ct, "list", "--all-netns"]),
            ("ct top --all-netns --once", [ct, "top", "--all-netns", "--once", "-o", "plain"]),
        ]
    before = loadavg()
    results = listing.measure(cmds, rounds)
    print(f"\nmedian of {rounds} rounds; load before {before}, after {loadavg()}\n")
    print("| command | time (s) | peak RSS (MiB) |")
    print("| --- | ---: | ---: |")
    for name, _ in cmds:
        seconds, kib = results[name]
        print(f"| {name} | {seconds:.3f} | {kib / 1024:.1f} |")
    t = {name: results[name][0] for name, _ in cmds}
    print()
    if case == "side":
        one_by_one = sum(t[f"ct list --netns {name}"] for name in names)
        print(f"- ct list --all-netns / sum of ct list --netns: "
              f"{t['ct list --all-netns'] / one_by_one:.2f} "
              f"(issue 20: 0.62-0.72 for two namespaces, at most 0.75 for five)")
    else:
        for name in ("ct list --all-netns", "ct top --all-netns --once"):
            print(f"- {name} / ct list --netns big: {t[name] / t['ct list --netns big']:.2f} "
                  f"(target: at most 1.2)")
    sys.stdout.flush()


def run_case(case, names, rounds):
    """Runs `inside` for `case` in an empty network namespace, a mount and PID namespace."""
    own = f"ct-bench-ns-{os.getpid()}-own"
    subprocess.run(["ip", "netns", "add", own], check=True)
    try:
        subprocess.run(["ip", "netns", "exec", own, "unshare", "--mount", "--pid", "--fork",
                        "--mount-proc", sys.executable, os.path.abspath(__file__),
                        "--inside", case, "--rounds", str(rounds), "--names", ",".join(names)],
                       check=True)
    finally:
        subprocess.run(["ip", "netns", "del", own], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=250000,
                        help="entries of the big namespace (split in two side by side)")
    parser.add_argument("--empty", type=int, default=100, help="empty namespaces beside it")
    parser.add_argument("--side", type=int, default=2,
                        help="namespaces side by side, SIZE split among them")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each command (median)")
    parser.add_argument("--cases", default="side,empty", help="side, empty or both")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    parser.add_argument("--names", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside:
        inside(args.inside, args.names.split(","), args.rounds)
        return
    listing.check_and_build()
    prefix = f"ct-bench-ns-{os.getpid()}"
    made = []
    try:
        if "side" in args.cases.split(","):
            names = [f"{prefix}-side-{i}" for i in range(args.side)]
            for base, name in enumerate(names, start=1):
                subprocess.run(["ip", "netns", "add", name], check=True)
                made.append(name)
                fill(name, args.size // args.side, base)
            print(f"\nside by side: {args.side} namespaces of {args.size // args.side:,} entries")
            run_case("side", names, args.rounds)
            for name in names:
                subprocess.run(["ip", "netns", "del", name], check=False)
                made.remove(name)
        if "empty" in args.cases.split(","):
            big = f"{prefix}-big"
            # Sorted first: --all-netns reads named namespaces by name.
            names = [big] + [f"{prefix}-empty-{i:03}" for i in range(args.empty)]
            for name in names:
                subprocess.run(["ip", "netns", "add", name], check=True)
                made.append(name)
            fill(big, args.size, 3)
            print(f"\nempty ones: {args.empty} empty namespaces beside one of {args.size:,} entries")
            run_case("empty", names, args.rounds)
    finally:
        for name in made:
            subprocess.run(["ip", "netns", "del", name], check=False)


if __name__ == "__main__":
    main()
