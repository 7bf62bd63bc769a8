import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'
import { inboxPage } from './mail-page.js'

export interface CaughtMail {
  ID: string
  From: string
  To: string[]
  Subject: string
  Created: string
  Text: string
  HTML: string
  MessageID: string
  raw: string
}

export interface MailCatcher {
  smtpPort: number
  /** 0 when started without the HTTP listing. */
  httpPort: number
  messages: CaughtMail[]
  /** Client ports of the SMTP sessions open now: a fault test waits for a killed sender's to end. */
  openSessions: Set<number>
  close: () => Promise<void>
}

export interface MailCatcherOptions {
  /** 0 picks a free port. */
  smtpPort?: number
  /** Address the SMTP server listens on (127.0.0.1). */
  host?: string
  /** Serves the messages Mailpit-style at GET /api/v1/messages; omit for none. */
  httpPort?: number
  log?: (line: string) => void
}

/**
 * A stand-in for Mailpit: an SMTP server that keeps every message in memory and, optionally, lists
 * them over HTTP in the shape of Mailpit's `GET /api/v1/messages` so the same curl works with both,
 * with a small inbox page at `/` for a browser.
 * Used by `npm run stack` and by the end-to-end test.
 */
export async function startMailCatcher (opts: MailCatcherOptions = {}): Promise<MailCatcher> {
  const messages: CaughtMail[] = []
  const openSessions = new Set<number>()
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onConnect (session, callback) { openSessions.add(session.remotePort); callback() },
    onClose (session) { openSessions.delete(session.remotePort) },
    onData (stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        const mail = parseMail(raw, session.envelope.mailFrom ? session.envelope.mailFrom.address : '', session.envelope.rcptTo.map(r => r.address), messages.length + 1)
        messages.push(mail)
        opts.log?.(`to ${mail.To.join(', ')}: ${mail.Subject}`)
        callback()
      })
    }
  })
  await new Promise<void>((resolve, reject) => {
    smtp.once('error', reject)
    smtp.listen(opts.smtpPort ?? 0, opts.host ?? '127.0.0.1', () => resolve())
  })
  // A sender that dies mid-session (a worker killed by a fault test) resets its connection; the
  // catcher keeps serving everyone else.
  smtp.on('error', err => opts.log?.(`smtp: ${err.message}`))
  const smtpPort = (smtp.server.address() as AddressInfo).port

  let api: http.Server | undefined
  if (opts.httpPort !== undefined) {
    api = http.createServer((req, res) => {
      const send = (status: number, body: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)) }
      if (req.url === '/api/v1/messages' && req.method === 'GET') {
        const newestFirst = [...messages].reverse().map(({ raw, ...m }) => ({ ...m, To: m.To.map(Address => ({ Name: '', Address })), Snippet: m.Text.slice(0, 200) }))
        return send(200, { total: messages.length, messages: newestFirst })
      }
      if (req.url === '/api/v1/messages' && req.method === 'DELETE') { messages.length = 0; return send(200, 'ok') }
      if (req.url === '/' && req.method === 'GET') {
        return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(inboxPage(messages))
      }
      const html = /^\/messages\/(\d+)\.html$/.exec(req.url ?? '')
      const found = html && messages.find(m => m.ID === html[1])
      if (found && req.method === 'GET') {
        // The message's own HTML, shown as the recipient would see it but unable to run scripts.
        return res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': 'sandbox' }).end(found.HTML)
      }
      send(404, { error: 'not found' })
    })
    await new Promise<void>((resolve, reject) => { api!.once('error', reject); api!.listen(opts.httpPort, '127.0.0.1', () => resolve()) })
  }

  return {
    smtpPort,
    httpPort: api ? (api.address() as AddressInfo).port : 0,
    messages,
    openSessions,
    async close () {
      await new Promise<void>(resolve => smtp.close(() => resolve()))
      if (api) { api.closeAllConnections(); await new Promise<void>(resolve => api!.close(() => resolve())) }
    }
  }
}

interface Part { headers: (name: string) => string, body: string }

function splitPart (raw: string): Part {
  const split = raw.search(/\r?\n\r?\n/)
  const head = (split < 0 ? raw : raw.slice(0, split)).replace(/\r?\n[ \t]+/g, ' ')
  const body = split < 0 ? '' : raw.slice(split).replace(/^\r?\n\r?\n/, '')
  const headers = (name: string) => head.split(/\r?\n/).find(l => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.slice(name.length + 1).trim() ?? ''
  return { headers, body }
}

function decodeBody (part: Part): string {
  const encoding = part.headers('Content-Transfer-Encoding').toLowerCase()
  if (encoding === 'base64') return Buffer.from(part.body.replace(/\s+/g, ''), 'base64').toString('utf8')
  if (encoding === 'quoted-printable') {
    const bytes = part.body.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16)))
    return Buffer.from(bytes, 'latin1').toString('utf8').trim()
  }
  return part.body.trim()
}

/** The text and HTML bodies of a message, whether it is a single part or multipart/alternative. */
function bodies (message: Part): { text: string, html: string } {
  const type = message.headers('Content-Type')
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1]
  if (!boundary) return type.toLowerCase().startsWith('text/html') ? { text: '', html: decodeBody(message) } : { text: decodeBody(message), html: '' }
  const parts = message.body.split(`--${boundary}`).slice(1, -1).map(p => splitPart(p.replace(/^\r?\n/, '')))
  const find = (mime: string) => parts.find(p => p.headers('Content-Type').toLowerCase().startsWith(mime))
  const text = find('text/plain')
  const html = find('text/html')
  return { text: text ? decodeBody(text) : '', html: html ? decodeBody(html) : '' }
}

function parseMail (raw: string, from: string, to: string[], n: number): CaughtMail {
  const message = splitPart(raw)
  const { text, html } = bodies(message)
  return {
    ID: String(n),
    From: from,
    To: to,
    Subject: decodeWords(message.headers('Subject')),
    Created: new Date().toISOString(),
    Text: text,
    HTML: html,
    MessageID: message.headers('Message-ID'),
    raw
  }
}

/** Decodes RFC 2047 encoded words (`=?UTF-8?Q?…?=` / `=?UTF-8?B?…?=`), which nodemailer uses for non-ASCII subjects. */
function decodeWords (value: string): string {
  return value.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*/g, (_m, _charset: string, enc: string, text: string) =>
    enc.toUpperCase() === 'B'
      ? Buffer.from(text, 'base64').toString('utf8')
      : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_x, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8'))
}
