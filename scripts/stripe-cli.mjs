#!/usr/bin/env node
// `npm run stripe -- <args>`: the official Stripe CLI binary from its platform package
// (@stripe/cli-<platform>-<arch>, an optional dependency), with signals passed on, so `stripe listen`
// stops on Ctrl-C. Where npm has no such package for this platform, install the CLI from Stripe.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'

export function stripeBinary () {
  try {
    const pkg = createRequire(import.meta.url).resolve(`@stripe/cli-${process.platform}-${process.arch}/package.json`)
    return path.join(path.dirname(pkg), 'bin', process.platform === 'win32' ? 'stripe.exe' : 'stripe')
  } catch {
    return null
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bin = stripeBinary()
  if (!bin) {
    console.error(`No Stripe CLI package for ${process.platform}-${process.arch} in node_modules; install the CLI from https://docs.stripe.com/stripe-cli`)
    process.exit(1)
  }
  const child = spawn(bin, process.argv.slice(2), { stdio: 'inherit', env: { STRIPE_CLI_TELEMETRY_OPTOUT: '1', ...process.env } })
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 : 1)))
}
