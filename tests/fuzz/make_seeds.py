#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets other than fuzz_proto (whose
corpus comes from make_corpus.c) into tests/fuzz/seeds/TARGET/: a few valid
inputs of each kind and a few near misses, so that libFuzzer starts from
the shapes the decoders expect. Payloads come from the recorded block
vectors in tests/data. Run from anywhere; it rewrites the seed directories.
"""
import json
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")
SEEDS = os.path.join(HERE, "seeds")


def h(byte, n):
    return "0x" + ("%02x" % byte) * n


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def payloads():
    out = []
    for fork_index, fork in enumerate(["shanghai", "cancun", "prague"]):
        with open(os.path.join(DATA, "blocks-%s.json" % fork)) as f:
            vectors = json.load(f)
        # the smallest block and the one with the most transactions
        blocks = sorted(vectors["blocks"], key=lambda b: len(b["executionPayload"]["transactions"]))
        for b in (blocks[0], blocks[-1]):
            out.append((fork_index, b["executionPayload"]))
    return out


LOG = {"address": h(0x11, 20), "topics": [h(0x22, 32)], "data": "0x1234",
       "blockNumber": "0x5", "blockHash": h(0x33, 32), "transactionHash": h(0x44, 32),
       "transactionIndex": "0x0", "logIndex": "0x1", "removed": False}
RECEIPT = {"transactionHash": h(0x44, 32), "blockHash": h(0x33, 32), "blockNumber": "0x5",
           "transactionIndex": "0x0", "status": "0x1", "gasUsed": "0x5208",
           "cumulativeGasUsed": "0x5208", "contractAddress": None, "logs": [LOG]}
TX = {"hash": h(0x44, 32), "from": h(0x55, 20), "to": None, "nonce": "0x0", "value": "0x1",
      "input": "0x"}
BLOCK = {"hash": h(0x33, 32), "parentHash": h(0x32, 32), "number": "0x5", "timestamp": "0x10",
         "gasLimit": "0x1c9c380", "gasUsed": "0x0", "baseFeePerGas": "0x7", "miner": h(0x66, 20),
         "stateRoot": h(1, 32), "receiptsRoot": h(2, 32), "logsBloom": h(0, 256),
         "extraData": "0x", "mixHash": h(3, 32), "withdrawals": [], "transactions": [h(0x44, 32)]}
WITHDRAWAL = {"index": "0x0", "validatorIndex": "0x0", "address": h(0x77, 20), "amount": "0x64"}


def main():
    if os.path.isdir(SEEDS):
        shutil.rmtree(SEEDS)
    # execution-client answers: first byte = lenient bit | batch size
    write("fuzz_el_answer", "single-ok", b"\x00" + compact({"jsonrpc": "2.0", "id": 1, "result": "0x1"}))
    write("fuzz_el_answer", "single-error", b"\x00" + compact(
        {"jsonrpc": "2.0", "id": 1, "error": {"code": -38001, "message": "Unknown payload"}}))
    write("fuzz_el_answer", "single-null", b"\x00" + compact({"jsonrpc": "2.0", "id": 1, "result": None}))
    write("fuzz_el_answer", "batch-ok", b"\x02" + compact(
        [{"jsonrpc": "2.0", "id": 2, "result": "0x2"}, {"jsonrpc": "2.0", "id": 1, "result": {"a": []}}]))
    write("fuzz_el_answer", "batch-lenient", b"\x83" + compact(
        [{"id": 1, "result": "0x1"}, {"id": 2, "error": {"code": 1, "message": "x"}},
         {"id": 3, "result": None}]))
    write("fuzz_el_answer", "batch-dup", b"\x02" + compact([{"id": 1, "result": 1}, {"id": 1, "result": 1}]))
    write("fuzz_el_answer", "dup-key", b"\x00" + b'{"id":1,"result":1,"result":2}')

    # decoders: first byte picks payload, block, receipt, log, withdrawal,
    # status, value (see fuzz_el_decode.c)
    for i, (fork, p) in enumerate(payloads()):
        write("fuzz_el_decode", "payload-%d" % i, b"\x00" + compact(p))
        write("fuzz_block_hash", "payload-%d" % i, bytes([fork]) + compact(p))
    write("fuzz_el_decode", "block-hashes", b"\x01" + compact(BLOCK))
    full = dict(BLOCK, transactions=[TX], withdrawals=[WITHDRAWAL])
    write("fuzz_el_decode", "block-full", b"\x01" + compact(full))
    write("fuzz_el_decode", "receipt", b"\x02" + compact(RECEIPT))
    write("fuzz_el_decode", "log", b"\x03" + compact(LOG))
    write("fuzz_el_decode", "withdrawal", b"\x04" + compact(WITHDRAWAL))
    write("fuzz_el_decode", "status-valid", b"\x05" + compact(
        {"status": "VALID", "latestValidHash": h(1, 32), "validationError": None}))
    write("fuzz_el_decode", "status-invalid", b"\x05" + compact(
        {"status": "INVALID", "latestValidHash": h(2, 32), "validationError": "bad"}))
    write("fuzz_el_decode", "status-syncing", b"\x05" + compact(
        {"status": "SYNCING", "latestValidHash": None, "validationError": None}))
    write("fuzz_el_decode", "fcu-answer", b"\x05" + compact(
        {"payloadStatus": {"status": "VALID", "latestValidHash": h(1, 32)}, "payloadId": "0x0102030405060708"}))
    write("fuzz_el_decode", "quantity", b"\x06" + b'"0x1c9c380"')
    write("fuzz_el_decode", "u256", b"\x06" + b'"0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"')

    write("fuzz_state_file", "full", ("# fork choice\nhead=%s\nsafe=%s\nfinalized=%s\nfinalized_number=12\n"
                                      % (h(1, 32), h(2, 32), h(3, 32))).encode())
    write("fuzz_state_file", "none", b"head=none\nsafe=none\nfinalized=none\nfinalized_number=0\n")
    write("fuzz_state_file", "short", b"head=0x01\n")

    with open(os.path.join(HERE, "..", "..", "deploy", "alys-supervisor.conf"), "rb") as f:
        write("fuzz_sup_config", "deploy", f.read())
    write("fuzz_sup_config", "small", b"supervisor\n    intensity = 3\n    period = 10s\n"
          b"children\n    a\n        program = /bin/true\n        restart = transient\n"
          b"        health = \"ipc:///tmp/x.sock\"\n        ping_interval = 250ms\n"
          b"        env\n            K = v\n")
    write("fuzz_sup_config", "curve", b"children\n    a\n        program = /bin/true\n"
          b"        health = \"tcp://127.0.0.1:5555\"\n        health_curve_cert = /nonexistent\n"
          b"        health_curve_server_key = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n")

    # CLI conversions: first byte picks the conversion, second a variant
    write("fuzz_cli_convert", "quantity", b"\x00\x00" + b"0x1f")
    write("fuzz_cli_convert", "quantity-dec", b"\x00\x00" + b"18446744073709551615")
    write("fuzz_cli_convert", "u256", b"\x01\x00" + b"115792089237316195423570985008687907853269984665640564039457584007913129639935")
    write("fuzz_cli_convert", "fixed", b"\x02\x01" + h(0xab, 20).encode())
    write("fuzz_cli_convert", "json", b"\x03\x00" + compact(
        {"a": [1, -2, "0xabcd", "text", True, None], "b": {"c": "0x"}}))
    write("fuzz_cli_convert", "args-build", b"\x04\x02" + b"timestamp=1700000000\n"
          b"withdrawals=0x1111111111111111111111111111111111111111:10000")
    write("fuzz_cli_convert", "args-block", b"\x04\x08" + b"block=latest\nfull_transactions=true")
    write("fuzz_cli_convert", "scalar", b"\x05\x00" + h(1, 32).encode())


if __name__ == "__main__":
    main()
