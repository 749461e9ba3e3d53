#!/bin/sh
# The CA's JSON API with curl: a card certificate issued over HTTP has
# the fields openssl shows (subject, SAN, validity to the 5th birthday on
# the virtual clock, chain); the clock moves by POST /v1/clock and the
# status follows it (expired); bad requests get a 4xx whose JSON names
# the field; 64 clients at once are all answered; SIGTERM with clients
# connected exits 0.
set -u
bin=$1 src=$2
. "$src/tests/interop/lib/ca.sh"
ca_enter

# ---- the command line
"$bin" serve ca --help >"$tmp/help.out" 2>&1
check "serve ca --help: exit 0, usage" sh -c "[ $? = 0 ] && grep -q -- '--listen \\[HOST:\\]PORT' '$tmp/help.out'"
check "serve ca --help: says it is a simulator for test benches" grep -q 'for test benches, not a service' "$tmp/help.out"
"$bin" serve ca --listen : >/dev/null 2>"$tmp/err.out"
check "serve ca --listen with no port: exit 2, says so" sh -c "[ $? = 2 ] && grep -q 'takes \\[HOST:\\]PORT' '$tmp/err.out'"
"$bin" serve ca --listen 127.0.0.1:0 --time tomorrow >/dev/null 2>&1
check "serve ca --time tomorrow: exit 2" [ $? = 2 ]
"$bin" serve ca --listen 127.0.0.1:0 --fixtures "$tmp/none" >/dev/null 2>"$tmp/err.out"
check "serve ca with no fixtures: exit 1, names the file" sh -c "[ $? = 1 ] && grep -q 'pool-01.pem' '$tmp/err.out'"

start_ca --time 20260105000000Z --seed 3
"$bin" serve ca --listen "127.0.0.1:${B##*:}" >/dev/null 2>"$tmp/err.out"
check "serve ca on a port in use: exit 1, says why" sh -c "[ $? = 1 ] && grep -qi 'in use' '$tmp/err.out'"

# ---- a card sign certificate for a new holder, over HTTP
dan='"holder":"dan","purpose":"sign","birth":"19900310","name":"Dan","sex":"1","address":"Kyoto","pref":"Kyoto-fu","city":"Kyoto-shi"'
api POST /v1/card-certs "{$dan,\"spki\":\"$(spki 30)\"}" >"$tmp/dan.json"
check "card certificate: 201" [ "$code" = 201 ]
jget der <"$tmp/dan.json" | b64der_to_pem >"$tmp/dan.pem"
check "card certificate: chains to the fixture root" \
	sh -c "openssl verify -attime 1767571200 -CAfile '$FX/pki/ca-chain.pem' '$tmp/dan.pem' >/dev/null"
subj=$(openssl x509 -in "$tmp/dan.pem" -noout -subject -nameopt RFC2253)
check "card certificate: subject C, L, L, CN ($subj)" has "$subj" '^subject=CN=[0-9A-F]\{20\},L=Kyoto-shi,L=Kyoto-fu,C=JP$'
check "card certificate: notAfter the 5th birthday, 14:59:59Z" \
	[ "$(openssl x509 -in "$tmp/dan.pem" -noout -enddate)" = "notAfter=Mar 10 14:59:59 2030 GMT" ]
san=$(openssl x509 -in "$tmp/dan.pem" -noout -ext subjectAltName)
check "card certificate: SAN name" has "$san" "1.2.392.200149.8.5.5.1::Dan"
check "card certificate: SAN birth" has "$san" "1.2.392.200149.8.5.5.4::19900310"
check "card certificate: SAN address alt" has "$san" "1.2.392.200149.8.5.5.6::Kyoto"
check "card certificate: OCSP and CRL locations are this server's" \
	sh -c "openssl x509 -in '$tmp/dan.pem' -noout -ocsp_uri | grep -qx '$B/ocsp'"
dan_serial=$(jget serial <"$tmp/dan.json")
curl -fsS "$B/v1/certs/$dan_serial/der" -o "$tmp/dan.der"
check "GET /v1/certs/SERIAL/der: the same certificate" \
	[ "$(openssl x509 -inform DER -in "$tmp/dan.der")" = "$(cat "$tmp/dan.pem")" ]
api GET "/v1/holders/dan/certs" >/dev/null
check "list by holder" grep -q "\"serial\":\"$dan_serial\"" "$tmp/api.body"

