#!/usr/bin/env bash
# urlprobe against its peers on one loopback workload (issue #9; results in bench/README.md).
#
#   bench/peers.sh [--passes N] [--probes N] [--concurrency C] [--no-memory] [--sweep T P]
#                  [--tools "urlprobe urlprobe_pinned curl blackbox h2load"]
#   (root; make peers ARGS='...'; BUILD=build-perf picks the urlprobe binary, URLPROBE=PATH
#   another one; BEFORE=PATH measures a second build's memory beside it; PERF=FILE adds a `perf record -g` and a `strace -c` of one urlprobe run)
#
# Workload, the same for every tool: N (2000) probes of https://svcK.probe.test:8443/pI
# (K = I mod 200 + 1; distinct paths because urlprobe probes a URL once), C (256) in flight, to
# an nginx that answers 200 with keepalive_timeout 0, no session cache and no tickets: every probe
# is a new TCP connection and a full TLS 1.3 handshake, verifying leaf -> intermediate -> root
# (ECDSA P-256) and the host name. Routes: direct, and CONNECT through a local squid.
#   urlprobe    resolves through the dnsmasq below (--dns-server); also through squid
#   urlprobe_pinned  the same binary with the names pinned (--resolve), as curl's are: no DNS
#   curl        --parallel --parallel-max C --parallel-immediate, names pinned with --resolve
#               (Debian's curl has no --dns-servers); also through squid (-x)
#   blackbox    prometheus-blackbox-exporter, its own process on its own port, one module per
#               name (server_name = svcK.probe.test, the target is the IP: Go resolves through
#               /etc/resolv.conf, which is off this machine); C concurrent /probe requests from
#               curl --parallel. Its CPU and RSS are the exporter's (/proc), not the driver's.
#   h2load      --h1 -n N -c C against the IP: the reference for raw handshakes per second. It
#               does not verify certificates; direct only (no proxy support)
# Interleaved: every pass runs every tool once, in a rotating order; pass 0 is a warm-up and
# is not counted. Ratios are paired (urlprobe / peer within one pass), then the median.
# After every run nginx's access log must show N requests on N distinct connections, status 200
# and no resumed session ($ssl_session_reused), or the script stops.
#
# Then (unless --no-memory) urlprobe's peak RSS at C = 256 and at C = N in flight, and (with
# --sweep T P) a sweep of T plain-HTTP targets x P proxy ports (squids of 125 ports each;
# T x P probes, plus T direct ones: --methods cannot be empty), sampling urlprobe's RSS every
# second.
#
# Everything listens on 127.0.88.0/24 and is stopped by PID at exit; state lives in a private
# temp directory, removed at exit (KEEP=1 keeps it).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
PY=/usr/bin/python3
BUILD=${BUILD:-build}
UP=${URLPROBE:-$root/$BUILD/urlprobe}
BENCH=$root/$BUILD/urlprobe_bench

PASSES=5 N=2000 C=256 MEMORY=1 SWEEP_T=0 SWEEP_P=0 TOOLS="urlprobe urlprobe_pinned curl blackbox h2load"
while [ $# -gt 0 ]; do
  case "$1" in
    --passes) PASSES=$2; shift 2 ;;
    --probes) N=$2; shift 2 ;;
    --concurrency) C=$2; shift 2 ;;
    --no-memory) MEMORY=0; shift ;;
    --sweep) SWEEP_T=$2 SWEEP_P=$3; shift 3 ;;
    --tools) TOOLS=$2; shift 2 ;;
    *) echo "usage: $0 [--passes N] [--probes N] [--concurrency C] [--no-memory] [--sweep T P] [--tools LIST]" >&2; exit 2 ;;
  esac
done

DNS_IP=127.0.88.1 DNS_PORT=5353
ORIGIN=127.0.88.2 TLS_PORT=8443 HTTP_PORT=8080
SQUID_IP=127.0.88.4 SQUID_PORT=3128
BB_IP=127.0.88.5 BB_PORT=9115
SWEEP_IP=127.0.88.6 SWEEP_FIRST=20001
NAMES=200

