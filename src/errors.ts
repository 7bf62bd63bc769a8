/** The one error type the HTTP layer turns into `{error, message}` with a status. */
export class AppError extends Error {
  constructor (readonly statusCode: number, readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message)
    this.name = 'AppError'
  }
}
