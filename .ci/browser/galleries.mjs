// The gallery viewer in headless Chromium (Debian's chromium, driven by
// playwright-core). An editor makes a gallery in the back office (photos of
// the demo's media library, per-use captions, one moved up with the
// keyboard), an English story shows it as its lead (made and published
// through the write API) and a Persian story inside its body (made with the
// editor's form in the fa edition). Then: the viewer moves with the arrow
// keys, Home and End, says where it is (aria-live), marks the current
// thumbnail, mirrors the arrows in the right-to-left page, and without
// JavaScript every photo is in the page. Screenshots at 1280 and 390 px.
//
//   EDITOR_EMAIL=... EDITOR_PASSWORD=... API_TOKEN=... node .ci/browser/galleries.mjs BASE_URL SCREENSHOT_DIR
//
// Prints one line per check ("ok  ..." / "FAIL ..."); exits 1 if any failed.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, shots] = process.argv.slice(2);
const email = process.env.EDITOR_EMAIL;
const password = process.env.EDITOR_PASSWORD;
const token = process.env.API_TOKEN;
if (!base || !shots || !email || !password || !token) {
  console.error("usage: EDITOR_EMAIL=... EDITOR_PASSWORD=... API_TOKEN=... galleries.mjs BASE_URL SCREENSHOT_DIR");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

let failed = 0;
function ok(name) { console.log(`ok    ${name}`); }
function fail(name, why) { failed++; console.log(`FAIL  ${name}\n      ${String(why).split("\n").join("\n      ")}`); }
async function check(name, fn) {
  try { await fn(); ok(name); } catch (e) { fail(name, e && e.message ? e.message : e); }
}
function expect(cond, msg) { if (!cond) throw new Error(msg); }

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json, text };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const errors = [];
async function context(opts = {}) {
  const ctx = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 }, ...opts });
  ctx.on("page", (p) => p.on("pageerror", (e) => errors.push(e.message)));
  return ctx;
}

let galleryId = null;
let enPath = null;
let faPath = null;

