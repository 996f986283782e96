// The dashboard in a real headless Chromium (driven by playwright-core):
// signing in with a staff token, the alert list and its live updates, the
// actions, the coverage table's drill-down, the trend charts (checked day by
// day against GET /v1/aggregates), and withheld figures shown as withheld.
// Prints TAP-like lines ("ok - ..." / "not ok - ...") that
// tests/integration/dashboard.sh counts.
//
//   node dashboard.test.mjs URL TOKEN PUSH_SCRIPT WITHHOLD_SCRIPT
//
// Both scripts are run with sh. PUSH_SCRIPT is run once the page's live
// stream is open; it must push a screening that raises a Nanhai alert for
// 陈志强 (a fever: the suite's gridctl push). WITHHOLD_SCRIPT is run near the
// end; it must make reportd withhold small counts (suppress_below = 5) and
// return once reportd does. Until then reportd must publish every count
// (suppress_below = 1).
import { spawn } from 'node:child_process';
import { chromium } from 'playwright-core';

const [url, token, pushScript, withholdScript] = process.argv.slice(2);
if (!url || !token || !pushScript || !withholdScript) {
  console.error('usage: node dashboard.test.mjs URL TOKEN PUSH_SCRIPT WITHHOLD_SCRIPT');
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
function run(script) {
  return new Promise((resolve) => {
    const child = spawn('sh', [script], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('exit', (code) => resolve(code));
    child.on('error', () => resolve(-1));
  });
}
// GET a public figure route of reportd, as JSON.
async function figures(path) {
  const res = await fetch(url + path);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return res.json();
}
// Polls fn (async, true when done) up to ms; false if it never was.
async function until(fn, ms = 5000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
// The 14 days of reportd's calendar ending at its today (to), as the charts show them.
function lastDays(to) {
  const days = [];
  for (let i = 13; i >= 0; i--) days.push(new Date(Date.parse(`${to}T00:00:00Z`) - i * 86400000).toISOString().slice(0, 10));
  return days;
}
// What the charts show: per chart (class name), the title of each bar ("DAY: value" or "DAY: withheld").
function chartBars(page) {
  return page.locator('#charts .chart').evaluateAll((cs) => Object.fromEntries(cs.map((c) =>
    [c.classList[1], [...c.querySelectorAll('rect.bar')].map((b) => b.querySelector('title').textContent)])));
}
const SERIES = ['screenings', 'fevers', 'key_persons', 'new_alerts'];
// What the charts of an area should show: the bar titles, from GET /v1/aggregates for its days
// (reportd answers every area on every day: a day it leaves out is a failure, not a 0).
async function expectedBars(code) {
  const today = (await figures(`/v1/aggregates?area=${code}`)).to;
  const days = lastDays(today);
  const agg = await figures(`/v1/aggregates?area=${code}&from=${days[0]}&to=${today}`);
  const byDay = new Map(agg.rows.map((r) => [r.day, r]));
  return Object.fromEntries(SERIES.map((k) => [k, days.map((d) => {
    const v = byDay.has(d) ? byDay.get(d)[k] : 'missing from the answer';
    return `${d}: ${v === null ? 'withheld' : v}`;
  })]));
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
  const pushed = run(pushScript);
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

  await step('reportd has counted the pushed screening and its alert (2 screenings, 2 alerts in 南海区 today)', async () =>
    until(async () => {
      const r = (await figures('/v1/aggregates?area=440605')).rows[0];
      return r.screenings === 2 && r.new_alerts === 2;
    }));

  const rows = page.locator('#coverage-table tbody tr');
  await step('the coverage table starts at the token\'s area (南海区)', async () => {
    await page.locator('#coverage-path', { hasText: '南海区' }).waitFor();
    await rows.first().waitFor();
    const first = await rows.first().innerText();
    return (await rows.count()) === 1 && first.includes('桂城街道') && first.includes('town');
  });
  await step('a coverage band colours each row', async () =>
    (await page.locator('#coverage-table tbody .band').count()) === 1);
  await step('the coverage window is reportd\'s (3 days)', async () =>
    (await page.locator('#coverage-days').innerText()) === '3');

  await step('a click drills down one level (桂城街道 -> 翠颐社区)', async () => {
    await rows.filter({ hasText: '桂城街道' }).click();
    await rows.filter({ hasText: '翠颐社区' }).waitFor();
    const text = await rows.first().innerText();
    return (await rows.count()) === 1 && text.includes('community') &&
      (await page.locator('#coverage-path').innerText()).includes('桂城街道');
  });
  await step('the registered household screened today is reached: 1 registered, 0 not reached, 100%', async () => {
    const text = await rows.first().innerText();
    return /\b1\s+0\s+100%/.test(text) ? true : (console.log(`#   row: ${text}`), false);
  });

  await step('four trend charts drawn as inline SVG, 14 bars each', async () => {
    await page.locator('#charts .chart svg').nth(3).waitFor();
    const bars = await page.locator('#charts .chart').evaluateAll((cs) => cs.map((c) => c.querySelectorAll('rect.bar').length));
    return bars.length === 4 && bars.every((n) => n === 14);
  });
  await step('the charts follow the drill-down (桂城街道) and show, day by day, what GET /v1/aggregates serves', async () => {
    await page.locator('#trend-area', { hasText: '桂城街道' }).waitFor();
    const want = await expectedBars('440605001');
    const got = await chartBars(page);
    return JSON.stringify(got) === JSON.stringify(want) ? true :
      (console.log(`#   charts: ${JSON.stringify(got)}\n#   served: ${JSON.stringify(want)}`), false);
  });
  await step('today\'s bars: 2 screenings, 2 fevers, 0 key persons, 2 new alerts; the headings say so', async () => {
    const got = await chartBars(page);
    const today = got.screenings[13].slice(0, 10);
    const heads = await page.locator('#charts .chart h3').allInnerTexts();
    return SERIES.map((k) => got[k][13]).join(',') === [2, 2, 0, 2].map((v) => `${today}: ${v}`).join(',') &&
      heads[0].endsWith(': 2 in 14 days') && heads[2].endsWith(': 0 today');
  });

  // From here on reportd withholds counts from 1 to 4 (and their complements).
  await step('the withholding script ran', async () => (await run(withholdScript)) === 0);
  await step('back up to 南海区: withheld counts shown as withheld, never as 0; a published 0 stays 0', async () => {
    await page.locator('#coverage-path button').first().click();
    await rows.filter({ hasText: '桂城街道' }).waitFor();
    await page.locator('#coverage-table td.registered .withheld').waitFor();
    const row = rows.first();
    return (await row.locator('td.registered').innerText()) === '—' &&
      (await row.locator('td.not-reached').innerText()) === '0' &&
      (await row.locator('.band.withheld').innerText()) === '—' &&
      (await row.locator('td.registered .withheld').getAttribute('title')).startsWith('withheld');
  });
  await step('the charts of 南海区: today\'s 2 screenings withheld, a grey stub; as GET /v1/aggregates serves', async () => {
    await page.locator('#trend-area', { hasText: '南海区' }).waitFor();
    await page.locator('#charts .chart.screenings rect.bar.withheld').waitFor();
    const want = await expectedBars('440605');
    const got = await chartBars(page);
    const heads = await page.locator('#charts .chart h3').allInnerTexts();
    return JSON.stringify(got) === JSON.stringify(want) && got.screenings[13].endsWith(': withheld') &&
      heads[0].endsWith('(1 withheld)') ? true :
      (console.log(`#   charts: ${JSON.stringify(got)}\n#   served: ${JSON.stringify(want)}\n#   headings: ${heads}`), false);
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
