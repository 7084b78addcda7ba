// Opens pigweight's live view in headless Chromium for a while and prints what the page
// measured as JSON: every glass-to-glass latency (server tap → this screen, with the clock
// offset learned over the DataChannel), the clock offset, time to the first shown frame and
// the jitter buffer's delay. Used by `pigweight bench viewers`.
//
// Environment: PW_URL (the /view/{stream} page), PW_CHROMIUM (the browser), PW_MODULES (the
// folder holding node_modules/playwright-core), PW_SECONDS (how long to watch).
import { launchChromium } from './chromium.mjs';

const seconds = Number(process.env.PW_SECONDS || 20);

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(process.env.PW_URL, { timeout: 15000 });
  await page.waitForTimeout(seconds * 1000);
  const out = await page.evaluate(() => ({
    latencies: window.pigweight.latencyLog,
    clock: window.pigweight.clock,
    firstFrameMs: window.pigweight.firstFrameMs,
    stats: window.pigweight.stats,
    framesPresented: window.pigweight.framesPresented,
  }));
  process.stdout.write(JSON.stringify(out) + '\n');
} finally {
  await browser.close();
}
