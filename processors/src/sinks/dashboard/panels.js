// The dashboard page's non-time panels, inserted into page.html's script by page.rs: panels
// over categories (grouped or stacked bars, lines over categories, a pie) and scatter plots.
// They use the page's constants (W, PANEL_H, LEFT, RIGHT, TOP, BOTTOM, PALETTE) and helpers
// (esc, ticks, label); `colour` gives a series its colour, the same in every panel.

// A panel over categories: grouped or stacked bars, lines over categories, or a pie.
function drawCategoryPanel(panel, top, colour) {
  const plotW = W - LEFT - RIGHT, plotH = PANEL_H - TOP - BOTTOM;
  const cats = panel.categories, n = Math.max(cats.length, 1);
  const series = [...panel.values.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1);
  let svg = "";
  if (panel.title) svg += `<text class="caption" x="${LEFT + plotW / 2}" y="${top - 10}" text-anchor="middle">${esc(panel.title)}</text>`;
  if (panel.kind === "pie") {
    const cells = (series.find(([, c]) => c.some(v => v > 0)) || [null, []])[1];
    const total = cells.reduce((t, v) => t + (v > 0 ? v : 0), 0);
    const cx = LEFT + plotW / 2, cy = top + plotH / 2, r = plotH * 0.45;
    let a = -Math.PI / 2;
    cells.forEach((v, c) => {
      if (!(v > 0)) return;
      const sweep = v / total * 2 * Math.PI, b = a + sweep;
      const p = t => `${(cx + r * Math.cos(t)).toFixed(1)},${(cy + r * Math.sin(t)).toFixed(1)}`;
      const d = sweep >= 2 * Math.PI - 1e-9
        ? `M ${cx - r},${cy} a ${r},${r} 0 1,0 ${2 * r},0 a ${r},${r} 0 1,0 ${-2 * r},0`
        : `M ${cx},${cy} L ${p(a)} A ${r},${r} 0 ${sweep > Math.PI ? 1 : 0},1 ${p(b)} Z`;
      svg += `<path class="slice" fill="${PALETTE[c % PALETTE.length]}" d="${d}"><title>${esc(cats[c])}</title></path>`;
      const m = (a + b) / 2;
      svg += `<text x="${(cx + (r + 18) * Math.cos(m)).toFixed(1)}" y="${(cy + (r + 18) * Math.sin(m)).toFixed(1)}" text-anchor="middle">${esc(cats[c])} ${Math.round(v / total * 100)}%</text>`;
      a = b;
    });
    return svg;
  }
  const stacked = panel.kind === "stacked_bars";
  let y0 = 0, y1 = 0;
  cats.forEach((_, c) => {
    let pos = 0, neg = 0;
    for (const [, cells] of series) {
      const v = cells[c];
      if (v === null || v === undefined) continue;
      if (stacked) { if (v < 0) neg += v; else pos += v; } else { y0 = Math.min(y0, v); y1 = Math.max(y1, v); }
    }
    if (stacked) { y0 = Math.min(y0, neg); y1 = Math.max(y1, pos); }
  });
  if (panel.y_range && panel.y_range[1] > panel.y_range[0]) { [y0, y1] = panel.y_range; }
  else { if (!(y1 > y0)) y1 = y0 + 1; y1 += (y1 - y0) * 0.1; }
  const sx = x => LEFT + x / n * plotW;
  const sy = y => top + plotH - (y - y0) / (y1 - y0) * plotH;
  for (const t of ticks(y0, y1, 5)) {
    svg += `<line class="grid" x1="${LEFT}" x2="${LEFT + plotW}" y1="${sy(t)}" y2="${sy(t)}"/>`;
    svg += `<text x="${LEFT - 6}" y="${sy(t) + 4}" text-anchor="end">${label(t)}</text>`;
  }
  cats.forEach((cat, c) => {
    svg += `<text x="${sx(c + 0.5)}" y="${top + plotH + 16}" text-anchor="middle">${esc(cat)}</text>`;
  });
  svg += `<rect class="axis" fill="none" x="${LEFT}" y="${top}" width="${plotW}" height="${plotH}"/>`;
  svg += `<text x="18" y="${top + plotH / 2}" transform="rotate(-90 18 ${top + plotH / 2})" text-anchor="middle">${esc(panel.y_label)}</text>`;
  svg += `<text x="${LEFT + plotW / 2}" y="${top + plotH + 34}" text-anchor="middle">${esc(panel.x_label)}</text>`;
  const width = 0.8 / Math.max(series.length, 1);
  const base = cats.map(() => 0);
  series.forEach(([name, cells], s) => {
    if (panel.kind === "category_lines") {
      const pts = cells.map((v, c) => v === null ? null : `${sx(c + 0.5).toFixed(1)},${sy(v).toFixed(1)}`).filter(p => p);
      svg += `<polyline class="series" stroke="${colour(name)}" points="${pts.join(" ")}"><title>${esc(name)}</title></polyline>`;
    } else {
      cells.forEach((v, c) => {
        if (v === null || v === undefined) return;
        const from = stacked ? base[c] : 0, to = from + v;
        if (stacked) base[c] = to;
        const x = stacked ? sx(c + 0.1) : sx(c + 0.1 + width * s);
        const w = (stacked ? 0.8 : width) / n * plotW;
        svg += `<rect class="bar" fill="${colour(name)}" x="${x.toFixed(1)}" y="${Math.min(sy(from), sy(to)).toFixed(1)}" width="${w.toFixed(1)}" height="${Math.abs(sy(to) - sy(from)).toFixed(1)}"><title>${esc(name)} ${esc(cats[c])}: ${label(v)}</title></rect>`;
      });
    }
    const ly = top + 10 + s * 18;
    svg += `<rect x="${LEFT + plotW + 12}" y="${ly - 5}" width="24" height="10" fill="${colour(name)}"/>`;
    svg += `<text class="legend" x="${LEFT + plotW + 42}" y="${ly + 4}">${esc(name)}</text>`;
  });
  return svg;
}

