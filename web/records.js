// Liftguard records pages: maintenance (with the form a technician fills in
// on a phone), the inspection plan, certificates, drills, rectification
// tasks and reports. User docs: docs/dashboard.md "Records"; the API they
// call: docs/records.md.
//
// Loaded before app.js, which calls window.LG_RECORDS(ctx) once with its
// helpers (api, t, h, ask, toast, the session, the cars) and shows a page
// from here when the nav asks for it. A page loads its lists when it is
// opened, after each write and on 刷新 / Refresh: records change by hand a
// few times a day, so nothing here polls, and the live page's stream is left
// alone.
//
// Same rules as app.js: DOM calls only (names and notes come from users),
// no inline script or style (CSP), every word from i18n.js.
'use strict';

window.LG_RECORDS = (ctx) => {
  const { api, t, h, ask, toast } = ctx;
  const $ = (id) => document.getElementById(id);

  const ALL = ['operator', 'safety_manager', 'contractor', 'inspector', 'admin'];
  // Who sees which page: the read rules of docs/records.md, so nobody is
  // offered a page that would only answer 403.
  const PAGES = [
    { id: 'maintenance', roles: ALL },
    { id: 'inspections', roles: ALL },
    { id: 'certificates', roles: ['safety_manager', 'admin', 'inspector'] },
    { id: 'drills', roles: ['safety_manager', 'inspector'] },
    { id: 'rectifications', roles: ['safety_manager', 'contractor', 'inspector'] },
    { id: 'reports', roles: ['safety_manager', 'inspector', 'admin'] },
  ];
  const CAN = {
    writeMaintenance: ['contractor', 'safety_manager'],
    confirmMaintenance: ['safety_manager'],
    writeInspections: ['safety_manager'],
    closeRectifications: ['safety_manager', 'contractor'],
    writeCertificates: ['safety_manager', 'admin'],
    writeDrills: ['safety_manager'],
  };
  const KINDS = ['half_monthly', 'quarterly', 'half_yearly', 'annual', 'repair', 'emergency'];
  const PERIODIC = KINDS.slice(0, 4);
  const RESULTS = ['ok', 'adjusted', 'replaced', 'not_applicable', 'defect'];
  // The usual half-monthly items of TSG T5002 (the longer kinds add the last
  // three); the technician removes what does not apply.
  const STD_ITEMS = 12;
  const STD_ITEMS_LONG = 15;
  const EXPIRING_DAYS = 90;

  const role = () => (ctx.session() || {}).role;
  const can = (what) => CAN[what].includes(role());
  const pad = (n) => String(n).padStart(2, '0');

  const R = {
    page: null,
    seq: 0,
    data: {},        // page id -> what its load returned
    error: {},       // page id -> why it could not be loaded
    rectState: 'open',
    dueAll: false,     // the due table: every car, or those needing attention
    reportKind: 'month',
    reportPeriod: null,
    report: null,      // {key, data} of the report shown as a page
    reportError: null,
    form: null,      // the maintenance form, kept across re-renders
    highlight: null, // a maintenance record id to point at after a write
    highlightSeen: false,
  };

  // ---- small helpers -------------------------------------------------------

  function carName(id) {
    const c = ctx.cars().get(id);
    return c ? (c.name || c.id) : id;
  }

  function dateOf(d) {
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  function fmtDateTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return iso;
    return `${dateOf(d)} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function fmtHm(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? '' : `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  // 'YYYY-MM-DDTHH:MM' (a datetime-local input, the phone's own time) to
  // RFC 3339 with the phone's offset, as the API wants.
  function toRfc3339(value) {
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(value || '')) return null;
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) return null;
    const off = -d.getTimezoneOffset();
    const a = Math.abs(off);
    return `${dateOf(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}:00${off >= 0 ? '+' : '-'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  }

  function toLocalInput(d) {
    return `${dateOf(d)}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }

  function daysText(n) {
    if (n === null || n === undefined) return '';
    if (n < 0) return t('days.over', { n: -n });
    if (n === 0) return t('days.today');
    return t('days.left', { n });
  }

  // valid | expiring | expired, from the days left (certificates' colours).
  function expiryState(daysLeft) {
    if (daysLeft === null || daysLeft === undefined) return 'none';
    if (daysLeft < 0) return 'expired';
    if (daysLeft <= EXPIRING_DAYS) return 'expiring';
    return 'valid';
  }

  function badge(state, text, testid) {
    return h('span', { class: `st st--${state}`, 'data-state': state, 'data-testid': testid }, text);
  }

  function btn(text, onclick, props = {}) {
    return h('button', { class: `btn btn--small ${props.primary ? 'btn--primary' : ''}`, type: 'button', onclick, ...props.attrs }, text);
  }

  function emptyRow(cols, key) {
    return h('tr', {}, h('td', { class: 'rt-empty', colspan: cols }, t(key)));
  }

  // A table that becomes one card per row on a phone: each cell carries its
  // column's name for the phone layout (style.css .rtable).
  function table(cols, rows, props = {}) {
    return h('div', { class: 'table-wrap' },
      h('table', { class: `rtable ${props.class || ''}`, 'data-testid': props.testid },
        h('thead', {}, h('tr', {}, cols.map((c) => h('th', {}, c)))),
        h('tbody', {}, rows)));
  }

  function cell(label, content, props = {}) {
    return h('td', { 'data-label': label, ...props }, content);
  }

  function section(titleKey, body, actions, testid) {
    return h('section', { class: 'panel rpanel', 'data-testid': testid },
      h('div', { class: 'panel-head' }, h('h2', {}, t(titleKey)), actions ? h('div', { class: 'page-actions' }, actions) : null),
      h('div', { class: 'rpanel-body' }, body));
  }

  function dataOr(page, build) {
    if (R.error[page]) {
      return h('p', { class: 'empty empty--warn', 'data-testid': 'records-error' }, t('rec.unavailable', { why: R.error[page] }));
    }
    if (!R.data[page]) return h('p', { class: 'empty' }, t('rec.loading'));
    return build(R.data[page]);
  }

  // ---- loading and showing a page ----------------------------------------------

  const LOADERS = {
    async maintenance() {
      const [list, due] = await Promise.all([
        api('GET', '/api/v1/maintenance?limit=200'),
        api('GET', '/api/v1/maintenance/due'),
      ]);
      if (ctx.cars().size === 0) await ctx.loadCars();
      return { records: list.records || [], due: due.due || [], today: due.today };
    },
    async inspections() {
      const [plan, list] = await Promise.all([
        api('GET', '/api/v1/inspections/plan?days=365'),
        api('GET', '/api/v1/inspections?limit=100'),
      ]);
      return { plan: plan.plan || [], today: plan.today, inspections: list.inspections || [] };
    },
    async certificates() {
      return api('GET', '/api/v1/certificates');
    },
    async drills() {
      return api('GET', '/api/v1/drills');
    },
    async rectifications() {
      return api('GET', `/api/v1/rectifications?state=${encodeURIComponent(R.rectState)}`);
    },
    async reports() {
      return {};
    },
  };

  async function load(page) {
    const seq = ++R.seq;
    try {
      const data = await LOADERS[page]();
      if (seq !== R.seq || R.page !== page) return;
      R.data[page] = data;
      R.error[page] = null;
    } catch (e) {
      if (seq !== R.seq || R.page !== page || !ctx.session()) return;
      R.error[page] = e.message;
    }
    render();
  }

  function open(page) {
    R.page = page;
    R.highlight = null;
    render();
    load(page);
  }

  function render() {
    const root = $('records');
    if (!R.page || !ctx.session()) { root.replaceChildren(); return; }
    const build = RENDER[R.page];
    root.replaceChildren(h('div', { class: `page page--${R.page}`, 'data-testid': `page-${R.page}` }, build()));
    if (R.highlight) {
      // Marked until the page or the form is opened again; brought into
      // view once.
      const el = root.querySelector(`[data-record-id="${R.highlight}"]`);
      if (el) {
        el.classList.add('is-new');
        if (!R.highlightSeen) el.scrollIntoView({ block: 'center' });
        R.highlightSeen = true;
      }
    }
  }

  function pageHead(titleKey, subtitle, actions) {
    return h('div', { class: 'page-head' },
      h('div', {}, h('h2', { class: 'page-title' }, t(titleKey)), subtitle ? h('p', { class: 'page-sub muted' }, subtitle) : null),
      h('div', { class: 'page-actions' }, actions,
        btn(t('rec.refresh'), () => load(R.page), { attrs: { 'data-testid': 'records-refresh' } })));
  }

  // ---- maintenance ---------------------------------------------------------------

  function renderMaintenance() {
    const writer = can('writeMaintenance');
    const formHost = h('div', { class: 'form-host' });
    if (R.form && !R.form.el.hidden) formHost.append(R.form.el);
    return [
      pageHead('page.maintenance', t('mnt.subtitle'),
        writer ? h('button', { class: 'btn btn--primary', type: 'button', 'data-testid': 'mnt-new', onclick: () => openForm('new') }, t('mnt.new')) : null),
      formHost,
      section('mnt.due.title', dataOr('maintenance', renderDue), null, 'mnt-due'),
      section('mnt.list.title', dataOr('maintenance', renderRecordList), null, 'mnt-list'),
    ];
  }

  function renderDue(d) {
    const byCar = new Map();
    for (const r of d.due) {
      if (!byCar.has(r.elevator)) byCar.set(r.elevator, new Map());
      byCar.get(r.elevator).set(r.kind, r);
    }
    const all = [...byCar.entries()];
    // What needs attention; every car on request (a site has dozens).
    const attention = all.filter(([, kinds]) => [...kinds.values()].some((r) => r.state !== 'ok'));
    const shown = R.dueAll ? all : attention;
    const toggle = all.length > attention.length ? h('button', {
      class: 'btn btn--small', type: 'button', 'data-testid': 'due-toggle',
      onclick: () => { R.dueAll = !R.dueAll; render(); },
    }, R.dueAll ? t('mnt.due.attention') : t('mnt.due.all', { n: all.length })) : null;
    const rows = shown.map(([car, kinds]) => h('tr', { 'data-testid': `due-${car}` },
      cell(t('col.elevator'), h('span', { class: 'car-cell' }, carName(car), h('span', { class: 'car-id' }, car))),
      PERIODIC.map((k) => {
        const r = kinds.get(k);
        if (!r) return cell(t(`kind.${k}`), '–');
        return cell(t(`kind.${k}`), h('div', {
          class: `due-cell st-box st-box--${r.state}`,
          'data-testid': `due-${car}-${k}`,
          'data-state': r.state,
          title: `${t(`kind.${k}`)} · ${t('mnt.due.last')} ${r.last || '–'} (${t(`counted.${r.counted_from}`)})`,
        }, h('span', { class: 'due-date' }, r.due || '–'), h('span', { class: 'due-days' }, `${t(`due.${r.state}`)} · ${daysText(r.days_left)}`)));
      })));
    return h('div', {},
      h('div', { class: 'due-bar' }, legend(['ok', 'due_soon', 'overdue'], (s) => t(`due.${s}`)), toggle),
      rows.length ? table([t('col.elevator'), ...PERIODIC.map((k) => t(`kind.${k}`))], rows, { class: 'rtable--due', testid: 'due-table' })
        : h('p', { class: 'empty', 'data-testid': 'due-allok' }, all.length ? t('mnt.due.allok', { n: all.length }) : t('mnt.due.empty')));
  }

  function legend(states, label) {
    return h('div', { class: 'rlegend', 'aria-hidden': 'true' }, states.map((s) => h('span', { class: `rlegend-item st-dot--${s}` }, label(s))));
  }

  function renderRecordList(d) {
    if (!d.records.length) return h('p', { class: 'empty', 'data-testid': 'mnt-empty' }, t('mnt.list.empty'));
    const list = [...d.records].sort((a, b) => (b.started_at || '').localeCompare(a.started_at || '') || b.id - a.id);
    return h('div', { class: 'mrecs' }, list.map(recordCard));
  }

  function recordCard(m) {
    const writer = can('writeMaintenance');
    const state = m.amended_by ? 'amended' : m.confirmed ? 'confirmed' : 'unconfirmed';
    const counts = {};
    for (const i of m.items) counts[i.result] = (counts[i.result] || 0) + 1;
    const summary = RESULTS.filter((r) => counts[r]).map((r) => `${t(`result.${r}`)} ${counts[r]}`).join(' · ');
    return h('article', {
      class: `mrec mrec--${state}`,
      'data-testid': `mrec-${m.id}`,
      'data-record-id': m.id,
      'data-elevator': m.elevator,
      'data-state': state,
      'data-confirmed': String(!!m.confirmed),
    },
    h('header', { class: 'mrec-head' },
      h('span', { class: `kind-badge kind--${m.kind}` }, t(`kind.${m.kind}`)),
      h('span', { class: 'mrec-car' }, carName(m.elevator)),
      badge(state, state === 'confirmed' ? t('mnt.state.confirmed_by', { who: m.confirmed_by || '' })
        : state === 'amended' ? t('mnt.state.amended', { id: m.amended_by }) : t('mnt.state.unconfirmed'), 'mrec-state')),
    h('div', { class: 'mrec-meta' },
      h('span', { class: 'mono' }, `#${m.id}`),
      h('span', {}, `${m.date} ${fmtHm(m.started_at)}–${fmtHm(m.ended_at)}`),
      h('span', {}, t('mnt.by', { who: m.contractor })),
      m.amends ? h('span', { class: 'mrec-amends' }, t('mnt.amends', { id: m.amends })) : null),
    h('div', { class: 'mrec-line', 'data-testid': 'mrec-techs' },
      h('span', { class: 'mrec-label' }, t('mnt.technicians')),
      m.technicians.map((x) => h('span', { class: 'tech' }, x.name || '?', h('span', { class: 'mono muted' }, ` ${x.certificate}`)))),
    m.items.length ? h('details', { class: 'mrec-items' },
      h('summary', {}, t('mnt.items.summary', { n: m.items.length }), summary ? ` (${summary})` : ''),
      h('ul', {}, m.items.map((i) => h('li', { class: `item-result item-result--${i.result}` },
        h('span', {}, i.item), h('span', { class: 'item-res' }, t(`result.${i.result}`)), i.note ? h('span', { class: 'muted' }, i.note) : null)))) : null,
    m.parts.length ? h('div', { class: 'mrec-line' }, h('span', { class: 'mrec-label' }, t('mnt.parts')),
      m.parts.map((p) => `${p.name} ×${p.quantity}`).join('，')) : null,
    m.findings ? h('div', { class: 'mrec-line' }, h('span', { class: 'mrec-label' }, t('mnt.findings')), m.findings) : null,
    h('div', { class: 'mrec-actions' },
      can('confirmMaintenance') && !m.confirmed && !m.amended_by
        ? btn(t('mnt.confirm'), () => askConfirm(m), { primary: true, attrs: { 'data-testid': `mrec-confirm-${m.id}` } }) : null,
      writer && !m.confirmed && !m.amended_by
        ? btn(t('mnt.edit'), () => openForm('edit', m), { attrs: { 'data-testid': `mrec-edit-${m.id}` } }) : null,
      writer && m.confirmed && !m.amended_by
        ? btn(t('mnt.amend'), () => openForm('amend', m), { attrs: { 'data-testid': `mrec-amend-${m.id}` } }) : null));
  }

  function askConfirm(m) {
    ask(t('mnt.confirm.title', { id: m.id, car: carName(m.elevator), date: m.date }), [], async () => {
      const row = await api('POST', `/api/v1/maintenance/${m.id}/confirm`, {});
      replaceRecord(row);
    });
  }

  function replaceRecord(row) {
    const d = R.data.maintenance;
    if (!d || !row || row.id === undefined) return;
    const i = d.records.findIndex((x) => x.id === row.id);
    if (i >= 0) d.records[i] = row; else d.records.push(row);
    if (R.page === 'maintenance') render();
  }

  // ---- the maintenance form ------------------------------------------------------

  // A label whose words follow the language (app.js re-applies data-i18n).
  const L = (key) => h('span', { 'data-i18n': key }, t(key));
  const opt = (value, key) => h('option', { value, 'data-i18n': key }, t(key));

  function fieldError(slot) {
    return h('div', { class: 'field-error', 'data-error-for': slot, 'data-testid': `mnt-error-${slot}`, role: 'alert', hidden: true });
  }

  function buildForm() {
    const F = { mode: 'new', id: null, el: null, inputs: {}, lists: {} };
    const elevator = h('select', { name: 'elevator', 'data-testid': 'mnt-elevator', required: true });
    const kind = h('select', { name: 'kind', 'data-testid': 'mnt-kind' }, KINDS.map((k) => opt(k, `kind.${k}`)));
    const start = h('input', { name: 'started_at', type: 'datetime-local', 'data-testid': 'mnt-start', required: true });
    const end = h('input', { name: 'ended_at', type: 'datetime-local', 'data-testid': 'mnt-end', required: true });
    const findings = h('textarea', { name: 'findings', rows: 3, 'data-testid': 'mnt-findings', 'data-i18n-placeholder': 'mnt.findings.hint', placeholder: t('mnt.findings.hint') });
    const techs = h('div', { class: 'rowset', 'data-testid': 'mnt-techs' });
    const items = h('div', { class: 'rowset', 'data-testid': 'mnt-items' });
    const parts = h('div', { class: 'rowset', 'data-testid': 'mnt-parts' });
    const names = h('datalist', { id: 'mnt-tech-names' });
    Object.assign(F.inputs, { elevator, kind, start, end, findings });
    Object.assign(F.lists, { techs, items, parts, names });
    const title = h('h3', { class: 'mform-title', 'data-testid': 'mnt-form-title' });
    const general = h('div', { class: 'form-error', 'data-testid': 'mnt-error', role: 'alert', hidden: true });
    const submit = h('button', { class: 'btn btn--primary btn--block', type: 'submit', 'data-testid': 'mnt-submit', 'data-i18n': 'mnt.submit' }, t('mnt.submit'));
    F.title = title;
    F.general = general;
    F.submit = submit;

    kind.addEventListener('change', () => {
      // A periodic record lists its items: offer the usual ones while the
      // technician has not written any.
      const pristine = [...items.querySelectorAll('.item-name')].every((i) => i.value.trim() === '');
      if (pristine && PERIODIC.includes(kind.value)) fillStandardItems(F);
    });

    F.el = h('form', { class: 'panel mform', 'data-testid': 'mnt-form', novalidate: true, hidden: true },
      title,
      h('div', { class: 'mform-grid' },
        h('label', { class: 'field' }, L('mnt.elevator'), elevator, fieldError('elevator')),
        h('label', { class: 'field' }, L('mnt.kind'), kind, fieldError('kind')),
        h('label', { class: 'field' }, L('mnt.start'), start, fieldError('started_at')),
        h('label', { class: 'field' }, L('mnt.end'), end, fieldError('ended_at'))),
      h('fieldset', { class: 'mform-set' },
        h('legend', {}, L('mnt.technicians')),
        h('p', { class: 'hint muted' }, L('mnt.technicians.hint')),
        techs, fieldError('technicians'), names,
        h('button', { class: 'btn btn--small', type: 'button', 'data-testid': 'mnt-tech-add', onclick: () => addTech(F) }, L('mnt.tech.add'))),
      h('fieldset', { class: 'mform-set' },
        h('legend', {}, L('mnt.items')),
        items, fieldError('items'),
        h('div', { class: 'mform-row-buttons' },
          h('button', { class: 'btn btn--small', type: 'button', 'data-testid': 'mnt-item-add', onclick: () => addItem(F) }, L('mnt.item.add')),
          h('button', { class: 'btn btn--small', type: 'button', 'data-testid': 'mnt-item-std', onclick: () => fillStandardItems(F) }, L('mnt.item.std')),
          h('button', { class: 'btn btn--small', type: 'button', 'data-testid': 'mnt-item-allok', onclick: () => allOk(F) }, L('mnt.item.allok')))),
      h('fieldset', { class: 'mform-set' },
        h('legend', {}, L('mnt.parts')),
        parts, fieldError('parts'),
        h('button', { class: 'btn btn--small', type: 'button', 'data-testid': 'mnt-part-add', onclick: () => addPart(F) }, L('mnt.part.add'))),
      h('label', { class: 'field' }, L('mnt.findings'), findings, fieldError('findings')),
      general,
      h('div', { class: 'mform-buttons' },
        h('button', { class: 'btn btn--ghost', type: 'button', 'data-testid': 'mnt-cancel', 'data-i18n': 'dialog.cancel', onclick: () => closeForm() }, t('dialog.cancel')),
        submit));
    F.el.addEventListener('submit', (ev) => { ev.preventDefault(); submitForm(F); });
    // A message stays until what it is about is changed.
    const clearNear = (ev) => {
      const box = ev.target.closest('.rrow, .field');
      if (!box) return;
      for (const el of box.querySelectorAll('.field-error')) { el.hidden = true; el.textContent = ''; }
      for (const el of [box, ...box.querySelectorAll('.is-invalid')]) { el.classList.remove('is-invalid'); el.removeAttribute('aria-invalid'); }
    };
    F.el.addEventListener('input', clearNear);
    F.el.addEventListener('change', clearNear);
    return F;
  }

  function removeButton(row, testid) {
    return h('button', {
      class: 'btn btn--ghost btn--small row-remove', type: 'button', 'data-testid': testid,
      'aria-label': t('mnt.remove'), 'data-i18n-title': 'mnt.remove', title: t('mnt.remove'),
      onclick: () => { const set = row.parentNode; row.remove(); renumber(set); },
    }, '×');
  }

  // Rows are numbered as the API counts them (technicians[0], items[2]), so
  // its messages land next to the right row.
  function renumber(set) {
    [...set.children].forEach((row, i) => {
      row.dataset.index = String(i);
      for (const el of row.querySelectorAll('[data-testid]')) {
        el.dataset.testid = el.dataset.testid.replace(/-\d+$/, `-${i}`);
      }
      const n = row.querySelector('.row-no');
      if (n) n.textContent = String(i + 1);
    });
  }

  function addTech(F, value = {}) {
    const set = F.lists.techs;
    const i = set.children.length;
    const name = h('input', { class: 'tech-name', name: 'tech-name', list: 'mnt-tech-names', autocomplete: 'off', 'data-testid': `mnt-tech-name-${i}`, 'data-i18n-placeholder': 'mnt.tech.name', placeholder: t('mnt.tech.name') });
    const cert = h('input', { class: 'tech-cert', name: 'tech-cert', autocapitalize: 'characters', spellcheck: 'false', autocomplete: 'off', 'data-testid': `mnt-tech-cert-${i}`, 'data-i18n-placeholder': 'mnt.tech.cert', placeholder: t('mnt.tech.cert') });
    name.value = value.name || '';
    cert.value = value.certificate || '';
    // A name used before brings its certificate number with it.
    name.addEventListener('change', () => {
      const known = knownTechs().get(name.value.trim());
      if (known && !cert.value.trim()) cert.value = known;
    });
    const row = h('div', { class: 'rrow rrow--tech', 'data-index': i });
    row.append(h('span', { class: 'row-no' }, String(i + 1)), name, cert, removeButton(row, `mnt-tech-remove-${i}`),
      h('div', { class: 'field-error row-error', 'data-testid': `mnt-tech-error-${i}`, role: 'alert', hidden: true }));
    set.append(row);
    return row;
  }

  function addItem(F, value = {}) {
    const set = F.lists.items;
    const i = set.children.length;
    const item = h('input', { class: 'item-name', name: 'item', 'data-testid': `mnt-item-${i}`, 'data-i18n-placeholder': 'mnt.item.name', placeholder: t('mnt.item.name') });
    const result = h('select', { class: 'item-result-sel', name: 'result', 'data-testid': `mnt-item-result-${i}` },
      opt('', 'mnt.item.choose'), RESULTS.map((r) => opt(r, `result.${r}`)));
    const note = h('input', { class: 'item-note', name: 'note', 'data-testid': `mnt-item-note-${i}`, 'data-i18n-placeholder': 'mnt.item.note', placeholder: t('mnt.item.note') });
    item.value = value.item || '';
    result.value = value.result || '';
    note.value = value.note || '';
    const mark = () => { result.dataset.result = result.value; };
    result.addEventListener('change', mark);
    mark();
    const row = h('div', { class: 'rrow rrow--item', 'data-index': i });
    row.append(h('span', { class: 'row-no' }, String(i + 1)), item, result, note, removeButton(row, `mnt-item-remove-${i}`),
      h('div', { class: 'field-error row-error', 'data-testid': `mnt-item-error-${i}`, role: 'alert', hidden: true }));
    set.append(row);
    return row;
  }

  function addPart(F, value = {}) {
    const set = F.lists.parts;
    const i = set.children.length;
    const name = h('input', { class: 'part-name', name: 'part', 'data-testid': `mnt-part-${i}`, 'data-i18n-placeholder': 'mnt.part.name', placeholder: t('mnt.part.name') });
    const qty = h('input', { class: 'part-qty', name: 'quantity', type: 'number', inputmode: 'numeric', min: 1, max: 999, 'data-testid': `mnt-part-qty-${i}` });
    name.value = value.name || '';
    qty.value = String(value.quantity || 1);
    const row = h('div', { class: 'rrow rrow--part', 'data-index': i });
    row.append(h('span', { class: 'row-no' }, String(i + 1)), name, qty, removeButton(row, `mnt-part-remove-${i}`),
      h('div', { class: 'field-error row-error', 'data-testid': `mnt-part-error-${i}`, role: 'alert', hidden: true }));
    set.append(row);
    return row;
  }

  function fillStandardItems(F) {
    const n = F.inputs.kind.value === 'half_monthly' ? STD_ITEMS : STD_ITEMS_LONG;
    const have = new Set([...F.lists.items.querySelectorAll('.item-name')].map((i) => i.value.trim()));
    for (const row of [...F.lists.items.children]) {
      if (!row.querySelector('.item-name').value.trim()) row.remove();
    }
    for (let k = 1; k <= n; k++) {
      const text = t(`mnt.std.${k}`);
      if (!have.has(text)) addItem(F, { item: text });
    }
    renumber(F.lists.items);
  }

  function allOk(F) {
    for (const sel of F.lists.items.querySelectorAll('.item-result-sel')) {
      const name = sel.parentNode.querySelector('.item-name').value.trim();
      if (name && !sel.value) {
        sel.value = 'ok';
        sel.dataset.result = 'ok';
      }
    }
  }

  function knownTechs() {
    const out = new Map();
    const d = R.data.maintenance;
    if (d) for (const m of d.records) for (const x of m.technicians) if (x.name) out.set(x.name, x.certificate);
    return out;
  }

  function fillElevators(F, current) {
    const cars = [...ctx.cars().values()];
    const sel = F.inputs.elevator;
    const opts = [h('option', { value: '', 'data-i18n': 'mnt.elevator.choose' }, t('mnt.elevator.choose'))];
    let buildingGroup = null;
    let lastBuilding;
    for (const c of cars) {
      const b = c.building || '';
      if (b !== lastBuilding) {
        buildingGroup = b ? h('optgroup', { label: b }) : null;
        if (buildingGroup) opts.push(buildingGroup);
        lastBuilding = b;
      }
      const o = h('option', { value: c.id }, `${c.name || c.id} (${c.id})`);
      if (buildingGroup) buildingGroup.append(o); else opts.push(o);
    }
    if (current && !cars.some((c) => c.id === current)) opts.push(h('option', { value: current }, current));
    sel.replaceChildren(...opts);
    sel.value = current || (cars.length === 1 ? cars[0].id : '');
  }

  async function openForm(mode, m) {
    if (!R.form) R.form = buildForm();
    const F = R.form;
    if (ctx.cars().size === 0) {
      try { await ctx.loadCars(); } catch (e) { toast(t('toast.error', { why: e.message }), 'error'); }
    }
    F.mode = mode;
    F.id = m ? m.id : null;
    R.highlight = null;
    clearErrors(F);
    F.title.replaceChildren(L(`mnt.form.${mode}`), mode === 'new' ? '' : ` #${F.id}`);
    F.el.dataset.mode = mode;
    for (const k of ['techs', 'items', 'parts']) F.lists[k].replaceChildren();
    F.lists.names.replaceChildren(...[...knownTechs().keys()].map((n) => h('option', { value: n })));
    if (m) {
      fillElevators(F, m.elevator);
      F.inputs.kind.value = m.kind;
      F.inputs.start.value = toLocalInput(new Date(m.started_at));
      F.inputs.end.value = toLocalInput(new Date(m.ended_at));
      F.inputs.findings.value = m.findings || '';
      m.technicians.forEach((x) => addTech(F, x));
      m.items.forEach((x) => addItem(F, x));
      m.parts.forEach((x) => addPart(F, x));
    } else {
      fillElevators(F, '');
      F.inputs.kind.value = 'half_monthly';
      // An hour's visit that ends now: the usual case is filling the form
      // on site, just after the work.
      const now = new Date();
      now.setSeconds(0, 0);
      F.inputs.end.value = toLocalInput(now);
      F.inputs.start.value = toLocalInput(new Date(now.getTime() - 3600 * 1000));
      F.inputs.findings.value = '';
      addTech(F);
      fillStandardItems(F);
    }
    if (!m || !m.technicians.length) { if (!F.lists.techs.children.length) addTech(F); }
    F.el.hidden = false;
    // Elevator and kind of an edit or amendment stay what they were (the
    // API refuses to move a record to another car).
    F.inputs.elevator.disabled = mode !== 'new';
    render();
    F.el.scrollIntoView({ block: 'start' });
    (mode === 'new' ? F.inputs.elevator : F.inputs.start).focus({ preventScroll: true });
  }

  function closeForm() {
    if (!R.form) return;
    R.form.el.hidden = true;
    clearErrors(R.form);
    render();
  }

  function clearErrors(F) {
    for (const el of F.el.querySelectorAll('.field-error, .form-error')) { el.hidden = true; el.textContent = ''; }
    for (const el of F.el.querySelectorAll('.is-invalid')) { el.classList.remove('is-invalid'); el.removeAttribute('aria-invalid'); }
  }

  // Where a message of the API belongs. Its messages name the field:
  // `field "technicians"[0] (Li Wei): ...`, `field "items[2].result" ...`,
  // `field "started_at" (...) is in the future ...`.
  function fieldOfMessage(msg) {
    const m = /field "([a-z_]+)(?:\[(\d+)\](?:\.([a-z_]+))?)?"(?:\[(\d+)\])?/.exec(msg || '');
    if (!m) return null;
    const index = m[2] !== undefined ? m[2] : m[4];
    return { name: m[1], index: index === undefined ? null : Number(index), sub: m[3] || null };
  }

  function showError(F, where, text) {
    let slot = null;
    let focus = null;
    if (where) {
      const { name, index, sub } = where;
      const set = { technicians: 'techs', items: 'items', parts: 'parts' }[name];
      const row = set && index !== null && index !== undefined ? F.lists[set].children[index] : null;
      if (row) {
        slot = row.querySelector('.row-error');
        row.classList.add('is-invalid');
        // What in the row is wrong: a technician's certificate is what the
        // API checks; an item's result or note, a part's quantity when named.
        const says = (w) => sub === w || text.includes(`"${w}"`);
        if (name === 'technicians') focus = row.querySelector(says('name') && !says('certificate') && !/certificate/.test(text) ? '.tech-name' : '.tech-cert');
        else if (name === 'items') focus = row.querySelector(says('result') ? '.item-result-sel' : says('note') ? '.item-note' : '.item-name');
        else focus = row.querySelector(says('quantity') ? '.part-qty' : '.part-name');
      } else if (set) {
        slot = F.el.querySelector(`[data-error-for="${name}"]`);
      } else {
        // The contractor is the user's own or the car's: what the person
        // chose that decides it is the elevator.
        const key = name === 'contractor' ? 'elevator' : name;
        slot = F.el.querySelector(`[data-error-for="${key}"]`);
        focus = { elevator: F.inputs.elevator, kind: F.inputs.kind, started_at: F.inputs.start, ended_at: F.inputs.end, findings: F.inputs.findings }[key] || null;
      }
    }
    if (!slot) slot = F.general;
    // Next to its field the API's `field "technicians"[0] (Li Wei): ` says
    // nothing the place does not: the rest is the reason.
    slot.textContent = slot === F.general ? text
      : text.replace(/^field "[^"]+"(?:\[\d+\])?\s*/, '').replace(/^\(([^)]*)\)\s*:/, '$1:').replace(/^:\s*/, '');
    slot.title = text;
    slot.hidden = false;
    if (focus) {
      focus.classList.add('is-invalid');
      focus.setAttribute('aria-invalid', 'true');
    }
    (focus || slot).scrollIntoView({ block: 'center' });
    if (focus) focus.focus({ preventScroll: true });
  }

  // The record as the API wants it, or [where, message] of the first thing
  // missing (the API checks the rest and says what it refuses).
  function collect(F) {
    const v = F.inputs;
    if (!v.elevator.value) return { error: [{ name: 'elevator' }, t('mnt.need.elevator')] };
    const started = toRfc3339(v.start.value);
    if (!started) return { error: [{ name: 'started_at' }, t('mnt.need.time')] };
    const ended = toRfc3339(v.end.value);
    if (!ended) return { error: [{ name: 'ended_at' }, t('mnt.need.time')] };
    const technicians = [];
    const techRows = [...F.lists.techs.children];
    for (const [i, row] of techRows.entries()) {
      const name = row.querySelector('.tech-name').value.trim();
      const certificate = row.querySelector('.tech-cert').value.trim();
      if (!name && !certificate) continue;
      if (!certificate) return { error: [{ name: 'technicians', index: i, sub: 'certificate' }, t('mnt.need.cert')] };
      technicians.push({ name, certificate });
    }
    if (!technicians.length) {
      return { error: [techRows.length ? { name: 'technicians', index: 0, sub: 'certificate' } : { name: 'technicians' }, t('mnt.need.tech')] };
    }
    // Rows without anything in them are left out; the others are sent with
    // their position renumbered, so the API's index is the row's.
    const items = [];
    for (const row of [...F.lists.items.children]) {
      const item = row.querySelector('.item-name').value.trim();
      const result = row.querySelector('.item-result-sel').value;
      const note = row.querySelector('.item-note').value.trim();
      if (!item && !note && !result) { row.remove(); continue; }
      items.push({ row, body: { item, result, ...(note ? { note } : {}) } });
    }
    renumber(F.lists.items);
    for (const [i, x] of items.entries()) {
      if (!x.body.item) return { error: [{ name: 'items', index: i }, t('mnt.need.item')] };
      if (!x.body.result) return { error: [{ name: 'items', index: i, sub: 'result' }, t('mnt.need.result')] };
    }
    const parts = [];
    for (const row of [...F.lists.parts.children]) {
      const name = row.querySelector('.part-name').value.trim();
      if (!name) { row.remove(); continue; }
      const q = Number(row.querySelector('.part-qty').value || '1');
      if (!Number.isInteger(q) || q < 1) return { error: [{ name: 'parts', index: parts.length, sub: 'quantity' }, t('dialog.range', { min: 1, max: 999 })] };
      parts.push({ name, quantity: q });
    }
    renumber(F.lists.parts);
    const body = {
      elevator: v.elevator.value,
      kind: v.kind.value,
      started_at: started,
      ended_at: ended,
      technicians,
      items: items.map((x) => x.body),
      parts,
    };
    const findings = v.findings.value.trim();
    if (findings) body.findings = findings;
    return { body };
  }

  async function submitForm(F) {
    clearErrors(F);
    const { body, error } = collect(F);
    if (error) { showError(F, error[0], error[1]); return; }
    const path = F.mode === 'edit' ? `/api/v1/maintenance/${F.id}`
      : F.mode === 'amend' ? `/api/v1/maintenance/${F.id}/amend` : '/api/v1/maintenance';
    F.submit.disabled = true;
    F.submit.textContent = t('mnt.submitting');
    try {
      const row = await api(F.mode === 'edit' ? 'PUT' : 'POST', path, body);
      F.el.hidden = true;
      toast(t('mnt.saved', { id: row.id }), 'ok');
      R.highlight = row.id;
      R.highlightSeen = false;
      if (R.data.maintenance) {
        if (F.mode === 'amend') {
          const old = R.data.maintenance.records.find((x) => x.id === F.id);
          if (old) old.amended_by = row.id;
        }
        replaceRecord(row);
      }
      load('maintenance');
    } catch (e) {
      showError(F, fieldOfMessage(e.message), e.message);
    } finally {
      F.submit.disabled = false;
      F.submit.textContent = t('mnt.submit');
    }
  }

  // ---- inspections ----------------------------------------------------------------

  function monthIndex(iso) {
    const [y, m] = iso.split('-').map(Number);
    return y * 12 + (m - 1);
  }

  function renderInspections() {
    return [
      pageHead('page.inspections', t('insp.subtitle'), null),
      section('insp.plan.title', dataOr('inspections', renderPlan), null, 'insp-plan'),
      section('insp.history.title', dataOr('inspections', renderInspectionList), null, 'insp-history'),
    ];
  }

  function renderPlan(d) {
    const today = d.today || dateOf(new Date());
    const first = monthIndex(today);
    let last = first + 11;
    let earlier = false;
    for (const p of d.plan) {
      for (const it of p.items) {
        const k = monthIndex(it.due);
        if (k < first) earlier = true;
        if (k > last) last = k;
      }
    }
    const months = [];
    for (let k = first; k <= last; k++) months.push(k);
    const monthLabel = (k) => t('insp.month', { y: Math.floor(k / 12), m: (k % 12) + 1 });
    const writer = can('writeInspections');
    const rows = d.plan.map((p) => {
      const byMonth = new Map();
      for (const it of p.items) {
        const k = Math.max(monthIndex(it.due), earlier ? first - 1 : first);
        if (!byMonth.has(k)) byMonth.set(k, []);
        byMonth.get(k).push(it);
      }
      const mark = p.mark_expires ? expiryState(daysBetween(today, p.mark_expires)) : 'none';
      const cols = [];
      if (earlier) cols.push(first - 1);
      cols.push(...months);
      return h('tr', { 'data-testid': `plan-${p.elevator}`, 'data-elevator': p.elevator },
        cell(t('col.elevator'), h('div', { class: 'plan-car' },
          h('span', { class: 'car-cell' }, p.name || carName(p.elevator), h('span', { class: 'car-id' }, p.elevator)),
          p.first_use ? h('span', { class: 'muted small' }, t('insp.first_use', { d: p.first_use })) : null,
          p.note && !p.items.length ? h('span', { class: 'muted small' }, p.note) : null,
          writer ? h('div', { class: 'plan-actions' },
            btn(t('insp.plan.agree'), () => askPlan(p), { attrs: { 'data-testid': `insp-agree-${p.elevator}` } }),
            btn(t('insp.record'), () => askInspection(p), { attrs: { 'data-testid': `insp-record-${p.elevator}` } })) : null), { class: 'plan-carcol' }),
        cell(t('insp.mark'), p.mark_expires
          ? h('span', { class: `st st--${mark}`, 'data-state': mark, 'data-testid': `plan-mark-${p.elevator}` }, p.mark_expires)
          : h('span', { class: 'muted' }, '–')),
        cols.map((k) => {
          const its = byMonth.get(k) || [];
          return cell(k < first ? t('insp.earlier') : monthLabel(k), its.map((it) => h('span', {
            class: `chip plan--${it.state}`,
            'data-testid': `plan-${p.elevator}-${it.due}`,
            'data-state': it.state,
            'data-kind': it.kind,
            title: planTitle(it),
          }, h('span', { class: 'chip-kind' }, t(`check.${it.kind}.short`)),
          // A miss from before this month shows its year.
          ` ${k < first ? it.due : it.due.slice(5)}`,
          h('span', { class: 'chip-state' }, t(`plan.${it.state}`),
            it.state === 'planned' && it.agreed_date ? ` ${it.agreed_date.slice(5)}` : '',
            it.state === 'done' && it.done_on ? ` ${it.done_on.slice(5)}` : ''))), { class: its.length ? 'plan-cell has-items' : 'plan-cell' });
        }));
    });
    const head = [t('col.elevator'), t('insp.mark'), ...(earlier ? [t('insp.earlier')] : []), ...months.map(monthLabel)];
    return h('div', {},
      legend(['upcoming', 'due_soon', 'planned', 'overdue', 'done'], (s) => t(`plan.${s}`)),
      table(head, rows.length ? rows : emptyRow(head.length, 'insp.plan.empty'), { class: 'rtable--plan', testid: 'plan-table' }),
      h('p', { class: 'hint muted' }, t('insp.plan.hint')));
  }

  function planTitle(it) {
    const parts = [t('insp.year', { n: it.year }), t(`check.${it.kind}`), `${t('insp.due')} ${it.due}`, `${t('insp.window')} ${it.window_start}`];
    if (it.agreed_date) parts.push(`${t('insp.agreed')} ${it.agreed_date}`);
    if (it.done_on) parts.push(`${t('insp.done_on')} ${it.done_on}`);
    return parts.join(' · ');
  }

  function daysBetween(a, b) {
    const da = Date.UTC(...a.split('-').map((x, i) => Number(x) - (i === 1 ? 1 : 0)));
    const db = Date.UTC(...b.split('-').map((x, i) => Number(x) - (i === 1 ? 1 : 0)));
    return Math.round((db - da) / 86400000);
  }

  function renderInspectionList(d) {
    // Newest entry first: a planned date lies ahead, a result behind.
    const list = [...d.inspections].sort((a, b) => b.id - a.id);
    const rows = list.map((i) => h('tr', { 'data-testid': `insp-${i.id}`, 'data-record-id': i.id },
      cell(t('col.elevator'), carName(i.elevator)),
      cell(t('insp.col.kind'), i.kind ? t(`check.${i.kind}`) : '–'),
      cell(t('insp.col.date'), i.state === 'planned' ? `${t('insp.agreed')} ${i.agreed_date || ''}` : i.date || ''),
      cell(t('insp.col.result'), i.result ? badge(i.result === 'fail' ? 'overdue' : i.result === 'pass' ? 'done' : 'due_soon', t(`insp.result.${i.result}`))
        : badge('planned', t(`plan.${i.state}`) || i.state)),
      cell(t('insp.col.next'), i.next_due || '–'),
      cell(t('insp.col.agency'), [i.agency, i.report_number].filter(Boolean).join(' · ') || '–'),
      cell(t('insp.col.items'), i.items.length ? i.items.map((x) => x.item).join('；') : '–')));
    return table([t('col.elevator'), t('insp.col.kind'), t('insp.col.date'), t('insp.col.result'), t('insp.col.next'), t('insp.col.agency'), t('insp.col.items')],
      rows.length ? rows : emptyRow(7, 'insp.history.empty'), { testid: 'insp-table' });
  }

  function askPlan(p) {
    ask(t('insp.plan.title.dialog', { car: p.name || carName(p.elevator) }), [
      { name: 'agreed_date', label: t('insp.agreed_date'), type: 'date', required: true },
      { name: 'note', label: t('dialog.note'), type: 'textarea' },
    ], async (v) => {
      await api('POST', '/api/v1/inspections', { elevator: p.elevator, state: 'planned', agreed_date: v.agreed_date, ...(v.note ? { note: v.note } : {}) });
      load('inspections');
    });
  }

  function askInspection(p) {
    ask(t('insp.record.title', { car: p.name || carName(p.elevator) }), [
      { name: 'kind', label: t('insp.col.kind'), type: 'select', options: [['', t('insp.kind.auto')], ['inspection', t('check.inspection')], ['self_test', t('check.self_test')]] },
      { name: 'date', label: t('insp.date'), type: 'date', required: true, value: dateOf(new Date()) },
      { name: 'result', label: t('insp.col.result'), type: 'select', options: ['pass', 'pass_with_rectification', 'fail'].map((r) => [r, t(`insp.result.${r}`)]) },
      { name: 'next_due', label: t('insp.next_due'), type: 'date' },
      { name: 'agency', label: t('insp.agency'), type: 'text' },
      { name: 'report_number', label: t('insp.report_number'), type: 'text' },
      { name: 'items', label: t('insp.items'), type: 'textarea', placeholder: t('insp.items.hint') },
      { name: 'rectify_by', label: t('insp.rectify_by'), type: 'date' },
    ], async (v) => {
      const body = { elevator: p.elevator, state: 'done', date: v.date, result: v.result };
      for (const k of ['kind', 'next_due', 'agency', 'report_number', 'rectify_by']) if (v[k]) body[k] = v[k];
      const items = (v.items || '').split('\n').map((s) => s.trim()).filter(Boolean);
      if (items.length) body.items = items.map((item) => ({ item }));
      await api('POST', '/api/v1/inspections', body);
      load('inspections');
    });
  }

  // ---- certificates -----------------------------------------------------------------

  function renderCertificates() {
    const writer = can('writeCertificates');
    return [
      pageHead('page.certificates', t('cert.subtitle'), writer ? [
        h('button', { class: 'btn btn--primary btn--small', type: 'button', 'data-testid': 'cert-add-person', onclick: askPersonCert }, t('cert.add.person')),
        h('button', { class: 'btn btn--small', type: 'button', 'data-testid': 'cert-add-elevator', onclick: askElevatorCert }, t('cert.add.elevator')),
      ] : null),
      section('cert.people.title', dataOr('certificates', renderPeopleCerts), null, 'cert-people'),
      section('cert.elevators.title', dataOr('certificates', renderElevatorCerts), null, 'cert-elevators'),
    ];
  }

  function renderPeopleCerts(d) {
    const list = [...(d.personnel || [])].sort((a, b) => (b.current - a.current) || a.expires.localeCompare(b.expires));
    const rows = list.map((c) => {
      const st = c.state === 'valid' || c.state === 'expiring' || c.state === 'expired' ? c.state : expiryState(c.days_left);
      return h('tr', { class: `cert cert--${st}${c.current ? '' : ' cert--old'}`, 'data-testid': `cert-${c.id}`, 'data-number': c.number, 'data-state': st },
        cell(t('cert.col.holder'), c.holder),
        cell(t('cert.col.unit'), c.holder_contractor || t('cert.own_unit')),
        cell(t('cert.col.category'), t(`cert.cat.${c.category}`)),
        cell(t('cert.col.number'), h('span', { class: 'mono' }, c.number)),
        cell(t('cert.col.issued'), c.issued),
        cell(t('cert.col.expires'), h('span', { class: 'mono' }, c.expires)),
        cell(t('cert.col.state'), [badge(st, `${t(`cert.state.${st}`)} · ${daysText(c.days_left)}`, `cert-state-${c.id}`),
          c.current ? null : h('span', { class: 'muted small' }, ` ${t('cert.renewed')}`)]));
    });
    return h('div', {},
      legend(['valid', 'expiring', 'expired'], (s) => t(`cert.legend.${s}`)),
      table([t('cert.col.holder'), t('cert.col.unit'), t('cert.col.category'), t('cert.col.number'), t('cert.col.issued'), t('cert.col.expires'), t('cert.col.state')],
        rows.length ? rows : emptyRow(7, 'cert.people.empty'), { testid: 'cert-people-table' }));
  }

  function renderElevatorCerts(d) {
    const list = [...(d.elevators || [])].sort((a, b) => a.elevator.localeCompare(b.elevator, undefined, { numeric: true }) || a.kind.localeCompare(b.kind));
    const rows = list.map((c) => {
      const st = c.kind === 'use_registration' ? 'none' : expiryState(c.days_left);
      return h('tr', { class: `cert cert--${st}`, 'data-testid': `ecert-${c.id}`, 'data-state': st, 'data-kind': c.kind },
        cell(t('col.elevator'), carName(c.elevator)),
        cell(t('cert.col.kind'), t(`cert.kind.${c.kind}`)),
        cell(t('cert.col.number'), h('span', { class: 'mono' }, [c.number, c.registration_code].filter(Boolean).join(' · ') || '–')),
        cell(t('cert.col.issued'), c.issued || '–'),
        cell(t('cert.col.expires'), c.expires || '–'),
        cell(t('cert.col.state'), st === 'none' ? h('span', { class: 'muted' }, t('cert.no_expiry'))
          : badge(st, `${t(`cert.state.${st}`)} · ${daysText(c.days_left)}`, `ecert-state-${c.id}`)));
    });
    return table([t('col.elevator'), t('cert.col.kind'), t('cert.col.number'), t('cert.col.issued'), t('cert.col.expires'), t('cert.col.state')],
      rows.length ? rows : emptyRow(6, 'cert.elevators.empty'), { testid: 'cert-elevators-table' });
  }

  function askPersonCert() {
    ask(t('cert.add.person'), [
      { name: 'holder', label: t('cert.col.holder'), required: true },
      { name: 'holder_contractor', label: t('cert.holder_contractor'), placeholder: t('cert.holder_contractor.hint') },
      { name: 'category', label: t('cert.col.category'), type: 'select', options: ['T', 'A', 'other'].map((c) => [c, t(`cert.cat.${c}`)]) },
      { name: 'number', label: t('cert.col.number'), required: true },
      { name: 'issued', label: t('cert.col.issued'), type: 'date', required: true },
    ], async (v) => {
      await api('POST', '/api/v1/certificates', { kind: 'personnel', ...v });
      load('certificates');
    });
  }

  function askElevatorCert() {
    const cars = [...ctx.cars().values()];
    ask(t('cert.add.elevator'), [
      { name: 'kind', label: t('cert.col.kind'), type: 'select', options: ['inspection_mark', 'use_registration'].map((k) => [k, t(`cert.kind.${k}`)]) },
      { name: 'elevator', label: t('col.elevator'), type: 'select', options: cars.map((c) => [c.id, `${c.name || c.id} (${c.id})`]) },
      { name: 'number', label: t('cert.col.number') },
      { name: 'registration_code', label: t('cert.registration_code') },
      { name: 'issued', label: t('cert.col.issued'), type: 'date' },
      { name: 'expires', label: t('cert.expires.mark'), type: 'date' },
      { name: 'note', label: t('dialog.note'), type: 'textarea' },
    ], async (v) => {
      await api('POST', '/api/v1/certificates', v);
      load('certificates');
    });
  }

  // ---- drills ------------------------------------------------------------------------

  function renderDrills() {
    return [
      pageHead('page.drills', t('drill.subtitle'), can('writeDrills')
        ? h('button', { class: 'btn btn--primary btn--small', type: 'button', 'data-testid': 'drill-add', onclick: askDrill }, t('drill.add')) : null),
      section('drill.due.title', dataOr('drills', (d) => h('div', { class: 'due-cards' }, (d.due || []).map((x) => h('div', {
        class: `due-card st-box st-box--${x.state}`,
        'data-testid': `drill-due-${x.party}${x.contractor ? `-${x.contractor}` : ''}`,
        'data-state': x.state,
      },
      h('div', { class: 'due-card-title' }, x.party === 'user_unit' ? t('drill.party.user_unit') : t('drill.party.contractor_named', { c: x.contractor })),
      h('div', { class: 'due-card-line' }, `${t('drill.last')} ${x.last || t('drill.none')}`),
      h('div', { class: 'due-card-line' }, `${t('drill.due')} ${x.due || '–'}`),
      h('div', { class: 'due-card-state' }, `${t(`due.${x.state}`)} · ${daysText(x.days_left)}`))))), null, 'drill-due'),
      section('drill.list.title', dataOr('drills', renderDrillList), null, 'drill-list'),
    ];
  }

  function renderDrillList(d) {
    const rows = [...(d.drills || [])].sort((a, b) => b.date.localeCompare(a.date)).map((x) => h('tr', { 'data-testid': `drill-${x.id}` },
      cell(t('drill.col.date'), x.date),
      cell(t('drill.col.party'), x.party === 'user_unit' ? t('drill.party.user_unit') : t('drill.party.contractor_named', { c: x.contractor })),
      cell(t('drill.col.elevators'), (x.elevators || []).map(carName).join('，') || '–'),
      cell(t('drill.col.participants'), (x.participants || []).join('，') || '–'),
      cell(t('drill.col.scenario'), x.scenario),
      cell(t('drill.col.duration'), x.duration_min ? t('drill.minutes', { n: x.duration_min }) : '–'),
      cell(t('drill.col.findings'), x.findings || '–')));
    return table([t('drill.col.date'), t('drill.col.party'), t('drill.col.elevators'), t('drill.col.participants'), t('drill.col.scenario'), t('drill.col.duration'), t('drill.col.findings')],
      rows.length ? rows : emptyRow(7, 'drill.empty'), { testid: 'drill-table' });
  }

  function askDrill() {
    const split = (s) => (s || '').split(/[,，;；\n]/).map((x) => x.trim()).filter(Boolean);
    ask(t('drill.add'), [
      { name: 'party', label: t('drill.col.party'), type: 'select', options: [['user_unit', t('drill.party.user_unit')], ['contractor', t('drill.party.contractor')]] },
      { name: 'contractor', label: t('drill.contractor'), placeholder: t('drill.contractor.hint') },
      { name: 'date', label: t('drill.col.date'), type: 'date', required: true, value: dateOf(new Date()) },
      { name: 'elevators', label: t('drill.elevators'), placeholder: t('drill.list.hint') },
      { name: 'participants', label: t('drill.col.participants'), placeholder: t('drill.list.hint') },
      { name: 'scenario', label: t('drill.col.scenario'), type: 'textarea', required: true },
      { name: 'duration_min', label: t('drill.duration'), type: 'number', min: 0, max: 1440 },
      { name: 'findings', label: t('drill.col.findings'), type: 'textarea' },
    ], async (v) => {
      const body = { party: v.party, date: v.date, scenario: v.scenario };
      if (v.party === 'contractor' && v.contractor) body.contractor = v.contractor;
      if (v.elevators) body.elevators = split(v.elevators);
      if (v.participants) body.participants = split(v.participants);
      if (v.duration_min !== undefined) body.duration_min = v.duration_min;
      if (v.findings) body.findings = v.findings;
      await api('POST', '/api/v1/drills', body);
      load('drills');
    });
  }

  // ---- rectification tasks --------------------------------------------------------------

  function renderRectifications() {
    const filter = h('select', { class: 'select-small', 'data-testid': 'rect-filter', 'aria-label': t('rect.filter') },
      ['open', 'closed', 'all'].map((s) => h('option', { value: s }, t(`rect.filter.${s}`))));
    filter.value = R.rectState;
    filter.addEventListener('change', () => { R.rectState = filter.value; R.data.rectifications = null; load('rectifications'); });
    return [
      pageHead('page.rectifications', t('rect.subtitle'), filter),
      section('rect.list.title', dataOr('rectifications', (d) => {
        const list = d.rectifications || [];
        if (!list.length) return h('p', { class: 'empty', 'data-testid': 'rect-empty' }, t(`rect.empty.${R.rectState}`));
        return h('div', { class: 'rects' }, list.map(rectCard));
      }), null, 'rect-list'),
    ];
  }

  function rectCard(r) {
    const today = dateOf(new Date());
    const late = r.state === 'open' && r.due && r.due < today;
    const st = r.state === 'closed' ? 'closed' : late ? 'overdue' : 'open';
    return h('article', { class: `rect rect--${st}`, 'data-testid': `rect-${r.id}`, 'data-record-id': r.id, 'data-state': r.state, 'data-elevator': r.elevator },
      h('header', { class: 'mrec-head' },
        h('span', { class: 'rect-item' }, r.item),
        badge(st, t(`rect.state.${st}`), 'rect-state')),
      h('div', { class: 'mrec-meta' },
        h('span', { class: 'mono' }, `#${r.id}`),
        h('span', {}, carName(r.elevator)),
        r.inspection_id ? h('span', {}, t('rect.from_inspection', { id: r.inspection_id })) : null,
        r.due ? h('span', { class: late ? 'late' : '' }, t('rect.due', { d: r.due })) : null,
        h('span', {}, t('rect.opened', { at: fmtDateTime(r.opened_at), by: r.opened_by }))),
      r.note ? h('div', { class: 'mrec-line' }, r.note) : null,
      r.state === 'closed' ? h('div', { class: 'mrec-line rect-closed' }, t('rect.closed_by', { at: fmtDateTime(r.closed_at), by: r.closed_by || '' }), r.close_note ? ` · ${r.close_note}` : '') : null,
      r.state === 'open' && can('closeRectifications') ? h('div', { class: 'mrec-actions' },
        btn(t('rect.close'), () => askClose(r), { primary: true, attrs: { 'data-testid': `rect-close-${r.id}` } })) : null);
  }

  function askClose(r) {
    ask(t('rect.close.title', { item: r.item }), [
      { name: 'note', label: t('rect.close.note'), type: 'textarea', required: true },
    ], async (v) => {
      await api('POST', `/api/v1/rectifications/${r.id}/close`, { note: v.note });
      load('rectifications');
    });
  }

  // ---- reports -------------------------------------------------------------------------

  function defaultPeriod(kind) {
    const d = new Date();
    if (kind === 'year') return String(d.getFullYear());
    // Last month: the usual report to print is the one just ended.
    d.setDate(1);
    d.setMonth(d.getMonth() - 1);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
  }

  function reportUrl(format) {
    return `/api/v1/reports/${R.reportKind}?period=${encodeURIComponent(R.reportPeriod)}&format=${format}`;
  }

  function renderReports() {
    if (!R.reportPeriod) R.reportPeriod = defaultPeriod(R.reportKind);
    const kind = h('select', { 'data-testid': 'report-kind' },
      ['month', 'year'].map((k) => h('option', { value: k }, t(`report.kind.${k}`))));
    kind.value = R.reportKind;
    const period = R.reportKind === 'month'
      ? h('input', { type: 'month', 'data-testid': 'report-period', value: R.reportPeriod })
      : h('input', { type: 'number', inputmode: 'numeric', min: 2000, max: 2200, 'data-testid': 'report-period', value: R.reportPeriod });
    const changed = () => { R.report = null; render(); };
    kind.addEventListener('change', () => { R.reportKind = kind.value; R.reportPeriod = defaultPeriod(kind.value); changed(); });
    period.addEventListener('change', () => { if (period.value) { R.reportPeriod = period.value; changed(); } });
    const status = h('div', { class: 'form-error', 'data-testid': 'report-error', role: 'alert', hidden: !R.reportError }, R.reportError || '');
    // Real links (they can be copied), followed by the page: the API wants
    // its token in a header, which a plain link cannot carry.
    const act = (format, key, testid, primary, onclick) => h('a', {
      class: `btn ${primary ? 'btn--primary' : ''}`,
      href: reportUrl(format),
      'data-testid': testid,
      'data-format': format,
      onclick: (ev) => { ev.preventDefault(); onclick(); },
    }, t(key));
    const key = `${R.reportKind}:${R.reportPeriod}`;
    const shown = R.report && R.report.key === key ? R.report : null;
    return [
      pageHead('page.reports', t('report.subtitle'), null),
      section('report.choose', h('div', { class: 'report-form' },
        h('div', { class: 'mform-grid' },
          h('label', { class: 'field' }, h('span', {}, t('report.kind')), kind),
          h('label', { class: 'field' }, h('span', {}, t('report.period')), period)),
        h('p', { class: 'muted' }, t('report.contents')),
        h('div', { class: 'report-links' },
          act('json', 'report.view', 'report-view', true, () => viewReport(key)),
          act('csv', 'report.csv', 'report-csv', false, () => downloadCsv()),
          act('html', 'report.print', 'report-print', false, () => openPrintable())),
        status), null, 'report-panel'),
      shown ? section('report.page.title', shown.data ? renderReportData(shown.data) : h('p', { class: 'empty' }, t('rec.loading')), null, 'report-page') : null,
    ];
  }

  function reportFailed(e) {
    R.reportError = t('report.failed', { why: e.message });
    if (R.page === 'reports') render();
  }

  async function viewReport(key) {
    R.reportError = null;
    R.report = { key, data: null };
    render();
    try {
      const data = await api('GET', reportUrl('json'));
      if (!R.report || R.report.key !== key) return;
      R.report.data = data;
      render();
    } catch (e) {
      R.report = null;
      reportFailed(e);
    }
  }

  async function downloadCsv() {
    R.reportError = null;
    try {
      const res = await ctx.fetchRaw(reportUrl('csv'));
      const m = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') || '');
      const blob = await res.blob();
      const a = h('a', { href: URL.createObjectURL(blob), download: m ? m[1] : `liftguard-report-${R.reportPeriod}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
      if (R.page === 'reports') render();
    } catch (e) {
      reportFailed(e);
    }
  }

  // The printable page comes with one <style> element and a CSP that
  // allows just that one. Written into a tab of this page, it would fall
  // under this page's CSP, which allows no inline style: its CSS goes in
  // through the CSSOM instead (a constructed stylesheet), which CSP leaves
  // alone. Nothing of it runs: it has no script, and none is copied.
  async function openPrintable() {
    R.reportError = null;
    const win = window.open('', '_blank'); // inside the click, or it is blocked
    if (!win) { reportFailed(new Error(t('report.popup'))); return; }
    try {
      const res = await ctx.fetchRaw(reportUrl('html'));
      // Taken out before parsing: even an inert parsed <style> is checked
      // against this page's CSP (and reported as a violation).
      const styles = [];
      const text = (await res.text()).replace(/<style[^>]*>([\s\S]*?)<\/style>/gi, (m, css) => { styles.push(css); return ''; });
      const parsed = new DOMParser().parseFromString(text, 'text/html');
      const css = styles.join('\n');
      for (const el of parsed.querySelectorAll('style, script, link, meta[http-equiv]')) el.remove();
      const doc = win.document;
      doc.replaceChild(doc.importNode(parsed.documentElement, true), doc.documentElement);
      const sheet = new win.CSSStyleSheet();
      sheet.replaceSync(css);
      doc.adoptedStyleSheets = [sheet];
      win.focus();
      win.print();
    } catch (e) {
      win.close();
      reportFailed(e);
    }
  }

  // ---- the report as a page ------------------------------------------------------

  const pct = (v) => (v === null || v === undefined ? '–' : `${v}%`);
  const mmss = (s) => (s === null || s === undefined ? '–' : `${Math.floor(s / 60)}:${pad(s % 60)}`);
  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...kids) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
    return el;
  }

  // Alarms per month as bars; drawn with attributes, no style.
  function monthChart(months) {
    const W = 720;
    const H = 180;
    const top = 18;
    const bottom = 22;
    const n = Math.max(months.length, 1);
    const max = Math.max(1, ...months.map((m) => m.count));
    const slot = W / n;
    const bw = Math.min(40, slot * 0.6);
    return svg('svg', { class: 'report-chart', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': t('report.chart'), 'data-testid': 'report-chart' },
      svg('line', { x1: 0, y1: H - bottom, x2: W, y2: H - bottom, class: 'axis' }),
      months.map((m, i) => {
        const bh = ((H - top - bottom) * m.count) / max;
        const x = i * slot + (slot - bw) / 2;
        return svg('g', { 'data-month': m.month, 'data-count': m.count },
          svg('rect', { class: 'bar', x, y: H - bottom - bh, width: bw, height: Math.max(bh, m.count ? 1 : 0) }),
          svg('text', { class: 'bar-value', x: x + bw / 2, y: H - bottom - bh - 4, 'text-anchor': 'middle' }, String(m.count)),
          svg('text', { class: 'bar-label', x: x + bw / 2, y: H - 6, 'text-anchor': 'middle' }, m.month.slice(2)));
      }));
  }

  function kpi(label, value, testid, state) {
    return h('div', { class: `rkpi${state ? ` st-box st-box--${state}` : ''}`, 'data-testid': testid },
      h('span', { class: 'rkpi-value' }, String(value)), h('span', { class: 'rkpi-label' }, label));
  }

  function sub(titleKey, content) {
    return h('div', { class: 'report-sub' }, h('h3', {}, t(titleKey)), content);
  }

  function renderReportData(r) {
    const al = r.alarms || {};
    const en = r.entrapments || {};
    const mt = r.maintenance || {};
    const ins = r.inspections || {};
    const certs = r.certificates || {};
    const certList = Array.isArray(certs) ? certs : certs.list || certs.lines || [];
    const period = r.period || {};
    const expired = certList.filter((c) => c.state === 'expired').length;
    const results = ins.results || {};
    return h('div', { class: 'report', 'data-testid': 'report-data', 'data-period': period.period },
      h('p', { class: 'muted' }, t('report.range', { from: period.from, to: period.to }),
        period.counted_to ? ` · ${t('report.counted_to', { d: period.counted_to })}` : '',
        r.generated_at ? ` · ${t('report.generated', { at: fmtDateTime(r.generated_at) })}` : ''),
      h('div', { class: 'rkpis' },
        kpi(t('report.k.alarms'), al.total ?? 0, 'report-k-alarms'),
        kpi(t('report.k.entrapments'), en.count ?? 0, 'report-k-entrapments', en.count ? 'due_soon' : null),
        kpi(t('report.k.maintenance'), `${mt.on_time ?? 0}/${mt.visits ?? 0} · ${pct(mt.on_time_pct)}`, 'report-k-maintenance'),
        kpi(t('report.k.inspections'), (ins.done || []).length, 'report-k-inspections', results.fail ? 'overdue' : null),
        kpi(t('report.k.certificates'), certList.length, 'report-k-certificates', expired ? 'overdue' : certList.length ? 'due_soon' : null)),
      sub('report.s.per_month', monthChart(al.per_month || [])),
      sub('report.s.by_type', table([t('report.c.type'), t('report.c.severity'), t('report.c.count')],
        (al.by_type || []).length ? al.by_type.map((x) => h('tr', {},
          cell(t('report.c.type'), t(`type.${x.type}`) === `type.${x.type}` ? x.type : t(`type.${x.type}`)),
          cell(t('report.c.severity'), h('span', { class: `sev-badge sev-badge--${x.severity}` }, t(`severity.${x.severity}`))),
          cell(t('report.c.count'), String(x.count)))) : emptyRow(3, 'report.none'), { testid: 'report-by-type' })),
      sub('report.s.by_elevator', table([t('report.c.subject'), t('report.c.total'), t('severity.critical'), t('severity.major'), t('severity.minor')],
        (al.by_elevator || []).length ? al.by_elevator.map((x) => h('tr', {},
          cell(t('report.c.subject'), x.name || x.subject),
          cell(t('report.c.total'), String(x.total)),
          cell(t('severity.critical'), String(x.critical)),
          cell(t('severity.major'), String(x.major)),
          cell(t('severity.minor'), String(x.minor)))) : emptyRow(5, 'report.none'), { testid: 'report-by-elevator' })),
      sub('report.s.entrapments', h('div', {},
        h('p', { class: 'muted' }, t('report.entrapments', { n: en.count ?? 0, f: en.false_alarms ?? 0, o: en.open ?? 0 })),
        table([t('report.c.target'), t('report.c.within'), t('report.c.missed'), t('report.c.pending'), t('report.c.share'), t('report.c.mean'), t('report.c.max')],
          (en.targets || []).map((x) => h('tr', { 'data-step': x.step },
            cell(t('report.c.target'), t(`report.target.${x.label}`)),
            cell(t('report.c.within'), String(x.within)),
            cell(t('report.c.missed'), String(x.missed)),
            cell(t('report.c.pending'), String(x.pending)),
            cell(t('report.c.share'), pct(x.within_pct)),
            cell(t('report.c.mean'), mmss(x.mean_s)),
            cell(t('report.c.max'), mmss(x.max_s)))), { testid: 'report-targets' }))),
      sub('report.s.maintenance', table([t('col.elevator'), t('mnt.kind'), t('report.c.visits'), t('report.c.on_time'), t('report.c.late'), t('report.c.share'), t('report.c.days_overdue')],
        (mt.lines || []).length ? mt.lines.map((x) => h('tr', { class: x.overdue_at_end ? 'row-bad' : '' },
          cell(t('col.elevator'), x.name || x.elevator),
          cell(t('mnt.kind'), t(`kind.${x.kind}`)),
          cell(t('report.c.visits'), String(x.visits)),
          cell(t('report.c.on_time'), String(x.on_time)),
          cell(t('report.c.late'), String(x.late)),
          cell(t('report.c.share'), pct(x.on_time_pct)),
          cell(t('report.c.days_overdue'), x.overdue_at_end ? badge('overdue', String(x.days_overdue)) : String(x.days_overdue)))) : emptyRow(7, 'report.none'),
        { testid: 'report-maintenance' })),
      sub('report.s.inspections', table([t('col.elevator'), t('insp.col.kind'), t('insp.col.date'), t('insp.col.result'), t('insp.col.agency'), t('insp.col.next'), t('report.c.open_rect')],
        (ins.done || []).length ? ins.done.map((x) => h('tr', {},
          cell(t('col.elevator'), x.name || x.elevator),
          cell(t('insp.col.kind'), t(`check.${x.kind}`)),
          cell(t('insp.col.date'), x.done_on),
          cell(t('insp.col.result'), badge(x.result === 'fail' ? 'overdue' : x.result === 'pass' ? 'done' : 'due_soon', t(`insp.result.${x.result}`))),
          cell(t('insp.col.agency'), [x.agency, x.report_number].filter(Boolean).join(' · ') || '–'),
          cell(t('insp.col.next'), x.next_due || '–'),
          cell(t('report.c.open_rect'), `${x.open_rectifications ?? 0}/${x.items ?? 0}`))) : emptyRow(7, 'report.none'),
        { testid: 'report-inspections' })),
      sub('report.s.certificates', table([t('cert.col.kind'), t('cert.col.holder'), t('cert.col.number'), t('cert.col.expires'), t('cert.col.state')],
        certList.length ? certList.map((x) => h('tr', {},
          cell(t('cert.col.kind'), t(`cert.kind.${x.kind}`)),
          cell(t('cert.col.holder'), [x.name, x.contractor].filter(Boolean).join(' · ')),
          cell(t('cert.col.number'), h('span', { class: 'mono' }, x.number || '–')),
          cell(t('cert.col.expires'), x.expires_on),
          cell(t('cert.col.state'), badge(x.state, `${t(`cert.state.${x.state}`)} · ${daysText(x.days_left)}`)))) : emptyRow(5, 'report.none'),
        { testid: 'report-certificates' })));
  }

  const RENDER = {
    maintenance: renderMaintenance,
    inspections: renderInspections,
    certificates: renderCertificates,
    drills: renderDrills,
    rectifications: renderRectifications,
    reports: renderReports,
  };

  return {
    pages: PAGES.map((p) => p.id),
    canView(page, r) {
      const p = PAGES.find((x) => x.id === page);
      return !!p && p.roles.includes(r);
    },
    open,
    // The language changed: lists are drawn again; the form keeps what was
    // typed (its labels follow data-i18n).
    rerender() { if (R.page) render(); },
    close() { R.page = null; R.seq += 1; },
    reset() {
      R.page = null;
      R.seq += 1;
      R.data = {};
      R.error = {};
      R.highlight = null;
      if (R.form) { R.form.el.remove(); R.form = null; }
      $('records').replaceChildren();
    },
  };
};
