/**
 * Reads the repository's Dockerfile into stages of instructions, so tests can check it and replay its
 * runtime stage (no image can be built on these machines: no container registry is reachable).
 * Enough of the syntax for our own file: comments, `\` continuations, `FROM … AS name`.
 */
import { readFileSync } from 'node:fs';

interface Instruction {
  /** Upper-case keyword: FROM, COPY, RUN, CMD… */
  readonly keyword: string;
  readonly args: string;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

export function readDockerfile(path: string): Stage[] {
  const logical = readFileSync(path, 'utf8')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args: args.trim() };
    if (instruction.keyword === 'FROM') {
      const [, image = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args) ?? [];
      stages.push({ image, name, instructions: [] });
    } else {
      const stage = stages.at(-1);
      if (!stage) throw new Error(`Dockerfile: ${instruction.keyword} before any FROM`);
      stage.instructions.push(instruction);
    }
  }
  return stages;
}

/** The arguments of an exec-form (JSON array) instruction such as CMD ["node", "dist/main.js"]. */
export function execForm(args: string): string[] {
  const parsed: unknown = JSON.parse(args.replace(/^(--\S+\s+)*(CMD\s+)?/, ''));
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new Error(`not an exec-form instruction: ${args}`);
  }
  return parsed;
}

export interface CopyFromStage {
  readonly stage: string;
  /** Path in that stage, relative to its WORKDIR. */
  readonly source: string;
  /** Path in this stage, relative to its WORKDIR. */
  readonly target: string;
}

/** `COPY --from=<stage> /app/<source> ./<target>` lines of a stage, with both paths relative to /app. */
export function copiesFromStages(stage: Stage, workdir = '/app'): CopyFromStage[] {
  return stage.instructions
    .filter((instruction) => instruction.keyword === 'COPY' && instruction.args.startsWith('--from='))
    .map(({ args }) => {
      const parts = args.split(/\s+/);
      const from = parts.find((part) => part.startsWith('--from='))!.slice('--from='.length);
      const [source, target] = parts.filter((part) => !part.startsWith('--'));
      if (!source?.startsWith(`${workdir}/`) || !target) throw new Error(`COPY outside ${workdir}: ${args}`);
      return { stage: from, source: source.slice(workdir.length + 1), target: target.replace(/^\.\//, '') };
    });
}
