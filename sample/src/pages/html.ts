/**
 * A piece of HTML that is already safe to insert (built by {@link html}). Anything else inserted into an
 * {@link html} template is escaped.
 */
export class SafeHtml {
  constructor(readonly value: string) {}

  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/**
 * Escapes text for HTML element content and quoted attribute values (`&`, `<`, `>`, `"`, `'`).
 *
 * @example escapeHtml('<script>') // '&lt;script&gt;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/**
 * Tagged template that escapes every interpolated value unless it is {@link SafeHtml}: escaping is the
 * default, so a user agent or a SKU cannot become markup by someone forgetting to escape it. Arrays are
 * concatenated; `null`, `undefined` and `false` render nothing. Put interpolations only in element content or
 * in double-quoted attributes (never in unquoted attributes, `<script>`, `style` or event handlers).
 *
 * @example html`<td>${session.userAgent}</td>`
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}
