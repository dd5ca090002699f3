/**
 * GitHub Actions expressions (`${{ … }}`), evaluated as the runner does, for the workflow checks: literals,
 * context paths (with `.*`), `!`, `==`/`!=`/`<`…, `&&`/`||` returning an operand, and the functions the
 * workflows use. Missing context values are null; an expression embedded in a longer string is
 * interpolated with null as ''. No workflow is run: this only resolves values.
 */
export type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
export type Contexts = Record<string, Value>;

type Token = { kind: 'str' | 'num' | 'id' | 'op'; text: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw new Error(`unterminated string in ${src}`);
        if (src[i] === "'" && src[i + 1] === "'") {
          s += "'";
          i += 2;
        } else if (src[i] === "'") {
          i++;
          break;
        } else {
          s += src[i++];
        }
      }
      out.push({ kind: 'str', text: s });
    } else if (/[0-9]/.test(c)) {
      const m = /^[0-9.]+/.exec(src.slice(i)) as RegExpExecArray;
      out.push({ kind: 'num', text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_-]*/.exec(src.slice(i)) as RegExpExecArray;
      out.push({ kind: 'id', text: m[0] });
      i += m[0].length;
    } else {
      const two = src.slice(i, i + 2);
      if (['||', '&&', '==', '!=', '<=', '>='].includes(two)) {
        out.push({ kind: 'op', text: two });
        i += 2;
      } else if ('!()<>,.*[]'.includes(c)) {
        out.push({ kind: 'op', text: c });
        i++;
      } else {
        throw new Error(`unexpected '${c}' in ${src}`);
      }
    }
  }
  return out;
}

export const truthy = (v: Value | undefined): boolean =>
  !(v === null || v === undefined || v === false || v === '' || v === 0);

const asString = (v: Value | undefined): string =>
  v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);

function equal(a: Value, b: Value): boolean {
  if (typeof a === 'string' && typeof b === 'string') return a.toLowerCase() === b.toLowerCase();
  if (a === null || b === null) return a === b || asString(a) === asString(b);
  return asString(a).toLowerCase() === asString(b).toLowerCase();
}

const FUNCTIONS: Record<string, (...args: Value[]) => Value> = {
  always: () => true,
  success: () => true,
  failure: () => false,
  cancelled: () => false,
  contains: (hay, needle) =>
    Array.isArray(hay)
      ? hay.some((h) => equal(h, needle as Value))
      : asString(hay).toLowerCase().includes(asString(needle).toLowerCase()),
  startsWith: (s, p) => asString(s).toLowerCase().startsWith(asString(p).toLowerCase()),
  endsWith: (s, p) => asString(s).toLowerCase().endsWith(asString(p).toLowerCase()),
  format: (f, ...args) => asString(f).replace(/\{(\d+)\}/g, (_, n: string) => asString(args[Number(n)] ?? null)),
  toJSON: (v) => JSON.stringify(v),
  hashFiles: () => '',
};

export function evaluate(expression: string, contexts: Contexts): Value {
  const tokens = tokenize(expression);
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const eat = (text?: string): Token => {
    const t = tokens[pos];
    if (!t || (text !== undefined && t.text !== text)) throw new Error(`expected '${text}' in ${expression}`);
    pos++;
    return t;
  };
  const or = (): Value => {
    let left = and();
    while (peek()?.text === '||') {
      eat();
      const right = and();
      left = truthy(left) ? left : right;
    }
    return left;
  };
  const and = (): Value => {
    let left = comparison();
    while (peek()?.text === '&&') {
      eat();
      const right = comparison();
      left = truthy(left) ? right : left;
    }
    return left;
  };
  const comparison = (): Value => {
    let left = unary();
    for (;;) {
      const op = peek()?.text;
      if (op !== '==' && op !== '!=' && op !== '<' && op !== '>' && op !== '<=' && op !== '>=') return left;
      eat();
      const right = unary();
      if (op === '==') left = equal(left, right);
      else if (op === '!=') left = !equal(left, right);
      else {
        const a = Number(left);
        const b = Number(right);
        left = op === '<' ? a < b : op === '>' ? a > b : op === '<=' ? a <= b : a >= b;
      }
    }
  };
  const unary = (): Value => {
    if (peek()?.text === '!') {
      eat();
      return !truthy(unary());
    }
    return primary();
  };
  const primary = (): Value => {
    const t = eat();
    if (t.kind === 'str') return t.text;
    if (t.kind === 'num') return Number(t.text);
    if (t.text === '(') {
      const v = or();
      eat(')');
      return v;
    }
    if (t.kind !== 'id') throw new Error(`unexpected '${t.text}' in ${expression}`);
    if (t.text === 'true') return true;
    if (t.text === 'false') return false;
    if (t.text === 'null') return null;
    if (peek()?.text === '(') {
      eat('(');
      const args: Value[] = [];
      while (peek()?.text !== ')') {
        args.push(or());
        if (peek()?.text === ',') eat(',');
      }
      eat(')');
      const fn = FUNCTIONS[t.text];
      if (!fn) throw new Error(`unknown function ${t.text}() in ${expression}`);
      return fn(...args);
    }
    let value: Value = contexts[t.text] ?? null;
    let spread = false;
    for (;;) {
      const next = peek()?.text;
      if (next === '.') {
        eat('.');
        const key = eat();
        if (key.text === '*') {
          spread = true;
          value = value && typeof value === 'object' ? Object.values(value) : [];
          continue;
        }
        value = pick(value, key.text, spread);
      } else if (next === '[') {
        eat('[');
        const key = asString(or());
        eat(']');
        value = pick(value, key, spread);
      } else {
        return value;
      }
    }
  };
  const pick = (from: Value, key: string, spread: boolean): Value => {
    if (spread && Array.isArray(from)) return from.map((v) => pick(v, key, false));
    if (from && typeof from === 'object' && !Array.isArray(from)) {
      const hit = Object.keys(from).find((k) => k.toLowerCase() === key.toLowerCase());
      return hit === undefined ? null : (from[hit] ?? null);
    }
    return null;
  };
  const v = or();
  if (pos !== tokens.length) throw new Error(`trailing tokens in ${expression}`);
  return v;
}

/** A workflow value: a whole `${{ x }}` yields x's value; expressions inside text are interpolated. */
export function evaluateTemplate(value: unknown, contexts: Contexts): Value {
  if (typeof value !== 'string') return (value ?? null) as Value;
  const whole = /^\s*\$\{\{([\s\S]*?)\}\}\s*$/.exec(value);
  if (whole && !whole[1]?.includes('}}')) return evaluate(whole[1] as string, contexts);
  return value.replace(/\$\{\{([\s\S]*?)\}\}/g, (_, e: string) => asString(evaluate(e, contexts)));
}

/** An `if:`: an expression with or without the `${{ }}` wrapper. */
export function evaluateCondition(condition: unknown, contexts: Contexts): boolean {
  if (condition === undefined || condition === null) return true;
  if (typeof condition === 'boolean') return condition;
  const text = String(condition).trim();
  const whole = /^\$\{\{([\s\S]*)\}\}$/.exec(text);
  return truthy(evaluate(whole ? (whole[1] as string) : text, contexts));
}

export const stringOf = asString;
