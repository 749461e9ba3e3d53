#!/bin/sh
# tests/cli/fixtures_reproducible.sh — the committed test PKI is exactly what
# fixtures/gen-pki.sh produces from the committed key pool, and it is sane.
#
# Usage: sh tests/cli/fixtures_reproducible.sh <mynahil-binary> <source-dir>
# (the binary is not used).  Needs the openssl command line.
set -u

src=${2:?usage: sh fixtures_reproducible.sh <mynahil-binary> <source-dir>}
fx=$(CDPATH='' cd -- "$src/fixtures" && pwd -P) || {
	echo "FAIL: no fixtures directory under $src" >&2
	exit 1
}

pass=0
fail=0
ok() { pass=$((pass + 1)); }
ko() {
	fail=$((fail + 1))
	echo "FAIL: $*" >&2
}
# check DESCRIPTION COMMAND... — passes when COMMAND succeeds.
check() {
	c_desc=$1
	shift
	if "$@" >/dev/null 2>&1; then ok; else ko "$c_desc"; fi
}
# same DESCRIPTION A B — like expect_eq, without printing the values.
same() { if [ "$2" = "$3" ]; then ok; else ko "$1"; fi; }
# expect_eq DESCRIPTION EXPECTED ACTUAL
expect_eq() {
	if [ "$2" = "$3" ]; then ok; else ko "$1: expected '$2', got '$3'"; fi
}
# contains HAYSTACK NEEDLE (fixed string)
contains() { printf '%s\n' "$1" | grep -F -e "$2" >/dev/null; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fixtures-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

finish() {
	echo "fixtures_reproducible: $pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}

command -v openssl >/dev/null 2>&1 || {
	ko "openssl not found"
	finish
}

# A date inside every leaf's validity (2026-06-01T00:00:00Z), so the result
# does not depend on the machine clock.
AT=1780272000

PKI_FILES="root.der auth-ca.der sign-ca.der alice-auth.der alice-sign.der
bob-auth.der bob-sign.der chika-auth.der root.pem ca-chain.pem"
PROFILES="alice bob chika default"

# ------------------------------------------------ 1. regenerate and compare
out=$tmp/out
if sh "$fx/gen-pki.sh" "$out" >"$tmp/gen.log" 2>&1; then
	ok
else
	ko "fixtures/gen-pki.sh failed:"
	cat "$tmp/gen.log" >&2
	finish
fi

for f in $PKI_FILES; do
	check "fixtures/pki/$f is missing from the committed tree" test -f "$fx/pki/$f"
done
for p in $PROFILES; do
	check "fixtures/profiles/$p.lua is missing from the committed tree" \
		test -f "$fx/profiles/$p.lua"
done

for d in pki profiles keys; do
	# every generated file must equal the committed one ...
	for f in "$out/$d"/*; do
		[ -e "$f" ] || continue
		rel=$d/${f##*/}
		if [ ! -f "$fx/$rel" ]; then
			ko "fixtures/$rel is generated but not committed"
		elif cmp -s "$f" "$fx/$rel"; then
			ok
		else
			ko "fixtures/$rel differs from a fresh gen-pki.sh run" \
				"(regenerate with 'sh fixtures/gen-pki.sh' and commit)"
		fi
	done
	# ... and nothing committed may be left over from an older layout.
	for f in "$fx/$d"/*; do
		[ -e "$f" ] || continue
		rel=$d/${f##*/}
		check "fixtures/$rel is committed but gen-pki.sh no longer produces it" \
			test -f "$out/$rel"
	done
done

# ------------------------------------------------ 2. key pool
i=0
while [ "$i" -lt 64 ]; do
	k=$fx/keys/$(printf 'pool-%02d.pem' "$i")
	if [ ! -f "$k" ]; then
		ko "missing key ${k#"$fx"/}"
	else
		first=$(head -n 1 "$k")
		expect_eq "${k#"$fx"/} is unencrypted PKCS#8 PEM" \
			"-----BEGIN PRIVATE KEY-----" "$first"
		txt=$(openssl pkey -in "$k" -noout -text_pub 2>&1)
		if contains "$txt" "Public-Key: (2048 bit)" && contains "$txt" "Modulus:"; then
			ok
		else
			ko "${k#"$fx"/} is not an RSA-2048 key"
		fi
	fi
	i=$((i + 1))