# ---- the virtual clock
api POST /v1/clock '{"now":"20300310150000Z"}' >/dev/null
check "clock set: 200" [ "$code" = 200 ]
api GET "/v1/certs/$dan_serial" >/dev/null
check "past notAfter on the virtual clock: expired" grep -q '"status":"expired"' "$tmp/api.body"
api POST "/v1/certs/$dan_serial/hold" >/dev/null
check "hold an expired certificate: 409 naming serial" \
	sh -c "[ '$code' = 409 ] && grep -q '\"field\":\"serial\"' '$tmp/api.body'"
api POST /v1/clock '{"now":"20260105000000Z"}' >/dev/null

# ---- bad requests: 4xx, JSON, the field named
# bad METHOD PATH BODY STATUS FIELD
bad() {
	if [ -n "$3" ]; then api "$1" "$2" "$3" >/dev/null; else api "$1" "$2" >/dev/null; fi
	check "$1 $2 $3 -> $4 naming $5 (got $code: $(cat "$tmp/api.body"))" \
		sh -c "[ '$code' = '$4' ] && grep -q '\"field\":\"$5\"' '$tmp/api.body'"
}
sp=$(spki 31)
bad POST /v1/card-certs 'not json' 400 body
bad POST /v1/card-certs '[1]' 400 body
bad POST /v1/card-certs '{"purpose":"auth"}' 400 holder
bad POST /v1/card-certs "{\"holder\":\"x\",\"purpose\":\"both\",\"spki\":\"$sp\",\"birth\":\"19900101\"}" 400 purpose
bad POST /v1/card-certs "{\"holder\":\"x\",\"purpose\":\"auth\",\"spki\":\"$sp\",\"birth\":\"19901301\"}" 400 birth
bad POST /v1/card-certs "{\"holder\":\"x\",\"purpose\":\"auth\",\"spki\":\"!!\",\"birth\":\"19900101\"}" 400 spki
bad POST /v1/card-certs "{\"holder\":\"x\",\"purpose\":\"auth\",\"spki\":\"AAAA\",\"birth\":\"19900101\"}" 400 spki
bad POST /v1/card-certs "{\"holder\":\"x\",\"purpose\":\"auth\",\"spki\":\"$sp\",\"birth\":19900101}" 400 birth
bad POST /v1/card-certs "{\"holder\":\"x\",\"purpose\":\"auth\",\"spki\":\"$sp\",\"birth\":\"19900101\",\"colour\":1}" 400 colour
bad POST /v1/card-certs "{\"holder\":\"x\",\"purpose\":\"sign\",\"spki\":\"$sp\",\"birth\":\"19900101\",\"name\":\"X\",\"sex\":\"1\"}" 400 address
bad POST /v1/card-certs "{\"holder\":\"x\",\"purpose\":\"auth\",\"spki\":\"$sp\",\"birth\":\"19900101\",\"renews\":\"0700FFFF\"}" 404 renews
bad POST /v1/card-certs "{\"holder\":\"kid\",\"purpose\":\"sign\",\"spki\":\"$sp\",\"birth\":\"20130630\",\"name\":\"K\",\"sex\":\"2\",\"address\":\"A\"}" 422 birth
bad POST /v1/phone-certs '{"card_serial":"0700A002","purpose":"auth"}' 400 spki
bad POST /v1/phone-certs "{\"card_serial\":\"zz\",\"purpose\":\"auth\",\"spki\":\"$sp\",\"nonce\":\"AAAAAAAAAAA=\",\"signature\":\"AA==\"}" 400 card_serial
bad POST /v1/phone-certs "{\"card_serial\":\"0700A002\",\"purpose\":\"auth\",\"spki\":\"$sp\",\"nonce\":\"AA==\",\"signature\":\"AA==\"}" 400 nonce
bad POST /v1/phone-certs "{\"card_serial\":\"0700A002\",\"purpose\":\"auth\",\"spki\":\"$sp\",\"nonce\":\"AAAAAAAAAAA=\",\"signature\":\"AA==\"}" 403 signature
bad POST /v1/phone-certs "{\"card_serial\":\"0700A001\",\"purpose\":\"auth\",\"spki\":\"$sp\",\"nonce\":\"AAAAAAAAAAA=\",\"signature\":\"AA==\"}" 422 card_serial
bad POST /v1/phone-certs "{\"card_serial\":\"0700FFFF\",\"purpose\":\"auth\",\"spki\":\"$sp\",\"nonce\":\"AAAAAAAAAAA=\",\"signature\":\"AA==\"}" 404 card_serial
bad POST /v1/card-certs/import '{"holder":"x","der":"AAAA"}' 400 der
bad POST /v1/card-certs/import "{\"holder\":\"bob\",\"der\":\"$(b64 <"$FX/pki/alice-auth.der")\"}" 409 der
bad POST /v1/card-certs/import "{\"holder\":\"x\",\"der\":\"$(b64 <"$FX/pki/root.der")\"}" 422 der
bad POST /v1/certs/0700A001/revoke '{"reason":"bored"}' 400 reason
bad POST /v1/certs/0700A001/revoke '{"reason":6}' 400 reason
bad POST /v1/certs/0700A001/revoke '{"why":1}' 400 why
bad POST /v1/certs/0700FFFF/revoke '' 404 serial
bad POST /v1/certs/nothex/hold '' 400 serial
bad POST /v1/certs/0700A001/hold '{"x":1}' 400 x
api POST /v1/certs/0700A002/hold >/dev/null
check "hold with no body: 200" [ "$code" = 200 ]
bad POST /v1/certs/0700A002/lift '' 422 serial
bad GET /v1/certs/0700FFFF '' 404 serial
bad GET /v1/linkage/0700FFFF '' 404 serial
bad POST /v1/clock '{"now":"yesterday"}' 400 now
bad POST /v1/clock '{"advance":"1"}' 400 advance
bad POST /v1/clock '{}' 400 now
bad DELETE /v1/certs/0700A001 '' 405 method
bad GET /v2/anything '' 404 path
bad GET /crl/root.crl '' 404 path
code=$(curl -sS -o "$tmp/api.body" -w '%{http_code}' -H 'Content-Type: text/plain' --data-binary x "$B/ocsp")
check "POST /ocsp with the wrong content type: 415 naming content-type" \
	sh -c "[ '$code' = 415 ] && grep -q '\"field\":\"content-type\"' '$tmp/api.body'"
