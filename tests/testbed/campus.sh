#!/usr/bin/env bash
# EduSight demonstration campus in network namespaces.
#
#   campus.sh up | down | status | env-file | exec-agent CMD...
#
# Environment:
#   EDUSIGHT_TESTBED_NAME        prefix of namespaces and state dir (default "esd")
#   EDUSIGHT_TESTBED_STATE_DIR   override the state directory
#   EDUSIGHT_TESTBED_SLOW        auto (default) | netem | http | off
#                                how IPv6 of slow.demo-univ.edu.cn is delayed
#   EDUSIGHT_TESTBED_KEEP=1      on a failed "up", leave everything running
#   EDUSIGHT_TESTBED_DEBUG=1     print the time of each phase of "up" to stderr
#
# Everything lives in two namespaces ${NAME}-campus (all servers) and
# ${NAME}-agent (where the agent runs).  Only documentation prefixes are used
# and the campus namespace has no route to anything but the agent link.
# See README.md next to this file for the address plan and intended findings.

# shellcheck disable=SC2016  # single-quoted $vars are meant for nginx / the inner shell
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SITES="$HERE/sites"

NAME=${EDUSIGHT_TESTBED_NAME:-esd}
if ! [[ $NAME =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,23}$ ]]; then
    echo "campus.sh: invalid EDUSIGHT_TESTBED_NAME '$NAME' (use [A-Za-z0-9_-], max 24 chars)" >&2
    exit 2
fi
NS_CAMPUS="$NAME-campus"
NS_AGENT="$NAME-agent"

# --- state directory ---------------------------------------------------------
if [[ -n ${EDUSIGHT_TESTBED_STATE_DIR:-} ]]; then
    STATE=$EDUSIGHT_TESTBED_STATE_DIR
elif [[ -d /run/edusight-testbed && -w /run/edusight-testbed ]] ||
     [[ ! -e /run/edusight-testbed && -d /run && -w /run ]]; then
    STATE=/run/edusight-testbed/$NAME
else
    STATE=${TMPDIR:-/tmp}/edusight-testbed-$NAME
fi
MARKER=.edusight-testbed

