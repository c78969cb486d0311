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
# zone transfers: refused for demo-univ.edu.cn (and every other zone), but
# allowed to anyone for demo-univ.cn (dns.axfr_allowed)
for s in 192.0.2.1 2001:db8:1::2 192.0.2.3; do
    for z in demo-univ.edu.cn 2.0.192.in-addr.arpa; do
        out=$(in_agent dig "@$s" +time=2 +tries=1 "$z" AXFR 2>&1)
        grep -q '^; Transfer failed' <<<"$out" || fail "AXFR of $z from $s was not refused: $(head -c 300 <<<"$out")"
        ok "AXFR $z @$s refused"
    done
    out=$(in_agent dig "@$s" +time=2 +tries=1 +nocmd +nostats demo-univ.cn AXFR 2>&1)
    got=$(awk '!/^;/ && NF >= 5 { r = $5; for (i = 6; i <= NF; i++) r = r " " $i; print $1, $4, r }' <<<"$out" \
        | grep -v ' SOA ' | LC_ALL=C sort | paste -sd';' -)
    want="*.demo-univ.cn. A 192.0.2.35;demo-univ.cn. MX 10 mail.demo-univ.edu.cn.;demo-univ.cn. NS ns1.demo-univ.edu.cn.;demo-univ.cn. NS ns3.demo-univ.edu.cn.;intra.demo-univ.cn. A 192.0.2.33;www.demo-univ.cn. CNAME www.demo-univ.edu.cn."
    [[ $got == "$want" ]] || fail "AXFR of demo-univ.cn from $s: expected '$want', got '$got' ($(head -c 300 <<<"$out"))"
    [[ $(awk '!/^;/ && $4 == "SOA"' <<<"$out" | wc -l) == 2 ]] || fail "AXFR of demo-univ.cn from $s: no SOA at both ends"
    ok "AXFR demo-univ.cn @$s allowed (intra + wildcard visible)"
done
for s in "$EXT_NS_V4" "$EXT_NS_V6"; do
    for z in partner-corp.com example-cloud.net; do
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

# --- discovery / DNS hygiene scenarios ----------------------------------------
NEW_EDU_TABLE="
cloud.$D CNAME demo-univ.cdn.example-cloud.net.
cloud.$D A 198.51.100.20
cloud.$D AAAA 2001:db8:cafe::20
lab.$D A 192.0.2.31
lab.$D AAAA 2001:db8:10::31
survey.$D A 192.0.2.32
survey.$D AAAA -
library-old.$D A NXDOMAIN
events.$D CNAME demo-events.gone-saas.net.
events.$D A NXDOMAIN
git.$D A 192.0.2.36
git.$D AAAA 2001:db8:10::36
cache.$D A 192.0.2.37
cache.$D AAAA -
expired.$D A 192.0.2.38
expired.$D AAAA 2001:db8:10::38
mismatch.$D A 192.0.2.39
mismatch.$D AAAA 2001:db8:10::39
legacy.$D A 192.0.2.41
legacy.$D AAAA -
soon.$D A 192.0.2.42
soon.$D AAAA -
"
NEW_CN_TABLE="
intra.demo-univ.cn A 192.0.2.33
intra.demo-univ.cn AAAA -
parked-check.demo-univ.cn A 192.0.2.35
parked-check.demo-univ.cn AAAA -
a.b.demo-univ.cn A 192.0.2.35
"
R6=0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa
REV_TABLE="
2.0.192.in-addr.arpa NS ns1.$D.;ns2.$D.
10.2.0.192.in-addr.arpa PTR www.$D.
11.2.0.192.in-addr.arpa PTR oa.$D.
12.2.0.192.in-addr.arpa PTR jwc.$D.
13.2.0.192.in-addr.arpa PTR news.$D.
14.2.0.192.in-addr.arpa PTR mapped.$D.
15.2.0.192.in-addr.arpa PTR lib.$D.
16.2.0.192.in-addr.arpa PTR old.$D.
17.2.0.192.in-addr.arpa PTR slow.$D.
30.2.0.192.in-addr.arpa PTR portal.partner-corp.com.
31.2.0.192.in-addr.arpa PTR lab.$D.
32.2.0.192.in-addr.arpa PTR survey.$D.
33.2.0.192.in-addr.arpa PTR intra.demo-univ.cn.
35.2.0.192.in-addr.arpa PTR NXDOMAIN
36.2.0.192.in-addr.arpa PTR git.$D.
37.2.0.192.in-addr.arpa PTR cache.$D.
38.2.0.192.in-addr.arpa PTR expired.$D.
39.2.0.192.in-addr.arpa PTR mismatch.$D.
41.2.0.192.in-addr.arpa PTR legacy.$D.
42.2.0.192.in-addr.arpa PTR soon.$D.
1.2.0.192.in-addr.arpa PTR NXDOMAIN
0.1.0.0.8.b.d.0.1.0.0.2.ip6.arpa NS ns1.$D.;ns2.$D.
0.1.0.0.$R6 PTR www.$D.
2.1.0.0.$R6 PTR jwc.$D.
3.1.0.0.$R6 PTR news.$D.
5.1.0.0.$R6 PTR lib.$D.
7.1.0.0.$R6 PTR slow.$D.
1.3.0.0.$R6 PTR lab.$D.
6.3.0.0.$R6 PTR git.$D.
8.3.0.0.$R6 PTR expired.$D.
9.3.0.0.$R6 PTR mismatch.$D.
5.2.0.0.$R6 PTR NXDOMAIN
"
EXT_TABLE="
ns1.example-dns.net A $EXT_NS_V4
ns1.example-dns.net AAAA $EXT_NS_V6
example-cloud.net NS ns1.example-dns.net.
demo-univ.cdn.example-cloud.net A 198.51.100.20
demo-univ.cdn.example-cloud.net AAAA 2001:db8:cafe::20
partner-corp.com NS ns1.example-dns.net.
portal.partner-corp.com A 192.0.2.30
portal.partner-corp.com AAAA -
www.shifan-alumni.org A 203.0.113.40
www.shifan-alumni.org AAAA 2001:db8:cafe::40
www.example-news.com A 203.0.113.50
www.example-news.com AAAA -
gone-saas.net NS ns1.example-dns.net.
demo-events.gone-saas.net A NXDOMAIN
demo-events.gone-saas.net CNAME NXDOMAIN
"
# authoritative: campus and reverse zones on the campus name servers, the
# off-campus zones on ns1.example-dns.net
for s in 192.0.2.1 2001:db8:1::2; do
    check_table "$s" norec "$NEW_EDU_TABLE$NEW_CN_TABLE$REV_TABLE"
