/**
 * One incident = one issue. An issue belongs to an incident by a hidden marker in its body
 * (`<!-- postgres-dr:incident:<key> -->`, key = repository + workflow + backup set); the number of
 * occurrences lives beside it (`<!-- postgres-dr:occurrences:<n> -->`) so a repeat failure comments
 * "occurrence #n" on the open issue instead of opening another, and a success comments and closes it.
 */
import type { GitHubIssues, Issue, RepoRef } from './client.js';

const MARKER_PREFIX = '<!-- postgres-dr:incident:';
const COUNT_RE = /<!-- postgres-dr:occurrences:(\d+) -->/;

/** The incident key: stable for a workflow and set, safe inside an HTML comment. */
export function incidentKey(repository: string, workflow: string, set: string): string {
  return [repository, workflow, set || '-'].map((p) => encodeURIComponent(p.trim())).join(':');
}

export function incidentMarker(key: string): string {
  return `${MARKER_PREFIX}${key} -->`;
}

export function occurrencesMarker(n: number): string {
  return `<!-- postgres-dr:occurrences:${n} -->`;
}

/** Occurrences recorded in an issue body (1 when the issue predates the counter). */
export function occurrencesIn(body: string): number {
  const m = COUNT_RE.exec(body);
  return m ? Math.max(1, Number(m[1])) : 1;
}

export function withOccurrences(body: string, n: number): string {
  return COUNT_RE.test(body) ? body.replace(COUNT_RE, occurrencesMarker(n)) : `${body}\n${occurrencesMarker(n)}`;
}

/** Removes anything that could pose as our markers from user-supplied text. */
export function neutralizeMarkers(text: string): string {
  return text.replace(/<!--\s*postgres-dr:/gi, '<!-- (quoted) postgres-dr-');
}

/** The open issue of this incident, if any: the oldest when several carry the marker. */
export async function findOpenIncident(
  github: GitHubIssues,
  repo: RepoRef,
  label: string,
  key: string,
): Promise<Issue | undefined> {
  const marker = incidentMarker(key);
  const issues = await github.listOpenIssues(repo, label);
  return issues.filter((i) => i.body.includes(marker)).sort((a, b) => a.number - b.number)[0];
}
