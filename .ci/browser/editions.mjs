// The Persian and Arabic demo editions in headless Chromium (Debian's chromium,
// driven by playwright-core; no browser download): right-to-left pages as a
// browser lays them out, Persian digits and the Solar Hijri date, mirrored
// layout, no horizontal overflow; screenshots for a person to look at.
//
//   node .ci/browser/editions.mjs BASE_URL SCREENSHOT_DIR
//
// Needs the demo site (`newsdesk serve --demo`). Prints one line per check
// ("ok  ..." / "FAIL ..."); exits 1 if any failed.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: editions.mjs BASE_URL SCREENSHOT_DIR");
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

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});

/// What the browser made of the page: direction, language, layout.
async function layout(page) {
  return page.evaluate(() => {
    const html = document.documentElement;
    const main = document.querySelector("main")?.getBoundingClientRect();
    const side = document.querySelector("aside.sidebar")?.getBoundingClientRect();
    const brand = document.querySelector(".brand")?.getBoundingClientRect();
    return {
      dir: html.getAttribute("dir"),
      lang: html.getAttribute("lang"),
      direction: getComputedStyle(document.body).direction,
      textAlign: getComputedStyle(document.querySelector("main p, main h1, main h2") || document.body).textAlign,
      mainX: main ? main.x : null,
      sideX: side ? side.x : null,
      brandRight: brand ? brand.right : null,
      width: html.clientWidth,
      overflow: html.scrollWidth - html.clientWidth,
      text: document.body.innerText,
    };
  });
}

async function visit(ctx, path, name) {
  const page = await ctx.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const res = await page.goto(path, { waitUntil: "load" });
  expect(res && res.status() === 200, `GET ${path} answered ${res && res.status()}`);
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
  const l = await layout(page);
  expect(errors.length === 0, `script errors: ${errors.join("; ")}`);
  return { page, l, url: page.url() };
}

function rtlChecks(l, lang) {
  expect(l.dir === "rtl", `<html dir> is ${l.dir}`);
  expect(l.lang === lang, `<html lang> is ${l.lang}`);
  expect(l.direction === "rtl", `computed direction is ${l.direction}`);
  expect(l.overflow <= 1, `the page scrolls sideways by ${l.overflow}px`);
  // Mirrored: the main column on the right, the sidebar on its left, the brand at the right edge.
  expect(l.mainX !== null && l.sideX !== null && l.mainX > l.sideX, `main at x=${l.mainX}, sidebar at x=${l.sideX}`);
  expect(l.brandRight !== null && l.brandRight > l.width / 2, `brand ends at x=${l.brandRight} of ${l.width}`);
}

try {
  const ctx = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });

  let faStory = null;
  await check("English seed story links its Persian translation", async () => {
    const { page, l } = await visit(ctx, "/news/84427", "editions-en-story");
    expect(l.dir === "ltr" && l.direction === "ltr", `English page is ${l.dir}/${l.direction}`);
    faStory = await page.getAttribute('link[rel=alternate][hreflang=fa]', "href");
    expect(faStory && faStory.includes("/fa/news/"), `hreflang fa is ${faStory}`);
  });

  await check("/fa/ is right to left and mirrored", async () => {
    const { l } = await visit(ctx, "/fa/", "editions-fa-home");
    rtlChecks(l, "fa");
    expect(/[۰-۹]/.test(l.text), "Persian digits on the page");
    expect(!/\b20[0-9]{2}\b/.test(l.text.replace(/newsdesk[^\n]*/g, "")), "no Gregorian years in Latin digits");
    expect(l.text.includes("صفحه نخست") && l.text.includes("تازه‌ترین‌ها"), "Persian navigation and sidebar");
  });

  await check("Persian story: Solar Hijri date in Persian digits, Persian labels", async () => {
    expect(faStory, "no Persian story link");
    const { page, l } = await visit(ctx, faStory, "editions-fa-story");
    rtlChecks(l, "fa");
    expect(l.text.includes("۲۴ آبان ۱۴۰۲ - ۱۴:۳۷"), "the seed time as ۲۴ آبان ۱۴۰۲ - ۱۴:۳۷");
    expect(l.text.includes("کد خبر") && l.text.includes("تاریخ انتشار"), "Persian labels");
    const iso = await page.getAttribute(".story-meta time", "datetime");
    expect(iso === "2023-11-15T14:37:00+03:30", `datetime attribute ${iso}`);
    const en = await page.getAttribute('link[rel=alternate][hreflang=en]', "href");
    expect(en && en.includes("/news/84427/"), `hreflang en is ${en}`);
    // The lead's rule sits on the right in a right-to-left page.
    const border = await page.evaluate(() => getComputedStyle(document.querySelector(".lead")).borderRightWidth);
    expect(border === "4px", `lead border-right is ${border}`);
  });

  let arStory = null;
  await check("/ar/ is right to left with Arabic-Indic digits", async () => {
    const { page, l } = await visit(ctx, "/ar/", "editions-ar-home");
    rtlChecks(l, "ar");
    expect(/[٠-٩]/.test(l.text), "Arabic-Indic digits on the page");
    expect(l.text.includes("الرئيسية"), "Arabic navigation");
    arStory = await page.getAttribute(".top-story h2 a", "href");
    expect(arStory && arStory.startsWith("/ar/news/"), `top story link ${arStory}`);
  });

  await check("Arabic story page", async () => {
    expect(arStory, "no Arabic story link");
    const { l } = await visit(ctx, arStory, "editions-ar-story");
    rtlChecks(l, "ar");
    expect(l.text.includes("رقم الخبر") && l.text.includes("تاريخ النشر"), "Arabic labels");
  });

  await check("Persian home on a phone: one column, no sideways scrolling", async () => {
    const phone = await browser.newContext({ baseURL: base, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const page = await phone.newPage();
    await page.goto("/fa/");
    await page.screenshot({ path: `${shots}/editions-fa-phone.png`, fullPage: false });
    const l = await layout(page);
    expect(l.overflow <= 1, `the page scrolls sideways by ${l.overflow}px`);
    expect(l.direction === "rtl", `computed direction is ${l.direction}`);
    await phone.close();
  });
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
