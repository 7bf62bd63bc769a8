import { createHash, timingSafeEqual } from 'node:crypto'

/** SHA-256 of a secret: fixed length, so digests of any two inputs can go through `timingSafeEqual`. */
export const digest = (s: string) => createHash('sha256').update(s).digest()

/**
 * A constant-time check of a presented secret against one expected secret. Both sides are
 * compared as SHA-256 digests: equal lengths whatever is sent, so `timingSafeEqual` applies and the
 * time taken says nothing about the secret.
 */
export function secretMatcher (expected: string): (given: string | null | undefined) => boolean {
  const want = digest(expected)
  return given => timingSafeEqual(digest(given ?? ''), want) && given != null
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken (header: string | undefined): string | null {
  return /^Bearer ([^\s]{1,512})$/i.exec(header ?? '')?.[1] ?? null
}
