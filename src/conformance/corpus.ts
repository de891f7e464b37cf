import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { ConformanceError } from './errors.js';

/** Properties that make an entry hard to package. */
export const TRAITS = ['esm', 'native-addon', 'wasm', 'spawns-binary', 'reads-own-files', 'platform-optional-deps', 'large'] as const;
export type Trait = (typeof TRAITS)[number];

export interface CorpusCommand {
  args: string[];
  /** Text piped to the program, empty when the corpus gives none. */
  stdin: string;
  /** The command's own work runs `node` from PATH, so the executable's run gets the reference `node` too. */
  spawnsNode: boolean;
  note?: string;
}

export interface CorpusEntry {
  name: string;
  /** Exact `name@version` to package. */
  spec: string;
  /** Package name, taken from `spec`. */
  packageName: string;
  bin: string;
  /** Packages installed beside the program, such as a peer dependency it loads at run time. */
  extraSpecs: string[];
  traits: Trait[];
  /** Files to create in each scratch working folder: relative path to content. */
  files: Record<string, string>;
  commands: CorpusCommand[];
}

/** One invalid field of the corpus, with the entry it belongs to. */
export interface CorpusIssue {
  /** `"figlet" (entry 0)`, or `corpus` for the top level. */
  entry: string;
  /** Field path inside the entry, such as `commands[1].args`. */
  field: string;
  message: string;
}

const ENTRY_KEYS = new Set(['name', 'spec', 'bin', 'extra_specs', 'traits', 'files', 'commands']);
const COMMAND_KEYS = new Set(['args', 'stdin', 'spawns_node', 'note']);

/** `name@version` with an optional scope. The version part may be any non-empty npm version or range. */
const SPEC_PATTERN = /^((?:@[^/@\s]+\/)?[^/@\s]+)@(\S+)$/;

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/** Returns why a `files` key cannot be created inside the scratch folder, or undefined when it can. */
function invalidFilePath(relativePath: string): string | undefined {
  if (relativePath === '') return 'is an empty path';
  if (path.posix.isAbsolute(relativePath) || relativePath.includes('\\')) return 'must be a relative path with forward slashes';
  const parts = relativePath.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..')) return 'must not contain empty, "." or ".." parts';
  return undefined;
}

/** Collects the issues of one entry and builds it when there are none. */
class EntryReader {
  readonly issues: CorpusIssue[] = [];

  constructor(
    private readonly label: string,
    private readonly raw: Record<string, unknown>,
  ) {}

  private issue(field: string, message: string): void {
    this.issues.push({ entry: this.label, field, message });
  }

  private requiredString(field: string): string {
    const value = this.raw[field];
    if (typeof value === 'string' && value.trim() !== '') return value;
    this.issue(field, `must be a non-empty string, found ${value === undefined ? 'nothing' : describeValue(value)}`);
    return '';
  }

  read(): CorpusEntry {
    for (const key of Object.keys(this.raw)) {
      if (!ENTRY_KEYS.has(key)) this.issue(key, `is not a known field (known: ${[...ENTRY_KEYS].join(', ')})`);
    }
    const name = this.requiredString('name');
    const spec = this.requiredString('spec');
    const bin = this.requiredString('bin');
    const specMatch = SPEC_PATTERN.exec(spec);
    if (spec !== '' && !specMatch) this.issue('spec', `must be an exact name@version, found ${JSON.stringify(spec)}`);

    return {
      name,
      spec,
      packageName: specMatch?.[1] ?? '',
      bin,
      extraSpecs: this.readExtraSpecs(),
      traits: this.readTraits(),
      files: this.readFiles(),
      commands: this.readCommands(),
    };
  }

  private readExtraSpecs(): string[] {
    const value = this.raw.extra_specs;
    if (value === undefined) return [];
    if (!isStringArray(value)) {
      this.issue('extra_specs', `must be an array of strings, found ${describeValue(value)}`);
      return [];
    }
    value.forEach((spec, index) => {
      if (!SPEC_PATTERN.test(spec)) this.issue(`extra_specs[${index}]`, `must be an exact name@version, found ${JSON.stringify(spec)}`);
    });
    return [...value];
  }

  private readTraits(): Trait[] {
    const value = this.raw.traits;
    if (!isStringArray(value)) {
      this.issue('traits', `must be an array of strings, found ${value === undefined ? 'nothing' : describeValue(value)}`);
      return [];
    }
    const traits: Trait[] = [];
    value.forEach((trait, index) => {
      if ((TRAITS as readonly string[]).includes(trait)) traits.push(trait as Trait);
      else this.issue(`traits[${index}]`, `is the unknown trait ${JSON.stringify(trait)} (known: ${TRAITS.join(', ')})`);
    });
    return traits;
  }

  private readFiles(): Record<string, string> {
    const value = this.raw.files;
    if (value === undefined) return {};
    if (!isRecord(value)) {
      this.issue('files', `must be an object of path to content, found ${describeValue(value)}`);
      return {};
    }
    const files: Record<string, string> = {};
    for (const [relativePath, content] of Object.entries(value)) {
      const field = `files[${JSON.stringify(relativePath)}]`;
      const pathProblem = invalidFilePath(relativePath);
      if (pathProblem) this.issue(field, pathProblem);
      if (typeof content !== 'string') this.issue(field, `content must be a string, found ${describeValue(content)}`);
      if (!pathProblem && typeof content === 'string') files[relativePath] = content;
    }
    return files;
  }