die() { echo "peers.sh: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "must run as root (nginx, dnsmasq and squid drop privileges themselves)"
for tool in openssl dnsmasq nginx squid curl h2load prometheus-blackbox-exporter /usr/bin/time "$PY"; do
  command -v "$tool" >/dev/null || die "$tool not found (run scripts/install-deps bench)"
done
[ -x "$UP" ] || die "$UP not found (make build BUILD=$BUILD)"

tcp_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }
for addr in $DNS_IP:$DNS_PORT $ORIGIN:$TLS_PORT $ORIGIN:$HTTP_PORT $SQUID_IP:$SQUID_PORT $BB_IP:$BB_PORT; do
  ! tcp_open "${addr%:*}" "${addr#*:}" || die "$addr is already in use"
done

DIR=$(mktemp -d /tmp/urlprobe-peers.XXXXXX)
chmod 755 "$DIR"
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "peers.sh: state kept in $DIR" >&2; else rm -rf -- "$DIR"; fi
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)"  # C = N in flight needs a socket each (and squid, nginx two)

wait_port() {  # IP PORT NAME LOG
  for _ in $(seq 100); do tcp_open "$1" "$2" && return 0; sleep 0.1; done
  cat "$4" >&2 || true
  die "$3 did not start on $1:$2"
}

# --- PKI: ECDSA P-256 root -> intermediate -> leaf for *.probe.test --------------------------
pki=$DIR/pki
mkdir -p "$pki"
ossl() { openssl "$@" 2>/dev/null; }
for k in root inter leaf; do ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$k.key"; done
ossl req -x509 -new -key "$pki/root.key" -subj "/CN=urlprobe peers root" -days 7 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$pki/root.pem"
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$pki/inter.ext"
ossl req -new -key "$pki/inter.key" -subj "/CN=urlprobe peers intermediate" |
  ossl x509 -req -CA "$pki/root.pem" -CAkey "$pki/root.key" -set_serial 2 -days 7 -extfile "$pki/inter.ext" -out "$pki/inter.pem"
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:*.probe.test\n' >"$pki/leaf.ext"
ossl req -new -key "$pki/leaf.key" -subj "/CN=svc.probe.test" |
  ossl x509 -req -CA "$pki/inter.pem" -CAkey "$pki/inter.key" -set_serial 3 -days 7 -extfile "$pki/leaf.ext" -out "$pki/leaf.pem"
