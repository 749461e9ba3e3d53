#!/bin/sh
# The relying party (scenarios/lib/rp.lua, docs/ca.md): its trust anchors
# are the fixtures'; ocsp_check and crl_check refuse another nonce, another
# key, another certificate's certID, a tampered or expired CRL, and take
# garbage without raising (tests/cli/rp/); RP-00 verifies a phone signature
# through hold, lift and revoke; the same seed sends the same OCSP nonces,
# another seed others.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

# anchor NAME FILE: rp_anchors.lua's NAME is FILE, byte for byte.
anchor() {
	want=$(od -An -v -tx1 "$2" | tr -d ' \n' | tr a-f A-F)
	got=$(sed -n "/^  $1 = /,/)/p" scenarios/lib/rp_anchors.lua | tr -d ' \n' | sed 's/^[a-z]*=mynahil.unhex(//; s/),*$//; s/"\.\."//g; s/"//g')
	[ -n "$want" ] && [ "$want" = "$got" ]
}
check "rp_anchors.lua: root is fixtures/pki/root.der" anchor root fixtures/pki/root.der
check "rp_anchors.lua: auth is fixtures/pki/auth-ca.der" anchor auth fixtures/pki/auth-ca.der
check "rp_anchors.lua: sign is fixtures/pki/sign-ca.der" anchor sign fixtures/pki/sign-ca.der

# nonce DIR: the first OCSP nonce of the refusals run in DIR (its log).
nonce() { grep -o 'nonce [0-9A-F]*' "$1/junit.xml" | head -1; }
"$bin" run tests/cli/rp --out "$tmp/r" --seed 5 >"$tmp/r.log" 2>&1
st=$?
check "the refusals pass" [ "$st" = 0 ]
[ "$st" = 0 ] || cat "$tmp/r.log"
"$bin" run tests/cli/rp --out "$tmp/r2" --seed 5 >/dev/null 2>&1
"$bin" run tests/cli/rp --out "$tmp/r3" --seed 6 >/dev/null 2>&1
n1=$(nonce "$tmp/r") n2=$(nonce "$tmp/r2") n3=$(nonce "$tmp/r3")
check "a nonce of 16 bytes ($n1)" [ ${#n1} = 38 ]
check "same seed, same nonce" [ "$n1" = "$n2" ]
check "another seed, another nonce ($n3)" [ ${#n3} = 38 -a "$n1" != "$n3" ]

"$bin" run scenarios/rp --out "$tmp/a" >"$tmp/a.log" 2>&1
st=$?
check "RP-00 passes" [ "$st" = 0 ]
[ "$st" = 0 ] || cat "$tmp/a.log"

finish
