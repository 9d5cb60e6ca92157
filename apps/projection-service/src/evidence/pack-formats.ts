import type { Browser } from 'playwright-core';
import { PackDocument } from './evidence-packs';
import { PackTable } from './pack-contents';

const esc = (v: unknown) =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
  );

/** A suppressed count is shown as "c" (confidential), as official statistics do. */
const cell = (v: number | null) => (v === null ? 'c' : String(v));

/** One table as CSV (RFC 4180): a header row, a row per row label with its total, and the totals row. */
export function tableCsv(t: PackTable): string {
  const q = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = [
    [`${t.rowsAre} / ${t.columnsAre}`, ...t.columns, 'total'],
    ...t.rows.map((r, i) => [r, ...t.cells[i].map(cell), cell(t.rowTotals[i])]),
    ['total', ...t.columnTotals.map(cell), cell(t.grandTotal)],
  ];
  return `${lines.map((l) => l.map(q).join(',')).join('\r\n')}\r\n`;
}

function tableHtml(t: PackTable): string {
  return `<table id="${esc(t.id)}"><caption>${esc(t.title)}</caption>
<thead><tr><th scope="col">${esc(t.rowsAre)}</th>${t.columns.map((c) => `<th scope="col">${esc(c)}</th>`).join('')}<th scope="col">Total</th></tr></thead>
<tbody>${t.rows
    .map(
      (r, i) =>
        `<tr><th scope="row">${esc(r)}</th>${t.cells[i].map((v) => `<td>${cell(v)}</td>`).join('')}<td>${cell(t.rowTotals[i])}</td></tr>`,
    )
    .join('')}
<tr><th scope="row">Total</th>${t.columnTotals.map((v) => `<td>${cell(v)}</td>`).join('')}<td>${cell(t.grandTotal)}</td></tr></tbody></table>`;
}

const list = (items: string[]) =>
  items.length ? `<ul>${items.map((i) => `<li>${esc(i)}</li>`).join('')}</ul>` : '<p>None recorded.</p>';

