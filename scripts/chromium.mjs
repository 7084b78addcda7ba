// Launches Debian's chromium through playwright-core for pigweight's browser tests and
// benchmarks, with the flags loopback WebRTC needs (see WEBRTC-NOTES.md in the shared folder).
// Environment: PW_MODULES (a folder whose node_modules holds playwright-core; make deps puts it
// in third_party/node), PW_CHROMIUM (the browser binary).
import { createRequire } from 'node:module';
import path from 'node:path';

export async function launchChromium() {
  const require = createRequire(path.join(process.env.PW_MODULES, 'driver.js'));
  const { chromium } = require('playwright-core');
  return chromium.launch({
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
}
