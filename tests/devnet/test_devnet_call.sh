#!/usr/bin/env bash
# scripts/devnet's `call` when the CLI fails: the error is reported with the
# op and the reply's reason, exit status 1, and nothing else goes wrong on
# the way out (an empty actor pid under the supervisor used to end in "bad
# array subscript"). The script is sourced, so only its functions run.
set -uo pipefail
ROOT=${ALYS_SOURCE_ROOT:?ALYS_SOURCE_ROOT is not set}
tmp=$(mktemp -d)
sleeper=
cleanup() {
    [[ -n $sleeper ]] && kill "$sleeper" 2>/dev/null
    rm -rf -- "$tmp"
}
trap cleanup EXIT
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# a CLI that answers an error reply, as the real one does with --json
cat >"$tmp/fake-cli" <<'CLI'
#!/bin/sh
echo '{"v":1,"id":7,"ok":false,"error":{"code":"FINALIZED_CONFLICT","message":"block 3 is finalized","retryable":false}}'
exit 1
CLI
chmod +x "$tmp/fake-cli"
sleep 60 &
sleeper=$!

# run_call: devnet's `call revert_block` in a subshell, as under the
# supervisor (EL_PID its pid, no actor pid); prints its output, sets rc
run_call() {
    out=$(
        # shellcheck source=/dev/null
        source "$ROOT/scripts/devnet" || exit 99
        set +e
        trap - EXIT INT TERM
        RUNDIR=$tmp CLI_BIN=$tmp/fake-cli ENDPOINT=ipc://$tmp/none.sock
        EL_PID=$sleeper ACTOR_PID=
        call revert_block block_hash=0x01 2>&1
        echo "call returned $?"
    )
    rc=$?
}

run_call
printf '%s\n' "$out"
(( rc == 1 )) || fail "expected exit status 1 from call, got $rc"
[[ $out != *"bad array subscript"* ]] || fail "bad array subscript"
[[ $out == *"revert_block failed (alys-engine-cli exit status 1): FINALIZED_CONFLICT: block 3 is finalized"* ]] \
    || fail "the failure is not reported with its op and reason"
[[ $out != *"exited"* ]] || fail "a running service was reported as exited"

# the same with the execution client's supervisor gone: named, with its log
kill "$sleeper"; wait "$sleeper" 2>/dev/null
run_call
sleeper=
printf '%s\n' "$out"
(( rc == 1 )) || fail "expected exit status 1, got $rc"
[[ $out != *"bad array subscript"* ]] || fail "bad array subscript"
[[ $out == *"alys-supervisor (pid "*") exited"* ]] || fail "the dead supervisor is not named"
echo PASS
