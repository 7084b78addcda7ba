// Drives headless Chromium through the start page's Videos section for cmd/pigweight's
// browser test: upload without the token (refused), with it, open the frame viewer, step and
// scrub, analyse, delete. Environment: PW_URL (the start page), PW_CHROMIUM (the browser),
// PW_MODULES (a folder whose node_modules holds playwright-core), PW_CLIP (the file to upload),
// PW_TOKEN (the server's API token), PW_TIMEOUT_MS, PW_SCREENSHOTS (optional: a folder for
// screenshots, to look at the page). Prints one JSON object on stdout; exits 1
// with the reason on stderr.
import { launchChromium } from '../../../scripts/chromium.mjs';

const timeout = Number(process.env.PW_TIMEOUT_MS || 40000);
const browser = await launchChromium();
const logs = [];
let step = 'start';
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(timeout);
  page.on('console', (m) => logs.push(m.type() + ': ' + m.text()));
  page.on('pageerror', (e) => logs.push('pageerror: ' + e.message));
  page.on('dialog', (d) => d.accept());
  // Frame requests in flight at once, and how many were made.
  let inFlight = 0, maxInFlight = 0, frameRequests = 0;
  const isFrame = (r) => /\/frames\/\d+$/.test(r.url()) && r.resourceType() === 'image';
  page.on('request', (r) => { if (isFrame(r)) { frameRequests++; maxInFlight = Math.max(maxInFlight, ++inFlight); } });
  const ended = (r) => { if (isFrame(r)) inFlight--; };
  page.on('requestfinished', ended);
  page.on('requestfailed', ended);
  await page.goto(process.env.PW_URL);

  step = 'upload without the token';
  await page.setInputFiles('#upload-file', process.env.PW_CLIP);
  await page.click('#upload button[type=submit]');
  await page.waitForSelector('#upload-result.fail');
  const refused = await page.textContent('#upload-result');

  step = 'upload with the token';
  await page.fill('#token', process.env.PW_TOKEN);
  // progress.value reflects to its attribute: record what the bar showed.
  await page.evaluate(() => {
    window.progressSeen = [];
    const bar = document.getElementById('upload-progress');
    new MutationObserver(() => window.progressSeen.push(bar.getAttribute('value'))).observe(bar, { attributes: true, attributeFilter: ['value'] });
  });
  await page.click('#upload button[type=submit]');
  await page.waitForSelector('#upload-result.ok');
  const uploaded = await page.textContent('#upload-result');
  const progressSeen = await page.evaluate(() => window.progressSeen);

  step = 'the table lists the video';
  const row = page.locator('#video-rows tr', { has: page.locator('.badge.ready') });
  await row.waitFor();
  const cells = await row.locator('td').allTextContents();

  step = 'open the viewer';
  await row.getByRole('button', { name: 'frames' }).click();
  await page.waitForFunction(() => {
    const img = document.getElementById('frame');
    return img.src.endsWith('/frames/0') && img.complete && img.naturalWidth > 0;
  });
  const viewerFocused = await page.evaluate(() => document.activeElement && document.activeElement.id);

  step = 'step to frame 10 with →';
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
  await page.waitForFunction(() => {
    const img = document.getElementById('frame');
    return img.src.endsWith('/frames/10') && img.complete && img.naturalWidth > 0 && img.alt.startsWith('frame 10 ');
  });
  const at10 = await page.evaluate(() => {
    const img = document.getElementById('frame');
    return { src: img.src, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
      number: document.getElementById('frame-number').value, info: document.getElementById('frame-info').textContent };
  });

  step = 'scrub the slider to frame 40';
  const before = frameRequests;
  await page.evaluate(() => {
    const s = document.getElementById('frame-slider');
    for (let n = 11; n <= 40; n++) {
      s.value = String(n);
      s.dispatchEvent(new Event('input', { bubbles: true }));
    }
  });
  await page.waitForFunction(() => {
    const img = document.getElementById('frame');
    return img.src.endsWith('/frames/40') && img.complete && img.alt.startsWith('frame 40 ');
  });
  const scrubRequests = frameRequests - before;
  const shot = (name) => process.env.PW_SCREENSHOTS && page.screenshot({ path: path.join(process.env.PW_SCREENSHOTS, name), fullPage: true });
  await shot('viewer.png');

  step = 'analyse';
  await row.getByRole('button', { name: 'analyse' }).click();
  const link = row.locator('td.job a');
  await link.waitFor({ state: 'visible' });
  const csv = await link.getAttribute('href');
  const job = await row.locator('td.job').textContent();
  await shot('analysed.png');

  step = 'delete';
  await row.getByRole('button', { name: 'delete' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#video-rows tr').length === 0);
  const viewerHidden = await page.evaluate(() => document.getElementById('viewer').hidden);

  process.stdout.write(JSON.stringify({ refused, uploaded, progressSeen, cells, viewerFocused, at10,
    scrubRequests, maxInFlight, csv, job, viewerHidden, logs }) + '\n');
  await browser.close();
} catch (e) {
  process.stderr.write('step "' + step + '": ' + (e && e.stack ? e.stack : String(e)) + '\nconsole: ' + JSON.stringify(logs) + '\n');
  await browser.close();
  process.exit(1);
}
