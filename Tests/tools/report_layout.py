#!/usr/bin/env python3
"""The results page in a real browser: no overlap, no overflow, at phone and desktop widths.

Usage: report_layout.py EVALVAULT [OUT_DIR]

Makes two real reports with the given evalvault binary — the demo's (5 teams, top 4 advance)
and a stress round (12 teams with long, non-Latin and HTML-special display names, 6 criteria,
top 5 advance) — and renders each in headless Chromium at 375 CSS px (a phone: the viewport set
through the DevTools protocol, since a headless window is never narrower than 500 px) and at
1280 px (a desktop). The protocol runs over `--remote-debugging-pipe` (JSON messages on file
descriptors 3 and 4), so nothing listens on a port. In the page, a script measures the layout:

  - the page is no wider than the window, and no table needs scrolling sideways;
  - no element's content spills out of its box, and nothing lies outside the window;
  - no two pieces of text overlap, and no text overlaps a bar or the advance cut line (each
    text node's line boxes, from Range.getClientRects);
  - the chart has one row per team, the cut sits between the last advancing team and the next,
    and its label lies wholly below its dashed line;
  - the programme name, the reveal date and the teams' display names are shown.

Screenshots of every page at both widths are kept in OUT_DIR (default
.build/report-screenshots/). Exits 1 naming each problem, 0 when there is none. Needs
`chromium` (Debian's package) and Python's standard library only.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

WIDTHS = [("phone", 375, 812), ("desktop", 1280, 900)]

CHECK = r"""
(function () {
  const problems = [];
  const tol = 0.5;
  const W = document.documentElement.clientWidth;
  const say = (m) => { if (problems.length < 60) problems.push(m); };
  const rect = (el) => el.getBoundingClientRect();
  const label = (el) => el.tagName.toLowerCase() + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\s+/g, '.') : '') +
    ' "' + (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 40) + '"';
  const overlap = (a, b) => a.left < b.right - tol && b.left < a.right - tol && a.top < b.bottom - tol && b.top < a.bottom - tol;
  const visible = (el) => { const r = rect(el); return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'; };

  // The page and every box.
  if (document.documentElement.scrollWidth > W + tol) say('the page is wider than the window: ' + document.documentElement.scrollWidth + ' > ' + W);
  for (const el of document.body.querySelectorAll('*')) {
    if (!visible(el) || el.tagName === 'SCRIPT') continue;
    const r = rect(el), style = getComputedStyle(el);
    // (A box inside a sideways-scrolling one is reported through that one.)
    const scroller = el.parentElement && el.parentElement.closest('.scroll');
    if (!scroller && (r.left < -tol || r.right > W + tol)) say('outside the window (' + Math.round(r.left) + '..' + Math.round(r.right) + ' of ' + W + '): ' + label(el));
    const block = style.display !== 'inline' && el.clientWidth > 0;
    if (block && el.scrollWidth > el.clientWidth + 1) {
      say((style.overflowX === 'visible' ? 'content spills out of ' : 'needs scrolling sideways: ') + label(el) + ' (' + el.scrollWidth + ' > ' + el.clientWidth + ')');
    }
  }

  // Every piece of text against every other, and against bars and the cut line.
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(), i = 0; n; n = walker.nextNode(), i++) {
    if (!n.textContent.trim() || n.parentElement.tagName === 'SCRIPT' || !visible(n.parentElement)) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) if (r.width > 0 && r.height > 0) texts.push({ node: i, r: r, el: n.parentElement });
  }
  for (let a = 0; a < texts.length; a++) for (let b = a + 1; b < texts.length; b++) {
    if (texts[a].node !== texts[b].node && overlap(texts[a].r, texts[b].r)) say('text overlaps text: ' + label(texts[a].el) + ' and ' + label(texts[b].el));
  }
  const graphics = [];
  for (const t of document.querySelectorAll('ol.chart .track')) graphics.push({ r: rect(t), what: 'the bar of ' + label(t.parentElement) });
  const cut = document.querySelector('ol.chart li.cut');
  if (cut) {
    const c = rect(cut), w = parseFloat(getComputedStyle(cut).borderTopWidth);
    graphics.push({ r: { left: c.left, right: c.right, top: c.top, bottom: c.top + w }, what: 'the cut line' });
    const l = rect(cut.querySelector('.cut-label'));
    if (l.top < c.top + w - tol) say('the cut label is not below its line');
  }
  for (const t of texts) for (const g of graphics) if (overlap(t.r, g.r)) say('text overlaps ' + g.what + ': ' + label(t.el));

  // The chart's rows: one per team, none overlapping another or the cut.
  const rows = Array.from(document.querySelectorAll('ol.chart li'));
  for (let a = 0; a < rows.length; a++) for (let b = a + 1; b < rows.length; b++) {
    if (overlap(rect(rows[a]), rect(rows[b]))) say('chart rows overlap: ' + label(rows[a]) + ' and ' + label(rows[b]));
  }
  for (const row of document.querySelectorAll('ol.chart li.row')) {
    const parts = Array.from(row.children);
    for (let a = 0; a < parts.length; a++) for (let b = a + 1; b < parts.length; b++) {
      if (overlap(rect(parts[a]), rect(parts[b]))) say('within a chart row, ' + label(parts[a]) + ' overlaps ' + label(parts[b]));
    }
  }

  return JSON.stringify({
    width: W, height: document.documentElement.scrollHeight, problems: problems,
    programme: (document.querySelector('p.programme') || {}).textContent || null,
    revealed: (document.querySelector('p.meta time') || {}).textContent || null,
    names: Array.from(document.querySelectorAll('ol.chart .name')).map((e) => e.textContent),
    order: rows.map((e) => e.classList.contains('cut') ? 'CUT' : (e.classList.contains('out') ? 'out' : 'in')),
  });
})();
"""


STRESS_TEAMS = [
    ("t01", "Korea Advanced Institute of Science and Technology and Partners Consortium for Sovereign Foundation Models"),
    ("t02", "네이버 클라우드"),
    ("t03", "Upstage"),
    ("t04", "SK Telecom <Research> & \"Friends\""),
    ("t05", "NC AI"),
    ("t06", "LG AI Research"),
    ("t07", "Kakao Brain"),
    ("t08", "A"),
    ("t09", "Samsung Research Seoul R&D Campus Large Language Model Team"),
    ("t10", "KT"),
    ("t11", "Twelve Labs"),
    ("t12", "Supercalifragilisticexpialidocious-Foundation-Model-Collective"),
]
STRESS_CRITERIA = ["performance", "efficiency", "safety-evaluation", "openness", "agentic-tasks", "multilingual-reasoning"]


def run(cmd, env, cwd):
    r = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        sys.exit(f"report_layout: {' '.join(cmd[:3])} … failed ({r.returncode}): {r.stderr.strip()}")
    return r


def make_reports(evalvault, work):
    """The demo's report, and a report of the stress round made with the real commands."""
    env = dict(os.environ, EVALVAULT_STATE=os.path.join(work, "state"), EVALVAULT_PASSPHRASE="layout check")
    env.pop("EVALVAULT_DIR", None)
    run([evalvault, "demo", "--dir", os.path.join(work, "demo")], env, work)
    demo = os.path.join(work, "demo", "chair", "2025-R1-report.html")

    vault = os.path.join(work, "stress", "vault")
    v = ["--dir", vault]
    run([evalvault, "init", "--chair", "chair", "--kdf-cost", "10"] + v, env, work)
    teams = "\n".join(f'{tid} = "{name.replace(chr(34), chr(92) + chr(34))}"' for tid, name in STRESS_TEAMS)
    criteria = "\n".join(f'[[criteria]]\nid = "{c}"\nweight = {10 + 5 * i}\nmin = 0\nmax = 100\nstep = 0.5\n' for i, c in enumerate(STRESS_CRITERIA))
    round_file = os.path.join(work, "stress", "round.toml")
    with open(round_file, "w", encoding="utf-8") as f:
        f.write(f'id = "2026-R3"\ntitle = "Third evaluation: the widest field yet, with a title long enough to wrap"\n'
                f'programme = "National Programme for Sovereign AI Foundation Models (layout check)"\n\n[teams]\n{teams}\n\n'
                f'[reveal]\nholders = ["chair"]\nthreshold = 1\n\n{criteria}\n'
                f'[[publish]]\nstat = "rank"\nby = ["team"]\nadvance = 5\n\n[[publish]]\nstat = "mean"\nby = ["team", "criterion"]\n')
    for i in range(1, 4):
        ev = os.path.join(work, "stress", f"ev-{i}")
        run([evalvault, "keygen", "--out", ev, "--kdf-cost", "10"], env, work)
        run([evalvault, "principal", "add", f"ev-{i}", "--as", "chair", "--role", "evaluator", "--pubkey", ev + ".pub"] + v, env, work)
    run([evalvault, "round", "create", "--as", "chair", "--config", round_file] + v, env, work)
    run([evalvault, "round", "open", "2026-R3", "--as", "chair"] + v, env, work)
    for i in range(1, 4):
        csv = os.path.join(work, "stress", f"ev-{i}.csv")
        with open(csv, "w") as f:
            f.write("team,criterion,score\n")
            for t, (tid, _) in enumerate(STRESS_TEAMS):
                for c, crit in enumerate(STRESS_CRITERIA):
                    f.write(f"{tid},{crit},{(37 * t + 11 * c + 7 * i) % 190 / 2 + 5}\n")
        run([evalvault, "seal", "--as", f"ev-{i}", "--key", os.path.join(work, "stress", f"ev-{i}.key"), "--round", "2026-R3", "--csv", csv] + v, env, work)
    run([evalvault, "round", "close", "2026-R3", "--as", "chair"] + v, env, work)
    stress = os.path.join(work, "stress", "2026-R3-report.html")
    run([evalvault, "report", "--as", "chair", "--round", "2026-R3", "--advance", "5", "--out", stress] + v, env, work)
    return [("demo", demo, 5, 4, "National AI Foundation Model Programme", ["Upstage", "LG AI Research", "Naver Cloud", "SK Telecom", "NC AI"]),
            ("stress", stress, 12, 5, "National Programme for Sovereign AI Foundation Models (layout check)", [n for _, n in STRESS_TEAMS])]


