#!/bin/sh
# Tests smoke.lua itself against fake_server.py: one run that must pass and
# two that must fail (a server that never publishes, and one whose errors never
# clear). Run from anywhere: sh editors/nvim/test.sh
# To smoke-test the real server instead:
#   SERVER_CMD=$(command -v vnuma-lsp) OUT_JSON=/tmp/out.json HOVER_LINE=6 HOVER_COL=2 \
#   FIXED_FILE=editors/nvim/testdata/fixed.vnuma timeout 120 \
#   nvim --headless --clean -c "luafile editors/nvim/smoke.lua" editors/nvim/testdata/broken.vnuma
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
status=0

smoke() { # smoke NAME EXPECTED_EXIT [ENV=VALUE...]
  name=$1 expected=$2
  shift 2
  env "$@" SERVER_CMD="python3 $here/fake_server.py" OUT_JSON="$out/$name.json" \
    HOVER_LINE=6 HOVER_COL=2 FIXED_FILE="$here/testdata/fixed.vnuma" \
    timeout 120 nvim --headless --clean -c "luafile $here/smoke.lua" "$here/testdata/broken.vnuma" \
    2>"$out/$name.stderr"
  code=$?
  if [ "$code" -eq "$expected" ] && [ -s "$out/$name.json" ]; then
    echo "ok   $name: exit $code"
  else
    echo "FAIL $name: exit $code, expected $expected"
    cat "$out/$name.stderr"
    status=1
  fi
  cat "$out/$name.json" 2>/dev/null && echo
}

smoke pass 0 FAKE_LSP_MODE=
smoke never-publish 1 FAKE_LSP_MODE=never-publish
smoke keep-errors 1 FAKE_LSP_MODE=keep-errors
exit $status
