#!/usr/bin/env bash
# Prints one markdown table with the metrics of two `hattn eval` results.json files side by side (the paper's
# layout: one row per method, one column per model and metric). Used by table_perturbation.sh and
# table_segmentation.sh. Usage: scripts/side_by_side.sh NAME_A A.json NAME_B B.json METRIC[:LABEL]...
# Vim's "raw:official" and a ViT's "raw" share a row. Fractions (pixel accuracy, mIoU, mAP) are shown as
# percentages; AUCs already are.
set -euo pipefail
[[ $# -ge 5 ]] || { echo "usage: $0 NAME_A A.json NAME_B B.json METRIC[:LABEL]..." >&2; exit 2; }
name_a=$1 a=$2 name_b=$3 b=$4
shift 4
awk -v name_a="$name_a" -v name_b="$name_b" -v metrics="$*" '
  # results.json holds one method per line: "token": {"metric": value, ...}
  FNR == 1 { side = (FILENAME == ARGV[1]) ? "a" : "b"; in_provenance = 0 }
  /^ *"provenance": / { in_provenance = 1 }  # the run record closes the file: no method after it
  in_provenance { next }
  match($0, /"[^"]+": \{/) {
    token = substr($0, RSTART + 1, RLENGTH - 5)
    sub(/:official$/, "", token)  # the released code variant is the paper row; ViT tokens have no variant
    if (token == "accuracy") next
    if (!(token in seen)) { seen[token] = 1; order[++n] = token }
    rest = substr($0, RSTART + RLENGTH)
    while (match(rest, /"[a-z_]+": [-0-9.e+]+/)) {
      kv = substr(rest, RSTART, RLENGTH); rest = substr(rest, RSTART + RLENGTH)
      split(kv, p, /": /); key = substr(p[1], 2)
      value[side, token, key] = p[2]
    }
  }
  function shown(side, token, key,   v) {
    if (!((side, token, key) in value)) return "–"
    v = value[side, token, key]
    return sprintf("%.2f", key ~ /auc$/ ? v : 100 * v)
  }
  END {
    m = split(metrics, spec, / /)
    head = "| method |"; rule = "|---|"
    for (i = 1; i <= m; ++i) {
      split(spec[i], kl, /:/); keys[i] = kl[1]; label[i] = (kl[2] != "") ? kl[2] : kl[1]
      gsub(/_/, " ", label[i])
      head = head " " label[i] " (" name_a ") | " label[i] " (" name_b ") |"; rule = rule "---|---|"
    }
    print head; print rule
    # the paper methods first, then the rest in file order
    k = split("raw raw:exact rollout rollout:exact attr attr:exact unified gae saliency gradxinput random", pref, / /)
    for (r = 1; r <= k; ++r) if (pref[r] in seen) { rows[++nrows] = pref[r]; placed[pref[r]] = 1 }
    for (r = 1; r <= n; ++r) if (!(order[r] in placed)) rows[++nrows] = order[r]
    for (r = 1; r <= nrows; ++r) {
      line = "| " rows[r] " |"
      for (i = 1; i <= m; ++i) line = line " " shown("a", rows[r], keys[i]) " | " shown("b", rows[r], keys[i]) " |"
      print line
    }
  }' "$a" "$b"
