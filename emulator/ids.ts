import { randomFillSync } from 'node:crypto'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

// Ids are made by the thousand when a clock advances: random bytes come from a pool refilled in
// blocks rather than one system call per id.
const pool = Buffer.alloc(4096)
let used = pool.length

export function randomToken (length: number): string {
  if (used + length > pool.length) {
    randomFillSync(pool)
    used = 0
  }
  let out = ''
  for (let i = 0; i < length; i++) out += ALPHABET[pool[used + i] % ALPHABET.length]
  used += length
  return out
}

// Prefixes matter: Tollgate and `expand` both recognise object types by them.
export function newId (prefix: string): string {
  const length = prefix === 'cs_test' ? 58 : 24
  return `${prefix}_${randomToken(length)}`
}
