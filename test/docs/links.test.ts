// Documentation points only at what a reader of the repository has: every
// relative Markdown link (and its #anchor) resolves, and every file path named
// in the docs or the Python bridge (docs/..., src/..., ../...) exists inside
// the repository.

import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

function filesUnder(dir: string, ext: RegExp): string[] {
  return readdirSync(path.join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => ext.test(f) && !f.includes('__pycache__'))
    .map((f) => path.join(dir, f));
}

const DOCS = ['README.md', ...filesUnder('docs', /\.md$/), ...filesUnder('interop', /\.(md|py)$/)];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'. */
function slug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
}

function anchors(file: string): Set<string> {
  const text = readFileSync(file, 'utf8');
  return new Set([...text.matchAll(/^#{1,6}\s+(.+)$/gm)].map((m) => slug(m[1].replace(/`/g, ''))));
}

function inside(file: string): boolean {
  const rel = path.relative(ROOT, file);
  return !rel.startsWith('..') && !path.isAbsolute(rel);
}

describe('documentation links', () => {
  for (const doc of DOCS) {
    it(`${doc}: relative links and named files exist in the repository`, () => {
      const text = readFileSync(path.join(ROOT, doc), 'utf8');
      const broken: string[] = [];
      if (doc.endsWith('.md')) {
        for (const m of text.matchAll(/\]\(([^)\s]+)\)/g)) {
          const [target, anchor] = m[1].split('#');
          if (/^[a-z]+:/i.test(target)) continue; // http(s), mailto
          const file = target === '' ? path.join(ROOT, doc) : path.resolve(ROOT, path.dirname(doc), target);
          if (!inside(file) || !existsSync(file)) broken.push(`link ${m[1]}`);
          else if (anchor && file.endsWith('.md') && !anchors(file).has(anchor)) broken.push(`anchor ${m[1]}`);
        }
      }
      // Paths named in prose or code, from the repository root (as the docs write them).
      for (const m of text.matchAll(/(?<![\w/.-])((?:\.\.\/)+[\w.-][\w./-]*|(?:docs|src|test|bench|interop|bin)\/[\w./-]*\.(?:md|ts|py|json|js)(?!\w))/g)) {
        const named = m[1].replace(/[.]+$/, '');
        const file = path.resolve(ROOT, named);
        if (!inside(file) || !existsSync(file)) broken.push(`path ${named}`);
      }
      expect(broken).to.deep.equal([]);
    });
  }
});
