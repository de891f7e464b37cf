/** Returns the q-quantile of numbers, interpolating linearly between the two nearest ranks. */
export function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * (position - lower);
}

/** Summarizes wall times in seconds as milliseconds: median, min, p90, interquartile range and count. */
export function summarize(seconds) {
  const ms = seconds.map((value) => value * 1000);
  return {
    medianMs: quantile(ms, 0.5),
    minMs: Math.min(...ms),
    p90Ms: quantile(ms, 0.9),
    iqrMs: quantile(ms, 0.75) - quantile(ms, 0.25),
    runs: ms.length,
  };
}

export function median(values) {
  return quantile(values, 0.5);
}
