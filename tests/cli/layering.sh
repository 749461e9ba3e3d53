#!/bin/sh
# The house's floors (README "Layout"): an include may go down or stay in
# its room, never up or sideways.  sim/ includes nothing of the harness;
# reports/ stands on hil/base only.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

# floor ROOM: its level; rooms on one level may not include each other.
floor() {
	case $1 in
	sim) echo 0 ;; base) echo 1 ;; reports | fixtures | trace) echo 2 ;;
	link) echo 3 ;; serve | svc) echo 4 ;; run) echo 5 ;; incident | sweep) echo 6 ;; cli) echo 7 ;;
	*) echo 99 ;;
	esac
}
room_of() { # path -> room
	case $1 in
	sim/*) echo sim ;; reports/*) echo reports ;;
	hil/*) echo "$1" | cut -d/ -f2 ;;
	esac
}

for f in $(find sim reports hil -name '*.[ch]' | sort); do
	from=$(room_of "$f")
	for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		case $inc in
		hil/* | reports/* | sim/*) ;;
		*) continue ;; # relative includes stay inside their own folder
		esac
		to=$(room_of "$inc")
		[ "$to" = "$from" ] && continue
		if [ "$(floor "$to")" -lt "$(floor "$from")" ]; then
			pass=$((pass + 1))
		else
			fail=$((fail + 1))
			echo "FAIL: $f ($from, floor $(floor "$from")) includes $inc ($to, floor $(floor "$to"))"
		fi
	done
done
for d in $(find hil -type d); do
	n=$(find "$d" -maxdepth 1 -type f | wc -l)
	if [ "$n" -le 10 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $d holds $n files"; fi
done
finish
