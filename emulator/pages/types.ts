export interface PageAnswer {
  status: number
  html: string
  location?: string
}
