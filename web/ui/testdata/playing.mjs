// Drives headless Chromium through the live view page and records how many frames it has
// presented, every 250 ms, for cmd/pigweight's test that viewers keep playing through a
// pipeline's restarts. Environment: PW_URL (the page), PW_CHROMIUM (the browser), PW_MODULES
// (a folder whose node_modules holds playwright-core), PW_WATCH_MS (how long to watch).
// Prints one JSON object on stdout: {samples: [[Unix ms, framesPresented], ...], reconnects},
// from the first frame on; exits 1 with the reason on stderr.
import { launchChromium } from '../../../scripts/chromium.mjs';

const watchMs = Number(process.env.PW_WATCH_MS || 9000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const presented = (page) => page.evaluate(() => window.pigweight.framesPresented);

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(process.env.PW_URL, { timeout: 15000 });
  const deadline = Date.now() + 20000;
  while ((await presented(page)) === 0) {
    if (Date.now() > deadline) throw new Error('no frame presented in 20 s');
    await sleep(50);
  }
  const start = Date.now();
  const samples = [];
  while (Date.now() - start < watchMs) {
    samples.push([Date.now(), await presented(page)]);
    await sleep(250);
  }
  const reconnects = await page.evaluate(() => window.pigweight.reconnects);
  process.stdout.write(JSON.stringify({ samples, reconnects }) + '\n');
  await browser.close();
} catch (e) {
  process.stderr.write('driver: ' + (e && e.stack ? e.stack : String(e)) + '\n');
  await browser.close();
  process.exit(1);
}
