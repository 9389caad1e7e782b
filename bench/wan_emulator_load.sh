#!/bin/bash
# How many packets a second urlprobe_wan_emulator forwards (bench/README.md, "The WAN emulator"):
# h2load (HTTP/1.1, keep-alive, C connections) in one namespace against nginx in another, the
# emulator between them at RTT_MS. Prints h2load's summary, the emulator's counters, and
# packets/s with the emulator's own CPU time. Root; makes and removes its own two namespaces.
#
#   bench/wan_emulator_load.sh [RTT_MS [CONNECTIONS [REQUESTS]]]     default 50 4000 400000
#   EMULATOR=path EMULATOR_ARGS='--tick-us 0' NGINX_WORKERS=2 H2LOAD_THREADS=2 ...
set -euo pipefail
RTT_MS=${1:-50}
CONNECTIONS=${2:-4000}
REQUESTS=${3:-400000}
EMULATOR=${EMULATOR:-$(dirname "$0")/../build/urlprobe_wan_emulator}
for tool in nginx h2load ip; do
  command -v $tool >/dev/null || { echo "wan_emulator_load: needs $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "wan_emulator_load: needs root (network namespaces)" >&2; exit 1; }

work=$(mktemp -d /tmp/wan-emulator-load.XXXXXX)
client=wanloadc$$
server=wanloads$$
emulator_pid=''
nginx_pid=''
cleanup() {
  for pid in $nginx_pid $emulator_pid; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del $client 2>/dev/null || true
  ip netns del $server 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add $client
ip netns add $server
# shellcheck disable=SC2086
"$EMULATOR" --client-netns /run/netns/$client --server-netns /run/netns/$server \
  --rtt-ms "$RTT_MS" ${EMULATOR_ARGS:-} >"$work/emulator.out" &
emulator_pid=$!
until grep -q '^ready$' "$work/emulator.out"; do
  kill -0 $emulator_pid 2>/dev/null || { echo "wan_emulator_load: emulator failed" >&2; exit 1; }
  sleep 0.05
done
for side in "$client 10.91.0.1" "$server 10.91.1.1"; do
  set -- $side  # "NAMESPACE ADDRESS"
  ip -n "$1" addr add "$2/16" dev wan0
  ip -n "$1" link set wan0 up
  ip -n "$1" link set lo up
  # Inside the namespace only: thousands of connections from one address to one port.
  ip netns exec "$1" sysctl -qw net.ipv4.ip_local_port_range="1024 65000" \
    net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
done
cat >"$work/nginx.conf" <<EOF
worker_processes ${NGINX_WORKERS:-2}; daemon off; pid $work/nginx.pid; error_log $work/error.log;
worker_rlimit_nofile 19000;
events { worker_connections 18000; }
http {
  access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work;
  uwsgi_temp_path $work; scgi_temp_path $work;
  server { listen 10.91.1.1:8080 backlog=65535; location / { return 200 "ok\n"; } }
}
EOF
ip netns exec $server nginx -c "$work/nginx.conf" -e "$work/error.log" &
nginx_pid=$!
until ip netns exec $server bash -c 'exec 3<>/dev/tcp/10.91.1.1/8080' 2>/dev/null; do
  kill -0 $nginx_pid 2>/dev/null || { echo "wan_emulator_load: nginx failed" >&2; exit 1; }
  sleep 0.1
done

cpu_ticks() { awk '{print $14 + $15}' /proc/$emulator_pid/stat; }
start=$(date +%s.%N)
cpu_start=$(cpu_ticks)
ip netns exec $client bash -c "ulimit -n \$(ulimit -Hn); h2load --h1 -c $CONNECTIONS -n $REQUESTS \
  -t ${H2LOAD_THREADS:-2} http://10.91.1.1:8080/" | grep -E 'finished in|requests:|status codes'
end=$(date +%s.%N)
cpu_end=$(cpu_ticks)
kill -TERM $emulator_pid
wait $emulator_pid
emulator_pid=""
counters=$(tail -1 "$work/emulator.out")
echo "$counters"
/usr/bin/python3 - "$start" "$end" "$cpu_start" "$cpu_end" "$counters" "$(getconf CLK_TCK)" <<'EOF'
import json, sys
start, end, cpu_start, cpu_end = map(float, sys.argv[1:5])
counters, hz = json.loads(sys.argv[5]), float(sys.argv[6])
packets = counters["to_server_packets"] + counters["to_client_packets"]
wall, cpu = end - start, (cpu_end - cpu_start) / hz
print(f"wan_emulator_load: wall_s={wall:.2f} packets={packets} packets_per_s={packets / wall:.0f} "
      f"emulator_cpu_s={cpu:.2f} ({100 * cpu / wall:.0f}% of a core) "
      f"packets_per_cpu_s={packets / cpu if cpu else 0:.0f} late_mean_us={counters['late_mean_us']}")
EOF
