import type { Target } from '../targets.js';

/*
 * Compression settings, measured with Node 20.20.2 (its bundled zlib) and
 * xz 5.4.1 on a 2-core AMD EPYC VM. Input: a 116,423,904-byte linux-x64
 * Node 26.10.0 binary after llvm-strip --strip-all. Ratio is to xz -9.
 *
 *   setting               bytes        ratio   wall s   max RSS
 *   deflate level 6       43,045,032   1.584      3.0
 *   deflate level 9       42,935,447   1.580      6.7
 *   xz -6 -T1             27,487,908   1.011     48.1    95 MiB
 *   xz -6 -T0 (5 blocks)  27,590,392   1.015     29.0   260 MiB
 *   xz -9 -T1             27,179,372   1.000     66.9   675 MiB
 *   xz -9 -T0 (1 block)   27,179,380   1.000     64.6   812 MiB
 *   xz -9e -T1            27,152,524   0.999     63.4   675 MiB
 *   xz -9e -T0            27,152,532   0.999     67.5   812 MiB
 *
 * With a 15,425,706-byte JavaScript payload appended, xz -6 -T1 gave 1.0115
 * times the sum of xz -9 of the binary and xz -9 of the payload alone.
 *
 * xz 5.4.1 -T1 of whole executables built by duo-sea with Node 26.10.0 (srt
 * 0.0.78 for each target, Gemini CLI, whose payload is 96 MiB of JavaScript,
 * for linux-x64). Floor: xz -9 of the stripped base plus xz -9 of the SEA
 * blob. CPU s is user time, because other jobs kept the 2-core VM at a load
 * of 4 to 10. RSS is the peak while compressing and while decompressing.
 * Rows marked * were taken from the .tar.xz of a build, without time.
 *
 *   input         setting            bytes        ÷ floor  CPU s  RSS MiB
 *   srt           -6                 28,831,688   1.011     67.8   95 / 10
 *   linux-x64     --x86, preset 6    27,895,536   0.978     64.8   95 / 10
 *                 --x86, dict 64MiB  27,568,588   0.967     78.2  675 / 66
 *   srt           -6                 28,731,568   1.010     64.5   95 / 10
 *   darwin-x64    --x86, preset 6    27,938,732   0.982     58.3   95 / 10
 *                 --x86, dict 64MiB  27,629,484   0.971     70.3  675 / 66
 *   srt           -6 *               27,646,652   1.010
 *   linux-arm64   --arm64, preset 6  26,493,812   0.968     57.4   95 / 10
 *                 dict 64MiB         27,361,020   0.999     73.6  675 / 66
 *   srt           -6 *               26,637,864   1.009
 *   darwin-arm64  --arm64, preset 6  25,389,336   0.962     50.3   95 / 10
 *                 dict 64MiB         26,365,196   0.999     67.7  675 / 66
 *   gemini        -6                 42,025,304   1.151    104.3   95 / 10
 *   linux-x64     --x86, preset 6    41,096,112   1.125            95 / 10
 *                 dict 64MiB         36,503,648   1.000    107.5  675 / 66
 *                 --x86, dict 32MiB  35,800,336   0.980    113.9  371 / 34
 *                 --x86, dict 64MiB  35,576,992   0.974    105.4  675 / 66
 *
 * Decompressing took 1.3 to 2.0 s of CPU time. The ARM64 filter saves 4%,
 * but only XZ Utils 5.4 and later decode it (see usesX86Filter).
 */

/**
 * Deflate level 9 costs about 4 s more per target than level 6 and saves
 * 0.25%. That is worth it because the zip is the only archive of Windows
 * targets.
 * NOTE: Node bundles Chromium's zlib fork, whose deflate output can change
 * between Node versions, and some versions of the fork pick their match hash
 * by CPU features. Gzip and zip bytes are only known to repeat with the same
 * Node build on the same kind of CPU.
 */
export const DEFLATE_LEVEL = 9;

