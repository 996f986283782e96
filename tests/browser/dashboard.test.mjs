// The dashboard in a real headless Chromium (driven by playwright-core):
// signing in with a staff token, the alert list and its live updates, the
// actions, the coverage table's drill-down, the trend charts. Prints TAP-like
// lines ("ok - ..." / "not ok - ...") that tests/integration/dashboard.sh counts.
//
//   node dashboard.test.mjs URL TOKEN PUSH_COMMAND [ARGS...]
//
// PUSH_COMMAND is run once the page's live stream is open; it must push a
// screening that raises a Nanhai alert for 陈志强 (the suite's gridctl push).
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const [url, token, ...push] = process.argv.slice(2);
if (!url || !token || push.length === 0) {
  console.error('usage: node dashboard.test.mjs URL TOKEN PUSH_COMMAND [ARGS...]');
  process.exit(2);
}

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
    return ok(r !== false, name, r === false ? 'condition false' : undefined);
  } catch (e) {
    return ok(false, name, e.message.split('\n')[0]);
  }
}
function run(argv) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'inherit'] });
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
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
page.setDefaultTimeout(5000);

try {
  await step('the page loads, as UTF-8', async () => {
    const res = await page.goto(url + '/');
    return res.status() === 200 && (await page.evaluate(() => document.characterSet)) === 'UTF-8';
  });

  await step('a wrong token is refused on the login box', async () => {
    await page.fill('#token', 'gw_' + '0'.repeat(64));
    await page.click('#login-form button[type=submit]');
    await page.locator('#login-error').filter({ hasText: /token/i }).waitFor();
    return await page.locator('#app').isHidden();
  });
  problems.length = 0;      // the browser logs the refused request (401) as an error

  await step('signing in with the staff token shows the office', async () => {
    await page.fill('#token', token);
    await page.click('#login-form button[type=submit]');
    await page.locator('#app').waitFor({ state: 'visible' });
    return (await page.evaluate(() => sessionStorage.getItem('gridwall.token'))) === token;
  });

  const huang = page.locator('li.alert', { hasText: '黄伟' });
  await step('the existing alert is listed: name, masked id, area path', async () => {
    await huang.waitFor();
    const text = await huang.innerText();
    return text.includes('440605********003X') && text.includes('南海区') && text.includes('open');
  });
  await step('only the token\'s area: no Shunde alert', async () =>
    (await page.locator('li.alert', { hasText: '梁淑芬' }).count()) === 0);

  await step('the live stream opens', async () => {
    await page.locator('#live-status', { hasText: 'live' }).waitFor();
  });

  const chen = page.locator('li.alert', { hasText: '陈志强' });
  const started = Date.now();
  const pushed = run(push);
  await step('a pushed screening\'s alert appears within 2 seconds', async () => {
    await chen.waitFor({ timeout: 2000 });
    console.log(`# appeared after ${Date.now() - started} ms`);
  });
  await step('the push command succeeded', async () => (await pushed) === 0);

  await step('Acknowledge changes its state', async () => {
    await chen.locator('button.ack').click();
    await chen.locator('.badge.state', { hasText: 'acknowledged' }).waitFor();
    return await chen.locator('button.ack').isDisabled();
  });

  await step('Assign asks a team name and shows it', async () => {
    page.once('dialog', (d) => d.accept('三人小组-3'));
    await huang.locator('button.assign').click();
    await huang.locator('.badge.state', { hasText: 'assigned · 三人小组-3' }).waitFor();
  });

  await step('Resolve with an outcome', async () => {
    await huang.locator('select.outcome').selectOption('fever_clinic');
    await huang.locator('button.resolve').click();
    await huang.locator('.badge.state', { hasText: 'resolved · 三人小组-3 · fever_clinic' }).waitFor();
    return await huang.locator('button.resolve').isDisabled();
  });

  const rows = page.locator('#coverage-table tbody tr');
  await step('the coverage table starts at the token\'s area (南海区)', async () => {
    await page.locator('#coverage-path', { hasText: '南海区' }).waitFor();
    await rows.first().waitFor();
    const first = await rows.first().innerText();
    return (await rows.count()) === 1 && first.includes('桂城街道') && first.includes('town');
  });
  await step('a coverage band colours each row', async () =>
    (await page.locator('#coverage-table tbody .band').count()) === 1);

  await step('a click drills down one level (桂城街道 -> 翠颐社区)', async () => {
    await rows.filter({ hasText: '桂城街道' }).click();
    await rows.filter({ hasText: '翠颐社区' }).waitFor();
    const text = await rows.first().innerText();
    return (await rows.count()) === 1 && text.includes('community') &&
      (await page.locator('#coverage-path').innerText()).includes('桂城街道');
  });
  await step('the household screened today counts: 1 of 1, 100%', async () =>
    /1\s+1\s+100%/.test(await rows.first().innerText()));

  await step('four trend charts drawn as inline SVG, 14 bars each', async () => {
    await page.locator('#charts .chart svg').nth(3).waitFor();
    const bars = await page.locator('#charts .chart').evaluateAll((cs) => cs.map((c) => c.querySelectorAll('rect.bar').length));
    return bars.length === 4 && bars.every((n) => n === 14);
  });

  await step('a reload keeps the session (sessionStorage)', async () => {
    await page.reload();
    await page.locator('li.alert', { hasText: '陈志强' }).waitFor();
  });

  ok(problems.length === 0, 'no errors in the page', problems.join('\n'));
  // DASHBOARD_SCREENSHOT=/tmp/x.png keeps a picture of the page as the test left it.
  if (process.env.DASHBOARD_SCREENSHOT) await page.screenshot({ path: process.env.DASHBOARD_SCREENSHOT, fullPage: true });
} finally {
  await browser.close();
}
console.log('# done');
process.exit(failed ? 1 : 0);
