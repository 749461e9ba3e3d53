#!/bin/sh
# Incidents (docs/incidents.md): a failing run packed into one file and
# replayed from it (reproduced, exit 0), a replay that does not
# reproduce shows where; bundles made by an attacker (a '..' member, an
# absolute one, a symbolic link, an oversize member, a cut archive) are
# refused with what is wrong and nothing written anywhere; a 100-exchange
# trace minimised to the 3 exchanges its failure needs, and written as a
# scenario that fails the same way; a fault plan minimised to the fault
# that matters.
set -u
. "$2/tests/cli/lib/check.sh"
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
export TMPDIR="$tmp/tmpdir"
mkdir "$TMPDIR" "$tmp/w"
cd "$tmp/w" || exit 1

# A scenario that fails on purpose, with bob's profile and a state file
# that an earlier run left (one auth PIN try spent): the bundle must
# carry both for the verdict and the trace to come out the same.
cat >wrong.lua <<'LUA'
return scenario {
  id = "INC-WRONG", title = "bob's PIN, mistyped", tags = { "card" },
  run = function(w)
    local c = w.card
    expect(c:transmit("00A4040C0AD392F000260100000001")).sw(0x9000)
    expect(c:transmit("00A4020C020018")).sw(0x9000)
    expect(c:transmit("00200080"), "tries left before").sw(0x63C2)
    expect(c:transmit("002000800430303030"), "a wrong PIN, taken for right").sw(0x9000)
  end,
}
LUA
mkdir prof
cp "$src/fixtures/profiles/bob.lua" prof/
mkdir pki keys
cp "$src"/fixtures/pki/bob-*.der "$src"/fixtures/pki/*-ca.der pki/
cp "$src"/fixtures/keys/pool-0[678].pem keys/
target="card=sim:card?profile=prof/bob.lua&state=$tmp/w/card.nvm"
printf '00A4040C0AD392F000260100000001\n00A4020C020018\n002000800430303030\n' |
	"$bin" apdu --target "sim:card?state=$tmp/w/card.nvm" --profile prof/bob.lua >/dev/null
cp card.nvm before.nvm
"$bin" run wrong.lua --seed 42 --target "$target" --out r1 --save-state >r1.log 2>&1
check "the run fails (exit 1)" [ $? = 1 ]
check "--save-state kept the image as the run found it" cmp -s r1/state-before/card.nvm before.nvm
"$bin" incident pack --out inc.tar r1 >pack.log 2>&1
check "pack a run directory (exit 0)" [ $? = 0 ]
tar tf inc.tar >members 2>&1
check "GNU tar reads it" [ $? = 0 ]
for m in wrong.lua mynahil/manifest.json mynahil/record.json mynahil/traces/INC-WRONG.jsonl \
	mynahil/state/card.nvm mynahil/files/card/p/bob.lua mynahil/files/card/pki/bob-auth.der \
	mynahil/files/card/keys/pool-06.pem mynahil/lib/jpki.lua; do
	check "  member $m" grep -qx "$m" members
done
check "the state image is the one before the run" sh -c 'tar xOf inc.tar mynahil/state/card.nvm | cmp -s - r1/state-before/card.nvm'
check "and not the one after it" sh -c '! tar xOf inc.tar mynahil/state/card.nvm | cmp -s - card.nvm'

# On "another machine": a directory without the scenario, profile or state.
mkdir "$tmp/elsewhere" && cp inc.tar "$tmp/elsewhere/" && cd "$tmp/elsewhere" || exit 1
"$bin" incident replay inc.tar >replay.log 2>&1
check "replay: reproduced (exit 0)" [ $? = 0 ]
check "  says so, the failure included" grep -q "^reproduced: 1 run as recorded (1 failed as recorded), every trace the same" replay.log
check "  and leaves no temporary directory" [ -z "$(ls "$TMPDIR")" ]

# pack -- RUN OPTIONS makes the run itself; the mutation is in the command.
"$bin" incident pack --out mut.tar -- "$src/scenarios/card/00_session.lua" --seed 3 --mutate pin_free >p2.log 2>&1
check "pack -- run options (exit 0)" [ $? = 0 ]
"$bin" incident replay mut.tar >r2.log 2>&1
check "  replayed: reproduced, mutation and all" sh -c "[ $? = 0 ] && grep -q '^reproduced' r2.log"

# A bundle whose recorded trace was changed: the replay names the record.
mkdir x && (cd x && tar xf ../inc.tar && sed -i '3s/63C2/63C1/' mynahil/traces/INC-WRONG.jsonl &&
	tar --format=ustar -cf ../changed.tar .) 2>/dev/null
"$bin" incident replay changed.tar >r3.log 2>&1
check "a changed trace: not reproduced (exit 1)" [ $? = 1 ]
check "  the first divergence at record 3, both sides" sh -c "grep -q 'the traces part at record 3' r3.log && grep -q 'recorded: .*63C1' r3.log && grep -q 'replayed: .*63C2' r3.log"
sed -i 's/sw(0x9000)$/sw(0x6300)/' x/wrong.lua
(cd x && tar --format=ustar -cf ../verdict.tar .)
"$bin" incident replay verdict.tar >r4.log 2>&1
check "another verdict: not reproduced (exit 1), the expect named" sh -c "[ $? = 1 ] && grep -q 'another verdict' r4.log && grep -q 'expect 1:' r4.log"

# Hostile bundles.  ustar FILE NAME TYPE SIZE [DATA]: one member, by hand.
ustar() {
	perl -e '
		my ($name, $type, $size, $data) = @ARGV;
		my $h = pack("a100 a8 a8 a8 a12 a12 A8 a1 a100 a6 a2 a32 a32 a8 a8 a155 a12",
			$name, "0000644", "0000000", "0000000", sprintf("%011o", $size), "00000000000",
			"        ", $type, ($type eq "2" ? "/etc/passwd" : ""), "ustar", "00", "", "", "", "", "", "");
		my $sum = unpack("%32C*", $h);
		substr($h, 148, 8) = sprintf("%06o\0 ", $sum);
		print $h, $data, "\0" x ((512 - length($data) % 512) % 512), "\0" x 1024;
	' "$2" "$3" "$4" "${5:-}" >"$1"
}
hostile() { # FILE WHAT PATTERN
	"$bin" incident replay "$1" >h.log 2>&1
	check "$2: refused (exit 2)" [ $? = 2 ]
	check "  saying why" grep -q -- "$3" h.log
	check "  nothing unpacked" [ -z "$(ls "$TMPDIR")" ]
}
ustar dotdot.tar ../../evil.lua 0 4 'x=1;'
hostile dotdot.tar "a '..' member" "member '../../evil.lua' refused: a '..' path component"
ustar abs.tar /tmp/evil.lua 0 4 'x=1;'
hostile abs.tar "an absolute member" "member '/tmp/evil.lua' refused: an absolute path"
ustar link.tar mynahil/lib 2 0
hostile link.tar "a symbolic link" "member 'mynahil/lib' refused: a symbolic link"
ustar big.tar mynahil/traces/A.jsonl 0 $((65 << 20))
hostile big.tar "an oversize member" "over the 64 MiB a member may have"
head -c 3000 inc.tar >cut.tar
hostile cut.tar "a cut archive" "truncated in member"
head -c 1024 inc.tar >cut2.tar
hostile cut2.tar "an archive cut at a block" "truncated"
check "no evil.lua anywhere" sh -c "[ ! -e '$tmp/evil.lua' ] && [ ! -e /tmp/evil.lua ] && [ ! -e '$tmp/tmpdir/../evil.lua' ]"
"$bin" incident replay "$src/README.md" >h.log 2>&1
check "not a bundle: exit 2" [ $? = 2 ]

# Minimise: 100 exchanges, of which 3 make the failure (select the AP,
# select the auth PIN, the wrong PIN that a pin_free card does not count).
cat >noise.lua <<'LUA'
return scenario {
  id = "NOISE-100", title = "a wrong PIN among noise", tags = { "card" },
  run = function(w)
    local c = w.card
    for _ = 1, 40 do c:transmit("00CA000000") end
    expect(c:transmit("00A4040C0AD392F000260100000001")).sw(0x9000)
    for _ = 1, 30 do c:transmit("00CA000000") end
    expect(c:transmit("00A4020C020018")).sw(0x9000)
    for _ = 1, 10 do c:transmit("00200080") end
    expect(c:transmit("002000800430303030")).sw(0x63C2)
    for _ = 1, 17 do c:transmit("00CA000000") end
  end,
}
LUA
"$bin" run noise.lua --out n >/dev/null 2>&1
check "the 100-exchange trace is recorded" [ "$(wc -l <n/traces/NOISE-100.jsonl)" = 100 ]
"$bin" incident minimise n/traces/NOISE-100.jsonl --target sim:card --mutate pin_free -o min.jsonl \
	--scenario inc_t1.lua --id INC-T1 >m.log 2>&1
check "minimise (exit 0)" [ $? = 0 ]
check "  the first difference named" grep -q "first difference at line 83: recorded 63C2, sim:card 63C3" m.log
check "  exactly the core: 3 of 100" grep -q "^minimal: 3 of 100 records" m.log
cmds=$(sed 's/.*"cmd":"\([^"]*\)".*/\1/' min.jsonl | tr '\n' ' ')
check "  the three commands, in order" [ "$cmds" = "00A4040C0AD392F000260100000001 00A4020C020018 002000800430303030 " ]
check "  each says where it came from" sh -c "grep -q '\"at\":\"line 41\"' min.jsonl && grep -q '\"at\":\"line 83\"' min.jsonl"
"$bin" run inc_t1.lua --out s1 >s1.log 2>&1
check "the scenario passes on a card as recorded" [ $? = 0 ]
"$bin" run inc_t1.lua --out s2 --mutate pin_free >s2.log 2>&1
check "  and fails on the mutated one, at the wrong PIN" sh -c "[ $? = 1 ] && grep -q 'inc_t1.lua:[0-9]*: got 63C3, want 63C2' s2.log"
"$bin" incident minimise n/traces/NOISE-100.jsonl --target sim:card >m2.log 2>&1
check "nothing differs: exit 1, said" sh -c "[ $? = 1 ] && grep -q 'nothing to minimise' m2.log"
"$bin" incident minimise n/traces/NOISE-100.jsonl --target 'pcsc:Virtual' >m3.log 2>&1
check "a reader is refused (it keeps what each test did): exit 2" [ $? = 2 ]