done
for s in "$EXT_NS_V4" "$EXT_NS_V6"; do
    check_table "$s" norec "$EXT_TABLE"
done
# recursive: the campus resolver and the open resolver give the same answers
for s in $RESOLVERS "$OPEN_RESOLVER4" "$OPEN_RESOLVER6"; do
    check_table "$s" rec "$NEW_EDU_TABLE$NEW_CN_TABLE$REV_TABLE$EXT_TABLE"
done
for s in "$OPEN_RESOLVER4" "$OPEN_RESOLVER6"; do
    check_table "$s" rec "$EDU_TABLE$CN_TABLE
www.example.com A NXDOMAIN
"
done
# open resolver: recursion for an off-campus client too, while the campus
# resolver refuses it (asked from the off-campus addresses of the campus
# namespace: the agent namespace only has own addresses)
in_campus() { ip netns exec "$NS_CAMPUS" "$@"; }
for pair in "203.0.113.50 $OPEN_RESOLVER4 NOERROR" "2001:db8:cafe::40 $OPEN_RESOLVER6 NOERROR" \
            "203.0.113.50 $RESOLVER_V4 REFUSED" "2001:db8:cafe::40 $RESOLVER_V6 REFUSED"; do
    read -r src srv want <<<"$pair"
    out=$(in_campus dig -b "$src" "@$srv" +time=2 +tries=1 www.demo-univ.edu.cn A 2>&1)
    grep -q "status: $want" <<<"$out" || fail "@$srv from off-campus $src: expected $want: $(head -c 300 <<<"$out")"
    if [[ $want == NOERROR ]]; then
        if ! grep -q 'flags:[a-z ]* ra' <<<"$out" || ! grep -q $'IN\tA\t192.0.2.10' <<<"$out"; then
            fail "@$srv from off-campus $src: no recursive answer: $(head -c 300 <<<"$out")"
        fi
    fi
    ok "@$srv from off-campus $src: $want"
done

