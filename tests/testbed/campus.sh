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
# the open resolver (recursion for anyone) and the "off-campus" name server
OPEN_RESOLVER4=192.0.2.54
OPEN_RESOLVER6=2001:db8:53::54
EXT_NS4=198.51.100.53
EXT_NS6=2001:db8:cafe::53

# Own prefixes: 192.0.2.0/24 and 2001:db8::/40.  Off-campus ("cloud", other
# organisations): 198.51.100.0/24, 203.0.113.0/24 and 2001:db8:cafe::/48.  The
# off-campus addresses live on srv0 too (a simulation: same veth, same nginx).
SERVER_ADDRS4=(192.0.2.1 192.0.2.2 192.0.2.3
               192.0.2.10 192.0.2.11 192.0.2.12 192.0.2.13 192.0.2.14
               192.0.2.15 192.0.2.16 192.0.2.17 192.0.2.25 192.0.2.26
               192.0.2.53
               192.0.2.30 192.0.2.31 192.0.2.32 192.0.2.33 192.0.2.35
               192.0.2.36 192.0.2.37 192.0.2.38 192.0.2.39 192.0.2.41
               192.0.2.42 192.0.2.54
               198.51.100.20 198.51.100.53 203.0.113.40 203.0.113.50)
SERVER_ADDRS6=(2001:db8:1::1 2001:db8:1::2
               2001:db8:10::10 2001:db8:10::12 2001:db8:10::13
               2001:db8:10::15 2001:db8:10::17 2001:db8:10::25
               2001:db8:53::53
               2001:db8:10::31 2001:db8:10::36 2001:db8:10::38 2001:db8:10::39
               2001:db8:53::54
               2001:db8:cafe::20 2001:db8:cafe::40 2001:db8:cafe::53)

SERVICES=(nsd unbound unbound-open nginx)

REV4_ZONE=2.0.192.in-addr.arpa
REV6_ZONE=0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa      # 2001:db8:10::/48
EXT_ZONES=(example-dns.net example-cloud.net partner-corp.com shifan-alumni.org
           example-news.com gone-saas.net)
# every zone nsd serves (file = $STATE/zones/<zone>.zone, the root: root.zone)
ALL_ZONES=(. demo-univ.edu.cn demo-univ.cn "$REV4_ZONE" "$REV6_ZONE" "${EXT_ZONES[@]}")

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
; --- discovery / exposure / TLS scenarios (see README.md)
cloud   IN CNAME demo-univ.cdn.example-cloud.net.
lab     IN A    192.0.2.31
lab     IN AAAA 2001:db8:10::31
survey  IN A    192.0.2.32
events  IN CNAME demo-events.gone-saas.net.
git     IN A    192.0.2.36
git     IN AAAA 2001:db8:10::36
cache   IN A    192.0.2.37
expired IN A    192.0.2.38
expired IN AAAA 2001:db8:10::38
mismatch IN A   192.0.2.39
mismatch IN AAAA 2001:db8:10::39
legacy  IN A    192.0.2.41
soon    IN A    192.0.2.42
EOF
    cat >"$STATE/zones/demo-univ.cn.zone" <<'EOF'
$ORIGIN demo-univ.cn.
$TTL 300
@       IN SOA  ns1.demo-univ.edu.cn. hostmaster.demo-univ.edu.cn. 2024090101 3600 900 604800 300
@       IN NS   ns1.demo-univ.edu.cn.
@       IN NS   ns3.demo-univ.edu.cn.
@       IN MX   10 mail.demo-univ.edu.cn.
www     IN CNAME www.demo-univ.edu.cn.
intra   IN A    192.0.2.33
*       IN A    192.0.2.35
EOF
    # off-campus zones, all served by "ns1.example-dns.net" (nsd on 198.51.100.53)
    local z
    for z in "${EXT_ZONES[@]}"; do
        cat >"$STATE/zones/$z.zone" <<EOF
\$ORIGIN $z.
\$TTL 300
@       IN SOA  ns1.example-dns.net. hostmaster.example-dns.net. 2024090101 3600 900 604800 300
@       IN NS   ns1.example-dns.net.
EOF
    done
    cat >>"$STATE/zones/example-dns.net.zone" <<EOF
ns1     IN A    $EXT_NS4
ns1     IN AAAA $EXT_NS6
EOF
    cat >>"$STATE/zones/example-cloud.net.zone" <<'EOF'
