// The story editor in headless Chromium (Debian's chromium, driven by
// playwright-core): the Markdown toolbar and shortcuts, Ctrl+S, paste from
// Word and Google Docs, the counts, the photo and embed dialogs, and the full
// preview (headline, lead, direction of a Persian story).
//
//   node .ci/browser/editor.mjs BASE_URL SCREENSHOT_DIR
//
// Needs editor@ci.example with the password in EDITOR_PASSWORD (.ci/run makes
// it) and the demo's Persian edition. Prints one line per check ("ok  ..." /
// "FAIL ..."); exits 1 if any failed.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error("usage: editor.mjs BASE_URL SCREENSHOT_DIR");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok    ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL  ${name}\n      ${String(e && e.message ? e.message : e).split("\n").join("\n      ")}`);
  }
}
function expect(cond, msg) { if (!cond) throw new Error(msg); }
// A field's value once `ok` holds for it, or its last value after 5 s. The
// dialogs insert from their `close` event, which the browser fires in a later
// task than the one that hides them, so the value is read until it is in.
async function valueWhen(field, ok) {
  const end = Date.now() + 5000;
  let v = await field.inputValue();
  while (!ok(v) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    v = await field.inputValue();
  }
  return v;
}
// The page after a save: the next document of the main frame at `?saved=`
// (not the current URL, which may already say `saved=` from the last save),
// read once its HTML is in (its images and frames need not have loaded).
async function savedPage(page) {
  await page.waitForEvent("framenavigated", {
    predicate: (f) => f === page.mainFrame() && /[?&]saved=/.test(f.url()),
    timeout: 30000,
  });
  await page.waitForLoadState("domcontentloaded");
}

// What Word puts on the clipboard (trimmed): conditional comments, mso- styles,
// o:p elements, a list made of paragraphs with their bullets in ignored spans.
const WORD = `<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word">
<head><meta name=Generator content="Microsoft Word 15"><style><!-- p.MsoNormal {mso-style-parent:""; margin:0cm;} --></style>
<!--[if gte mso 9]><xml><o:OfficeDocumentSettings><o:AllowPNG/></o:OfficeDocumentSettings></xml><![endif]--></head>
<body lang=EN-GB style='tab-interval:36.0pt'><!--StartFragment-->
<h2 style='mso-margin-top-alt:auto'><span style='mso-fareast-font-family:"Times New Roman"'>Talks resume in Vienna<o:p></o:p></span></h2>
<p class=MsoNormal><span style='font-size:12.0pt;mso-bidi-font-family:Calibri'>Negotiators met on <b>Monday</b> for the <i>first</i> time since <a href="https://example.org/talks">the spring</a>.<o:p></o:p></span></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoListParagraphCxSpFirst style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'><![if !supportLists]><span style='font-family:Symbol;mso-fareast-font-family:Symbol'><span style='mso-list:Ignore'>·<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp; </span></span></span><![endif]>Sanctions relief<o:p></o:p></p>
<p class=MsoListParagraphCxSpLast style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'><![if !supportLists]><span style='font-family:Symbol'><span style='mso-list:Ignore'>·<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp; </span></span></span><![endif]>Inspections<o:p></o:p></p>
<p class=MsoQuote style='margin-left:36pt'><span style='mso-bidi-font-weight:bold'>Nothing is agreed</span><o:p></o:p></p>
<!--EndFragment--></body></html>`;