# --- address plan ------------------------------------------------------------
SRV_IF=srv0                 # carries every server address (dummy, or a port-less bridge)
CAMPUS_LINK_IF=agent0       # campus side of the veth pair
AGENT_LINK_IF=eth0          # agent side of the veth pair
CAMPUS_LINK4=192.0.2.246/29
AGENT_LINK4=192.0.2.241/29
CAMPUS_LINK6=2001:db8:ff::1/64
AGENT_LINK6=2001:db8:ff::2/64
GW4=${CAMPUS_LINK4%/*}
GW6=${CAMPUS_LINK6%/*}

RESOLVER4=192.0.2.53
RESOLVER6=2001:db8:53::53
NSD4=(192.0.2.1 192.0.2.2 192.0.2.3)
NSD6=(2001:db8:1::1 2001:db8:1::2)
SLOW6=2001:db8:10::17

SERVER_ADDRS4=(192.0.2.1 192.0.2.2 192.0.2.3
               192.0.2.10 192.0.2.11 192.0.2.12 192.0.2.13 192.0.2.14
               192.0.2.15 192.0.2.16 192.0.2.17 192.0.2.25 192.0.2.26
               192.0.2.53)
SERVER_ADDRS6=(2001:db8:1::1 2001:db8:1::2
               2001:db8:10::10 2001:db8:10::12 2001:db8:10::13
               2001:db8:10::15 2001:db8:10::17 2001:db8:10::25
               2001:db8:53::53)

SERVICES=(nsd unbound nginx)

die() { echo "campus.sh: $*" >&2; exit 1; }
ns_exists() { [[ -e /run/netns/$1 ]]; }
in_campus() { ip netns exec "$NS_CAMPUS" "$@"; }
in_agent() { ip netns exec "$NS_AGENT" "$@"; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo "${t:0:-3}"; }
phase() { [[ ${EDUSIGHT_TESTBED_DEBUG:-0} == 1 ]] && echo "campus.sh: $(( $(now_ms) - T0 )) ms: $*" >&2; return 0; }

# alive = exists and is not a zombie (our daemons are reaped by whoever is
# PID 1 here, which may take a while)
alive() {
    local line st
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
    st=${line##*) }
    st=${st:0:1}
    [[ -n $st && $st != Z && $st != X ]]
}

exists() { kill -0 "$1" 2>/dev/null; }

wait_gone() {   # predicate max_tenths pid...
    local pred=$1 n=$2 i pid any
    shift 2
    for ((i = 0; i < n; i++)); do
        any=0
        for pid in "$@"; do "$pred" "$pid" && { any=1; break; }; done
        ((any)) || return 0
        sleep 0.1
    done
    return 1
}

# pid is alive and lives in the given namespace (same nsfs inode; no forks)
pid_in_ns() {
    local pid=$1 ns=$2
    alive "$pid" || return 1
    [[ -e /run/netns/$ns && /proc/$pid/ns/net -ef /run/netns/$ns ]]
}

# --- down --------------------------------------------------------------------
cmd_down() {
    local pids=() rest=() reap=() pid f svc ns comm
    T0=${T0:-$(now_ms)}
    # every nsd/unbound/nginx process in the campus namespace, now, while alive:
    # nsd's server child is orphaned on shutdown and reaped by PID 1 (slowly),
    # so at the end we wait until these have vanished from the process table
    if ns_exists "$NS_CAMPUS"; then
        for pid in $(ip netns pids "$NS_CAMPUS" 2>/dev/null); do
            comm=""
            { read -r comm <"/proc/$pid/comm"; } 2>/dev/null || true
            case $comm in nsd*|unbound|nginx) reap+=("$pid") ;; esac
        done
    fi
    # 1. our daemons, by pidfile (the pid the supervisor recorded, and the
    #    daemon's own pidfile); only if they really live in our namespace
    for svc in "${SERVICES[@]}"; do
        for f in "$STATE/$svc.run.pid" "$STATE/$svc.pid"; do
            [[ -r $f ]] || continue
            pid=""
            { read -r pid <"$f"; } 2>/dev/null || true
            if [[ -n $pid ]] && pid_in_ns "$pid" "$NS_CAMPUS"; then pids+=("$pid"); fi
        done
    done
    if ((${#pids[@]})); then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        wait_gone alive 50 "${pids[@]}" || true       # at most 5 s
        phase "down: daemons exited"
    fi
    # 2. anything still inside our namespaces (supervisors, exec-agent
    #    leftovers, daemons that ignored SIGTERM)
    for ns in "$NS_CAMPUS" "$NS_AGENT"; do
        ns_exists "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do rest+=("$pid"); done
    done
    if ((${#rest[@]})); then
        kill -TERM "${rest[@]}" 2>/dev/null || true
        wait_gone alive 20 "${rest[@]}" || true
        for pid in "${rest[@]}" "${pids[@]}"; do
            if pid_in_ns "$pid" "$NS_CAMPUS" || pid_in_ns "$pid" "$NS_AGENT"; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        done
        wait_gone alive 20 "${rest[@]}" || true
        phase "down: the rest exited"
    fi
    if ((${#reap[@]})); then
        wait_gone exists 30 "${reap[@]}" || true       # at most 3 s
        phase "down: reaped"
    fi
    for ns in "$NS_AGENT" "$NS_CAMPUS"; do
        if ns_exists "$ns"; then
            ip netns del "$ns" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
            ns_exists "$ns" && echo "campus.sh: warning: could not delete namespace $ns" >&2
        fi
    done
    if [[ -d $STATE && -e $STATE/$MARKER ]]; then
        rm -rf -- "$STATE"
    fi
    [[ $STATE == /run/edusight-testbed/* ]] && { rmdir /run/edusight-testbed 2>/dev/null || true; }
    return 0
}

# --- helpers for up ----------------------------------------------------------
# The daemon runs under a tiny bash supervisor in its own session.  The
# supervisor reaps the daemon the moment it exits (PID 1 here can take seconds
# to reap orphans), so after "down" no daemon is left even as a zombie.
SUPERVISOR='
    "$@" &
    child=$!
    echo "$child" >"$0"
    trap "kill -TERM $child 2>/dev/null" TERM INT HUP
    while kill -0 "$child" 2>/dev/null; do wait "$child"; done
'
start_daemon() {   # name cmd...   (runs in the campus namespace)
    local name=$1 i; shift
    rm -f "$STATE/$name.run.pid"
    (
        # do not leak the caller's descriptors (pipes of test harnesses) into daemons
        for fd in "/proc/$BASHPID/fd/"*; do
            fd=${fd##*/}
            [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)) && eval "exec $fd>&-" 2>/dev/null
        done
        exec setsid ip netns exec "$NS_CAMPUS" bash -c "$SUPERVISOR" "$STATE/$name.run.pid" "$@" \
            </dev/null >>"$STATE/$name.out" 2>&1
    ) &
    echo $! >"$STATE/$name.sup.pid"
    for ((i = 0; i < 50; i++)); do
        [[ -s $STATE/$name.run.pid ]] && return 0
        sleep 0.05
    done
    fail_up "$name" "$name was not started"
}