demo-univ.cdn IN A    198.51.100.20
demo-univ.cdn IN AAAA 2001:db8:cafe::20
EOF
    cat >>"$STATE/zones/partner-corp.com.zone" <<'EOF'
portal  IN A    192.0.2.30
EOF
    cat >>"$STATE/zones/shifan-alumni.org.zone" <<'EOF'
www     IN A    203.0.113.40
www     IN AAAA 2001:db8:cafe::40
EOF
    cat >>"$STATE/zones/example-news.com.zone" <<'EOF'
www     IN A    203.0.113.50
EOF
    # gone-saas.net: SOA and NS only (demo-events.gone-saas.net is NXDOMAIN)

    # reverse zones of the campus web hosts (no PTR for name servers, MX
    # hosts, resolvers or the wildcard parking address .35)
    cat >"$STATE/zones/2.0.192.in-addr.arpa.zone" <<'EOF'
$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@   IN SOA  ns1.demo-univ.edu.cn. hostmaster.demo-univ.edu.cn. 2024090101 3600 900 604800 300
@   IN NS   ns1.demo-univ.edu.cn.
@   IN NS   ns2.demo-univ.edu.cn.
10  IN PTR  www.demo-univ.edu.cn.
11  IN PTR  oa.demo-univ.edu.cn.
12  IN PTR  jwc.demo-univ.edu.cn.
13  IN PTR  news.demo-univ.edu.cn.
14  IN PTR  mapped.demo-univ.edu.cn.
15  IN PTR  lib.demo-univ.edu.cn.
16  IN PTR  old.demo-univ.edu.cn.
17  IN PTR  slow.demo-univ.edu.cn.
30  IN PTR  portal.partner-corp.com.
31  IN PTR  lab.demo-univ.edu.cn.
32  IN PTR  survey.demo-univ.edu.cn.
33  IN PTR  intra.demo-univ.cn.
36  IN PTR  git.demo-univ.edu.cn.
37  IN PTR  cache.demo-univ.edu.cn.
38  IN PTR  expired.demo-univ.edu.cn.
39  IN PTR  mismatch.demo-univ.edu.cn.
41  IN PTR  legacy.demo-univ.edu.cn.
42  IN PTR  soon.demo-univ.edu.cn.
EOF
    # 2001:db8:10::/48: PTR of 2001:db8:10::<iid> for the named addresses
    {
        cat <<'EOF'
$ORIGIN 0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa.
$TTL 300
@   IN SOA  ns1.demo-univ.edu.cn. hostmaster.demo-univ.edu.cn. 2024090101 3600 900 604800 300
@   IN NS   ns1.demo-univ.edu.cn.
@   IN NS   ns2.demo-univ.edu.cn.
EOF
        local pair
        for pair in 10:www 12:jwc 13:news 15:lib 17:slow 31:lab 36:git 38:expired 39:mismatch; do
            echo "$(rev6_rel "${pair%%:*}") IN PTR ${pair#*:}.demo-univ.edu.cn."
        done
    } >"$STATE/zones/$REV6_ZONE.zone"
}

# owner name of 2001:db8:10::<iid> relative to $REV6_ZONE (20 nibbles:
# the 4 of <iid> reversed, then 16 zeros)
rev6_rel() {
    local h out="" i
    h=$(printf '%04x' "0x$1")
    for ((i = 3; i >= 0; i--)); do out+="${h:i:1}."; done
    for ((i = 0; i < 16; i++)); do out+="0."; done
    echo "${out%.}"
}

write_nsd_conf() {
    local a z
    mkdir -p "$STATE/nsd-xfr"
    {
        echo "server:"
        for a in "${NSD4[@]}" "${NSD6[@]}" "$EXT_NS4" "$EXT_NS6"; do echo "    ip-address: $a"; done
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

# Zone transfer is refused for demo-univ.edu.cn (and every other zone) ...
zone:
    name: "demo-univ.edu.cn"
    zonefile: "demo-univ.edu.cn.zone"
    provide-xfr: 0.0.0.0/0 BLOCKED
    provide-xfr: ::0/0 BLOCKED

# ... but deliberately allowed to anyone for demo-univ.cn (dns.axfr_allowed)
zone:
    name: "demo-univ.cn"
    zonefile: "demo-univ.cn.zone"
    provide-xfr: 0.0.0.0/0 NOKEY
    provide-xfr: ::0/0 NOKEY
EOF
        for z in "$REV4_ZONE" "$REV6_ZONE" "${EXT_ZONES[@]}"; do
            printf '\nzone:\n    name: "%s"\n    zonefile: "%s.zone"\n' "$z" "$z"
            printf '    provide-xfr: 0.0.0.0/0 BLOCKED\n    provide-xfr: ::0/0 BLOCKED\n'
        done
    } >"$STATE/nsd.conf"
}

