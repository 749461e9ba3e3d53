#!/bin/sh
# report.html in a real browser (issue 15): headless Chromium loads the
# page of a run with one scenario broken, from file:// with no network,
# and the DOM it builds (--dump-dom, after the page's script ran) holds
# the campaign matrix's cells (covered ones with their runs and result,
# an uncovered one marked), the broken scenario open with its failed
# expect at file:line, its last APDUs and its whole trace decoded by the
# script, and the reproduce lines.  A screenshot and the page are kept in
# test-output/report_chromium/ below the directory ctest runs in (the
# build directory), for CI to keep as artifacts.
set -u
bin=$1 src=$2
pass=0 fail=0
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
check() {
	_what=$1
	shift
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $_what"; fi
}
has() { grep -q -- "$1" "$2"; }
lacks() { ! grep -q -- "$1" "$2"; }

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	echo "SKIP: chromium not installed (Debian package chromium; scripts/deps.sh)"
	exit 77
fi
art=${PWD}/test-output/report_chromium
mkdir -p "$art"
# --no-sandbox: CI containers run as root, where Chromium's sandbox will not start.
chrome() { "$browser" --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/profile" "$@" 2>>"$tmp/chromium.err"; }

cd "$src" || exit 1
mkdir -p "$tmp/sc"
cp -r scenarios/card scenarios/lifecycle scenarios/lib "$tmp/sc/"
# the wrong PIN is the right one: VERIFY answers 9000, the expect wants 63C2
sed -i 's/expect(jpki.verify(card, "auth", wrong)).sw(0x63C2)/expect(jpki.verify(card, "auth", pins.auth)).sw(0x63C2)/' \
	"$tmp/sc/card/00_session.lua"
"$bin" run "$tmp/sc" --seed 7 -j 2 --out "$tmp/out" >"$tmp/run.log" 2>&1
check "the run fails (one scenario broken)" [ $? = 1 ]
cp "$tmp/out/report.html" "$art/report.html"

chrome --dump-dom "file://$tmp/out/report.html" >"$tmp/dom.html"
check "chromium gave a DOM" [ -s "$tmp/dom.html" ]
check "the page's script ran" has 'data-ready="1"' "$tmp/dom.html"
dom=$tmp/dom.html

# the matrix
check "matrix: revoke x case 5 passed, by LC-05" \
	sh -c "grep -o '<td class=\"cell pass\" data-op=\"revoke\" data-case=\"5\">[^/]*LC-05' '$dom' | grep -q LC-05"
# LC-10 declares se_model both ways; a run without --matrix takes the first
check "matrix: no operation x case 10, by LC-10 (se_model=shared_isd)" has 'data-op="" data-case="10"><a class="chip pass" href="#sc-[0-9]*" data-pol="se_model=shared_isd">LC-10<' "$dom"
check "matrix: model change to iOS (case 2) covered by LC-02" lacks '<td class="cell uncovered" data-op="issue" data-case="2">' "$dom"
check "matrix: the broken CARD-00 has no cell (it declares no case)" sh -c "! grep -q 'chip fail' '$dom'"
# the failing scenario
sc=$(sed -n 's/.*<details class="sc fail" id="\(sc-[0-9]*\)" data-id="CARD-00" open="">.*/\1/p' "$dom")
check "CARD-00 is shown failed and open" [ -n "$sc" ]
sed -n "/<details class=\"sc fail\" id=\"$sc\"/,/<\/details>/p" "$dom" >"$tmp/card00.html"
check "its failed expect at file:line" has '<tr class="bad"><td><code>.*card/00_session.lua:16</code>' "$tmp/card00.html"
check "its failed expect says what came" has 'got 9000' "$tmp/card00.html"
sed -n '/<table class="last">/,/<\/table>/p' "$tmp/card00.html" >"$tmp/last.html"
check "its last APDUs: the SELECT of the auth certificate decoded" has '<b>SELECT</b> EF 000A auth certificate' "$tmp/last.html"
check "its last APDUs: eight" [ "$(grep -c '<tr data-role=' "$tmp/last.html")" = 8 ]
check "its trace: the VERIFY decoded" has '<b>VERIFY</b> EF 0018 auth PIN' "$tmp/card00.html"
check "its trace drawn by the script" has '<table class="trace" data-i="[0-9]*" data-drawn="1">' "$tmp/card00.html"
check "its trace: SELECT of the JPKI AP decoded" has '<b>SELECT</b> AID D392F000260100000001 JPKI AP' "$tmp/card00.html"
check "its trace: status words with their meaning" has 'OK</td>' "$tmp/card00.html"
check "its trace rows carry their role" has '<tr data-role="card"><td>1</td><td>card</td>' "$tmp/card00.html"
check "its reproduce line" has "<code class=\"repro\">mynahil run $tmp/sc/card/00_session.lua --seed 7 --target card=sim:card</code>" "$tmp/card00.html"
check "a passing scenario's trace not drawn until opened" \
	sh -c "sed -n '/data-id=\"CARD-01\"/,/<\/details>/p' '$dom' | grep -q '<table class=\"trace\" data-i=\"[0-9]*\"><tbody>'"
check "a passing scenario's expects not drawn until opened" \
	sh -c "sed -n '/data-id=\"CARD-01\"/,/<\/details>/p' '$dom' | grep -q '<table class=\"expects\" data-lazy=\"1\"><tbody><tr><th>where</th><th>expect</th><th>result</th></tr></tbody></table>'"
# the same page with CARD-01 open from the start: the script draws its
# expects (file:line, what, ok) and its trace as it does on a click
sed 's/\(data-id="CARD-01"\)>/\1 open>/' "$tmp/out/report.html" >"$tmp/open.html"
chrome --dump-dom "file://$tmp/open.html" >"$tmp/dom-open.html"
sed -n '/data-id="CARD-01"/,/<\/details>/p' "$tmp/dom-open.html" >"$tmp/card01.html"
check "an opened passing scenario: its expects drawn, at file:line" \
	has '<table class="expects"><tbody><tr><th>where</th><th>expect</th><th>result</th></tr><tr class="ok"><td><code>[^<]*card/01_certificates.lua:19</code></td><td>[^<]*</td><td>ok</td></tr>' "$tmp/card01.html"
check "an opened passing scenario: all its expects" \
	[ "$(grep -o '<tr class="ok">' "$tmp/card01.html" | wc -l)" = "$(python3 -c "import json; print(sum(len(s.get('expects') or []) for s in json.load(open('$tmp/out/results.json'))['scenarios'] if s['id'] == 'CARD-01'))")" ]
check "an opened passing scenario: its trace drawn" has '<table class="trace" data-i="[0-9]*" data-drawn="1">.*<b>SELECT</b> AID D392F000260100000001 JPKI AP' "$tmp/card01.html"
# the run
check "the run's reproduce line" has "<pre id=\"reproduce\">mynahil run $tmp/sc --seed 7 --target card=sim:card</pre>" "$dom"
check "the bench: the card's ATR and its set" has 'ATR 3BDA13FF8131FB468012392F31C173C601C03B (ATR set opensc-3021: OpenSC issue #3021)' "$dom"
check "the role filter offers card and se" sh -c "grep -q 'value=\"card\"' '$dom' && grep -q 'value=\"se\"' '$dom'"

chrome --window-size=1400,2400 --screenshot="$art/report.png" "file://$tmp/out/report.html" >/dev/null
check "a screenshot kept in $art" [ -s "$art/report.png" ]
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] || { tail -n 5 "$tmp/chromium.err"; exit 1; }
