import type { Target } from './targets.js';

/**
 * Returns the C library of the Linux host that runs duo-sea. Node's
 * diagnostic report names the glibc version in its header only when Node
 * runs on glibc, so its absence means musl.
 */
export function detectHostLibc(): 'glibc' | 'musl' | undefined {
  if (process.platform !== 'linux') return undefined;
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

/**
 * Returns why a musl executable cannot start on this host, or undefined
 * when it can. Node's musl builds need musl's loader and musl builds of
 * libstdc++ and libgcc, which a glibc host lacks even with Debian's musl
 * package installed.
 */
export function muslSelfCheckSkipReason(target: Target, hostLibc: 'glibc' | 'musl' | undefined): string | undefined {
  if (target.libc !== 'musl' || hostLibc === 'musl') return undefined;
  return `a musl executable needs musl's loader, libstdc++ and libgcc, and this host runs ${hostLibc ?? 'another C library'}`;
}
