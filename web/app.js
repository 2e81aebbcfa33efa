// Liftguard security-room dashboard. Plain JavaScript, no build step.
//
// Data flow: after sign-in the page opens the event stream
// (GET /api/v1/stream, EventSource) and, each time it (re)connects, loads the
// lists once (elevators, active alarms, open incidents). From then on only
// the stream's `state`, `alarm` and `incident` events change what is shown:
// there is no polling. The token lives in sessionStorage (gone with the
// tab); the language choice in localStorage.
//
// The nav switches between this live console and the records pages of
// records.js (maintenance, inspections, certificates, drills,
// rectifications, reports), one per address hash (#/maintenance); the
// stream and the alarm sound go on whichever page is shown.
//
// Everything is built with DOM calls, never innerHTML, so names and notes
// from the server cannot inject markup; the page runs under a CSP without
// inline script or style.
'use strict';

(() => {
  const I18N = window.LG_I18N;
  const LANG_KEY = 'liftguard.lang';
  const SESSION_KEY = 'liftguard.session';

  // Types that may never be shelved (shared/spec/faults.md).
  const NOT_SHELVABLE = new Set([
    'TRAPPED', 'UCM', 'OVERSPEED', 'TOP_OVERRUN', 'BOTTOM_OVERRUN', 'DOOR_OPEN_WHILE_MOVING',
  ]);
  const SEVERITY_RANK = { critical: 3, major: 2, minor: 1 };
  // Shown in the order they usually happen: dispatched comes with open.
  const INCIDENT_STEPS = ['open', 'dispatched', 'acknowledged', 'accepted', 'on_site', 'released', 'closed'];
  const TIMED_STEPS = ['acknowledged', 'accepted', 'on_site'];
  const CAN_ACK = new Set(['operator', 'safety_manager']);
  const CAN_SHELVE = new Set(['safety_manager']);
  const CAN_STEP = new Set(['operator', 'safety_manager', 'contractor']);
  const CAN_OPEN_INCIDENT = new Set(['operator', 'safety_manager']);

  const $ = (id) => document.getElementById(id);

  // ---- language ------------------------------------------------------------

  let lang = 'zh';
  try {
    const saved = localStorage.getItem(LANG_KEY);
    if (saved && I18N.dict[saved]) lang = saved;
  } catch (_) { /* storage may be disabled: Chinese it is */ }

  function t(key, params) {
    let s = I18N.dict[lang][key];
    if (s === undefined) s = I18N.dict.zh[key];
    if (s === undefined) return key;
    if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (params[k] !== undefined ? String(params[k]) : m));
    return s;
  }

  function applyStaticText() {
    document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
    document.title = t('app.name');
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    for (const el of document.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
    for (const el of document.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  }

  function setLanguage(l) {
    lang = l;
    try { localStorage.setItem(LANG_KEY, l); } catch (_) { /* not remembered then */ }
    applyStaticText();
    if (S.session) {
      showUser();
      setConn(S.conn);
      renderAll();
      if (Records) Records.rerender();
    }
  }

  // ---- small helpers -------------------------------------------------------

  // h('div', {class: 'x', 'data-testid': 'y', onclick: f}, child, 'text', ...)
  function h(tag, props, ...kids) {
    const el = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === null || v === undefined || v === false) continue;
        if (k === 'class') el.className = v;
        else if (k === 'text') el.textContent = v;
        else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? '' : String(v));
      }
    }
    for (const c of kids.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : String(c));
    }
    return el;
  }

  const pad = (n) => String(n).padStart(2, '0');

  function fmtTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    const now = new Date();
    const hms = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    if (d.toDateString() === now.toDateString()) return hms;
    return `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hms}`;
  }

  function fmtDuration(s) {
    s = Math.max(0, Math.floor(s));
    const hh = Math.floor(s / 3600);
    const mm = Math.floor((s % 3600) / 60);
    const ss = s % 60;
    return hh > 0 ? `${hh}:${pad(mm)}:${pad(ss)}` : `${pad(mm)}:${pad(ss)}`;
  }

  function toast(text, kind) {
    const el = h('div', { class: `toast toast--${kind || 'info'}`, role: 'status', 'data-testid': 'toast' }, text);
    $('toasts').append(el);
    setTimeout(() => el.remove(), kind === 'error' ? 8000 : 3000);
  }

  // ---- state ---------------------------------------------------------------

  const S = {
    session: null,           // {token, role, username, expires_at}
    cars: new Map(),         // id -> elevator (GET /elevators shape)
    alarms: new Map(),       // id -> alarm, every alarm not closed
    closedAlarms: new Set(), // ids closed by an event, so a slower list load does not bring them back
    incidents: new Map(),    // id -> open incident
    endedIncidents: new Set(),
    incidentsError: null,    // why the incident list could not be loaded
    es: null,
    conn: 'connecting',
    retryTimer: null,
    expiryTimer: null,
    loadSeq: 0,
    loaded: false,
    renderTimer: null,
    dirty: new Set(),
    page: 'live',            // the nav's page: live, or a records page (records.js)
  };

  function loadSession() {
    try {
      const s = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
      if (s && s.token && s.role && (!s.expires_at || new Date(s.expires_at) > new Date())) return s;
    } catch (_) { /* no session */ }
    return null;
  }

  // ---- the API -------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message || code || `HTTP ${status}`);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const headers = {};
    if (S.session) headers.Authorization = `Bearer ${S.session.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      });
    } catch (e) {
      throw new ApiError(0, 'network', t('login.network'));
    }
    let data = null;
    try { data = await res.json(); } catch (_) { /* not JSON */ }
    if (!res.ok) {
      const err = data && data.error ? data.error : {};
      if (res.status === 401 && S.session) signOut('login.expired');
      throw new ApiError(res.status, err.code, err.message);
    }
    return data;
  }

  // ---- sound ---------------------------------------------------------------

  // Browsers let a page make sound only after a user gesture: the sign-in
  // click unlocks it; after a reload the banner asks for one click.
  const Sound = {
    ctx: null,
    timer: null,
    beeps: 0,
    unlock() {
      try {
        const Ctx = window.AudioContext || window.webkitAudioContext;
        if (!Ctx) return;
        if (!this.ctx) this.ctx = new Ctx();
        if (this.ctx.state === 'suspended') {
          this.ctx.resume().then(() => this.updateBanner(), () => {});
        }
      } catch (_) { /* no audio device: the red tile still shows */ }
      this.updateBanner();
    },
    running() { return !!this.ctx && this.ctx.state === 'running'; },
    updateBanner() {
      const needed = !!S.session && !this.running();
      $('sound-banner').hidden = !needed;
    },
    // on: some critical alarm is still unacknowledged.
    set(on) {
      document.body.dataset.sound = on ? 'on' : 'off';
      if (on && !this.timer) {
        this.beep();
        this.timer = setInterval(() => this.beep(), 1500);
      } else if (!on && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    },
    beep() {
      if (!this.running()) { this.updateBanner(); return; }
      const c = this.ctx;
      const start = c.currentTime + 0.02;
      // Two falling tones, like a nurse-call chime but harsher.
      [[0, 988], [0.24, 740], [0.48, 988], [0.72, 740]].forEach(([at, freq]) => {
        const o = c.createOscillator();
        const g = c.createGain();
        o.type = 'square';
        o.frequency.value = freq;
        const t0 = start + at;
        g.gain.setValueAtTime(0.0001, t0);
        g.gain.exponentialRampToValueAtTime(0.2, t0 + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t0 + 0.2);
        o.connect(g);
        g.connect(c.destination);
        o.start(t0);
        o.stop(t0 + 0.22);
      });
      this.beeps += 1;
      document.body.dataset.beeps = String(this.beeps);
    },
  };

  // ---- sign in / out -------------------------------------------------------

  function showLogin(messageKey) {
    $('app-view').hidden = true;
    $('login-view').hidden = false;
    const err = $('login-error');
    err.hidden = !messageKey;
    err.textContent = messageKey ? t(messageKey) : '';
    $('login-password').value = '';
    $('login-username').focus();
  }

  async function onLoginSubmit(ev) {
    ev.preventDefault();
    Sound.unlock(); // inside the click: browsers allow audio from here on
    const username = $('login-username').value.trim();
    const password = $('login-password').value;
    const err = $('login-error');
    if (!username || !password) {
      err.textContent = t('dialog.required');
      err.hidden = false;
      return;
    }
    const btn = $('login-submit');
    btn.disabled = true;
    btn.textContent = t('login.busy');
    try {
      const res = await fetch('/api/v1/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }),
        cache: 'no-store',
      });
      const data = await res.json().catch(() => null);
      if (!res.ok) {
        err.textContent = res.status === 429 ? `${t('login.throttled')} (${res.headers.get('Retry-After') || '?'} s)`
          : res.status === 401 ? t('login.failed')
            : (data && data.error && data.error.message) || `HTTP ${res.status}`;
        err.hidden = false;
        return;
      }
      S.session = { token: data.token, role: data.role, username, expires_at: data.expires_at };
      try { sessionStorage.setItem(SESSION_KEY, JSON.stringify(S.session)); } catch (_) { /* this tab only */ }
      err.hidden = true;
      enterApp();
    } catch (_) {
      err.textContent = t('login.network');
      err.hidden = false;
    } finally {
      btn.disabled = false;
      btn.textContent = t('login.submit');
    }
  }

  function signOut(messageKey) {
    closeStream();
    clearTimeout(S.retryTimer);
    clearTimeout(S.expiryTimer);
    S.session = null;
    S.cars.clear();
    S.alarms.clear();
    S.incidents.clear();
    S.closedAlarms.clear();
    S.endedIncidents.clear();
    S.loaded = false;
    S.loadSeq += 1;
    try { sessionStorage.removeItem(SESSION_KEY); } catch (_) { /* nothing stored */ }
    Sound.set(false);
    Sound.updateBanner();
    if ($('dialog').open) $('dialog').close();
    for (const id of ['buildings', 'alarms', 'incidents']) $(id).replaceChildren();
    if (Records) Records.reset();
    S.page = 'live';
    showLogin(messageKey);
  }

  function showUser() {
    $('user-name').textContent = S.session.username || '';
    $('user-role').textContent = t(`role.${S.session.role}`);
    $('user-role').dataset.role = S.session.role;
    $('incident-new').hidden = !CAN_OPEN_INCIDENT.has(S.session.role);
    for (const b of document.querySelectorAll('#nav [data-page]')) {
      const p = b.dataset.page;
      b.hidden = p !== 'live' && !(Records && Records.canView(p, S.session.role));
    }
  }

  function enterApp() {
    // The token ends at expires_at even if the stream stays open.
    clearTimeout(S.expiryTimer);
    const left = S.session.expires_at ? new Date(S.session.expires_at).getTime() - Date.now() : NaN;
    if (Number.isFinite(left)) S.expiryTimer = setTimeout(() => signOut('login.expired'), Math.max(0, Math.min(left, 2 ** 31 - 1)));
    $('login-view').hidden = true;
    $('app-view').hidden = false;
    document.body.dataset.role = S.session.role;
    showUser();
    Sound.updateBanner();
    renderAll();
    openStream();
    showPage(pageFromHash());
  }

  // ---- pages (the nav) -----------------------------------------------------

  // #/maintenance and so on; the live page is the default and has no hash,
  // so the security room's screen is what a bare address opens.
  function pageFromHash() {
    const m = /^#\/([a-z_]+)$/.exec(location.hash || '');
    return m ? m[1] : 'live';
  }

  function showPage(page) {
    if (!S.session) return;
    if (page !== 'live' && !(Records && Records.canView(page, S.session.role))) {
      page = 'live';
      if (location.hash) history.replaceState(null, '', location.pathname + location.search);
    }
    const changed = page !== S.page || (page !== 'live' && $('records').hidden);
    S.page = page;
    document.body.dataset.page = page;
    $('console').hidden = page !== 'live';
    $('records').hidden = page === 'live';
    for (const b of document.querySelectorAll('#nav [data-page]')) {
      const on = b.dataset.page === page;
      b.classList.toggle('is-active', on);
      if (on) b.setAttribute('aria-current', 'page'); else b.removeAttribute('aria-current');
    }
    if (!changed) return;
    if (page === 'live') {
      if (Records) Records.close();
    } else {
      Records.open(page);
      window.scrollTo(0, 0);
    }
  }

  function onNavClick(ev) {
    const b = ev.target.closest('[data-page]');
    if (!b) return;
    const page = b.dataset.page;
    const hash = page === 'live' ? '' : `#/${page}`;
    if ((location.hash || '') === hash) {
      showPage(page);
    } else if (hash) {
      location.hash = hash;
    } else {
      history.pushState(null, '', location.pathname + location.search);
      showPage('live');
    }
  }

  // ---- the stream ----------------------------------------------------------

  function setConn(state) {
    S.conn = state;
    const el = $('conn');
    el.dataset.conn = state;
    $('conn-text').textContent = t(`conn.${state}`);
  }

  function closeStream() {
    if (S.es) {
      S.es.close();
      S.es = null;
    }
  }

  function openStream() {
    closeStream();
    clearTimeout(S.retryTimer);
    setConn(S.loaded ? 'reconnecting' : 'connecting');
    const es = new EventSource(`/api/v1/stream?token=${encodeURIComponent(S.session.token)}`);
    S.es = es;
    // Each (re)connection loads the lists once; what happens after that
    // comes as events. Loading after `open` leaves no gap between the two.
    es.addEventListener('open', () => {
      if (S.es !== es) return;
      setConn('live');
      loadAll();
    });
    es.addEventListener('error', () => {
      if (S.es !== es) return;
      if (es.readyState === EventSource.CLOSED) {
        // The server refused the stream (e.g. an expired token): the
        // browser will not retry by itself.
        es.close();
        S.es = null;
        setConn('offline');
        scheduleRetry();
      } else {
        setConn('reconnecting');
      }
    });
    es.addEventListener('state', (e) => onStateEvent(parse(e.data)));
    es.addEventListener('alarm', (e) => onAlarmEvent(parse(e.data)));
    es.addEventListener('incident', (e) => onIncidentEvent(parse(e.data)));
    es.addEventListener('notice', (e) => onNoticeEvent(parse(e.data)));
  }

  // The security room's notifications (docs/notifications.md): the
  // alarm or rescue itself shows in the lists; the notice is its message.
  function onNoticeEvent(n) {
    if (!n || !n.subject) return;
    toast(n.subject, n.severity === 'critical' || n.severity === 'major' ? 'error' : 'info');
  }

  function parse(text) {
    try { return JSON.parse(text); } catch (_) { return null; }
  }

  function scheduleRetry() {
    clearTimeout(S.retryTimer);
    S.retryTimer = setTimeout(async () => {
      if (!S.session) return;
      try {
        await api('GET', '/api/v1/elevators'); // a 401 signs out
        if (S.session) openStream();
      } catch (e) {
        if (S.session) scheduleRetry();
      }
    }, 3000);
  }

  async function loadAll() {
    const seq = ++S.loadSeq;
    let cars;
    let alarms;
    try {
      [cars, alarms] = await Promise.all([
        api('GET', '/api/v1/elevators'),
        api('GET', '/api/v1/alarms?state=active'),
      ]);
    } catch (e) {
      if (seq === S.loadSeq && S.session) toast(t('toast.error', { why: e.message }), 'error');
      return;
    }
    let incidents = null;
    let incidentsError = null;
    try {
      const r = await api('GET', '/api/v1/incidents?state=open');
      incidents = (r && r.incidents) || [];
    } catch (e) {
      incidentsError = e.message;
    }
    if (seq !== S.loadSeq || !S.session) return;

    S.cars = new Map(cars.map((c) => [c.id, c]));
    const nextAlarms = new Map();
    for (const a of alarms) {
      if (S.closedAlarms.has(a.id)) continue;
      const known = S.alarms.get(a.id);
      nextAlarms.set(a.id, known && known.revision > a.revision ? known : a);
    }
    // Events that arrived while the list was on its way are newer.
    for (const [id, a] of S.alarms) {
      if (!nextAlarms.has(id) && a.state !== 'closed' && a.__fromEvent) nextAlarms.set(id, a);
    }
    S.alarms = nextAlarms;
    S.incidentsError = incidentsError;
    if (incidents) {
      const next = new Map();
      for (const i of incidents) {
        if (S.endedIncidents.has(i.id)) continue;
        const known = S.incidents.get(i.id);
        next.set(i.id, known && known.steps.length > i.steps.length ? known : i);
      }
      S.incidents = next;
    }
    S.loaded = true;
    renderAll();
  }

  function onStateEvent(c) {
    if (!c || !c.id) return;
    const known = S.cars.get(c.id);
    S.cars.set(c.id, { ...(known || { active_alarms: [] }), ...c });
    if (!known) markDirty('grid');
    else markDirty(`tile:${c.id}`);
    markDirty('summary');
  }

  function onAlarmEvent(a) {
    if (!a || a.id === undefined) return;
    upsertAlarm({ ...a, __fromEvent: true });
  }

  function upsertAlarm(a) {
    if (a.state === 'closed') {
      S.alarms.delete(a.id);
      S.closedAlarms.add(a.id);
    } else {
      const known = S.alarms.get(a.id);
      if (known && known.revision > a.revision) return;
      const merged = { ...a };
      if (known && known.history && !a.history) merged.history = known.history;
      S.alarms.set(a.id, merged);
    }
    markDirty('alarms');
    markDirty(`tile:${a.elevator}`);
    markDirty('summary');
    updateSound();
  }

  function onIncidentEvent(i) {
    if (!i || i.id === undefined) return;
    upsertIncident(i);
  }

  function upsertIncident(i) {
    if (i.state !== 'open') {
      S.incidents.delete(i.id);
      S.endedIncidents.add(i.id);
    } else {
      const known = S.incidents.get(i.id);
      if (known && known.steps.length > i.steps.length) return;
      S.incidents.set(i.id, i);
    }
    S.incidentsError = null;
    markDirty('incidents');
    markDirty('summary');
  }

  // ---- what an alarm means for a tile and the sound ------------------------

  // Alarms that are shown as live: shelved and suppressed ones are listed
  // but colour nothing.
  function isLive(a) {
    return a.state !== 'closed' && a.state !== 'shelved' && a.state !== 'suppressed';
  }

  function isCriticalUnacked(a) {
    return isLive(a) && a.severity === 'critical' && !a.acked;
  }

  function carAlarms(id) {
    const out = [];
    for (const a of S.alarms.values()) if (a.elevator === id) out.push(a);
    return out;
  }

  // none | minor | major | critical | critical-unack
  function alarmLevel(id) {
    let rank = 0;
    let unacked = false;
    for (const a of carAlarms(id)) {
      if (!isLive(a)) continue;
      rank = Math.max(rank, SEVERITY_RANK[a.severity] || 0);
      if (isCriticalUnacked(a)) unacked = true;
    }
    if (unacked) return 'critical-unack';
    return ['none', 'minor', 'major', 'critical'][rank];
  }

  function updateSound() {
    let on = false;
    for (const a of S.alarms.values()) if (isCriticalUnacked(a)) on = true;
    Sound.set(on);
  }

  // ---- rendering -----------------------------------------------------------

  function markDirty(what) {
    S.dirty.add(what);
    if (S.renderTimer) return;
    // Batches the bursts of events (one per car every 250 ms at most).
    S.renderTimer = setTimeout(() => {
      S.renderTimer = null;
      const d = S.dirty;
      S.dirty = new Set();
      if (!S.session) return;
      if (d.has('grid')) renderGrid();
      else for (const k of d) if (k.startsWith('tile:')) renderTile(k.slice(5));
      if (d.has('alarms')) renderAlarms();
      if (d.has('incidents')) renderIncidents();
      if (d.has('summary')) renderSummary();
    }, 40);
  }

  function renderAll() {
    if (!S.session) return;
    renderGrid();
    renderAlarms();
    renderIncidents();
    renderSummary();
    updateSound();
  }

  function renderSummary() {
    const cars = [...S.cars.values()];
    const online = cars.filter((c) => c.online).length;
    $('kpi-online').textContent = S.loaded ? `${online}/${cars.length}` : '–';
    $('kpi-online').dataset.alert = String(S.loaded && online < cars.length);
    const live = [...S.alarms.values()].filter(isLive).length;
    $('kpi-alarms').textContent = S.loaded ? String(live) : '–';
    $('kpi-alarms').dataset.alert = String(live > 0);
    $('kpi-incidents').textContent = S.loaded ? String(S.incidents.size) : '–';
    $('kpi-incidents').dataset.alert = String(S.incidents.size > 0);
    // The nav's live tab keeps the security room told while a records page
    // is open; the sound goes on regardless of the page.
    const unacked = [...S.alarms.values()].some(isCriticalUnacked);
    $('nav-live-count').textContent = S.loaded && live > 0 ? String(live) : '';
    $('nav-live-count').dataset.alert = String(unacked);
  }

  function carLabel(id) {
    const c = S.cars.get(id);
    return c ? (c.name || c.id) : id;
  }

  function renderGrid() {
    const root = $('buildings');
    if (!S.loaded) {
      root.replaceChildren();
      return;
    }
    const groups = new Map();
    for (const c of S.cars.values()) {
      const b = c.building || '';
      if (!groups.has(b)) groups.set(b, []);
      groups.get(b).push(c);
    }
    // Buildings and cars keep the configuration's order (the API's), which
    // the site chose; cars without a building come last.
    const names = [...groups.keys()].sort((a, b) => (a === '' ? 1 : 0) - (b === '' ? 1 : 0));
    const sections = names.map((b) => {
      const cars = groups.get(b);
      return h('section', { class: 'building', 'data-testid': 'building', 'data-building': b },
        h('h3', { class: 'building-head' },
          h('span', { class: 'building-name', 'data-testid': 'building-name' }, b || t('grid.nobuilding')),
          h('span', { class: 'building-count' }, t('grid.cars', { n: cars.length }))),
        h('div', { class: 'tiles' }, cars.map((c) => tileFor(c))));
    });
    if (sections.length === 0) sections.push(h('p', { class: 'empty' }, t('grid.empty')));
    root.replaceChildren(...sections);
  }

  function renderTile(id) {
    const c = S.cars.get(id);
    const old = document.querySelector(`[data-car="${CSS.escape(id)}"]`);
    if (!c || !old) {
      if (c) renderGrid();
      return;
    }
    old.replaceWith(tileFor(c));
  }

  const ARROW = { up: '▲', down: '▼', none: '' };

  function tileFor(c) {
    const level = alarmLevel(c.id);
    const live = carAlarms(c.id).filter(isLive)
      .sort((a, b) => (SEVERITY_RANK[b.severity] || 0) - (SEVERITY_RANK[a.severity] || 0));
    const floor = c.floor === null || c.floor === undefined ? t('tile.floor.unknown') : String(c.floor);
    const dir = c.direction || 'none';
    const occ = c.occupied === true ? 'occupied' : c.occupied === false ? 'empty' : 'unknown';
    const hasIncident = [...S.incidents.values()].some((i) => i.elevator === c.id);
    return h('article', {
      class: `tile tile--${level}${c.online ? '' : ' tile--offline'}`,
      'data-testid': `tile-${c.id}`,
      'data-car': c.id,
      'data-alarm': level,
      'data-online': String(!!c.online),
      'data-floor': c.floor === null || c.floor === undefined ? '' : String(c.floor),
      'data-mode': c.mode,
      'data-door': c.door,
      title: `${c.id} · ${c.name || ''}`,
    },
    h('header', { class: 'tile-head' },
      h('span', { class: `link-dot ${c.online ? 'link-dot--up' : 'link-dot--down'}`, 'aria-hidden': 'true' }),
      h('span', { class: 'tile-name', 'data-testid': 'tile-name' }, c.name || c.id),
      h('span', { class: 'tile-id' }, c.id)),
    h('div', { class: 'tile-body' },
      h('div', { class: `arrow arrow--${dir}${c.moving ? ' arrow--moving' : ''}`, 'aria-label': t(`dir.${dir}`), 'data-testid': 'tile-direction', 'data-direction': dir },
        ARROW[dir] || '', dir === 'none' ? h('span', { class: 'arrow-stop' }) : null),
      h('div', { class: 'floor', 'data-testid': 'tile-floor', 'aria-label': t('tile.floor') }, floor),
      h('div', { class: 'tile-badges' },
        h('span', { class: `badge mode mode--${c.mode}`, 'data-testid': 'tile-mode' }, t(`mode.${c.mode || 'unknown'}`)),
        c.online ? null : h('span', { class: 'badge badge--offline', 'data-testid': 'tile-offline' }, t('tile.offline')))),
    h('footer', { class: 'tile-foot' },
      h('span', { class: `door door--${c.door}`, 'data-testid': 'tile-door' }, h('span', { class: 'door-icon', 'aria-hidden': 'true' }), t(`door.${c.door || 'unknown'}`)),
      h('span', { class: `occ occ--${occ}`, 'data-testid': 'tile-occupied', 'data-occupied': occ },
        h('span', { class: 'occ-icon', 'aria-hidden': 'true' }),
        t(occ === 'occupied' ? 'tile.occupied' : occ === 'empty' ? 'tile.empty' : 'tile.occupied.unknown'))),
    live.length === 0 && !hasIncident ? null
      : h('div', { class: 'tile-alarms', 'data-testid': 'tile-alarms' },
        hasIncident ? h('span', { class: 'tile-rescue' }, t('incidents.title')) : null,
        live.map((a) => h('span', { class: `tile-alarm sev--${a.severity}` }, t(`type.${a.type}`)))));
  }

  function alarmTitle(a) {
    return `${t(`type.${a.type}`)} · ${carLabel(a.elevator)}`;
  }

  function renderAlarms() {
    const root = $('alarms');
    const list = [...S.alarms.values()].sort((a, b) => {
      const ka = (isCriticalUnacked(a) ? 100 : 0) + (isLive(a) ? 10 : 0) + (SEVERITY_RANK[a.severity] || 0);
      const kb = (isCriticalUnacked(b) ? 100 : 0) + (isLive(b) ? 10 : 0) + (SEVERITY_RANK[b.severity] || 0);
      if (ka !== kb) return kb - ka;
      return b.id - a.id;
    });
    $('alarms-count').textContent = S.loaded ? String(list.length) : '';
    if (!S.loaded) { root.replaceChildren(); return; }
    if (list.length === 0) {
      root.replaceChildren(h('p', { class: 'empty', 'data-testid': 'alarms-empty' }, t('alarms.empty')));
      return;
    }
    const role = S.session.role;
    root.replaceChildren(...list.map((a) => {
      const car = S.cars.get(a.elevator);
      const canAck = CAN_ACK.has(role) && !a.acked && a.state !== 'suppressed';
      const canShelve = CAN_SHELVE.has(role) && !NOT_SHELVABLE.has(a.type) &&
        a.state !== 'shelved' && a.state !== 'suppressed';
      return h('article', {
        class: `alarm sev--${a.severity} alarm--${a.state}${isCriticalUnacked(a) ? ' alarm--flash' : ''}`,
        'data-testid': `alarm-${a.id}`,
        'data-alarm-id': a.id,
        'data-type': a.type,
        'data-elevator': a.elevator,
        'data-state': a.state,
      },
      h('div', { class: 'alarm-main' },
        h('div', { class: 'alarm-line1' },
          h('span', { class: `sev-badge sev-badge--${a.severity}` }, t(`severity.${a.severity}`)),
          h('span', { class: 'alarm-type', 'data-testid': 'alarm-type' }, t(`type.${a.type}`)),
          h('span', { class: 'alarm-state', 'data-testid': 'alarm-state' }, t(`state.${a.state}`))),
        h('div', { class: 'alarm-line2' },
          h('span', { class: 'alarm-car' }, `${car ? car.name || car.id : a.elevator}${car && car.building ? ` · ${car.building}` : ''}`),
          h('span', { class: 'alarm-time' }, `${t('alarms.raised')} ${fmtTime(a.raised_at)}`),
          a.cleared_at ? h('span', { class: 'alarm-time' }, `${t('alarms.cleared')} ${fmtTime(a.cleared_at)}`) : null),
        a.message ? h('div', { class: 'alarm-msg' }, a.message) : null,
        a.acked && a.acked_by ? h('div', { class: 'alarm-meta' }, t('alarms.acked_by', { who: a.acked_by })) : null,
        a.shelved ? h('div', { class: 'alarm-meta' }, t('alarms.shelved_until', { until: fmtTime(a.shelved.until) })) : null),
      h('div', { class: 'alarm-actions' },
        canAck ? h('button', { class: 'btn btn--primary btn--small', type: 'button', 'data-testid': `ack-${a.id}`, onclick: () => askAck(a) }, t('alarms.ack')) : null,
        canShelve ? h('button', { class: 'btn btn--small', type: 'button', 'data-testid': `shelve-${a.id}`, onclick: () => askShelve(a) }, t('alarms.shelve')) : null));
    }));
  }

  // The steps that may come next (shared contract; the server decides).
  function nextSteps(i) {
    if (i.state !== 'open' || !CAN_STEP.has(S.session.role)) return [];
    const r = new Set(i.steps.map((s) => s.step));
    const contractor = S.session.role === 'contractor';
    const out = [];
    if (!r.has('acknowledged') && !r.has('released') && !contractor) out.push('acknowledged');
    if (r.has('dispatched') && !r.has('accepted')) out.push('accepted');
    if (r.has('accepted') && !r.has('on_site')) out.push('on_site');
    if (r.has('on_site') && r.has('acknowledged') && !r.has('released')) out.push('released');
    if (r.has('released') && !r.has('closed')) out.push('closed');
    if (!r.has('released')) out.push('false_alarm');
    return out;
  }

  function stepAt(i, step) {
    const s = i.steps.find((x) => x.step === step);
    return s ? s : null;
  }

  function renderIncidents() {
    const root = $('incidents');
    const list = [...S.incidents.values()].sort((a, b) => b.id - a.id);
    $('incidents-count').textContent = S.loaded && !S.incidentsError ? String(list.length) : '';
    if (!S.loaded) { root.replaceChildren(); return; }
    if (S.incidentsError && list.length === 0) {
      root.replaceChildren(h('p', { class: 'empty empty--warn', 'data-testid': 'incidents-unavailable' },
        t('incidents.unavailable', { why: S.incidentsError })));
      return;
    }
    if (list.length === 0) {
      root.replaceChildren(h('p', { class: 'empty', 'data-testid': 'incidents-empty' }, t('incidents.empty')));
      return;
    }
    root.replaceChildren(...list.map(incidentCard));
    tick();
  }

  function incidentCard(i) {
    const reached = new Map(i.steps.map((s) => [s.step, s]));
    const steps = reached.has('false_alarm')
      ? [...INCIDENT_STEPS.filter((s) => reached.has(s)), 'false_alarm'] : INCIDENT_STEPS;
    const over = new Set(i.over_target || []);
    const next = nextSteps(i);
    const accepted = stepAt(i, 'accepted');
    const openedMs = new Date(i.opened_at).getTime();
    const title = `${i.elevator_name || carLabel(i.elevator)}${i.building ? ` · ${i.building}` : ''}`;
    return h('article', {
      class: `incident${over.size ? ' incident--late' : ''}`,
      'data-testid': `incident-${i.id}`,
      'data-incident-id': i.id,
      'data-elevator': i.elevator,
      'data-step': i.step,
    },
    h('header', { class: 'incident-head' },
      h('div', {},
        h('div', { class: 'incident-title' }, title),
        h('div', { class: 'incident-sub' },
          t('incidents.number', { id: i.id }), ' · ', t('incidents.opened', { at: fmtTime(i.opened_at) }),
          i.alarm_id === null || i.alarm_id === undefined ? ` · ${t('incidents.by_hand')}` : '')),
      h('span', { class: `step-badge step-badge--${i.step}`, 'data-testid': 'incident-step' }, t(`step.${i.step}`))),
    h('ol', { class: 'stepper', 'data-testid': 'incident-steps' }, steps.map((s) => {
      const r = reached.get(s);
      const isNext = !r && next.includes(s);
      return h('li', {
        class: `stepper-item${r ? ' is-done' : ''}${isNext ? ' is-next' : ''}${s === 'false_alarm' ? ' is-false' : ''}`,
        'data-step': s,
        'data-done': String(!!r),
        title: r ? `${fmtTime(r.at)} · ${r.by}${r.note ? ` · ${r.note}` : ''}` : '',
      },
      h('span', { class: 'stepper-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'stepper-label' }, t(`step.${s}`)),
      h('span', { class: 'stepper-time' }, r ? fmtTime(r.at).slice(-8, -3) : ''));
    })),
    h('div', { class: 'timers' }, TIMED_STEPS.map((s) => {
      const targetMin = i.targets ? i.targets[`${s}_min`] : null;
      const r = reached.get(s);
      let doneS = null;
      if (r) {
        const e = i.elapsed ? i.elapsed[`${s}_s`] : null;
        doneS = e !== null && e !== undefined ? e : (new Date(r.at).getTime() - openedMs) / 1000;
      }
      return h('div', {
        class: `timer${r ? ' timer--done' : ''}${over.has(s) ? ' timer--over' : ''}`,
        'data-testid': `timer-${s}`,
        'data-timer': s,
        'data-opened': String(openedMs),
        'data-target-s': targetMin ? String(targetMin * 60) : '',
        'data-done-s': doneS === null ? '' : String(doneS),
        'data-over': String(over.has(s)),
      },
      h('span', { class: 'timer-label' }, t(`timer.${s}`)),
      h('span', { class: 'timer-value' }, doneS === null ? '' : fmtDuration(doneS)),
      h('span', { class: 'timer-target' }, targetMin ? t('timer.target', { min: targetMin }) : ''));
    })),
    accepted && i.eta_min ? h('div', { class: 'incident-eta', 'data-testid': 'incident-eta' },
      t('incidents.eta', {
        min: i.eta_min,
        at: fmtTime(new Date(new Date(accepted.at).getTime() + i.eta_min * 60000).toISOString()).slice(-8, -3),
      })) : null,
    i.steps.length ? h('div', { class: 'incident-last' }, (() => {
      const last = i.steps[i.steps.length - 1];
      return `${fmtTime(last.at)} ${t(`step.${last.step}`)} · ${last.by}${last.note ? ` · ${last.note}` : ''}`;
    })()) : null,
    next.length ? h('div', { class: 'incident-actions' }, next.map((s) => h('button', {
      class: `btn ${s === 'false_alarm' ? 'btn--ghost btn--danger' : 'btn--primary'} btn--step`,
      type: 'button',
      'data-testid': `step-${i.id}-${s}`,
      'data-step': s,
      onclick: () => askStep(i, s),
    }, t(`do.${s}`)))) : (CAN_STEP.has(S.session.role) ? null
      : h('div', { class: 'incident-readonly' }, t('incidents.readonly'))));
  }

  // Once a second: the clock and the incident timers. Nothing is fetched.
  function tick() {
    const now = new Date();
    $('clock').textContent = `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())} ${pad(now.getHours())}:${pad(now.getMinutes())}:${pad(now.getSeconds())}`;
    for (const el of document.querySelectorAll('.timer')) {
      if (el.dataset.doneS !== '') continue;
      const s = (now.getTime() - Number(el.dataset.opened)) / 1000;
      el.querySelector('.timer-value').textContent = fmtDuration(s);
      const target = Number(el.dataset.targetS || 0);
      const over = target > 0 && s > target;
      el.classList.toggle('timer--over', over || el.dataset.over === 'true');
      el.classList.toggle('timer--near', !over && target > 0 && s > target * 0.75);
      el.dataset.live = over ? 'over' : 'running';
    }
    for (const card of document.querySelectorAll('.incident')) {
      card.classList.toggle('incident--late', !!card.querySelector('.timer--over'));
    }
  }

  // ---- dialogs and actions -------------------------------------------------

  // fields: [{name, label, type: 'text'|'number'|'textarea'|'select', required, min, max, value, placeholder, options}]
  function ask(title, fields, submit) {
    const dlg = $('dialog');
    $('dialog-title').textContent = title;
    const err = $('dialog-error');
    err.hidden = true;
    const inputs = {};
    $('dialog-fields').replaceChildren(...fields.map((f) => {
      let input;
      if (f.type === 'textarea') {
        input = h('textarea', { name: f.name, rows: 3, placeholder: f.placeholder || '', 'data-testid': `dialog-${f.name}` });
      } else if (f.type === 'select') {
        input = h('select', { name: f.name, 'data-testid': `dialog-${f.name}` },
          f.options.map(([v, label]) => h('option', { value: v }, label)));
      } else {
        input = h('input', {
          name: f.name,
          type: f.type || 'text',
          inputmode: f.type === 'number' ? 'numeric' : null,
          min: f.min, max: f.max,
          placeholder: f.placeholder || '',
          'data-testid': `dialog-${f.name}`,
        });
      }
      if (f.value !== undefined) input.value = String(f.value);
      inputs[f.name] = input;
      return h('label', { class: 'field' }, h('span', {}, f.label), input);
    }));
    const confirm = $('dialog-confirm');
    confirm.disabled = false;
    $('dialog-form').onsubmit = async (ev) => {
      ev.preventDefault();
      const values = {};
      for (const f of fields) {
        const raw = inputs[f.name].value.trim();
        if (f.required && raw === '') { return fail(t('dialog.required'), inputs[f.name]); }
        if (f.type === 'number') {
          if (raw === '') continue;
          const n = Number(raw);
          if (!Number.isInteger(n) || n < f.min || n > f.max) {
            return fail(t('dialog.range', { min: f.min, max: f.max }), inputs[f.name]);
          }
          values[f.name] = n;
        } else if (raw !== '') {
          values[f.name] = raw;
        }
      }
      confirm.disabled = true;
      try {
        await submit(values);
        dlg.close();
        toast(t('toast.done'), 'ok');
      } catch (e) {
        fail(e.message);
      } finally {
        confirm.disabled = false;
      }
    };
    function fail(text, focus) {
      err.textContent = text;
      err.hidden = false;
      if (focus) focus.focus();
    }
    dlg.showModal();
    const first = fields.length ? inputs[fields[0].name] : confirm;
    first.focus();
  }

  function askAck(a) {
    ask(t('dialog.ack.title', { what: alarmTitle(a) }),
      [{ name: 'note', label: t('dialog.note'), type: 'textarea', placeholder: t('dialog.note.ack') }],
      async (v) => {
        const res = await api('POST', `/api/v1/alarms/${a.id}/ack`, v.note ? { note: v.note } : {});
        if (res && res.id !== undefined) upsertAlarm(res);
      });
  }

  function askShelve(a) {
    ask(t('dialog.shelve.title', { what: alarmTitle(a) }), [
      { name: 'minutes', label: t('dialog.minutes'), type: 'number', min: 1, max: 1440, value: 60, required: true },
      { name: 'reason', label: t('dialog.reason'), type: 'textarea', required: true },
    ], async (v) => {
      const res = await api('POST', `/api/v1/alarms/${a.id}/shelve`, { minutes: v.minutes, reason: v.reason });
      if (res && res.id !== undefined) upsertAlarm(res);
    });
  }

  function askStep(i, step) {
    const fields = [];
    if (step === 'accepted') fields.push({ name: 'eta_min', label: t('dialog.eta'), type: 'number', min: 1, max: 240, required: true, value: i.targets && i.targets.on_site_min ? Math.min(240, i.targets.on_site_min) : 30 });
    if (step === 'closed') fields.push({ name: 'cause', label: t('dialog.cause'), type: 'textarea', required: true });
    fields.push({ name: 'note', label: t('dialog.note'), type: 'textarea' });
    const car = i.elevator_name || carLabel(i.elevator);
    ask(t('dialog.step.title', { step: t(`do.${step}`), car }), fields, async (v) => {
      const body = { step };
      if (v.note) body.note = v.note;
      if (v.eta_min !== undefined) body.eta_min = v.eta_min;
      if (v.cause) body.cause = v.cause;
      const res = await api('POST', `/api/v1/incidents/${i.id}/steps`, body);
      if (res && res.id === i.id && Array.isArray(res.steps)) upsertIncident(res);
    });
  }

  function askNewIncident() {
    const cars = [...S.cars.values()].sort((a, b) => a.id.localeCompare(b.id, undefined, { numeric: true }));
    ask(t('dialog.new.title'), [
      { name: 'elevator', label: t('dialog.elevator'), type: 'select', options: cars.map((c) => [c.id, `${c.name || c.id}${c.building ? ` · ${c.building}` : ''}`]) },
      { name: 'note', label: t('dialog.note'), type: 'textarea' },
    ], async (v) => {
      const body = { elevator: v.elevator };
      if (v.note) body.note = v.note;
      const res = await api('POST', '/api/v1/incidents', body);
      if (res && res.id !== undefined && Array.isArray(res.steps)) upsertIncident(res);
    });
  }

  // ---- the records pages (records.js) ---------------------------------------

  // What records.js may use of this page: the same API client, words,
  // DOM builder, dialog and toasts, and the cars the live page knows.
  const Records = window.LG_RECORDS ? window.LG_RECORDS({
    api,
    t,
    h,
    ask,
    toast,
    session: () => S.session,
    cars: () => S.cars,
    // Before the stream's first load (a records page opened straight away).
    async loadCars() {
      const cars = await api('GET', '/api/v1/elevators');
      if (S.cars.size === 0) S.cars = new Map(cars.map((c) => [c.id, c]));
    },
    // A non-JSON answer (a report as CSV or HTML), with the token.
    async fetchRaw(path) {
      let res;
      try {
        res = await fetch(path, { headers: { Authorization: `Bearer ${S.session.token}` }, cache: 'no-store' });
      } catch (_) {
        throw new ApiError(0, 'network', t('login.network'));
      }
      if (!res.ok) {
        const data = await res.json().catch(() => null);
        const err = data && data.error ? data.error : {};
        if (res.status === 401 && S.session) signOut('login.expired');
        throw new ApiError(res.status, err.code, err.message || `HTTP ${res.status}`);
      }
      return res;
    },
  }) : null;

  // ---- start ---------------------------------------------------------------

  function init() {
    applyStaticText();
    $('login-form').addEventListener('submit', onLoginSubmit);
    for (const b of document.querySelectorAll('.lang-toggle')) {
      b.addEventListener('click', () => setLanguage(lang === 'zh' ? 'en' : 'zh'));
    }
    $('logout').addEventListener('click', () => signOut(null));
    $('dialog-cancel').addEventListener('click', () => $('dialog').close());
    $('incident-new').addEventListener('click', askNewIncident);
    $('sound-banner').addEventListener('click', () => Sound.unlock());
    $('nav').addEventListener('click', onNavClick);
    window.addEventListener('hashchange', () => showPage(pageFromHash()));
    window.addEventListener('popstate', () => showPage(pageFromHash()));
    // Any click is a gesture that may unlock the sound after a reload.
    document.addEventListener('pointerdown', () => { if (S.session && !Sound.running()) Sound.unlock(); });
    document.addEventListener('keydown', () => { if (S.session && !Sound.running()) Sound.unlock(); });
    tick();
    setInterval(tick, 1000);
    const saved = loadSession();
    if (saved) {
      S.session = saved;
      enterApp();
    } else {
      showLogin(null);
    }
  }

  init();
})();
