#!/bin/sh
# serve tsm's SE issuer (/v1/issuer, docs/tsm.md#two-tsms) over HTTP: an
# issuance under se_model = ssd through the served SP-TSM leaves the
# SE's record at the issuer (its SSD, the DM keys, two receipts counted);
# the issuer's API refuses bad requests with a JSON error naming the
# field, a token for an SE where it made no SSD, an oversized body; then
# serve tsm --se-keys plain serves a test SE with one static key set,
# both ways, and refuses an unknown value.
# usage: issuer_http.sh MYNAHIL SRCDIR
M=$1 SRC=$2
. "$SRC/tests/interop/lib/serve.sh"
serve_enter
JSON='Content-Type: application/json'

serve_start tsm "$T/tsm.db"
# 1. an issuance under ssd, the issuer's record of the SE
"$M" run "$SRC/scenarios/tsm/00_issue.lua" --policy se_model=ssd --target "tsm=$URL" --out "$T/run1" \
	> "$T/run1.log" 2>&1 || { cat "$T/run1.log"; fail "TSM-00 under ssd over HTTP"; }
dev=$(curl -s --max-time 10 "$URL/v1/tsm/devices" | grep -o '"id": *"[0-9A-F]\{20\}"' | head -1 | grep -o '[0-9A-F]\{20\}')
[ -n "$dev" ] || fail "no device in the registry"
curl -s --max-time 10 "$URL/v1/issuer/ses/$dev" > "$T/se.json"
grep -q '"dm_keys": *true' "$T/se.json" && grep -q '"ssd": *"D392F000265344"' "$T/se.json" &&
	grep -q '"counter": *2' "$T/se.json" || fail "the issuer's record: $(cat "$T/se.json")"

# 2. bad requests: JSON errors naming the field
post() { curl -s --max-time 10 -o "$T/e" -w '%{http_code}' -X POST -H "$JSON" "$URL$1" -d "$2"; }
code=$(post /v1/issuer/tokens '{"sp":"jpki-sp","device":"00000000000000000000","ins":"E4","p1":0,"p2":0,"data":"4F0AD392F000260100000001"}')
[ "$code" = 403 ] && grep -q '"field": *"device"' "$T/e" || fail "token without an SSD: $code $(cat "$T/e")"
code=$(post /v1/issuer/tokens "{\"sp\":\"jpki-sp\",\"device\":\"$dev\",\"ins\":\"E4\",\"p1\":0,\"p2\":0,\"data\":\"4F08A000000151000000\"}")
[ "$code" = 403 ] && grep -q '"field": *"data"' "$T/e" || fail "a token for the ISD: $code $(cat "$T/e")"
code=$(post /v1/issuer/tokens '{"sp":"someone","device":"00000000000000000000"}')
[ "$code" = 403 ] && grep -q '"field": *"sp"' "$T/e" || fail "unknown sp: $code $(cat "$T/e")"
code=$(post /v1/issuer/ssd 'not json')
[ "$code" = 400 ] && grep -q '"field": *"body"' "$T/e" || fail "not json: $code $(cat "$T/e")"
code=$(post /v1/issuer/ssd/nope '{"responses":[]}')
[ "$code" = 404 ] || fail "no such creation: $code"
code=$(curl -s --max-time 10 -o "$T/e" -w '%{http_code}' "$URL/v1/issuer/nothing")
[ "$code" = 404 ] || fail "GET nothing: $code"
head -c 2000000 /dev/zero | tr '\0' 'a' > "$T/big"
code=$(curl -s --max-time 10 -o "$T/e" -w '%{http_code}' -X POST -H "$JSON" "$URL/v1/issuer/ssd" --data-binary "@$T/big")
[ "$code" = 413 ] || fail "oversized body: $code"
kill -TERM "$PID"; wait "$PID"; rc=$?; PID=
[ "$rc" = 0 ] || fail "SIGTERM: exit status $rc"

# 3. --se-keys plain: a test SE with one static ISD key set (the profile's
# diversify = "none"), both ways; the default SE (diversified) is refused
sed 's/diversify = "kdf3",/diversify = "none",/' "$SRC/fixtures/se/default.lua" > "$T/plain.lua"
grep -q 'diversify = "none"' "$T/plain.lua" || fail "no plain profile"
SERVE_ARGS="--se-keys plain" serve_start tsm "$T/plain.db"
for m in shared_isd ssd; do
	"$M" run "$SRC/scenarios/tsm/00_issue.lua" --policy "se_model=$m" --target "tsm=$URL" \
		--target "se=sim:se?profile=$T/plain.lua" --out "$T/p$m" > "$T/p$m.log" 2>&1 ||
		{ cat "$T/p$m.log"; fail "plain keys, se_model=$m"; }
done
"$M" run "$SRC/scenarios/tsm/00_issue.lua" --target "tsm=$URL" --out "$T/pdiv" > "$T/pdiv.log" 2>&1 &&
	fail "a diversified SE passed against --se-keys plain"
kill -TERM "$PID"; wait "$PID"; PID=
"$M" serve tsm --se-keys kdf4 > "$T/bad.out" 2>&1; rc=$?
[ "$rc" = 2 ] && grep -q 'kdf3 or plain' "$T/bad.out" || fail "--se-keys kdf4: exit $rc $(cat "$T/bad.out")"
"$M" serve ca --se-keys plain > "$T/bad.out" 2>&1; rc=$?
[ "$rc" = 2 ] || fail "serve ca --se-keys: exit $rc"
echo "ok: the SE issuer over HTTP, plain SE keys"
