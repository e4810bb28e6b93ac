#!/usr/bin/env node
// A Node client of dpsweep's gRPC services. It loads the API from the .proto
// files in proto/ (and protovalidate's validate.proto, which they import) at
// run time with @grpc/proto-loader, then calls four services in turn:
//
//   RedactionService.Redact        scrub one text
//   EvaluationService.ListControls the control catalogue, page by page
//   SweepService.StartSweep        start a sweep, then GetSweep until it ends
//   ReportingService.ListFindings  the sweep's findings, page by page
//
// --calls picks some of them. Each result is one JSON object on a line of
// stdout; errors go to stderr and the exit status is 1 (2 for a bad command
// line).
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROG = 'dpsweep-node-client';
const REPO = path.resolve(__dirname, '..', '..');
const CALLS = ['redact', 'controls', 'sweep', 'findings'];

const USAGE = `usage: node client.js [flags]

Calls Redact, ListControls, StartSweep (then GetSweep until the sweep ends) and
ListFindings against running dpsweep services, printing one JSON object per line.

flags:
  --redaction-addr HOST:PORT   RedactionService (default 127.0.0.1:7403)
  --evaluation-addr HOST:PORT  EvaluationService (default 127.0.0.1:7402)
  --sweep-addr HOST:PORT       SweepService (default 127.0.0.1:7405)
  --reporting-addr HOST:PORT   ReportingService (default 127.0.0.1:7404)
  --calls LIST                 which calls, comma-separated, in this order: redact, controls,
                               sweep (StartSweep and GetSweep), findings (ListFindings of the
                               sweep, or of --sweep-id alone) (default: all four)
  --tls-ca FILE                speak TLS, trusting the servers' certificates signed by this CA (PEM)
  --tls-cert FILE, --tls-key FILE
                               client certificate and key (PEM) for services that require mutual TLS
  --proto-dir DIR              dpsweep's proto/ (default: the repository's)
  --validate-proto-dir DIR     directory holding buf/validate/validate.proto
                               (default: the repository's .cache/proto/protovalidate, from 'make tools')
  --text TEXT                  text to redact (default: a sample with an e-mail address and an access key)
  --sweep-id ID                ID of the sweep to start, or whose findings to list
                               (default: node-<time>)
  --region REGION              region to sweep; repeat for more (default: us-east-1)
  --role-name NAME             role assumed in each member account (default: the server's)
  --external-id ID             ExternalId for sts:AssumeRole
  --max-concurrent-accounts N  accounts scanned at once (default: the server's)
  --page-size N                page size of ListControls and ListFindings (default 100)
  --include-suppressed         count suppressed findings too
  --rpc-timeout SECONDS        deadline of each call (default 30)
  --sweep-timeout SECONDS      how long to wait for the sweep to end (default 900)
  --poll-interval SECONDS      time between GetSweep calls (default 1)
  -h, --help                   this text
`;

class UsageError extends Error {}

