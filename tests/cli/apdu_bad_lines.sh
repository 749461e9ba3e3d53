#!/bin/sh
# `mynahil apdu` refuses lines it cannot take whole: a line longer than
# its buffer (it used to be cut into two APDUs, exit 0) and a line with a
# NUL byte (it used to be cut at the NUL) are errors naming FILE:LINE and
# exit 1.  From a file, nothing at all is sent (the --state file is not
# even created); from a pipe, nothing after the bad line is sent.
set -u
. "$2/tests/cli/lib/check.sh"
select=00A4040C0AD392F000260100000001

spaces() { head -c "$1" /dev/zero | tr '\0' ' '; }
max=$((4 * 65535 + 63)) # the longest line taken, without its newline

# One byte over the limit: a SELECT, spaces, and a READ BINARY.  Cut at
# the limit (as it was), that was two APDUs, both answered, exit 0.
{
	echo "$select"
	printf '%s%s00B0000000\n' "$select" "$(spaces $((max - 30)))"
	echo "$select"
} >"$tmp/long"
"$bin" apdu --target "sim:card?state=$tmp/st1" "$tmp/long" >"$tmp/long.out" 2>"$tmp/long.err"
check "over-long line: exit 1" [ $? = 1 ]
check "over-long line named FILE:2" grep -q "^$tmp/long:2: line longer than $max bytes; nothing sent" "$tmp/long.err"
check "over-long line in a file: nothing sent" [ ! -s "$tmp/long.out" ]
check "over-long line in a file: the target not even opened" [ ! -e "$tmp/st1" ]

# A NUL in the middle of a line: cut there it would be a valid SELECT.
{
	echo "$select"
	echo "# comment"
	printf '%s\0000\n' "$select"
	echo "$select"
} >"$tmp/nul"
"$bin" apdu --target sim:card "$tmp/nul" >"$tmp/nul.out" 2>"$tmp/nul.err"
check "NUL byte: exit 1" [ $? = 1 ]
check "NUL byte named FILE:3" grep -q "^$tmp/nul:3: NUL byte in the line" "$tmp/nul.err"
check "NUL byte in a file: nothing sent" [ ! -s "$tmp/nul.out" ]

# The same from a pipe: the lines before are answered, none after.
cat "$tmp/nul" | "$bin" apdu --target sim:card >"$tmp/pipe.out" 2>"$tmp/pipe.err"
check "NUL byte in a pipe: exit 1" [ $? = 1 ]
check "NUL byte in a pipe named <stdin>:3" grep -q "^<stdin>:3: NUL byte in the line.*nothing after it sent" "$tmp/pipe.err"
check "pipe: the line before answered, none after" [ "$(cat "$tmp/pipe.out")" = 9000 ]
cat "$tmp/long" | "$bin" apdu --target sim:card >"$tmp/pipe2.out" 2>"$tmp/pipe2.err"
check "over-long line in a pipe: exit 1" [ $? = 1 ]
check "over-long line in a pipe: one answer, none after" [ "$(cat "$tmp/pipe2.out")" = 9000 ]

# A line exactly at the limit is still taken (a comment makes it long).
printf '%s #%s\n' "$select" "$(spaces $((max - 32)))" >"$tmp/edge"
check "the limit line is $max bytes and a newline" [ "$(wc -c <"$tmp/edge")" = $((max + 1)) ]
"$bin" apdu --target sim:card "$tmp/edge" >"$tmp/edge.out" 2>"$tmp/edge.err"
check "a line at the limit: exit 0" [ $? = 0 ]
check "a line at the limit: answered" [ "$(cat "$tmp/edge.out")" = 9000 ]
# Standard input redirected from a file is checked whole too.
"$bin" apdu --target sim:card <"$tmp/nul" >"$tmp/redir.out" 2>"$tmp/redir.err"
check "stdin from a file: nothing sent" [ $? = 1 ] && [ ! -s "$tmp/redir.out" ]

finish
