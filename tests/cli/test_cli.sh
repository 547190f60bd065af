#!/usr/bin/env bash
# End-to-end checks of the hattn command line: outputs, exit statuses (0 ok, 2 bad usage/input), one-line
# errors, no half-written files. Usage: test_cli.sh HATTN_BINARY TEST_DATA_DIR
set -u
hattn=$1
data=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
ckpt=$data/vim_ref/vim_ref.pth
img=$data/images/src_wide.png

check() {  # check NAME EXPECTED_STATUS COMMAND...
  local name=$1 want=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  if [[ $got -ne $want ]]; then
    echo "FAIL $name: exit $got, expected $want"; cat "$tmp/err"; failures=$((failures + 1))
  else
    echo "ok   $name (exit $got)"
  fi
}
expect_in() {  # expect_in NAME FILE TEXT
  if ! grep -qF -- "$3" "$2"; then echo "FAIL $1: '$3' not in output:"; cat "$2"; failures=$((failures + 1)); fi
}

check "classify" 0 "$hattn" classify --checkpoint "$ckpt" --image "$img" --topk 3
expect_in "classify table" "$tmp/out" "rank"
check "classify --json" 0 "$hattn" classify --checkpoint "$ckpt" --image "$img" --json --logits-npy "$tmp/logits.npy"
expect_in "json top" "$tmp/out" '{"top": [{"class": '
expect_in "json config" "$tmp/out" '"config": {"d_model": 64'
[[ -f "$tmp/logits.npy" ]] || { echo "FAIL logits.npy not written"; failures=$((failures + 1)); }
ls "$tmp" | grep -q '\.tmp$' && { echo "FAIL a temporary file was left behind"; failures=$((failures + 1)); }
for mode in crop vim-eval squash; do
  check "classify --preprocess $mode" 0 "$hattn" classify --checkpoint "$ckpt" --image "$data/images/src_small.png" --preprocess $mode
done
check "classify with --stride" 0 "$hattn" classify --checkpoint "$ckpt" --image "$img" --stride 8
expect_in "stride 8 image size" "$tmp/out" "img=40"
check "info" 0 "$hattn" info --checkpoint "$ckpt"
expect_in "info resolved" "$tmp/out" "from the checkpoint's args.input_size"
expect_in "info parameters" "$tmp/out" "parameters  278504"
check "help" 0 "$hattn" classify --help
expect_in "help text" "$tmp/out" "--preprocess"

check "no command" 2 "$hattn"
check "unknown command" 2 "$hattn" frobnicate
check "unknown option" 2 "$hattn" classify --checkpoint "$ckpt" --image "$img" --colour red
check "missing --image" 2 "$hattn" classify --checkpoint "$ckpt"
check "bad --topk" 2 "$hattn" classify --checkpoint "$ckpt" --image "$img" --topk many
check "bad --preprocess" 2 "$hattn" classify --checkpoint "$ckpt" --image "$img" --preprocess stretch
check "missing image file" 2 "$hattn" classify --checkpoint "$ckpt" --image "$tmp/none.jpg"
expect_in "error names the file" "$tmp/err" "none.jpg"
echo "not an image" >"$tmp/text.png"
check "unreadable image" 2 "$hattn" classify --checkpoint "$ckpt" --image "$tmp/text.png"
check "malicious checkpoint" 2 "$hattn" info --checkpoint "$data/vim_ref/bad_global.pth"
expect_in "refusal named" "$tmp/err" "refused global"
check "truncated checkpoint" 2 "$hattn" classify --checkpoint "$data/vim_ref/bad_magic.pth" --image "$img"
[[ $(wc -l <"$tmp/err") -eq 1 ]] || { echo "FAIL errors should be one line"; failures=$((failures + 1)); }
check "no --logits-npy left on failure" 2 "$hattn" classify --checkpoint "$ckpt" --image "$tmp/text.png" --logits-npy "$tmp/never.npy"
[[ ! -e "$tmp/never.npy" ]] || { echo "FAIL wrote output despite failing"; failures=$((failures + 1)); }

echo "$failures failure(s)"
exit $((failures > 0))
