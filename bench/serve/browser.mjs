// bench/serve's browser side: headless Chromium (Debian's) driven by puppeteer-core.
//   layout --url URL --runs K: K fresh page loads; for each, the time from navigation start to
//     the wiring laid out (the page's data-layout-at), and the median.
//   stream --url URL --netns A,B --during CMD: the page starts a collection (-c skb,ns,dev
//     --netns A,B), CMD runs (the flood), the page counts the events it received and the ones
//     its queue dropped; then the collection stops and the server's own count comes back.
// Prints one JSON line.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(path.join(process.env.NODE_PATH || '.', 'x.js'));
const puppeteer = require('puppeteer-core');
const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string' }, runs: { type: 'string', default: '5' }, netns: { type: 'string' },
    during: { type: 'string' }, chromium: { type: 'string', default: '/usr/bin/chromium' } },
});

const browser = await puppeteer.launch({ executablePath: a.chromium, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
// Chromium ends a navigation with ERR_NETWORK_CHANGED while the host's interfaces change (the
// scenario's veths settling, their IPv6 addresses coming up): the page is loaded again.
const open = async (page, url) => {
  for (let i = 0; ; i++) {
    try {
      return await page.goto(url, { waitUntil: 'domcontentloaded' });
    } catch (e) {
      if (i >= 4 || !String(e.message).includes('ERR_NETWORK_CHANGED')) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
};
const median = (xs) => { const s = [...xs].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
try {
  if (positionals[0] === 'layout') {
    const runs = [];
    const timings = [];
    let nodes = 0;
    for (let i = 0; i < Number(a.runs); i++) {
      const page = await browser.newPage();
      await page.setViewport({ width: 1600, height: 1000 });
      await open(page, a.url);
      await page.waitForSelector('body[data-layout="done"]', { timeout: 120000 });
      runs.push(Number(await page.$eval('body', (b) => b.dataset.layoutAt)));
      timings.push(await page.evaluate(() => window.nscope.timings));
      nodes = await page.evaluate(() => window.nscope.topo.nodes.length);
      if (i === 0) await page.screenshot({ path: process.env.SHOT || '/dev/null' }).catch(() => {});
      await page.close();
    }
    console.log(JSON.stringify({ namespaces: nodes, runs_ms: runs, median_ms: median(runs), timings }));
  } else if (positionals[0] === 'stream') {
    const page = await browser.newPage();
    await open(page, a.url);
    await page.waitForSelector('body[data-live="connected"]', { timeout: 60000 });
    // The wiring laid out first: the layout's second of CPU is not the stream's.
    await page.waitForSelector('body[data-layout="done"]', { timeout: 120000 });
    const post = (p, body) => page.evaluate(async (p, body) => {
      const r = await fetch(p, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
      return r.json();
    }, p, body);
    await post('/api/collect', { collectors: 'skb,ns,dev', netns: a.netns });
    await page.waitForSelector('body[data-collect="running"]', { timeout: 60000 });
    const before = await page.evaluate(() => window.nscope.liveCount);
    const out = await new Promise((resolve) => {
      let text = '';
      const c = spawn('bash', ['-c', a.during], { stdio: ['ignore', 'pipe', 'inherit'] });
      c.stdout.on('data', (d) => { text += d; });
      c.on('exit', () => resolve(text.trim()));
    });
    const stopped = await post('/api/collect/stop', {});
    await new Promise((r) => setTimeout(r, 1500));  // the last events on their way
    const got = await page.evaluate(() => ({ received: window.nscope.liveCount, dropped: window.nscope.dropped,
      stream_ms: Math.round(window.nscope.timings.stream_ms || 0), draw_ms: Math.round(window.nscope.timings.draw_ms || 0),
      bytes: window.nscope.timings.stream_bytes || 0 }));
    console.log(JSON.stringify({ during: out, received: got.received - before, dropped: got.dropped,
      js_parse_ms: got.stream_ms, js_draw_ms: got.draw_ms, bytes: got.bytes,
      collected: stopped.last?.events ?? null, lost: stopped.last?.lost ?? null }));
  } else {
    throw new Error('usage: browser.mjs layout|stream ...');
  }
} finally {
  await browser.close();
}
