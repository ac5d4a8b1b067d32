// The live view in a real browser: Debian's chromium driven by puppeteer-core
// (no browser download), against `npm start`'s cluster of three real node
// processes, run from dist/ as `npm start` runs it (`npm test` builds it
// first). Screenshots go to test-artifacts/ui/ (gitignored).

import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import puppeteer from 'puppeteer-core';
import { runSeed } from '../../src/sim/runner';
import { Trace, TraceRecorder } from '../../src/sim/trace';
import { UiServer } from '../../src/ui/ui-server';
import { freeBasePort, freePorts } from '../net/ports';
import { waitFor } from '../net/wait';
import { FIGURE8_BUG_RUN } from '../sim/figure8-run';

// Functions handed to the page run in the browser; the project's type check has no DOM types.
type PageGlobal = { document: any };

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts', 'ui');
const ROOT = path.resolve(__dirname, '..', '..');

export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The leader the page shows, once it shows exactly one among three nodes. */
function oneLeaderShown(page: Page, other: string | null, timeout: number): Promise<string> {
  return page
    .waitForFunction(
      (other) => {
        const { document } = globalThis as unknown as PageGlobal;
        const cards = document.querySelectorAll('.card');
        const leaders: string[] = [...document.querySelectorAll('.card[data-role="leader"]')].map((c: any) => c.dataset.node);
        return cards.length === 3 && leaders.length === 1 && leaders[0] !== other ? leaders[0] : false;
      },
      { timeout, polling: 100 },
      other,
    )
    .then((h) => h.jsonValue() as Promise<string>);
}

