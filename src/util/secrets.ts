/**
 * Secrets known to this process. Everything that leaves the process as text (logs, summaries, error
 * messages, issue bodies) goes through `redact`; the actions also register each with core.setSecret.
 */
const secrets = new Set<string>();
const listeners: Array<(secret: string) => void> = [];

export function registerSecret(value: string | undefined | null): void {
  if (!value) return;
  for (const v of secretForms(value)) {
    if (v.length < 3 || secrets.has(v)) continue;
    secrets.add(v);
    for (const l of listeners) l(v);
  }
}

/** The forms a secret can take in text: as is, each line of a multi-line one, URL-encoded. */
function secretForms(value: string): string[] {
  const forms = [value, encodeURIComponent(value)];
  if (value.includes('\n')) {
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= 8) forms.push(line.trim());
  }
  return forms;
}

export function onSecret(listener: (secret: string) => void): void {
  listeners.push(listener);
  for (const s of secrets) listener(s);
}

export function redact(text: string): string {
  let out = text;
  // Longest first so that a secret containing another is replaced whole.
  for (const s of [...secrets].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
  // Credentials in any URL, registered or not.
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/)([^/\s:@]*):([^@\s/]*)@/gi, '$1$2:***@');
}