svc_alive() {
    local pid
    { read -r pid <"$STATE/$1.run.pid"; } 2>/dev/null || return 1
    alive "$pid"
}

show_logs() {   # svc
    local f
    echo "----- $1 logs (state dir $STATE) -----" >&2
    for f in "$STATE/$1.out" "$STATE/$1.log" "$STATE/$1-error.log"; do
        [[ -s $f ]] || continue
        echo "== $f" >&2
        tail -n 40 "$f" >&2
    done
    echo "-----" >&2
}

fail_up() {   # svc message
    echo "campus.sh up: $2" >&2
    [[ -n $1 ]] && show_logs "$1"
    if [[ ${EDUSIGHT_TESTBED_KEEP:-0} == 1 ]]; then
        echo "campus.sh up: EDUSIGHT_TESTBED_KEEP=1, leaving the test bed as it is" >&2
    else
        cmd_down
    fi
    exit 1
}

# --- configuration writers ---------------------------------------------------
write_zones() {
    mkdir -p "$STATE/zones"
    cat >"$STATE/zones/root.zone" <<'EOF'
; Fake root zone: every name outside the test zones gets NXDOMAIN locally.
$ORIGIN .
$TTL 86400
@   IN SOA ns1.demo-univ.edu.cn. hostmaster.demo-univ.edu.cn. 2024090101 1800 900 604800 300
@   IN NS  ns1.demo-univ.edu.cn.
EOF
    cat >"$STATE/zones/demo-univ.edu.cn.zone" <<'EOF'
$ORIGIN demo-univ.edu.cn.
$TTL 300
@       IN SOA  ns1 hostmaster 2024090101 3600 900 604800 300
@       IN NS   ns1
@       IN NS   ns2
@       IN MX   10 mail
@       IN MX   20 mx2
@       IN A    192.0.2.10
@       IN AAAA 2001:db8:10::10
@       IN TXT  "v=spf1 mx -all"
ns1     IN A    192.0.2.1
ns1     IN AAAA 2001:db8:1::1
ns2     IN A    192.0.2.2
ns2     IN AAAA 2001:db8:1::2
ns3     IN A    192.0.2.3
www     IN A    192.0.2.10
www     IN AAAA 2001:db8:10::10
oa      IN A    192.0.2.11
jwc     IN A    192.0.2.12
jwc     IN AAAA 2001:db8:10::12
news    IN A    192.0.2.13
news    IN AAAA 2001:db8:10::13
mapped  IN A    192.0.2.14
mapped  IN AAAA ::ffff:192.0.2.14
lib     IN A    192.0.2.15
lib     IN AAAA 2001:db8:10::15
old     IN A    192.0.2.16
slow    IN A    192.0.2.17
slow    IN AAAA 2001:db8:10::17
mail    IN A    192.0.2.25
mail    IN AAAA 2001:db8:10::25
mx2     IN A    192.0.2.26
EOF
    cat >"$STATE/zones/demo-univ.cn.zone" <<'EOF'
$ORIGIN demo-univ.cn.
$TTL 300
@       IN SOA  ns1.demo-univ.edu.cn. hostmaster.demo-univ.edu.cn. 2024090101 3600 900 604800 300
@       IN NS   ns1.demo-univ.edu.cn.
@       IN NS   ns3.demo-univ.edu.cn.
@       IN MX   10 mail.demo-univ.edu.cn.
www     IN CNAME www.demo-univ.edu.cn.
EOF
}