write_unbound_conf() {
    cat >"$STATE/root.hints" <<'EOF'
; the only "root server" is nsd inside the test bed
.                       3600000  IN NS    ns1.demo-univ.edu.cn.
ns1.demo-univ.edu.cn.   3600000  IN A     192.0.2.1
ns1.demo-univ.edu.cn.   3600000  IN AAAA  2001:db8:1::1
EOF
    # the campus resolver: own prefixes only
    unbound_conf unbound "$RESOLVER4" "$RESOLVER6" '
    access-control: 0.0.0.0/0 refuse
    access-control: ::0/0 refuse
    access-control: 127.0.0.0/8 allow
    access-control: ::1 allow
    access-control: 192.0.2.0/24 allow
    access-control: 2001:db8::/40 allow' >"$STATE/unbound.conf"
    # the misconfigured one: recursion for anyone (dns.open_resolver)
    unbound_conf unbound-open "$OPEN_RESOLVER4" "$OPEN_RESOLVER6" '
    access-control: 0.0.0.0/0 allow
    access-control: ::/0 allow' >"$STATE/unbound-open.conf"
}

unbound_conf() {   # name addr4 addr6 access-control-lines
    local name=$1 a4=$2 a6=$3 acl=$4 z
    cat <<EOF
server:
    verbosity: 1
    interface: $a4
    interface: $a6
    port: 53
    outgoing-interface: $a4
    outgoing-interface: $a6
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
    pidfile: "$STATE/$name.pid"
    use-syslog: no
    logfile: "$STATE/$name.log"$acl
    root-hints: "$STATE/root.hints"
    do-not-query-localhost: no
    module-config: "iterator"
    qname-minimisation: no
    prefetch: no
    cache-max-negative-ttl: 60
    # the reverse zones of the documentation prefixes are built-in
    # (NXDOMAIN) local zones of unbound; ours come from nsd
    local-zone: "$REV4_ZONE." nodefault
    local-zone: "8.b.d.0.1.0.0.2.ip6.arpa." nodefault

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
    for z in "$REV4_ZONE" "$REV6_ZONE"; do
        printf '\nstub-zone:\n    name: "%s"\n    stub-addr: 192.0.2.1\n    stub-addr: 192.0.2.2\n    stub-addr: 2001:db8:1::1\n    stub-addr: 2001:db8:1::2\n' "$z"
    done
    for z in "${EXT_ZONES[@]}"; do
        printf '\nstub-zone:\n    name: "%s"\n    stub-addr: %s\n    stub-addr: %s\n' "$z" "$EXT_NS4" "$EXT_NS6"
    done
}

# one ECDSA P-256 host certificate signed by the test CA.
# args: file-stem CN SAN days
host_cert() {
    local d="$STATE/tls" f=$1 cn=$2 san=$3 days=$4
    openssl req -x509 -CA "$STATE/ca.pem" -CAkey "$d/ca.key" -days "$days" -sha256 \
        -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/$f.key" -out "$d/$f.pem" -subj "/CN=$cn" \
        -addext "basicConstraints=CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
        -addext "extendedKeyUsage=serverAuth" -addext "subjectAltName=$san" \
        >"$d/$f.out" 2>&1
}

