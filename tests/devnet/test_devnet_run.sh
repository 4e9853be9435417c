#!/usr/bin/env bash
# scripts/devnet end to end: three blocks with the dev account's transfers
# and a contract's logs read back from the receipts, the peg-in balance
# check, then one more block on the kept chain, whose balance check must
# count what the address held before that run.
set -uo pipefail
ROOT=${ALYS_SOURCE_ROOT:?ALYS_SOURCE_ROOT is not set}
dir=$(mktemp -d /tmp/alys-devnet-test-XXXXXX)
trap 'rm -rf -- "$dir"' EXIT
fail() { printf 'FAIL: %s\n' "$*" >&2; [[ -f $dir/supervisor.log ]] && tail -n 30 "$dir/supervisor.log" >&2; exit 1; }
export ALYS_SKIP_SETUP=1

out=$("$ROOT/scripts/devnet" --blocks 3 --interval 0 --dir "$dir" 2>&1)
rc=$?
printf '%s\n' "$out"
(( rc == 0 )) || fail "scripts/devnet --blocks 3 exited with $rc"
# block lines: number, hash, txs, logs, ...
mapfile -t rows < <(awk '$1 ~ /^[0-9]+$/ && $2 ~ /^0x/ {print $1, $3, $4}' <<<"$out")
(( ${#rows[@]} == 3 )) || fail "expected 3 block lines, got ${#rows[@]}"
for i in 0 1 2; do
    read -r number txs logs <<<"${rows[i]}"
    (( number == i + 1 )) || fail "block line $i is block $number"
    (( txs == 3 )) || fail "block $number holds $txs transactions, expected 3 (2 transfers + 1 contract)"
    # block 1 deploys the contract; every later block calls it once
    (( logs == (i == 0 ? 0 : 1) )) || fail "block $number has $logs logs"
done
[[ $out == *"transactions:      9 sent, 9 included, 9 successful receipts, 2 logs"* ]] \
    || fail "transaction summary"
[[ $out == *"sats pegged in to it x 10^10, as expected"* ]] || fail "balance check"
[[ $out != *"bad array subscript"* && $out != *MISMATCH* ]] || fail "summary errors"
grep -q ' warn: ' "$dir/supervisor.log" && fail "warnings in a normal run: $(grep ' warn: ' "$dir/supervisor.log")"

out=$("$ROOT/scripts/devnet" --blocks 1 --interval 0 --dir "$dir" --keep 2>&1)
rc=$?
printf '%s\n' "$out"
(( rc == 0 )) || fail "scripts/devnet --keep exited with $rc"
[[ $out == *"blocks produced:   1 (head 4 "* ]] || fail "the kept chain did not go on at block 4"
# a new run deploys its own log contract in its first block: no log yet
[[ $out == *"transactions:      3 sent, 3 included, 3 successful receipts, 0 logs"* ]] \
    || fail "transactions on the kept chain"
[[ $out =~ (held\ before\ this\ run|"= "[0-9]+" sats pegged in to it x 10^10, as expected") ]] \
    || fail "balance check on the kept chain"
[[ $out != *MISMATCH* ]] || fail "balance mismatch on the kept chain"
echo PASS