write_nsd_conf() {
    local a
    mkdir -p "$STATE/nsd-xfr"
    {
        echo "server:"
        for a in "${NSD4[@]}" "${NSD6[@]}"; do echo "    ip-address: $a"; done
        cat <<EOF
    port: 53
    do-ip4: yes
    do-ip6: yes
    server-count: 1
    reuseport: no
    username: ""
    chroot: ""
    zonesdir: "$STATE/zones"
    database: ""
    zonelistfile: "$STATE/nsd.zonelist"
    xfrdfile: "$STATE/nsd.xfrd.state"
    xfrdir: "$STATE/nsd-xfr"
    pidfile: "$STATE/nsd.pid"
    logfile: "$STATE/nsd.log"
    verbosity: 1
    hide-version: yes
    refuse-any: no

remote-control:
    control-enable: no

zone:
    name: "."
    zonefile: "root.zone"
    provide-xfr: 0.0.0.0/0 BLOCKED
    provide-xfr: ::0/0 BLOCKED

# Zone transfer is deliberately refused for the campus zones.
zone:
    name: "demo-univ.edu.cn"
    zonefile: "demo-univ.edu.cn.zone"
    provide-xfr: 0.0.0.0/0 BLOCKED
    provide-xfr: ::0/0 BLOCKED

zone:
    name: "demo-univ.cn"
    zonefile: "demo-univ.cn.zone"
    provide-xfr: 0.0.0.0/0 BLOCKED
    provide-xfr: ::0/0 BLOCKED
EOF
    } >"$STATE/nsd.conf"
}

write_unbound_conf() {
    cat >"$STATE/root.hints" <<'EOF'
; the only "root server" is nsd inside the test bed
.                       3600000  IN NS    ns1.demo-univ.edu.cn.
ns1.demo-univ.edu.cn.   3600000  IN A     192.0.2.1
ns1.demo-univ.edu.cn.   3600000  IN AAAA  2001:db8:1::1
EOF
    cat >"$STATE/unbound.conf" <<EOF
server:
    verbosity: 1
    interface: $RESOLVER4
    interface: $RESOLVER6
    port: 53
    outgoing-interface: $RESOLVER4
    outgoing-interface: $RESOLVER6
    do-ip4: yes
    do-ip6: yes
    do-udp: yes
    do-tcp: yes
    num-threads: 1
    so-reuseport: no
    outgoing-range: 64
    num-queries-per-thread: 32
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$STATE"
    pidfile: "$STATE/unbound.pid"
    use-syslog: no
    logfile: "$STATE/unbound.log"
    access-control: 0.0.0.0/0 refuse
    access-control: ::0/0 refuse
    access-control: 127.0.0.0/8 allow
    access-control: ::1 allow
    access-control: 192.0.2.0/24 allow
    access-control: 2001:db8::/32 allow
    root-hints: "$STATE/root.hints"
    do-not-query-localhost: no
    module-config: "iterator"
    qname-minimisation: no
    prefetch: no
    cache-max-negative-ttl: 60

remote-control:
    control-enable: no

stub-zone:
    name: "demo-univ.edu.cn"
    stub-addr: 192.0.2.1
    stub-addr: 192.0.2.2
    stub-addr: 2001:db8:1::1
    stub-addr: 2001:db8:1::2

stub-zone:
    name: "demo-univ.cn"
    stub-addr: 192.0.2.1
    stub-addr: 192.0.2.3
    stub-addr: 2001:db8:1::1
EOF
}

