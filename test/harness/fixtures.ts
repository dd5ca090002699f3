/** Sample data with the awkward types a backup must carry unchanged, and a way to compare databases. */
import { psql } from './context.js';

export const AWKWARD_SCHEMA_SQL = `
CREATE SCHEMA sales;
CREATE SCHEMA "Weird Schema";
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE public.people (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  nickname text,
  photo bytea,
  profile jsonb,
  tags text[],
  scores int[],
  balance numeric(20, 6),
  ratio double precision,
  born date,
  seen_at timestamptz,
  wake time,
  span interval,
  feeling mood,
  active boolean,
  ip inet,
  uid uuid
);
INSERT INTO public.people (name, nickname, photo, profile, tags, scores, balance, ratio, born, seen_at, wake, span, feeling, active, ip, uid) VALUES
  ('Zoë Ñúñez', NULL, '\\x00ff10ab', '{"a": [1, 2, {"b": null}], "ünï": "çødé"}', ARRAY['x', NULL, 'with "quotes"', 'comma,inside'], ARRAY[1, -2, 3], 12345678901234.123456, 0.1, '1970-01-01', '2024-03-31 01:59:59.999999+01', '23:59:59', '1 year 2 mons -3 days 04:05:06', 'happy', true, '192.168.0.1/24', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
  ('日本語テキスト', 'emoji 🎉🐘', '\\x', '[]', '{}', NULL, -0.000001, 'NaN', 'infinity', '-infinity', '00:00', '0', 'sad', false, '::1', NULL),
  (E'tab\\tnewline\\nbackslash\\\\ end', '', NULL, 'null', ARRAY['']::text[], ARRAY[]::int[], NULL, 1e308, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE sales.orders (
  id int PRIMARY KEY,
  person_id bigint REFERENCES public.people(id),
  amount numeric(12, 2) NOT NULL,
  placed_at timestamptz NOT NULL,
  note text
);
INSERT INTO sales.orders
  SELECT g, 1 + (g % 3), (g * 7 % 100000) / 100.0, timestamptz '2020-01-01 00:00:00+00' + g * interval '37 minutes', repeat(md5(g::text), g % 5)
  FROM generate_series(1, 20000) g;
CREATE INDEX ON sales.orders (placed_at);
CREATE TABLE "Weird Schema"."Mixed Case ""Table""" ("Col A" text, "select" int);
INSERT INTO "Weird Schema"."Mixed Case ""Table""" VALUES ('a', 1), ('a', 1), (NULL, NULL);
CREATE TABLE public.empty_table (x int);
CREATE VIEW public.big_orders AS SELECT * FROM sales.orders WHERE amount > 900;
CREATE SEQUENCE public.counter START 42;
SELECT setval('public.counter', 1000);
`;

/** Adds a table of about `megabytes` MB of mixed rows. */
export function addLargeTable(db: string, megabytes: number): void {
  const rows = Math.max(1, Math.round((megabytes * 1024 * 1024) / 520));
  psql(
    db,
    `CREATE TABLE public.events (id bigint PRIMARY KEY, kind text, payload jsonb, blob bytea, at timestamptz);
     INSERT INTO public.events
       SELECT g, 'kind-' || (g % 17), jsonb_build_object('n', g, 'text', repeat(md5(g::text), 4)),
              decode(md5(g::text) || md5((g + 1)::text), 'hex'), timestamptz '2021-06-01 00:00+00' + g * interval '1 second'
       FROM generate_series(1, ${rows}) g;`,
  );
}

/**
 * Each table's row count and a digest of its sorted rows (canonical output settings): two databases
 * with the same contents give the same map. Independent of the product's own checksum algorithm.
 */
export function contentsOf(db: string): Record<string, string> {
  const tables = psql(
    db,
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1`,
  )
    .split('\n')
    .filter(Boolean);
  const out: Record<string, string> = {};
  for (const t of tables) {
    out[t] = psql(
      db,
      `SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3;
       SELECT count(*) || ':' || coalesce(md5(string_agg(r::text, E'\\n' ORDER BY r::text)), '-') FROM ${t} r`,
    );
  }
  if (psql(db, `SELECT to_regclass('public.counter') IS NOT NULL`) === 't') {
    out['sequence public.counter'] = psql(db, 'SELECT last_value FROM public.counter');
  }
  return out;
}