done

# ------------------------------------------------ 3. certificate <-> key
# cert:pool-index pairs, the documented key assignment.
for pair in root:00 auth-ca:01 sign-ca:02 alice-auth:03 alice-sign:04 \
	bob-auth:06 bob-sign:07 chika-auth:09; do
	c=${pair%%:*}
	n=${pair#*:}
	openssl x509 -inform DER -in "$fx/pki/$c.der" -out "$tmp/$c.pem" 2>/dev/null ||
		{ ko "pki/$c.der does not parse"; continue; }
	a=$(openssl x509 -in "$tmp/$c.pem" -noout -pubkey 2>&1)
	b=$(openssl pkey -in "$fx/keys/pool-$n.pem" -pubout 2>&1)
	same "pki/$c.der does not carry the public key of keys/pool-$n.pem" "$b" "$a"
	alg=$(openssl x509 -in "$tmp/$c.pem" -noout -text 2>/dev/null |
		grep -E 'Signature Algorithm|Public-Key' |
		sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | sort -u | tr '\n' '|')
	expect_eq "pki/$c.der is RSA-2048 / sha256WithRSAEncryption" \
		"Public-Key: (2048 bit)|Signature Algorithm: sha256WithRSAEncryption|" "$alg"
done
for p in $PROFILES; do
	for k in $(sed -n 's/.*key = "\.\.\/keys\/\(pool-[0-9]*\.pem\)".*/\1/p' \
		"$fx/profiles/$p.lua"); do
		check "profiles/$p.lua: ../keys/$k does not exist" test -f "$fx/keys/$k"
	done
	for c in $(sed -n 's/.*\(\.\.\/pki\/[a-z-]*\.der\).*/\1/p' "$fx/profiles/$p.lua" |
		sort -u); do
		check "profiles/$p.lua: $c does not exist" test -f "$fx/profiles/$c"
	done
done
# The profile's auth/sign key must match its certificate.
for p in alice bob chika; do
	for use in auth sign; do
		line=$(grep "^  $use = {" "$fx/profiles/$p.lua") || continue
		c=$(printf '%s\n' "$line" | sed 's/.*cert = "\([^"]*\)".*/\1/')
		k=$(printf '%s\n' "$line" | sed 's/.*key = "\([^"]*\)".*/\1/')
		a=$(openssl x509 -inform DER -in "$fx/profiles/$c" -noout -pubkey 2>&1)
		b=$(openssl pkey -in "$fx/profiles/$k" -pubout 2>&1)
		same "profiles/$p.lua: $use key does not match $use cert" "$b" "$a"
	done
done

# ------------------------------------------------ 4. chain verification
vfy() { # description expected(OK|FAIL) openssl-verify-args... cert
	v_desc=$1 v_want=$2
	shift 2
	if openssl verify -attime "${VFY_AT:-$AT}" "$@" >"$tmp/vfy.log" 2>&1; then
		v_got=OK
	else
		v_got=FAIL
	fi
	if [ "$v_got" = "$v_want" ]; then ok; else
		ko "$v_desc (openssl verify: $(tr '\n' ' ' <"$tmp/vfy.log"))"
	fi
}
for c in auth-ca sign-ca; do
	vfy "$c verifies against root.pem" OK -CAfile "$fx/pki/root.pem" "$tmp/$c.pem"
done
for c in alice-auth bob-auth chika-auth alice-sign bob-sign; do
	case $c in *-auth) ca=auth-ca other=sign-ca ;; *) ca=sign-ca other=auth-ca ;; esac
	vfy "$c verifies against ca-chain.pem" OK \
		-CAfile "$fx/pki/ca-chain.pem" "$tmp/$c.pem"
	vfy "$c verifies with root.pem as the only anchor" OK \
		-CAfile "$fx/pki/root.pem" -untrusted "$tmp/$ca.pem" "$tmp/$c.pem"
	vfy "$c must not verify through $other" FAIL \
		-CAfile "$fx/pki/root.pem" -untrusted "$tmp/$other.pem" "$tmp/$c.pem"
done
vfy "auth certificates are fit for TLS client authentication" OK \
	-purpose sslclient -CAfile "$fx/pki/ca-chain.pem" "$tmp/alice-auth.pem"