  private readCommands(): CorpusCommand[] {
    const value = this.raw.commands;
    if (!Array.isArray(value) || value.length === 0) {
      this.issue('commands', `must be a non-empty array, found ${value === undefined ? 'nothing' : describeValue(value)}`);
      return [];
    }
    return value.map((command, index) => this.readCommand(`commands[${index}]`, command));
  }

  private readCommand(field: string, raw: unknown): CorpusCommand {
    if (!isRecord(raw)) {
      this.issue(field, `must be an object, found ${describeValue(raw)}`);
      return { args: [], stdin: '', spawnsNode: false };
    }
    for (const key of Object.keys(raw)) {
      if (!COMMAND_KEYS.has(key)) this.issue(`${field}.${key}`, `is not a known field (known: ${[...COMMAND_KEYS].join(', ')})`);
    }
    if (!isStringArray(raw.args)) this.issue(`${field}.args`, `must be an array of strings, found ${raw.args === undefined ? 'nothing' : describeValue(raw.args)}`);
    if (raw.stdin !== undefined && typeof raw.stdin !== 'string') this.issue(`${field}.stdin`, `must be a string, found ${describeValue(raw.stdin)}`);
    if (raw.spawns_node !== undefined && typeof raw.spawns_node !== 'boolean') {
      this.issue(`${field}.spawns_node`, `must be true or false, found ${describeValue(raw.spawns_node)}`);
    }
    if (raw.note !== undefined && typeof raw.note !== 'string') this.issue(`${field}.note`, `must be a string, found ${describeValue(raw.note)}`);
    return {
      args: isStringArray(raw.args) ? [...raw.args] : [],
      stdin: typeof raw.stdin === 'string' ? raw.stdin : '',
      spawnsNode: raw.spawns_node === true,
      note: typeof raw.note === 'string' ? raw.note : undefined,
    };
  }
}

function entryLabel(raw: unknown, index: number): string {
  const name = isRecord(raw) && typeof raw.name === 'string' && raw.name !== '' ? raw.name : undefined;
  return name ? `${JSON.stringify(name)} (entry ${index})` : `entry ${index}`;
}

/** Lists every issue of a parsed corpus: the top level, each entry's fields and duplicate names. */
export function findCorpusIssues(data: unknown): { entries: CorpusEntry[]; issues: CorpusIssue[] } {
  if (!Array.isArray(data)) {
    return { entries: [], issues: [{ entry: 'corpus', field: '(top level)', message: `must be an array of entries, found ${describeValue(data)}` }] };
  }
  const issues: CorpusIssue[] = [];
  const entries: CorpusEntry[] = [];
  const seenNames = new Map<string, number>();
  data.forEach((raw, index) => {
    const label = entryLabel(raw, index);
    if (!isRecord(raw)) {
      issues.push({ entry: label, field: '(entry)', message: `must be an object, found ${describeValue(raw)}` });
      return;
    }
    const reader = new EntryReader(label, raw);
    const entry = reader.read();
    issues.push(...reader.issues);
    const firstIndex = seenNames.get(entry.name);
    if (entry.name !== '' && firstIndex !== undefined) {
      issues.push({ entry: label, field: 'name', message: `repeats the name of entry ${firstIndex}` });
    }
    seenNames.set(entry.name, firstIndex ?? index);
    entries.push(entry);
  });
  return { entries, issues };
}

/** Formats issues one per line, as `<entry>: <field> <message>`. */
export function formatCorpusIssues(issues: readonly CorpusIssue[]): string {
  return issues.map((issue) => `  ${issue.entry}: ${issue.field} ${issue.message}`).join('\n');
}

/** Validates parsed corpus JSON and returns its entries, or throws E_CORPUS_INVALID listing every invalid field. */
export function parseCorpus(data: unknown, source: string): CorpusEntry[] {
  const { entries, issues } = findCorpusIssues(data);
  if (issues.length > 0) {
    throw new ConformanceError({
      code: 'E_CORPUS_INVALID',
      message: `The corpus ${source} has ${issues.length} invalid field${issues.length === 1 ? '' : 's'}:\n${formatCorpusIssues(issues)}`,
      hint: 'Fix these fields in the corpus file and run again.',
    });
  }
  return entries;
}

/** Reads and validates a corpus file. */
export async function readCorpus(corpusPath: string): Promise<CorpusEntry[]> {
  let text: string;
  try {
    text = await readFile(corpusPath, 'utf8');
  } catch (error) {
    throw new ConformanceError({
      code: 'E_CORPUS_NOT_FOUND',
      message: `Cannot read the corpus ${corpusPath}: ${(error as Error).message}`,
      hint: 'Pass the path of a corpus JSON file as the first argument.',
      cause: error,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ConformanceError({ code: 'E_CORPUS_INVALID', message: `The corpus ${corpusPath} is not valid JSON: ${(error as Error).message}`, cause: error });
  }
  return parseCorpus(data, corpusPath);
}

/** Returns the entries named in `names` in corpus order, or every entry when `names` is empty. */
export function selectEntries(entries: readonly CorpusEntry[], names: readonly string[]): CorpusEntry[] {
  if (names.length === 0) return [...entries];
  const known = new Set(entries.map((entry) => entry.name));
  const unknown = names.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new ConformanceError({
      code: 'E_UNKNOWN_ENTRY',
      message: `The corpus has no entry named ${unknown.map((name) => JSON.stringify(name)).join(', ')}.`,
      hint: `Use names from the corpus: ${[...known].join(', ')}.`,
    });
  }
  return entries.filter((entry) => names.includes(entry.name));
}
