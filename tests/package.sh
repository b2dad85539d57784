#!/usr/bin/env bash
# The Debian package as a user installs it (issue 22): builds it with
# deploy/debian/build, checks it with lintian, installs it with dpkg, runs the installed
# ct in a throwaway network namespace, reads its manual page, loads its bash
# completion, verifies the exporter's unit with systemd-analyze, then removes and purges
# it and checks that nothing of it is left. .ci/run runs it; so can you, as root, on a
# machine where no other ct package is installed:
#
#     bash tests/package.sh                  # the package as the README builds it (dist)
#     CT_DEB_PROFILE=release bash tests/package.sh    # the release profile: quicker
#
# Without root or a tool it needs it prints `skipped: <reason>` and exits 0, unless
# CT_REQUIRE_KERNEL_TESTS=1 (as in CI), which makes a skip a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"
export LC_ALL=C.UTF-8

me=tests/package.sh
skip() {
    if [ "${CT_REQUIRE_KERNEL_TESTS:-0}" = 1 ]; then
        echo "$me: FAILED: cannot run (CT_REQUIRE_KERNEL_TESTS=1): $*" >&2
        exit 1
    fi
    echo "$me: skipped: $*"
    exit 0
}
checks=0
fail() {
    echo "$me: FAILED: $*" >&2
    exit 1
}
# same WHAT EXPECTED ACTUAL: one exact comparison.
same() {
    if [ "$2" != "$3" ]; then
        fail "$1: expected
$2
got
$3"
    fi
    checks=$((checks + 1))
}

[ "$(id -u)" = 0 ] || skip "not root: dpkg -i and network namespaces need root"
missing=()
for tool in dpkg dpkg-deb dpkg-query lintian man systemd-analyze systemctl ip cargo; do
    command -v "$tool" > /dev/null || missing+=("$tool")
