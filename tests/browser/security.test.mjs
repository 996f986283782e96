// The dashboard against hostile text, in a real headless Chromium (driven by
// playwright-core): alerts whose person names, household codes and area
// path hold HTML, script and control characters are shown as text, literally,
// and nothing in them runs: no dialog, no error, no violation of the page's
// Content-Security-Policy, no element made from data. Prints TAP-like lines
// ("ok - ..." / "not ok - ...") that tests/integration/security.sh counts.
//
//   node security.test.mjs URL TOKEN EXPECT_JSON PUSH_SCRIPT
//
// EXPECT_JSON is a file: {"alerts": N, "names": [...], "path": "...",
// "pathAlerts": N, "rtl": "...", "town": "...", "live": "..."}: the number
// of alerts the token sees, names that must each be shown exactly, an area
// path and how many alerts show it, a name holding a right-to-left
// override, a town's name in the coverage table (the token's area is its
// district), and the name of the alert PUSH_SCRIPT (run with sh once the
// page is live) raises.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const [url, token, expectFile, pushScript] = process.argv.slice(2);
if (!url || !token || !expectFile || !pushScript) {
  console.error('usage: node security.test.mjs URL TOKEN EXPECT_JSON PUSH_SCRIPT');
  process.exit(2);
}
const expect = JSON.parse(readFileSync(expectFile, 'utf8'));

let failed = 0;
function ok(cond, name, detail) {
  console.log(`${cond ? 'ok' : 'not ok'} - ${name}`);
  if (!cond) {
    failed++;
    if (detail !== undefined) console.log(`#   ${String(detail).split('\n').join('\n#   ')}`);
  }
  return cond;
}
// Runs a step; a thrown error (a timeout, say) is a failed check, not the end of the run.
async function step(name, fn) {
  try {
    const r = await fn();
    return ok(r === undefined || r === true, name, r === undefined || r === true ? undefined : r);
  } catch (e) {
    return ok(false, name, e.message.split('\n')[0]);
  }
}
function run(script) {
  return new Promise((resolve) => {
    const child = spawn('sh', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(-1));
  });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox'],   // CI runs as root
});
const page = await browser.newPage();
const problems = [];
const dialogs = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
page.on('dialog', (d) => { dialogs.push(`${d.type()}: ${d.message()}`); d.dismiss().catch(() => {}); });
// Counts what the Content-Security-Policy refused: an inline handler made from data would be one.
await page.addInitScript(() => {
  window.__violations = [];
  document.addEventListener('securitypolicyviolation', (e) =>
    window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
});
page.setDefaultTimeout(5000);

// What the page made of the data: elements that only markup in a text could have made.
const INJECTED = '#alert-list img, #alert-list script, #alert-list iframe, #alert-list svg, ' +
  '#alert-list b, #alert-list [onerror], #alert-list [onload], #coverage-table img, #coverage-table script, ' +
  '#coverage-table b';
// The text of each alert's field (class) in the list.
const texts = (cls) => page.locator(`li.alert .${cls}`).evaluateAll((es) => es.map((e) => e.textContent));

try {
  await step('the page loads', async () => (await page.goto(url + '/')).status() === 200);
  await step('signing in shows the office', async () => {
    await page.fill('#token', token);
    await page.click('#login-form button[type=submit]');
    await page.locator('#app').waitFor({ state: 'visible' });
  });
  await step(`the ${expect.alerts} alerts are listed`, async () => {
    await page.locator('li.alert').nth(expect.alerts - 1).waitFor();
    const n = await page.locator('li.alert').count();
    return n === expect.alerts || `${n} listed`;
  });
  await step('each hostile name is shown as text, exactly', async () => {
    const shown = await texts('name');
    const missing = expect.names.filter((n) => !shown.includes(n));
    return missing.length === 0 || `not shown: ${JSON.stringify(missing)}; shown: ${JSON.stringify(shown)}`;
  });
  await step('the area path holding a script element and CR LF is shown as text, exactly', async () => {
    const paths = await texts('path');
    const n = paths.filter((p) => p === expect.path).length;
    return n === expect.pathAlerts || `${n} of ${expect.pathAlerts}: ${JSON.stringify(paths)}`;
  });
  await step('a right-to-left override in a name stays in its name: the masked id follows it', async () => {
    const li = page.locator('li.alert', { hasText: expect.rtl });
    const name = await li.locator('.name').boundingBox();
    const masked = await li.locator('.masked').boundingBox();
    return masked.x >= name.x + name.width || `name ${JSON.stringify(name)}, masked ${JSON.stringify(masked)}`;
  });
  await step('the live stream opens', async () => {
    await page.locator('#live-status', { hasText: 'live' }).waitFor();
  });
  const pushed = run(pushScript);
  await step('a hostile alert arriving live is shown as text, exactly', async () => {
    await page.locator('li.alert .name').filter({ hasText: expect.live }).first().waitFor();
    return (await texts('name')).includes(expect.live) || 'not shown exactly';
  });
  await step('the push command succeeded', async () => (await pushed) === 0);
  await step('the coverage table shows the hostile town as text', async () => {
    await page.locator('#coverage-table tbody tr', { hasText: expect.town }).waitFor();
    const names = await page.locator('#coverage-table tbody tr td:first-child')
      .evaluateAll((es) => es.map((e) => e.textContent));
    return names.includes(expect.town) || JSON.stringify(names);
  });
  await step('no element was made from data (img, script, iframe, svg, b, on* handlers)', async () => {
    const n = await page.locator(INJECTED).count();
    return n === 0 || `${n} found`;
  });
  await step('no dialog opened (alert, confirm, prompt)', async () =>
    dialogs.length === 0 || dialogs.join('; '));
  await step('nothing violated the Content-Security-Policy', async () => {
    const v = await page.evaluate(() => window.__violations);
    return v.length === 0 || v.join('; ');
  });
  ok(problems.length === 0, 'no errors in the page', problems.join('\n'));
} finally {
  await browser.close();
}
console.log('# done');
process.exit(failed ? 1 : 0);
