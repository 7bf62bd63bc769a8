/** The Stripe CLI binary of the platform's @stripe/cli-* package, or null when none is installed. */
export function stripeBinary (): string | null