# A certificate that has already expired.  "openssl req -x509" / "x509" of
# OpenSSL 3.0 cannot set a notBefore/notAfter in the past, but "openssl ca"
# can (-startdate/-enddate), with a minimal CA configuration in the state dir.
expired_cert() {   # file-stem CN
    local d="$STATE/tls" f=$1 cn=$2 db="$STATE/tls/ca-db" start end
    mkdir -p "$db/new"
    : >"$db/index.txt"
    cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = testbed_ca
[ testbed_ca ]
dir             = $db
database        = $db/index.txt
new_certs_dir   = $db/new
certificate     = $STATE/ca.pem
private_key     = $d/ca.key
default_md      = sha256
policy          = policy_any
x509_extensions = host_ext
copy_extensions = copy
unique_subject  = no
rand_serial     = yes
[ policy_any ]
commonName      = supplied
[ host_ext ]
basicConstraints       = CA:FALSE
keyUsage               = critical,digitalSignature
extendedKeyUsage       = serverAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
EOF
    # valid from 40 days ago until 10 days ago (well under zombie.expired_certificate_days)
    start=$(date -u -d '40 days ago' +%Y%m%d%H%M%SZ)
    end=$(date -u -d '10 days ago' +%Y%m%d%H%M%SZ)
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/$f.key" -out "$d/$f.csr" -subj "/CN=$cn" \
        -addext "subjectAltName=DNS:$cn" >"$d/$f.out" 2>&1 &&
    openssl ca -batch -config "$d/ca.cnf" -notext -startdate "$start" -enddate "$end" \
        -in "$d/$f.csr" -out "$d/$f.pem" >>"$d/$f.out" 2>&1
}

