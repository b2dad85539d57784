#!/bin/sh
# Stand-in for `ct`, used only to validate the test harness itself:
#
#   CT_TEST_BIN=$PWD/tests/support/fake-ct.sh cargo test --test kernel list_vs_conntrack::
#
# Translates `ct list [--netns NS|PATH|PID] [-o OPTS]` into `conntrack -L`
# (run in that namespace) and rewrites conntrack's summary line to the
# "ct: N flow entries have been shown." form.  With it every comparison
# must pass; a failure then is a bug in the harness, not in ct.
set -u
[ "${1:-}" = list ] || { echo "fake-ct: only 'list' is supported" >&2; exit 2; }
shift
ns=""
set -- "$@" --end
oargs=""
while [ "$1" != --end ]; do
    case "$1" in
        --netns) ns="$2"; shift 2 ;;
        --netns=*) ns="${1#--netns=}"; shift ;;
        -o|--output) oargs="$2"; shift 2 ;;
        *) echo "fake-ct: unsupported argument: $1" >&2; exit 2 ;;
    esac
done
if [ -n "$ns" ]; then
    case "$ns" in
        */*) path="$ns" ;;
        *[!0-9]*) path="/run/netns/$ns" ;;
        *) path="/proc/$ns/ns/net" ;;
    esac
    [ -e "$path" ] || { echo "fake-ct: cannot open network namespace $ns" >&2; exit 1; }
    set -- nsenter "--net=$path" conntrack -L
else
    set -- conntrack -L
fi
[ -n "$oargs" ] && set -- "$@" -o "$oargs"
err=$(mktemp)
"$@" 2>"$err"
rc=$?
sed 's/^conntrack v[^:]*: /ct: /' "$err" >&2
rm -f "$err"
exit $rc
