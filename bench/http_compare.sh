#!/bin/sh
# grove's HTTP server (tools/net/grove-http-server, grove-http) against nginx, the
# reference, under the same wrk command: plain HTTP and HTTPS, one thread /
# one worker each, both answering the 14-byte "Hello, World!\n" with
# keep-alive. Runs alternate (grove, nginx, grove, nginx...) so that load from
# elsewhere on the machine hits both alike; the table gives each row's median
# over ROUNDS runs. gevent's pywsgi is measured once per scheme as well when
# python3-gevent is installed (PYWSGI=0 skips it).
#
#   bench/http_compare.sh [BUILD_DIR]      (default build-release)
#
# The server runs on CPU 0 and wrk on CPU 1 (taskset) when the machine has
# two CPUs or more. nginx is installed with apt-get if missing (root only);
# it runs from a generated config in a temporary directory, on a loopback
# port, and is stopped at the end.
#
# Env: SECONDS_PER_RUN (default 10), ROUNDS (default 3), CONNECTIONS (default
# 64), THREADS (wrk threads, default 2), PYWSGI (default 1), PYTHON (default
# /usr/bin/python3), OUT (default bench/results/http_wrk.md).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-build-release}
case "$BUILD" in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
SECS=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNECTIONS:-64}
WRK_THREADS=${THREADS:-2}
PYWSGI=${PYWSGI:-1}
PYTHON=${PYTHON:-/usr/bin/python3}
OUT=${OUT:-$ROOT/bench/results/http_wrk.md}
GROVE=$BUILD/tools/net/grove-http-server