class Browser:
    """Headless Chromium driven through the DevTools protocol over a pipe."""

    def __init__(self):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        if not exe:
            sys.exit("report_layout: chromium is not installed (apt-get install -y chromium)")
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds():
            # Chromium reads fd 3 and writes fd 4. Moved out of the way first, so that neither
            # dup2 clobbers the other end (os.pipe may have returned 3 or 4 itself).
            high_r, high_w = os.dup(to_chrome_r) + 100, os.dup(from_chrome_w) + 100
            os.dup2(to_chrome_r, high_r)
            os.dup2(from_chrome_w, high_w)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--mute-audio",
             "--disable-extensions", "--disable-background-networking", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=False, preexec_fn=fds)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable", session=True)

    def message(self):
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_chrome, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def call(self, method, params=None, session=False):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            m = self.message()
            if m.get("id") == self.next_id:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait(self, event):
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == event:
                    del self.events[: i + 1]
                    return m
            self.events.append(self.message())

    def show(self, url, width, height, mobile):
        """Loads `url` in a viewport of width × height CSS px."""
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile}, session=True)
        self.events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self.wait("Page.loadEventFired")

    def evaluate(self, expression):
        r = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        if "exceptionDetails" in r:
            raise RuntimeError(f"the check script failed: {r['exceptionDetails']}")
        return r["result"]["value"]

    def screenshot(self, path, width, height, mobile):
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 2 if mobile else 1, "mobile": mobile}, session=True)
        data = self.call("Page.captureScreenshot", {"format": "png"}, session=True)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def check(browser, name, page, teams, cut, programme, names, out_dir):
    problems = []
    for device, width, height in WIDTHS:
        mobile = device == "phone"
        where = f"{name} at {width} px ({device})"
        browser.show("file://" + os.path.abspath(page), width, height, mobile)
        found = json.loads(browser.evaluate(CHECK))
        if found["width"] != width:
            problems.append(f"{where}: the viewport was {found['width']} px wide, not {width}")
        problems += [f"{where}: {p}" for p in found["problems"]]
        if found["programme"] != programme:
            problems.append(f"{where}: the programme shown is {found['programme']!r}")
        if not found["revealed"] or not re.match(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC$", found["revealed"]):
            problems.append(f"{where}: no reveal date shown ({found['revealed']!r})")
        if sorted(found["names"]) != sorted(names):
            problems.append(f"{where}: the chart shows {found['names']}, not the display names")
        expected = ["in"] * cut + ["CUT"] + ["out"] * (teams - cut)
        if found["order"] != expected:
            problems.append(f"{where}: chart rows {found['order']}, expected {expected}")
        browser.screenshot(os.path.join(out_dir, f"{name}-{device}-{width}.png"), width, min(max(found["height"], height), 12000), mobile)
    return problems


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    evalvault = os.path.abspath(sys.argv[1])
    out_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.join(".build", "report-screenshots")
    os.makedirs(out_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="evalvault-report-layout-") as work:
        os.chmod(work, 0o700)
        problems = []
        reports = make_reports(evalvault, work)
        browser = Browser()
        try:
            for name, page, teams, cut, programme, names in reports:
                problems += check(browser, name, page, teams, cut, programme, names, out_dir)
                shutil.copy(page, os.path.join(out_dir, f"{name}.html"))
        finally:
            browser.close()
    if problems:
        print("report layout: " + str(len(problems)) + " problem(s)")
        for p in problems:
            print("  " + p)
        print(f"screenshots: {out_dir}/")
        sys.exit(1)
    print(f"report layout: ok (2 reports at {', '.join(str(w) for _, w, _ in WIDTHS)} px); screenshots in {out_dir}/")


if __name__ == "__main__":
    main()