done
[ ${#missing[@]} = 0 ] || skip "missing ${missing[*]} (apt-get install lintian man-db systemd iproute2)"
cargo deb --version > /dev/null 2>&1 || skip "cargo-deb is missing: cargo install cargo-deb --locked --version 3.8.0"
if dpkg-query -W -f '${Status}' ct 2> /dev/null | grep -qv '^unknown\|not-installed'; then
    skip "a ct package is installed already ($(dpkg-query -W -f '${Version} ${Status}' ct)); this test installs and purges its own"
fi

ns="ct-pkg-$$"
cleanup() {
    ip netns delete "$ns" 2> /dev/null || true
    if dpkg-query -W -f '${Status}' ct 2> /dev/null | grep -qv '^unknown\|not-installed'; then
        dpkg --purge ct > /dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

# Build.
started=$SECONDS
deb=$(bash deploy/debian/build --profile "${CT_DEB_PROFILE:-dist}" | tail -n 1)
[ -f "$deb" ] || fail "deploy/debian/build did not print the path of a .deb (last line: $deb)"
echo "$me: built $deb in $((SECONDS - started)) s"

# lintian: no error and no warning; the overrides the package carries say why.
if ! lintian --fail-on error,warning --display-info "$deb"; then
    fail "lintian found errors or warnings in $deb (above)"
fi
checks=$((checks + 1))

# The control fields a user and apt see: Depends computed from the binary (libc only),
# Suggests written, and a one-line summary (Debian's limit is 80 characters).
for field in Package Section Priority Depends Suggests; do
    fields="${fields-}$field: $(dpkg-deb -f "$deb" "$field")
"
done
same "the control fields" "Package: ct
Section: net
Priority: optional
Depends: libc6 (>= 2.34)
Suggests: conntrack, prometheus
" "$fields"
same "the summary line" "Description: Inspect and manage the Linux conntrack table, as conntrack does, faster" \
    "$(dpkg-deb -f "$deb" Description | head -n 1 | sed 's/^/Description: /')"

# What the package holds, by path: each must be absent before, present while installed,
# and absent again after removal (the directories it shares with others aside).
entries=$(dpkg-deb --fsys-tarfile "$deb" | tar -t | sed 's|^\./|/|' | grep -vx '/\?')
owned=()
for path in $(printf '%s\n' "$entries" | grep -v '/$'); do
    [ ! -e "$path" ] && [ ! -L "$path" ] || fail "$path exists before the package is installed"
    owned+=("$path")
done
new_dirs=()
for dir in $(printf '%s\n' "$entries" | sed -n 's|/$||p'); do
    [ -d "$dir" ] || new_dirs+=("$dir")
done
for path in /usr/sbin/ct /usr/share/man/man1/ct.1.gz /usr/share/man/man1/ct-list.1.gz \
    /usr/share/man/man8/ct-conntrack.8.gz \
    /usr/share/bash-completion/completions/ct /usr/share/zsh/vendor-completions/_ct \
    /usr/share/fish/vendor_completions.d/ct.fish /usr/lib/systemd/system/ct-exporter.service \
    /usr/share/doc/ct/copyright /usr/share/doc/ct/changelog.Debian.gz; do
    printf '%s\n' "${owned[@]}" | grep -qx "$path" || fail "the package does not hold $path"
done
checks=$((checks + 1))
systemd_state() { find /etc/systemd /var/lib/systemd 2> /dev/null | sort; }
state_before=$(systemd_state)

dpkg -i "$deb" > /dev/null
same "dpkg-query -W ct" "ct $(dpkg-deb -f "$deb" Version) install ok installed" \
    "$(dpkg-query -W -f '${Package} ${Version} ${Status}' ct)"
for path in "${owned[@]}"; do
    [ -e "$path" ] || fail "$path is missing after dpkg -i"
done
same "the files dpkg -L lists" "$(printf '%s\n' "${owned[@]}" | sort)" \
    "$(dpkg -L ct | while read -r p; do [ -d "$p" ] || echo "$p"; done | sort)"

# The installed ct, in a namespace of its own: one entry created, then listed.
ip netns add "$ns"
created=$(ip netns exec "$ns" /usr/sbin/ct create -p udp -s 10.9.0.1 -d 10.9.0.2 --sport 4000 --dport 53 -t 120 2>&1) ||
    fail "the installed ct create failed: $created"
same "ct create's summary" "ct: 1 flow entries have been created." "$created"
list_err=$(mktemp)
listed=$(ip netns exec "$ns" /usr/sbin/ct list 2> "$list_err") || fail "the installed ct list failed: $(cat "$list_err")"
same "ct list" "udp      17 T src=10.9.0.1 dst=10.9.0.2 sport=4000 dport=53 [UNREPLIED] src=10.9.0.2 dst=10.9.0.1 sport=53 dport=4000 mark=0 use=1" \
    "$(printf '%s\n' "$listed" | sed 's/^udp      17 [0-9]* /udp      17 T /')"
same "ct list's summary" "ct: 1 flow entries have been shown." "$(cat "$list_err")"
rm -f "$list_err"
ip netns delete "$ns"

# Every manual page ct can print is installed, as ct prints it; man renders ct-list's.
pages=$(/usr/sbin/ct man --list | sed 's/^/ct-/')
same "the manual pages" "$(printf 'ct\n%s\n' "$pages" | sort)" \
    "$(printf '%s\n' "${owned[@]}" | sed -n 's|^/usr/share/man/man[1-9]/\(.*\)\.[1-9]\.gz$|\1|p' | sort)"
same "man -w 8 ct-conntrack" /usr/share/man/man8/ct-conntrack.8.gz "$(man -w 8 ct-conntrack)"
same "ct-list.1.gz" "$(/usr/sbin/ct man list)" "$(zcat /usr/share/man/man1/ct-list.1.gz)"
rendered=$(MANWIDTH=80 man -P cat ct-list 2>&1) || fail "man ct-list failed: $rendered"
same "man ct-list, its header" "ct-list(1)                  General Commands Manual                 ct-list(1)" \
    "$(printf '%s\n' "$rendered" | head -n 1)"
same "man ct-list, its name" "NAME
       ct-list - List the conntrack table" "$(printf '%s\n' "$rendered" | grep -A1 -x NAME | cut -c 1-41)"

# Completions: the installed files are what ct prints, and bash loads its own.
same "bash completion file" "$(/usr/sbin/ct completions bash)" "$(cat /usr/share/bash-completion/completions/ct)"
same "zsh completion file" "$(/usr/sbin/ct completions zsh)" "$(cat /usr/share/zsh/vendor-completions/_ct)"
same "fish completion file" "$(/usr/sbin/ct completions fish)" "$(cat /usr/share/fish/vendor_completions.d/ct.fish)"
same "complete -p ct" "complete -o bashdefault -o default -o nosort -F _ct ct" \
    "$(bash -c 'source /usr/share/bash-completion/completions/ct; complete -p ct')"

# The exporter's unit: runs the installed binary, verifies, and is not enabled.
unit=/usr/lib/systemd/system/ct-exporter.service
same "the unit's ExecStart" "ExecStart=/usr/sbin/ct exporter --listen 127.0.0.1:9447" "$(grep '^ExecStart=' "$unit")"
verify=$(systemd-analyze verify --man=no "$unit" 2>&1) || fail "systemd-analyze verify $unit: $verify"
same "systemd-analyze verify $unit" "" "$verify"
wants=/etc/systemd/system/multi-user.target.wants/ct-exporter.service
[ ! -e "$wants" ] && [ ! -L "$wants" ] || fail "ct-exporter is enabled by the package"
checks=$((checks + 1))
# Enabled as its header says (without starting it): purge must take that away too.
systemctl enable ct-exporter.service > /dev/null 2>&1 || fail "systemctl enable ct-exporter failed"
same "systemctl is-enabled ct-exporter" enabled "$(systemctl is-enabled ct-exporter.service 2> /dev/null)"

# Remove: every file goes (dh_installsystemd's postrm masks the unit's name until
# purge); purge: nothing of it stays in /etc/systemd or systemd's state, the enabling
# above included.
dpkg -r ct > /dev/null
for path in "${owned[@]}"; do
    [ ! -e "$path" ] && [ ! -L "$path" ] || fail "$path is left after dpkg -r ct"
done
for dir in "${new_dirs[@]}"; do
    [ ! -e "$dir" ] || fail "the directory $dir, made by the package, is left after dpkg -r ct"
done
checks=$((checks + 1))
dpkg --purge ct > /dev/null
same "dpkg-query after purge" "" "$(dpkg-query -W -f '${Status}' ct 2> /dev/null | grep -v '^unknown\|not-installed' || true)"
same "what /etc/systemd and /var/lib/systemd hold after purge" "$state_before" "$(systemd_state)"
same "dpkg's files of ct after purge" "" "$(find /var/lib/dpkg/info -name 'ct.*')"

echo "$me: ok: $checks checks on $deb"
