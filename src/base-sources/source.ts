import type { ContentCache } from '../cache.js';
import type { ErrorCode } from '../errors.js';
import type { Reporter } from '../events.js';
import type { Target } from '../targets.js';

/** Authentication record of a mirror's checksum list. */
export interface ChecksumListRecord {
  /** URL of SHASUMS256.txt, without credentials. */
  url: string;
  /**
   * `verified`: gpgv accepted its signature with the given keyring.
   * `unsigned`: the mirror serves no signature. `not-checked`: the build
   * ran with --no-node-signature-check, so no signature was fetched.
   */
  signature: 'verified' | 'unsigned' | 'not-checked';
  /** Fingerprint of the primary key that signed the list, when `verified`. */
  signingKey?: string;
}

/** A verified, unmodified Node binary in the cache. */
export interface BaseBinary {
  path: string;
  sha256: string;
  sizeBytes: number;
  /** The source it came from: `npm:<package>@<version>`, `mirror:<url>` or `file:<base name>`. */
  source: string;
  /** For a mirror source: the checksum list the download matched. */
  checksumList?: ChecksumListRecord;
}

/** Reason that a source has no base binary for a target, with the error to raise when the target was requested. */
export interface Unavailable {
  code: ErrorCode;
  /** The file, package or URL that is missing. */
  input: string;
  /** Lower-case clause for "skipped <target>: <reason>". */
  reason: string;
  hint: string;
}

/** Settings that every source needs to fetch a binary. */
export interface SourceContext {
  nodeVersion: string;
  cache: ContentCache;
  report: Reporter;
  /** Folder that npm runs in, so the project's `.npmrc` applies. */
  cwd: string;
  /** True when the build may not use the network: a binary that is not in the cache is an error. */
  offline?: boolean;
}

/** One place that Node base binaries come from. */
export interface BaseSource {
  /** Returns why the source has no binary for the target, or undefined when it has one. Throws when the source itself fails (unreachable, bad signature). */
  unavailable(target: Target): Promise<Unavailable | undefined>;
  /** Returns the target's binary from the cache, or fetches, verifies and caches it. */
  fetch(target: Target): Promise<BaseBinary>;
}
