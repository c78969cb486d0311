#!/usr/bin/env bash
# Self-test of the EduSight demonstration campus (run after "campus.sh up").
# Every probe runs inside the agent namespace.  Exits non-zero with a clear
# message on the first mismatch; prints one summary line on success.
#
#   EDUSIGHT_TESTBED_NAME=esd tests/testbed/check.sh [-v]

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERBOSE=0
[[ ${1:-} == -v ]] && VERBOSE=1

ENV_FILE=$("$HERE/campus.sh" env-file) || exit 2
if [[ ! -r $ENV_FILE ]]; then
    echo "check.sh: FAIL: $ENV_FILE not found - is the test bed up? (campus.sh up)" >&2
    exit 1
fi
# shellcheck disable=SC1090
. "$ENV_FILE"

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
CHECKS=0

fail() { echo "check.sh: FAIL: $*" >&2; exit 1; }
ok() { CHECKS=$((CHECKS + 1)); ((VERBOSE)) && echo "ok  $*"; return 0; }
in_agent() { ip netns exec "$NS_AGENT" "$@"; }

for ns in "$NS_CAMPUS" "$NS_AGENT"; do
    ip netns list | awk '{print $1}' | grep -qx -- "$ns" || fail "namespace $ns does not exist"
done

# ----------------------------------------------------------------------------
# DNS
# ----------------------------------------------------------------------------
# dns_batch SERVER MODE "name type"... : one dig process for many queries; fills
#   Q_STATUS[name type], Q_FLAGS[name type], Q_ANSWER[name type]
# (answer: rdata of the records of the queried type, sorted (C locale), ";"-joined)
declare -A Q_STATUS Q_FLAGS Q_ANSWER
dns_batch() {
    local server=$1 mode=$2; shift 2
    local rec=+rec q qa args=() out key kind rest
    [[ $mode == norec ]] && rec=+norec
    for q in "$@"; do read -r -a qa <<<"$q"; args+=("${qa[@]}"); done
    Q_STATUS=() Q_FLAGS=() Q_ANSWER=()
    out=$(in_agent dig "@$server" "$rec" +time=2 +tries=2 +noall +comments +question +answer "${args[@]}" 2>&1) \
        || fail "dig @$server failed: $(head -c 500 <<<"$out")"
    while IFS=$'\t' read -r kind key rest; do
        case $kind in
            S) Q_STATUS[$key]=$rest ;;
            F) Q_FLAGS[$key]=$rest ;;
            A) Q_ANSWER[$key]+="${Q_ANSWER[$key]:+;}$rest" ;;
        esac
    done < <(awk '
        /^;; ->>HEADER<<-/ { match($0, /status: [A-Z]+/); st = substr($0, RSTART + 8, RLENGTH - 8); next }
        /^;; flags:/        { fl = $0; sub(/^;; flags: */, "", fl); sub(/;.*/, "", fl); next }
        /^;[^; ]/           { n = substr($1, 2); sub(/\.$/, "", n); if (n == "") n = ".";
                              qt = $NF; key = tolower(n) " " qt;
                              printf "S\t%s\t%s\nF\t%s\t%s\n", key, st, key, fl; next }
        /^[^;]/ && NF >= 5 && $4 == qt { r = $5; for (i = 6; i <= NF; i++) r = r " " $i;
                              printf "A\t%s\t%s\n", key, r }
    ' <<<"$out" | LC_ALL=C sort -t$'\t' -k1,1 -k2,2 -k3,3)
}

