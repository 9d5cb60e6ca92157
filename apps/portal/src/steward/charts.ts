/**
 * The steward's charts, drawn as SVG on the server: small pure functions from numbers to markup, no client
 * script. Each chart is an image with a title and a description (role="img", aria-labelledby); its numbers are
 * always also in a table beside it, and every mark carries its words or number as text, so that nothing is
 * said by colour alone. Only presentation attributes are used (the portal's CSP allows no inline styles).
 */

export interface Bar {
  label: string;
  value: number;
  /** The number as shown beside the bar (e.g. "£1,200"); the value itself when not given. */
  shown?: string;
}

export interface BarGroup {
  label: string;
  bars: Bar[];
}

export interface ChartText {
  /** Unique on the page: the ids of the title and description derive from it. */
  id: string;
  title: string;
  description: string;
}

/** Colours that pass 3:1 against white; each mark also has its words beside it. */
const INK = '#0b0c0c';
const PALETTE = ['#0065bd', '#5e3b8a', '#00703c', '#b05400', '#a8000f', '#333d47'];
const FONT = 'font-family="Arial, Helvetica, sans-serif"';

export function escapeXml(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const n = (x: number) => Math.round(x * 10) / 10;

function svg(t: ChartText, width: number, height: number, body: string): string {
  const id = escapeXml(t.id);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="portal_chart" viewBox="0 0 ${width} ${n(height)}" width="100%" ` +
    `role="img" aria-labelledby="${id}-title ${id}-desc" ${FONT} font-size="14">` +
    `<title id="${id}-title">${escapeXml(t.title)}</title><desc id="${id}-desc">${escapeXml(t.description)}</desc>` +
    `${body}</svg>`
  );
}

/**
 * Horizontal bars, in groups (a partner's improved / unchanged / declined) or one group without a label. Each
 * bar is labelled with its words and its number; bars of the same place in a group share a colour.
 */
export function barChart(t: ChartText, groups: BarGroup[], width = 640): string {
  const labelWidth = 220;
  const numberWidth = 80;
  const barHeight = 22;
  const gap = 6;
  const plot = width - labelWidth - numberWidth;
  const max = Math.max(1, ...groups.flatMap((g) => g.bars.map((b) => b.value)));
  let y = 4;
  const parts: string[] = [];
  for (const g of groups) {
    if (g.label) {
      parts.push(`<text x="0" y="${y + 15}" font-weight="bold" fill="${INK}">${escapeXml(g.label)}</text>`);
      y += barHeight;
    }
    g.bars.forEach((b, i) => {
      const w = n((Math.max(0, b.value) / max) * plot);
      const label = g.label ? `  ${b.label}` : b.label;
      parts.push(
        `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end" fill="${INK}">${escapeXml(label)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${w}" height="${barHeight}" fill="${PALETTE[i % PALETTE.length]}"/>`,
        `<text x="${labelWidth + w + 6}" y="${y + 15}" fill="${INK}">${escapeXml(b.shown ?? String(b.value))}</text>`,
      );
      y += barHeight + gap;
    });
    y += gap;
  }
  parts.push(
    `<line x1="${labelWidth}" y1="0" x2="${labelWidth}" y2="${y}" stroke="${INK}" stroke-width="1"/>`,
  );
  return svg(t, width, Math.max(y, 30), parts.join(''));
}

export interface Flow {
  from: string;
  to: string;
  value: number;
}

/**
 * Referral flows as an arc diagram: the organisations on a line, each flow an arc whose width is its number
 * of referrals. Flows to the right arc above the line, flows to the left below it, so the direction is told by
 * place as well as by the arrowhead; each arc carries its number.
 */
export function arcDiagram(t: ChartText, nodes: { id: string; label: string }[], flows: Flow[]): string {
  const width = 640;
  const margin = 70;
  const step = nodes.length > 1 ? (width - 2 * margin) / (nodes.length - 1) : 0;
  const x = new Map(nodes.map((node, i) => [node.id, margin + i * step]));
  // Flat arcs (height 0.45 of their half-span): the picture is only as tall as its arcs on each side.
  const FLAT = 0.45;
  const drawn = flows.filter((f) => {
    const [a, b] = [x.get(f.from), x.get(f.to)];
    return a !== undefined && b !== undefined && a !== b && f.value > 0;
  });
  const rise = (f: Flow) => (Math.abs((x.get(f.to) as number) - (x.get(f.from) as number)) / 2) * FLAT;
  const rightward = (f: Flow) => (x.get(f.to) as number) > (x.get(f.from) as number);
  const above = Math.max(0, ...drawn.filter(rightward).map(rise));
  const below = Math.max(0, ...drawn.filter((f) => !rightward(f)).map(rise));
  const mid = 36 + above;
  const height = mid + below + 40;
  const max = Math.max(1, ...flows.map((f) => f.value));
  const id = escapeXml(t.id);
  const parts: string[] = [
    `<defs><marker id="${id}-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="12" markerHeight="12" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="${INK}"/></marker></defs>`,
    `<line x1="${margin - 20}" y1="${n(mid)}" x2="${width - margin + 20}" y2="${n(mid)}" stroke="#b3b3b3" stroke-width="1"/>`,
  ];
  drawn.forEach((f, i) => {
    const x1 = x.get(f.from) as number;
    const x2 = x.get(f.to) as number;
    const r = Math.abs(x2 - x1) / 2;
    const ry = rise(f);
    const up = rightward(f);
    // sweep 1 draws clockwise: left-to-right over the top, right-to-left under the bottom.
    const colour = PALETTE[i % PALETTE.length];
    const stroke = n(1.5 + (f.value / max) * 10);
    parts.push(
      `<path d="M${n(x1)},${n(mid)} A${n(r)},${n(ry)} 0 0 1 ${n(x2)},${n(mid)}" fill="none" stroke="${colour}" stroke-width="${stroke}" stroke-opacity="0.75" marker-end="url(#${id}-arrow)"/>`,
      `<text x="${n((x1 + x2) / 2)}" y="${n(up ? mid - ry - 8 : mid + ry + 18)}" text-anchor="middle" fill="${INK}" font-weight="bold">${f.value}</text>`,
    );
  });
  nodes.forEach((node, i) => {
    const cx = x.get(node.id) as number;
    // The ends' names run inwards, so that a long name stays inside the picture; with many, they alternate
    // below and above the line so that neighbours do not overlap.
    const anchor = i === 0 ? 'start' : i === nodes.length - 1 ? 'end' : 'middle';
    const tx = anchor === 'start' ? cx - 8 : anchor === 'end' ? cx + 8 : cx;
    parts.push(
      `<circle cx="${n(cx)}" cy="${n(mid)}" r="6" fill="${INK}"/>`,
      `<text x="${n(tx)}" y="${n(mid + (nodes.length > 3 && i % 2 ? -12 : 24))}" text-anchor="${anchor}" fill="${INK}" font-size="13" stroke="#fff" stroke-width="3" paint-order="stroke">${escapeXml(node.label)}</text>`,
    );
  });
  return svg(t, width, height, parts.join(''));
}

