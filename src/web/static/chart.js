// @ts-check
/**
 * The latency charts: inline SVG built from the API's per-minute points (p50 solid, p99 dashed) on a
 * log scale over the last hour. Colours come from the stylesheet by class; labels are text nodes.
 */
import { h, svg } from './dom.js';

const WIDTH = 400;
const HEIGHT = 160;
const LEFT = 46;
const RIGHT = 8;
const TOP = 8;
const BOTTOM = 20;
const HOUR_MS = 3_600_000;
/** Lines drawn per chart (the busiest series). */
const MAX_SERIES = 6;

/**
 * Both charts: poll latency per endpoint, resume latency.
 * @param {{ poll: Record<string, any[]>, resume: any[] }} chart
 * @param {number} now
 */
export function chartsView(chart, now) {
  const polls = Object.entries(chart.poll)
    .map(([label, points]) => ({ label, points }))
    .sort((a, b) => total(b.points) - total(a.points))
    .slice(0, MAX_SERIES);
  return h(
    'div',
    { class: 'charts' },
    lineChart('poll latency per endpoint', polls, now, 'poll'),
    lineChart(
      'resume latency (state change seen → event committed)',
      [{ label: 'resume', points: chart.resume }],
      now,
      'resume',
    ),
  );
}

/** @param {any[]} points */
function total(points) {
  return points.reduce((sum, p) => sum + p.count, 0);
}

/**
 * @param {string} title
 * @param {{ label: string, points: any[] }[]} series
 * @param {number} now
 * @param {string} name
 */
function lineChart(title, series, now, name) {
  const values = series.flatMap((s) => s.points.flatMap((p) => [p.p50Ms, p.p99Ms])).filter((v) => v > 0);
  const figure = h('figure', { class: 'chart', 'data-chart': name }, h('figcaption', {}, title));
  if (values.length === 0) {
    figure.append(h('p', { class: 'empty' }, 'no data in the last hour'));
    return figure;
  }
  const low = Math.floor(Math.log10(Math.min(...values)));
  const high = Math.max(low + 1, Math.ceil(Math.log10(Math.max(...values))));
  const start = now - HOUR_MS;
  const x = (/** @type {number} */ t) => LEFT + ((t - start) / HOUR_MS) * (WIDTH - LEFT - RIGHT);
  const y = (/** @type {number} */ ms) =>
    TOP + (1 - (Math.log10(Math.max(ms, 10 ** low)) - low) / (high - low)) * (HEIGHT - TOP - BOTTOM);
  const grid = [];
  for (let decade = low; decade <= high; decade++) {
    const ms = 10 ** decade;
    grid.push(
      svg('line', { class: 'grid', x1: LEFT, x2: WIDTH - RIGHT, y1: y(ms), y2: y(ms) }),
      svg('text', { class: 'axis', x: LEFT - 4, y: y(ms) + 4, 'text-anchor': 'end' }, msLabel(ms)),
    );
  }
  for (const minutesAgo of [60, 45, 30, 15, 0]) {
    const t = now - minutesAgo * 60_000;
    grid.push(
      svg(
        'text',
        { class: 'axis', x: x(t), y: HEIGHT - 4, 'text-anchor': 'middle' },
        minutesAgo === 0 ? 'now' : `-${minutesAgo}m`,
      ),
    );
  }
  const lines = series.flatMap((s, i) => {
    const points = s.points.filter((p) => p.minute + 60_000 >= start);
    const middle = (/** @type {any} */ p) => p.minute + 30_000;
    const path = (/** @type {'p50Ms' | 'p99Ms'} */ key) =>
      points.map((p) => `${x(middle(p)).toFixed(1)},${y(p[key]).toFixed(1)}`).join(' ');
    return [
      svg('polyline', { class: `line s${i}`, points: path('p50Ms') }),
      svg('polyline', { class: `line p99 s${i}`, points: path('p99Ms') }),
      ...points.map((p) =>
        svg(
          'circle',
          { class: `dot s${i}`, cx: x(middle(p)).toFixed(1), cy: y(p.p99Ms).toFixed(1), r: 2 },
          svg(
            'title',
            {},
            `${s.label} ${new Date(p.minute).toLocaleTimeString()}: p50 ${msLabel(p.p50Ms)}, p99 ${msLabel(p.p99Ms)}, ${p.count} samples`,
          ),
        ),
      ),
    ];
  });
  figure.append(
    svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img', 'aria-label': title }, ...grid, ...lines),
    h(
      'ul',
      { class: 'legend' },
      ...series.map((s, i) => h('li', {}, h('span', { class: `swatch s${i}` }), s.label)),
      h('li', { class: 'muted' }, 'solid p50 · dashed p99'),
    ),
  );
  return figure;
}

/** @param {number} ms */
function msLabel(ms) {
  if (ms >= 1000) return `${+(ms / 1000).toPrecision(3)} s`;
  return `${+ms.toPrecision(3)} ms`;
}