cat "$pki/leaf.pem" "$pki/inter.pem" >"$pki/chain.pem"
openssl verify -CAfile "$pki/root.pem" -untrusted "$pki/inter.pem" "$pki/leaf.pem" >/dev/null || die "test PKI does not verify"
chmod 644 "$pki"/*

# --- dnsmasq: every *.probe.test name is the origin ------------------------------------------
cat >"$DIR/dnsmasq.conf" <<EOF
no-resolv
no-hosts
bind-interfaces
listen-address=$DNS_IP
port=$DNS_PORT
address=/probe.test/$ORIGIN
EOF
dnsmasq --keep-in-foreground --conf-file="$DIR/dnsmasq.conf" --pid-file="$DIR/dnsmasq.pid" \
  --log-facility="$DIR/dnsmasq.log" &
pids+=($!)

# --- nginx: a full handshake per probe, one log line per request -----------------------------
mkdir -p "$DIR/nginx/logs" "$DIR/nginx/tmp"
cat >"$DIR/nginx/nginx.conf" <<EOF
worker_processes 2;
worker_rlimit_nofile 65536;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/logs/error.log warn;
events { worker_connections 16384; }
http {
  client_body_temp_path $DIR/nginx/tmp/body;
  proxy_temp_path $DIR/nginx/tmp/proxy;
  fastcgi_temp_path $DIR/nginx/tmp/fastcgi;
  uwsgi_temp_path $DIR/nginx/tmp/uwsgi;
  scgi_temp_path $DIR/nginx/tmp/scgi;
  log_format peers '\$pid \$connection \$ssl_session_reused \$ssl_protocol \$status';
  keepalive_timeout 0;
  server {
    listen $ORIGIN:$TLS_PORT ssl backlog=4096;
    ssl_certificate $pki/chain.pem;
    ssl_certificate_key $pki/leaf.key;
    ssl_protocols TLSv1.3;
    ssl_session_cache off;
    ssl_session_tickets off;
    access_log $DIR/nginx/logs/tls.log peers;
    location / { return 200 "ok\n"; }
  }
  server {
    listen $ORIGIN:$HTTP_PORT backlog=4096;
    access_log off;
    location / { return 200 "ok\n"; }
  }
}
EOF
nginx -p "$DIR/nginx" -c "$DIR/nginx/nginx.conf" -e stderr -g 'daemon off;' 2>"$DIR/nginx/stderr.log" &
pids+=($!)
nginx_pid=$!

# --- squid: CONNECT to the origin only; names from a hosts file ------------------------------
{
  for ((k = 1; k <= NAMES; k++)); do echo "$ORIGIN svc$k.probe.test"; done
} >"$DIR/squid-hosts"
squid_conf() {  # NAME IP PORT... -> squid.conf on stdout
  local name=$1 ip=$2 port; shift 2
  echo "visible_hostname urlprobe-peers-$name"
  for port in "$@"; do echo "http_port $ip:$port"; done
  cat <<EOF
pid_filename none
cache_log $DIR/squid-$name/cache.log
access_log none
cache_store_log none
netdb_filename none
coredump_dir $DIR/squid-$name
cache deny all
cache_mem 8 MB
pinger_enable off
shutdown_lifetime 0 seconds
max_filedescriptors 16384
hosts_file $DIR/squid-hosts
# Nothing listens there: a name outside the hosts file fails at once, no query leaves the box.
dns_nameservers 127.0.88.9
forwarded_for delete
via off
acl CONNECT method CONNECT
acl SSL_ports port $TLS_PORT
acl Safe_ports port $TLS_PORT $HTTP_PORT
acl origin_dst dst $ORIGIN/32
http_access deny !Safe_ports
http_access deny CONNECT !SSL_ports
http_access deny !origin_dst
http_access allow all
EOF
}
start_squid() {  # NAME IP PORT...
  local name=$1
  mkdir -p "$DIR/squid-$name"
  chown -R proxy:proxy "$DIR/squid-$name"
  squid_conf "$@" >"$DIR/squid-$name.conf"
  squid -N -n "urlprobepeers$name" -f "$DIR/squid-$name.conf" &
  pids+=($!)
  squid_pid=$!
}
start_squid main $SQUID_IP $SQUID_PORT
main_squid_pid=$squid_pid

# --- blackbox exporter: one module per name, direct and through squid ------------------------
{
  echo "modules:"
  for ((k = 1; k <= NAMES; k++)); do
    for via in direct squid; do
      echo "  svc${k}_$via:"
      echo "    prober: http"
      echo "    timeout: 60s"
      echo "    http:"
      echo "      preferred_ip_protocol: ip4"
      echo "      ip_protocol_fallback: false"
      echo "      valid_status_codes: [200]"
      [ $via = squid ] && echo "      proxy_url: http://$SQUID_IP:$SQUID_PORT"
      echo "      tls_config: {ca_file: $pki/root.pem, server_name: svc$k.probe.test}"
    done
  done
} >"$DIR/blackbox.yml"
prometheus-blackbox-exporter --config.file="$DIR/blackbox.yml" \
  --web.listen-address="$BB_IP:$BB_PORT" --log.level=warn 2>"$DIR/blackbox.log" &
pids+=($!)
bb_pid=$!

wait_port $ORIGIN $TLS_PORT nginx "$DIR/nginx/stderr.log"
wait_port $SQUID_IP $SQUID_PORT squid "$DIR/squid-main/cache.log"
wait_port $BB_IP $BB_PORT blackbox_exporter "$DIR/blackbox.log"
wait_port $DNS_IP $DNS_PORT dnsmasq "$DIR/dnsmasq.log"

# --- the workload, in each tool's input format ------------------------------------------------
url() { echo "https://svc$(($1 % NAMES + 1)).probe.test:$TLS_PORT/p$1"; }
for ((i = 0; i < N; i++)); do url $i; done >"$DIR/urls.txt"
{
  for ((k = 1; k <= NAMES; k++)); do echo "resolve = \"svc$k.probe.test:$TLS_PORT:$ORIGIN\""; done
  for ((i = 0; i < N; i++)); do echo "url = \"$(url $i)\""; echo 'output = "/dev/null"'; done
} >"$DIR/curl.cfg"
mkdir -p "$DIR/bb"
for via in direct squid; do
  for ((i = 0; i < N; i++)); do
    echo "url = \"http://$BB_IP:$BB_PORT/probe?target=https://$ORIGIN:$TLS_PORT/p$i&module=svc$((i % NAMES + 1))_$via\""
    echo "output = \"$DIR/bb/$i\""
  done >"$DIR/bb-$via.cfg"
done

proc_cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The origin's CPU: nginx's master and workers together (the workers do the handshakes).
nginx_ticks() {
  local t=0 p
  for p in $nginx_pid $(pgrep -P "$nginx_pid"); do t=$((t + $(proc_cpu_ticks "$p"))); done
  echo $t
}
# UDP datagrams the kernel dropped for a full receive buffer, machine-wide (a lost DNS query or
# answer costs urlprobe a c-ares retry timeout).
udp_drops() { awk '/^Udp:/ { if (h) { print $6 } else { h = 1 } }' /proc/net/snmp; }
# urlprobe's slowest DNS phase in a JSONL file, in ms.
dns_max() { { grep -o '"dns":[0-9.]*' "$1" || true; } | cut -d: -f2 | sort -g | tail -1; }
TICK=$(getconf CLK_TCK)
tls_log=$DIR/nginx/logs/tls.log
touch "$tls_log"

# Checks the access-log lines written since line $1: N requests, N connections, 0 resumed.
check_log() {  # FROM_LINE TOOL
  tail -n +"$(($1 + 1))" "$tls_log" | awk -v n="$N" -v tool="$2" '
    { lines++; conn[$1 " " $2] = 1; if ($3 == "r") reused++; if ($5 == 200) ok++; if ($4 != "TLSv1.3") other++ }
    END {
      c = length(conn)
      printf "%d %d %d\n", lines, c, reused + 0
      if (lines != n || c != n || reused + 0 != 0 || ok != n || other + 0 != 0) {
        printf "peers.sh: %s: nginx saw %d requests on %d connections, %d resumed, %d status 200, %d not TLSv1.3 (want %d, %d, 0, %d, 0)\n", tool, lines, c, reused, ok, other, n, n, n > "/dev/stderr"
        exit 1
      }
    }'
}

results=$DIR/results.tsv
printf 'pass\ttool\troute\twall_s\tprobes_s\tcpu_us\trss_kb\tok\tlog_requests\tlog_connections\tlog_reused\tnginx_cpu_us\tsquid_cpu_us\n' >"$results"

# The crypto floor (BM_InMemoryTlsHandshake: one full handshake, both ends in memory, one
# thread), measured in every pass like a tool, so urlprobe's CPU is compared with a floor taken
# under the same machine load (on a shared VM both move by 2x with the neighbours).
run_floor() {  # PASS
  # Both floors: the self-signed one of the suite, and one with this PKI's chain and a name.
  URLPROBE_BENCH_CHAIN_DIR=$pki URLPROBE_BENCH_HOST=svc1.probe.test "$BENCH" \
    --benchmark_filter='^BM_InMemoryTlsHandshake(Chain)?(/real_time)?$' --benchmark_min_time=0.5 \
    --benchmark_out="$DIR/floor-$1.json" --benchmark_out_format=json >/dev/null 2>&1 || return 0
  "$PY" - "$DIR/floor-$1.json" "$1" >>"$results" <<'EOP'
import json, sys
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if "client_cpu_us/hs" not in b:
        continue
    tool = "floor_chain" if "Chain" in b["name"] else "floor"
    print(f"{sys.argv[2]}\t{tool}\tdirect\t0\t{b['items_per_second']:.1f}\t{b['client_cpu_us/hs']:.1f}\t0\t0\t0\t0\t0\t{b['server_cpu_us/hs']:.1f}\t0")
EOP
  tail -2 "$results" | awk -F'\t' '{printf "  pass %d %-11s client %4.0f us/handshake, server %4.0f us\n", $1, $2, $6, $12}' >&2
}

# Runs one tool once; appends a row to results.tsv.
run_one() {  # PASS TOOL ROUTE
  local pass=$1 tool=$2 route=$3 from ok wall cpu rss t0 t1 c0 c1 timing=$DIR/time.out note=""
  local drops0 ng0 sq0
  drops0=$(udp_drops)
  ng0=$(nginx_ticks)
  sq0=$(proc_cpu_ticks "$main_squid_pid")
  from=$(wc -l <"$tls_log")
  case "$tool" in
    urlprobe)
      local via=(--methods direct)
      [ "$route" = squid ] && via=(--methods cli --proxy "http://$SQUID_IP:$SQUID_PORT")
      /usr/bin/time -f '%e %U %S %M' -o "$timing" "$UP" --dns-server $DNS_IP:$DNS_PORT \
        --ca-file "$pki/root.pem" --public-roots "$pki/root.pem" "${via[@]}" --concurrency "$C" \
        --progress never --format jsonl "$DIR/urls.txt" >"$DIR/out.jsonl" 2>>"$DIR/urlprobe.log" || true
      ok=$(grep -c '"outcome":"ok"' "$DIR/out.jsonl" || true)
      note="dns max $(dns_max "$DIR/out.jsonl") ms"
      cp "$DIR/out.jsonl" "$DIR/urlprobe-$pass-$route.jsonl"
      ;;
    urlprobe_pinned)
      # The same, with names pinned as curl's are (--resolve): no DNS at all.
      /usr/bin/time -f '%e %U %S %M' -o "$timing" "$UP" "${pins[@]}" \
        --ca-file "$pki/root.pem" --public-roots "$pki/root.pem" --methods direct --concurrency "$C" \
        --progress never --format jsonl "$DIR/urls.txt" >"$DIR/out.jsonl" 2>>"$DIR/urlprobe.log" || true
      ok=$(grep -c '"outcome":"ok"' "$DIR/out.jsonl" || true)
      ;;
    curl)
      local via=()
      [ "$route" = squid ] && via=(-x "http://$SQUID_IP:$SQUID_PORT")
      /usr/bin/time -f '%e %U %S %M' -o "$timing" curl --parallel --parallel-max "$C" \
        --parallel-immediate --http1.1 -s --cacert "$pki/root.pem" "${via[@]}" -w '%{http_code}\n' \
        -K "$DIR/curl.cfg" >"$DIR/out.txt" 2>>"$DIR/curl.log" || true
      ok=$(grep -c '^200$' "$DIR/out.txt" || true)
      ;;
    h2load)
      /usr/bin/time -f '%e %U %S %M' -o "$timing" h2load --h1 -n "$N" -c "$C" -t 1 \
        "https://$ORIGIN:$TLS_PORT/" >"$DIR/out.txt" 2>&1 || true
      ok=$(awk '/^status codes:/ {print $3}' "$DIR/out.txt")
      ;;
    blackbox)
      rm -f "$DIR"/bb/*
      echo 5 >"/proc/$bb_pid/clear_refs"  # resets VmHWM: this run's peak only
      c0=$(proc_cpu_ticks $bb_pid)
      t0=$(date +%s.%N)
      curl --parallel --parallel-max "$C" --parallel-immediate -s --no-progress-meter \
        -K "$DIR/bb-$route.cfg" 2>>"$DIR/driver.log" || true
      t1=$(date +%s.%N)
      c1=$(proc_cpu_ticks $bb_pid)
      rss=$(awk '/^VmHWM/ {print $2}' "/proc/$bb_pid/status")
      echo "$(echo "$t1 - $t0" | bc -l) $(((c1 - c0))) 0 $rss" | awk -v tick="$TICK" '{printf "%.3f %.3f 0 %d\n", $1, $2 / tick, $4}' >"$timing"
      ok=$(cat "$DIR"/bb/* | grep -c '^probe_success 1$' || true)
      ;;
  esac
  read -r wall user sys rss <"$timing"
  local ng_us sq_us
  ng_us=$(echo "($(nginx_ticks) - $ng0) * 1000000 / $TICK / $N" | bc -l)
  sq_us=$(echo "($(proc_cpu_ticks "$main_squid_pid") - $sq0) * 1000000 / $TICK / $N" | bc -l)
  [ "${ok:-0}" -eq "$N" ] || { cat "$DIR/out.txt" 2>/dev/null | tail -20 >&2; die "$tool/$route: $ok of $N probes ok"; }
  local log
  log=$(check_log "$from" "$tool/$route") || die "pass $pass: $tool/$route failed the handshake check"
  printf '%s\t%s\t%s\t%s\t%.1f\t%.1f\t%s\t%s\t%s\t%.1f\t%.1f\n' "$pass" "$tool" "$route" "$wall" \
    "$(echo "$N / $wall" | bc -l)" "$(echo "($user + $sys) * 1000000 / $N" | bc -l)" "$rss" "$ok" \
    "$(echo "$log" | tr ' ' '\t')" "$ng_us" "$sq_us" >>"$results"
  printf '  pass %d %-8s %-6s %6.0f probes/s %6.0f us/probe %7d KB  nginx %4.0f us, squid %4.0f us  %s%d UDP drops\n' \
    "$pass" "$tool" "$route" "$(echo "$N / $wall" | bc -l)" "$(echo "($user + $sys) * 1000000 / $N" | bc -l)" \
    "$rss" "$ng_us" "$sq_us" "${note:+$note, }" $(($(udp_drops) - drops0)) >&2
}

# The crypto floor of the same binary tree, for "CPU within 1.4x of the floor".
floor_json=$DIR/floor-1.json

pins=()
for ((k = 1; k <= NAMES; k++)); do pins+=(--resolve "svc$k.probe.test:$TLS_PORT:$ORIGIN"); done
runs=()
for r in "urlprobe direct" "urlprobe squid" "urlprobe_pinned direct" "curl direct" "curl squid" "blackbox direct" \
  "blackbox squid" "h2load direct"; do
  [[ " $TOOLS " == *" ${r% *} "* ]] && runs+=("$r")
done
echo "peers.sh: $N probes, $C in flight, $PASSES passes after a warm-up; state in $DIR" >&2
for ((pass = 0; pass <= PASSES; pass++)); do
  # Rotate the order every pass, so no tool always runs right after the same neighbour.
  for ((j = 0; j < ${#runs[@]}; j++)); do
    r=${runs[$(((j + pass) % ${#runs[@]}))]}
    run_one "$pass" $r
  done
  if [ -x "$BENCH" ] && [ ${#runs[@]} -gt 0 ]; then run_floor "$pass"; fi
done

# --- optional profile of one urlprobe direct run (PERF=FILE: perf record -g into FILE) -------
if [ -n "${PERF:-}" ]; then
  perf record -q -F 2000 -g -o "$PERF" -- "$UP" --dns-server $DNS_IP:$DNS_PORT --ca-file "$pki/root.pem" \
    --public-roots "$pki/root.pem" --methods direct --concurrency "$C" --progress never \
    --format jsonl "$DIR/urls.txt" >"$DIR/out.jsonl" 2>>"$DIR/urlprobe.log" || true
  echo "  profile: $PERF ($(grep -c '"outcome":"ok"' "$DIR/out.jsonl") ok)" >&2
  # The system calls, counted (strace -f -c), for the kernel share of the profile.
  strace -f -c -o "$PERF.strace" "$UP" --dns-server $DNS_IP:$DNS_PORT --ca-file "$pki/root.pem" \
    --public-roots "$pki/root.pem" --methods direct --concurrency "$C" --progress never \
    --format jsonl "$DIR/urls.txt" >"$DIR/out.jsonl" 2>>"$DIR/urlprobe.log" || true
fi

# --- memory: RSS at C and at N in flight --------------------------------------------------------
memory=$DIR/memory.tsv
printf 'binary\tconcurrency\trss_kb\tprobes_s\n' >"$memory"
if [ "$MEMORY" = 1 ]; then
  # BEFORE=PATH: another urlprobe build measured in the same runs, interleaved, because the peak
  # at N in flight moves by +-10 % between invocations.
  for conc in "$C" "$N" "$C" "$N"; do
    for binary in urlprobe ${BEFORE:+before}; do
      exe=$UP
      [ "$binary" = before ] && exe=$BEFORE
      from=$(wc -l <"$tls_log")
      /usr/bin/time -f '%e %U %S %M' -o "$DIR/time.out" "$exe" --dns-server $DNS_IP:$DNS_PORT \
        --ca-file "$pki/root.pem" --public-roots "$pki/root.pem" --methods direct --concurrency "$conc" \
        --progress never --format jsonl "$DIR/urls.txt" >"$DIR/out.jsonl" 2>>"$DIR/urlprobe.log" || true
      read -r wall user sys rss <"$DIR/time.out"
      ok=$(grep -c '"outcome":"ok"' "$DIR/out.jsonl" || true)
      [ "$ok" -eq "$N" ] || die "memory run of $binary at concurrency $conc: $ok of $N ok"
      check_log "$from" "$binary/c$conc" >/dev/null
      printf '%s\t%s\t%s\t%s\n' "$binary" "$conc" "$rss" "$(echo "$N / $wall" | bc -l)" >>"$memory"
      echo "  memory: $binary at concurrency $conc: peak RSS $rss KB" >&2
    done
  done
fi

# --- a long sweep: T plain-HTTP targets x P proxy ports, RSS sampled every second -------------
sweep=$DIR/sweep.tsv
if [ "$SWEEP_T" -gt 0 ]; then
  # squid listens on at most 128 ports (MAXTCPLISTENPORTS): 125 per instance.
  ports=()
  for ((p = 0; p < SWEEP_P; p++)); do ports+=($((SWEEP_FIRST + p))); done
  sweep_squids=()
  for ((first = 0; first < SWEEP_P; first += 125)); do
    start_squid "sweep$first" $SWEEP_IP "${ports[@]:first:125}"
    sweep_squids+=("$squid_pid")
  done
  for ((first = 0; first < SWEEP_P; first += 125)); do
    last=$((first + 125 < SWEEP_P ? first + 124 : SWEEP_P - 1))
    wait_port $SWEEP_IP "${ports[$last]}" "squid-sweep$first" "$DIR/squid-sweep$first/cache.log"
  done
  for ((i = 0; i < SWEEP_T; i++)); do echo "http://svc$((i % NAMES + 1)).probe.test:$HTTP_PORT/t$i"; done >"$DIR/sweep-urls.txt"
  for port in "${ports[@]}"; do echo "http://$SWEEP_IP:$port"; done >"$DIR/sweep-proxies.txt"
  # Results stream through awk (only counted), so urlprobe's memory is all that grows, if anything.
  "$UP" --dns-server $DNS_IP:$DNS_PORT --methods direct --proxies "$DIR/sweep-proxies.txt" \
    --concurrency "$C" --progress never --format jsonl "$DIR/sweep-urls.txt" \
    > >(awk -v out="$DIR/sweep-count" '/"outcome":"ok"/ {ok++} END {print ok + 0, NR > out}') &
  up_pid=$!
  printf 'elapsed_s\trss_kb\tcpu_s\n' >"$sweep"
  t0=$(date +%s.%N)
  while kill -0 "$up_pid" 2>/dev/null; do
    rss=$(awk '/^VmRSS/ {print $2}' "/proc/$up_pid/status" 2>/dev/null || true)
    cpu=$(proc_cpu_ticks "$up_pid" 2>/dev/null || true)
    [ -n "$rss" ] && printf '%.1f\t%s\t%.2f\n' "$(echo "$(date +%s.%N) - $t0" | bc -l)" "$rss" \
      "$(echo "$cpu / $TICK" | bc -l)" >>"$sweep"
    sleep 1
  done
  for _ in $(seq 100); do [ -s "$DIR/sweep-count" ] && break; sleep 0.1; done
  read -r sweep_ok sweep_lines <"$DIR/sweep-count"
  echo "  sweep: $sweep_lines results, $sweep_ok ok, $(tail -1 "$sweep" | cut -f1) s" >&2
  # --methods cannot be empty: each target is also probed direct, T x (P + 1) in all.
  [ "$sweep_lines" -eq $((SWEEP_T * (SWEEP_P + 1))) ] || die "sweep: $sweep_lines results, want $((SWEEP_T * (SWEEP_P + 1)))"
  # Not fatal: on a loaded 2-vCPU box a few probes time out behind 8 squids; the memory curve is
  # the point, and every probe still has its result.
  [ "$sweep_ok" -eq "$sweep_lines" ] || echo "peers.sh: sweep: $((sweep_lines - sweep_ok)) of $sweep_lines not ok" >&2
fi

host="$(nproc) vCPU $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(uname -r)"
versions="urlprobe $(git -C "$root" rev-parse --short HEAD) ($BUILD), $(curl --version | head -1 | cut -d' ' -f1-2), \
blackbox_exporter $(dpkg-query -W -f='${Version}' prometheus-blackbox-exporter), $(h2load --version | head -1), \
nginx $(nginx -v 2>&1 | cut -d/ -f2), squid $(squid -v | head -1 | awk '{print $4}'), $(openssl version | cut -d' ' -f1-2)"
"$PY" "$here/peers_table.py" --results "$results" --memory "$memory" --sweep "$sweep" \
  --floor "$floor_json" --probes "$N" --concurrency "$C" --machine "$host" --versions "$versions"