/** The pack as a standalone page, the same for the browser and for the PDF. */
export function packHtml(doc: PackDocument): string {
  const c = doc.contents;
  const pub = doc.publication;
  return `<!doctype html><html lang="en-GB"><head><meta charset="utf-8">
<title>Evidence for ${esc(c.body.name)}, ${esc(doc.period.from)} to ${esc(doc.period.to)}</title>
<style>body{font-family:Arial,Helvetica,sans-serif;margin:2rem;color:#0b0c0c;max-width:60rem}table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #b1b4b6;padding:.3rem .5rem;text-align:right}th[scope=row],thead th:first-child{text-align:left}
caption{text-align:left;font-weight:bold;padding:.5rem 0}.meta{color:#505a5f}section{page-break-inside:avoid}</style></head><body>
<header><p class="meta">${esc(c.consortium.name)} · ${esc(c.consortium.place)}</p>
<h1>Evidence for ${esc(c.body.name)}</h1>
<p>Period: ${esc(doc.period.from)} to ${esc(doc.period.to)}. Status: ${esc(doc.status)}.</p>
<p>${esc(c.consortium.purpose)}</p></header>
<main>
<section><h2>What the place did</h2>
<p>Counts from 1 to ${c.disclosure.minimum - 1} are shown as "c", and so are enough others that none of them can be worked out from the totals or from earlier packs.</p>
${c.tables.map(tableHtml).join('\n')}
<h3>Cost and effort per journey</h3>
<p>Journeys: ${esc(c.measures.journeys ?? 'c')}. Average money spent: ${c.measures.averageCostPounds === null ? 'c' : `£${c.measures.averageCostPounds.toFixed(2)}`}. Average visits: ${esc(c.measures.averageVisits ?? 'c')}. Average calls: ${esc(c.measures.averageCalls ?? 'c')}.</p>
${c.measures.daysToFirstContact.length ? `<table><caption>Days from referral to first contact</caption><thead><tr><th scope="col">From</th><th scope="col">To</th><th scope="col">Days</th></tr></thead><tbody>${c.measures.daysToFirstContact.map((d) => `<tr><th scope="row">${esc(d.from)}</th><td>${esc(d.to)}</td><td>${esc(d.days ?? 'c')}</td></tr>`).join('')}</tbody></table>` : ''}
</section>
<section><h2>Case studies</h2>${
    c.caseStudies.length
      ? c.caseStudies
          .map(
            (s, i) => `<article><h3>Case study ${i + 1}</h3><h4>The situation</h4><p>${esc(s.situation)}</p>
<h4>What was done</h4><p>${esc(s.whatWasDone)}</p>
<h4>Cost and effort</h4><p>£${s.costAndEffort.moneySpentPounds.toFixed(2)} spent; ${s.costAndEffort.visits} visits, ${s.costAndEffort.calls} calls, ${s.costAndEffort.contacts} contacts in all, with ${s.costAndEffort.partners} partner(s).</p>
<h4>What changed for the person</h4><p>${esc(s.whatChangedForThePerson)}</p>
<h4>System changes it led to</h4>${list(s.systemChanges)}<h4>Method changes it led to</h4>${list(s.methodChanges)}</article>`,
          )
          .join('')
      : '<p>No case studies in this pack.</p>'
  }</section>
<section><h2>Issues for the system</h2>${
    c.issues.length
      ? c.issues
          .map(
            (
              i,
            ) => `<article><h3>${esc(i.description)}</h3><p>Level ${i.level}, owned by ${esc(i.owner)}, ${esc(i.status)}.</p>
${i.countermeasure ? `<p><strong>Countermeasure now:</strong> ${esc(i.countermeasure)}</p>` : ''}${i.systemChange ? `<p><strong>System change for the new normal:</strong> ${esc(i.systemChange)}</p>` : ''}${i.whatChanged ? `<p><strong>What changed:</strong> ${esc(i.whatChanged)}</p>` : ''}
${i.asks.length ? `<h4>What we ask of ${esc(c.body.name)}</h4><ul>${i.asks.map((a) => `<li>${esc(a.ask)} (asked ${esc(a.askedAt.slice(0, 10))}): ${a.outcome ? `${esc(a.outcome)}${a.response ? ` — ${esc(a.response)}` : ''}` : 'no answer yet'}</li>`).join('')}</ul>` : ''}</article>`,
          )
          .join('')
      : '<p>No issues at level 3 or owned by government.</p>'
  }</section>
<section><h2>What the consortium has learnt</h2>
<table><caption>Learning cycles by scale and stage</caption><thead><tr><th scope="col">Scale</th><th scope="col">Stage</th><th scope="col">Cycles</th></tr></thead><tbody>${c.learning.cycles.map((l) => `<tr><th scope="row">${esc(l.scale)}</th><td>${esc(l.stage)}</td><td>${l.cycles}</td></tr>`).join('')}</tbody></table>
${c.learning.learnt.map((l) => `<article><h3>${esc(l.cycle)} (${esc(l.scale)})</h3>${list(l.learning)}</article>`).join('')}
</section>
<section><h2>Provenance</h2>
<table><caption>Events this pack was computed from</caption><thead><tr><th scope="col">Partner</th><th scope="col">Positions</th><th scope="col">Events</th><th scope="col">Digest</th></tr></thead><tbody>${c.provenance.map((p) => `<tr><th scope="row">${esc(p.partner)}</th><td>${p.from}–${p.to}</td><td>${p.events}</td><td><code>${esc(p.digest)}</code></td></tr>`).join('')}</tbody></table>
<p>Approved by: ${doc.approvals.map((a) => esc(a.partner)).join(', ')}.</p>
${pub ? `<p>Published ${esc(pub.publishedAt)}. SHA-256 <code>${esc(pub.digest)}</code>, signed with Ed25519 key <code>${esc(pub.keyId)}</code>:</p><p><code style="word-break:break-all">${esc(pub.signature)}</code></p>` : '<p>Not yet published.</p>'}
</section></main></body></html>`;
}

/**
 * Prints the page to PDF with Chromium (headless). One browser is started on first use and kept for the
 * service's life; the executable is Debian's chromium unless CHROMIUM_PATH says otherwise.
 */
export class PdfPrinter {
  private browser: Promise<Browser> | null = null;

  async print(html: string): Promise<Buffer> {
    this.browser ??= import('playwright-core').then(({ chromium }) =>
      chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      }),
    );
    let browser: Browser;
    try {
      browser = await this.browser;
    } catch (e) {
      this.browser = null;
      throw new Error(`PDFs cannot be printed here: Chromium did not start (${(e as Error).message})`);
    }
    const page = await browser.newPage();
    try {
      await page.setContent(html, { waitUntil: 'load' });
      return await page.pdf({
        format: 'A4',
        printBackground: true,
        margin: { top: '15mm', bottom: '15mm', left: '12mm', right: '12mm' },
      });
    } finally {
      await page.close();
    }
  }

  async close(): Promise<void> {
    const browser = this.browser;
    this.browser = null;
    if (browser) await (await browser.catch(() => null))?.close();
  }
}
