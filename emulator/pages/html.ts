export function escapeHtml (s: unknown): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)
}

export function page (title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
label,input,button{display:block;margin:.5rem 0}input{padding:.5rem;width:100%}button{padding:.5rem 1rem}
.note{color:#666;font-size:.9rem}</style></head>
<body><p class="note">Tollgate Stripe emulator — test mode, no real payment</p>${body}</body></html>`
}
