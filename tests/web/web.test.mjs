// The device page in a real browser: Debian's chromium, headless, driven by
// playwright-core (tests/integration/test_web_browser.sh starts the
// simulated devices and passes them in the environment):
//   ALOFT_WEB_URL1 / ALOFT_WEB_FLASH1   a device with a password
//   ALOFT_WEB_URL2 / ALOFT_WEB_FLASH2   the same, taking signed images only
//   ALOFT_WEB_V2, ALOFT_WEB_BIG          demo 2.0.0, and one larger than a slot
//   ALOFT_WEB_FS                         a 100 000-byte filesystem image
//   ALOFT_WEB_FS_SIGNED                  the same, signed for URL2's key (aloft sign --fs)
//   ALOFT_WEB_SCREENSHOT                 where to save the page (optional)
// Every wait is on the page (a selector, a text), never a fixed time.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { openSync, readSync, closeSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const env = process.env;
const PASSWORD = "web-secret";
let browser;

before(async () => {
  browser = await chromium.launch({
    executablePath: env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
});
after(async () => { await browser?.close(); });

// otadata and both app slots of a flash file, one hash each (the layout of
// tests/integration/safe_lib.sh): what "the firmware is untouched" means.
function firmware(flash) {
  const fd = openSync(flash, "r");
  const region = (off, len) => {
    const b = Buffer.alloc(len);
    readSync(fd, b, 0, len, off);
    return createHash("sha256").update(b).digest("hex");
  };
  const s = [region(0xe000, 0x2000), region(0x10000, 0x140000), region(0x150000, 0x140000)];
  closeSync(fd);
  return s.join(" ");
}

async function open(url) {
  const page = await browser.newPage();
  page.on("pageerror", e => { throw e; });
  await page.goto(url);
  await page.waitForSelector("body[data-ready='1']");
  return page;
}

async function outcome(page, text, timeout = 20000) {
  try {
    await page.waitForFunction(t => [document.getElementById("outcome"), ...document.querySelectorAll("#history li")]
                                 .some(e => e.textContent.includes(t)), text, { timeout });
  } catch (e) {
    throw new Error(`no "${text}" on the page; it says "${await page.textContent("#outcome")}"`);
  }
  return page.evaluate(t => [document.getElementById("outcome"), ...document.querySelectorAll("#history li")]
                             .find(e => e.textContent.includes(t)).textContent, text);
}

async function login(page, password) {
  await page.fill("#password", password);
  await page.click("#loginbtn");
}

test("a wrong password is refused by the device, nothing changes", async () => {
  const before = firmware(env.ALOFT_WEB_FLASH1);
  const page = await open(env.ALOFT_WEB_URL1);
  await login(page, "not-the-password");
  assert.match(await outcome(page, "authentication failed"), /the password is wrong/);
  assert.equal(await page.isVisible("#update"), false);
  assert.equal(firmware(env.ALOFT_WEB_FLASH1), before);
  await page.close();
});

test("an image larger than the slot is refused before any erase, with the numbers", async () => {
  const before = firmware(env.ALOFT_WEB_FLASH1);
  const page = await open(env.ALOFT_WEB_URL1);
  await login(page, PASSWORD);
  await outcome(page, "logged in");
  await page.setInputFiles("#file", env.ALOFT_WEB_BIG);
  await page.click("#upload");
  const text = await outcome(page, "image is larger than the slot");
  assert.match(text, /slot app1 holds 1.310.720/);
  assert.match(await page.textContent("#announce"), /SHA-256 [0-9a-f]{64}, unsigned/);
  assert.equal(firmware(env.ALOFT_WEB_FLASH1), before);
  await page.close();
});

test("upload v2: progress from the device, the page comes back on v2, confirm, roll back", async () => {
  const page = await open(env.ALOFT_WEB_URL1);
  await login(page, PASSWORD);
  await outcome(page, "logged in");
  await page.setInputFiles("#file", env.ALOFT_WEB_V2);
  // Every byte count the device reports, as the page shows it.
  await page.evaluate(() => {
    window.seen = [];
    new MutationObserver(() => window.seen.push(+document.getElementById("progress").dataset.received))
      .observe(document.getElementById("progress"), { attributes: true, attributeFilter: ["data-received"] });
  });
  await page.click("#upload");
  await outcome(page, "the device activated app1 (2.0.0) and restarts now");
  const text = await outcome(page, "running 2.0.0 in app1");
  assert.match(text, /on probation until it confirms itself \(PENDING_VERIFY\)/);
  const seen = await page.evaluate(() => window.seen);
  assert.ok(seen.length >= 5, `progress updates: ${seen}`);
  assert.deepEqual([...seen].sort((a, b) => a - b), seen, "progress only grows");
  assert.equal(seen.at(-1), 300000);
  assert.match(await page.getAttribute("#device", "data-running"), /^app1 2\.0\.0 PENDING_VERIFY$/);
  // Logged in again by itself after the restart (keys kept in memory).
  await page.waitForSelector("#update:not([hidden])");
  await page.click("#confirm");
  await outcome(page, "app1 confirmed (VALID)");
  await page.waitForSelector("tr[data-slot='app1'] .VALID");
  if (env.ALOFT_WEB_SCREENSHOT) {
    await page.setViewportSize({ width: 820, height: 700 });
    await page.screenshot({ path: env.ALOFT_WEB_SCREENSHOT, fullPage: true });
  }
  await page.click("#rollback");
  await outcome(page, "rolled back: app0 (1.0.0) boots next; the device restarts now");
  await outcome(page, "running 1.0.0 in app0");
  await page.close();
});

test("a signed-only device refuses an unsigned image before any erase", async () => {
  const before = firmware(env.ALOFT_WEB_FLASH2);
  // ?nosubtle: the plain-JS crypto a page served over HTTP from a LAN
  // address uses (no WebCrypto outside secure contexts).
  const page = await open(env.ALOFT_WEB_URL2 + "?nosubtle");
  await page.waitForSelector("#chip:has-text('signed images only')");
  await login(page, PASSWORD);
  await outcome(page, "logged in");
  await page.setInputFiles("#file", env.ALOFT_WEB_V2);
  await page.click("#upload");
  assert.match(await outcome(page, "image is not signed"), /error: image is not signed/);
  assert.equal(firmware(env.ALOFT_WEB_FLASH2), before);
  await page.close();
});

// spiffs (0x290000, default scheme): the first len bytes, hashed.
function spiffs(flash, len) {
  const fd = openSync(flash, "r");
  const b = Buffer.alloc(len);
  readSync(fd, b, 0, len, 0x290000);
  closeSync(fd);
  return createHash("sha256").update(b).digest("hex");
}

async function uploadFs(page, file = env.ALOFT_WEB_FS) {
  await page.selectOption("#target", "fs");
  await page.setInputFiles("#file", file);
  await page.click("#upload");
}

test("a filesystem image with nowhere safe to go: the page warns and asks; cancel, then in place", async () => {
  // After the rollback above app1 holds 2.0.0, the previous firmware.
  const fs = readFileSync(env.ALOFT_WEB_FS);
  const before = firmware(env.ALOFT_WEB_FLASH1), live = spiffs(env.ALOFT_WEB_FLASH1, fs.length);
  const page = await open(env.ALOFT_WEB_URL1);
  await login(page, PASSWORD);
  await outcome(page, "logged in");
  await uploadFs(page);
  await page.waitForSelector("#stagebox:not([hidden])");
  assert.match(await page.textContent("#stagewarn"), /slot app1 holds the previous firmware\. Stage it there/);
  assert.match(await page.textContent("#stagewarn"), /or write in place \(if the upload breaks off, the filesystem is left half-written\)/);
  await page.click("#stagecancel");
  await outcome(page, "not uploaded: the filesystem is unchanged");
  assert.equal(spiffs(env.ALOFT_WEB_FLASH1, fs.length), live);
  await uploadFs(page);
  await page.click("#stageinplace");
  await outcome(page, "the device wrote the filesystem image into spiffs in place");
  assert.match(await page.textContent("#announce"), /writing spiffs in place/);
  assert.equal(spiffs(env.ALOFT_WEB_FLASH1, fs.length), createHash("sha256").update(fs).digest("hex"));
  assert.equal(firmware(env.ALOFT_WEB_FLASH1), before);
  await page.close();
});

test("a signed filesystem image on a fresh signed-only device is staged in app1, then copied; an unsigned one refused", async () => {
  const fs = readFileSync(env.ALOFT_WEB_FS);
  const live = spiffs(env.ALOFT_WEB_FLASH2, fs.length);
  const page = await open(env.ALOFT_WEB_URL2);
  await login(page, PASSWORD);
  await outcome(page, "logged in");
  await uploadFs(page);
  assert.match(await outcome(page, "image is not signed"), /error: image is not signed/);
  assert.equal(spiffs(env.ALOFT_WEB_FLASH2, fs.length), live);
  await uploadFs(page, env.ALOFT_WEB_FS_SIGNED);
  await outcome(page, "the device checked the image staged in app1 and copied it into spiffs");
  assert.match(await page.textContent("#announce"), /staged in app1, copied into spiffs once it checks out/);
  // The page sent the image alone and its block ahead, as for an app.
  assert.match(await page.textContent("#announce"), /100\u2009000 bytes, SHA-256 [0-9a-f]{64}, signed;/);
  assert.equal(spiffs(env.ALOFT_WEB_FLASH2, fs.length), createHash("sha256").update(fs).digest("hex"));
  await page.close();
});

test("the page's plain-JS SHA-256, HMAC and PBKDF2 agree with WebCrypto", async () => {
  const page = await open(env.ALOFT_WEB_URL2);
  const bad = await page.evaluate(async () => {
    const { C, sha256js, hmacjs, pbkdf2js } = window.aloftCrypto;
    const hex = b => Array.from(b, x => x.toString(16).padStart(2, "0")).join("");
    const out = [];
    for (const n of [0, 1, 55, 56, 63, 64, 65, 1000, 65536]) {
      const d = crypto.getRandomValues(new Uint8Array(n)), k = crypto.getRandomValues(new Uint8Array(n % 97 + 1));
      if (hex(sha256js(d)) !== hex(await C.sha256(d))) out.push("sha256 " + n);
      if (hex(hmacjs(k, d)) !== hex(await C.hmac(k, d))) out.push("hmac " + n);
    }
    const salt = crypto.getRandomValues(new Uint8Array(16));
    if (hex(pbkdf2js(new TextEncoder().encode("pw"), salt, 1000)) !==
        hex(await C.pbkdf2(new TextEncoder().encode("pw"), salt, 1000))) out.push("pbkdf2");
    return out;
  });
  assert.deepEqual(bad, []);
  await page.close();
});
