// Opens pigweight's live view in headless Chromium for a while and prints what the page
// measured as JSON: every glass-to-glass latency (server tap → this screen, with the clock
// offset learned over the DataChannel), the clock offset, time to the first shown frame and
// the jitter buffer's delay. Used by `pigweight bench viewers`.
//
// Environment: PW_URL (the /view/{stream} page), PW_CHROMIUM (the browser), PW_MODULES (the
// folder holding node_modules/playwright-core), PW_SECONDS (how long to watch).
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.PW_MODULES, 'noop.js'));
const { chromium } = require('playwright-core');
const seconds = Number(process.env.PW_SECONDS || 20);

// Loopback WebRTC in headless Chromium: see WEBRTC-NOTES.md.
const browser = await chromium.launch({
  executablePath: process.env.PW_CHROMIUM,
  headless: true,
  timeout: 20000,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required', '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
  ],
});
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
