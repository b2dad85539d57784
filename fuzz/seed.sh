#!/usr/bin/env bash
# Seeds the fuzz corpus from the captured fixtures (entries, expectations, statistics and
# get replies): each whole capture as a datagram input (mode byte 0), and each ctnetlink
# message's attributes as a message input (mode byte = its family, 2 or 10, made odd: 3
# or 11). Run from the repository's top folder.
set -euo pipefail
corpus=fuzz/corpus/decode
mkdir -p "$corpus"
python3 - "$corpus" tests/fixtures/*.bin tests/fixtures/expect/*.bin tests/fixtures/replies/*.bin <<'PY'
import os, struct, sys
corpus, files = sys.argv[1], sys.argv[2:]
n = 0
for path in files:
    data = open(path, "rb").read()
    open(os.path.join(corpus, f"datagram-{os.path.basename(path)}"), "wb").write(b"\x00" + data)
    at = 0
    while at + 20 <= len(data):
        length, kind = struct.unpack_from("=IH", data, at)
        if kind >> 8 in (1, 2):  # NFNL_SUBSYS_CTNETLINK, NFNL_SUBSYS_CTNETLINK_EXP
            family = data[at + 16]
            body = data[at + 20:at + length]
            open(os.path.join(corpus, f"entry-{os.path.basename(path)}-{n}"), "wb").write(bytes([family | 1]) + body)
            n += 1
        at += (length + 3) & ~3
print(f"{n} entry seeds and {len(files)} datagram seeds in {corpus}")
PY

# The saved-dump target (--input): every `conntrack -L` text, JSON and `-o save` fixture,
# whole and line by line, and /proc/net/nf_conntrack-style lines made from them.
saved=fuzz/corpus/saved
mkdir -p "$saved"
n=0
for file in tests/fixtures/*.txt tests/fixtures/*.json; do
    case "$file" in *xml*) continue ;; esac
    cp "$file" "$saved/whole-$(basename "$file")"
    while IFS= read -r line; do
        printf '%s\n' "$line" > "$saved/line-$n"
        n=$((n + 1))
    done < "$file"
done
echo "$n line seeds in $saved"