# A fault plan: four faults, one of which makes CARD-00 fail where it does.
"$bin" incident minimise --faults -o plan.txt -- "$src/scenarios/card/00_session.lua" \
	--fault card:apdu=90:sw=6A80 --fault card:apdu=5:sw=6982 --fault card:apdu=95:flip \
	--fault card:apdu=99:power >f.log 2>&1
check "fault plan minimised (exit 0)" [ $? = 0 ]
check "  to the one fault that matters" [ "$(cat plan.txt)" = "card:apdu=5:sw=6982" ]

# The same from the packed run: the bundle's own command, made where it
# is unpacked (docs/incidents.md, "Minimise a fault plan").
"$bin" incident pack --out faulted.tar -- "$src/scenarios/card/00_session.lua" \
	--fault card:apdu=90:sw=6A80 --fault card:apdu=5:sw=6982 --fault card:apdu=99:power >fp.log 2>&1
check "a faulted run packed" [ -s faulted.tar ]
"$bin" incident minimise --faults -o plan2.txt faulted.tar >fb.log 2>&1
check "fault plan minimised from the bundle (exit 0)" [ $? = 0 ]
check "  to the one fault that matters" [ "$(cat plan2.txt)" = "card:apdu=5:sw=6982" ]
check "  the failure it kept, said" grep -q "CARD-00: fail at line" fb.log
"$bin" incident minimise --faults faulted.tar -- "$src/scenarios/card/00_session.lua" >fb2.log 2>&1
check "a bundle and run options both: exit 2" sh -c "[ $? = 2 ] && grep -q 'not both' fb2.log"
"$bin" incident minimise --faults plan.txt >fb3.log 2>&1
check "not a bundle: exit 2, said" sh -c "[ $? = 2 ] && grep -q 'incident minimise' fb3.log"
"$bin" incident pack --out clean.tar -- "$src/scenarios/card/00_session.lua" >cp.log 2>&1
"$bin" incident minimise --faults clean.tar >fb4.log 2>&1
check "a bundle without faults: exit 2, said" sh -c "[ $? = 2 ] && grep -q 'had no --fault' fb4.log"
finish
