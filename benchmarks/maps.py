"""Open every map in maps/ in headless Chromium (no network) and report its size and the time to
the browser's load event, as a planner on an offline government network would meet it.

Usage: python benchmarks/maps.py [MAPS_DIR]   (Debian chromium at /usr/bin/chromium or $CHROMIUM)
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]


def main(maps: Path) -> None:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=ARGS)
        for html in sorted(maps.glob("*.html")):
            times, errors = [], []
            for _ in range(3):
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.route("http*://**/*", lambda route: route.abort())  # offline: nothing may load
                page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
                page.goto(html.resolve().as_uri(), wait_until="load")
                times.append(page.evaluate(
                    "() => { const t = performance.getEntriesByType('navigation')[0]; return t.loadEventEnd; }"))
                page.close()
            print(f"{html.name:14s} {html.stat().st_size / 1e6:5.2f} MB  load event {statistics.median(times):6.0f} ms "
                  f"(median of 3)  console errors: {len(errors)}")
        browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("maps"))
