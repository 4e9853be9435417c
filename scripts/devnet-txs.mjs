// The devnet's transactions for one block: signs them with the funded dev
// key using EthereumJS's own libraries (deploy/ethereumjs) and submits them
// with eth_sendRawTransaction, which every execution client serves, so the
// devnet's traffic does not depend on which client runs.
//
//   node scripts/devnet-txs.mjs --rpc URL --key 0x.. --nonce N --to 0xA,0xB
//        [--value WEI] [--contract 0x..|deploy]
//
// Sends one value transfer to each --to address, then either deploys the
// log contract (--contract deploy) or calls it (--contract 0x..) so that the
// block has a log. Prints one JSON line: {"hashes": [...], "contract":
// "0x.." or null, "nonce": the next nonce}. Exit status 1 with a message on
// stderr when the node refuses a transaction.
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(join(resolve(here, '..'), 'deploy', 'ethereumjs', 'package.json'))
const { createFeeMarket1559Tx } = require('@ethereumjs/tx')
const { createCustomCommon, Mainnet, Hardfork } = require('@ethereumjs/common')
const { hexToBytes, bytesToHex, createAddressFromPrivateKey, createContractAddress } =
  require('@ethereumjs/util')

// Init code of a contract whose every call logs its calldata: LOG2 with
// topic0 = 0xaa..aa and topic1 = the first 32 bytes of the calldata.
const LOGGER_INIT =
  '0x602f600c600039602f6000f3' +
  '3660006000376000357f' +
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' +
  '366000a200'

function parseArgs(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || i + 1 >= argv.length) throw new Error(`bad argument: ${argv[i]}`)
    out[argv[i].slice(2)] = argv[i + 1]
  }
  for (const need of ['rpc', 'key', 'nonce']) if (!(need in out)) throw new Error(`missing --${need}`)
  return out
}

async function rpc(url, calls) {
  const body = calls.map(([method, params], id) => ({ jsonrpc: '2.0', id, method, params }))
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  })
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`)
  const answers = await res.json()
  if (!Array.isArray(answers)) throw new Error(`${url}: not a batch answer`)
  answers.sort((a, b) => a.id - b.id)
  return answers
}

try {
  const args = parseArgs(process.argv.slice(2))
  const key = hexToBytes(args.key)
  const [chain] = await rpc(args.rpc, [['eth_chainId', []]])
  if (chain.error) throw new Error(`eth_chainId: ${chain.error.message}`)
  const chainId = BigInt(chain.result)
  const common = createCustomCommon({ chainId: Number(chainId) }, Mainnet, { hardfork: Hardfork.Cancun })
  let nonce = BigInt(args.nonce)
  const value = BigInt(args.value ?? '1000000000000000') // 0.001 ether
  const sign = (fields) => createFeeMarket1559Tx({
    chainId, nonce: nonce++, maxFeePerGas: 10_000_000_000n, maxPriorityFeePerGas: 1_000_000_000n,
    ...fields,
  }, { common }).sign(key)

  const txs = []
  for (const to of (args.to ?? '').split(',').filter(Boolean)) {
    txs.push(sign({ to, value, gasLimit: 21000n }))
  }
  let contract = null
  if (args.contract === 'deploy') {
    const sender = createAddressFromPrivateKey(key)
    contract = createContractAddress(sender, nonce).toString()
    txs.push(sign({ data: LOGGER_INIT, gasLimit: 200000n }))
  } else if (args.contract) {
    contract = args.contract
    // the calldata word: this transaction's nonce, so each log differs
    const word = '0x' + nonce.toString(16).padStart(64, '0')
    txs.push(sign({ to: contract, data: word, gasLimit: 100000n }))
  }
  const answers = txs.length
    ? await rpc(args.rpc, txs.map((tx) => ['eth_sendRawTransaction', [bytesToHex(tx.serialize())]]))
    : []
  const hashes = []
  for (const a of answers) {
    if (a.error) throw new Error(`eth_sendRawTransaction: ${a.error.message}`)
    hashes.push(a.result)
  }
  process.stdout.write(JSON.stringify({ hashes, contract, nonce: Number(nonce) }) + '\n')
} catch (err) {
  process.stderr.write(`devnet-txs: ${err.message}\n`)
  process.exit(1)
}