try {
  const adminCtx = await context();
  const admin = await adminCtx.newPage();
  await check("the editor logs in", async () => {
    await admin.goto("/admin/login");
    await admin.fill("input[name=email]", email);
    await admin.fill("input[name=password]", password);
    await Promise.all([admin.waitForURL(/\/admin(\?|$|\/$)/), admin.click("button[type=submit]")]);
  });

  await check("a gallery is made in the back office: photos from the library, captions, one moved up by keyboard", async () => {
    await admin.goto("/admin/galleries");
    await admin.fill("input[name=title]", "CI gallery: the coast after the storm");
    await Promise.all([admin.waitForURL(/\/admin\/galleries\/\d+/), admin.click("button:has-text('Create gallery')")]);
    galleryId = Number(new URL(admin.url()).pathname.split("/").pop());
    expect(galleryId > 0, `no gallery id in ${admin.url()}`);
    expect((await admin.locator(".notice").innerText()).includes("Gallery created"), "no confirmation");
    const boxes = admin.locator("input[name=add]:not([disabled])");
    expect(await boxes.count() >= 3, `the library offers ${await boxes.count()} photos`);
    for (let i = 0; i < 3; i++) await boxes.nth(i).check();
    await Promise.all([admin.waitForURL(/notice=gallery/), admin.click("button:has-text('Add and save')")]);
    expect(await admin.locator(".gallery-item").count() === 3, "three photos in the gallery");
    const captions = admin.locator(".gallery-item input[name=caption]");
    await captions.nth(0).fill("The harbour wall, breached overnight");
    await captions.nth(1).fill("قایق‌های ماهیگیری پس از طوفان");
    await captions.nth(2).fill("Volunteers clearing the promenade");
    await admin.locator(".gallery-item input[name=credit]").nth(2).fill("Photo: CI / Newsdesk");
    const thirdPhoto = await admin.locator(".gallery-item input[name=photo_id]").nth(2).inputValue();
    // Keyboard only: focus "Move up, photo 3" and press Enter.
    await admin.locator("button[aria-label='Move up, photo 3']").focus();
    await Promise.all([admin.waitForURL(/#item-2$/), admin.keyboard.press("Enter")]);
    const order = await admin.locator(".gallery-item input[name=photo_id]").evaluateAll((els) => els.map((e) => e.value));
    expect(order[1] === thirdPhoto, `photo ${thirdPhoto} moved to place 2: ${order.join(", ")}`);
    expect(await admin.locator(".gallery-item input[name=caption]").nth(1).inputValue() === "Volunteers clearing the promenade",
      "its caption moved with it");
    await admin.screenshot({ path: `${shots}/gallery-admin.png`, fullPage: true });
  });

  await check("an English story leads with the gallery (write API)", async () => {
    const created = await api("POST", "/api/v1/stories", {
      headline: "CI gallery: the coast counts the damage",
      section: "world",
      lead: "Photos from the morning after the storm.",
      body: "The storm reached the coast at night.\n\nBy morning the harbour wall had given way.",
      gallery_id: galleryId,
    });
    expect(created.status === 201, `POST /api/v1/stories answered ${created.status}: ${created.text}`);
    const published = await api("POST", `/api/v1/stories/${created.json.news_id}/publish`, { version: created.json.version });
    expect(published.status === 200, `publish answered ${published.status}: ${published.text}`);
    enPath = new URL(published.json.url || created.json.url).pathname;
  });

  await check("a Persian story shows the gallery inside its body (the editor's form, fa edition)", async () => {
    await admin.goto("/admin/stories/new?edition=fa");
    const csrf = await admin.locator("body").getAttribute("data-csrf");
    const section = await admin.locator("select[name=section_id] option[value]:not([value=''])").first().getAttribute("value");
    const res = await adminCtx.request.post("/admin/stories", {
      form: {
        csrf, edition: "fa", headline: "گالری آزمایشی: ساحل پس از طوفان", lead: "عکس‌های صبح پس از طوفان.",
        body: `طوفان شب به ساحل رسید.\n\ngallery:${galleryId}\n\nصبح دیوار بندر فرو ریخته بود.`,
        body_format: "markdown", section_id: section, tags: "", authors: "", editorial_note: "",
      },
      maxRedirects: 0,
    });
    expect(res.status() === 303, `the editor's form answered ${res.status()}`);
    const id = Number(res.headers().location.split("/")[3]);
    const story = await api("GET", `/api/v1/stories/${id}`);
    const version = (story.json && story.json.version) || 1;
    const published = await api("POST", `/api/v1/stories/${id}/publish`, { version });
    expect(published.status === 200, `publish answered ${published.status}: ${published.text}`);
    faPath = new URL(published.json.url).pathname;
  });

  async function viewer(page) {
    return page.evaluate(() => {
      const g = document.querySelector("section.gallery");
      const slides = [...g.querySelectorAll(".gallery-slide")];
      return {
        enhanced: g.classList.contains("gallery-enhanced"),
        shown: slides.map((s, i) => (s.hidden ? null : i + 1)).filter(Boolean),
        status: (g.querySelector(".gallery-status") || {}).textContent || "",
        live: (g.querySelector(".gallery-status") || { getAttribute: () => null }).getAttribute("aria-live"),
        current: [...g.querySelectorAll(".gallery-thumb")].findIndex((t) => t.getAttribute("aria-current") === "true") + 1,
        prev: (g.querySelector(".gallery-prev") || { getAttribute: () => null }).getAttribute("aria-label"),
        prevMark: (g.querySelector(".gallery-prev span") || {}).textContent || "",
      };
    });
  }

  for (const width of [1280, 390]) {
    const ctx = await context({ viewport: { width, height: 900 } });
    const page = await ctx.newPage();
    await check(`English at ${width}px: the viewer moves with the arrow keys, Home and End, and says where it is`, async () => {
      await page.goto(enPath);
      let v = await viewer(page);
      expect(v.enhanced, "the script took over the viewer");
      expect(v.shown.join() === "1" && v.status === "Photo 1 of 3" && v.live === "polite" && v.current === 1,
        `at the start: ${JSON.stringify(v)}`);
      await page.locator(".gallery-next").focus();
      await page.keyboard.press("ArrowRight");
      v = await viewer(page);
      expect(v.shown.join() === "2" && v.status === "Photo 2 of 3" && v.current === 2, `after ArrowRight: ${JSON.stringify(v)}`);
      await page.keyboard.press("End");
      v = await viewer(page);
      expect(v.shown.join() === "3" && v.status === "Photo 3 of 3", `after End: ${JSON.stringify(v)}`);
      await page.keyboard.press("ArrowLeft");
      v = await viewer(page);
      expect(v.shown.join() === "2", `after ArrowLeft: ${JSON.stringify(v)}`);
      await page.keyboard.press("Home");
      await page.locator(".gallery-thumb").nth(2).click();
      v = await viewer(page);
      expect(v.shown.join() === "3" && v.current === 3, `after a click on the third thumbnail: ${JSON.stringify(v)}`);
      await page.locator(".gallery-prev").click();
      await page.screenshot({ path: `${shots}/gallery-en-${width}.png`, fullPage: false });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    });
    await check(`Persian at ${width}px: right-to-left, arrows mirrored, Persian words and digits`, async () => {
      await page.goto(faPath);
      let v = await viewer(page);
      expect(v.status === "عکس ۱ از ۳" && v.prev === "عکس قبلی", `at the start: ${JSON.stringify(v)}`);
      // Mirrored: "previous" sits on the right, "next" on the left, their marks in a right-to-left run.
      const [p, n] = [await page.locator(".gallery-prev").boundingBox(), await page.locator(".gallery-next").boundingBox()];
      expect(p.x > n.x, `previous (x ${p.x}) right of next (x ${n.x})`);
      const dir = await page.locator(".gallery-prev span").evaluate((e) => getComputedStyle(e).direction);
      expect(dir === "rtl", `the marks are in a right-to-left run: ${dir}`);
      await page.locator(".gallery-next").focus();
      await page.keyboard.press("ArrowLeft");
      v = await viewer(page);
      expect(v.shown.join() === "2" && v.status === "عکس ۲ از ۳", `ArrowLeft goes forward in RTL: ${JSON.stringify(v)}`);
      await page.keyboard.press("ArrowRight");
      v = await viewer(page);
      expect(v.shown.join() === "1", `ArrowRight goes back in RTL: ${JSON.stringify(v)}`);
      await page.locator(".gallery-next").click();
      await page.locator("section.gallery").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${shots}/gallery-fa-${width}.png`, fullPage: false });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    });
    await ctx.close();
  }

  await check("without JavaScript every photo is in the page, each with a thumbnail link to it", async () => {
    const ctx = await context({ javaScriptEnabled: false });
    const page = await ctx.newPage();
    await page.goto(enPath);
    const s = await page.evaluate(() => {
      const g = document.querySelector("section.gallery");
      const slides = [...g.querySelectorAll(".gallery-slide")];
      return {
        slides: slides.length,
        visible: slides.filter((x) => getComputedStyle(x).display !== "none" && !x.hidden).length,
        links: [...g.querySelectorAll("a.gallery-thumb")].map((a) => a.getAttribute("href")),
        ids: slides.map((x) => "#" + x.id),
        scrolls: getComputedStyle(g.querySelector(".gallery-slides")).overflowX,
      };
    });
    expect(s.slides === 3 && s.visible === 3, `all three shown: ${JSON.stringify(s)}`);
    expect(JSON.stringify(s.links) === JSON.stringify(s.ids), `thumbnails link to the photos: ${JSON.stringify(s)}`);
    expect(s.scrolls === "auto", `the strip scrolls sideways: ${s.scrolls}`);
    await page.locator("a.gallery-thumb").nth(2).click();
    await page.screenshot({ path: `${shots}/gallery-nojs.png`, fullPage: false });
    await ctx.close();
  });

  await check("no script errors on the pages", async () => {
    expect(errors.length === 0, errors.join("\n"));
  });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