# check_table SERVER MODE TABLE   (lines "name type expected"; expected "a;b" sorted,
#   "-" = NODATA, "NXDOMAIN")
check_table() {
    local server=$1 mode=$2 table=$3 name type want key got qs=()
    while read -r name type want; do
        [[ -n $name ]] && qs+=("$name $type")
    done <<<"$table"
    dns_batch "$server" "$mode" "${qs[@]}"
    while read -r name type want; do
        [[ -n $name ]] || continue
        key="${name,,} $type"
        [[ -n ${Q_STATUS[$key]:-} ]] || fail "@$server $name $type: no response"
        got=${Q_ANSWER[$key]:-}
        if [[ $want == NXDOMAIN ]]; then
            [[ ${Q_STATUS[$key]} == NXDOMAIN ]] || fail "@$server $name $type: expected NXDOMAIN, got ${Q_STATUS[$key]} '$got'"
        else
            [[ $want == - ]] && want=""
            [[ ${Q_STATUS[$key]} == NOERROR ]] || fail "@$server $name $type: expected NOERROR, got ${Q_STATUS[$key]}"
            [[ $got == "$want" ]] || fail "@$server $name $type: expected '${want:-NODATA}', got '${got:-NODATA}'"
        fi
        if [[ $mode == norec ]]; then
            [[ " ${Q_FLAGS[$key]} " == *" aa "* ]] || fail "@$server $name $type: answer not authoritative (flags: ${Q_FLAGS[$key]})"
        else
            [[ " ${Q_FLAGS[$key]} " == *" ra "* ]] || fail "@$server $name $type: recursion not available (flags: ${Q_FLAGS[$key]})"
        fi
        ok "@$server $name $type = ${want:-NODATA}"
    done <<<"$table"
}

D=demo-univ.edu.cn
# name type expected   (the answers of demo-univ.edu.cn, from any server)
EDU_TABLE="
$D A 192.0.2.10
$D AAAA 2001:db8:10::10
$D NS ns1.$D.;ns2.$D.
$D MX 10 mail.$D.;20 mx2.$D.
ns1.$D A 192.0.2.1
ns1.$D AAAA 2001:db8:1::1
ns2.$D A 192.0.2.2
ns2.$D AAAA 2001:db8:1::2
ns3.$D A 192.0.2.3
ns3.$D AAAA -
www.$D A 192.0.2.10
www.$D AAAA 2001:db8:10::10
oa.$D A 192.0.2.11
oa.$D AAAA -
jwc.$D A 192.0.2.12
jwc.$D AAAA 2001:db8:10::12
news.$D A 192.0.2.13
news.$D AAAA 2001:db8:10::13
mapped.$D A 192.0.2.14
mapped.$D AAAA ::ffff:192.0.2.14
lib.$D A 192.0.2.15
lib.$D AAAA 2001:db8:10::15
old.$D A 192.0.2.16
old.$D AAAA -
slow.$D A 192.0.2.17
slow.$D AAAA 2001:db8:10::17
mail.$D A 192.0.2.25
mail.$D AAAA 2001:db8:10::25
mx2.$D A 192.0.2.26
mx2.$D AAAA -
no-such-host.$D A NXDOMAIN
"
CN_TABLE="
demo-univ.cn NS ns1.$D.;ns3.$D.
demo-univ.cn MX 10 mail.$D.
demo-univ.cn A -
www.demo-univ.cn CNAME www.$D.
"

# authoritative: both campus zones on every nsd address
for s in $NSD_V4 $NSD_V6; do
    check_table "$s" norec "$EDU_TABLE$CN_TABLE"
done
# fake root on 192.0.2.1 / 2001:db8:1::1 (the root hints): NXDOMAIN for everything else
for s in 192.0.2.1 2001:db8:1::1; do
    check_table "$s" norec "
. NS ns1.$D.
www.example.com A NXDOMAIN
www.edu.cn AAAA NXDOMAIN
"
done
# no zone transfers
for s in 192.0.2.1 2001:db8:1::2 192.0.2.3; do
    for z in demo-univ.edu.cn demo-univ.cn; do
        out=$(in_agent dig "@$s" +time=2 +tries=1 "$z" AXFR 2>&1)
        grep -q '^; Transfer failed' <<<"$out" || fail "AXFR of $z from $s was not refused: $(head -c 300 <<<"$out")"
        ok "AXFR $z @$s refused"
    done
done

# recursive: everything through unbound, over IPv4 and IPv6
for s in $RESOLVERS; do
    check_table "$s" rec "$EDU_TABLE$CN_TABLE
