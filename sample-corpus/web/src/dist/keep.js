// Value-size distribution helpers ("dist" as in distribution, not build output).
// anchored_keep_marker

export function histogram(sizes, buckets = [64, 256, 1024, 4096, 16384, 65536]) {
  const counts = new Array(buckets.length + 1).fill(0);
  for (const s of sizes) {
    let i = 0;
    while (i < buckets.length && s > buckets[i]) i++;
    counts[i]++;
  }
  return buckets
    .map((b, i) => ({ upTo: b, count: counts[i] }))
    .concat([{ upTo: Infinity, count: counts[buckets.length] }]);
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return sorted[idx];
}

export function summarize(sizes) {
  const sorted = sizes.slice().sort((a, b) => a - b);
  const total = sorted.reduce((acc, n) => acc + n, 0);
  return {
    count: sorted.length,
    total,
    mean: sorted.length ? total / sorted.length : 0,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : 0,
  };
}

export function renderHistogram(root, rows) {
  const max = Math.max(1, ...rows.map((r) => r.count));
  root.replaceChildren(
    ...rows.map((r) => {
      const bar = document.createElement("div");
      bar.className = "hist-bar";
      bar.style.width = `${(100 * r.count) / max}%`;
      bar.title = `<= ${r.upTo}: ${r.count}`;
      return bar;
    })
  );
}
