#!/bin/sh
# What a CI job reads off a run (README "CI"): `mynahil --version` (the
# version, the git commit baked in at build time — "unknown" outside
# git —, OpenSSL, Lua, pcsc-lite, libnfc) and the same versions in
# results.json, junit.xml's properties, report.html and record.json;
# each shard's JUnit testsuite named by its shard ("mynahil shard 2/3"),
# the merge of the shards named as the whole run; the seed printed one
# way — decimal — in the summary, TAP, JUnit, results.json, the page
# and its reproduce line, whether given in decimal or 0x-hex.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

"$bin" --version >"$tmp/v" 2>&1
check "--version: exit 0" [ $? = 0 ]
check "--version: six lines" [ "$(wc -l <"$tmp/v")" = 6 ]
ver=$(sed -n 's/^project(mynahil VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
check "--version: mynahil $ver (CMakeLists.txt)" [ "$(sed -n 1p "$tmp/v")" = "mynahil $ver" ]
commit=$(sed -n 's/^commit //p' "$tmp/v")
# a checkout of its own with a commit (not a tree inside another's)
if [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$src" && pwd -P)" ] &&
	git -C "$src" rev-parse -q --verify HEAD >/dev/null 2>&1; then
	# the commit the binary was built from: HEAD, or an ancestor when
	# commits came after the build (gitrev's exactness is checked below)
	c=${commit%-dirty}
	check "--version: the commit is the checkout's ($commit)" \
		sh -c "[ ${#c} = 12 ] && git -C '$src' merge-base --is-ancestor '$c' HEAD"
else
	check "--version: outside git the commit is unknown" [ "$commit" = unknown ]
fi
if command -v pkg-config >/dev/null 2>&1; then
	check "--version: pcsc-lite as built" grep -qx "pcsc-lite $(pkg-config --modversion libpcsclite) (built with)" "$tmp/v"
	check "--version: libnfc as loaded" grep -qx "libnfc $(pkg-config --modversion libnfc)" "$tmp/v"
	check "--version: Lua as built" grep -qx "lua $(pkg-config --modversion lua5.4) (built with)" "$tmp/v"
fi
command -v openssl >/dev/null 2>&1 &&
	check "--version: OpenSSL as loaded" grep -qx "openssl $(openssl version | cut -d' ' -f2)" "$tmp/v"
"$bin" --version extra >/dev/null 2>"$tmp/ve"
check "--version with an argument: exit 2, named" sh -c "[ $? = 2 ] && grep -q extra '$tmp/ve'"

# The commit as cmake/gitrev.cmake bakes it: unknown outside git; the
# commit, then -dirty, in a checkout.
if command -v cmake >/dev/null 2>&1 && command -v git >/dev/null 2>&1; then
	mkdir "$tmp/plain"
	cmake -DSRC="$tmp/plain" -DOUT="$tmp/g1.h" -P cmake/gitrev.cmake
	check "gitrev: outside git, unknown" has '"unknown"' "$tmp/g1.h"
	mkdir "$tmp/repo" && (cd "$tmp/repo" && git init -q && echo a >f && git add f &&
		git -c user.name=t -c user.email=t@t commit -qm c) >/dev/null 2>&1
	h=$(git -C "$tmp/repo" rev-parse --short=12 HEAD)
	cmake -DSRC="$tmp/repo" -DOUT="$tmp/g2.h" -P cmake/gitrev.cmake
	check "gitrev: a clean checkout, its commit" has "\"$h\"" "$tmp/g2.h"
	echo b >"$tmp/repo/f"
	cmake -DSRC="$tmp/repo" -DOUT="$tmp/g2.h" -P cmake/gitrev.cmake
	check "gitrev: a changed checkout, -dirty" has "\"$h-dirty\"" "$tmp/g2.h"
	mkdir "$tmp/repo/sub"
	cmake -DSRC="$tmp/repo/sub" -DOUT="$tmp/g3.h" -P cmake/gitrev.cmake
	check "gitrev: a tree inside someone else's checkout is not a checkout" has '"unknown"' "$tmp/g3.h"
fi

# The versions in every report, as --version says them.
"$bin" run scenarios/card --filter CARD-00 --seed 0x10 --out "$tmp/r" >"$tmp/r.log" 2>&1
check "a run: exit 0" [ $? = 0 ]
python3 - "$tmp/v" "$tmp/r" >"$tmp/py.log" 2>&1 <<'EOS'
import json, sys, re, html
lines = [l.rstrip("\n").split(" ", 1) for l in open(sys.argv[1])]
want = {k: v for k, v in lines}
d = sys.argv[2]
res = json.load(open(d + "/results.json"))
rec = json.load(open(d + "/record.json"))
assert res["versions"] == want, ("results.json", res["versions"], want)
assert list(res["versions"]) == [k for k, _ in lines], "results.json: --version's order"
assert rec["versions"] == want, ("record.json", rec["versions"])
junit = open(d + "/junit.xml").read()
for k, v in lines:
    assert '<property name="version.%s" value="%s"/>' % (k, html.escape(v)) in junit, ("junit", k)
page = open(d + "/report.html").read()
m = re.search(r'<span id="versions">([^<]*)</span>', page)
assert m and html.unescape(m.group(1)) == ", ".join("%s %s" % (k, v) for k, v in lines), ("html", m and m.group(1))
tap = open(d + "/results.tap").read().splitlines()
assert "# versions: " + ", ".join("%s %s" % (k, v) for k, v in lines) in tap, ("tap", [l for l in tap if l.startswith("#")])
EOS
check "the versions in results.json, record.json, junit.xml, report.html and results.tap are --version's" [ $? = 0 ]
[ -s "$tmp/py.log" ] && cat "$tmp/py.log"

# The seed, 0x10 given: 16 everywhere, in one form.
check "seed: the summary line" grep -q '^seed 16; reports in' "$tmp/r.log"
check "seed: TAP" grep -q '^# seed 16$' "$tmp/r/results.tap"
check "seed: JUnit" has '<property name="seed" value="16"/>' "$tmp/r/junit.xml"
check "seed: results.json" has '"seed": "16"' "$tmp/r/results.json"
check "seed: record.json" has '"seed": "16"' "$tmp/r/record.json"
check "seed: the page" has 'seed <span id="seed">16</span></p>' "$tmp/r/report.html"
check "seed: the reproduce line" has 'mynahil run scenarios/card --seed 16 ' "$tmp/r/report.html"
check "seed: no hex form anywhere" sh -c "! grep -rq '0x10' '$tmp/r.log' '$tmp/r'/*.json '$tmp/r'/*.xml '$tmp/r'/*.tap '$tmp/r'/*.html"

# Shards: each suite named by its shard; merged, the whole run's name.
for i in 1 2 3; do
	"$bin" run scenarios/card --seed 3 --shard "$i/3" --out "$tmp/s$i" >/dev/null 2>&1
	check "shard $i/3: its testsuite is 'mynahil shard $i/3'" has "<testsuite name=\"mynahil shard $i/3\"" "$tmp/s$i/junit.xml"
	check "shard $i/3: a shard property" has "<property name=\"shard\" value=\"$i/3\"/>" "$tmp/s$i/junit.xml"
	check "shard $i/3: results.json says the shard" has "\"shard\": \"$i/3\"" "$tmp/s$i/results.json"
done
check "unsharded: the testsuite is 'mynahil'" has '<testsuite name="mynahil" ' "$tmp/r/junit.xml"
check "unsharded: no shard in results.json" sh -c "! grep -q '\"shard\"' '$tmp/r/results.json'"
"$bin" report merge "$tmp/s1" "$tmp/s2" "$tmp/s3" --out "$tmp/m" >/dev/null 2>&1
check "merged: exit 0" [ $? = 0 ]
check "merged: the testsuite is 'mynahil'" has '<testsuite name="mynahil" ' "$tmp/m/junit.xml"
check "merged: no shard in results.json or record.json" sh -c "! grep -q '\"shard\"' '$tmp/m/results.json' '$tmp/m/record.json'"
check "merged: the versions kept" has '"versions": {' "$tmp/m/results.json"
finish