www.demo-univ.cn A 192.0.2.10
www.demo-univ.cn AAAA 2001:db8:10::10
www.example.com A NXDOMAIN
www.edu.cn AAAA NXDOMAIN
"
done

# ----------------------------------------------------------------------------
# Web
# ----------------------------------------------------------------------------
declare -A V4=([www]=192.0.2.10 [apex]=192.0.2.10 [oa]=192.0.2.11 [jwc]=192.0.2.12 [news]=192.0.2.13
               [mapped]=192.0.2.14 [lib]=192.0.2.15 [old]=192.0.2.16 [slow]=192.0.2.17)
declare -A V6=([www]=2001:db8:10::10 [apex]=2001:db8:10::10 [jwc]=2001:db8:10::12 [news]=2001:db8:10::13
               [mapped]=::ffff:192.0.2.14 [lib]=2001:db8:10::15 [slow]=2001:db8:10::17)

# fetch FAMILY URL [extra curl args] -> sets HTTP_RC (curl exit), HTTP_CODE, HTTP_TIME,
# HTTP_BODY (file), HTTP_LOCATION
N=0
fetch() {
    local fam=$1 url=$2; shift 2
    local hostport host port short addr
    hostport=${url#*://}; hostport=${hostport%%/*}
    host=${hostport%%:*}
    case $url in https://*) port=443 ;; *) port=80 ;; esac
    short=${host%.demo-univ.edu.cn}
    [[ $host == demo-univ.edu.cn ]] && short=apex
    [[ $host == www.demo-univ.cn ]] && short=www
    if [[ $fam == 4 ]]; then addr=${V4[$short]:-}; else addr=${V6[$short]:-}; fi
    [[ -n $addr ]] || fail "internal: no IPv$fam address for $host"
    [[ $fam == 6 ]] && addr="[$addr]"
    N=$((N + 1))
    HTTP_BODY=$TMP/body.$N
    local out
    out=$(in_agent curl -q -sS --noproxy '*' --connect-timeout 2 --max-time 5 \
        --cacert "$CA_PEM" --resolve "$host:$port:$addr" -o "$HTTP_BODY" \
        -w '%{http_code} %{time_total} %{redirect_url}' "$@" "$url" 2>"$TMP/err.$N")
    HTTP_RC=$?
    read -r HTTP_CODE HTTP_TIME HTTP_LOCATION <<<"$out"
}

expect_page() {   # FAMILY URL CODE [grep-pattern]
    local fam=$1 url=$2 code=$3 pat=${4:-}
    fetch "$fam" "$url"
    [[ $HTTP_RC == 0 ]] || fail "IPv$fam $url: curl failed ($HTTP_RC): $(cat "$TMP/err.$N")"
    [[ $HTTP_CODE == "$code" ]] || fail "IPv$fam $url: expected HTTP $code, got $HTTP_CODE"
    if [[ -n $pat ]]; then
        grep -q -- "$pat" "$HTTP_BODY" || fail "IPv$fam $url: body does not contain '$pat'"
    fi
    ok "IPv$fam $url -> $code"
}

expect_refused() {   # FAMILY URL
    fetch "$1" "$2"
    [[ $HTTP_RC == 7 ]] || fail "IPv$1 $2: expected 'connection refused' (curl 7), got curl $HTTP_RC HTTP $HTTP_CODE"
    ok "IPv$1 $2 refused"
}

same_body() {   # file file what
    cmp -s "$1" "$2" || fail "$3: content differs"
}

hrefs() { grep -o 'href="[^"]*"' "$1" | sed 's/^href="//; s/"$//' | sort | paste -sd' ' -; }

# --- www: home page, both families, both schemes, same content
expect_page 4 http://www.demo-univ.edu.cn/ 200 '<title>示范大学 Demo University</title>'
HOME=$TMP/home.html
cp "$HTTP_BODY" "$HOME"
for fam in 4 6; do
    for scheme in http https; do
        expect_page "$fam" "$scheme://www.demo-univ.edu.cn/" 200
        same_body "$HOME" "$HTTP_BODY" "IPv$fam $scheme://www.demo-univ.edu.cn/ vs IPv4 http"
    done
    for tls in "--tlsv1.2 --tls-max 1.2" "--tlsv1.3"; do
        # shellcheck disable=SC2086
        fetch "$fam" https://www.demo-univ.edu.cn/ $tls
        [[ $HTTP_RC == 0 && $HTTP_CODE == 200 ]] || fail "IPv$fam https with $tls: curl $HTTP_RC HTTP $HTTP_CODE $(cat "$TMP/err.$N")"
        ok "IPv$fam https www with $tls"
    done
    expect_page "$fam" https://www.demo-univ.cn/ 200 '示范大学'
    fetch "$fam" http://demo-univ.edu.cn/about/
    [[ $HTTP_CODE == 301 && $HTTP_LOCATION == http://www.demo-univ.edu.cn/about/ ]] \
        || fail "IPv$fam http://demo-univ.edu.cn/about/: expected 301 to www, got $HTTP_CODE $HTTP_LOCATION"
    ok "IPv$fam apex redirects to www"
done

want_home="/about/ /admissions/ /news/ http://lib.demo-univ.edu.cn/ http://oa.demo-univ.edu.cn/ http://www.example.com/ https://www.demo-univ.edu.cn/ mailto:webmaster@demo-univ.edu.cn"
[[ $(hrefs "$HOME") == "$want_home" ]] || fail "home page links: got '$(hrefs "$HOME")'"
ok "home page links"

# level 2 pages on www and their links (level 3)
declare -A L2=(
    [/about/]="/about/campus/ /about/history/ /about/leadership/ http://old.demo-univ.edu.cn/about/archive.html"
    [/news/]="/news/2024/0901.html /news/2024/1015.html /news/events/ http://old.demo-univ.edu.cn/news/archive/"
    [/admissions/]="/admissions/graduate/ /admissions/international/ /admissions/undergraduate/ http://old.demo-univ.edu.cn/admissions/2019/"
)
for p in /about/ /news/ /admissions/; do
    expect_page 4 "http://www.demo-univ.edu.cn$p" 200
    cp "$HTTP_BODY" "$TMP/l2"
    [[ $(hrefs "$TMP/l2") == "${L2[$p]}" ]] || fail "links of $p: got '$(hrefs "$TMP/l2")'"
    expect_page 6 "http://www.demo-univ.edu.cn$p" 200
    same_body "$TMP/l2" "$HTTP_BODY" "www$p IPv4 vs IPv6"
    for l in ${L2[$p]}; do
        if [[ $l == http://old.* ]]; then
            expect_page 4 "$l" 200 '旧版网站'
        else
            expect_page 4 "http://www.demo-univ.edu.cn$l" 200
            cp "$HTTP_BODY" "$TMP/l3"
            [[ -z $(hrefs "$TMP/l3") ]] || fail "level-3 page $l should have no links"
            expect_page 6 "http://www.demo-univ.edu.cn$l" 200
            same_body "$TMP/l3" "$HTTP_BODY" "www$l IPv4 vs IPv6"
        fi
    done
done
ok "www link structure"

# --- oa: IPv4 only
expect_page 4 http://oa.demo-univ.edu.cn/ 200 '办公自动化'
expect_page 4 https://oa.demo-univ.edu.cn/ 200 '办公自动化'
[[ -z $(hrefs "$HTTP_BODY") ]] || fail "oa page should have no links"

# --- jwc: AAAA published, nothing listens on IPv6
for scheme in http https; do
    expect_page 4 "$scheme://jwc.demo-univ.edu.cn/" 200 '教务处'
    expect_refused 6 "$scheme://jwc.demo-univ.edu.cn/"
done

# --- news: IPv6 serves a different page
for scheme in http https; do
    expect_page 4 "$scheme://news.demo-univ.edu.cn/" 200 '示范大学新闻网'
    cp "$HTTP_BODY" "$TMP/news4"
    expect_page 6 "$scheme://news.demo-univ.edu.cn/" 200 'under construction'
    cmp -s "$TMP/news4" "$HTTP_BODY" && fail "news: IPv4 and IPv6 pages should differ"
    ok "news $scheme: IPv4 and IPv6 differ"
done

# --- mapped: IPv4 only; the mapped AAAA reaches the IPv4 server
expect_page 4 http://mapped.demo-univ.edu.cn/ 200 '校友会'
expect_page 4 https://mapped.demo-univ.edu.cn/ 200 '校友会'
expect_page 6 http://mapped.demo-univ.edu.cn/ 200 '校友会'

# --- lib: dual stack, same content except a per-request token
tok() { sed -n 's/.*name="csrf_token" value="\([0-9a-f]*\)".*/\1/p' "$1" | head -n1; }
norm() { sed 's/name="csrf_token" value="[0-9a-f]*"/name="csrf_token" value=""/' "$1"; }
for path in / /catalog/ /hours/; do
    expect_page 4 "http://lib.demo-univ.edu.cn$path" 200 '图书馆'
    cp "$HTTP_BODY" "$TMP/lib4"
    expect_page 6 "http://lib.demo-univ.edu.cn$path" 200 '图书馆'
    t4=$(tok "$TMP/lib4"); t6=$(tok "$HTTP_BODY")
    [[ ${#t4} == 32 && ${#t6} == 32 && $t4 != "$t6" ]] || fail "lib $path: expected two different 32-hex tokens, got '$t4' '$t6'"
    [[ $(norm "$TMP/lib4") == "$(norm "$HTTP_BODY")" ]] || fail "lib $path: pages differ beyond the token"
    ok "lib $path: same content, different tokens"
done
expect_page 6 https://lib.demo-univ.edu.cn/ 200 '图书馆'
[[ $(hrefs "$HTTP_BODY") == "/catalog/ /hours/" ]] || fail "lib home links: got '$(hrefs "$HTTP_BODY")'"

# --- old: IPv4 only legacy site
expect_page 4 http://old.demo-univ.edu.cn/ 200 '旧版网站'
expect_page 4 https://old.demo-univ.edu.cn/about/archive.html 200 '校史档案'

# --- slow: same content, IPv6 delayed when SLOW_V6=1
expect_page 4 http://slow.demo-univ.edu.cn/ 200 '网络课程平台'
cp "$HTTP_BODY" "$TMP/slow4"; t4=$HTTP_TIME
expect_page 6 http://slow.demo-univ.edu.cn/ 200 '网络课程平台'
same_body "$TMP/slow4" "$HTTP_BODY" "slow IPv4 vs IPv6"
t6=$HTTP_TIME
if [[ ${SLOW_V6:-0} == 1 ]]; then
    awk -v a="$t4" -v b="$t6" 'BEGIN { exit !(a < 0.2 && b >= 0.35) }' \
        || fail "slow: expected IPv4 < 0.2 s and IPv6 >= 0.35 s, got $t4 s / $t6 s"
    ok "slow: IPv4 ${t4}s, IPv6 ${t6}s"
fi

# ----------------------------------------------------------------------------
# Agent namespace plumbing
# ----------------------------------------------------------------------------
out=$("$HERE/campus.sh" exec-agent curl -q -sS --noproxy '*' --max-time 5 -6 -o /dev/null \
    -w '%{http_code} %{remote_ip}' http://www.demo-univ.edu.cn/ 2>&1)
[[ $out == "200 2001:db8:10::10" ]] || fail "exec-agent: system resolver / IPv6 default route: got '$out'"
ok "exec-agent resolves through the test bed resolver"
[[ -z $(ip -n "$NS_CAMPUS" route show default) && -z $(ip -n "$NS_CAMPUS" -6 route show default) ]] \
    || fail "campus namespace must not have a default route"
ok "campus namespace has no default route"

echo "check.sh: all $CHECKS checks passed (test bed '$EDUSIGHT_TESTBED_NAME', SLOW_V6=${SLOW_V6:-0})"