head -c 2000000 /dev/zero | tr '\0' ' ' >"$tmp/big"
code=$(curl -sS -o "$tmp/api.body" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "@$tmp/big" "$B/v1/card-certs")
check "a 2 MB body: 413 naming body" sh -c "[ '$code' = 413 ] && grep -q '\"field\":\"body\"' '$tmp/api.body'"
code=$(curl -sS -o "$tmp/api.body" -w '%{http_code}' -H 'Content-Type: application/ocsp-request' --data-binary x "$B/ocsp")
check "junk OCSP request: 200 with an OCSP malformedRequest" \
	sh -c "[ '$code' = 200 ] && openssl ocsp -respin '$tmp/api.body' -resp_text -noverify 2>&1 | grep -q 'malformedrequest'"

# ---- 64 clients at once: status, OCSP, CRL, all answered
openssl ocsp -issuer "$tmp/auth-ca.pem" -cert "$tmp/alice-auth.pem" -reqout "$tmp/q.der" >/dev/null 2>&1
: >"$tmp/many.cfg"
i=0
while [ "$i" -lt 256 ]; do
	[ "$i" = 0 ] || echo next >>"$tmp/many.cfg"
	case $((i % 3)) in
	0) printf 'url = "%s/v1/certs/0700A001"\n' "$B" ;;
	1) printf 'url = "%s/ocsp"\nheader = "Content-Type: application/ocsp-request"\ndata-binary = "@%s"\n' "$B" "$tmp/q.der" ;;
	2) printf 'url = "%s/crl/sign.crl"\n' "$B" ;;
	esac >>"$tmp/many.cfg"
	printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\n' >>"$tmp/many.cfg"
	i=$((i + 1))
done
curl -sS --max-time 60 -Z --parallel-immediate --parallel-max 64 -K "$tmp/many.cfg" >"$tmp/many.codes" 2>>"$tmp/curl.log"
check "64 clients at once: 256 requests, all 200 ($(sort "$tmp/many.codes" | uniq -c | tr '\n' ' '))" \
	[ "$(grep -c '^200$' "$tmp/many.codes")" = 256 ]

# ---- SIGTERM with a client connected in the middle of a request:
# perl (essential in Debian) sends the headers and half the body, says
# so, and waits for the server to close the connection.
port=${B##*:}
perl -e '
	use IO::Socket::INET;
	my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1", PeerPort => $ARGV[0]) or die "connect: $!";
	$s->autoflush(1);
	print $s "POST /v1/card-certs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"holder\":";
	open(my $f, ">", $ARGV[1]) or die; print $f "sent\n"; close $f;
	my $buf; my $n = sysread($s, $buf, 4096);
	open($f, ">>", $ARGV[1]) or die; print $f "closed\n"; close $f;' "$port" "$tmp/client.log" &
extra_pids=$!
check "a client is mid-request" wait_log "$tmp/client.log" sent
stop_ca TERM
check "SIGTERM with a client mid-request: exit status 0" [ "$serve_status" = 0 ]
check "SIGTERM: the client's connection was closed" wait_log "$tmp/client.log" closed
wait "$extra_pids" 2>/dev/null
extra_pids=
finish
