import Stripe from 'stripe'
import { renderEvent } from './render.js'
import { storeLookup } from './lookup.js'
import { isSupportedVersion, LATEST_VERSION, OLDEST_VERSION } from './names.js'
import type { Ctx } from '../context.js'
import type { Obj } from '../store.js'

/** The account's default version: the one given, else the pin of the SDK Tollgate uses. */
export function accountVersion (requested: string | undefined): string {
  const version = requested || Stripe.API_VERSION
  if (!isSupportedVersion(version)) {
    throw new Error(`Unsupported account API version ${version}: the emulator renders ${OLDEST_VERSION} to ${LATEST_VERSION}.`)
  }
  return version
}

/**
 * Renders events per API version. An event's body for one version is built once and shared by
 * every endpoint (and retry) of that version.
 */
export function eventPayloads (ctx: () => Ctx) {
  const cache = new WeakMap<Obj, Map<string, string>>()
  return {
    payload (event: Obj, version: string): string {
      let byVersion = cache.get(event)
      if (!byVersion) cache.set(event, (byVersion = new Map()))
      let body = byVersion.get(version)
      if (body === undefined) byVersion.set(version, (body = JSON.stringify(renderEvent(event, version, storeLookup(ctx())), null, 2)))
      return body
    }
  }
}