# ----------------------------------------------------------------------------
# Web
# ----------------------------------------------------------------------------
declare -A V4=([www]=192.0.2.10 [apex]=192.0.2.10 [oa]=192.0.2.11 [jwc]=192.0.2.12 [news]=192.0.2.13
               [mapped]=192.0.2.14 [lib]=192.0.2.15 [old]=192.0.2.16 [slow]=192.0.2.17
               [cloud]=198.51.100.20 [portal.partner-corp.com]=192.0.2.30
               [www.shifan-alumni.org]=203.0.113.40 [www.example-news.com]=203.0.113.50
               [lab]=192.0.2.31 [survey]=192.0.2.32 [intra.demo-univ.cn]=192.0.2.33
               [parked-check.demo-univ.cn]=192.0.2.35 [git]=192.0.2.36 [cache]=192.0.2.37
               [expired]=192.0.2.38 [mismatch]=192.0.2.39 [legacy]=192.0.2.41 [soon]=192.0.2.42)
declare -A V6=([www]=2001:db8:10::10 [apex]=2001:db8:10::10 [jwc]=2001:db8:10::12 [news]=2001:db8:10::13
               [mapped]=::ffff:192.0.2.14 [lib]=2001:db8:10::15 [slow]=2001:db8:10::17
               [cloud]=2001:db8:cafe::20 [www.shifan-alumni.org]=2001:db8:cafe::40
               [lab]=2001:db8:10::31 [git]=2001:db8:10::36 [expired]=2001:db8:10::38
               [mismatch]=2001:db8:10::39)

