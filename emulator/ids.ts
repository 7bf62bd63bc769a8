import { randomBytes } from 'node:crypto'

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

export function randomToken (length: number): string {
  const bytes = randomBytes(length)
  let out = ''
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i] % ALPHABET.length]
  return out
}

// Prefixes matter: Tollgate and `expand` both recognise object types by them.
export function newId (prefix: string): string {
  const length = prefix === 'cs_test' ? 58 : 24
  return `${prefix}_${randomToken(length)}`
}
