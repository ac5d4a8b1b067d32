// The shell commands of the README, as a reader would type them: every line
// of every ```sh block, with backslash continuations joined, comments and
// blank lines dropped, and runs of spaces made one; a here-document is one
// command, its body kept as written.

import { readFileSync } from 'node:fs';

export function readmeCommands(readmePath: string): string[] {
  const text = readFileSync(readmePath, 'utf8');
  const commands: string[] = [];
  for (const block of text.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    const joined = block[1].replace(/\\\n\s*/g, ' ');
    const lines = joined.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].replace(/\s+#\s.*$/, '').replace(/\s+/g, ' ').trim();
      if (line === '' || line.startsWith('#')) continue;
      // A here-document is one command: its line, the body as written, and the end word.
      const heredoc = /<<'(\w+)'$/.exec(line);
      if (heredoc) {
        const end = lines.indexOf(heredoc[1], i + 1);
        if (end < 0) throw new Error(`README: here-document ${heredoc[1]} is never closed`);
        commands.push([line, ...lines.slice(i + 1, end + 1)].join('\n'));
        i = end;
      } else {
        commands.push(line);
      }
    }
  }
  return commands;
}
