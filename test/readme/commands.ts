// The shell commands of the README, as a reader would type them: every line
// of every ```sh block, with backslash continuations joined, comments and
// blank lines dropped, and runs of spaces made one.

import { readFileSync } from 'node:fs';

export function readmeCommands(readmePath: string): string[] {
  const text = readFileSync(readmePath, 'utf8');
  const commands: string[] = [];
  for (const block of text.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    const joined = block[1].replace(/\\\n\s*/g, ' ');
    for (const raw of joined.split('\n')) {
      const line = raw.replace(/\s+#\s.*$/, '').replace(/\s+/g, ' ').trim();
      if (line !== '' && !line.startsWith('#')) commands.push(line);
    }
  }
  return commands;
}