// A range around lo..hi with 5% on each side (or around a single value), as the image files.
function padded(lo, hi) {
  if (hi > lo) { const pad = (hi - lo) * 0.05; return [lo - pad, hi + pad]; }
  return [lo - Math.max(Math.abs(lo), 1) * 0.1, hi + Math.max(Math.abs(hi), 1) * 0.1];
}

// A scatter plot: a circle per point, a colour per series. With x categories, x = i is
// labelled with the i-th name and every category shows; else x is labelled with numbers.
function drawScatterPanel(panel, top, colour) {
  const plotW = W - LEFT - RIGHT, plotH = PANEL_H - TOP - BOTTOM;
  const series = [...panel.scatter.entries()].sort((a, b) => a[0] < b[0] ? -1 : 1);
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [, pts] of series) for (const [x, y] of pts) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (!isFinite(x0)) { x0 = 0; x1 = 1; y0 = 0; y1 = 1; }
  [x0, x1] = padded(x0, x1);
  const named = panel.x_categories;
  if (named.length) { x0 = Math.min(x0, -0.5); x1 = Math.max(x1, named.length - 0.5); }
  if (panel.y_range && panel.y_range[1] > panel.y_range[0]) { [y0, y1] = panel.y_range; }
  else { [y0, y1] = padded(y0, y1); }
  const sx = x => LEFT + (x - x0) / (x1 - x0) * plotW;
  const sy = y => top + plotH - (y - y0) / (y1 - y0) * plotH;
  let svg = `<g class="scatter-panel">`;
  if (panel.title) svg += `<text class="caption" x="${LEFT + plotW / 2}" y="${top - 10}" text-anchor="middle">${esc(panel.title)}</text>`;
  for (const t of ticks(y0, y1, 5)) {
    svg += `<line class="grid" x1="${LEFT}" x2="${LEFT + plotW}" y1="${sy(t)}" y2="${sy(t)}"/>`;
    svg += `<text x="${LEFT - 6}" y="${sy(t) + 4}" text-anchor="end">${label(t)}</text>`;
  }
  // The name of x = i (within 1e-6), as the image files label it.
  const xName = x => {
    const i = Math.round(x);
    return Math.abs(x - i) <= 1e-6 && i >= 0 && i < named.length ? named[i] : label(x);
  };
  const step = Math.max(1, Math.ceil(named.length / 16));
  const xTicks = named.length
    ? named.map((name, i) => [i, name]).filter(([i]) => i % step === 0)
    : ticks(x0, x1, 8).map(t => [t, label(t)]);
  for (const [t, text] of xTicks) {
    svg += `<line class="grid" x1="${sx(t)}" x2="${sx(t)}" y1="${top}" y2="${top + plotH}"/>`;
    svg += `<text class="xtick" x="${sx(t)}" y="${top + plotH + 16}" text-anchor="middle">${esc(text)}</text>`;
  }
  svg += `<rect class="axis" fill="none" x="${LEFT}" y="${top}" width="${plotW}" height="${plotH}"/>`;
  svg += `<text x="18" y="${top + plotH / 2}" transform="rotate(-90 18 ${top + plotH / 2})" text-anchor="middle">${esc(panel.y_label)}</text>`;
  svg += `<text x="${LEFT + plotW / 2}" y="${top + plotH + 34}" text-anchor="middle">${esc(panel.x_label)}</text>`;
  // Legend rows close up (to 12 px) so that many series fit beside the panel; the rest are
  // counted on the last row.
  const room = PANEL_H - TOP - 16; // from the first row's centre to the last's
  const rowH = Math.max(12, Math.min(18, room / Math.max(series.length - 1, 1)));
  const rows = Math.floor(room / rowH + 1e-9) + 1;
  series.forEach(([name, pts], s) => {
    const fill = colour(name);
    for (const [x, y] of pts) {
      if (y < y0 || y > y1) continue; // outside a fixed y range
      svg += `<circle class="point" fill="${fill}" cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3"><title>${esc(name)}: ${esc(xName(x))}, ${label(y)}</title></circle>`;
    }
    if (s >= rows || (s === rows - 1 && series.length > rows)) return;
    const ly = top + 10 + s * rowH;
    svg += `<circle cx="${LEFT + plotW + 24}" cy="${ly}" r="4" fill="${fill}"/>`;
    svg += `<text class="legend" x="${LEFT + plotW + 42}" y="${ly + 4}">${esc(name)}</text>`;
  });
  if (series.length > rows) {
    svg += `<text x="${LEFT + plotW + 42}" y="${top + 14 + (rows - 1) * rowH}">and ${series.length - rows + 1} more</text>`;
  }
  return svg + "</g>";
}
