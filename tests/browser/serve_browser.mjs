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
    'veth-a': { type: 'string' }, 'veth-b': { type: 'string' }, 'ping-to': { type: 'string' },
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
    await page.type('#collect-form input[name=collectors]', 'skb,ns,dev,skb-tracking');
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

  // The newest tracked packet (an echo request or reply) drawn on the wiring: both veth
  // ends, the veth link between them, both namespaces, marked `path` (window.nscope.marks),
  // and painted on the lights canvas over the graph at both veth ends.
  await test('packet-path', page, async () => {
    await page.evaluate((ia, ib) => {
      const cy = window.nscope.cy;
      cy.fit(cy.getElementById(`n:${ia}`).union(cy.getElementById(`n:${ib}`)), 80);
    }, a['ino-a'], a['ino-b']);
    await new Promise((r) => setTimeout(r, 300));  // the fit drawn, and the lights after it
    const p = await page.evaluate((ia, ib, va, vb) => {
      const cy = window.nscope.cy;
      const lp = window.nscope.lastPath;
      const marks = window.nscope.marks;
      const ifaceOf = (ino, name) => cy.nodes(`[parent = "n:${ino}"]`).filter((n) => n.data('label') === name);
      const fa = ifaceOf(ia, va), fb = ifaceOf(ib, vb);
      const marked = (e) => e.nonempty() && e.toArray().some((x) => String(marks.get(x.id())).startsWith('path'));
      // The lights canvas's pixel at an interface's centre: painted, not clear.
      const canvas = document.querySelector('#lights');
      const ctx = canvas.getContext('2d');
      const dpr = window.devicePixelRatio || 1;
      const painted = (n) => {
        if (n.empty()) return false;
        const q = n.renderedPosition();
        return ctx.getImageData(Math.round(q.x * dpr), Math.round(q.y * dpr), 1, 1).data[3] > 0;
      };
      return {
        last: lp && { ifaces: lp.ifaces, edges: lp.edges, nses: lp.nses },
        ifaceA: marked(fa), ifaceB: marked(fb),
        nsA: marked(cy.getElementById(`n:${ia}`)), nsB: marked(cy.getElementById(`n:${ib}`)),
        link: fa.nonempty() && fb.nonempty() && fa.edgesWith(fb).filter((e) => marked(e)).length,
        paintedA: painted(fa), paintedB: painted(fb),
      };
    }, a['ino-a'], a['ino-b'], a['veth-a'], a['veth-b']);
    check(p.last, 'no tracked packet drawn (window.nscope.lastPath)');
    const got = JSON.stringify(p);
    check(p.ifaceA && p.ifaceB, `both veth ends are not on the path: ${got}`);
    check(p.nsA && p.nsB, `both namespaces are not on the path: ${got}`);
    check(p.link === 1, `the veth link is not on the path: ${got}`);
    check(p.paintedA && p.paintedB, `the path is not painted over both veth ends: ${got}`);
  });

  // The capture offered by the page: its link, fetched as the browser would download it.
  await test('pcapng', page, async () => {
    await page.waitForSelector('#collect-pcapng:not([hidden])', { timeout: 5000 });
    const got = await page.evaluate(async () => {
      const href = document.querySelector('#collect-pcapng').href;
      const r = await fetch(href);
      const b = new Uint8Array(await r.arrayBuffer());
      let s = '';
      for (const x of b) s += String.fromCharCode(x);
      return { status: r.status, type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), b64: btoa(s) };
    });
    check(got.status === 200, `the capture answered ${got.status}`);
    check(got.type === 'application/x-pcapng', `content type ${got.type}`);
    check(/attachment/.test(got.disposition || ''), `not offered as a download: ${got.disposition}`);
    const buf = Buffer.from(got.b64, 'base64');
    check(buf.length >= 28 && buf.readUInt32LE(0) === 0x0a0d0d0a, `not pcapng: starts ${buf.subarray(0, 8).toString('hex')}`);
    check(buf.readUInt32LE(8) === 0x1a2b3c4d, 'the section header block has no byte-order magic');
    // The blocks: an Enhanced Packet Block (6) holding an IPv4 ICMP echo between the two.
    const ip = (s) => Buffer.from(s.split('.').map(Number));
    const src = ip('10.216.0.1'), dst = ip(a['ping-to']);
    let off = 0, packets = 0, pings = 0;
    while (off + 12 <= buf.length) {
      const type = buf.readUInt32LE(off), len = buf.readUInt32LE(off + 4);
      check(len >= 12 && off + len <= buf.length, `a block of ${len} bytes at ${off} runs past the end`);
      if (type === 6) {
        packets++;
        const caplen = buf.readUInt32LE(off + 20);
        const data = buf.subarray(off + 28, off + 28 + caplen);
        for (let i = 0; i + 20 <= data.length; i++) {
          if (data[i] === 0x45 && data[i + 9] === 1 && (data.subarray(i + 12, i + 16).equals(src) || data.subarray(i + 12, i + 16).equals(dst)) &&
              (data.subarray(i + 16, i + 20).equals(dst) || data.subarray(i + 16, i + 20).equals(src))) { pings++; break; }
        }
      }
      off += len;
    }
    console.log(`  the capture: ${buf.length} bytes, ${packets} packets, ${pings} of them the test's ICMP`);
    check(pings > 0, `no ICMP packet between 10.216.0.1 and ${a['ping-to']} in ${packets} packets`);
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
