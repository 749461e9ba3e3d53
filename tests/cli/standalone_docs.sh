#!/bin/sh
# The project stands on its own (issue 17 point 9): no tracked file points
# at notes outside the repository (the forbidden names below), and every
# citation of our own docs resolves — `docs/NAME.md` names a file,
# `docs/NAME.md#anchor` (and the `, #other` anchors that follow it) a
# heading of that file, `docs/NAME.md §Section` a heading starting with
# Section, and a Markdown link `(NAME.md#anchor)` or `(#anchor)` in a .md
# file a heading of its target.  Anchors are GitHub's: the heading in
# lower case, punctuation dropped, spaces as hyphens, -1, -2... for
# repeats.  A placeholder (docs/x.md, docs/NAME.md: one letter, or
# capitals) is not a citation, nor a page a test writes into a scratch
# tree of its own (OWN_PAGES).  This script is the one file allowed to
# spell the names.
set -u
. "$2/tests/cli/lib/check.sh"
cd "$src" || exit 1

if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z >"$tmp/files"
else # a source tarball: every file but build output
	find . -path './build*' -prune -o -path ./.git -prune -o -type f -print0 |
		sed -z 's|^\./||' >"$tmp/files"
fi

python3 - "$tmp/files" >"$tmp/out" 2>&1 <<'PY'
import os, re, sys

SELF = "tests/cli/standalone_docs.sh"
FORBIDDEN = [b"../shared", b"DOMAIN.md", b"JPKI.md", b"GP-FELICA.md"]
# Pages a test writes into a scratch tree and runs there: not citations.
OWN_PAGES = {"tests/interop/docs_commands.sh": {"self.md", "slow.md"}}
files = [f for f in open(sys.argv[1], "rb").read().decode().split("\0") if f and os.path.isfile(f)]
bad = 0

def fail(msg):
    global bad
    bad += 1
    print(msg)

def slug(text):
    text = re.sub(r"`|\*\*|\*|_(?=\w)|(?<=\w)_|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", text)
    s = "".join(c for c in text.strip().lower() if c.isalnum() or c in " -_")
    return s.replace(" ", "-")

anchors_of, headings_of = {}, {}
def anchors(path):
    if path not in anchors_of:
        seen, found, heads, fence = {}, set(), [], False
        for line in open(path, encoding="utf-8"):
            if line.lstrip().startswith("```"):
                fence = not fence
                continue
            m = None if fence else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
            if m:
                heads.append(m.group(1))
                a = slug(m.group(1))
                n = seen.get(a, 0)
                seen[a] = n + 1
                found.add(a if n == 0 else "%s-%d" % (a, n))
            for i in re.findall(r'\bid="([^"]+)"', line):
                found.add(i)
        anchors_of[path], headings_of[path] = found, heads
    return anchors_of[path]

def placeholder(name):
    return re.fullmatch(r"[A-Za-z]|[A-Z_]+", name[:-3]) is not None

def cited(where, f, name):
    """docs/NAME when it is a citation of a page that exists, else None
    (a placeholder, a test's own page, or a missing page, reported)."""
    if placeholder(name) or name in OWN_PAGES.get(f, ()):
        return None
    if not os.path.isfile("docs/" + name):
        fail("%s: docs/%s does not exist" % (where, name))
        return None
    return "docs/" + name

def check_anchor(where, target, anchor):
    if not os.path.isfile(target):
        fail("%s: %s does not exist" % (where, target))
    elif anchor not in anchors(target):
        fail("%s: %s has no heading for #%s" % (where, target, anchor))

for f in files:
    if f == SELF: # it spells the names, and its examples are not citations
        continue
    data = open(f, "rb").read()
    for name in FORBIDDEN:
        for ln, line in enumerate(data.split(b"\n"), 1):
            if name in line:
                fail("%s:%d: points outside the repository (%s)" % (f, ln, name.decode()))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        continue
    for ln, line in enumerate(text.split("\n"), 1):
        where = "%s:%d" % (f, ln)
        for m in re.finditer(r"(?<![\w/.-])docs/([A-Za-z0-9_.-]+?\.md)\b(#[A-Za-z0-9_-]+(?:(?:,| and| or)\s*#[A-Za-z0-9_-]+)*)?", line):
            target = cited(where, f, m.group(1))
            if not target:
                continue
            for a in re.findall(r"#([A-Za-z0-9_-]+)", m.group(2) or ""):
                check_anchor(where, target, a)
        for m in re.finditer(r"(?<![\w/.-])docs/([A-Za-z0-9_.-]+\.md) §\s*([^\s,;:)]+)", line):
            target = cited(where, f, m.group(1))
            if not target:
                continue
            anchors(target)
            want = m.group(2).rstrip(".").lower()
            if not any(h.lower().startswith(want) or slug(h) == slug(want) for h in headings_of[target]):
                fail("%s: %s has no section %s" % (where, target, m.group(2)))
        if f.endswith(".md"):
            for m in re.finditer(r"\]\(([A-Za-z0-9_./-]*\.md)?#([A-Za-z0-9_-]+)\)", line):
                target = os.path.normpath(os.path.join(os.path.dirname(f), m.group(1))) if m.group(1) else f
                check_anchor(where, target, m.group(2))
print("%d problems" % bad)
sys.exit(1 if bad else 0)
PY
check "no pointer outside the repository; every docs citation resolves" [ $? = 0 ]
[ "$fail" = 0 ] || cat "$tmp/out"

# The checker itself: each kind of bad citation is caught.
mkdir -p "$tmp/t/docs" "$tmp/t/tests/cli"
cp "$src/tests/cli/standalone_docs.sh" "$tmp/t/tests/cli/"
printf '# A page\n\n## The cases\n\nSee [there](#the-cases), [x](other.md#gone).\n' >"$tmp/t/docs/page.md"
printf -- '-- docs/page.md#the-cases, #nope and docs/page.md §The, docs/page.md §Absent\n-- docs/gone.md\n-- ../%s/x\n-- docs/x.md and docs/NAME.md are placeholders\n' shared >"$tmp/t/c.lua"
printf 'docs/page.md\ntests/cli/standalone_docs.sh\nc.lua\n' | tr '\n' '\0' >"$tmp/t/list"
(cd "$tmp/t" && sed -n '/^python3 - /,/^PY$/p' tests/cli/standalone_docs.sh | sed '1s/.*/python3 - list <<'"'"'PY'"'"'/' >run.sh &&
	sh run.sh) >"$tmp/self" 2>&1
check "self-test: the bad citations fail it" [ $? = 1 ]
check "self-test: a missing anchor after a comma" has "c.lua:1: docs/page.md has no heading for #nope" "$tmp/self"
check "self-test: a missing section" has "c.lua:1: docs/page.md has no section Absent" "$tmp/self"
check "self-test: a missing file" has "c.lua:2: docs/gone.md does not exist" "$tmp/self"
check "self-test: a pointer outside" has "c.lua:3: points outside the repository" "$tmp/self"
check "self-test: a Markdown link to a missing file" has "docs/page.md:5: docs/other.md does not exist" "$tmp/self"
check "self-test: good citations pass" sh -c "! grep -q 'the-cases\|§The\b\|section The' '$tmp/self'"
check "self-test: five problems, no more" has "^5 problems" "$tmp/self"
finish
