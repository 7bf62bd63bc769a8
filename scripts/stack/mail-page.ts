import type { CaughtMail } from './mail-catcher.js'

const escape = (s: string) => s.replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/**
 * The catcher's own inbox at `/`: every message, newest first, with its time, recipients, subject
 * and text body; the HTML body opens at `/messages/<ID>.html`. It reloads itself when a message
 * arrives. Built for a person on the demo, not for volume.
 */
export function inboxPage (messages: CaughtMail[]): string {
  const rows = [...messages].reverse().map(m => `
<details>
  <summary><time>${escape(m.Created.replace('T', ' ').slice(0, 19))}</time> <b>${escape(m.Subject || '(no subject)')}</b> to ${escape(m.To.join(', '))}</summary>
  <p class="meta">From ${escape(m.From)} · Message-ID ${escape(m.MessageID)}${m.HTML ? ` · <a href="messages/${escape(m.ID)}.html" target="_blank">HTML version</a>` : ''}</p>
  <pre>${escape(m.Text || '(no text part)')}</pre>
</details>`).join('')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Mail caught by the stack (${messages.length})</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; padding: 0 1rem; color: #1d2330 }
details { border-bottom: 1px solid #dde1e8; padding: .6rem 0 } summary { cursor: pointer } time { color: #667085; font-variant-numeric: tabular-nums; margin-right: .6rem }
pre { white-space: pre-wrap; background: #f5f6f8; padding: .8rem; border-radius: 4px } .meta { color: #667085; font-size: 13px }
</style></head><body>
<h1>Mail caught by the stack</h1>
<p class="meta">${messages.length} message(s), newest first, kept in memory until the stack stops. JSON at <a href="api/v1/messages">/api/v1/messages</a>.</p>
${rows || '<p>No mail yet.</p>'}
<script>
const seen = ${messages.length}
setInterval(async () => {
  const list = await fetch('api/v1/messages').then(r => r.json()).catch(() => null)
  if (list && list.total !== seen) location.reload()
}, 2000)
</script>
</body></html>`
}
