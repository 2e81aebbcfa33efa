// Browser test of the records pages (docs/dashboard.md "Records"), in
// Debian's chromium driven by playwright-core, against the real liftsim and
// liftguardd (the same rig as dashboard.mjs).
//
// A contractor on a phone-sized window (390x844) fills the maintenance form
// for one of its cars: first with a technician whose category-T certificate
// has expired, which the daemon refuses and the page shows next to that
// technician; then with one whose certificate is valid, and sees the record.
// The safety manager confirms it on a desktop; the certificate page shows
// expired red, expiring amber, valid green; the inspection plan shows its
// states and takes an agreed date and a result, whose item becomes a
// rectification task the contractor closes from the phone; a drill is
// recorded; the reports page links the report in its three forms; the live
// page still works. People and certificates are seeded through the API as
// the safety manager. Screenshots go to --out as records-*.png.
//
// Usage (ctest runs it as browser_records):
//   node records.mjs --liftsim PATH --liftguardd PATH --liftguard PATH --out DIR
//                    [--chromium /usr/bin/chromium] [--keep]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

// ---- arguments -----------------------------------------------------------

function parseArgs(argv) {
  const out = { chromium: process.env.LG_CHROMIUM || '/usr/bin/chromium', keep: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--keep') { out.keep = true; continue; }
    const m = /^--(liftsim|liftguardd|liftguard|out|chromium)$/.exec(a);
    if (!m || i + 1 >= argv.length) throw new Error(`unknown or incomplete argument ${a}`);
    out[m[1]] = argv[++i];
  }
  for (const k of ['liftsim', 'liftguardd', 'liftguard', 'out']) {
    if (!out[k]) throw new Error(`--${k} is required`);
  }
  for (const k of ['liftsim', 'liftguardd', 'liftguard', 'chromium']) {
    if (!fs.existsSync(out[k])) throw new Error(`${k} not found at ${out[k]}`);
    out[k] = path.resolve(out[k]);
  }
  out.out = path.resolve(out.out);
  return out;
}

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.error(`playwright-core is not installed: run \`npm ci\` in ${path.dirname(new URL(import.meta.url).pathname)} (scripts/test does)`);
  process.exit(1);
}

const args = parseArgs(process.argv.slice(2));
fs.mkdirSync(args.out, { recursive: true });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-browser-records-'));
const shot = (name) => path.join(args.out, `records-${name}.png`);

