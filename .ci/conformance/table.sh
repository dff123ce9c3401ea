#!/usr/bin/env bash
# The side-by-side table of docs/conformance.md: every check against Blockscope and against
# Debian's nbdkit, in Markdown.   usage: .ci/conformance/table.sh > table.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/run.sh" blockscope >"$tmp/blockscope.tsv"
"$here/run.sh" nbdkit >"$tmp/nbdkit.tsv"
echo '| suite | check | Blockscope | nbdkit 1.32 | note (Blockscope) |'
echo '| --- | --- | --- | --- | --- |'
while IFS=$'\t' read -r suite check result note; do
  other=$(awk -F'\t' -v s="$suite" -v c="$check" '$1 == s && $2 == c { print $3 }' "$tmp/nbdkit.tsv")
  printf '| %s | %s | %s | %s | %s |\n' "$suite" "$check" "$result" "${other:-?}" "${note//|/\\|}"
done <"$tmp/blockscope.tsv"
