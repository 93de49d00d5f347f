// End-to-end test of the newsroom in headless Chromium (Debian's chromium,
// driven by playwright-core; no browser download).
//
//   node .ci/browser/backoffice.mjs BASE_URL SCREENSHOT_DIR
//
// Needs three users on the site: reporter@ci.example, editor@ci.example and
// admin@ci.example with the passwords in REPORTER_PASSWORD / EDITOR_PASSWORD /
// ADMIN_PASSWORD (.ci/run makes them).
// Prints one line per check ("ok  ..." / "FAIL ..."); exits 1 if any failed.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: backoffice.mjs BASE_URL SCREENSHOT_DIR");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const REPORTER = { email: "reporter@ci.example", password: process.env.REPORTER_PASSWORD };
const EDITOR = { email: "editor@ci.example", password: process.env.EDITOR_PASSWORD };
const ADMIN = { email: "admin@ci.example", password: process.env.ADMIN_PASSWORD };

let failed = 0;
function ok(name) { console.log(`ok    ${name}`); }
function fail(name, why) { failed++; console.log(`FAIL  ${name}\n      ${String(why).split("\n").join("\n      ")}`); }
async function check(name, fn) {
  try { await fn(); ok(name); } catch (e) { fail(name, e && e.message ? e.message : e); }
}
function expect(cond, msg) { if (!cond) throw new Error(msg); }
async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const errors = [];
async function context() {
  const ctx = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
  ctx.on("page", (p) => p.on("pageerror", (e) => errors.push(e.message)));
  return ctx;
}
async function login(ctx, who) {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto("/admin/login");
  await page.fill("input[name=email]", who.email);
  await page.fill("input[name=password]", who.password);
  await Promise.all([page.waitForURL(/\/admin(\?|$|\/$)/), page.click("button[type=submit]")]);
  return page;
}

const headline = `CI browser story ${Date.now()}`;
let newsId = null;
let sectionPath = null;

