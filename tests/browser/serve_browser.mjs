// The browser tests of `nscope serve`, in headless Chromium (Debian's) driven by
// puppeteer-core: run by run.sh, which makes the namespaces and starts serve. Each test
// prints "ok NAME" or "not ok NAME: why" and saves a screenshot; the exit status is 1 when
// any failed.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(path.join(process.env.NODE_PATH || '.', 'x.js'));
const puppeteer = require('puppeteer-core');

const { values: a } = parseArgs({
  options: {
    url: { type: 'string' }, chromium: { type: 'string' }, artifacts: { type: 'string' },
    'ns-a': { type: 'string' }, 'ns-b': { type: 'string' }, 'ino-a': { type: 'string' }, 'ino-b': { type: 'string' },
    'veth-a': { type: 'string' }, 'ping-to': { type: 'string' },
  },
});

const shot = (page, name) => page.screenshot({ path: path.join(a.artifacts, `serve-${name}.png`) });
let failed = 0;
async function test(name, page, body) {
  try {
    await body();
    console.log(`ok ${name}`);
  } catch (err) {
    failed++;
    console.log(`not ok ${name}: ${err.message}`);
  }
  try { await shot(page, name); } catch (err) { console.log(`  (no screenshot: ${err.message})`); }
}
function check(cond, what) { if (!cond) throw new Error(what); }

const url = new URL(a.url);
const browser = await puppeteer.launch({
  executablePath: a.chromium,
  headless: true,
  // As root Chromium needs --no-sandbox. rebind.example resolves to this host, as a DNS
  // rebinding attack would make it.
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--host-resolver-rules=MAP rebind.example 127.0.0.1'],
});
const page = await browser.newPage();
await page.setViewport({ width: 1400, height: 900 });
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(e.message));

try {
  await test('wiring', page, async () => {
    const res = await page.goto(a.url, { waitUntil: 'domcontentloaded' });
    check(res.ok(), `the page answered ${res.status()}`);
    check(!page.url().includes('token='), `the token stays in the address bar: ${page.url()}`);
    await page.waitForSelector('body[data-layout="done"]', { timeout: 60000 });
    const g = await page.evaluate((ia, ib) => {
      const cy = window.nscope.cy;
      const ifacesOf = (ino) => cy.nodes(`[parent = "n:${ino}"]`).map((n) => n.id());
      const ia_ = ifacesOf(ia), ib_ = ifacesOf(ib);
      const veth = cy.edges('.kind-veth').filter((e) =>
        (ia_.includes(e.source().id()) && ib_.includes(e.target().id())) ||
        (ib_.includes(e.source().id()) && ia_.includes(e.target().id())));
      return { a: cy.getElementById(`n:${ia}`).data('label'), b: cy.getElementById(`n:${ib}`).data('label'), veth: veth.length };
    }, a['ino-a'], a['ino-b']);
    check(g.a === a['ns-a'], `namespace ${a['ns-a']} is drawn as ${g.a}`);
    check(g.b === a['ns-b'], `namespace ${a['ns-b']} is drawn as ${g.b}`);
    check(g.veth === 1, `${g.veth} veth edges between the two`);
    // Zoom to the two namespaces for the screenshot (and the click below).
    await page.evaluate((ia, ib) => {
      const cy = window.nscope.cy;
      cy.fit(cy.getElementById(`n:${ia}`).union(cy.getElementById(`n:${ib}`)), 80);
    }, a['ino-a'], a['ino-b']);
  });

  await test('click-namespace', page, async () => {
    // A real click on the namespace's box (in its padding, off its interfaces).
    const box = await page.evaluate((ia) => {
      const n = window.nscope.cy.getElementById(`n:${ia}`);
      const bb = n.renderedBoundingBox({ includeLabels: false });
      const r = document.querySelector('#graph').getBoundingClientRect();
      return { x: r.left + bb.x1 + Math.max(4, 0.05 * bb.w), y: r.top + (bb.y1 + bb.y2) / 2 };
    }, a['ino-a']);
    await page.mouse.click(box.x, box.y);
    await page.waitForSelector(`#details h3[data-inode="${a['ino-a']}"]`, { timeout: 10000 });
    const text = await page.$eval('#show-interfaces', (t) => t.innerText);
    check(text.includes(a['veth-a']), `the interfaces shown lack ${a['veth-a']}: ${text}`);
    check(text.includes('10.216.0.1'), `the interfaces shown lack the address: ${text}`);
    check(text.includes(a['ns-b']), `the veth's peer namespace is not named: ${text}`);
  });

  await test('live-ping', page, async () => {
    check(await page.$eval('#collect-form', (f) => !f.hidden), 'no collect form (serve runs with --allow-collect)');
    await page.type('#collect-form input[name=collectors]', 'skb,ns,dev');
    await page.type('#collect-form input[name=netns]', `${a['ns-a']},${a['ns-b']}`);
    await page.type('#collect-form input[name=filter]', 'icmp');
    await page.click('#collect-start');
    await page.waitForSelector('body[data-collect="running"]', { timeout: 30000 });
    const want = `10.216.0.1 > ${a['ping-to']} icmp`;
    const t0 = Date.now();
    const ping = spawn('ip', ['netns', 'exec', a['ns-a'], 'ping', '-c', '3', '-i', '0.2', '-W', '1', a['ping-to']], { stdio: 'ignore' });
    const done = new Promise((resolve) => ping.on('exit', resolve));
    await page.waitForFunction((w) => [...document.querySelectorAll('#events li.packet')].some((li) => li.textContent.includes(w)),
      { timeout: 5000, polling: 20 }, want);
    const ms = Date.now() - t0;
    console.log(`  the first echo request appeared in the live pane ${ms} ms after ping started`);
    check(ms < 2000, `the ping appeared after ${ms} ms (2000 allowed)`);
    const line = await page.$$eval('#events li.packet', (l, w) => l.find((x) => x.textContent.includes(w)).textContent, want);
    check(line.includes(`[${a['ns-a']}]`) || line.includes(`[${a['ns-b']}]`), `the event does not name the namespace: ${line}`);
    await done;
    await page.click('#collect-stop');
    await page.waitForSelector('body[data-collect="idle"]', { timeout: 30000 });
  });

  await test('token-and-host', page, async () => {
    const other = await browser.newPage();
    try {
      const wrong = new URL(a.url);
      wrong.searchParams.set('token', '0'.repeat(32));
      const client = await other.target().createCDPSession();
      await client.send('Network.clearBrowserCookies');
      let res = await other.goto(wrong.href);
      check(res.status() === 403, `a wrong token got ${res.status()}`);
      const none = new URL(a.url);
      none.search = '';
      res = await other.goto(none.href);
      check(res.status() === 401, `no token got ${res.status()}`);
      // The right token under a foreign name (DNS rebinding): refused on the Host header.
      const rebound = new URL(a.url);
      rebound.hostname = 'rebind.example';
      res = await other.goto(rebound.href);
      check(res.status() === 403, `a foreign Host got ${res.status()}`);
      check((await res.text()).includes('is not this server'), 'the refusal does not say why');
    } finally {
      await other.close();
    }
  });
  if (consoleErrors.length) {
    failed++;
    console.log(`not ok console: ${consoleErrors.join(' | ')}`);
  }
} finally {
  await browser.close();
}
console.log(failed ? `${failed} failed` : 'all passed');
process.exit(failed ? 1 : 0);
