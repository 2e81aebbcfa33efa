// Browser test of the security-room dashboard (docs/dashboard.md), in
// Debian's chromium driven by playwright-core.
//
// Starts the real liftsim (7 static cars on two links, two buildings) and
// the real liftguardd on a temporary SQLite file and free ports, creates the
// users with the `liftguard` CLI, then, as a person would in the browser:
// signs in as the operator and sees every car; moves a car and sees it move
// (SSE, no polling); traps a passenger in one car (liftsim `fault`) and sees
// its tile go red with the alarm sound on; acknowledges the alarm; walks the
// rescue incident to closed through the panel's buttons, the contractor's
// part (accept with ETA, on site) on a phone-sized page; switches to English
// (remembered); signs out. Screenshots go to --out.
//
// Usage (ctest runs it as browser_dashboard):
//   node dashboard.mjs --liftsim PATH --liftguardd PATH --liftguard PATH --out DIR
//                      [--chromium /usr/bin/chromium] [--keep]
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
    out[k] = path.resolve(out[k]); // the processes run in the temporary directory
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
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lg-browser-'));

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

// Polls `fn` until it returns something truthy; the last value otherwise.
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
function start(name, cmd, argv, opts = {}) {
  const log = fs.openSync(path.join(tmp, `${name}.log`), 'a');
  const p = spawn(cmd, argv, { stdio: ['pipe', 'pipe', log], cwd: opts.cwd || tmp, env: process.env });
  let out = '';
  p.stdout.on('data', (d) => { out += d; fs.appendFileSync(path.join(tmp, `${name}.log`), d); });
  p.exited = new Promise((r) => p.on('exit', (code, sig) => r({ code, sig })));
  p.output = () => out;
  p.logName = name;
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

// liftsim's control port: one command line, one reply line.
function control(port, line) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let buf = '';
    s.setTimeout(5000, () => { s.destroy(); reject(new Error(`control: no reply to ${line}`)); });
    s.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        s.end();
        const reply = buf.slice(0, nl);
        if (!reply.startsWith('ok')) reject(new Error(`control: ${line} -> ${reply}`));
        else resolve(reply);
      }
    });
    s.on('error', reject);
    s.write(`${line}\n`);
  });
}

// ---- the rig -------------------------------------------------------------

const OP_CARS = [1, 2, 3, 4];   // Outpatient building, link 1, contractor acme-lifts
const WARD_CARS = [1, 2, 3];    // Ward building, link 2, no contractor
const PASSWORDS = {
  olga: 'operator-pass-1',
  chen: 'contractor-pass-1',
  wang: 'safety-pass-1',
};

let base;
let ctl;
let linkOp;
let linkWard;
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

let daemon;
async function startDaemon() {
  daemon = start('liftguardd', args.liftguardd, ['-c', path.join(tmp, 'liftguard.toml')]);
  await eventually(async () => {
    if (daemon.exitCode !== null) throw new Error(`liftguardd exited: ${logTail('liftguardd', 20)}`);
    const r = await fetch(`${base}/healthz`).catch(() => null);
    return r && r.status === 200;
  }, 'liftguardd healthy', 30000);
}

