import { Type } from 'typebox'

export const ErrorBody = Type.Object({
  error: Type.String({ description: 'Machine-readable code' }),
  message: Type.String({ description: 'Human-readable explanation' })
}, { additionalProperties: true })
