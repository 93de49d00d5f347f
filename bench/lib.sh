# bench/lib.sh — helpers shared by bench/run and bench/scale (sourced, not run).
# Expects ROOT (the repository) to be set by the sourcing script.

CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# wrk, nginx, curl and taskset, installed with apt-get when missing (needs root).
ensure_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
    command -v curl >/dev/null || missing+=(curl)
    command -v taskset >/dev/null || missing+=(util-linux)
    if ((${#missing[@]})); then
        say "installing ${missing[*]} (apt-get)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
    PATH=$PATH:/usr/sbin
}

# The release binary, built unless BENCH_BIN names one.
build() {
    if [[ -n ${BENCH_BIN:-} ]]; then
        say "using $BIN (BENCH_BIN; no build)"
    else
        say "cargo build --release -p newsdesk"
        (cd "$ROOT" && cargo build --release -p newsdesk)
    fi
    "$BIN" --help 2>&1 | grep -qw serve || die "$BIN has no 'serve' subcommand yet"
}

# A loopback TCP port nobody listens on (small race; fine for a bench).
free_port() {
    local port
    for _ in $(seq 200); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"; return 0
        fi
    done
    die "no free loopback port found"
}

wait_http_ok() { # url timeout_s pid log
    local url=$1 deadline=$((SECONDS + $2)) pid=$3 log=$4
    until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$log" >&2; die "server exited before $url answered"
        fi
        if ((SECONDS >= deadline)); then
            tail -n 50 "$log" >&2; die "$url did not answer 200 within $2 s"
        fi
        sleep 0.2
    done
}

# Sum of utime+stime, in clock ticks, of the given processes (all threads).
cpu_ticks() {
    local total=0 pid stat f
    for pid in "$@"; do
        stat=$(<"/proc/$pid/stat") || continue
        read -r -a f <<<"${stat##*) }"   # f[0] is field 3 (state)
        total=$((total + f[11] + f[12]))  # fields 14 (utime), 15 (stime)
    done
    echo "$total"
}

# Waits (up to $2 s) until process $1 uses under 5% of a CPU for 1 s; prints the seconds waited.
wait_idle() {
    local pid=$1 limit=$2 start=$SECONDS t0 t1
    while ((SECONDS - start < limit)); do
        t0=$(cpu_ticks "$pid"); sleep 1; t1=$(cpu_ticks "$pid")
        ((t1 - t0 <= CLK_TCK / 20)) && break
    done
    echo $((SECONDS - start))
}

# A line of /proc/PID/status in kB (VmRSS, VmHWM, ...).
vm_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
vm_mb() { awk -v k="$(vm_kb "$1" "$2")" 'BEGIN { printf "%.1f", k / 1024 }'; }

set_affinity() { # cpu-list pid...
    local cpus=$1 pid; shift
    for pid in "$@"; do taskset -a -p -c "$cpus" "$pid" >/dev/null; done
}

# Parse wrk --latency output: prints "requests rps p99_ms errors".
parse_wrk() {
    awk '
        / requests in /               { req = $1 }
        /^Requests\/sec:/             { rps = $2 }
        /^ +99%/ {
            v = $2; n = v + 0
            if (v ~ /us$/)      ms = n / 1000
            else if (v ~ /ms$/) ms = n
            else if (v ~ /m$/)  ms = n * 60000
            else if (v ~ /s$/)  ms = n * 1000
        }
        /Socket errors:/              { err += $4 + $6 + $8 + $10 }
        /Non-2xx or 3xx responses:/   { err += $NF }
        END {
            if (req == "" || rps == "" || ms == "") exit 1
            printf "%d %.1f %.2f %d\n", req, rps, ms, err
        }' "$1"
}

# An nginx config (on stdout) serving directory $2 on loopback port $1 with
# one Content-Type ($3, e.g. "text/html; charset=utf-8") for every file and
# index.html for "/": daemon off, access_log off, sendfile, keep-alive without
# a request limit, one worker per CPU. Its pid file and logs go under $4.
nginx_conf() { # port www content-type dir
    local port=$1 www=$2 content_type=$3 dir=$4 mime charset
    mime=${content_type%%;*}
    charset=$(sed -n 's/.*charset=\([^; ]*\).*/\1/p' <<<"$content_type")
    ((EUID == 0)) && echo "user root;"   # workers must read the temp folder
    cat <<EOF
worker_processes auto;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    types { }
    default_type $mime;
    ${charset:+charset $charset; charset_types $mime;}
    server {
        listen 127.0.0.1:$port;
        root $www;
        index index.html;
    }
}
EOF
}

# Comparisons for the targets column.
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
ok() { if "$@" 2>/dev/null; then echo ok; else echo MISS; fi; }