// What Google Docs puts on the clipboard: everything in a <b> of normal weight, marks as styles.
const GDOCS = `<meta charset="utf-8"><b style="font-weight:normal;" id="docs-internal-guid-1234"><h1 dir="ltr" style="line-height:1.38"><span style="font-size:20pt;font-weight:400">Oil exports</span></h1><p dir="ltr" style="line-height:1.38"><span style="font-weight:700;font-style:normal">Exports rose</span><span style="font-weight:400"> by a </span><span style="font-weight:400;font-style:italic">third</span><span style="font-weight:400">.</span></p><br><ol style="margin:0"><li dir="ltr" style="list-style-type:decimal"><p dir="ltr"><span>One</span></p></li><li dir="ltr"><p dir="ltr"><span>Two</span></p></li></ol><blockquote><p><span>A quote</span></p></blockquote></b>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const errors = [];
try {
  const ctx = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto("/admin/login");
  await page.fill("input[name=email]", "editor@ci.example");
  await page.fill("input[name=password]", process.env.EDITOR_PASSWORD);
  await Promise.all([page.waitForURL(/\/admin(\?|$|\/$)/), page.click("button[type=submit]")]);

  // A draft to work on.
  const headline = `Editor check ${Date.now()}`;
  await page.goto("/admin/stories/new");
  await page.fill("input[name=headline]", headline);
  await page.fill("textarea[name=lead]", "The lead of the editor check.");
  const section = await page.locator("select[name=section_id] option").nth(1).getAttribute("value");
  await page.selectOption("select[name=section_id]", section);
  await page.fill("textarea[name=body]", "Hello world");
  await Promise.all([page.waitForURL(/\/admin\/stories\/\d+\/edit/), page.click("form#story-form button[value=save]")]);
  const newsId = Number(page.url().match(/stories\/(\d+)\/edit/)[1]);
  const body = page.locator("textarea[name=body]");

  await check("the toolbar shows with named buttons; Ctrl+B wraps the selection in **", async () => {
    expect(await page.locator("[data-editor-toolbar]").isVisible(), "no toolbar");
    for (const name of ["Bold", "Italic", "Link", "Subheading", "Bulleted list", "Numbered list", "Quote", "Photo", "Embed"]) {
      expect(await page.getByRole("button", { name, exact: true }).count() === 1, `no button named ${name}`);
    }
    await page.getByRole("button", { name: "Bold", exact: true }).focus();
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => document.activeElement.dataset.md) === "italic", "ArrowRight does not move along the toolbar");
    await page.keyboard.press("End");
    expect(await page.evaluate(() => document.activeElement.dataset.md) === "embed", "End does not reach the last button");
    await body.evaluate((t) => { t.focus(); t.setSelectionRange(6, 11); });
    await page.keyboard.press("Control+B");
    expect(await body.inputValue() === "Hello **world**", `body is ${JSON.stringify(await body.inputValue())}`);
    await page.keyboard.press("Control+B");
    expect(await body.inputValue() === "Hello world", "a second Ctrl+B does not unwrap");
    await body.evaluate((t) => { t.focus(); t.setSelectionRange(0, 5); });
    await page.keyboard.press("Control+I");
    expect(await body.inputValue() === "*Hello* world", `Ctrl+I gave ${JSON.stringify(await body.inputValue())}`);
    await page.getByRole("button", { name: "Subheading", exact: true }).click();
    expect(await body.inputValue() === "## *Hello* world", `Subheading gave ${JSON.stringify(await body.inputValue())}`);
    await page.getByRole("button", { name: "Quote", exact: true }).click();
    expect(await body.inputValue() === "> ## *Hello* world", `Quote gave ${JSON.stringify(await body.inputValue())}`);
    await body.fill("one\ntwo");
    await body.evaluate((t) => { t.focus(); t.setSelectionRange(0, t.value.length); });
    await page.getByRole("button", { name: "Numbered list", exact: true }).click();
    expect(await body.inputValue() === "1. one\n2. two", `Numbered list gave ${JSON.stringify(await body.inputValue())}`);
    await page.getByRole("button", { name: "Bulleted list", exact: true }).click();
    expect(await body.inputValue() === "- one\n- two", `Bulleted list gave ${JSON.stringify(await body.inputValue())}`);
  });

  await check("Ctrl+K asks for an address, refuses javascript:, inserts a link", async () => {
    await body.fill("Read the report now.");
    await body.evaluate((t) => { t.focus(); t.setSelectionRange(9, 15); });
    await page.keyboard.press("Control+K");
    const dialog = page.locator("dialog[data-url-dialog]");
    await dialog.waitFor({ state: "visible" });
    await dialog.locator("input").fill("javascript:alert(1)");
    await dialog.locator("button[value=insert]").click();
    expect(await dialog.locator("[data-url-error]").isVisible(), "no error for javascript:");
    await dialog.locator("input").fill("https://example.org/report");
    await dialog.locator("button[value=insert]").click();
    await dialog.waitFor({ state: "hidden" });
    const v = await valueWhen(body, (v) => v === "Read the [report](https://example.org/report) now.");
    expect(v === "Read the [report](https://example.org/report) now.", `body is ${JSON.stringify(v)}`);
  });

  await check("Embed puts a URL alone on its line", async () => {
    await body.evaluate((t) => { t.focus(); t.setSelectionRange(t.value.length, t.value.length); });
    await page.getByRole("button", { name: "Embed", exact: true }).click();
    const dialog = page.locator("dialog[data-url-dialog]");
    await dialog.locator("input").fill("https://www.youtube.com/watch?v=dQw4w9WgXcQ");
    await dialog.locator("button[value=insert]").click();
    const v = await valueWhen(body, (v) => v.endsWith(" now.\n\nhttps://www.youtube.com/watch?v=dQw4w9WgXcQ\n"));
    expect(v.endsWith(" now.\n\nhttps://www.youtube.com/watch?v=dQw4w9WgXcQ\n"), `body is ${JSON.stringify(v)}`);
  });

  await check("Photo: an upload in the dialog, its caption and credit for this story, inserted as photo:ID", async () => {
    await page.getByRole("button", { name: "Photo", exact: true }).click();
    const dialog = page.locator("dialog[data-photo-dialog]");
    await dialog.waitFor({ state: "visible" });
    const png = await page.screenshot({ clip: { x: 0, y: 0, width: 640, height: 360 } });
    await dialog.locator("input[type=file]").setInputFiles({ name: "scene.png", mimeType: "image/png", buffer: png });
    await dialog.locator("[data-photo-chosen]").waitFor({ state: "visible", timeout: 20000 });
    await dialog.locator("[data-photo-caption]").fill("Delegates in [Vienna]");
    await dialog.locator("[data-photo-credit]").fill('Agency "Photo" desk');
    await shot(page, "editor-photo-dialog");
    await dialog.locator("button[value=insert]").click();
    const want = /\n\n!\[Delegates in \\\[Vienna\\\]\]\(photo:\d+ "Agency \\"Photo\\" desk"\)\n/;
    const v = await valueWhen(body, (v) => want.test(v));
    expect(want.test(v), `body is ${JSON.stringify(v)}`);
    // The library's search answers the dialog too.
    await page.getByRole("button", { name: "Photo", exact: true }).click();
    await dialog.locator("[data-photo-results] button").first().waitFor({ timeout: 10000 });
    await page.keyboard.press("Escape");
  });

  await check("paste from Word becomes clean Markdown", async () => {
    await body.fill("");
    await body.focus();
    await body.evaluate((t, html) => {
      const data = new DataTransfer();
      data.setData("text/html", html);
      data.setData("text/plain", "plain");
      t.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
    }, WORD);
    const v = await body.inputValue();
    const want = "## Talks resume in Vienna\n\nNegotiators met on **Monday** for the *first* time since [the spring](https://example.org/talks).\n\n- Sanctions relief\n- Inspections\n\nNothing is agreed";
    expect(v === want, `pasted ${JSON.stringify(v)}`);
  });

  await check("paste from Google Docs: weights and styles become marks, lists and quotes kept", async () => {
    const md = await page.evaluate((html) => window.newsdeskEditor.htmlToMarkdown(html), GDOCS);
    const want = "## Oil exports\n\n**Exports rose** by a *third*.\n\n1. One\n2. Two\n\n> A quote";
    expect(md === want, `converted ${JSON.stringify(md)}`);
    const junk = await page.evaluate(() => window.newsdeskEditor.htmlToMarkdown('<p style="mso-x:1"><span>a*b_c [d]</span><!-- c --><script>x()</script></p><p>&nbsp;</p><p># not a heading</p>'));
    expect(junk === "a\\*b_c \\[d\\]\n\n\\# not a heading", `escaped ${JSON.stringify(junk)}`);
  });

  await check("word and character counts follow the body; the headline gets length guidance", async () => {
    await body.fill("One two **three**.\n\nFour [five](https://example.org).");
    const count = await page.locator("#body-count").innerText();
    expect(count === "5 words · 25 characters", `count says ${JSON.stringify(count)}`);
    await page.fill("input[name=headline]", "x".repeat(90));
    expect(await page.locator("#headline-count.warning").count() === 1, "no warning for a 90-character headline");
    await page.fill("input[name=headline]", headline);
    expect(await page.locator("#headline-count.warning").count() === 0, "a warning for a short headline");
  });

  await check("the preview shows the text on the screen as readers will: headline, lead, no publish date for a draft", async () => {
    await page.fill("input[name=headline]", `${headline} (unsaved)`);
    const frame = page.frameLocator("#preview");
    await frame.locator("h1", { hasText: "(unsaved)" }).waitFor({ timeout: 10000 });
    expect((await frame.locator("p.lead").innerText()) === "The lead of the editor check.", "no lead in the preview");
    expect((await frame.locator(".story-body").innerText()).includes("One two three."), "no body in the preview");
    const meta = await frame.locator(".story-meta").innerText();
    expect(meta.includes("not published yet"), `the draft's preview says ${JSON.stringify(meta)}`);
    expect(await frame.locator("head base[target=_blank]").count() === 1, "links of the preview do not open in a tab");
    // The publish bar's Preview opens the same page in a tab (the form posted there, nothing saved).
    const [tab] = await Promise.all([ctx.waitForEvent("page"), page.click("button[data-full-preview]")]);
    await tab.waitForLoadState();
    expect((await tab.locator("h1").first().innerText()).includes("(unsaved)"), "the preview tab lacks the unsaved headline");
    await tab.close();
    await page.fill("input[name=headline]", headline);
  });

  await check("Ctrl+S saves through the form: the version goes up and the notice shows", async () => {
    const before = Number(await page.locator("input[name=version]").inputValue());
    await page.fill("input[name=headline]", `${headline} saved`);
    await body.focus();
    await Promise.all([savedPage(page), page.keyboard.press("Control+S")]);
    const after = Number(await page.locator("input[name=version]").inputValue());
    expect(after === before + 1, `version ${before} → ${after}`);
    expect(await page.locator("p.notice").count() > 0, "no notice after saving");
    expect((await page.locator("input[name=headline]").inputValue()) === `${headline} saved`, "the headline was not saved");
  });

  await check("unsaved text is kept in this browser and offered back after a closed tab; once saved it is not", async () => {
    const first = await ctx.newPage();
    first.on("pageerror", (e) => errors.push(e.message));
    // The server's draft autosave is cut off, as by a lost connection or a crash before it ran.
    await first.route("**/autosave", (r) => r.abort());
    await first.goto(`/admin/stories/${newsId}/edit`);
    const kept = `${headline} typed before the tab closed`;
    await first.fill("input[name=headline]", kept);
    await first.waitForTimeout(600);
    await first.close(); // no beforeunload: the tab is gone, as after a crash
    const other = await ctx.newPage();
    other.on("pageerror", (e) => errors.push(e.message));
    await other.goto(`/admin/stories/${newsId}/edit`);
    const offer = other.locator(".unsaved-copy");
    await offer.waitFor({ timeout: 5000 });
    expect((await other.locator("input[name=headline]").inputValue()) !== kept, "the page opened with the unsaved text already in it");
    await other.getByRole("button", { name: "Restore unsaved changes" }).click();
    expect((await other.locator("input[name=headline]").inputValue()) === kept, "Restore did not bring the headline back");
    expect(await offer.count() === 0, "the offer stays after Restore");
    await Promise.all([savedPage(other), other.click("form#story-form button[value=save]")]);
    await other.close();
    const third = await ctx.newPage();
    await third.goto(`/admin/stories/${newsId}/edit`);
    await third.waitForTimeout(500);
    expect(await third.locator(".unsaved-copy").count() === 0, "text that was saved is offered back");
    expect((await third.locator("input[name=headline]").inputValue()) === kept, "the save did not keep the headline");
    await third.close();
  });

  await check("a Persian story: toolbar in Persian and rtl, preview rtl with its headline", async () => {
    await page.goto("/admin/stories/new?edition=fa");
    await page.fill("input[name=headline]", "گفت‌وگوها در وین از سر گرفته شد");
    await page.fill("textarea[name=lead]", "مذاکره‌کنندگان روز دوشنبه دیدار کردند.");
    await page.selectOption("select[name=section_id]", await page.locator("select[name=section_id] option").nth(1).getAttribute("value"));
    await page.fill("textarea[name=body]", "متن **خبر** در دو بند.\n\nبند دوم.");
    await Promise.all([page.waitForURL(/\/admin\/stories\/\d+\/edit/), page.click("form#story-form button[value=save]")]);
    const bar = page.locator("[data-editor-toolbar]");
    expect(await bar.evaluate((e) => getComputedStyle(e).direction) === "rtl", "the toolbar is not rtl");
    expect(await page.getByRole("button", { name: "پررنگ", exact: true }).count() === 1, "no Persian Bold button");
    const faHeadline = await page.locator("input[name=headline]").inputValue();
    const frame = page.frameLocator("#preview");
    await frame.locator("h1").first().waitFor({ timeout: 10000 });
    expect((await frame.locator("h1").first().innerText()) === faHeadline, "the preview lacks the Persian headline");
    expect(await frame.locator("html").getAttribute("dir") === "rtl", "the preview page is not dir=rtl");
    expect(await frame.locator(".story-body").evaluate((e) => getComputedStyle(e).direction) === "rtl", "the preview body is not rtl");
    const count = await page.locator("#body-count").innerText();
    expect(/[۰-۹]/.test(count) && /واژه/.test(count), `the Persian count says ${JSON.stringify(count)}`);
  });

  await check("screenshots of the editor, English and Persian, desktop and phone", async () => {
    const faHref = page.url();
    for (const [width, height, size] of [[1280, 900, "desktop"], [390, 844, "phone"]]) {
      await page.setViewportSize({ width, height });
      for (const [lang, path] of [["en", `/admin/stories/${newsId}/edit`], ["fa", faHref]]) {
        await page.goto(path);
        await page.frameLocator("#preview").locator("h1").first().waitFor({ timeout: 10000 });
        await shot(page, `editor-${lang}-${size}`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        expect(overflow <= 1, `the ${lang} editor scrolls sideways by ${overflow}px at ${width}px`);
      }
    }
  });

  await check("without JavaScript: no toolbar, the plain textarea, and Preview still shows the unsaved text", async () => {
    const plain = await browser.newContext({ baseURL: base, javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
    await plain.addCookies(await ctx.cookies());
    const p = await plain.newPage();
    await p.goto(`/admin/stories/${newsId}/edit`);
    expect(!(await p.locator("[data-editor-toolbar]").isVisible()), "the toolbar shows without its script");
    expect(await p.locator("textarea[name=body]").isEditable(), "the body cannot be typed in");
    await p.fill("input[name=headline]", `${headline} without script`);
    const [tab] = await Promise.all([plain.waitForEvent("page"), p.click("button[data-full-preview]")]);
    await tab.waitForLoadState();
    expect((await tab.locator("h1").first().innerText()) === `${headline} without script`, "the preview tab lacks the typed headline");
    await plain.close();
  });

  await check("no script errors on the pages", async () => {
    expect(errors.length === 0, errors.join("\n"));
  });
} finally {
  await browser.close();
}
async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}
process.exit(failed ? 1 : 0);
