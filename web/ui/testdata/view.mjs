// Drives headless Chromium through the live view page for cmd/pigweight's browser test.
// Environment: PW_URL (the page), PW_CHROMIUM (the browser), PW_MODULES (a folder whose
// node_modules holds playwright-core), PW_TIMEOUT_MS, PW_SAMPLES (distinct drawn frames to
// collect). Prints one JSON object on stdout: {framesDecoded: [first, last], drawn: [...],
// stats, messages}; exits 1 with the reason on stderr.
import { launchChromium } from '../../../scripts/chromium.mjs';

const timeoutMs = Number(process.env.PW_TIMEOUT_MS || 40000);
const wantSamples = Number(process.env.PW_SAMPLES || 5);
const deadline = Date.now() + timeoutMs;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const browser = await launchChromium();
const fail = async (why, page) => {
  let state = null;
  if (page) {
    state = await page.evaluate(() => ({
      status: document.getElementById('state').textContent,
      connected: window.pigweight && window.pigweight.connected,
      messages: window.pigweight && window.pigweight.messages,
      framesPresented: window.pigweight && window.pigweight.framesPresented,
      stats: window.pigweight && window.pigweight.stats,
    })).catch((e) => String(e));
  }
  process.stderr.write(why + ' ' + JSON.stringify(state) + '\n');
  await browser.close();
  process.exit(1);
};
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const logs = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push('pageerror: ' + e.message));
  await page.goto(process.env.PW_URL, { timeout: 15000 });

  // Video decodes: framesDecoded rises between two getStats samples.
  let first = null, last = null;
  while (Date.now() < deadline) {
    const fd = await page.evaluate(() => window.pigweight.stats && window.pigweight.stats.framesDecoded);
    if (typeof fd === 'number' && fd > 0) {
      if (first === null) first = fd;
      else if (fd > first) { last = fd; break; }
    }
    await sleep(200);
  }
  if (last === null) await fail('framesDecoded never rose; console: ' + JSON.stringify(logs), page);

  // Boxes drawn on frames matched by RTP timestamp: collect distinct ones.
  const drawn = new Map();
  while (drawn.size < wantSamples && Date.now() < deadline) {
    const d = await page.evaluate(() => window.pigweight.lastDrawn);
    if (d && d.boxes.length > 0 && !drawn.has(d.rtp)) drawn.set(d.rtp, d);
    await sleep(50);
  }
  if (drawn.size < wantSamples) await fail(`only ${drawn.size} frames drawn with boxes; console: ` + JSON.stringify(logs), page);

  // The boxes sit where they should on screen: the bottom edge's midpoint of each drawn box,
  // scaled from frame pixels to the displayed picture, has the stroke's colour. One evaluate,
  // so that the canvas and lastDrawn are of the same frame.
  const onScreen = await page.evaluate(() => {
    const v = document.getElementById('video'), c = document.getElementById('overlay');
    const d = window.pigweight.lastDrawn;
    const scale = Math.min(v.clientWidth / d.width, v.clientHeight / d.height);
    const ox = (v.clientWidth - d.width * scale) / 2, oy = (v.clientHeight - d.height * scale) / 2;
    const dpr = c.width / c.clientWidth;
    const px = c.getContext('2d').getImageData(0, 0, c.width, c.height);
    let hits = 0;
    for (const b of d.boxes) {
      const x = Math.round((ox + (b.x + b.w / 2) * scale) * dpr), y = Math.round((oy + (b.y + b.h) * scale) * dpr);
      const i = 4 * (y * c.width + x);
      if (px.data[i + 1] > 150 && px.data[i + 3] > 200) hits++;
    }
    return { boxes: d.boxes.length, hits };
  });
  // Latency: the page measures it once the clock offset is known and a timed frame is shown.
  const wantLatency = Number(process.env.PW_LATENCY_SAMPLES || 5);
  while (Date.now() < deadline && (await page.evaluate(() => window.pigweight.latency.samples)) < wantLatency) {
    await sleep(100);
  }
  const final = await page.evaluate(() => ({ stats: window.pigweight.stats, messages: window.pigweight.messages,
    latency: window.pigweight.latency, clock: window.pigweight.clock,
    framesMatched: window.pigweight.framesMatched, framesPresented: window.pigweight.framesPresented,
    statsText: document.getElementById('stat-fps').textContent }));
  process.stdout.write(JSON.stringify({ framesDecoded: [first, last], drawn: [...drawn.values()], onScreen, ...final }) + '\n');
  await browser.close();
} catch (e) {
  await fail('driver: ' + (e && e.stack ? e.stack : String(e)));
}