function parseFlags(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      'redaction-addr': { type: 'string', default: '127.0.0.1:7403' },
      'evaluation-addr': { type: 'string', default: '127.0.0.1:7402' },
      'sweep-addr': { type: 'string', default: '127.0.0.1:7405' },
      'reporting-addr': { type: 'string', default: '127.0.0.1:7404' },
      calls: { type: 'string', default: CALLS.join(',') },
      'tls-ca': { type: 'string', default: '' },
      'tls-cert': { type: 'string', default: '' },
      'tls-key': { type: 'string', default: '' },
      'proto-dir': { type: 'string', default: path.join(REPO, 'proto') },
      'validate-proto-dir': { type: 'string', default: path.join(REPO, '.cache', 'proto', 'protovalidate') },
      text: { type: 'string', default: 'owner jane@example.org key AKIA2OGYBAH6STMMNXNN' },
      'sweep-id': { type: 'string', default: '' },
      region: { type: 'string', multiple: true, default: ['us-east-1'] },
      'role-name': { type: 'string', default: '' },
      'external-id': { type: 'string', default: '' },
      'max-concurrent-accounts': { type: 'string', default: '0' },
      'page-size': { type: 'string', default: '100' },
      'include-suppressed': { type: 'boolean', default: false },
      'rpc-timeout': { type: 'string', default: '30' },
      'sweep-timeout': { type: 'string', default: '900' },
      'poll-interval': { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const num = (name, min) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min) {
      throw new UsageError(`--${name} ${JSON.stringify(values[name])}: want a number of at least ${min}`);
    }
    return v;
  };
  const calls = values.calls.split(',').map((c) => c.trim()).filter(Boolean);
  for (const c of calls) {
    if (!CALLS.includes(c)) throw new UsageError(`--calls: unknown call ${JSON.stringify(c)}; want some of ${CALLS.join(', ')}`);
  }
  if (calls.length === 0) throw new UsageError('--calls: no call');
  if ((values['tls-cert'] === '') !== (values['tls-key'] === '')) {
    throw new UsageError('--tls-cert and --tls-key go together');
  }
  if (values['tls-cert'] && !values['tls-ca']) throw new UsageError('--tls-cert needs --tls-ca');
  let sweepId = values['sweep-id'];
  if (!sweepId && calls.includes('sweep')) sweepId = `node-${Date.now()}`;
  if (!sweepId && calls.includes('findings')) throw new UsageError('--calls findings without sweep needs --sweep-id');
  return {
    help: values.help,
    calls: new Set(calls),
    tls: { ca: values['tls-ca'], cert: values['tls-cert'], key: values['tls-key'] },
    addrs: {
      redaction: values['redaction-addr'],
      evaluation: values['evaluation-addr'],
      sweep: values['sweep-addr'],
      reporting: values['reporting-addr'],
    },
    protoDir: values['proto-dir'],
    validateDir: values['validate-proto-dir'],
    text: values.text,
    sweepId,
    regions: values.region,
    roleName: values['role-name'],
    externalId: values['external-id'],
    maxConcurrentAccounts: num('max-concurrent-accounts', 0),
    pageSize: num('page-size', 1),
    includeSuppressed: values['include-suppressed'],
    rpcTimeoutMs: num('rpc-timeout', 0.001) * 1000,
    sweepTimeoutMs: num('sweep-timeout', 0.001) * 1000,
    pollMs: num('poll-interval', 0.01) * 1000,
  };
}

// protoFiles lists the .proto files under dir, relative to it.
function protoFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(path.join(dir, d), { withFileTypes: true })) {
      const rel = path.join(d, e.name);
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.proto')) out.push(rel.split(path.sep).join('/'));
    }
  };
  walk('');
  return out.sort();
}

// loadAPI builds the gRPC service constructors from the .proto files.
function loadAPI(protoDir, validateDir) {
  if (!fs.existsSync(path.join(protoDir, 'dpsweep'))) {
    throw new Error(`no dpsweep API under --proto-dir ${protoDir}`);
  }
  if (!fs.existsSync(path.join(validateDir, 'buf', 'validate', 'validate.proto'))) {
    throw new Error(`no buf/validate/validate.proto under --validate-proto-dir ${validateDir} (run 'make tools' in the repository)`);
  }
  let def;
  try {
    def = protoLoader.loadSync(protoFiles(protoDir), {
      includeDirs: [protoDir, validateDir],
      keepCase: true, // field names as in the .proto: sweep_id, page_token
      longs: Number, // int64 counts fit a double here
      enums: String, // enum values by name: SWEEP_STATE_COMPLETED
      defaults: true,
      oneofs: true,
    });
  } catch (err) {
    throw new Error(`loading the .proto files under ${protoDir}: ${err.message}`);
  }
  return grpc.loadPackageDefinition(def).dpsweep;
}

