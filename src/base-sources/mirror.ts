import { chmod, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { downloadFile, publicUrl } from '../download.js';
import { DuoSeaError, messageOf } from '../errors.js';
import { sha256File } from '../hash.js';
import { isXzAvailable } from '../archive/xz.js';
import type { Target } from '../targets.js';
import { binaryMismatch } from './binary-check.js';
import { CHECKSUM_LIST_FILE, distArtifacts, releaseFileUrl, type DistArtifact } from './dist-layout.js';
import { extractTarGzMember, extractTarXzMember, extractZipMember } from './extract.js';
import { loadChecksumList, type MirrorSettings, type VerifiedChecksumList } from './release-checksums.js';
import type { BaseBinary, BaseSource, SourceContext, Unavailable } from './source.js';

const STAGE = 'base-binary';

/** Binary that an archive in the cache index contains. */
interface IndexRecord {
  member: string;
  sha256: string;
}

/**
 * A Node.js distribution mirror in nodejs.org's layout, or in that of Node's
 * unofficial builds. Each download must match the release's SHASUMS256.txt,
 * which is itself checked against its OpenPGP signature (see
 * loadChecksumList). Binaries are cached by their own SHA-256, and an index
 * maps each archive's SHA-256 to the binary it holds, so a later build
 * downloads only the checksum list and its signature.
 */
export class MirrorSource implements BaseSource {
  private checksumList?: Promise<VerifiedChecksumList>;

  constructor(
    private readonly mirror: MirrorSettings,
    private readonly context: SourceContext,
  ) {}

  /** Returns the verified checksum list, loaded once per build and shared by every target. */
  private checksums(): Promise<VerifiedChecksumList> {
    this.checksumList ??= loadChecksumList({ mirror: this.mirror, ...this.context });
    return this.checksumList;
  }

  private listUrl(): string {
    return publicUrl(releaseFileUrl(this.mirror.url, this.context.nodeVersion, CHECKSUM_LIST_FILE));
  }

  async unavailable(target: Target): Promise<Unavailable | undefined> {
    const { sums } = await this.checksums();
    const artifacts = distArtifacts(target, this.context.nodeVersion);
    if (artifacts.some((artifact) => sums.has(artifact.file))) return undefined;
    const names = artifacts.map((artifact) => artifact.file).join(' or ');
    return {
      code: 'E_NO_BASE_BINARY',
      input: this.listUrl(),
      reason: `${this.listUrl()} lists no ${names}`,
      hint: `Mirror those files, pick a --node version that the mirror has, pass --node-binary ${target.id}=PATH, or leave out --target ${target.id}.`,
    };
  }

  async fetch(target: Target): Promise<BaseBinary> {
    const list = await this.checksums();
    const artifact = await this.chooseArtifact(target, list);
    const expectedSha256 = list.sums.get(artifact.file) as string;
    const url = releaseFileUrl(this.mirror.url, this.context.nodeVersion, artifact.file);
    const describe = (binary: { path: string; sha256: string }): Promise<BaseBinary> => this.describe(binary, url, list);

    const cached = await this.cachedBinary(expectedSha256, artifact);
    if (cached) return describe(cached);
    return describe(await this.download({ target, artifact, url, expectedSha256 }));
  }

  private async describe(binary: { path: string; sha256: string }, url: string, list: VerifiedChecksumList): Promise<BaseBinary> {
    return { ...binary, sizeBytes: (await stat(binary.path)).size, source: `mirror:${publicUrl(url)}`, checksumList: list.record };
  }

  /** Picks `.tar.xz` when this host has xz (the smaller download), else `.tar.gz`; for Windows, `node.exe` before the `.zip`. */
  private async chooseArtifact(target: Target, list: VerifiedChecksumList): Promise<DistArtifact> {
    const listed = distArtifacts(target, this.context.nodeVersion).filter((artifact) => list.sums.has(artifact.file));
    const unavailable = await this.unavailable(target);
    if (unavailable) {
      throw new DuoSeaError({ code: unavailable.code, stage: STAGE, target: target.id, input: unavailable.input, message: `There is no Node base binary for ${target.id}: ${unavailable.reason}.`, hint: unavailable.hint });
    }
    const usable = (await isXzAvailable()) ? listed : listed.filter((artifact) => artifact.type !== 'tar.xz');
    if (usable.length > 0) return usable[0];
    throw new DuoSeaError({
      code: 'E_TOOL_MISSING',
      stage: STAGE,
      target: target.id,
      input: listed[0].file,
      message: `${this.listUrl()} lists only ${listed[0].file} for ${target.id}, and xz, which unpacks it, is not installed.`,
      hint: 'Install xz (Debian: apt-get install xz-utils), or make the mirror serve the .tar.gz too.',
    });
  }

  private indexPath(archiveSha256: string): string {
    return path.join(this.context.cache.derivedDir('mirror-index'), `${archiveSha256}.json`);
  }

  /** Returns the cached binary of an archive with this SHA-256, if the index has a record of it and the cache entry is intact. */
  private async cachedBinary(archiveSha256: string, artifact: DistArtifact): Promise<{ path: string; sha256: string } | undefined> {
    let record: IndexRecord;
    try {
      record = JSON.parse(await readFile(this.indexPath(archiveSha256), 'utf8')) as IndexRecord;
    } catch (error) {
      // A missing or unreadable record only means a download; the archive's hash is checked again then.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT' || error instanceof SyntaxError) return undefined;
      throw error;
    }
    if (record.member !== (artifact.member ?? artifact.file)) return undefined;
    const entry = await this.context.cache.lookup(record.sha256);
    return entry ? { path: entry, sha256: record.sha256 } : undefined;
  }

  private async writeIndex(archiveSha256: string, record: IndexRecord): Promise<void> {
    await this.context.cache.writeJson(this.indexPath(archiveSha256), record);
  }

  /** Downloads an archive, checks its SHA-256, unpacks the binary, checks its format and stores it in the cache. */
  private async download(options: { target: Target; artifact: DistArtifact; url: string; expectedSha256: string }): Promise<{ path: string; sha256: string }> {
    const { target, artifact, url, expectedSha256 } = options;
    const { cache, report } = this.context;
    const archive = await cache.tempPath(path.posix.basename(artifact.file));
    const extractDir = await cache.tempPath(`${path.posix.basename(artifact.file)}-unpacked`);
    let binary: string | undefined;
    try {
      const downloaded = await downloadFile({
        url,
        destination: archive,
        stage: STAGE,
        target: target.id,
        hint: `Check that ${publicUrl(this.mirror.url)} is reachable from this machine and serves ${artifact.file}.`,
        onProgress: (receivedBytes, totalBytes) => report({ kind: 'download', target: target.id, file: path.posix.basename(artifact.file), receivedBytes, totalBytes }),
      });
      if (downloaded.sha256 !== expectedSha256) {
        throw new DuoSeaError({
          code: 'E_CHECKSUM_MISMATCH',
          stage: STAGE,
          target: target.id,
          input: publicUrl(url),
          message: `The download of ${publicUrl(url)} does not match its SHA-256 in ${this.listUrl()}.`,
          expected: expectedSha256,
          found: downloaded.sha256,
          hint: 'Do not use this file. Run the build again; if it fails the same way, the mirror serves a damaged or altered file.',
        });
      }

      binary = await this.unpack({ target, artifact, archive, extractDir, url });
      await this.checkFormat(target, binary, url);
      const sha256 = await sha256File(binary);
      await chmod(binary, 0o755);
      const entry = await cache.commit(binary, sha256, { kind: 'base', source: `mirror:${publicUrl(url)}`, target: target.id });
      binary = undefined;
      await this.writeIndex(expectedSha256, { member: artifact.member ?? artifact.file, sha256 });
      return { path: entry, sha256 };
    } finally {
      await rm(archive, { force: true });
      await rm(extractDir, { recursive: true, force: true });
      if (binary) await rm(binary, { force: true });
    }
  }

  /** Returns the path of the binary in the cache's temporary folder: the archive member, or the download itself for a bare node.exe. */
  private async unpack(options: { target: Target; artifact: DistArtifact; archive: string; extractDir: string; url: string }): Promise<string> {
    const { target, artifact, archive, extractDir, url } = options;
    if (!artifact.member) {
      const binary = await this.context.cache.tempPath('node.exe');
      await rename(archive, binary);
      return binary;
    }

    await mkdir(extractDir, { recursive: true });
    let extracted: string | undefined;
    try {
      if (artifact.type === 'zip') extracted = await extractZipMember(archive, artifact.member, path.join(extractDir, 'node.exe'));
      else if (artifact.type === 'tar.xz') extracted = await extractTarXzMember(archive, artifact.member, extractDir);
      else extracted = await extractTarGzMember(archive, artifact.member, extractDir);
    } catch (error) {
      throw new DuoSeaError({
        code: 'E_BASE_BINARY_INVALID',
        stage: STAGE,
        target: target.id,
        input: publicUrl(url),
        message: `Unpacking ${artifact.member} from ${publicUrl(url)} failed: ${messageOf(error)}.`,
        hint: 'The archive matches its checksum, so the release itself is unusable here; pass --node-binary with a binary of your own.',
        cause: error,
      });
    }
    if (!extracted) {
      throw new DuoSeaError({
        code: 'E_NO_BASE_BINARY',
        stage: STAGE,
        target: target.id,
        input: publicUrl(url),
        message: `${publicUrl(url)} has no ${artifact.member}.`,
        hint: `The release layout differs from nodejs.org's; pass --node-binary ${target.id}=PATH instead.`,
      });
    }
    const binary = await this.context.cache.tempPath(path.posix.basename(artifact.member));
    await rename(extracted, binary);
    return binary;
  }

  private async checkFormat(target: Target, binary: string, url: string): Promise<void> {
    const mismatch = await binaryMismatch(binary, target);
    if (!mismatch) return;
    throw new DuoSeaError({
      code: 'E_BASE_BINARY_INVALID',
      stage: STAGE,
      target: target.id,
      input: publicUrl(url),
      message: `The Node binary in ${publicUrl(url)} is not one for ${target.id}.`,
      ...mismatch,
      hint: "The mirror serves another platform's release under this name; fix the mirror, or pass --node-binary.",
    });
  }
}
