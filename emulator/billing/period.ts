// Calendar arithmetic in UTC, so a subscription started on the 31st renews like Stripe's
// (clamped to the last day of shorter months).
export function addInterval (start: number, interval: string, count: number): number {
  const d = new Date(start * 1000)
  switch (interval) {
    case 'day':
      return start + 86_400 * count
    case 'week':
      return start + 7 * 86_400 * count
    case 'year':
      return addMonths(d, 12 * count)
    default:
      return addMonths(d, count)
  }
}

function addMonths (d: Date, months: number): number {
  const target = new Date(d.getTime())
  const day = d.getUTCDate()
  target.setUTCDate(1)
  target.setUTCMonth(target.getUTCMonth() + months)
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate()
  target.setUTCDate(Math.min(day, lastDay))
  return Math.floor(target.getTime() / 1000)
}