export interface Series {
  label: string;
  values: number[];
}

/** Lines over time (themes month by month): each line a different dash and marker, its name at its end. */
export function lineChart(t: ChartText, xLabels: string[], series: Series[]): string {
  const width = 640;
  const left = 40;
  const right = 170;
  const top = 16;
  const plotHeight = 200;
  const bottom = top + plotHeight;
  const plot = width - left - right;
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const step = xLabels.length > 1 ? plot / (xLabels.length - 1) : 0;
  const px = (i: number) => n(left + (xLabels.length > 1 ? i * step : plot / 2));
  const py = (v: number) => n(bottom - (v / max) * plotHeight);
  const dashes = ['', '6 3', '2 3', '10 4 2 4', '1 6', '12 3'];
  const parts: string[] = [
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="${INK}"/>`,
    `<line x1="${left}" y1="${bottom}" x2="${width - right}" y2="${bottom}" stroke="${INK}"/>`,
    `<text x="${left - 6}" y="${top + 5}" text-anchor="end" fill="${INK}">${max}</text>`,
    `<text x="${left - 6}" y="${bottom}" text-anchor="end" fill="${INK}">0</text>`,
  ];
  const every = Math.ceil(xLabels.length / 6);
  xLabels.forEach((label, i) => {
    // Counted back from the latest month, which is always named.
    if ((xLabels.length - 1 - i) % every !== 0) return;
    parts.push(
      `<text x="${px(i)}" y="${bottom + 18}" text-anchor="middle" fill="${INK}" font-size="12">${escapeXml(label)}</text>`,
    );
  });
  const ends: { y: number; label: string; colour: string }[] = [];
  series.forEach((s, k) => {
    const colour = PALETTE[k % PALETTE.length];
    const points = s.values.map((v, i) => `${px(i)},${py(v)}`).join(' ');
    parts.push(
      `<polyline points="${points}" fill="none" stroke="${colour}" stroke-width="2.5"${dashes[k % dashes.length] ? ` stroke-dasharray="${dashes[k % dashes.length]}"` : ''}/>`,
      ...s.values.map((v, i) => marker(k, px(i), py(v), colour)),
    );
    ends.push({ y: py(s.values.at(-1) ?? 0), label: `${s.label} (${s.values.at(-1) ?? 0})`, colour });
  });
  // Names at the lines' ends, moved apart so that none overlaps another.
  ends.sort((a, b) => a.y - b.y);
  let last = -Infinity;
  for (const e of ends) {
    const y = Math.max(e.y + 4, last + 15);
    last = y;
    parts.push(
      `<text x="${width - right + 8}" y="${n(y)}" fill="${INK}">${escapeXml(e.label)}</text>`,
      `<line x1="${width - right - 2}" y1="${n(y - 4)}" x2="${width - right + 6}" y2="${n(y - 4)}" stroke="${e.colour}" stroke-width="2.5"/>`,
    );
  }
  return svg(t, width, Math.max(bottom + 30, last + 10), parts.join(''));
}

/** A marker of its own shape for each series: circle, square, triangle, diamond. */
function marker(k: number, x: number, y: number, colour: string): string {
  switch (k % 4) {
    case 0:
      return `<circle cx="${x}" cy="${y}" r="4" fill="${colour}"/>`;
    case 1:
      return `<rect x="${x - 4}" y="${y - 4}" width="8" height="8" fill="${colour}"/>`;
    case 2:
      return `<path d="M${x},${y - 5} L${x + 5},${y + 4} L${x - 5},${y + 4} z" fill="${colour}"/>`;
    default:
      return `<path d="M${x},${y - 5} L${x + 5},${y} L${x},${y + 5} L${x - 5},${y} z" fill="${colour}"/>`;
  }
}