(existsSync(CHROMIUM) ? describe : describe.skip)('live view in chromium (npm start\'s page)', function () {
  this.timeout(240_000);
  let cluster: ChildProcess | null = null;
  let browser: Browser | null = null;
  let page: Page;
  let dataRoot: string;
  let leader: string;

  before(async () => {
    dataRoot = mkdtempSync(path.join(tmpdir(), 'ui-browser-'));
    const base = await freeBasePort([1, 2, 3, 3001, 3002, 3003]); // start-cluster's Raft and API ports
    const [uiPort] = await freePorts(1);
    cluster = spawn(
      process.execPath,
      ['dist/cli/start-cluster.js', '--base-port', String(base), '--ui-port', String(uiPort), '--data-root', dataRoot],
      { cwd: ROOT, stdio: 'ignore', detached: true },
    );
    browser = await launchBrowser();
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    const url = `http://127.0.0.1:${uiPort}/`;
    // Until the view server listens: a refused load is retried, bounded.
    const loads = () => page.goto(url, { waitUntil: 'load' }).then(() => true, () => false);
    await waitFor(loads, 60_000, `the live view at ${url}`, 250);
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && browser) await screenshot(page, `failed-${this.currentTest.title.slice(0, 40).replace(/\W+/g, '-')}`);
  });

  after(async () => {
    await browser?.close();
    if (cluster && cluster.exitCode === null) {
      const exited = new Promise((r) => cluster!.once('exit', r));
      cluster.kill('SIGTERM'); // start-cluster stops its nodes
      const killer = setTimeout(() => process.kill(-cluster!.pid!, 'SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
    rmSync(dataRoot, { recursive: true, force: true });
  });

  it('shows three nodes and exactly one leader', async () => {
    leader = await oneLeaderShown(page, null, 90_000);
    await screenshot(page, 'three-nodes');
    expect(await page.$$eval('.card[data-role="leader"]', (cs) => cs.length)).to.equal(1);
  });

  it('stopping the leader through the page: a new leader within 10 s, shown in the page', async () => {
    const clicked = Date.now();
    await page.click(`button[data-action="stop"][data-node="${leader}"]`);
    const next = await oneLeaderShown(page, leader, 10_000);
    const took = Date.now() - clicked;
    await screenshot(page, 'new-leader');
    expect(next).to.not.equal(leader);
    expect(took).to.be.below(10_000);
    expect(await page.$eval(`.card[data-node="${leader}"]`, (c: any) => c.dataset.role)).to.equal('down');
  });

  it('restart the old leader, then a put through the page appears in every node\'s log', async () => {
    await page.click(`button[data-action="restart"][data-node="${leader}"]`);
    await page.waitForFunction(
      (n) => (globalThis as unknown as PageGlobal).document.querySelector(`.card[data-node="${n}"]`).dataset.role === 'follower',
      { timeout: 90_000, polling: 100 },
      leader,
    );
    await page.$eval('#put-key', (e: any) => (e.value = 'watch'));
    await page.$eval('#put-value', (e: any) => (e.value = 'it'));
    await page.select('#put-node', leader); // a follower now: it forwards to the leader (§8)
    await page.click('#put-button');
    await page.waitForFunction(() => /^ok/.test((globalThis as unknown as PageGlobal).document.getElementById('put-result').textContent), { timeout: 30_000, polling: 100 });
    await page.waitForFunction(
      () => [...(globalThis as unknown as PageGlobal).document.querySelectorAll('.log-row')].filter((r: any) => r.querySelector('.cell[title*="put watch"]')).length === 3,
      { timeout: 30_000, polling: 100 },
    );
    await screenshot(page, 'put-everywhere');
  });

  it('isolating a follower through its transport: it campaigns alone in higher terms; healed, the cluster has one leader again', async () => {
    const current = await oneLeaderShown(page, null, 30_000);
    const follower = ['n1', 'n2', 'n3'].find((n) => n !== current)!;
    const termOf = (n: string) => page.$eval(`#ring .node[data-node="${n}"] text:nth-of-type(2)`, (t: any) => Number(t.textContent));
    const leaderTerm = await termOf(current);
    await page.click(`button[data-action="isolate"][data-node="${follower}"]`);
    await page.waitForFunction((n) => /isolated/.test((globalThis as unknown as PageGlobal).document.querySelector(`.card[data-node="${n}"] .facts`).textContent), { timeout: 10_000, polling: 100 }, follower);
    await page.waitForFunction(
      (n, t) => Number((globalThis as unknown as PageGlobal).document.querySelector(`#ring .node[data-node="${n}"] text:nth-of-type(2)`).textContent) > t,
      { timeout: 30_000, polling: 100 },
      follower,
      leaderTerm,
    );
    await screenshot(page, 'isolated-follower');
    expect(await page.$eval(`.card[data-node="${follower}"]`, (c: any) => c.dataset.role)).to.not.equal('leader');
    await page.click(`button[data-action="heal"][data-node="${follower}"]`);
    await page.waitForFunction((n) => !/isolated/.test((globalThis as unknown as PageGlobal).document.querySelector(`.card[data-node="${n}"] .facts`).textContent), { timeout: 10_000, polling: 100 }, follower);
    await oneLeaderShown(page, null, 30_000);
  });
});

(existsSync(CHROMIUM) ? describe : describe.skip)('replay of a simulator trace in chromium', function () {
  this.timeout(120_000);
  let ui: UiServer;
  let browser: Browser | null = null;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ui-replay-'));
    ui = new UiServer({ members: [], port: 0 });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await ui.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a trace of the Figure 8 bug switch: the page plays it and highlights the failed check', async () => {
    const recorder = new TraceRecorder();
    const r = runSeed({ ...FIGURE8_BUG_RUN, trace: recorder });
    const trace: Trace = recorder.trace(r.seed, r.replay);
    const file = path.join(dir, 'figure8-bug.json');
    writeFileSync(file, JSON.stringify(trace));

    const page = await browser!.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    await page.goto(await ui.listen(), { waitUntil: 'load' });
    const input = await page.$('#trace-file');
    await (input as unknown as { uploadFile(p: string): Promise<void> }).uploadFile(file);
    await page.waitForFunction(() => (globalThis as unknown as PageGlobal).document.body.dataset.replayPos === '0', { timeout: 10_000 });
    expect(await page.$eval('#failure', (e: any) => e.hidden)).to.equal(false);
    expect(await page.$eval('#failure', (e: any) => e.textContent)).to.match(/Leader Completeness/);
    expect(await page.$eval('#ring', (e: any) => e.classList.contains('failed-step'))).to.equal(false);

    // Play forward one step, then jump to the failed check.
    await page.click('#step-forward');
    expect(await page.$eval('body', (b: any) => b.dataset.replayPos)).to.equal('1');
    await page.click('#goto-failure');
    const failedAt = String(trace.failure!.index + 1);
    expect(await page.$eval('body', (b: any) => b.dataset.replayPos)).to.equal(failedAt);
    expect(await page.$eval('#ring', (e: any) => e.classList.contains('failed-step'))).to.equal(true);
    expect(await page.$eval('#events li', (li: any) => [li.className, li.textContent])).to.deep.equal(['failed', `checker: safety: ${trace.failure!.message}`]);
    // The leader the check names is drawn as leader at that step.
    const leader = /(n\d), leader of term (\d+)/.exec(trace.failure!.message)!;
    expect(await page.$eval(`.card[data-node="${leader[1]}"]`, (c: any) => c.dataset.role)).to.equal('leader');
    await screenshot(page, 'replay-figure8-failed-check');

    // One step back: before the check failed.
    await page.click('#step-back');
    expect(await page.$eval('#ring', (e: any) => e.classList.contains('failed-step'))).to.equal(false);
    // The slider moves through the run.
    await page.$eval('#slider', (s: any) => {
      s.value = '10';
      s.dispatchEvent(new Event('input'));
    });
    expect(await page.$eval('body', (b: any) => b.dataset.replayPos)).to.equal('10');
  });
});