# fetch FAMILY URL [extra curl args] -> sets HTTP_RC (curl exit), HTTP_CODE, HTTP_TIME,
# HTTP_BODY (file), HTTP_LOCATION
N=0
fetch() {
    local fam=$1 url=$2; shift 2
    local hostport host port short addr
    hostport=${url#*://}; hostport=${hostport%%/*}
    host=${hostport%%:*}
    case $url in https://*) port=443 ;; *) port=80 ;; esac
    [[ $hostport == *:* ]] && port=${hostport##*:}
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

hrefs() { grep -o 'href="[^"]*"' "$1" | sed 's/^href="//; s/"$//' | LC_ALL=C sort | paste -sd' ' -; }

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

want_home="/about/ /admissions/ /news/ http://lib.demo-univ.edu.cn/ http://oa.demo-univ.edu.cn/ http://www.example-news.com/ http://www.example.com/ http://www.shifan-alumni.org/ https://www.demo-univ.edu.cn/ mailto:webmaster@demo-univ.edu.cn"
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
# Discovery, exposure and TLS scenarios
# ----------------------------------------------------------------------------
# same page on both families and (if $3) both schemes; $2 = grep pattern
expect_dual() {   # host pattern [schemes]
    local host=$1 pat=$2 schemes=${3:-http https} scheme fam first=""
    for scheme in $schemes; do
        for fam in 4 6; do
            expect_page "$fam" "$scheme://$host/" 200 "$pat"
            if [[ -z $first ]]; then first=$TMP/dual.$N; cp "$HTTP_BODY" "$first"
            else same_body "$first" "$HTTP_BODY" "$scheme://$host/ IPv$fam"; fi
        done
    done
    [[ -z $(hrefs "$first") ]] || fail "$host: page should have no links, has '$(hrefs "$first")'"
}

# port_state ADDR PORT -> "open" or "closed" (connection refused = RST)
port_state() {
    local err
    # shellcheck disable=SC2016  # expanded by the inner bash
    err=$(in_agent timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>&1) && { echo open; return; }
    if [[ $err == *refused* ]]; then echo closed; else echo "other: $err"; fi
}
expect_port() {   # ADDR PORT open|closed
    local got
    got=$(port_state "$1" "$2")
    [[ $got == "$3" ]] || fail "TCP $1 port $2: expected $3, got $got"
    ok "TCP $1 port $2 $3"
}

# the certificate a TLS server presents (PEM on stdout)
server_cert() {   # ADDR(v6 in []) PORT SNI
    in_agent timeout 5 openssl s_client -connect "$1:$2" -servername "$3" </dev/null 2>/dev/null \
        | sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p'
}
# does the server accept a handshake with exactly this protocol version?
tls_accepts() {   # ADDR SNI tls1|tls1_1|tls1_2|tls1_3
    local out
    out=$(in_agent timeout 5 openssl s_client "-$3" -cipher DEFAULT@SECLEVEL=0 \
        -connect "$1:443" -servername "$2" </dev/null 2>&1)
    grep -q 'Cipher is (NONE)' <<<"$out" && return 1
    grep -Eq "^ *Protocol *: $4\$" <<<"$out"
}

# --- category 1: own name, off-campus address (CNAME to a CDN)
expect_dual cloud.demo-univ.edu.cn '<title>示范大学在线课堂 Demo University Cloud Classroom</title>'
# --- category 2: other organisation's name on a campus address (IPv4 only)
for scheme in http https; do
    expect_page 4 "$scheme://portal.partner-corp.com/" 200 '<title>Partner Corp Portal</title>'
done
grep -Eqi '示范|demo' "$HTTP_BODY" && fail "portal page must not mention the university"
# --- category 3 (双非, tied: unit name in the title, linked from www)
expect_dual www.shifan-alumni.org '<title>示范大学校友会 Demo University Alumni Association</title>'
# --- off-campus, no tie at all
expect_page 4 http://www.example-news.com/ 200 '<title>Example News'
grep -Eqi '示范|demo|univ|大学' "$HTTP_BODY" && fail "example-news page must not mention the university"
[[ -z $(hrefs "$HTTP_BODY") ]] || fail "example-news page should have no links"
expect_port 203.0.113.50 443 closed
# --- live own host that is not in the registry
expect_dual lab.demo-univ.edu.cn '示范大学智能计算实验室'
# --- registered zombie: nginx's stock page
for scheme in http https; do
    expect_page 4 "$scheme://survey.demo-univ.edu.cn/" 200 '<title>Welcome to nginx!</title>'
done
# --- only in the AXFR of demo-univ.cn (and PTR)
for scheme in http https; do
    expect_page 4 "$scheme://intra.demo-univ.cn/" 200 '示范大学内部通知'
done
# --- wildcard: any other name under demo-univ.cn gets the parking page
expect_page 4 http://parked-check.demo-univ.cn/ 200 'This domain is parked'
expect_port 192.0.2.35 443 closed

# --- git: 80/443 on both families, 8443 on IPv6 only
expect_dual git.demo-univ.edu.cn '示范大学代码托管平台'
expect_page 6 https://git.demo-univ.edu.cn:8443/ 200 '管理后台'
expect_refused 4 https://git.demo-univ.edu.cn:8443/
expect_port '2001:db8:10::36' 8443 open
expect_port 192.0.2.36 8443 closed
# --- cache: 6379 open, no web
expect_port 192.0.2.37 6379 open
expect_port 192.0.2.37 80 closed
expect_port 192.0.2.37 443 closed

# --- TLS
now=$(date +%s)
cert_end() { local e; e=$(openssl x509 -noout -enddate <<<"$1" | sed 's/^notAfter=//'); date -d "$e" +%s; }
# expired: chain is fine, notAfter in the past (10 days ago), both families
for addr in 192.0.2.38 '[2001:db8:10::38]'; do
    pem=$(server_cert "$addr" 443 expired.demo-univ.edu.cn)
    [[ -n $pem ]] || fail "expired $addr: no certificate"
    openssl x509 -noout -checkend 0 <<<"$pem" >/dev/null && fail "expired $addr: certificate has not expired"
    end=$(cert_end "$pem")
    (( end < now - 5 * 86400 && end > now - 30 * 86400 )) || fail "expired $addr: notAfter $(date -ud "@$end") not ~10 days ago"
    openssl x509 -noout -checkhost expired.demo-univ.edu.cn <<<"$pem" | grep -q ' does match' \
        || fail "expired $addr: certificate is not for expired.demo-univ.edu.cn"
    openssl verify -CAfile "$CA_PEM" -no_check_time <(echo "$pem") >/dev/null 2>&1 \
        || fail "expired $addr: not signed by the test CA"
    ok "expired $addr: certificate expired on $(date -ud "@$end" +%F)"
done
for fam in 4 6; do
    fetch "$fam" https://expired.demo-univ.edu.cn/
    [[ $HTTP_RC == 60 ]] || fail "IPv$fam https://expired...: expected curl 60 (certificate), got $HTTP_RC"
    expect_page "$fam" http://expired.demo-univ.edu.cn/ 200 '示范大学财务处'
    fetch "$fam" https://expired.demo-univ.edu.cn/ -k
    [[ $HTTP_RC == 0 && $HTTP_CODE == 200 ]] || fail "IPv$fam https://expired... -k: curl $HTTP_RC HTTP $HTTP_CODE"
    ok "IPv$fam expired: verification fails, page is served"
done
# mismatch: valid, test CA, but only other.example.org
for addr in 192.0.2.39 '[2001:db8:10::39]'; do
    pem=$(server_cert "$addr" 443 mismatch.demo-univ.edu.cn)
    san=$(openssl x509 -noout -ext subjectAltName <<<"$pem" | sed -n 's/^ *//; 2p')
    [[ $san == DNS:other.example.org ]] || fail "mismatch $addr: SAN '$san'"
    openssl x509 -noout -checkhost mismatch.demo-univ.edu.cn <<<"$pem" | grep -q 'does NOT match' \
        || fail "mismatch $addr: certificate matches mismatch.demo-univ.edu.cn"
    openssl verify -CAfile "$CA_PEM" <(echo "$pem") >/dev/null 2>&1 || fail "mismatch $addr: does not verify"
    ok "mismatch $addr: certificate only for other.example.org"
done
for fam in 4 6; do
    fetch "$fam" https://mismatch.demo-univ.edu.cn/
    [[ $HTTP_RC == 60 ]] || fail "IPv$fam https://mismatch...: expected curl 60 (name), got $HTTP_RC"
    expect_page "$fam" http://mismatch.demo-univ.edu.cn/ 200 '示范大学人事处'
    fetch "$fam" https://mismatch.demo-univ.edu.cn/ -k
    [[ $HTTP_RC == 0 && $HTTP_CODE == 200 ]] || fail "IPv$fam https://mismatch... -k: curl $HTTP_RC HTTP $HTTP_CODE"
    ok "IPv$fam mismatch: verification fails, page is served"
done
# soon: valid, expires in 10 days (< exposure.tls_expiring_days = 30)
expect_page 4 https://soon.demo-univ.edu.cn/ 200 '示范大学学生工作部'
expect_page 4 http://soon.demo-univ.edu.cn/ 200 '示范大学学生工作部'
pem=$(server_cert 192.0.2.42 443 soon.demo-univ.edu.cn)
end=$(cert_end "$pem")
(( end > now + 9 * 86400 && end < now + 11 * 86400 )) || fail "soon: notAfter $(date -ud "@$end") not in ~10 days"
ok "soon: certificate expires on $(date -ud "@$end" +%F)"
# every other certificate is valid for > 30 days (no tls.cert_expiring)
for pair in 192.0.2.10:www.demo-univ.edu.cn '[2001:db8:10::36]:git.demo-univ.edu.cn' 192.0.2.41:legacy.demo-univ.edu.cn; do
    pem=$(server_cert "${pair%:*}" 443 "${pair##*:}")
    openssl x509 -noout -checkend $((60 * 86400)) <<<"$pem" >/dev/null || fail "${pair##*:}: certificate expires within 60 days"
done
ok "ordinary certificates valid for > 60 days"
# legacy: accepts TLS 1.0 and 1.1 (and 1.2); www does not
expect_page 4 https://legacy.demo-univ.edu.cn/ 200 '示范大学研究生院'
expect_page 4 http://legacy.demo-univ.edu.cn/ 200 '示范大学研究生院'
for v in "tls1 TLSv1" "tls1_1 TLSv1.1" "tls1_2 TLSv1.2"; do
    read -r opt name <<<"$v"
    tls_accepts 192.0.2.41 legacy.demo-univ.edu.cn "$opt" "$name" || fail "legacy: $name handshake failed"
    ok "legacy accepts $name"
done
tls_accepts 192.0.2.41 legacy.demo-univ.edu.cn tls1_3 TLSv1.3 && fail "legacy: TLSv1.3 should not be offered"
for addr in 192.0.2.10 '[2001:db8:10::10]'; do
    for v in "tls1 TLSv1" "tls1_1 TLSv1.1"; do
        read -r opt name <<<"$v"
        tls_accepts "$addr" www.demo-univ.edu.cn "$opt" "$name" && fail "www $addr accepts $name"
        ok "www $addr refuses $name"
    done
done

# --- the registry (UTF-8 with BOM; an extra column "level")
REG=$HERE/registry.csv
[[ $(head -c 3 "$REG" | od -An -tx1 | tr -d ' ') == efbbbf ]] || fail "registry.csv: no UTF-8 BOM"
out=$(python3 - "$REG" <<'PY'
import csv, sys
with open(sys.argv[1], encoding="utf-8-sig", newline="") as f:
    rows = list(csv.reader(f))
assert rows[0] == ["domain", "name", "owner_unit", "admin", "registered_ip", "level"], rows[0]
assert all(len(r) == 6 for r in rows), "ragged rows"
print(" ".join(sorted(r[0].split(".")[0] for r in rows[1:])))
PY
) || fail "registry.csv: $out"
want="cloud expired git jwc legacy lib library-old mail mapped mismatch news oa old slow soon survey www"
[[ $out == "$want" ]] || fail "registry.csv: hosts '$out', expected '$want'"
ok "registry.csv: BOM, header, 17 systems (not lab, cache, events, intra)"

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