async function startRig() {
  const simPortOp = await freePort();
  const simPortWard = await freePort();
  const ctlPort = await freePort();
  const httpPort = await freePort();
  linkOp = String(simPortOp);
  linkWard = String(simPortWard);
  ctl = ctlPort;
  base = `http://127.0.0.1:${httpPort}`;

  const sim = start('liftsim', args.liftsim, [
    '--tcp', `127.0.0.1:${simPortOp}:1-${OP_CARS.length}`,
    '--tcp', `127.0.0.1:${simPortWard}:1-${WARD_CARS.length}`,
    '--control', `127.0.0.1:${ctlPort}`, '--static', '--floors', '-1:12',
  ]);
  await eventually(() => sim.output().includes('liftsim ready') || (sim.exitCode !== null && Promise.reject(new Error('liftsim exited'))), 'liftsim ready');

  const elevators = [
    ...OP_CARS.map((u) => ({ id: `OP-${u}`, name: `门诊 ${u} 号梯`, building: '门诊楼 Outpatient', link: 'op-gw', unit: u, contractor: 'acme-lifts' })),
    ...WARD_CARS.map((u) => ({ id: `W-${u}`, name: `住院 ${u} 号梯`, building: '住院楼 Ward', link: 'ward-gw', unit: u })),
  ];
  const cfg = [
    '[site]', 'name = "Browser test hospital"', 'arrival_target_min = 30', '',
    '[daemon]', 'database = "lg.db"', `listen = "127.0.0.1:${httpPort}"`, 'log_level = "info"', '',
    '[polling]', 'interval_ms = 200', 'timeout_ms = 200', 'comms_lost_after_ms = 5000', 'backoff_ms = [100, 1000]', '',
    '[rules]', 'trapped_between_floors_s = 5', 'stop_outside_door_zone_s = 2', '',
    '[[contractor]]', 'id = "acme-lifts"', 'name = "Acme Lift Service"', 'duty_phone = "+86 20 5555 0101"', '',
    '[[link]]', 'id = "op-gw"', 'transport = "tcp"', 'host = "127.0.0.1"', `port = ${simPortOp}`, '',
    '[[link]]', 'id = "ward-gw"', 'transport = "tcp"', 'host = "127.0.0.1"', `port = ${simPortWard}`, '',
    ...elevators.flatMap((e) => [
      '[[elevator]]', `id = "${e.id}"`, `name = "${e.name}"`, `building = "${e.building}"`,
      `link = "${e.link}"`, `unit = ${e.unit}`, 'rated_speed_mm_s = 1750',
      ...(e.contractor ? [`contractor = "${e.contractor}"`] : []), '',
    ]),
    '[[escalation]]', 'after_min = 0', 'notify = ["security-room", "contractor:on-call"]', '',
  ].join('\n');
  fs.writeFileSync(path.join(tmp, 'liftguard.toml'), cfg);

  await startDaemon();

  const db = path.join(tmp, 'lg.db');
  for (const [name, role, extra] of [['olga', 'operator', []], ['chen', 'contractor', ['--contractor', 'acme-lifts']], ['wang', 'safety_manager', []]]) {
    const r = await run(args.liftguard, ['user', 'add', name, '--db', db, '--role', role, ...extra, '--password-stdin'], `${PASSWORDS[name]}\n`);
    eq(r.code, 0, `liftguard user add ${name} (${r.err.trim()})`);
  }
  return elevators;
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

async function signIn(page, username, password) {
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

const attr = (loc, name) => loc.getAttribute(name);

async function tileCount(page) {
  return page.locator('[data-testid^="tile-"][data-car]').count();
}

// r, g, b of an element's background colour
async function background(loc) {
  const c = await loc.evaluate((el) => getComputedStyle(el).backgroundColor);
  const m = /rgba?\((\d+), (\d+), (\d+)/.exec(c);
  return m ? m.slice(1, 4).map(Number) : [0, 0, 0];
}

// Fills and confirms the action dialog; `fields` by data-testid suffix.
async function confirmDialog(page, fields, screenshot) {
  const dlg = page.getByTestId('dialog');
  await dlg.waitFor({ state: 'visible' });
  for (const [name, value] of Object.entries(fields)) {
    await page.getByTestId(`dialog-${name}`).fill(String(value));
  }
  if (screenshot) await page.screenshot({ path: path.join(args.out, screenshot) });
  await page.getByTestId('dialog-confirm').click();
  await dlg.waitFor({ state: 'hidden' });
}

// ---- the test --------------------------------------------------------------

async function main() {
  const elevators = await startRig();
  const problems = [];
  const browser = await chromium.launch({
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    await test(browser, elevators, problems);
  } catch (e) {
    for (const [label, page] of openPages) {
      await page.screenshot({ path: path.join(args.out, `failure-${label}.png`) }).catch(() => {});
    }
    throw e;
  } finally {
    await browser.close().catch(() => {});
  }
}

async function test(browser, elevators, problems) {
  await step('the daemon serves the page with a strict CSP and no-cache; the API is unchanged', async () => {
    const r = await fetch(`${base}/`);
    eq(r.status, 200, 'GET /');
    check((r.headers.get('content-type') || '').startsWith('text/html'), `content type of / is ${r.headers.get('content-type')}`);
    const csp = r.headers.get('content-security-policy') || '';
    check(csp.includes("default-src 'self'") && csp.includes("script-src 'self'") && !csp.includes('unsafe-inline'), `CSP: ${csp}`);
    check(csp.includes("frame-ancestors 'none'"), `CSP forbids framing: ${csp}`);
    eq(r.headers.get('cache-control'), 'no-cache', 'Cache-Control of /');
    eq(r.headers.get('x-content-type-options'), 'nosniff', 'nosniff on /');
    const html = await r.text();
    check(html.includes('data-testid="login-form"'), 'index.html is the dashboard');
    check(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), 'index.html has no inline script');
    const js = await fetch(`${base}/app.js`);
    eq(js.status, 200, 'GET /app.js');
    check((js.headers.get('content-type') || '').startsWith('text/javascript'), 'app.js content type');
    eq((await fetch(`${base}/no-such-file.js`)).status, 404, 'GET of an unknown file');
    eq((await fetch(`${base}/`, { method: 'POST' })).status, 405, 'POST /');
    eq((await fetch(`${base}/api/v1/elevators`)).status, 401, 'API without a token');
  });

  const ctx = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
  const page = await ctx.newPage();
  watchPage(page, problems, 'operator');
  const apiGets = [];
  page.on('request', (r) => {
    if (r.url().includes('/api/v1/') && !r.url().includes('/api/v1/stream')) apiGets.push({ t: Date.now(), m: r.method(), u: r.url() });
  });

  await step('the login page is in Chinese by default and refuses a wrong password', async () => {
    await page.goto(`${base}/`);
    await page.getByTestId('login-view').waitFor({ state: 'visible' });
    eq(await page.evaluate(() => document.documentElement.lang), 'zh-CN', 'page language');
    eq(await page.getByTestId('login-submit').textContent(), '登录', 'sign-in button');
    await page.screenshot({ path: path.join(args.out, 'login.png') });
    await signIn(page, 'olga', 'not-the-password');
    await page.getByTestId('login-error').waitFor({ state: 'visible' });
    eq(await page.getByTestId('login-error').textContent(), '用户名或密码错误', 'login error');
    check(await page.getByTestId('app-view').isHidden(), 'console stays hidden after a failed login');
  });

  await step('the operator signs in and sees every car, grouped by building', async () => {
    await signIn(page, 'olga', PASSWORDS.olga);
    await page.getByTestId('app-view').waitFor({ state: 'visible' });
    eq(await page.getByTestId('user-role').textContent(), '值班员', 'role shown');
    eq(await page.evaluate(() => !!JSON.parse(sessionStorage.getItem('liftguard.session') || 'null')?.token), true, 'token kept in sessionStorage');
    await eventually(async () => (await attr(page.getByTestId('conn'), 'data-conn')) === 'live', 'event stream live');
    await eventually(async () => (await tileCount(page)) === elevators.length, `${elevators.length} tiles`);
    const buildings = await page.getByTestId('building-name').allTextContents();
    eq(JSON.stringify(buildings), JSON.stringify(['门诊楼 Outpatient', '住院楼 Ward']), 'building sections, in the configuration\'s order');
    for (const b of ['住院楼 Ward', '门诊楼 Outpatient']) {
      const n = await page.locator(`[data-testid="building"][data-building="${b}"] [data-car]`).count();
      eq(n, elevators.filter((e) => e.building === b).length, `cars in ${b}`);
    }
    // Static liftsim cars stand at floor MIN + unit - 1 (MIN = -1 here),
    // in auto, door closed, empty; once polled every tile says so.
    for (const e of elevators) {
      const tile = page.getByTestId(`tile-${e.id}`);
      await eventually(async () => (await attr(tile, 'data-floor')) === String(e.unit - 2), `${e.id} at floor ${e.unit - 2}`);
      eq(await attr(tile, 'data-online'), 'true', `${e.id} online`);
      eq(await attr(tile, 'data-alarm'), 'none', `${e.id} without alarm`);
      eq(await tile.getByTestId('tile-mode').textContent(), '自动', `${e.id} mode`);
      eq(await tile.getByTestId('tile-door').textContent(), '关门', `${e.id} door`);
      eq(await tile.getByTestId('tile-occupied').textContent(), '无人', `${e.id} occupancy`);
      eq(await tile.getByTestId('tile-name').textContent(), e.name, `${e.id} name`);
    }
    eq(await page.getByTestId('kpi-online').textContent(), `${elevators.length}/${elevators.length}`, 'online count');
  });

  await step('a car that moves is shown moving, live over SSE without polling', async () => {
    await sleep(500);
    const before = apiGets.length;
    const tile = page.getByTestId('tile-W-3');
    await control(ctl, `set ${linkWard}/3 floor 9`);
    await control(ctl, `set ${linkWard}/3 moving 1`);
    await control(ctl, `set ${linkWard}/3 dir_up 1`);
    await eventually(async () => (await attr(tile, 'data-floor')) === '9', 'W-3 shows floor 9');
    await eventually(async () => (await attr(tile.getByTestId('tile-direction'), 'data-direction')) === 'up', 'W-3 arrow up');
    await control(ctl, `release ${linkWard}/3`);
    await eventually(async () => (await attr(tile.getByTestId('tile-direction'), 'data-direction')) === 'none', 'W-3 stopped again');
    await control(ctl, `fault ${linkWard}/2 comms_lost on`);
    await eventually(async () => (await attr(page.getByTestId('tile-W-2'), 'data-online')) === 'false', 'W-2 offline', 15000);
    check(await page.getByTestId('tile-W-2').getByTestId('tile-offline').isVisible(), 'offline badge on W-2');
    // COMMS_LOST is a major alarm: the tile turns orange.
    await eventually(async () => (await attr(page.getByTestId('tile-W-2'), 'data-alarm')) === 'major', 'W-2 major alarm', 10000);
    eq(await page.getByTestId('kpi-online').textContent(), `${elevators.length - 1}/${elevators.length}`, 'online count with W-2 offline');
    await control(ctl, `fault ${linkWard}/2 comms_lost off`);
    await eventually(async () => (await attr(page.getByTestId('tile-W-2'), 'data-online')) === 'true', 'W-2 back online', 15000);
    const during = apiGets.slice(before).filter((r) => r.m === 'GET');
    eq(during.length, 0, `API GETs while the cars changed (${during.map((r) => r.u).join(', ')})`);
  });

  let alarmId;
  await step('a trapped passenger turns the tile red and sounds the alarm', async () => {
    await control(ctl, `fault ${linkOp}/2 trapped_between_floors on`);
    const tile = page.getByTestId('tile-OP-2');
    await eventually(async () => (await attr(tile, 'data-alarm')) === 'critical-unack', 'OP-2 tile critical, unacknowledged', 20000);
    const [r, g, b] = await background(tile);
    check(r > 100 && r > 2 * g && r > 2 * b, `OP-2 tile background is red (rgb ${r},${g},${b})`);
    eq(await tile.getByTestId('tile-occupied').textContent(), '有人', 'OP-2 occupied');
    check((await tile.getByTestId('tile-alarms').textContent()).includes('困人'), 'OP-2 tile names the alarm');
    // W-2 keeps its COMMS_LOST (cleared, not acknowledged) from above.
    for (const e of elevators.filter((x) => x.id !== 'OP-2')) {
      eq(await attr(page.getByTestId(`tile-${e.id}`), 'data-alarm'), e.id === 'W-2' ? 'major' : 'none', `${e.id} unaffected`);
    }
    eq(await page.evaluate(() => document.body.dataset.sound), 'on', 'alarm sound on');
    const beeps0 = Number(await page.evaluate(() => document.body.dataset.beeps));
    await eventually(async () => Number(await page.evaluate(() => document.body.dataset.beeps)) >= beeps0 + 2, 'the beep repeats', 6000);
    const item = page.locator('[data-testid^="alarm-"][data-type="TRAPPED"][data-elevator="OP-2"]');
    await item.waitFor({ state: 'visible' });
    alarmId = Number(await attr(item, 'data-alarm-id'));
    eq(await item.getByTestId('alarm-state').textContent(), '未确认', 'alarm state shown');
    eq(await page.getByTestId(`shelve-${alarmId}`).count(), 0, 'no shelve button (TRAPPED, operator)');
    await page.screenshot({ path: path.join(args.out, 'grid-alarm.png') });
  });

  await step('acknowledging the alarm (with a note) silences it; the tile stays red while it is active', async () => {
    await page.getByTestId(`ack-${alarmId}`).click();
    await confirmDialog(page, { note: '已与乘客通话 talked to passengers' });
    const tile = page.getByTestId('tile-OP-2');
    await eventually(async () => (await attr(tile, 'data-alarm')) === 'critical', 'OP-2 critical, acknowledged');
    eq(await page.evaluate(() => document.body.dataset.sound), 'off', 'alarm sound off');
    const beeps = Number(await page.evaluate(() => document.body.dataset.beeps));
    await sleep(2000);
    eq(Number(await page.evaluate(() => document.body.dataset.beeps)), beeps, 'no more beeps after the acknowledgement');
    const [r, g, b] = await background(tile);
    check(r > 2 * g && r > 2 * b, `acknowledged tile still red (rgb ${r},${g},${b})`);
    eq(await page.getByTestId(`ack-${alarmId}`).count(), 0, 'no acknowledge button any more');
    const token = await login('olga');
    const alarms = (await apiAs(token, 'GET', '/api/v1/alarms?state=active&elevator=OP-2')).json;
    const a = alarms.find((x) => x.id === alarmId);
    check(a && a.acked && a.acked_by === 'olga', `alarm ${alarmId} acknowledged by olga in the API: ${JSON.stringify(a && { acked: a.acked, by: a.acked_by })}`);
    check(a.history.some((h) => h.kind === 'ack' || (h.note || '').includes('talked to passengers')), 'the note is in the alarm history');
  });

  await step('the safety manager may shelve a major alarm, never TRAPPED', async () => {
    const smCtx = await browser.newContext({ viewport: { width: 1920, height: 1080 }, locale: 'zh-CN' });
    const sm = await smCtx.newPage();
    watchPage(sm, problems, 'safety-manager');
    await sm.clock.install(); // runs at real speed until fast-forwarded below
    await sm.goto(`${base}/`);
    await signIn(sm, 'wang', PASSWORDS.wang);
    await sm.getByTestId('app-view').waitFor({ state: 'visible' });
    eq(await sm.getByTestId('user-role').textContent(), '安全管理员', 'role shown');
    const trapped = sm.getByTestId(`alarm-${alarmId}`);
    await trapped.waitFor({ state: 'visible' });
    eq(await sm.getByTestId(`shelve-${alarmId}`).count(), 0, 'no shelve button for TRAPPED');
    const zone = sm.locator('[data-testid^="alarm-"][data-type="STOP_OUTSIDE_DOOR_ZONE"][data-elevator="OP-2"]');
    await zone.waitFor({ state: 'visible' });
    const zoneId = Number(await attr(zone, 'data-alarm-id'));
    await sm.getByTestId(`shelve-${zoneId}`).click();
    // The reason is required.
    await sm.getByTestId('dialog-reason').fill('');
    await sm.getByTestId('dialog-confirm').click();
    await sm.getByTestId('dialog-error').waitFor({ state: 'visible' });
    await confirmDialog(sm, { minutes: 30, reason: '困人处置中，门区报警由救援跟踪' });
    await eventually(async () => (await attr(sm.getByTestId(`alarm-${zoneId}`), 'data-state')) === 'shelved', 'alarm shelved');
    // The operator's page hears of it too.
    await eventually(async () => (await attr(page.getByTestId(`alarm-${zoneId}`), 'data-state')) === 'shelved', 'operator sees it shelved');
    eq(await page.getByTestId(`alarm-${zoneId}`).getByTestId('alarm-state').textContent(), '已搁置', 'shelved label');
    // Nobody has spoken to the passengers yet: four minutes on (in this
    // page's clock only), the 3-minute timer is red, the others are not.
    const c = sm.locator('[data-testid^="incident-"][data-elevator="OP-2"]');
    await c.waitFor({ state: 'visible' });
    const ackTimer = c.getByTestId('timer-acknowledged');
    check(!(await ackTimer.evaluate((el) => el.classList.contains('timer--over'))), 'acknowledged timer not over at first');
    await sm.clock.fastForward('04:00');
    await eventually(async () => ackTimer.evaluate((el) => el.classList.contains('timer--over')), 'acknowledged timer over target');
    const [r, g, b] = await background(ackTimer);
    check(r > 2 * g && r > 2 * b, `over-target timer is red (rgb ${r},${g},${b})`);
    check(/^0[34]:\d\d$/.test(await ackTimer.locator('.timer-value').textContent()), 'timer shows about four minutes');
    check(!(await c.getByTestId('timer-on_site').evaluate((el) => el.classList.contains('timer--over'))), 'on-site timer (30 min) not over');
    await sm.screenshot({ path: path.join(args.out, 'incident-over-target.png') });
    await smCtx.close();
  });

  let incidentId;
  const card = () => page.getByTestId(`incident-${incidentId}`);
  await step('the rescue incident opened by the alarm is shown with live timers', async () => {
    const c = page.locator('[data-testid^="incident-"][data-elevator="OP-2"]');
    await c.waitFor({ state: 'visible', timeout: 10000 });
    incidentId = Number(await attr(c, 'data-incident-id'));
    const steps = await card().locator('.stepper-item.is-done').evaluateAll((els) => els.map((e) => e.dataset.step));
    check(steps.includes('open') && steps.includes('dispatched'), `open and dispatched done: ${steps}`);
    const timer = card().getByTestId('timer-on_site');
    const v1 = await timer.locator('.timer-value').textContent();
    await eventually(async () => (await timer.locator('.timer-value').textContent()) !== v1, 'the on-site timer counts');
    check(/^\d\d:\d\d$/.test(await timer.locator('.timer-value').textContent()), 'timer shows mm:ss');
    eq(await attr(timer, 'data-target-s'), String(30 * 60), 'on-site target from arrival_target_min');
    check(!(await timer.evaluate((el) => el.classList.contains('timer--over'))), 'on-site timer within target');
    eq(await page.getByTestId('kpi-incidents').textContent(), '1', 'one rescue in progress');
    check(await page.getByTestId(`step-${incidentId}-acknowledged`).isVisible(), 'acknowledged button');
    eq(await page.getByTestId(`step-${incidentId}-released`).count(), 0, 'no released button yet');
  });

  await step('the operator records that the passengers were spoken to', async () => {
    await page.getByTestId(`step-${incidentId}-acknowledged`).click();
    await confirmDialog(page, { note: '乘客情绪稳定' });
    await eventually(async () => (await attr(card().locator('.stepper-item[data-step="acknowledged"]'), 'data-done')) === 'true', 'acknowledged done');
    eq(await attr(card().getByTestId('timer-acknowledged'), 'data-done-s') !== '', true, 'acknowledged timer stopped');
    eq(await page.getByTestId(`step-${incidentId}-acknowledged`).count(), 0, 'acknowledged button gone');
  });

  // The contractor, on a phone.
  const phoneCtx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'zh-CN' });
  const phone = await phoneCtx.newPage();
  watchPage(phone, problems, 'contractor');
  await step('the contractor signs in on a phone and sees only its own cars, the rescue first', async () => {
    await phone.goto(`${base}/`);
    await signIn(phone, 'chen', PASSWORDS.chen);
    await phone.getByTestId('app-view').waitFor({ state: 'visible' });
    eq(await phone.getByTestId('user-role').textContent(), '维保单位', 'role shown');
    await eventually(async () => (await tileCount(phone)) === OP_CARS.length, `${OP_CARS.length} tiles for the contractor`);
    eq(await phone.getByTestId('tile-W-1').count(), 0, 'no Ward car for the contractor');
    const c = phone.getByTestId(`incident-${incidentId}`);
    await c.waitFor({ state: 'visible' });
    const incidentBox = await phone.getByTestId('incident-panel').boundingBox();
    const gridBox = await phone.getByTestId('grid-panel').boundingBox();
    const alarmBox = await phone.getByTestId('alarm-panel').boundingBox();
    check(incidentBox.y + incidentBox.height <= alarmBox.y && alarmBox.y + alarmBox.height <= gridBox.y,
      `on a phone: rescue panel, then alarms, then the grid, not overlapping (${[incidentBox, alarmBox, gridBox].map((b) => `${Math.round(b.y)}+${Math.round(b.height)}`).join(', ')})`);
    check(incidentBox.x >= 0 && incidentBox.x + incidentBox.width <= 390 + 1, `rescue panel fits the phone width (${JSON.stringify(incidentBox)})`);
    const docWidth = await phone.evaluate(() => document.documentElement.scrollWidth);
    check(docWidth <= 390, `no sideways scrolling on the phone (${docWidth}px)`);
    eq(await phone.getByTestId(`step-${incidentId}-acknowledged`).count(), 0, 'contractor has no acknowledged button');
    eq(await phone.getByTestId(`ack-${alarmId}`).count(), 0, 'contractor cannot acknowledge alarms');
  });

  await step('the contractor accepts with an ETA and marks on site, from the phone', async () => {
    await phone.getByTestId(`step-${incidentId}-accepted`).tap();
    await confirmDialog(phone, { eta_min: 20, note: '张师傅出发' }, 'phone-accept-dialog.png');
    const c = phone.getByTestId(`incident-${incidentId}`);
    await eventually(async () => (await attr(c, 'data-step')) === 'accepted', 'step accepted');
    check((await c.getByTestId('incident-eta').textContent()).includes('20'), 'ETA shown');
    await phone.screenshot({ path: path.join(args.out, 'phone-contractor.png') });
    await phone.getByTestId(`step-${incidentId}-on_site`).tap();
    await confirmDialog(phone, {});
    await eventually(async () => (await attr(c, 'data-step')) === 'on_site', 'step on_site');
    eq(await phone.getByTestId(`step-${incidentId}-released`).count(), 1, 'released is next for the contractor too');
  });

  await step("the security room's panel follows the contractor's steps live", async () => {
    await eventually(async () => (await attr(card(), 'data-step')) === 'on_site', 'operator sees on_site');
    eq(await card().getByTestId('incident-step').textContent(), '已到场', 'step badge');
    check(await attr(card().getByTestId('timer-accepted'), 'data-done-s') !== '', 'accepted timer stopped');
    check(await attr(card().getByTestId('timer-on_site'), 'data-done-s') !== '', 'on-site timer stopped');
    await page.getByTestId('incident-panel').screenshot({ path: path.join(args.out, 'incident-panel.png') });
  });

  await step('the operator records the release and closes the incident with its cause', async () => {
    await page.getByTestId(`step-${incidentId}-released`).click();
    await confirmDialog(page, { note: '乘客已安全离开' });
    await eventually(async () => (await attr(card(), 'data-step')) === 'released', 'step released');
    eq(await page.getByTestId(`step-${incidentId}-false_alarm`).count(), 0, 'no false alarm after release');
    await page.getByTestId(`step-${incidentId}-closed`).click();
    // The cause is required: an empty one is refused in the dialog.
    await page.getByTestId('dialog-confirm').click();
    await page.getByTestId('dialog-error').waitFor({ state: 'visible' });
    await confirmDialog(page, { cause: '门锁回路接触不良，已修复 door lock contact' });
    await eventually(async () => (await card().count()) === 0, 'closed incident leaves the panel');
    await page.getByTestId('incidents-empty').waitFor({ state: 'visible' });
    await phone.getByTestId('incidents-empty').waitFor({ state: 'visible' });
    const token = await login('olga');
    const all = (await apiAs(token, 'GET', '/api/v1/incidents?state=all')).json.incidents;
    const inc = all.find((i) => i.id === incidentId);
    eq(inc.state, 'closed', 'incident state in the API');
    eq(inc.eta_min, 20, 'ETA in the API');
    check((inc.cause || '').includes('door lock contact'), `cause in the API: ${inc.cause}`);
    eq(inc.steps.map((s) => s.step).join(','), 'open,dispatched,acknowledged,accepted,on_site,released,closed', 'steps in order');
    eq(inc.steps.find((s) => s.step === 'accepted').by, 'chen', 'accepted by the contractor');
    eq(inc.steps.find((s) => s.step === 'closed').by, 'olga', 'closed by the operator');
  });

  await step('when the car is freed the acknowledged alarm closes and leaves the list', async () => {
    // TRAPPED clears when the car moves or its door opens (faults.md): the
    // car is parked at a floor and its door opened.
    await control(ctl, `fault ${linkOp}/2 trapped_between_floors off`);
    await control(ctl, `set ${linkOp}/2 door_closed 0`);
    await control(ctl, `set ${linkOp}/2 door_open 1`);
    await eventually(async () => (await page.getByTestId(`alarm-${alarmId}`).count()) === 0, 'TRAPPED alarm gone from the list', 20000);
    // Its other alarm is shelved, which colours nothing.
    await eventually(async () => (await attr(page.getByTestId('tile-OP-2'), 'data-alarm')) === 'none', 'OP-2 tile back to normal');
    eq(await page.getByTestId('tile-OP-2').getByTestId('tile-door').textContent(), '开门', 'OP-2 door open');
    await control(ctl, `release ${linkOp}/2`);
    await page.screenshot({ path: path.join(args.out, 'grid.png') });
  });

  await step('when the daemon restarts the page reconnects by itself and reloads the lists once', async () => {
    daemon.kill('SIGTERM');
    await daemon.exited;
    await eventually(async () => (await attr(page.getByTestId('conn'), 'data-conn')) === 'reconnecting', 'shown as reconnecting');
    const before = apiGets.length;
    await control(ctl, `set ${linkOp}/4 floor 11`); // changes while the page is cut off
    await startDaemon();
    await eventually(async () => (await attr(page.getByTestId('conn'), 'data-conn')) === 'live', 'live again', 15000);
    await eventually(async () => (await attr(page.getByTestId('tile-OP-4'), 'data-floor')) === '11', 'OP-4 change seen after the reconnect');
    await sleep(1500);
    const lists = apiGets.slice(before).filter((r) => r.m === 'GET').map((r) => new URL(r.u).pathname).sort();
    eq(lists.join(','), '/api/v1/alarms,/api/v1/elevators,/api/v1/incidents', 'each list loaded once after the reconnect');
    await control(ctl, `release ${linkOp}/4`);
  });

  await step('English is one click away, and remembered across a reload', async () => {
    await page.getByTestId('lang-toggle').click();
    eq(await page.evaluate(() => document.documentElement.lang), 'en', 'page language');
    eq(await page.locator('#grid-title').textContent(), 'Elevators, live', 'grid title');
    eq(await page.getByTestId('tile-OP-1').getByTestId('tile-mode').textContent(), 'Auto', 'mode in English');
    eq(await page.getByTestId('user-role').textContent(), 'Operator', 'role in English');
    await page.reload();
    await page.getByTestId('app-view').waitFor({ state: 'visible' });
    eq(await page.evaluate(() => document.documentElement.lang), 'en', 'language after reload');
    await eventually(async () => (await tileCount(page)) === elevators.length, 'tiles after reload (still signed in)');
    await page.screenshot({ path: path.join(args.out, 'console-en.png') });
  });

  await step('signing out forgets the token', async () => {
    await page.getByTestId('logout').click();
    await page.getByTestId('login-view').waitFor({ state: 'visible' });
    eq(await page.evaluate(() => sessionStorage.getItem('liftguard.session')), null, 'session removed');
    await page.reload();
    await page.getByTestId('login-view').waitFor({ state: 'visible' });
    eq(await page.getByTestId('login-submit').textContent(), 'Sign in', 'login page stays English');
  });

  await step('no script errors and no CSP violations on either page', async () => {
    // The one failed sign-in is the browser reporting the 401 it was given.
    const real = problems.filter((p) => !/status of 401/.test(p));
    eq(real.length, 0, `problems: ${real.join(' | ')}`);
  });
  await phoneCtx.close();
  await ctx.close();
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.log('FAILED');
  console.error(e instanceof Failure ? `assertion failed: ${e.message}` : e.stack || e);
  console.error(`--- liftguardd log (tail) ---\n${logTail('liftguardd')}`);
  console.error(`--- liftsim log (tail) ---\n${logTail('liftsim', 10)}`);
  console.error(`logs kept in ${tmp}`);
} finally {
  await stopAll();
}
console.log(`screenshots in ${args.out}`);
console.log(`${steps.length} passed, ${failed ? 1 : 0} failed`);
if (!failed && !args.keep) fs.rmSync(tmp, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