// ---- small helpers -------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Failure extends Error {}
function check(cond, what) {
  if (!cond) throw new Failure(what);
}
function eq(actual, expected, what) {
  if (actual !== expected) {
    throw new Failure(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

async function eventually(fn, what, timeoutMs = 10000) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Failure(`timed out after ${timeoutMs} ms: ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(100);
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const children = [];
function start(name, cmd, argv) {
  const log = fs.openSync(path.join(tmp, `${name}.log`), 'a');
  const p = spawn(cmd, argv, { stdio: ['pipe', 'pipe', log], cwd: tmp, env: process.env });
  let out = '';
  p.stdout.on('data', (d) => { out += d; fs.appendFileSync(path.join(tmp, `${name}.log`), d); });
  p.exited = new Promise((r) => p.on('exit', (code, sig) => r({ code, sig })));
  p.output = () => out;
  children.push(p);
  return p;
}

function logTail(name, lines = 40) {
  try {
    return fs.readFileSync(path.join(tmp, `${name}.log`), 'utf8').split('\n').slice(-lines).join('\n');
  } catch (_) {
    return '(no log)';
  }
}

async function stopAll() {
  for (const p of children.reverse()) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    p.kill('SIGTERM');
    const r = await Promise.race([p.exited, sleep(8000).then(() => null)]);
    if (!r) p.kill('SIGKILL');
  }
}

async function run(cmd, argv, input) {
  const p = spawn(cmd, argv, { cwd: tmp, env: process.env });
  let out = '';
  let err = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { err += d; });
  if (input !== undefined) p.stdin.end(input);
  const code = await new Promise((r) => p.on('exit', r));
  return { code, out, err };
}

// ---- dates (the site's: Asia/Shanghai, as the browser is told too) ----------

const TZ = 'Asia/Shanghai';
const today = new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date());
function addDays(iso, n) {
  const [y, m, d] = iso.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return t.toISOString().slice(0, 10);
}
// Calendar years back or on, the day kept; 29 February becomes the 28th in
// a year without one (docs/records.md "Counting months and years").
function addYears(iso, n) {
  const [y, m, d] = iso.split('-').map(Number);
  const leap = (x) => (x % 4 === 0 && x % 100 !== 0) || x % 400 === 0;
  const day = m === 2 && d === 29 && !leap(y + n) ? 28 : d;
  return `${String(y + n).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

// ---- the rig -------------------------------------------------------------

const PASSWORDS = {
  olga: 'operator-pass-1',
  chen: 'contractor-pass-1',
  wang: 'safety-pass-1',
};
// OP-1's year-3 check (a self-test) is due in 30 days: due soon; with no
// check on record its year-2 one shows as missed. OP-2 is in its first
// year: the year-1 inspection is 200 days off, upcoming. OP-3 is older than
// 15 years: a yearly inspection, due in 45 days. W-1 has no first use.
const ELEVATORS = [
  { id: 'OP-1', name: '门诊 1 号梯', building: '门诊楼 Outpatient', unit: 1, contractor: 'acme-lifts', first_use: addYears(addDays(today, 30), -3) },
  { id: 'OP-2', name: '门诊 2 号梯', building: '门诊楼 Outpatient', unit: 2, contractor: 'acme-lifts', first_use: addYears(addDays(today, 200), -1) },
  { id: 'OP-3', name: '门诊 3 号梯', building: '门诊楼 Outpatient', unit: 3, contractor: 'acme-lifts', first_use: addYears(addDays(today, 45), -20) },
  { id: 'W-1', name: '住院 1 号梯', building: '住院楼 Ward', unit: 4, contractor: 'beta-lifts' },
];

let base;
const steps = [];

async function step(name, fn) {
  const t0 = Date.now();
  process.stdout.write(`-- ${name} ... `);
  await fn();
  steps.push(name);
  process.stdout.write(`ok (${Date.now() - t0} ms)\n`);
}

async function apiAs(token, method, p, body) {
  const res = await fetch(base + p, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
  return { status: res.status, json, headers: res.headers, text };
}

async function login(username) {
  const r = await fetch(`${base}/api/v1/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORDS[username] }),
  });
  eq(r.status, 200, `API login of ${username}`);
  return (await r.json()).token;
}

async function startRig() {
  const simPort = await freePort();
  const ctlPort = await freePort();
  const httpPort = await freePort();
  base = `http://127.0.0.1:${httpPort}`;
  const sim = start('liftsim', args.liftsim, [
    '--tcp', `127.0.0.1:${simPort}:1-${ELEVATORS.length}`,
    '--control', `127.0.0.1:${ctlPort}`, '--static', '--floors', '-1:12',
  ]);
  await eventually(() => sim.output().includes('liftsim ready') || (sim.exitCode !== null && Promise.reject(new Error('liftsim exited'))), 'liftsim ready');
  const cfg = [
    '[site]', 'name = "Records test hospital"', `timezone = "${TZ}"`, '',
    '[daemon]', 'database = "lg.db"', `listen = "127.0.0.1:${httpPort}"`, 'log_level = "info"', '',
    '[polling]', 'interval_ms = 250', 'timeout_ms = 200', 'comms_lost_after_ms = 5000', '',
    '[[contractor]]', 'id = "acme-lifts"', 'name = "Acme Lift Service"', 'duty_phone = "+86 20 5555 0101"', '',
    '[[contractor]]', 'id = "beta-lifts"', 'name = "Beta Elevator Co"', 'duty_phone = "+86 20 5555 0202"', '',
    '[[link]]', 'id = "gw"', 'transport = "tcp"', 'host = "127.0.0.1"', `port = ${simPort}`, '',
    ...ELEVATORS.flatMap((e) => [
      '[[elevator]]', `id = "${e.id}"`, `name = "${e.name}"`, `building = "${e.building}"`,
      'link = "gw"', `unit = ${e.unit}`, 'rated_speed_mm_s = 1750', `contractor = "${e.contractor}"`,
      ...(e.first_use ? [`first_use = "${e.first_use}"`] : []), '',
    ]),
  ].join('\n');
  fs.writeFileSync(path.join(tmp, 'liftguard.toml'), cfg);

  // The logins first: the CLI writes the database file the daemon then
  // opens, so nothing else writes it at that moment.
  const db = path.join(tmp, 'lg.db');
  for (const [name, role, extra] of [['olga', 'operator', []], ['chen', 'contractor', ['--contractor', 'acme-lifts']], ['wang', 'safety_manager', []]]) {
    const r = await run(args.liftguard, ['user', 'add', name, '--db', db, '--role', role, ...extra, '--password-stdin'], `${PASSWORDS[name]}\n`);
    eq(r.code, 0, `liftguard user add ${name} (${r.err.trim()})`);
  }

  const daemon = start('liftguardd', args.liftguardd, ['-c', path.join(tmp, 'liftguard.toml')]);
  await eventually(async () => {
    if (daemon.exitCode !== null) throw new Error(`liftguardd exited: ${logTail('liftguardd', 20)}`);
    const r = await fetch(`${base}/healthz`).catch(() => null);
    return r && r.status === 200;
  }, 'liftguardd healthy', 30000);

}

// The technicians of acme-lifts and the elevators' certificates, entered as
// the safety manager would.
const CERTS = {
  valid: { holder: 'Li Wei', number: 'T-4401-VALID-0001', issued: addYears(today, -1) },
  expired: { holder: 'Zhao Gang', number: 'T-4401-OLD-0002', issued: addDays(addYears(today, -4), -10) },
  expiring: { holder: 'Sun Li', number: 'T-4401-SOON-0003', issued: addDays(addYears(today, -4), 30) },
};

async function seed() {
  const sm = await login('wang');
  const states = {};
  for (const [k, c] of Object.entries(CERTS)) {
    const r = await apiAs(sm, 'POST', '/api/v1/certificates', {
      kind: 'personnel', holder: c.holder, holder_contractor: 'acme-lifts', category: 'T', number: c.number, issued: c.issued,
    });
    eq(r.status, 201, `certificate ${c.number} (${r.text.trim()})`);
    c.id = r.json.id;
    states[k] = r.json.state;
  }
  eq(JSON.stringify(states), JSON.stringify({ valid: 'valid', expired: 'expired', expiring: 'expiring' }), 'seeded certificate states');
  for (const [elevator, expires] of [['OP-2', addDays(today, 200)], ['OP-3', addDays(today, 45)]]) {
    const r = await apiAs(sm, 'POST', '/api/v1/certificates', { kind: 'inspection_mark', elevator, expires });
    eq(r.status, 201, `inspection mark of ${elevator} (${r.text.trim()})`);
  }
  const reg = await apiAs(sm, 'POST', '/api/v1/certificates', {
    kind: 'use_registration', elevator: 'OP-1', number: '梯11粤A00001(18)', issued: addYears(today, -3), registration_code: '31104403002018000001',
  });
  eq(reg.status, 201, `use registration (${reg.text.trim()})`);
}

// ---- page helpers ----------------------------------------------------------

const openPages = [];
function watchPage(page, problems, label) {
  openPages.push([label, page]);
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`${label} console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`${label} page error: ${e.message}`));
}

async function signIn(page, username) {
  await page.goto(`${base}/`);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(PASSWORDS[username]);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('app-view').waitFor({ state: 'visible' });
}

const attr = (loc, name) => loc.getAttribute(name);

async function navPages(page) {
  return page.locator('#nav [data-page]:not([hidden])').evaluateAll((els) => els.map((e) => e.dataset.page));
}

// r, g, b of an element's background colour
async function background(loc) {
  const c = await loc.evaluate((el) => getComputedStyle(el).backgroundColor);
  const m = /rgba?\((\d+), (\d+), (\d+)/.exec(c);
  return m ? m.slice(1, 4).map(Number) : [0, 0, 0];
}
const isRed = ([r, g, b]) => r > 150 && r > 2.5 * g && r > 2.5 * b;
const isAmber = ([r, g, b]) => r > 150 && g > 100 && g < r && b < 0.4 * g;
const isGreen = ([r, g, b]) => g > 90 && g > 1.4 * r && g > 1.2 * b;
const isBlue = ([r, g, b]) => b > 150 && b > 1.5 * r && b > g;

async function noSidewaysScroll(page, what) {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  check(w <= 390, `no sideways scrolling on the phone (${what}: ${w}px)`);
}

// Screenshots without the passing notices (toasts) over what they show.
async function quiet(page) {
  await eventually(async () => (await page.getByTestId('toast').count()) === 0, 'toasts gone', 15000);
}

async function confirmDialog(page, fields) {
  const dlg = page.getByTestId('dialog');
  await dlg.waitFor({ state: 'visible' });
  for (const [name, value] of Object.entries(fields)) {
    const el = page.getByTestId(`dialog-${name}`);
    if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await el.selectOption(String(value));
    else await el.fill(String(value));
  }
  await page.getByTestId('dialog-confirm').click();
  await dlg.waitFor({ state: 'hidden' });
}

// ---- the test --------------------------------------------------------------

async function main() {
  await startRig();
  const problems = [];
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    await test(browser, problems);
  } catch (e) {
    for (const [label, page] of openPages) {
      await page.screenshot({ path: path.join(args.out, `records-failure-${label}.png`), fullPage: true }).catch(() => {});
    }
    throw e;
  } finally {
    await browser.close().catch(() => {});
  }
}

async function test(browser, problems) {
  await step('the page loads records.js under the same CSP; people and certificates are seeded', async () => {
    const r = await fetch(`${base}/records.js`);
    eq(r.status, 200, 'GET /records.js');
    check((r.headers.get('content-type') || '').startsWith('text/javascript'), 'records.js content type');
    const html = await (await fetch(`${base}/`)).text();
    check(html.indexOf('/records.js') > 0 && html.indexOf('/records.js') < html.indexOf('/app.js'), 'records.js loads before app.js');
    await seed();
  });

  const phoneCtx = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN', timezoneId: TZ,
  });
  const phone = await phoneCtx.newPage();
  watchPage(phone, problems, 'contractor-phone');

  await step('the contractor signs in on a phone and sees the pages of its role', async () => {
    await signIn(phone, 'chen');
    eq(JSON.stringify(await navPages(phone)), JSON.stringify(['live', 'maintenance', 'inspections', 'rectifications']), 'contractor nav');
    // A page the role may not read is not offered, even by address.
    await phone.goto(`${base}/#/certificates`);
    await phone.getByTestId('app-view').waitFor({ state: 'visible' });
    check(await phone.getByTestId('records-view').isHidden(), 'no certificates page for a contractor');
    eq(await phone.evaluate(() => document.body.dataset.page), 'live', 'contractor lands on the live page');
    await noSidewaysScroll(phone, 'live page with the nav');
  });

  await step('the maintenance page shows what is due, for its own cars only', async () => {
    await phone.getByTestId('nav-maintenance').tap();
    await phone.getByTestId('page-maintenance').waitFor({ state: 'visible' });
    eq(await phone.evaluate(() => location.hash), '#/maintenance', 'address of the page');
    // Nothing is due yet (counted from the contract, which began with the
    // records): only a line says so, and every car is one tap away.
    await phone.getByTestId('due-allok').waitFor({ state: 'visible' });
    eq(await phone.getByTestId('due-table').count(), 0, 'no table of cars needing nothing');
    await phone.getByTestId('due-toggle').tap();
    await phone.getByTestId('due-table').waitFor({ state: 'visible' });
    const cars = await phone.locator('[data-testid="due-table"] tbody tr').evaluateAll((els) => els.map((e) => e.dataset.testid));
    eq(JSON.stringify(cars), JSON.stringify(['due-OP-1', 'due-OP-2', 'due-OP-3']), 'due rows of the contractor');
    eq(await attr(phone.getByTestId('due-OP-1-half_monthly'), 'data-state'), 'ok', 'OP-1 half-monthly state before any record');
    eq(await phone.getByTestId('mnt-empty').count(), 1, 'no records yet');
    eq(await phone.getByTestId('mnt-new').count(), 1, 'the contractor may write');
  });

  const form = phone.getByTestId('mnt-form');
  let startDate;
  await step('the form opens at phone width with the usual half-monthly items', async () => {
    await phone.getByTestId('mnt-new').tap();
    await form.waitFor({ state: 'visible' });
    const options = await phone.getByTestId('mnt-elevator').locator('option').evaluateAll((els) => els.map((e) => e.value).filter(Boolean));
    eq(JSON.stringify(options), JSON.stringify(['OP-1', 'OP-2', 'OP-3']), 'elevators offered to the contractor');
    eq(await phone.getByTestId('mnt-kind').inputValue(), 'half_monthly', 'default kind');
    eq(await phone.locator('[data-testid="mnt-items"] .rrow').count(), 12, 'usual half-monthly items');
    const box = await form.boundingBox();
    check(box.x >= 0 && box.x + box.width <= 390 + 0.5, `form fits the phone (${JSON.stringify(box)})`);
    for (const id of ['mnt-elevator', 'mnt-start', 'mnt-tech-name-0', 'mnt-tech-cert-0', 'mnt-item-result-0', 'mnt-submit']) {
      const b = await phone.getByTestId(id).boundingBox();
      check(b.x >= 0 && b.x + b.width <= 390 + 0.5 && b.height >= 36, `${id} is a full touch target inside the screen (${JSON.stringify(b)})`);
    }
    await noSidewaysScroll(phone, 'the form');
  });

  await step('a missing result is caught on the phone, next to its item', async () => {
    await phone.getByTestId('mnt-elevator').selectOption('OP-1');
    await phone.getByTestId('mnt-tech-name-0').fill(CERTS.expired.holder);
    await phone.getByTestId('mnt-tech-cert-0').fill(CERTS.expired.number);
    await phone.getByTestId('mnt-submit').tap();
    const err = phone.getByTestId('mnt-item-error-0');
    await err.waitFor({ state: 'visible' });
    eq(await err.textContent(), '请选择结果', 'message at item 1');
    check(await phone.getByTestId('mnt-item-result-0').evaluate((e) => e.classList.contains('is-invalid')), 'item 1 result marked');
  });

  await step('a technician whose certificate has expired is refused; the message is next to that technician', async () => {
    await phone.getByTestId('mnt-item-allok').tap();
    await phone.getByTestId('mnt-item-result-2').selectOption('adjusted');
    await phone.getByTestId('mnt-item-note-2').fill('制动器间隙 0.7 mm 调至 0.5 mm');
    await phone.getByTestId('mnt-part-add').tap();
    await phone.getByTestId('mnt-part-0').fill('轿厢 LED 灯板');
    await phone.getByTestId('mnt-findings').fill('3 层层门间隙偏大，已调整 door 3 gap adjusted');
    startDate = (await phone.getByTestId('mnt-start').inputValue()).slice(0, 10);
    await quiet(phone);
    await phone.screenshot({ path: shot('phone-form'), fullPage: true });
    await phone.getByTestId('mnt-submit').tap();
    const err = phone.getByTestId('mnt-tech-error-0');
    await err.waitFor({ state: 'visible' });
    const text = await err.textContent();
    check(text.includes(CERTS.expired.number) && text.includes('expired') && text.includes(CERTS.expired.holder),
      `the refusal names the certificate and says it expired: ${text}`);
    check(await phone.getByTestId('mnt-error').isHidden(), 'not shown apart from the field');
    check(await phone.getByTestId('mnt-tech-cert-0').evaluate((e) => e.classList.contains('is-invalid') && e === document.activeElement),
      'the certificate field is marked and has the focus');
    // "Next to": just under the technician's row, inside the technicians box.
    const row = await phone.locator('[data-testid="mnt-techs"] .rrow').first().boundingBox();
    const cert = await phone.getByTestId('mnt-tech-cert-0').boundingBox();
    const eb = await err.boundingBox();
    check(eb.y >= cert.y + cert.height - 1 && eb.y + eb.height <= row.y + row.height + 1,
      `message under the certificate field, in the row (${JSON.stringify({ row, cert, eb })})`);
    check(await err.isVisible() && eb.y >= 0 && eb.y + eb.height <= 844, `message scrolled into view (${JSON.stringify(eb)})`);
    await quiet(phone);
    await phone.screenshot({ path: shot('phone-refused') });
    const token = await login('chen');
    eq((await apiAs(token, 'GET', '/api/v1/maintenance')).json.records.length, 0, 'nothing stored');
  });

  let recordId;
  await step('with a valid certificate the record is stored and shown', async () => {
    await phone.getByTestId('mnt-tech-name-0').fill(CERTS.valid.holder);
    await phone.getByTestId('mnt-tech-cert-0').fill(CERTS.valid.number);
    await phone.getByTestId('mnt-submit').tap();
    await form.waitFor({ state: 'hidden' });
    const card = phone.locator('[data-testid^="mrec-"][data-record-id]').first();
    await card.waitFor({ state: 'visible' });
    recordId = Number(await attr(card, 'data-record-id'));
    eq(await attr(card, 'data-elevator'), 'OP-1', 'record of OP-1');
    eq(await attr(card, 'data-state'), 'unconfirmed', 'new record unconfirmed');
    check((await card.getByTestId('mrec-techs').textContent()).includes(CERTS.valid.number), 'technician and certificate shown');
    eq(await phone.getByTestId(`mrec-confirm-${recordId}`).count(), 0, 'a contractor cannot confirm');
    eq(await phone.getByTestId(`mrec-edit-${recordId}`).count(), 1, 'an unconfirmed record may be corrected in place');
    const token = await login('chen');
    const rec = (await apiAs(token, 'GET', `/api/v1/maintenance/${recordId}`)).json;
    eq(rec.kind, 'half_monthly', 'kind in the API');
    eq(rec.contractor, 'acme-lifts', 'contractor in the API');
    eq(rec.date, startDate, 'record date: the day the visit started');
    eq(rec.items.length, 12, 'items in the API');
    eq(rec.items[2].result, 'adjusted', 'the adjusted item');
    check(rec.items[2].note.includes('0.5 mm'), 'its note');
    eq(rec.items.filter((i) => i.result === 'ok').length, 11, 'the other items ok');
    eq(JSON.stringify(rec.parts.map((p) => [p.name, p.quantity])), JSON.stringify([['轿厢 LED 灯板', 1]]), 'parts');
    eq(rec.technicians[0].certificate, CERTS.valid.number, 'certificate in the API');
    // Due dates count from it now (15 days), once the list is reloaded.
    await eventually(async () => (await phone.getByTestId('due-OP-1-half_monthly').locator('.due-date').textContent()) === addDays(startDate, 15),
      `OP-1 half-monthly due ${addDays(startDate, 15)}`);
    await noSidewaysScroll(phone, 'the record list');
    await quiet(phone);
    await phone.getByTestId(`mrec-${recordId}`).evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await phone.evaluate(() => window.scrollBy(0, -60));
    await phone.screenshot({ path: shot('phone-saved') });
  });

  const deskCtx = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: TZ });
  const desk = await deskCtx.newPage();
  watchPage(desk, problems, 'safety-manager');

  await step('the safety manager sees every page and confirms the record', async () => {
    await signIn(desk, 'wang');
    eq(JSON.stringify(await navPages(desk)), JSON.stringify(['live', 'maintenance', 'inspections', 'certificates', 'drills', 'rectifications', 'reports']), 'safety manager nav');
    await desk.getByTestId('nav-maintenance').click();
    const card = desk.getByTestId(`mrec-${recordId}`);
    await card.waitFor({ state: 'visible' });
    await desk.getByTestId('due-toggle').click();
    eq(await desk.locator('[data-testid="due-table"] tbody tr').count(), ELEVATORS.length, 'every car for the safety manager');
    await desk.getByTestId(`mrec-confirm-${recordId}`).click();
    await confirmDialog(desk, {});
    await eventually(async () => (await attr(card, 'data-state')) === 'confirmed', 'record confirmed');
    check((await card.getByTestId('mrec-state').textContent()).includes('wang'), 'confirmed by wang shown');
    eq(await desk.getByTestId(`mrec-confirm-${recordId}`).count(), 0, 'no confirm button after');
    eq(await desk.getByTestId(`mrec-amend-${recordId}`).count(), 1, 'amend offered for a confirmed record');
    const token = await login('wang');
    const rec = (await apiAs(token, 'GET', `/api/v1/maintenance/${recordId}`)).json;
    eq(rec.confirmed_by, 'wang', 'confirmed in the API');
    await desk.screenshot({ path: shot('maintenance-confirmed') });
  });

  await step('on the phone the confirmed record can only be amended', async () => {
    await phone.getByTestId('records-refresh').tap();
    await eventually(async () => (await attr(phone.getByTestId(`mrec-${recordId}`), 'data-state')) === 'confirmed', 'phone sees it confirmed');
    eq(await phone.getByTestId(`mrec-edit-${recordId}`).count(), 0, 'no edit of a confirmed record');
    await phone.getByTestId(`mrec-amend-${recordId}`).tap();
    await form.waitFor({ state: 'visible' });
    eq(await phone.getByTestId('mnt-elevator').inputValue(), 'OP-1', 'amendment of the same car');
    check(await phone.getByTestId('mnt-elevator').isDisabled(), 'the car of an amendment is fixed');
    eq(await phone.getByTestId('mnt-tech-cert-0').inputValue(), CERTS.valid.number, 'amendment starts from the record');
    await phone.getByTestId('mnt-findings').fill('3 层层门间隙 7 mm 调至 4 mm（更正）');
    await phone.getByTestId('mnt-submit').tap();
    await form.waitFor({ state: 'hidden' });
    const amended = phone.getByTestId(`mrec-${recordId}`);
    await eventually(async () => (await attr(amended, 'data-state')) === 'amended', 'the original shows it was amended');
    const token = await login('chen');
    const orig = (await apiAs(token, 'GET', `/api/v1/maintenance/${recordId}`)).json;
    check(orig.amended_by > recordId, `amended_by in the API: ${orig.amended_by}`);
    const amendment = (await apiAs(token, 'GET', `/api/v1/maintenance/${orig.amended_by}`)).json;
    eq(amendment.amends, recordId, 'the amendment points to the original');
    await phone.getByTestId(`mrec-${orig.amended_by}`).waitFor({ state: 'visible' });
  });

  await step('certificates are coloured by expiry: expired red, within 90 days amber, valid green', async () => {
    await desk.getByTestId('nav-certificates').click();
    await desk.getByTestId('cert-people-table').waitFor({ state: 'visible' });
    for (const [k, colour, test] of [['expired', 'red', isRed], ['expiring', 'amber', isAmber], ['valid', 'green', isGreen]]) {
      const c = CERTS[k];
      const row = desk.getByTestId(`cert-${c.id}`);
      eq(await attr(row, 'data-state'), k, `${c.number} state`);
      const rgb = await background(desk.getByTestId(`cert-state-${c.id}`));
      check(test(rgb), `${c.number} badge is ${colour} (rgb ${rgb})`);
    }
    check((await desk.getByTestId(`cert-state-${CERTS.expired.id}`).textContent()).includes('逾期 10 天'), 'expired 10 days ago');
    const marks = await desk.locator('[data-testid^="ecert-"][data-kind="inspection_mark"]').evaluateAll((els) => els.map((e) => e.dataset.state));
    eq(JSON.stringify(marks.sort()), JSON.stringify(['expiring', 'valid']), 'inspection marks: OP-2 valid, OP-3 within 90 days');
    eq(await desk.locator('[data-testid^="ecert-"][data-kind="use_registration"]').count(), 1, 'use registration listed');
    await desk.screenshot({ path: shot('certificates'), fullPage: true });
  });

  await step('a certificate added on the page shows at once', async () => {
    await desk.getByTestId('cert-add-person').click();
    await confirmDialog(desk, { holder: 'Wu Min', holder_contractor: 'acme-lifts', category: 'T', number: 'T-4401-NEW-0004', issued: addDays(today, -3) });
    const row = desk.locator('[data-number="T-4401-NEW-0004"]');
    await row.waitFor({ state: 'visible' });
    eq(await attr(row, 'data-state'), 'valid', 'new certificate valid');
  });

  await step('the inspection plan shows 12 months with state colours and takes a date and a result', async () => {
    await desk.getByTestId('nav-inspections').click();
    await desk.getByTestId('plan-table').waitFor({ state: 'visible' });
    const months = await desk.locator('[data-testid="plan-table"] thead th').evaluateAll((els) => els.slice(2).map((e) => e.textContent));
    check(months.filter((m) => /^\d{4}年\d{1,2}月$/.test(m)).length >= 12, `at least 12 month columns: ${months}`);
    const chip = (car, due) => desk.getByTestId(`plan-${car}-${due}`);
    const op1Due = addDays(today, 30);
    const op1Missed = addYears(op1Due, -1);
    eq(await attr(chip('OP-1', op1Due), 'data-state'), 'due_soon', 'OP-1 check due in 30 days');
    eq(await attr(chip('OP-1', op1Due), 'data-kind'), 'self_test', 'year 3 is a self-test');
    check(isAmber(await background(chip('OP-1', op1Due))), `due soon is amber (rgb ${await background(chip('OP-1', op1Due))})`);
    eq(await attr(chip('OP-1', op1Missed), 'data-state'), 'overdue', "OP-1's year-2 check, not on record, is missed");
    check(isRed(await background(chip('OP-1', op1Missed))), `overdue is red (rgb ${await background(chip('OP-1', op1Missed))})`);
    eq(await attr(chip('OP-3', addDays(today, 45)), 'data-kind'), 'inspection', 'older than 15 years: an inspection');
    const op2 = chip('OP-2', addDays(today, 200));
    eq(await attr(op2, 'data-state'), 'upcoming', 'OP-2 upcoming');
    eq(await attr(op2, 'data-kind'), 'inspection', 'year 1 is an inspection');
    // The chip sits in the column of its month.
    const col = await op2.evaluate((el) => {
      const td = el.closest('td');
      return td.closest('table').querySelectorAll('thead th')[[...td.parentNode.children].indexOf(td)].textContent;
    });
    const [y2, m2] = addDays(today, 200).split('-').map(Number);
    eq(col, `${y2}年${m2}月`, 'OP-2 column');

    await desk.getByTestId('insp-agree-OP-2').click();
    await confirmDialog(desk, { agreed_date: addDays(today, 150) });
    await eventually(async () => (await attr(op2, 'data-state')) === 'planned', 'OP-2 planned');
    check(isBlue(await background(op2)), `planned is blue (rgb ${await background(op2)})`);
    check((await attr(op2, 'title')).includes(addDays(today, 150)), 'the agreed date is on the chip');
    await desk.screenshot({ path: shot('inspections'), fullPage: true });

    await desk.getByTestId('insp-record-OP-1').click();
    await confirmDialog(desk, { date: today, result: 'pass_with_rectification', agency: '市特种设备检验研究院', items: '3 层层门间隙 7 mm', rectify_by: addDays(today, 30) });
    await eventually(async () => (await attr(chip('OP-1', op1Due), 'data-state')) === 'done', 'OP-1 done');
    check(isGreen(await background(chip('OP-1', op1Due))), 'done is green');
    eq(await chip('OP-1', op1Missed).count(), 0, 'the older miss is no longer shown once the next check is done');
    const row = desk.getByTestId('insp-table').locator('tbody tr').first();
    check((await row.textContent()).includes('整改后合格'), `the inspection is listed with its result: ${await row.textContent()}`);
  });

  await step('the contractor closes the rectification task from the phone', async () => {
    await phone.getByTestId('nav-rectifications').tap();
    const task = phone.locator('[data-testid^="rect-"][data-record-id][data-elevator="OP-1"]');
    await task.waitFor({ state: 'visible' });
    const id = Number(await attr(task, 'data-record-id'));
    eq(await attr(task, 'data-state'), 'open', 'task open');
    await quiet(phone);
    await phone.screenshot({ path: shot('phone-rectification') });
    await phone.getByTestId(`rect-close-${id}`).tap();
    await phone.getByTestId('dialog-confirm').tap(); // the note is required
    await phone.getByTestId('dialog-error').waitFor({ state: 'visible' });
    await confirmDialog(phone, { note: '层门间隙已调至 4 mm gap set to 4 mm' });
    await phone.getByTestId('rect-empty').waitFor({ state: 'visible' });
    const token = await login('wang');
    const all = (await apiAs(token, 'GET', '/api/v1/rectifications?state=all')).json.rectifications;
    const r = all.find((x) => x.id === id);
    eq(r.state, 'closed', 'task closed in the API');
    eq(r.closed_by, 'chen', 'closed by the contractor');
    await noSidewaysScroll(phone, 'rectifications');
  });

  await step('the contractor reads the inspection plan on the phone, one card per car', async () => {
    await phone.getByTestId('nav-inspections').tap();
    await phone.getByTestId('plan-table').waitFor({ state: 'visible' });
    const cars = await phone.locator('[data-testid="plan-table"] tbody tr').evaluateAll((els) => els.map((e) => e.dataset.elevator));
    eq(JSON.stringify(cars), JSON.stringify(['OP-1', 'OP-2', 'OP-3']), 'the contractor\'s cars in the plan');
    eq(await phone.getByTestId('insp-agree-OP-1').count(), 0, 'a contractor does not plan inspections');
    const chip = phone.getByTestId(`plan-OP-2-${addDays(today, 200)}`);
    eq(await attr(chip, 'data-state'), 'planned', 'the agreed date shows on the phone too');
    const box = await chip.boundingBox();
    check(box.x >= 0 && box.x + box.width <= 390, `plan box inside the screen (${JSON.stringify(box)})`);
    await noSidewaysScroll(phone, 'inspection plan');
    await quiet(phone);
    await phone.screenshot({ path: shot('phone-inspections'), fullPage: true });
  });

  await step('a drill is recorded and its party is no longer due', async () => {
    await desk.getByTestId('nav-drills').click();
    await desk.getByTestId('drill-table').waitFor({ state: 'visible' });
    await desk.getByTestId('drill-add').click();
    await confirmDialog(desk, { party: 'user_unit', date: addDays(today, -1), elevators: 'OP-1, OP-2', participants: '安全管理员, 监控室', scenario: '3、4 层之间困人救援', duration_min: 40 });
    const row = desk.locator('[data-testid="drill-table"] tbody tr').filter({ hasText: '3、4 层之间困人救援' });
    await row.waitFor({ state: 'visible' });
    const unit = desk.getByTestId('drill-due-user_unit');
    eq(await attr(unit, 'data-state'), 'ok', 'user unit drill ok');
    check((await unit.textContent()).includes(addYears(addDays(today, -1), 1)), `next user-unit drill a year on: ${await unit.textContent()}`);
  });

  await step('the reports page links the month and year report as page, CSV and printable page', async () => {
    await desk.getByTestId('nav-reports').click();
    await desk.getByTestId('report-panel').waitFor({ state: 'visible' });
    const proposed = await desk.getByTestId('report-period').inputValue();
    check(/^\d{4}-\d\d$/.test(proposed), `a month is proposed (${proposed})`);
    // This month's: the records of this test are in it.
    const month = today.slice(0, 7);
    await desk.getByTestId('report-period').fill(month);
    await desk.getByTestId('report-period').dispatchEvent('change');
    for (const [id, format] of [['report-view', 'json'], ['report-csv', 'csv'], ['report-print', 'html']]) {
      eq(await attr(desk.getByTestId(id), 'href'), `/api/v1/reports/month?period=${month}&format=${format}`, `${id} link`);
    }
    const token = await login('wang');
    const api = (await apiAs(token, 'GET', `/api/v1/reports/month?period=${month}&format=json`));
    eq(api.status, 200, `report JSON (${api.text.slice(0, 200)})`);
    const rep = api.json;

    // The page: the report's figures, as the API gives them.
    await desk.getByTestId('report-view').click();
    const data = desk.getByTestId('report-data');
    await data.waitFor({ state: 'visible' });
    eq(await attr(data, 'data-period'), month, 'period of the report shown');
    eq(await desk.getByTestId('report-k-alarms').locator('.rkpi-value').textContent(), String(rep.alarms.total), 'alarms total');
    check(rep.alarms.total > 0, 'the compliance warnings of this test are counted');
    eq(await desk.getByTestId('report-k-inspections').locator('.rkpi-value').textContent(), String(rep.inspections.done.length), 'inspections done');
    eq(await desk.getByTestId('report-k-certificates').locator('.rkpi-value').textContent(), String(rep.certificates.list.length), 'certificates listed');
    eq(await desk.locator('[data-testid="report-by-type"] tbody tr').count(), rep.alarms.by_type.length, 'rows by type');
    eq(await desk.locator('[data-testid="report-inspections"] tbody tr').count(), rep.inspections.done.length, 'rows of inspections');
    eq(await desk.locator('[data-testid="report-chart"] [data-month]').count(), rep.alarms.per_month.length, 'a bar per month');
    const last = rep.alarms.per_month[rep.alarms.per_month.length - 1];
    eq(await attr(desk.locator(`[data-testid="report-chart"] [data-month="${last.month}"]`), 'data-count'), String(last.count), `bar of ${last.month}`);
    // The records scroll inside the page on a desktop: a tall window shows
    // the whole report in one picture.
    await desk.setViewportSize({ width: 1440, height: 2600 });
    await desk.getByTestId('report-page').screenshot({ path: shot('report-page') });
    await desk.setViewportSize({ width: 1440, height: 900 });

    // CSV: downloaded with the token, the same bytes as the API's.
    const [download] = await Promise.all([desk.waitForEvent('download'), desk.getByTestId('report-csv').click()]);
    const file = path.join(tmp, 'report.csv');
    await download.saveAs(file);
    const csvApi = await fetch(`${base}/api/v1/reports/month?period=${month}&format=csv`, { headers: { Authorization: `Bearer ${token}` } });
    // Byte for byte (its BOM too), but for the time each was generated.
    const unstamped = (buf) => buf.toString('utf8').replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'TIME');
    eq(unstamped(fs.readFileSync(file)), unstamped(Buffer.from(await csvApi.arrayBuffer())), 'downloaded CSV');
    check(/\.csv$/.test(download.suggestedFilename()), `CSV file name ${download.suggestedFilename()}`);

    // Printable: the server's page in a new tab, styled, under no looser CSP.
    const [popup] = await Promise.all([deskCtx.waitForEvent('page'), desk.getByTestId('report-print').click()]);
    watchPage(popup, problems, 'printable');
    await eventually(async () => (await popup.locator('table').count()) > 0, 'printable report written');
    const htmlApi = await apiAs(token, 'GET', `/api/v1/reports/month?period=${month}&format=html`);
    const h1 = /<h1[^>]*>([^<]*)</.exec(htmlApi.text);
    check(h1 && (await popup.locator('h1').first().textContent()).includes(h1[1].slice(0, 10)), 'the printable page is the server\'s');
    eq(await popup.evaluate(() => document.adoptedStyleSheets.length), 1, 'its stylesheet adopted');
    check(await popup.evaluate(() => document.adoptedStyleSheets[0].cssRules.length > 5), 'with its rules');
    eq(await popup.locator('style, script').count(), 0, 'nothing inline in it');
    await popup.screenshot({ path: shot('report-printable'), fullPage: true });
    await popup.close();

    await desk.getByTestId('report-kind').selectOption('year');
    const year = await desk.getByTestId('report-period').inputValue();
    check(/^\d{4}$/.test(year), `a year is proposed (${year})`);
    eq(await attr(desk.getByTestId('report-csv'), 'href'), `/api/v1/reports/year?period=${year}&format=csv`, 'yearly CSV link');
    eq(await desk.getByTestId('report-data').count(), 0, 'the month shown is gone once the year is chosen');
    await desk.screenshot({ path: shot('reports') });
  });

  await step('English covers the records pages too', async () => {
    await desk.getByTestId('nav-certificates').click();
    await desk.getByTestId('cert-people-table').waitFor({ state: 'visible' });
    await desk.getByTestId('lang-toggle').click();
    eq(await desk.getByTestId('nav-certificates').textContent(), 'Certificates', 'nav in English');
    eq(await desk.locator('[data-testid="cert-people-table"] th').first().textContent(), 'Holder', 'table head in English');
    check((await desk.getByTestId(`cert-state-${CERTS.expiring.id}`).textContent()).startsWith('Expiring'), 'state in English');
    await desk.getByTestId('lang-toggle').click();
  });

  await step('the live page still works beside the records pages', async () => {
    await desk.getByTestId('nav-live').click();
    check(await desk.getByTestId('records-view').isHidden(), 'records hidden on the live page');
    await eventually(async () => (await desk.locator('[data-car]').count()) === ELEVATORS.length, 'every tile on the live page');
    eq(await desk.evaluate(() => location.hash), '', 'the live page has no hash');
    await desk.goBack();
    await desk.getByTestId('page-certificates').waitFor({ state: 'visible' });
    const op = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'zh-CN', timezoneId: TZ });
    const opPage = await op.newPage();
    watchPage(opPage, problems, 'operator');
    await signIn(opPage, 'olga');
    eq(JSON.stringify(await navPages(opPage)), JSON.stringify(['live', 'maintenance', 'inspections']), 'operator nav');
    await opPage.getByTestId('nav-maintenance').click();
    await opPage.getByTestId(`mrec-${recordId}`).waitFor({ state: 'visible' });
    eq(await opPage.getByTestId('mnt-new').count(), 0, 'an operator reads but does not write');
    await op.close();
  });

  await step('no script errors and no CSP violations', async () => {
    // The daemon's refusal of the expired certificate is a 400 the browser reports.
    const real = problems.filter((p) => !/status of 400/.test(p));
    eq(real.length, 0, `problems: ${real.join(' | ')}`);
  });
  await deskCtx.close();
  await phoneCtx.close();
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.log('FAILED');
  console.error(e instanceof Failure ? `assertion failed: ${e.message}` : e.stack || e);
  console.error(`--- liftguardd log (tail) ---\n${logTail('liftguardd')}`);
  console.error(`logs kept in ${tmp}`);
} finally {
  await stopAll();
}
console.log(`screenshots in ${args.out}`);
console.log(`${steps.length} passed, ${failed ? 1 : 0} failed`);
if (!failed && !args.keep) fs.rmSync(tmp, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