chain_n=$(grep -c 'BEGIN CERTIFICATE' "$fx/pki/ca-chain.pem")
expect_eq "ca-chain.pem holds root + auth CA + sign CA" 3 "$chain_n"
root_pem_der=$(openssl x509 -in "$fx/pki/root.pem" -outform DER 2>/dev/null | od -An -tx1 | tr -d ' \n')
root_der=$(od -An -tx1 "$fx/pki/root.der" | tr -d ' \n')
expect_eq "root.pem is root.der" "$root_der" "$root_pem_der"

# ------------------------------------------------ 5. contents
field() { openssl x509 -in "$tmp/$1.pem" -noout "-$2" 2>/dev/null; }
subj() { openssl x509 -in "$tmp/$1.pem" -noout -subject -nameopt RFC2253 2>/dev/null; }
ext() { openssl x509 -in "$tmp/$1.pem" -noout -ext "$2" 2>/dev/null; }

expect_eq "root subject" "subject=OU=mynahil test root,O=JPKI-TEST,C=JP" "$(subj root)"
expect_eq "auth CA subject" \
	"subject=OU=mynahil test CA,OU=JPKI for user authentication,O=JPKI-TEST,C=JP" \
	"$(subj auth-ca)"
expect_eq "sign CA subject" \
	"subject=OU=mynahil test CA,OU=JPKI for digital signature,O=JPKI-TEST,C=JP" \
	"$(subj sign-ca)"
for c in root auth-ca sign-ca; do
	expect_eq "$c notBefore" "notBefore=Jul 16 00:00:00 2023 GMT" "$(field "$c" startdate)"
	expect_eq "$c notAfter" "notAfter=Jul 15 14:59:59 2033 GMT" "$(field "$c" enddate)"
	bc=$(ext "$c" basicConstraints)
	if contains "$bc" "critical" && contains "$bc" "CA:TRUE"; then ok; else
		ko "$c: basicConstraints CA:TRUE critical missing"
	fi
	ku=$(ext "$c" keyUsage)
	if contains "$ku" "critical" && contains "$ku" "Certificate Sign, CRL Sign"; then ok; else
		ko "$c: keyUsage keyCertSign,cRLSign critical missing"
	fi
done

# Validity: issued 2026-01-05T00:00:00Z, valid to the 5th birthday after
# issuance at 23:59:59 JST.  alice 1980-02-17 -> 2030-02-17 (the birthdays
# after 2026-01-05 are 2026-02-17 (1st) ... 2030-02-17 (5th)); bob
# 1975-11-03 -> 2030-11-03; chika 2013-06-30 -> 2030-06-30.
for pair in "alice-auth:Feb 17" "alice-sign:Feb 17" "bob-auth:Nov  3" \
	"bob-sign:Nov  3" "chika-auth:Jun 30"; do
	c=${pair%%:*}
	d=${pair#*:}
	expect_eq "$c notBefore" "notBefore=Jan  5 00:00:00 2026 GMT" "$(field "$c" startdate)"
	expect_eq "$c notAfter" "notAfter=$d 14:59:59 2030 GMT" "$(field "$c" enddate)"
	s=$(field "$c" serial)
	case $s in
	serial=[0-7][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F][0-9A-F]) ok ;;
	*) ko "$c: serial is not a 4-byte positive integer ($s)" ;;
	esac
done
# 2030-02-17T15:00:00Z is one second after alice's notAfter; OpenSSL treats
# the notAfter second itself as expired, so probe 14:59:58Z for "still valid".
VFY_AT=1897570800
vfy "alice-auth must be expired one second after notAfter" FAIL \
	-CAfile "$fx/pki/ca-chain.pem" "$tmp/alice-auth.pem"
VFY_AT=1897570798
vfy "alice-auth must still be valid one second before notAfter" OK \
	-CAfile "$fx/pki/ca-chain.pem" "$tmp/alice-auth.pem"
VFY_AT=$AT

for c in alice-auth bob-auth chika-auth; do
	s=$(subj "$c")
	case $s in
	subject=CN=[0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z][0-9A-Z],C=JP) ok ;;
	*) ko "$c: subject is not CN=<20-character identifier>, C=JP ($s)" ;;
	esac
	expect_eq "$c carries no subjectAltName (no personal attributes)" "" \
		"$(ext "$c" subjectAltName)"
	ku=$(ext "$c" keyUsage)
	if contains "$ku" "critical" && contains "$ku" "Digital Signature" &&
		! contains "$ku" "Non Repudiation"; then ok; else
		ko "$c: keyUsage must be digitalSignature (critical)"
	fi
