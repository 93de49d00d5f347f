// Click-to-load embeds in headless Chromium (Debian's chromium, driven by
// playwright-core): a story with a YouTube URL alone on its line, made
// through the write API, shows a placeholder; the browser's request log
// proves that nothing goes to the provider before the reader's click, and
// that the player's frame is requested after it (offline, that request may
// fail: it is the attempt that counts). The server's oEmbed lookups go to a
// local oEmbed server this script runs (the server was started with
// NEWSDESK_EMBEDS__OEMBED_URL pointing at it): nothing leaves the machine.
//
//   API_TOKEN=... OEMBED_PORT=... node .ci/browser/embeds.mjs BASE_URL SCREENSHOT_DIR
//
// Prints one line per check ("ok  ..." / "FAIL ..."); exits 1 if any failed.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { crc32, deflateSync } from "node:zlib";

const [base, shots] = process.argv.slice(2);
const token = process.env.API_TOKEN;
const oembedPort = Number(process.env.OEMBED_PORT);
if (!base || !shots || !token || !oembedPort) {
  console.error("usage: API_TOKEN=... OEMBED_PORT=... embeds.mjs BASE_URL SCREENSHOT_DIR");
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

/// A 160×90 PNG (a dark blue frame with a lighter band): the video's thumbnail.
function png() {
  const w = 160, h = 90;
  const rows = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = y * (w * 3 + 1) + 1 + x * 3;
      const band = y > 35 && y < 55;
      rows[o] = band ? 90 : 20; rows[o + 1] = band ? 130 : 40; rows[o + 2] = band ? 200 : 80;
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0); ihdr.writeUInt32BE(h, 4); ihdr[8] = 8; ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr), chunk("IDAT", deflateSync(rows)), chunk("IEND", Buffer.alloc(0)),
  ]);
}

// The local oEmbed server the site asks at save time.
const asked = [];
const thumb = png();
const oembed = createServer((req, res) => {
  const u = new URL(req.url, `http://127.0.0.1:${oembedPort}`);
  asked.push(u.pathname);
  if (u.pathname === "/oembed") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({
      type: "video", version: "1.0", provider_name: "YouTube", title: "CI: the launch, filmed from the coast",
      thumbnail_url: `http://127.0.0.1:${oembedPort}/thumb.png`, thumbnail_width: 160, thumbnail_height: 90,
    }));
  } else if (u.pathname === "/thumb.png") {
    res.writeHead(200, { "content-type": "image/png" });
    res.end(thumb);
  } else {
    res.writeHead(404);
    res.end();
  }
});
await new Promise((resolve) => oembed.listen(oembedPort, "127.0.0.1", resolve));

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

const VIDEO = "https://youtu.be/dQw4w9WgXcQ";
let storyUrl = null;
await check("a story with a YouTube URL alone on its line is published through the API", async () => {
  const created = await api("POST", "/api/v1/stories", {
    headline: "CI embed: the launch on video",
    section: "world",
    lead: "A story with a video that loads only when the reader asks for it.",
    body: `The launch was filmed from the coast.\n\n${VIDEO}\n\nThe rocket reached orbit nine minutes later.`,
    body_format: "markdown",
  });
  expect(created.status === 201, `POST /api/v1/stories answered ${created.status}: ${created.text}`);
  const id = created.json.news_id;
  const published = await api("POST", `/api/v1/stories/${id}/publish`, { version: created.json.version });
  expect(published.status === 200, `publish answered ${published.status}: ${published.text}`);
  storyUrl = new URL(published.json.url || created.json.url).pathname;
  expect(asked.includes("/oembed") && asked.includes("/thumb.png"), `the site asked oEmbed at save: ${asked.join(", ")}`);
});

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const local = (url) => url.startsWith(base) || url.startsWith("data:") || url.startsWith("about:");

if (storyUrl) {
  await check("nothing is requested from YouTube before the click; the frame is after it", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const requests = [];
    page.on("request", (r) => requests.push(r.url()));
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    const res = await page.goto(base + storyUrl, { waitUntil: "load" });
    expect(res && res.status() === 200, `GET ${storyUrl} answered ${res && res.status()}`);
    const csp = res.headers()["content-security-policy"] || "";
    expect(csp.includes("frame-src https://www.youtube-nocookie.com"), `the page allows YouTube's frame: ${csp}`);
    const button = page.locator("figure.embed button.embed-load");
    await button.waitFor({ state: "visible", timeout: 5000 });
    expect((await button.textContent()) === "Load content from YouTube", `button: ${await button.textContent()}`);
    expect(await page.locator("figure.embed figcaption a").textContent() === "CI: the launch, filmed from the coast",
      "the title learnt at save");
    const thumbSrc = await page.locator("figure.embed img.embed-thumb").getAttribute("src");
    expect(thumbSrc && thumbSrc.startsWith("/media/"), `the thumbnail is ours: ${thumbSrc}`);
    await page.waitForTimeout(500);
    const before = requests.filter((u) => !local(u));
    expect(before.length === 0, `requests to third parties before the click: ${before.join(", ")}`);
    await page.locator("figure.embed").scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${shots}/embed-before-click.png`, fullPage: false });
    await button.click();
    const frame = page.locator("figure.embed iframe.embed-frame");
    await frame.waitFor({ state: "attached", timeout: 5000 });
    const src = await frame.getAttribute("src");
    expect(src === "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ", `frame src: ${src}`);
    const deadline = Date.now() + 5000;
    while (!requests.some((u) => u.startsWith("https://www.youtube-nocookie.com/embed/")) && Date.now() < deadline) {
      await page.waitForTimeout(100);
    }
    expect(requests.some((u) => u.startsWith("https://www.youtube-nocookie.com/embed/")),
      `the frame was requested after the click: ${requests.filter((u) => !local(u)).join(", ") || "nothing"}`);
    expect(errors.length === 0, `script errors: ${errors.join("; ")}`);
    await page.screenshot({ path: `${shots}/embed-after-click.png`, fullPage: false });
    await ctx.close();
  });

  await check("without JavaScript the placeholder links to the original", async () => {
    const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    const requests = [];
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(base + storyUrl, { waitUntil: "load" });
    const href = await page.locator("figure.embed figcaption a").getAttribute("href");
    expect(href === "https://www.youtube.com/watch?v=dQw4w9WgXcQ", `link: ${href}`);
    expect(await page.locator("figure.embed button").count() === 0, "no button that would do nothing");
    const outside = requests.filter((u) => !local(u));
    expect(outside.length === 0, `requests to third parties: ${outside.join(", ")}`);
    await page.locator("figure.embed").scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${shots}/embed-no-js-phone.png`, fullPage: false });
    await ctx.close();
  });
}

await browser.close();
oembed.close();
process.exit(failed ? 1 : 0);
