// Walks dragnet serve in Debian's Chromium (never a downloaded browser):
// signs in, opens the vendors, a vendor, its evidence, then the hostile
// capture in the viewer and on its own, screenshotting each page. Every
// request off the case's origin is recorded and aborted (never sent); every
// dialog (alert) is recorded. A control first loads the hostile page with
// no policy at all, to show the detector sees what such a page does.
//
// Then it follows the graphs: taps an account in the vendor-link graph
// (opening its operator), opens a listing's history, taps a cluster in the
// money-flow graph (continuing the trace from it, FLOW_FROM in the
// environment), and downloads the case report from the overview.
//
// node walk.mjs BASE_URL USER PASSWORD HOSTILE_SHA256 OUT_DIR
// Prints one JSON object.
import { chromium } from 'playwright-core';

const [base, user, password, sha, outDir] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});

async function session() {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const seen = { requests: [], offCase: [], dialogs: [] };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    seen.requests.push(url);
    if (url.startsWith(base + '/')) return route.continue();
    seen.offCase.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('dialog', (d) => { seen.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  return { context, page, seen };
}

// Control: the same bytes with no policy run their scripts and reach out.
const control = await session();
await control.page.goto('about:blank');
await control.page.setContent(process.env.HOSTILE_HTML || '', { waitUntil: 'load' }).catch(() => {});
await control.page.waitForTimeout(1500);
await control.context.close();

const walk = await session();
const { page } = walk;
const shots = [];
const visited = [];
async function shot(name) {
  visited.push(new URL(page.url()).pathname);
  const path = `${outDir}/${name}.png`;
  await page.screenshot({ path, fullPage: false });
  shots.push(path);
}
await page.goto(`${base}/`);
await shot('01-login');
await page.fill('input[name=user]', user);
await page.fill('input[name=password]', password);
await Promise.all([page.waitForURL(`${base}/`), page.click('button[type=submit]')]);
await shot('02-overview');
await Promise.all([page.waitForURL(`${base}/vendors`), page.click('header a[href="/vendors"]')]);
await shot('03-vendors');
await Promise.all([page.waitForURL(/\/vendors\/.+/), page.click('table a[href^="/vendors/"]')]);
await shot('04-vendor');
await Promise.all([page.waitForURL(/\/evidence\/[0-9a-f]{64}$/), page.click('a[href^="/evidence/"]')]);
await page.waitForTimeout(500);
await shot('05-vendor-evidence');
await page.goto(`${base}/evidence/${sha}`);
await page.waitForTimeout(2000);
await shot('06-hostile-in-viewer');
await page.goto(`${base}/raw/${sha}`);
await page.waitForTimeout(2000);
await shot('07-hostile-alone');

// Taps the drawn node `id` of the page's graph (where cytoscape drew it).
async function tapNode(id) {
  const p = await page.evaluate((n) => window.dragnetGraph.position(n), id);
  await page.mouse.click(p.x, p.y);
  return p.href;
}
const followed = {};
await page.goto(`${base}/graph/links`);
await page.waitForSelector('#graph[data-ready]');
await shot('08-link-graph');
const account = (await page.evaluate(() => window.dragnetGraph.nodes()))[0];
followed.link_node = account;
followed.link_href = await Promise.all([page.waitForURL(/\/operator\?account=/), tapNode(account)]).then(([, h]) => h);
await shot('09-operator');
await Promise.all([page.waitForURL(/\/vendors\/.+/), page.click('main table a[href^="/vendors/"]')]);
await Promise.all([page.waitForURL(/\/listings\/L-/), page.click('main table a[href^="/listings/"]')]);
await shot('10-listing-history');
await page.goto(`${base}/flows?from=${encodeURIComponent(process.env.FLOW_FROM)}&hops=2`);
await page.waitForSelector('#graph[data-ready]');
await shot('11-money-flows');
const cluster = (await page.evaluate(() => window.dragnetGraph.nodes())).find((n) => n.startsWith('cluster:'));
followed.flow_node = cluster;
followed.flow_href = await Promise.all([page.waitForURL(/\/flows\?from=cluster/), tapNode(cluster)]).then(([, h]) => h);
await page.waitForSelector('#graph[data-ready]');
await shot('12-money-flows-followed');
await page.goto(`${base}/`);
const [download] = await Promise.all([page.waitForEvent('download'), page.click('a#report')]);
const report = `${outDir}/report.html`;
await download.saveAs(report);
followed.report = report;
followed.report_name = download.suggestedFilename();
await browser.close();
console.log(JSON.stringify({ control: control.seen, walk: walk.seen, shots, visited, followed }));