write_certs() {
    local d="$STATE/tls" h cn san pids=() pid rc=0
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/ca.key" -out "$STATE/ca.pem" -days 30 \
        -subj "/O=EduSight test bed/CN=EduSight Testbed CA ($NAME)" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >"$d/ca.out" 2>&1 \
        || { cat "$d/ca.out" >&2; echo "campus.sh up: openssl failed to create the CA" >&2; return 1; }
    # one ECDSA certificate per web host (SAN = the host name), signed in parallel
    for h in www demo-univ.edu.cn oa jwc news mapped lib old slow; do
        if [[ $h == *.* ]]; then cn=$h; else cn=$h.demo-univ.edu.cn; fi
        san="DNS:$cn"
        [[ $h == www ]] && san="$san,DNS:www.demo-univ.cn"
        openssl req -x509 -CA "$STATE/ca.pem" -CAkey "$d/ca.key" -days 30 -sha256 \
            -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -keyout "$d/$cn.key" -out "$d/$cn.pem" -subj "/CN=$cn" \
            -addext "basicConstraints=CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
            -addext "extendedKeyUsage=serverAuth" -addext "subjectAltName=$san" \
            >"$d/$cn.out" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
    if ((rc)); then
        cat "$d"/*.out >&2
        echo "campus.sh up: openssl failed to create a host certificate" >&2
        return 1
    fi
}

# nginx server block.  args: name root listens(space separated "addr") [extra directives]
ngx_server() {
    local host=$1 root=$2 addrs=$3 extra=${4:-} a
    echo "    server {"
    for a in $addrs; do
        echo "        listen $a:80;"
        echo "        listen $a:443 ssl;"
    done
    echo "        server_name $host;"
    echo "        ssl_certificate     \"$STATE/tls/${host%% *}.pem\";"
    echo "        ssl_certificate_key \"$STATE/tls/${host%% *}.key\";"
    [[ -n $root ]] && echo "        root \"$SITES/$root\";"
    [[ -n $extra ]] && printf '%s\n' "$extra"
    echo "    }"
}

write_nginx_conf() {
    local slow_mode=$1
    local t="$STATE/nginx-tmp"
    mkdir -p "$t"
    local slow6_extra=""
    if [[ $slow_mode == http ]]; then
        slow6_extra='        location / { echo_sleep 0.4; echo_exec @page; }
        location @page { try_files $uri $uri/index.html =404; }'
    fi
    local lib_extra='        sub_filter "@@NONCE@@" "$request_id";
        sub_filter_once off;'
    {
        [[ $slow_mode == http ]] && echo "load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;"
        cat <<EOF
user root;
worker_processes 1;
master_process on;
pid "$STATE/nginx.pid";
error_log "$STATE/nginx-error.log" notice;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type text/html;
    charset utf-8;
    server_tokens off;
    keepalive_timeout 5;
    log_format tb '\$server_addr:\$server_port \$remote_addr "\$host" "\$request" \$status \$body_bytes_sent';
    access_log "$STATE/nginx-access.log" tb;
    client_body_temp_path "$t/body";
    proxy_temp_path "$t/proxy";
    fastcgi_temp_path "$t/fastcgi";
    uwsgi_temp_path "$t/uwsgi";
    scgi_temp_path "$t/scgi";
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache off;
    index index.html;

EOF
        # www (default server on its addresses) and the apex redirect, dual stack
        ngx_server "www.demo-univ.edu.cn www.demo-univ.cn" www "192.0.2.10 [2001:db8:10::10]"
        ngx_server "demo-univ.edu.cn" "" "192.0.2.10 [2001:db8:10::10]" \
            '        return 301 $scheme://www.demo-univ.edu.cn$request_uri;'
        ngx_server "oa.demo-univ.edu.cn" oa "192.0.2.11"
        # jwc: AAAA is published but nothing listens on 2001:db8:10::12
        ngx_server "jwc.demo-univ.edu.cn" jwc "192.0.2.12"
        # news: IPv4 and IPv6 serve different sites
        ngx_server "news.demo-univ.edu.cn" news "192.0.2.13"
        ngx_server "news.demo-univ.edu.cn" news-v6 "[2001:db8:10::13]"
        ngx_server "mapped.demo-univ.edu.cn" mapped "192.0.2.14"
        ngx_server "lib.demo-univ.edu.cn" lib "192.0.2.15 [2001:db8:10::15]" "$lib_extra"
        ngx_server "old.demo-univ.edu.cn" old "192.0.2.16"
        ngx_server "slow.demo-univ.edu.cn" slow "192.0.2.17"
        ngx_server "slow.demo-univ.edu.cn" slow "[2001:db8:10::17]" "$slow6_extra"
        echo "}"
    } >"$STATE/nginx.conf"
}

# Delay IPv6 traffic from slow's address towards the agent by 400 ms.
setup_netem() {
    local tc=(ip netns exec "$NS_CAMPUS" tc) dev=$CAMPUS_LINK_IF
    # probe: does this kernel have sch_netem at all?
    "${tc[@]}" qdisc add dev "$dev" root handle 1: netem delay 1ms >/dev/null 2>&1 || return 1
    "${tc[@]}" qdisc del dev "$dev" root >/dev/null 2>&1 || true
    if "${tc[@]}" qdisc add dev "$dev" root handle 1: htb default 10 >/dev/null 2>&1 &&
       "${tc[@]}" class add dev "$dev" parent 1: classid 1:10 htb rate 1gbit >/dev/null 2>&1 &&
       "${tc[@]}" class add dev "$dev" parent 1: classid 1:20 htb rate 1gbit >/dev/null 2>&1 &&
       "${tc[@]}" qdisc add dev "$dev" parent 1:20 handle 20: netem delay 400ms >/dev/null 2>&1 &&
       "${tc[@]}" filter add dev "$dev" parent 1: protocol ipv6 prio 1 u32 \
            match ip6 src "$SLOW6/128" flowid 1:20 >/dev/null 2>&1; then
        return 0
    fi
    "${tc[@]}" qdisc del dev "$dev" root >/dev/null 2>&1 || true
    return 1
}

# --- readiness probes (run in the agent namespace, all addresses in parallel) --
all_ok() {   # pid... : every background job succeeded
    local pid rc=0
    for pid in "$@"; do wait "$pid" || rc=1; done
    return $rc
}
probe_nsd() {
    local a pids=()
    for a in "${NSD4[@]}" "${NSD6[@]}"; do
        { in_agent dig +norec +time=1 +tries=1 @"$a" demo-univ.edu.cn SOA 2>/dev/null \
            | grep -q 'status: NOERROR'; } &
        pids+=($!)
    done
    all_ok "${pids[@]}"
}
probe_unbound() {
    local a pids=()
    for a in "$RESOLVER4" "$RESOLVER6"; do
        { [[ $(in_agent dig +short +time=1 +tries=1 @"$a" www.demo-univ.edu.cn A 2>/dev/null) == 192.0.2.10 ]]; } &
        pids+=($!)
    done
    all_ok "${pids[@]}"
}
probe_nginx() {
    local a pids=()
    for a in 192.0.2.10 '[2001:db8:10::10]'; do
        { [[ $(in_agent curl -q -s -o /dev/null -w '%{http_code}' --noproxy '*' \
            --max-time 2 "http://$a/" 2>/dev/null) == 200 ]]; } &
        pids+=($!)
    done
    all_ok "${pids[@]}"
}

# wait (bounded by the deadline, in ms) until svc answers, or fail loudly
wait_ready() {   # svc deadline
    local svc=$1 deadline=$2
    while :; do
        svc_alive "$svc" || fail_up "$svc" "$svc exited during start-up"
        if "probe_$svc"; then
            phase "$svc answers"
            return 0
        fi
        (( $(now_ms) > deadline )) && fail_up "$svc" "$svc did not answer within 10 s"
        sleep 0.1
    done
}

# --- up ----------------------------------------------------------------------
cmd_up() {
    local t0 a
    t0=$(now_ms); T0=$t0
    for b in ip nsd unbound nginx openssl dig curl setsid; do
        command -v "$b" >/dev/null 2>&1 || die "missing program: $b"
    done
    [[ -d $SITES/www ]] || die "site content not found in $SITES"

    cmd_down
    mkdir -p "$STATE" || die "cannot create state dir $STATE"
    : >"$STATE/$MARKER"

    phase "down done"

    # namespaces; DAD and RAs off before any interface exists
    ip netns add "$NS_CAMPUS" || fail_up "" "cannot create namespace $NS_CAMPUS"
    ip netns add "$NS_AGENT" || fail_up "" "cannot create namespace $NS_AGENT"
    local sysctl_common="net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
        net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0"
    # shellcheck disable=SC2086
    ip netns exec "$NS_AGENT" sysctl -qw $sysctl_common >/dev/null \
        || fail_up "" "sysctl failed in $NS_AGENT"
    # shellcheck disable=SC2086
    ip netns exec "$NS_CAMPUS" sysctl -qw $sysctl_common \
        net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 >/dev/null \
        || fail_up "" "sysctl failed in $NS_CAMPUS"

    # server interface: a dummy if the kernel has it, else a bridge without ports
    if ip -n "$NS_CAMPUS" link add "$SRV_IF" type dummy 2>/dev/null; then
        SRV_KIND=dummy
    elif ip -n "$NS_CAMPUS" link add "$SRV_IF" type bridge 2>/dev/null; then
        SRV_KIND=bridge
    else
        fail_up "" "neither dummy nor bridge interfaces are available"
    fi
    {
        echo "link set lo up"
        echo "link set $SRV_IF addrgenmode none"
        echo "link set $SRV_IF up"
        for a in "${SERVER_ADDRS4[@]}"; do echo "addr add $a/32 dev $SRV_IF"; done
        for a in "${SERVER_ADDRS6[@]}"; do echo "addr add $a/128 dev $SRV_IF nodad"; done
        echo "link add $CAMPUS_LINK_IF type veth peer name $AGENT_LINK_IF netns $NS_AGENT"
        echo "addr add $CAMPUS_LINK4 dev $CAMPUS_LINK_IF"
        echo "addr add $CAMPUS_LINK6 dev $CAMPUS_LINK_IF nodad"
        echo "link set $CAMPUS_LINK_IF up"
    } >"$STATE/ip-campus.batch"
    {
        echo "link set lo up"
        echo "addr add $AGENT_LINK4 dev $AGENT_LINK_IF"
        echo "addr add $AGENT_LINK6 dev $AGENT_LINK_IF nodad"
        echo "link set $AGENT_LINK_IF up"
        echo "route add default via $GW4 dev $AGENT_LINK_IF"
        echo "route add default via $GW6 dev $AGENT_LINK_IF"
    } >"$STATE/ip-agent.batch"
    ip -n "$NS_CAMPUS" -batch "$STATE/ip-campus.batch" >"$STATE/ip.out" 2>&1 \
        || { cat "$STATE/ip.out" >&2; fail_up "" "network set-up of $NS_CAMPUS failed"; }
    ip -n "$NS_AGENT" -batch "$STATE/ip-agent.batch" >"$STATE/ip.out" 2>&1 \
        || { cat "$STATE/ip.out" >&2; fail_up "" "network set-up of $NS_AGENT failed"; }

    phase "network done"
    # slow IPv6 for slow.demo-univ.edu.cn
    local slow_mode=off want=${EDUSIGHT_TESTBED_SLOW:-auto}
    case $want in
        auto|netem|http|off) ;;
        *) fail_up "" "EDUSIGHT_TESTBED_SLOW must be auto, netem, http or off" ;;
    esac
    if [[ $want == auto || $want == netem ]] && setup_netem; then
        slow_mode=netem
    elif [[ $want == netem ]]; then
        fail_up "" "EDUSIGHT_TESTBED_SLOW=netem but netem is not available in this kernel"
    elif [[ $want == auto || $want == http ]] && [[ -r /usr/lib/nginx/modules/ngx_http_echo_module.so ]]; then
        slow_mode=http
    elif [[ $want == http ]]; then
        fail_up "" "EDUSIGHT_TESTBED_SLOW=http needs the nginx echo module"
    fi

    # configuration
    write_zones
    write_nsd_conf
    write_unbound_conf
    phase "zones written"
    write_certs || fail_up "" "certificate generation failed"
    phase "certs done"
    write_nginx_conf "$slow_mode"
    printf 'nameserver %s\nnameserver %s\noptions timeout:1 attempts:2\n' \
        "$RESOLVER4" "$RESOLVER6" >"$STATE/resolv.conf"

    nsd-checkconf "$STATE/nsd.conf" >"$STATE/nsd.out" 2>&1 || fail_up nsd "nsd.conf is invalid"
    for z in . demo-univ.edu.cn demo-univ.cn; do
        local zf=$z.zone
        [[ $z == . ]] && zf=root.zone
        nsd-checkzone "$z" "$STATE/zones/$zf" >>"$STATE/nsd.out" 2>&1 || fail_up nsd "zone $z is invalid"
    done
    unbound-checkconf "$STATE/unbound.conf" >"$STATE/unbound.out" 2>&1 || fail_up unbound "unbound.conf is invalid"
    in_campus nginx -q -t -p "$STATE" -e "$STATE/nginx-error.log" -c "$STATE/nginx.conf" \
        >"$STATE/nginx.out" 2>&1 || fail_up nginx "nginx.conf is invalid"

    phase "configs checked"
    # daemons.  unbound starts only once nsd answers, so that it never caches
    # a failure of a half-started nsd.
    local deadline=$(( $(now_ms) + 10000 ))
    start_daemon nsd nsd -d -c "$STATE/nsd.conf"
    start_daemon nginx nginx -p "$STATE" -e "$STATE/nginx-error.log" -c "$STATE/nginx.conf" -g "daemon off;"
    wait_ready nsd "$deadline"
    start_daemon unbound unbound -d -c "$STATE/unbound.conf"
    wait_ready unbound "$deadline"
    wait_ready nginx "$deadline"

    phase "all servers answer"
    local slow_v6=0
    [[ $slow_mode == netem || $slow_mode == http ]] && slow_v6=1
    cat >"$STATE/campus.env" <<EOF
# EduSight test bed "$NAME" (written by campus.sh up; shell-sourceable)
EDUSIGHT_TESTBED_NAME=$NAME
TESTBED_STATE_DIR=$STATE
NS_CAMPUS=$NS_CAMPUS
NS_AGENT=$NS_AGENT
RESOLVER_V4=$RESOLVER4
RESOLVER_V6=$RESOLVER6
RESOLVERS="$RESOLVER4 $RESOLVER6"
NSD_V4="${NSD4[*]}"
NSD_V6="${NSD6[*]}"
ROOT_SERVER=192.0.2.1
AGENT_V4=${AGENT_LINK4%/*}
AGENT_V6=${AGENT_LINK6%/*}
GATEWAY_V4=$GW4
GATEWAY_V6=$GW6
AGENT_IF=$AGENT_LINK_IF
SERVER_IF_KIND=$SRV_KIND
CA_PEM=$STATE/ca.pem
AGENT_RESOLV_CONF=$STATE/resolv.conf
AGENT_CONFIG=$HERE/demo-campus.yaml
SLOW_V6=$slow_v6
SLOW_V6_METHOD=$slow_mode
EOF

    local took=$(( $(now_ms) - t0 ))
    echo "edusight test bed '$NAME' up in ${took} ms: namespaces $NS_CAMPUS/$NS_AGENT, resolvers $RESOLVER4 $RESOLVER6, SLOW_V6=$slow_v6 ($slow_mode)"
    echo "state: $STATE (campus.env, ca.pem)"
}

# --- status ------------------------------------------------------------------
cmd_status() {
    local rc=0 svc pid ns
    for ns in "$NS_CAMPUS" "$NS_AGENT"; do
        if ns_exists "$ns"; then echo "namespace $ns: present"; else echo "namespace $ns: absent"; rc=1; fi
    done
    for svc in "${SERVICES[@]}"; do
        pid=$(cat "$STATE/$svc.run.pid" 2>/dev/null || true)
        if [[ -n $pid ]] && pid_in_ns "$pid" "$NS_CAMPUS"; then
            echo "$svc: running (pid $pid)"
        else
            echo "$svc: not running"; rc=1
        fi
    done
    if [[ -r $STATE/campus.env ]]; then
        echo "env: $STATE/campus.env ($(grep -E '^SLOW_V6=' "$STATE/campus.env"))"
    else
        echo "env: none"; rc=1
    fi
    return $rc
}

cmd_exec_agent() {
    (($#)) || die "usage: campus.sh exec-agent CMD..."
    ns_exists "$NS_AGENT" || die "namespace $NS_AGENT does not exist (run 'campus.sh up' first)"
    export EDUSIGHT_TESTBED_ENV="$STATE/campus.env"
    # "ip netns exec" runs in a private mount namespace: the bind mount of the
    # test bed's resolv.conf is invisible outside this command.
    if [[ -r $STATE/resolv.conf ]]; then
        exec ip netns exec "$NS_AGENT" /bin/sh -c \
            'mount --bind "$0" /etc/resolv.conf 2>/dev/null || true; exec "$@"' "$STATE/resolv.conf" "$@"
    fi
    exec ip netns exec "$NS_AGENT" "$@"
}

case ${1:-} in
    up) cmd_up ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env-file) echo "$STATE/campus.env" ;;
    exec-agent) shift; cmd_exec_agent "$@" ;;
    *) echo "usage: $0 up|down|status|env-file|exec-agent CMD..." >&2; exit 2 ;;
esac