// credentials are plaintext, or TLS (with a client certificate for mutual
// TLS) when --tls-ca is set.
function credentials(tls) {
  if (!tls.ca) return grpc.credentials.createInsecure();
  const read = (flag, file) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${flag}: ${err.message}`);
    }
  };
  return grpc.credentials.createSsl(
    read('--tls-ca', tls.ca),
    tls.key ? read('--tls-key', tls.key) : null,
    tls.cert ? read('--tls-cert', tls.cert) : null,
  );
}

// RPCError names the call and the server behind a failure.
class RPCError extends Error {
  constructor(method, addr, err) {
    const code = err.code !== undefined ? grpc.status[err.code] || String(err.code) : '';
    super(`${method} at ${addr}: ${code ? code + ': ' : ''}${err.details || err.message}`);
    this.code = code;
  }
}

// call invokes a unary method with a deadline and returns a promise.
function call(client, addr, method, request, timeoutMs) {
  return new Promise((resolve, reject) => {
    const deadline = new Date(Date.now() + timeoutMs);
    client[method](request, { deadline }, (err, resp) => {
      if (err) reject(new RPCError(method, addr, err));
      else resolve(resp);
    });
  });
}

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function run(opts) {
  const api = loadAPI(opts.protoDir, opts.validateDir);
  const creds = credentials(opts.tls);
  const clients = {
    redaction: new api.redaction.v1.RedactionService(opts.addrs.redaction, creds),
    evaluation: new api.evaluation.v1.EvaluationService(opts.addrs.evaluation, creds),
    sweep: new api.sweep.v1.SweepService(opts.addrs.sweep, creds),
    reporting: new api.reporting.v1.ReportingService(opts.addrs.reporting, creds),
  };
  const rpc = (svc, method, req) => call(clients[svc], opts.addrs[svc], method, req, opts.rpcTimeoutMs);
  try {
    if (opts.calls.has('redact')) await redact(opts, rpc);
    if (opts.calls.has('controls')) await listControls(opts, rpc);
    let id = opts.sweepId;
    if (opts.calls.has('sweep')) id = await sweep(opts, rpc);
    if (opts.calls.has('findings')) await listFindings(opts, rpc, id);
  } finally {
    for (const c of Object.values(clients)) c.close();
  }
}

// redact scrubs one text with the server's default policy.
async function redact(opts, rpc) {
  const red = await rpc('redaction', 'Redact', { text: opts.text });
  emit({
    rpc: 'Redact',
    redacted_text: red.redacted_text,
    entity_types: [...new Set(red.findings.map((f) => f.entity_type))].sort(),
    findings: red.findings.length,
  });
}

// listControls reads the control catalogue, every page.
async function listControls(opts, rpc) {
  const ids = [];
  let pages = 0;
  let token = '';
  do {
    const resp = await rpc('evaluation', 'ListControls', { page_size: opts.pageSize, page_token: token });
    pages++;
    for (const c of resp.controls) ids.push(c.id);
    token = resp.next_page_token;
  } while (token);
  emit({ rpc: 'ListControls', controls: ids.length, pages, ids });
}

// sweep starts a sweep, follows it to its end and returns its ID.
async function sweep(opts, rpc) {
  const spec = {
    regions: opts.regions,
    role_name: opts.roleName,
    external_id: opts.externalId,
    max_concurrent_accounts: opts.maxConcurrentAccounts,
  };
  const started = await rpc('sweep', 'StartSweep', { sweep_id: opts.sweepId, spec });
  const id = started.sweep.sweep_id;
  emit({ rpc: 'StartSweep', sweep_id: id, state: started.sweep.state, workflow_id: started.sweep.workflow_id });
  const until = Date.now() + opts.sweepTimeoutMs;
  let last = '';
  for (;;) {
    const sw = (await rpc('sweep', 'GetSweep', { sweep_id: id })).sweep;
    const p = sw.progress || {};
    const line = {
      rpc: 'GetSweep',
      sweep_id: id,
      state: sw.state,
      accounts_total: p.accounts_total || 0,
      accounts_done: p.accounts_done || 0,
      accounts_failed: p.accounts_failed || 0,
      regions_done: p.regions_done || 0,
      findings: (p.counts && p.counts.findings) || 0,
    };
    const running = sw.state === 'SWEEP_STATE_RUNNING';
    if (!running) line.report_uris = sw.report_uris;
    const key = JSON.stringify(line);
    if (key !== last || !running) emit(line);
    last = key;
    if (!running) {
      if (sw.state !== 'SWEEP_STATE_COMPLETED') throw new Error(`sweep ${id} ended ${sw.state}`);
      return id;
    }
    if (Date.now() > until) {
      throw new Error(`sweep ${id} still running after ${opts.sweepTimeoutMs / 1000}s (${p.accounts_done || 0} of ${p.accounts_total || 0} accounts done)`);
    }
    await sleep(opts.pollMs);
  }
}

// listFindings reads a sweep's findings, every page.
async function listFindings(opts, rpc, id) {
  let count = 0;
  let total = 0;
  let pages = 0;
  let token = '';
  const byStatus = {};
  do {
    const resp = await rpc('reporting', 'ListFindings', {
      sweep_id: id,
      page_size: opts.pageSize,
      page_token: token,
      filter: { include_suppressed: opts.includeSuppressed },
    });
    pages++;
    count += resp.findings.length;
    total = resp.total_size;
    for (const f of resp.findings) byStatus[f.status] = (byStatus[f.status] || 0) + 1;
    token = resp.next_page_token;
  } while (token);
  emit({ rpc: 'ListFindings', sweep_id: id, findings: count, pages, total_size: total, by_status: byStatus });
}

async function main() {
  let opts;
  try {
    opts = parseFlags(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${PROG}: ${err.message}\n${USAGE}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    await run(opts);
    return 0;
  } catch (err) {
    process.stderr.write(`${PROG}: ${err.message}\n`);
    return 1;
  }
}

main().then((code) => {
  process.exitCode = code;
});
