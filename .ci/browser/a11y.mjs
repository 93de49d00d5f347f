// Accessibility of the back office: axe-core in Debian's headless Chromium
// (driven by playwright-core), on every back-office page an admin can reach.
//
//   node .ci/browser/a11y.mjs BASE_URL
//
// Needs admin@ci.example with the password in ADMIN_PASSWORD (.ci/run makes it).
// Crawls the back office from /admin by its own links (one page per URL shape:
// /admin/stories/12 and /admin/stories/34 are one shape), plus the editor of a
// Persian story, and runs axe-core's WCAG 2.x A/AA rules on each. A page
// passes when axe reports no violation of impact "serious" or "critical".
// Prints one line per page ("ok  ..." / "FAIL ..."); exits 1 if any failed.
import { chromium } from "playwright-core";
import { createRequire } from "node:module";

const [base] = process.argv.slice(2);
if (!base) {
  console.error("usage: a11y.mjs BASE_URL");
  process.exit(2);
}
const require = createRequire(import.meta.url);
const AXE = require.resolve("axe-core/axe.min.js");
const ADMIN = { email: "admin@ci.example", password: process.env.ADMIN_PASSWORD };
const MAX_PAGES = 80;

let failed = 0;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});

// Links that act (sign out, take over a lock) or leave the back office are not followed.
const SKIP = /\/(logout|export|download|takeover|unlock)\b|\.(csv|json|xml|png|jpe?g|webp)$/;
function shape(path) {
  return path.replace(/\?.*$/, "").replace(/\/\d+(?=\/|$)/g, "/N");
}

try {
  // bypassCSP: axe-core is injected as an inline script, which the back office's CSP (rightly) refuses.
  const ctx = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await ctx.newPage();
  await page.goto("/admin/login");
  await page.fill("input[name=email]", ADMIN.email);
  await page.fill("input[name=password]", ADMIN.password);
  await Promise.all([page.waitForURL(/\/admin(\?|$|\/$)/), page.click("button[type=submit]")]);

  const queue = ["/admin", "/admin/login?probe=1"];
  const seen = new Set();
  // The editor of a Persian story (right to left content in a left to right back office).
  await page.goto("/admin/stories?edition=fa");
  const fa = await page.locator("table.list tbody a[href*='/admin/stories/']").first().getAttribute("href").catch(() => null);
  if (fa) queue.push(fa);

  let visited = 0;
  while (queue.length && visited < MAX_PAGES) {
    const path = queue.shift();
    const key = shape(path);
    if (seen.has(key)) continue;
    seen.add(key);
    const res = await page.goto(path);
    if (!res || res.status() >= 400 || !new URL(page.url()).pathname.startsWith("/admin")) continue;
    // Pages only: JSON endpoints the pages link to (e.g. /admin/mediatopics) are not documents.
    if (!(res.headers()["content-type"] || "").startsWith("text/html")) continue;
    visited++;
    for (const href of await page.$$eval("a[href]", (as) => as.map((a) => a.getAttribute("href")))) {
      let u;
      try { u = new URL(href, page.url()); } catch { continue; }
      if (u.origin !== new URL(base).origin || !u.pathname.startsWith("/admin") || SKIP.test(u.pathname)) continue;
      if (!seen.has(shape(u.pathname + u.search))) queue.push(u.pathname + u.search);
    }
    await page.addScriptTag({ path: AXE });
    const result = await page.evaluate(async () =>
      // eslint-disable-next-line no-undef
      await axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
    );
    const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    if (bad.length === 0) {
      console.log(`ok    ${path}: no serious or critical axe-core violation`);
    } else {
      failed++;
      console.log(`FAIL  ${path}: ${bad.length} serious or critical axe-core violation(s)`);
      for (const v of bad) {
        const where = v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(" | ");
        console.log(`      ${v.impact} ${v.id}: ${v.help} (${v.nodes.length}x: ${where})`);
      }
    }
  }
  if (visited < 10) {
    failed++;
    console.log(`FAIL  crawl reached only ${visited} back-office pages`);
  }
} catch (e) {
  failed++;
  console.log(`FAIL  accessibility run\n      ${String(e && e.message ? e.message : e).split("\n").join("\n      ")}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
