// Emulated time = real time + an offset that only moves forward, so tests can skip months
// while webhook signatures keep using real time (receivers check tolerance against their clock).
export class Clock {
  private offsetSeconds = 0

  now (): number {
    return Math.floor(Date.now() / 1000) + this.offsetSeconds
  }

  advanceTo (target: number): void {
    this.offsetSeconds += Math.max(0, Math.floor(target) - this.now())
  }

  reset (): void {
    this.offsetSeconds = 0
  }
}
