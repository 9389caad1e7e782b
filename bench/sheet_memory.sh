#!/usr/bin/env bash
# Peak RSS of reading big sheets (issue 16; figures in bench/README.md, "Reading big sheets").
#
#   bench/sheet_memory.sh [URLPROBE] [BEFORE]
#   URLPROBE defaults to build/urlprobe; BEFORE, another build, is measured beside it.
#
# Inputs, generated in a temp dir (about 140 MB of disk, removed at exit):
#   1m       1 000 000 lines https://host-NNNNNNN.example.com/path/N: a million distinct hosts
#   1m-host  1 000 000 lines on one host (distinct paths)
#   long     one line: a 100 MiB URL
#   300m     a sparse 300 MB file (over the 256 MiB sheet limit)
# Runs: `list` (text and --format json), and a probe run that never reaches the network:
# `--methods named` without --named-proxy makes every probe `not_configured` at once, so the
# sweep holds every target and writes a million records without a packet.
# Nothing is sent anywhere; the machine should be idle (RSS does not depend on it, time does).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
urlprobe=${1:-$here/build/urlprobe}
before=${2:-}
dir=$(mktemp -d /tmp/urlprobe-sheet-memory.XXXXXX)
trap 'rm -rf "$dir"' EXIT

/usr/bin/python3 - "$dir" <<'EOF'
import sys
d = sys.argv[1]
with open(f"{d}/1m.txt", "w") as f:
    f.writelines(f"https://host-{i:07d}.example.com/path/{i}\n" for i in range(1_000_000))
with open(f"{d}/1m-host.txt", "w") as f:
    f.writelines(f"https://host-0000001.example.com/path/{i:07d}\n" for i in range(1_000_000))
with open(f"{d}/long.txt", "w") as f:
    f.write("https://a.example/" + "x" * (100 << 20) + "\n")
EOF
truncate -s 300M "$dir/300m.txt"

# peak RSS in KB, wall seconds, exit status
measure() {
  local bin=$1
  shift
  /usr/bin/time -f '%M %e %x' -o "$dir/time" "$bin" "$@" >/dev/null 2>"$dir/stderr" || true
  # GNU time puts "Command exited with non-zero status N" before the format line.
  read -r rss secs rc < <(tail -n 1 "$dir/time")
  printf '%8.1f MiB %6.2f s  exit %s' "$(echo "$rss / 1024" | bc -l)" "$secs" "$rc"
}

runs=(
  "list 1m|list $dir/1m.txt"
  "list --format json 1m|list --format json $dir/1m.txt"
  "probe (not_configured) 1m|--methods named --format jsonl --progress never $dir/1m.txt"
  "list 1m-host|list $dir/1m-host.txt"
  "probe (not_configured) 1m-host|--methods named --format jsonl --progress never $dir/1m-host.txt"
  "list long (100 MiB line)|list $dir/long.txt"
  "list 300m (sparse 300 MB)|list $dir/300m.txt"
)
printf '%-36s  %-32s' "run" "$urlprobe"
[ -n "$before" ] && printf '  %s' "$before"
echo
for run in "${runs[@]}"; do
  name=${run%%|*}
  read -r -a args <<<"${run#*|}"
  printf '%-36s  %s' "$name" "$(measure "$urlprobe" "${args[@]}")"
  [ -n "$before" ] && printf '  %s' "$(measure "$before" "${args[@]}")"
  echo
done