command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)" >&2; exit 1; }
[ -x "$GROVE" ] || { echo "build it first: ninja -C $BUILD tools/net/grove-http-server" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
    [ "$(id -u)" = 0 ] || { echo "nginx not installed (apt-get install nginx-light)" >&2; exit 1; }
    apt-get install -y nginx-light >/dev/null 2>&1 || apt-get install -y nginx >/dev/null
    NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
if [ "$PYWSGI" = 1 ] && ! "$PYTHON" -c 'import gevent' 2>/dev/null; then PYWSGI=0; fi
SERVER_CPU=
WRK_CPU=
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    SERVER_CPU="taskset -c 0"
    WRK_CPU="taskset -c 1"
fi

TMP=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" 2>/dev/null

free_port() { "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
NGINX_HTTP=$(free_port)
NGINX_HTTPS=$(free_port)
mkdir -p "$TMP/nginx/logs"
cat > "$TMP/nginx/nginx.conf" <<EOF
# one worker, no logging, a fixed 14-byte body, keep-alive without a
# request cap (grove has none), plain and TLS
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log error;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    client_body_temp_path $TMP/nginx/body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;
    default_type text/plain;
    server {
        listen 127.0.0.1:$NGINX_HTTP;
        location / { return 200 "Hello, World!\n"; }
    }
    server {
        listen 127.0.0.1:$NGINX_HTTPS ssl;
        ssl_certificate $TMP/cert.pem;
        ssl_certificate_key $TMP/key.pem;
        location / { return 200 "Hello, World!\n"; }
    }
}
EOF

cat > "$TMP/pywsgi_hello.py" <<'PY'
import socket
import sys
from gevent.pywsgi import WSGIServer

def app(environ, start_response):
    body = b"Hello, World!\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]

class NoDelayServer(WSGIServer):
    """pywsgi writes the head and the body separately; without TCP_NODELAY,
    Nagle + delayed ACKs add ~40 ms per request. grove sets TCP_NODELAY."""
    def handle(self, sock, address):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return super().handle(sock, address)

ssl = {"certfile": sys.argv[1], "keyfile": sys.argv[2]} if len(sys.argv) > 2 else {}
server = NoDelayServer(("127.0.0.1", 0), app, log=None, **ssl)
server.start()
print("listening on 127.0.0.1:%d" % server.server_port, flush=True)
server.serve_forever()
PY

# start CMD... → sets PID and PORT from the "listening on" line
start() {
    $SERVER_CPU "$@" > "$TMP/out" 2>"$TMP/err" &
    PID=$!
    for _ in $(seq 400); do
        grep -q "listening on" "$TMP/out" 2>/dev/null && break
        sleep 0.05
    done
    PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$TMP/out")
    [ -n "$PORT" ] || { echo "no 'listening on' line from: $*" >&2; cat "$TMP/err" >&2; exit 1; }
}
start_nginx() {
    $SERVER_CPU "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/logs/error.log" &
    PID=$!
    for _ in $(seq 400); do
        curl -s -o /dev/null "http://127.0.0.1:$NGINX_HTTP/" && break
        sleep 0.05
    done
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=; }

# run NAME SCHEME PORT → appends "name scheme rps p50_ms p99_ms errors" to $TMP/runs
to_ms() { awk '{ v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
                 if (u == "us") v /= 1000; else if (u == "s") v *= 1000; printf "%.3f", v }'; }
run() {
    $WRK_CPU wrk -t"$WRK_THREADS" -c"$CONNS" -d"${SECS}s" --latency "$2://127.0.0.1:$3/" > "$TMP/wrk" 2>&1
    rps=$(awk '/^Requests\/sec/ {print $2}' "$TMP/wrk")
    p50=$(awk '/^ *50%/ {print $2}' "$TMP/wrk" | to_ms)
    p99=$(awk '/^ *99%/ {print $2}' "$TMP/wrk" | to_ms)
    errs=$(grep -cE "Socket errors|Non-2xx" "$TMP/wrk" || true)
    echo "$1|$2|$rps|$p50|$p99|$errs" >> "$TMP/runs"
    echo "  $1 $2: $rps req/s, p50 $p50 ms, p99 $p99 ms" >&2
}

: > "$TMP/runs"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
for round in $(seq "$ROUNDS"); do
    echo "round $round/$ROUNDS" >&2
    start "$GROVE" --port 0 --threads 1
    run grove http "$PORT"
    stop
    start_nginx
    run nginx http "$NGINX_HTTP"
    stop
    start "$GROVE" --port 0 --threads 1 --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem"
    run grove https "$PORT"
    stop
    start_nginx
    run nginx https "$NGINX_HTTPS"
    stop
done
if [ "$PYWSGI" = 1 ]; then
    start "$PYTHON" "$TMP/pywsgi_hello.py"
    run pywsgi http "$PORT"
    stop
    start "$PYTHON" "$TMP/pywsgi_hello.py" "$TMP/cert.pem" "$TMP/key.pem"
    run pywsgi https "$PORT"
    stop
fi

# median NAME SCHEME FIELD → the median of that column over the rounds
median() {
    awk -F'|' -v n="$1" -v s="$2" -v f="$3" '$1 == n && $2 == s { print $f }' "$TMP/runs" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
                                  else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
all() { awk -F'|' -v n="$1" -v s="$2" -v f="$3" '$1 == n && $2 == s { printf "%s%s", sep, $f; sep = ", " }' "$TMP/runs"; }
row() {
    label=$1 name=$2 scheme=$3
    rps=$(median "$name" "$scheme" 3)
    ref=$(median nginx "$scheme" 3)
    ratio=$(awk -v a="$rps" -v b="$ref" 'BEGIN { if (b > 0 && a != "-") printf "%.2f×", a / b; else print "-" }')
    errs=$(awk -F'|' -v n="$name" -v s="$scheme" '$1 == n && $2 == s { e += $6 } END { print e ? e " runs" : "none" }' "$TMP/runs")
    echo "| $label | $scheme | $rps | $ratio | $(median "$name" "$scheme" 4) | $(median "$name" "$scheme" 5) | $(all "$name" "$scheme" 3) | $errs |"
}

{
    echo "# HTTP under wrk: grove-http vs nginx (and gevent pywsgi)"
    echo
    echo "Generated by \`bench/http_compare.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs"
    echo "($(uname -m), load average at start: $LOAD0, at the end: $(cut -d' ' -f1-3 /proc/loadavg));"
    echo "wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'): \`wrk -t$WRK_THREADS -c$CONNS -d${SECS}s --latency\`, keep-alive, a 14-byte"
    echo "\"Hello, World!\" body. grove: \`$(basename "$BUILD")\` build of \`tools/net/grove-http-server --threads 1\`;"
    echo "nginx $("$NGINX" -v 2>&1 | sed 's|.*nginx/||'), 1 worker, access log off, \`return 200\`."
    if [ -n "$SERVER_CPU" ]; then echo "Server pinned to CPU 0, wrk to CPU 1."; fi
    echo "Runs alternate grove/nginx, plain then TLS, $ROUNDS rounds; each cell is the median of its"
    echo "rounds (all req/s values listed). The machine is shared: read the ratio, not the absolute numbers."
    echo
    echo "| server | scheme | req/s (median) | vs nginx | p50 ms | p99 ms | req/s per run | errors |"
    echo "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"
    for scheme in http https; do
        row "grove http_server" grove "$scheme"
        row "nginx" nginx "$scheme"
        if [ "$PYWSGI" = 1 ]; then row "gevent pywsgi + TCP_NODELAY (1 run)" pywsgi "$scheme"; fi
    done
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
