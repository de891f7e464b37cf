import path from 'node:path';
import type { VfsFileEntry, VfsIndex } from './vfs-format.js';

export type VfsNode =
  | { kind: 'file'; relativePath: string; entry: VfsFileEntry }
  | { kind: 'directory'; relativePath: string; children: ReadonlySet<string> };

/**
 * A read-only view of the packaged files, mounted at `root`. Paths are
 * native absolute paths; the index stores them relative to the root with
 * `/` separators.
 */
export class Vfs {
  private readonly directories = new Map<string, Set<string>>();
  /** Set while the runtime itself removes a temporary root at exit; the fs overlay then passes every call through. */
  writesAllowed = false;

  constructor(
    readonly root: string,
    readonly index: VfsIndex,
    private readonly data: Uint8Array,
    /** True when the files marked `extract` exist as real files under the root. */
    readonly extracted: boolean,
    /** True when the root is a real folder; false for a root no folder can exist at. */
    readonly rootIsReal: boolean = extracted,
  ) {
    this.directories.set('', new Set());
    for (const relativePath of Object.keys(index.files)) this.addParents(relativePath);
  }

  private addParents(relativePath: string): void {
    let child = relativePath;
    while (child !== '') {
      const slash = child.lastIndexOf('/');
      const parent = slash === -1 ? '' : child.slice(0, slash);
      let children = this.directories.get(parent);
      if (!children) {
        children = new Set();
        this.directories.set(parent, children);
      }
      if (children.has(child.slice(slash + 1))) return;
      children.add(child.slice(slash + 1));
      child = parent;
    }
  }

  /** Returns the path relative to the root, with `/` separators, or undefined for a path outside it. */
  relative(absolutePath: string): string | undefined {
    // Most fs calls are for paths elsewhere; this check keeps them cheap.
    if (!absolutePath.startsWith(this.root)) return undefined;
    const relativePath = path.relative(this.root, absolutePath);
    if (relativePath === '..' || relativePath.startsWith('..' + path.sep) || path.isAbsolute(relativePath)) return undefined;
    return path.sep === '/' ? relativePath : relativePath.split(path.sep).join('/');
  }

  absolute(relativePath: string): string {
    return path.join(this.root, ...relativePath.split('/'));
  }

  lookup(absolutePath: string): VfsNode | undefined {
    const relativePath = this.relative(absolutePath);
    if (relativePath === undefined) return undefined;
    const entry = this.index.files[relativePath];
    if (entry) return { kind: 'file', relativePath, entry };
    const children = this.directories.get(relativePath);
    if (children) return { kind: 'directory', relativePath, children };
    return undefined;
  }

  /**
   * Returns the node that the overlay must serve, or undefined when the real
   * file system must handle the call: outside the root, or for an extracted file.
   */
  virtualNode(absolutePath: string): VfsNode | undefined {
    const node = this.lookup(absolutePath);
    if (node?.kind === 'file' && node.entry.extract && this.extracted) return undefined;
    return node;
  }

  /** Returns a file's content as a view into the payload, without copying it. */
  content(entry: VfsFileEntry): Buffer {
    return Buffer.from(this.data.buffer, this.data.byteOffset + entry.offset, entry.sizeBytes);
  }
}
