/**
 * Reads a V8 .cpuprofile (node --cpu-prof) and prints where self time went: the top functions, and
 * totals by origin (a package under node_modules, a directory of this repository, node internals,
 * GC, idle). Usage: node bench/profile-top.ts FILE.cpuprofile [TOP_N]
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTimeRow {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Time not idle. */
  busyMs: number;
  functions: SelfTimeRow[];
  origins: SelfTimeRow[];
}

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function originOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = file.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = file.slice(modules + 'node_modules/'.length).split('/');
    return `npm:${rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? '')}`;
  }
  if (file.startsWith('node:')) return 'node-internals';
  const relative = path.relative(REPO_ROOT, file);
  if (!relative.startsWith('..')) return relative.split(path.sep).slice(0, 2).join('/');
  return file;
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  if (url === '') return functionName || '(anonymous)';
  const file = url.startsWith('file://') ? path.relative(REPO_ROOT, fileURLToPath(url)) : url;
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

export function summarizeProfile(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const functions = new Map<string, number>();
  const origins = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    totalUs += us;
    if (node.callFrame.functionName === '(idle)') idleUs += us;
    const name = label(node);
    functions.set(name, (functions.get(name) ?? 0) + us);
    const origin = originOf(node.callFrame.url, node.callFrame.functionName);
    origins.set(origin, (origins.get(origin) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const rows = (map: Map<string, number>, n: number): SelfTimeRow[] =>
    [...map.entries()]
      .filter(([name]) => name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, functions: rows(functions, top), origins: rows(origins, 20) };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const pct = (share: number) => `${(share * 100).toFixed(1).padStart(5)}%`;
  const lines = [`busy ${summary.busyMs.toFixed(0)} ms of ${summary.totalMs.toFixed(0)} ms sampled (main thread; isolate threads are not in a --cpu-prof profile)`, '', 'self time by origin:'];
  for (const row of summary.origins) lines.push(`  ${pct(row.share)}  ${row.ms.toFixed(0).padStart(7)} ms  ${row.name}`);
  lines.push('', 'top functions by self time:');
  for (const row of summary.functions) lines.push(`  ${pct(row.share)}  ${row.ms.toFixed(0).padStart(7)} ms  ${row.name}`);
  return lines.join('\n');
}

export function readProfile(file: string): CpuProfile {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (file === '--help' || file === '-h') {
    process.stdout.write('usage: node bench/profile-top.ts FILE.cpuprofile [TOP_N]\n\nPrints where self time went in a V8 CPU profile (node --cpu-prof): the top TOP_N (25)\nfunctions and totals by origin.\n');
    process.exit(0);
  }
  if (!file) {
    process.stderr.write('usage: node bench/profile-top.ts FILE.cpuprofile [TOP_N]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatProfileSummary(summarizeProfile(readProfile(file), Number(process.argv[3] ?? 25)))}\n`);
}