try {
  // ----- the reporter writes and submits -----
  const reporterCtx = await context();
  const rp = await reporterCtx.newPage();
  await check("login page renders", async () => {
    await rp.goto("/admin/login");
    expect(await rp.locator("h1").innerText() === "Log in to the newsroom", "no login heading");
    await shot(rp, "01-login");
  });
  await check("a wrong password is refused with a message", async () => {
    await rp.fill("input[name=email]", REPORTER.email);
    await rp.fill("input[name=password]", "not the password at all");
    await rp.click("button[type=submit]");
    await rp.waitForSelector(".error");
    expect((await rp.locator(".error").innerText()).includes("Wrong e-mail address or password"), "no message");
  });
  const reporter = await login(reporterCtx, REPORTER);
  await check("reporter sees the desk", async () => {
    await reporter.goto("/admin/stories");
    expect(await reporter.locator("table.list tbody tr").count() > 0, "empty desk");
    await shot(reporter, "02-desk");
  });
  await check("reporter writes a story with a live preview and a photo", async () => {
    await reporter.goto("/admin/stories/new");
    await reporter.fill("input[name=headline]", headline);
    await reporter.fill("textarea[name=lead]", "A story written by the browser test.");
    await reporter.fill("textarea[name=body]", "The **first** paragraph.\n\nThe second paragraph.");
    // The preview beside the form is the public page of the text on the screen (a frame's srcdoc).
    await reporter.waitForFunction(() => { const p = document.querySelector("#preview"); return p && (p.srcdoc || p.innerHTML).includes("<strong>first</strong>"); });
    const option = reporter.locator("select[name=section_id] option").nth(1);
    await reporter.selectOption("select[name=section_id]", await option.getAttribute("value"));
    await reporter.fill("input[name=tags]", "Browser, Testing");
    const photo = reporter.locator("input[type=file][name=photo_file], input[type=file]#photo-file");
    if (await photo.count() > 0) {
      const png = await reporter.screenshot({ clip: { x: 0, y: 0, width: 800, height: 450 } });
      await photo.first().setInputFiles({ name: "scene.png", mimeType: "image/png", buffer: png });
      await reporter.waitForFunction(() => document.querySelector("input[name=photo_id]")?.value !== "", null, { timeout: 20000 });
    }
    await shot(reporter, "03-editor-new");
    await Promise.all([reporter.waitForURL(/\/admin\/stories\/\d+\/edit/), reporter.click("form#story-form button[type=submit]")]);
    newsId = Number(reporter.url().match(/stories\/(\d+)\/edit/)[1]);
    expect((await reporter.locator("h1 .status").innerText()) === "draft", "not a draft");
  });
  await check("reporter submits the draft", async () => {
    await Promise.all([reporter.waitForURL(/saved=submit/), reporter.click("button.action.submit")]);
    expect((await reporter.locator("h1 .status").innerText()) === "submitted", "not submitted");
    expect(await reporter.locator("button.action.publish").count() === 0, "a reporter sees a publish button");
    await shot(reporter, "04-editor-submitted");
  });

  // ----- the editor previews and schedules -----
  const editorCtx = await context();
  const editor = await login(editorCtx, EDITOR);
  await check("editor previews the story at its private URL", async () => {
    await editor.goto(`/admin/stories/${newsId}/preview`);
    expect((await editor.locator("h1").first().innerText()) === headline, "headline missing in preview");
    expect(await editor.locator(".preview-banner").count() === 1, "no preview banner");
    await shot(editor, "05-preview");
    const anon = await (await context()).newPage();
    const res = await anon.goto(`/news/${newsId}`);
    expect(res.status() === 404, `the public URL answered ${res.status()} before publishing`);
  });
  await check("editor schedules it a few seconds ahead", async () => {
    await editor.goto(`/admin/stories/${newsId}/edit`);
    const min = await editor.locator("input[name=scheduled_at]").getAttribute("min");
    const t = new Date(min + "Z");
    t.setUTCSeconds(t.getUTCSeconds() + 6);
    await editor.fill("input[name=scheduled_at]", t.toISOString().slice(0, 19));
    await Promise.all([editor.waitForURL(/saved=schedule/), editor.click("button.action.schedule")]);
    expect((await editor.locator("h1 .status").innerText()) === "scheduled", "not scheduled");
    sectionPath = await editor.locator("select[name=section_id] option:checked").innerText();
    await shot(editor, "06-scheduled");
  });
  await check("when due, the story is on its URL, the home page and its section page", async () => {
    const anon = await (await context()).newPage();
    const deadline = Date.now() + 40000;
    let res;
    for (;;) {
      res = await anon.goto(`/news/${newsId}`);
      if (res.status() === 200 || Date.now() > deadline) break;
      await anon.waitForTimeout(500);
    }
    expect(res.status() === 200, `story URL answered ${res.status()} after the due time`);
    expect((await anon.locator("h1").first().innerText()) === headline, "wrong page");
    const crumbs = await anon.locator("nav.breadcrumb a").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
    await shot(anon, "07-published");
    await anon.goto("/");
    expect((await anon.content()).includes(headline), "not on the home page");
    const section = crumbs.filter((h) => h.startsWith("/section/")).pop();
    await anon.goto(section);
    expect((await anon.content()).includes(headline), `not on ${section}`);
  });
  await check("a correction shows Updated: on the public page", async () => {
    await editor.goto(`/admin/stories/${newsId}/edit`);
    await editor.fill("textarea[name=correction_note]", "An earlier version gave the wrong day.");
    await Promise.all([editor.waitForURL(/saved=correction/), editor.click("button[name=action][value=correct]")]);
    const anon = await (await context()).newPage();
    await anon.goto(`/news/${newsId}`);
    const meta = await anon.locator(".story-meta").innerText();
    expect(meta.includes("Updated:"), `no Updated: in ${meta}`);
    expect((await anon.content()).includes("An earlier version gave the wrong day."), "no correction note");
    await shot(anon, "08-corrected");
  });
  await check("a second browser editing the same story gets the conflict message", async () => {
    const other = await login(await context(), EDITOR);
    await editor.goto(`/admin/stories/${newsId}/edit`);
    await other.goto(`/admin/stories/${newsId}/edit`);
    await editor.fill("textarea[name=lead]", "Lead changed in the first browser.");
    // A published story's save is a choice: a quiet fix or an update readers see.
    await editor.check("input[name=change][value=update]");
    await Promise.all([editor.waitForURL(/saved=saved/), editor.click("button[name=action][value=save]")]);
    await other.fill("textarea[name=lead]", "Lead changed in the second browser.");
    await other.check("input[name=change][value=fix]");
    await other.click("button[name=action][value=save]");
    await other.waitForSelector(".error");
    const msg = await other.locator(".error").innerText();
    expect(msg.includes("Someone else saved this story meanwhile"), `message was: ${msg}`);
    expect((await other.inputValue("textarea[name=lead]")) === "Lead changed in the second browser.", "the text was lost");
    await shot(other, "09-conflict");
  });
  await check("the other back-office screens render", async () => {
    for (const [path, name] of [["/admin", "10-dashboard"], [`/admin/stories/${newsId}/revisions`, "11-revisions"], ["/admin/comments", "12-comments"], ["/admin/media", "13-media"], ["/admin/account", "14-account"]]) {
      const res = await editor.goto(path);
      expect(res.status() === 200, `${path} answered ${res.status()}`);
      await shot(editor, name);
    }
    const res = await reporter.goto("/admin/users");
    expect(res.status() === 403, `a reporter opened /admin/users: ${res.status()}`);
  });
  await check("Persian copy is edited right to left, English left to right", async () => {
    const res = await editor.goto("/admin/stories?edition=fa");
    expect(res.status() === 200, `/admin/stories?edition=fa answered ${res.status()}`);
    const cell = editor.locator("table.list td.headline").first();
    expect(await cell.count() === 1, "no Persian story in the filtered list (serve --demo fills the fa edition)");
    expect(await cell.evaluate((e) => getComputedStyle(e).direction) === "rtl", "the Persian headline cell is not rtl");
    const faEdit = await cell.locator("a").getAttribute("href");
    for (const [lang, path] of [["fa", faEdit], ["en", `/admin/stories/${newsId}/edit`]]) {
      await editor.goto(path);
      const want = lang === "fa" ? "rtl" : "ltr";
      for (const sel of ["input[name=headline]", "textarea[name=lead]", "textarea[name=body]", "input[name=tags]", "#preview"]) {
        const dir = await editor.locator(sel).evaluate((e) => getComputedStyle(e).direction);
        expect(dir === want, `${lang} ${sel}: direction ${dir}, expected ${want}`);
      }
    }
    await editor.goto("/admin/stories/new?edition=fa");
    const dir = await editor.locator("input[name=headline]").evaluate((e) => getComputedStyle(e).direction);
    expect(dir === "rtl", `a new Persian story's headline field is ${dir}`);
    // Screenshots of the list and the editor, desktop and phone, English and Persian.
    for (const [width, height, size] of [[1280, 900, "desktop"], [390, 844, "phone"]]) {
      await editor.setViewportSize({ width, height });
      for (const [lang, path] of [["en", "/admin/stories?edition=en"], ["fa", "/admin/stories?edition=fa"]]) {
        await editor.goto(path);
        await shot(editor, `15-stories-${lang}-${size}`);
      }
      for (const [lang, path] of [["en", `/admin/stories/${newsId}/edit`], ["fa", faEdit]]) {
        await editor.goto(path);
        await shot(editor, `16-editor-${lang}-${size}`);
        const overflow = await editor.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow <= 1, `the ${lang} editor scrolls sideways by ${overflow}px at ${width}px`);
      }
    }
    await editor.setViewportSize({ width: 1280, height: 900 });
  });
  await check("a second editor sees the lock banner, takes over, and the first is told", async () => {
    // The reporter opens a new draft of hers: the lock is hers, her page renews it.
    await reporter.goto("/admin/stories/new");
    await reporter.fill("input[name=headline]", `${headline} (locked)`);
    const option = reporter.locator("select[name=section_id] option").nth(1);
    await reporter.selectOption("select[name=section_id]", await option.getAttribute("value"));
    await Promise.all([reporter.waitForURL(/\/admin\/stories\/\d+\/edit/), reporter.click("form#story-form button[type=submit]")]);
    const lockedId = Number(reporter.url().match(/stories\/(\d+)\/edit/)[1]);
    expect(await reporter.locator("#edit-lock[data-heartbeat]").count() === 1, "the reporter's page renews no lock");
    await reporter.fill("textarea[name=lead]", "Unsaved words of the reporter.");
    // The editor, in another browser, finds it locked and read-only.
    await editor.goto(`/admin/stories/${lockedId}/edit`);
    const banner = await editor.locator("#edit-lock").innerText();
    expect(banner.includes("Being edited by Rita Reporter since"), `banner: ${banner}`);
    expect(await editor.locator("textarea[name=lead]").isDisabled(), "the editor's fields are not read-only");
    await shot(editor, "17-locked");
    // The take-over needs the confirmation.
    await editor.check("#edit-lock input[name=confirm]");
    await Promise.all([editor.waitForURL(/saved=takeover/), editor.click("#edit-lock button[type=submit]")]);
    expect(await editor.locator("textarea[name=lead]").isEditable(), "not editable after the take-over");
    // The reporter's page learns it at its next heartbeat (here: when its tab gets the focus back).
    await reporter.evaluate(() => window.dispatchEvent(new Event("focus")));
    await reporter.waitForSelector("#edit-lock.error:not([hidden])", { timeout: 10000 });
    const told = await reporter.locator("#edit-lock").innerText();
    expect(told.includes("Ed Editor took over editing at"), `told: ${told}`);
    expect((await reporter.inputValue("textarea[name=lead]")) === "Unsaved words of the reporter.", "her unsaved text is gone");
    expect(await reporter.locator("textarea[name=lead]").evaluate((e) => e.readOnly), "her fields are still writable");
    expect(await reporter.locator("form#story-form button[type=submit]").first().isDisabled(), "her Save button still works");
    await shot(reporter, "18-taken-over");
  });
  await check("a story dragged to another stage of a desk board moves there", async () => {
    const adminCtx = await context();
    const admin = await login(adminCtx, ADMIN);
    await admin.goto("/admin/desks");
    await admin.fill("form[action='/admin/desks'] input[name=name]", `CI desk ${Date.now()}`);
    await Promise.all([admin.waitForURL(/\/admin\/desks\/\d+\/settings/), admin.click("form[action='/admin/desks'] button[type=submit]")]);
    const deskId = admin.url().match(/\/admin\/desks\/(\d+)\/settings/)[1];
    await admin.goto(`/admin/desks/${deskId}`);
    await admin.fill("input[name=news_id]", String(newsId));
    await Promise.all([admin.waitForURL(new RegExp(`/admin/desks/${deskId}`)), admin.click("form[action$='/stories'] button[type=submit]")]);
    const stages = admin.locator(".desk-stage");
    expect(await stages.count() >= 2, "the desk has fewer than two stages");
    expect(await stages.nth(0).locator(`[data-card='${newsId}']`).count() === 1, "the story is not in the first stage");
    await Promise.all([
      admin.waitForURL(new RegExp(`/admin/desks/${deskId}`), { waitUntil: "load" }),
      admin.locator(`[data-card='${newsId}']`).dragTo(stages.nth(1)),
    ]);
    await admin.waitForSelector(`.desk-stage >> nth=1 >> [data-card='${newsId}']`, { timeout: 10000 });
    expect(await stages.nth(0).locator(`[data-card='${newsId}']`).count() === 0, "the story is still in the first stage");
    await shot(admin, "19-desk-board");
    await adminCtx.close();
  });
  await check("no script errors in any page", async () => {
    expect(errors.length === 0, errors.join("\n"));
  });
} catch (e) {
  fail("browser test crashed", e.stack || e);
} finally {
  await browser.close();
}
console.log(`screenshots: ${shots}`);
process.exit(failed ? 1 : 0);
