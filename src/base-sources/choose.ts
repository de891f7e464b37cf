import { DuoSeaError } from '../errors.js';
import type { Target } from '../targets.js';
import { LocalFileSource } from './local-file.js';
import { MirrorSource } from './mirror.js';
import type { BaseSourceOptions } from './options.js';
import { RegistrySource } from './registry.js';
import type { BaseBinary, BaseSource, SourceContext, Unavailable } from './source.js';

/** Stands in for the source of a musl target when none was named: the npm registry has no musl binaries. */
class NoMuslSource implements BaseSource {
  async unavailable(target: Target): Promise<Unavailable> {
    return {
      code: 'E_NO_BASE_BINARY',
      input: target.id,
      reason: `${target.id} binaries come from --node-unofficial-mirror or --node-binary, and neither was given`,
      hint: `Pass --node-unofficial-mirror URL (a mirror of Node's unofficial builds), or --node-binary ${target.id}=PATH.`,
    };
  }

  async fetch(target: Target): Promise<BaseBinary> {
    const unavailable = await this.unavailable(target);
    throw new DuoSeaError({ ...unavailable, stage: 'base-binary', target: target.id, message: `There is no Node base binary for ${target.id}: ${unavailable.reason}.` });
  }
}

/**
 * Chooses where each target's Node binary comes from. An offline kit, when
 * given, is the only source. Otherwise the most specific source the user
 * named wins: `--node-binary` for its target, then
 * `--node-unofficial-mirror` for musl targets and `--node-mirror` for the
 * others, and the npm registry only when no source was named. A named
 * source that lacks a target is an error, never a reason to use another.
 */
export class BaseSources {
  private readonly registry: RegistrySource;
  private readonly mirror?: MirrorSource;
  private readonly unofficialMirror?: MirrorSource;
  private readonly files?: LocalFileSource;
  private readonly noMusl = new NoMuslSource();
  private readonly fileTargets: Set<string>;
  private readonly kit?: BaseSource;

  constructor(options: BaseSourceOptions, context: SourceContext & { checksumsDir: string; kit?: BaseSource }) {
    this.kit = context.kit;
    const signature = { keyrings: options.nodeKeyrings, signatureCheck: options.nodeSignatureCheck };
    this.registry = new RegistrySource(context);
    if (options.nodeMirror) this.mirror = new MirrorSource({ url: options.nodeMirror, channel: 'release', ...signature }, context);
    if (options.nodeUnofficialMirror) this.unofficialMirror = new MirrorSource({ url: options.nodeUnofficialMirror, channel: 'unofficial', ...signature }, context);
    if (options.nodeBinaries.size > 0) this.files = new LocalFileSource(options.nodeBinaries, context);
    this.fileTargets = new Set(options.nodeBinaries.keys());
  }

  forTarget(target: Target): BaseSource {
    if (this.kit) return this.kit;
    if (this.files && this.fileTargets.has(target.id)) return this.files;
    if (target.libc === 'musl') return this.unofficialMirror ?? this.noMusl;
    return this.mirror ?? this.registry;
  }

  /** Returns the target ids of --node-binary files that neither a selected target nor the builder Node (the host's target) uses. */
  unusedFiles(selected: readonly Target[], hostTargetId: string | undefined): string[] {
    const used = new Set([...selected.map((target) => target.id), hostTargetId]);
    return [...this.fileTargets].filter((id) => !used.has(id)).sort();
  }
}
