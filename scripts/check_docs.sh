#!/usr/bin/env bash
# Keeps docs/ true: every file a chapter links exists, every function named in a link appears in the file it
# links to, and every command in a chapter's "Try it" block runs and exits 0. Run from CI after the build.
set -uo pipefail
cd "$(dirname "$0")/.."
failures=0
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

for doc in docs/*.md; do
  dir=$(dirname "$doc")
  # links: [text](target), local targets only
  while IFS= read -r target; do
    target=${target%%#*}
    [[ -z $target || $target == http* ]] && continue
    [[ -e "$dir/$target" ]] || fail "$doc links to '$target', which does not exist"
  done < <(grep -oE '\]\([^)]+\)' "$doc" | sed -E 's/^\]\((.*)\)$/\1/')
  # [`name`](file): the named function or type must appear in that file
  while IFS=$'\t' read -r name target; do
    [[ $target == http* || ! -f "$dir/$target" ]] && continue
    short=${name##*::}
    grep -q -- "$short" "$dir/$target" || fail "$doc names '$name' but $target does not contain '$short'"
  done < <(grep -oE '\[`[A-Za-z_:~]+`\]\([^)]+\)' "$doc" | sed -E 's/^\[`([^`]+)`\]\(([^)#]+).*$/\1\t\2/')
  # "## Try it" blocks: run each command
  awk '/^## Try it/{t=1; next} /^## /{t=0} t && /^```sh/{c=1; next} c && /^```/{c=0; next} c{print}' "$doc" |
    while IFS= read -r cmd; do
      [[ -z $cmd ]] && continue
      if ! bash -c "$cmd" >/tmp/check_docs.out 2>&1; then
        echo "FAIL $doc: '$cmd' exited non-zero:"; tail -5 /tmp/check_docs.out; exit 1
      fi
      echo "ok   $doc: $cmd"
    done || failures=$((failures + 1))
done
echo "check_docs: $failures failure(s)"
exit $((failures > 0))