write_certs() {
    local d="$STATE/tls" h cn san pids=() pid rc=0
    mkdir -p "$d"
    # 90 days: longer than the agent's exposure.tls_expiring_days (30), so
    # that only soon.demo-univ.edu.cn is "expiring"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$d/ca.key" -out "$STATE/ca.pem" -days 90 \
        -subj "/O=EduSight test bed/CN=EduSight Testbed CA ($NAME)" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >"$d/ca.out" 2>&1 \
        || { cat "$d/ca.out" >&2; echo "campus.sh up: openssl failed to create the CA" >&2; return 1; }
    # one certificate per web host (SAN = the host name), signed in parallel
    for h in www demo-univ.edu.cn oa jwc news mapped lib old slow \
             cloud lab survey git legacy portal.partner-corp.com www.shifan-alumni.org \
             intra.demo-univ.cn; do
        if [[ $h == *.* ]]; then cn=$h; else cn=$h.demo-univ.edu.cn; fi
        san="DNS:$cn"
        [[ $h == www ]] && san="$san,DNS:www.demo-univ.cn"
        [[ $h == cloud ]] && san="$san,DNS:demo-univ.cdn.example-cloud.net"
        host_cert "$cn" "$cn" "$san" 90 &
        pids+=($!)
    done
    # the TLS scenarios
    host_cert soon.demo-univ.edu.cn soon.demo-univ.edu.cn DNS:soon.demo-univ.edu.cn 10 &
    pids+=($!)
    host_cert mismatch.demo-univ.edu.cn other.example.org DNS:other.example.org 90 &
    pids+=($!)
    expired_cert expired.demo-univ.edu.cn expired.demo-univ.edu.cn &
    pids+=($!)
    for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
    if ((rc)); then
        cat "$d"/*.out >&2
        echo "campus.sh up: openssl failed to create a host certificate" >&2
        return 1
    fi
}

# nginx server block.  args: name root listens(space separated "addr")
#   [extra directives] [ports (default "80 443"; 443 and 8443 are TLS)]
#   [certificate file stem (default: the first name)]
ngx_server() {
    local host=$1 root=$2 addrs=$3 extra=${4:-} ports=${5:-80 443} cert=${6:-${1%% *}} a p tls=0
    echo "    server {"
    for a in $addrs; do
        for p in $ports; do
            case $p in
                443|8443) echo "        listen $a:$p ssl;"; tls=1 ;;
                *) echo "        listen $a:$p;" ;;
            esac
        done
    done
    echo "        server_name $host;"
    if ((tls)); then
        echo "        ssl_certificate     \"$STATE/tls/$cert.pem\";"
        echo "        ssl_certificate_key \"$STATE/tls/$cert.key\";"
    fi
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

        # --- discovery scenarios
        # own name on an off-campus (cloud) address: asset.non_own_ip
        ngx_server "cloud.demo-univ.edu.cn demo-univ.cdn.example-cloud.net" cloud \
            "198.51.100.20 [2001:db8:cafe::20]"
        # other organisation's name on a campus address: asset.non_own_domain
        ngx_server "portal.partner-corp.com" portal "192.0.2.30"
        # off-campus, non-own name, tied to the unit (name + link from www): 双非
        ngx_server "www.shifan-alumni.org" alumni "203.0.113.40 [2001:db8:cafe::40]"
        # off-campus, non-own, no tie at all: not 双非
        ngx_server "www.example-news.com" example-news "203.0.113.50" "" "80"
        # live, not in the registry
        ngx_server "lab.demo-univ.edu.cn" lab "192.0.2.31 [2001:db8:10::31]"
        # registered, but only nginx's stock page: zombie
        ngx_server "survey.demo-univ.edu.cn" survey "192.0.2.32"
        # only in the AXFR of demo-univ.cn (and the PTR of .33)
        ngx_server "intra.demo-univ.cn" intra "192.0.2.33"
        # *.demo-univ.cn: parking page for any name
        ngx_server "_" parking "192.0.2.35" "" "80"

        # --- exposure scenarios
        # 80/443 on both families, 8443 on IPv6 only
        ngx_server "git.demo-univ.edu.cn" git "192.0.2.36 [2001:db8:10::36]"
        ngx_server "git.demo-univ.edu.cn" git-admin "[2001:db8:10::36]" "" "8443"
        # "Redis" on 6379 (an HTTP server is enough to make the port open), no web
        ngx_server "cache.demo-univ.edu.cn" "" "192.0.2.37" '        return 200 "-ERR wrong protocol\n";' "6379"
        # the mail exchanger answers on 25 (an HTTP server is enough to make the port open),
        # so the registered mail system is alive, not a zombie
        ngx_server "mail.demo-univ.edu.cn" "" "192.0.2.25 [2001:db8:10::25]" '        return 200 "220 mail.demo-univ.edu.cn ESMTP\n";' "25"

        # --- TLS scenarios
        ngx_server "expired.demo-univ.edu.cn" expired "192.0.2.38 [2001:db8:10::38]"
        ngx_server "mismatch.demo-univ.edu.cn" mismatch "192.0.2.39 [2001:db8:10::39]"
        ngx_server "legacy.demo-univ.edu.cn" legacy "192.0.2.41" \
            '        ssl_protocols TLSv1 TLSv1.1 TLSv1.2;
        ssl_ciphers DEFAULT@SECLEVEL=0;'
        ngx_server "soon.demo-univ.edu.cn" soon "192.0.2.42"
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
probe_unbound_open() {
    local a pids=()
    for a in "$OPEN_RESOLVER4" "$OPEN_RESOLVER6"; do
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
        if "probe_${svc//-/_}"; then
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
    # the zones in parallel (one process each)
    local z zf zpids=() i
    for z in "${ALL_ZONES[@]}"; do
        zf=$z.zone
        [[ $z == . ]] && zf=root.zone
        nsd-checkzone "$z" "$STATE/zones/$zf" >"$STATE/zones/$zf.check" 2>&1 &
        zpids+=($!)
    done
    for ((i = 0; i < ${#zpids[@]}; i++)); do
        if ! wait "${zpids[i]}"; then
            z=${ALL_ZONES[i]}; zf=$z.zone; [[ $z == . ]] && zf=root.zone
            cat "$STATE/zones/$zf.check" >>"$STATE/nsd.out"
            fail_up nsd "zone $z is invalid"
        fi
    done
    unbound-checkconf "$STATE/unbound.conf" >"$STATE/unbound.out" 2>&1 || fail_up unbound "unbound.conf is invalid"
    unbound-checkconf "$STATE/unbound-open.conf" >"$STATE/unbound-open.out" 2>&1 \
        || fail_up unbound-open "unbound-open.conf is invalid"
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
    start_daemon unbound-open unbound -d -c "$STATE/unbound-open.conf"
    wait_ready unbound "$deadline"
    wait_ready unbound-open "$deadline"
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
OPEN_RESOLVER4=$OPEN_RESOLVER4
OPEN_RESOLVER6=$OPEN_RESOLVER6
EXT_NS_V4=$EXT_NS4
EXT_NS_V6=$EXT_NS6
OWN_PREFIXES="192.0.2.0/24 2001:db8::/40"
OFFCAMPUS_PREFIXES="198.51.100.0/24 203.0.113.0/24 2001:db8:cafe::/48"
REGISTRY_CSV=$HERE/registry.csv
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
