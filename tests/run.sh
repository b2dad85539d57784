#!/usr/bin/env bash
# Runs the whole test suite, as CI does (.ci/run calls this). Extra arguments go to
# `cargo test` (e.g. `bash tests/run.sh --test kernel formats::`).
#
# The kernel tests need root and a few programs: conntrack (the reference ct is compared
# with), nftables and iproute2 (the test namespaces, their NAT and helpers), util-linux
# (setpriv, to drop capabilities), jq (the JSON is tested through it), man-db (the
# manual pages are rendered), tmux (ct top's live view is driven in it) and prometheus
# (prometheus and promtool scrape and check ct exporter) and strace (it counts the
# requests ct sends to each namespace). As root on
# Debian this installs whichever is missing; otherwise it says what to install, and the
# kernel tests print `skipped: <reason>`. As root, a kernel test that cannot run fails
# instead of skipping (CT_REQUIRE_KERNEL_TESTS=1, unless set otherwise), so a green run
# means they ran.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

missing=()
for need in conntrack:conntrack nft:nftables ip:iproute2 setpriv:util-linux jq:jq man:man-db tmux:tmux promtool:prometheus strace:strace; do
    command -v "${need%%:*}" > /dev/null || missing+=("${need#*:}")
done

if [ "$(id -u)" = 0 ]; then
    if [ ${#missing[@]} -gt 0 ]; then
        if command -v apt-get > /dev/null; then
            echo "tests/run.sh: installing ${missing[*]}" >&2
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq
            apt-get install -y -qq "${missing[@]}" > /dev/null
        else
            echo "tests/run.sh: the kernel tests need: ${missing[*]}; install them first" >&2
            exit 1
        fi
    fi
    export CT_REQUIRE_KERNEL_TESTS="${CT_REQUIRE_KERNEL_TESTS-1}"
elif [ ${#missing[@]} -gt 0 ]; then
    echo "tests/run.sh: not root, so the kernel tests will be skipped; to run them, as root:" >&2
    echo "    apt-get install -y ${missing[*]} && bash tests/run.sh" >&2
fi

exec cargo test "$@"
