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
 * xz -6 stays within 1.2% of xz -9 but needs about 30% less CPU time and
 * 95 MiB instead of 675 MiB of memory, so two targets can compress at once
 * on a small machine. It runs one thread because the build runs targets
 * two at a time (buildTargets in build.ts). Multi-threaded xz would also
 * split the input into blocks, which costs size, and before xz 5.4 it fell
 * back to single-threaded output on one-CPU hosts. XZ_DEFAULTS and XZ_OPT
 * are removed from xz's environment, so these options alone set the output,
 * which repeats for the same xz version.
 * NOTE: measured on a linux-x64 binary only. Darwin and arm64 binaries may
 * show another gap between -6 and -9.
 */
export const XZ_ARGUMENTS = ['--compress', '--stdout', '--format=xz', '--check=crc64', '-6', '--threads=1'];
