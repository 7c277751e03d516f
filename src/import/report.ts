// What `runit-ts import` prints for each service: where it came from, each
// key mapped and to what, the notes, and each key not mapped with its
// reason; and the file-level settings that belong to no service. Pure text.
import type { ImportedService, ImportResult } from './common.js';

export function serviceReport(service: ImportedService): string {
  const { spec, mapped } = service;
  const lines = [`${spec.name}${spec.source ? ` (from ${spec.source})` : ''}`];
  if (mapped.length > 0) {
    lines.push('  mapped:');
    for (const m of mapped) lines.push(`    ${m.key} = ${oneLine(m.value)} -> ${m.to}`);
  }
  if (spec.notes && spec.notes.length > 0) {
    lines.push('  notes:');
    for (const n of spec.notes) lines.push(`    ${oneLine(n)}`);
  }
  if (spec.notMapped && spec.notMapped.length > 0) {
    lines.push('  not mapped:');
    for (const n of spec.notMapped) lines.push(`    ${n.key}${n.value === undefined ? '' : ` = ${oneLine(n.value)}`}: ${n.reason}`);
  }
  return `${lines.join('\n')}\n`;
}

export function fileReport(result: ImportResult): string {
  if (result.notMapped.length === 0) return '';
  const lines = ['not mapped (no service):'];
  for (const n of result.notMapped) lines.push(`  ${n.key}${n.value === undefined ? '' : ` = ${oneLine(n.value)}`}: ${n.reason}`);
  return `${lines.join('\n')}\n`;
}

function oneLine(text: string): string {
  const flat = text.replace(/\n/g, '\\n');
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}
