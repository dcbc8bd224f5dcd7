// Drives the broker's web console in Debian's Chromium with Playwright (playwright-core, no
// downloaded browser), as integration/test_console.py asks: every page is opened, what it must
// show is waited for, and a screenshot of each is saved. Any page error, console error (a CSP
// violation included) or failed request fails the run.
//
// Run: NODE_PATH=<dir>/node_modules node drive_console.js <config.json>
//   config: {admin, screenshots, topic, json_value, header, group, lag, pipeline, top_key}
"use strict";

const { chromium } = require("playwright-core");
const fs = require("fs");
const path = require("path");

const config = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const problems = [];

function check(ok, what) {
  if (!ok) throw new Error("check failed: " + what);
  console.log("ok: " + what);
}

async function shot(page, name) {
  const file = path.join(config.screenshots, name + ".png");
  await page.screenshot({ path: file, fullPage: true });
  console.log("screenshot: " + file);
}

async function main() {
  fs.mkdirSync(config.screenshots, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.RUNNEL_CHROMIUM || "/usr/bin/chromium",
    headless: true,
    // This machine has no network beyond loopback: Chromium's own background traffic is off.
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (e) => problems.push("page error: " + e.message));
    page.on("console", (m) => { if (m.type() === "error") problems.push("console error: " + m.text()); });
    page.on("requestfailed", (r) => problems.push("request failed: " + r.url()));
    page.on("response", (r) => { if (r.status() >= 400) problems.push(r.status() + " for " + r.url()); });
    page.setDefaultTimeout(30000);

    // Overview: / leads to the console; cards and three live charts, drawn from /metrics.
    await page.goto(config.admin + "/");
    check(page.url().endsWith("/console/"), "/ redirects to /console/");
    await page.getByText("Connections").waitFor();
    check((await page.locator("#overview-charts canvas").count()) === 3, "three charts on the overview");
    // Two scrapes make a rate: wait for the records-per-second line to have points.
    await page.waitForTimeout(4500);
    const topicsCard = await page.locator(".card", { hasText: "Topics" }).locator(".value").innerText();
    check(parseInt(topicsCard, 10) >= 3, "the topic count card (" + topicsCard + ")");
    await shot(page, "overview");

    // Topics: the list, then one topic's partitions and its messages.
    await page.getByRole("link", { name: "Topics" }).click();
    await page.getByRole("link", { name: config.topic, exact: true }).click();
    await page.locator("#browse-records tbody tr").first().waitFor();
    const values = await page.locator("#browse-records pre").allInnerTexts();
    check(values.some((v) => v.trim() === config.json_value), "a JSON value pretty-printed in the message browser");
    check((await page.locator("#browse-records .headers").first().innerText()).includes(config.header), "a record's headers shown");
    check((await page.locator("#browse-records tbody tr").count()) === 10, "the tail: all ten records");
    await page.selectOption("#browse-mode", "offset");
    await page.fill("#browse-amount", "8");
    await page.click("#browse-load");
    await page.waitForFunction(() => document.querySelectorAll("#browse-records tbody tr").length === 2);
    const first = await page.locator("#browse-records tbody tr td").first().innerText();
    check(first === "8", "seeking to offset 8 shows offsets 8 and 9 (" + first + ")");
    await shot(page, "topic");

    // A group: its offsets, lag and lag over time.
    await page.goto(config.admin + "/console/#/groups/" + encodeURIComponent(config.group));
    await page.locator("#group-offsets tbody tr").first().waitFor();
    const lagCard = await page.locator(".card", { hasText: "Lag" }).locator(".value").innerText();
    check(lagCard === String(config.lag), "the group's lag (" + lagCard + ")");
    await page.waitForTimeout(2500);
    await shot(page, "group");

    // A pipeline: its YAML, status and the latest window's top list, updating.
    await page.goto(config.admin + "/console/#/pipelines");
    await page.getByRole("link", { name: config.pipeline, exact: true }).click();
    await page.locator("#pipeline-yaml", { hasText: "pipeline: " + config.pipeline }).waitFor();
    await page.locator("#pipeline-results td", { hasText: config.top_key }).first().waitFor({ timeout: 60000 });
    const firstRow = await page.locator("#pipeline-results tbody tr").first().innerText();
    check(firstRow.includes(config.top_key), "the top key first in the latest window (" + firstRow.replace(/\s+/g, " ") + ")");
    await shot(page, "pipeline");
  } finally {
    await browser.close();
  }
  if (problems.length) throw new Error(problems.join("\n"));
}

main().then(() => console.log("console: all checks passed"), (e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