done

# sign certificates: nonRepudiation and the four attributes in the SAN
prof() { # profile key -> value of `key = "value"`
	sed -n "s/^ *$2 = \"\\([^\"]*\\)\".*/\\1/p" "$fx/profiles/$1.lua" | head -n 1
}
for h in alice bob; do
	c=$h-sign
	ku=$(ext "$c" keyUsage)
	if contains "$ku" "critical" && contains "$ku" "Non Repudiation"; then ok; else
		ko "$c: keyUsage nonRepudiation (critical) missing"
	fi
	san=$(ext "$c" subjectAltName)
	for a in "1:$(prof "$h" name)" "3:$(prof "$h" sex)" "4:$(prof "$h" birth)" \
		"5:$(prof "$h" address)"; do
		n=${a%%:*}
		v=${a#*:}
		if [ -n "$v" ] && contains "$san" "othername: 1.2.392.200149.8.5.5.$n::$v"; then
			ok
		else
			ko "$c: SAN lacks 1.2.392.200149.8.5.5.$n = '$v' (from profiles/$h.lua)"
		fi
	done
done
# The same check at the ASN.1 level: the OID and a UTF8String with the name.
asn=$(openssl asn1parse -inform DER -in "$fx/pki/alice-sign.der" 2>/dev/null)
off=$(printf '%s\n' "$asn" | awk '/Subject Alternative Name/ { getline; sub(/:.*/, ""); print $1; exit }')
if [ -n "$off" ] && sanasn=$(openssl asn1parse -inform DER -in "$fx/pki/alice-sign.der" \
	-strparse "$off" 2>/dev/null) &&
	contains "$sanasn" ":1.2.392.200149.8.5.5.1" &&
	contains "$sanasn" "UTF8STRING        :$(prof alice name)"; then
	ok
else
	ko "alice-sign: asn1parse does not show otherName 1.2.392.200149.8.5.5.1 as UTF8String"
fi

# ------------------------------------------------ 6. profiles
check "chika (a minor) has no sign certificate" test ! -e "$fx/pki/chika-sign.der"
check "profiles/chika.lua has no sign table" \
	sh -c '! grep -q "^  sign = " "$1"' sh "$fx/profiles/chika.lua"
check "profiles/chika.lua has no sign PIN" \
	sh -c '! grep -q "sign = \"" "$1"' sh "$fx/profiles/chika.lua"
expect_eq "default.lua is alice.lua (apart from comments)" \
	"$(grep -v '^--' "$fx/profiles/alice.lua")" \
	"$(grep -v '^--' "$fx/profiles/default.lua")"
expect_eq "default PINs" \
	'  pins = { auth = "1234", sign = "MYNAHIL1", text = "1234" },' \
	"$(grep '^  pins = ' "$fx/profiles/default.lua")"

mynumber_ok() { # 12 digits with a valid check digit
	printf '%s\n' "$1" | awk '
	length($0) != 12 || $0 !~ /^[0-9]+$/ { exit 1 }
	{
		s = 0
		for (n = 1; n <= 11; n++) {
			p = substr($0, 12 - n, 1) + 0
			s += p * ((n <= 6) ? n + 1 : n - 5)
		}
		r = s % 11
		exit !(substr($0, 12, 1) + 0 == ((r <= 1) ? 0 : 11 - r))
	}'
}
for p in $PROFILES; do
	num=$(prof "$p" number)
	check "profiles/$p.lua: My Number '$num' has an invalid check digit" mynumber_ok "$num"
	name=$(prof "$p" name)
	check "profiles/$p.lua: name '$name' lacks U+3000 between family and given name" \
		contains "$name" "　"
	birth=$(prof "$p" birth)
	case $birth in [12][0-9][0-9][0-9][01][0-9][0-3][0-9]) ok ;;
	*) ko "profiles/$p.lua: birth '$birth' is not YYYYMMDD" ;;
	esac
	if command -v lua >/dev/null 2>&1; then
		check "profiles/$p.lua does not load as Lua" lua -e \
			"local t = dofile('$fx/profiles/$p.lua'); assert(type(t) == 'table' and t.holder.number and t.auth.cert)"
	fi
done

finish