/**
 * Options that every xz run gets. `xzArgumentsFor` adds the filter chain,
 * which depends on the target and the input size. XZ_DEFAULTS and XZ_OPT are
 * removed from xz's environment, so these options alone set the output,
 * which repeats for the same xz version.
 *
 * One thread, because multi-threaded xz splits the input into blocks, which
 * costs size, and before xz 5.4 it fell back to single-threaded output on
 * one-CPU hosts, so the bytes would depend on the host's core count.
 */
export const XZ_ARGUMENTS: readonly string[] = ['--compress', '--stdout', '--format=xz', '--check=crc64', '--threads=1'];

/** The target fields that decide the xz filter chain. */
export type XzTarget = Pick<Target, 'os' | 'arch' | 'libc'>;

/** The smallest LZMA2 dictionary that xz accepts. */
const MIN_XZ_DICTIONARY_BYTES = 4 * 1024;

/**
 * The largest dictionary duo-sea uses. BusyBox 1.35's unxz and tar -J
 * reject a dictionary above 64 MiB ("corrupted data"). With 64 MiB, xz
 * needed 675 MiB of memory to compress and 66 MiB to decompress.
 */
export const MAX_XZ_DICTIONARY_BYTES = 64 * 1024 * 1024;

/**
 * Returns the LZMA2 dictionary size for an input: the smallest power of two
 * that is at least the input size, from 4 KiB up to MAX_XZ_DICTIONARY_BYTES.
 * A decoder allocates the whole dictionary that the header names, so a small
 * input gets a small one.
 */
export function xzDictionaryBytes(inputBytes: number): number {
  let dictionaryBytes = MIN_XZ_DICTIONARY_BYTES;
  while (dictionaryBytes < inputBytes && dictionaryBytes < MAX_XZ_DICTIONARY_BYTES) dictionaryBytes *= 2;
  return dictionaryBytes;
}

/**
 * Returns whether the archive of a target gets the x86 BCJ filter, which
 * turns relative call and jump addresses into absolute ones before LZMA2.
 * Every XZ Utils release (5.0 and later) decodes it. GNU tar 1.34 (which
 * runs xz), bsdtar 3.6.2 and Python 3.11's tarfile (both on liblzma 5.4.1)
 * extracted such an archive. BusyBox 1.35's unxz and tar -J did not: they
 * fail with "corrupted data". musl targets are for Alpine, whose tar is
 * BusyBox, so they get no filter. arm64 targets get none either, because
 * the ARM64 filter needs XZ Utils 5.4 (2022) in the decoder, newer than the
 * xz of Ubuntu 22.04 and RHEL 9 (5.2.5).
 */
export function usesX86Filter(target: XzTarget | undefined): boolean {
  return target?.arch === 'x64' && target.libc !== 'musl';
}

/**
 * Returns the exact arguments that duo-sea passes to xz for the archive of
 * an executable of `inputBytes` bytes: preset 6 with a dictionary that covers
 * the whole input (see xzDictionaryBytes), after the x86 BCJ filter where
 * usesX86Filter allows it. Without a target no filter is added, so every
 * xz decoder reads the output. Compared with an 8 MiB dictionary (preset 6's
 * own), 64 MiB took about 20% more CPU time on srt and none on Gemini CLI,
 * and 675 MiB instead of 95 MiB of memory. It makes Gemini CLI's archive 13%
 * smaller, and every archive in the table above at most 1.0 times its floor.
 */
export function xzArgumentsFor(options: { target?: XzTarget; inputBytes: number }): string[] {
  const filters = usesX86Filter(options.target) ? ['--x86'] : [];
  const dictionary = formatDictionary(xzDictionaryBytes(options.inputBytes));
  return [...XZ_ARGUMENTS, ...filters, `--lzma2=preset=6,dict=${dictionary}`];
}

/** Formats a power-of-two size of at least 4 KiB in xz's KiB or MiB suffix. */
function formatDictionary(bytes: number): string {
  const mebibyte = 1024 * 1024;
  return bytes % mebibyte === 0 ? `${bytes / mebibyte}MiB` : `${bytes / 1024}KiB`;
}
