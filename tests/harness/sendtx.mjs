// Builds and signs an EIP-1559 transaction with the pinned EthereumJS
// libraries and prints its raw 0x-hex serialization on stdout.
//
//   node sendtx.mjs --key 0x.. --chain-id N --nonce N [--to 0x..] [--value WEI]
//                   [--gas N] [--max-fee WEI] [--priority-fee WEI] [--data 0x..]
//
// An absent or empty --to makes a contract creation with --data as init code.
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = process.env.ALYS_SOURCE_ROOT || resolve(here, '..', '..')
const require = createRequire(join(root, 'deploy', 'ethereumjs', 'package.json'))
const { createFeeMarket1559Tx } = require('@ethereumjs/tx')
const { createCustomCommon, Mainnet, Hardfork } = require('@ethereumjs/common')
const { hexToBytes, bytesToHex } = require('@ethereumjs/util')

function parseArgs(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i]
    if (!name.startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`bad argument: ${name}`)
    }
    out[name.slice(2)] = argv[++i]
  }
  return out
}

function bigArg(args, name, fallback) {
  const text = args[name]
  if (text === undefined) {
    if (fallback === undefined) throw new Error(`missing --${name}`)
    return BigInt(fallback)
  }
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text)) throw new Error(`--${name} is not a number: ${text}`)
  return BigInt(text)
}

try {
  const args = parseArgs(process.argv.slice(2))
  if (!args.key) throw new Error('missing --key')
  const common = createCustomCommon(
    { chainId: Number(bigArg(args, 'chain-id')) },
    Mainnet,
    { hardfork: Hardfork.Cancun },
  )
  const data = args.data ?? '0x'
  if (!/^0x([0-9a-fA-F]{2})*$/.test(data)) throw new Error('--data is not 0x-hex')
  const to = args.to === undefined || args.to === '' ? undefined : args.to
  const tx = createFeeMarket1559Tx(
    {
      chainId: bigArg(args, 'chain-id'),
      nonce: bigArg(args, 'nonce'),
      to,
      value: bigArg(args, 'value', 0),
      gasLimit: bigArg(args, 'gas', to === undefined ? 3000000 : 21000),
      maxFeePerGas: bigArg(args, 'max-fee', 10000000000),
      maxPriorityFeePerGas: bigArg(args, 'priority-fee', 1000000000),
      data,
    },
    { common },
  )
  const signed = tx.sign(hexToBytes(args.key))
  process.stdout.write(bytesToHex(signed.serialize()) + '\n')
} catch (err) {
  process.stderr.write(`sendtx: ${err.message}\n`)
  process.exit(2)
}
