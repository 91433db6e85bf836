"""Screenshot a built map in headless Chromium (Playwright driving Debian's chromium).

    python scripts/screenshot.py maps/360104.html docs/screenshot.png [--width 1400 --height 900]

The map is opened from disk; CDN requests are served from the repository's node_modules
(so non-offline maps work without network) and any other request (tiles) is refused, so the
picture shows the vectors on the paper background. Waits until Leaflet has drawn, then saves
the PNG.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_util import open_page  # noqa: E402


def screenshot(html: Path, png: Path, *, width: int = 1400, height: int = 900, click: str | None = None) -> None:
    """Save a PNG of ``html``; ``click`` optionally names a CSS selector to click first (opens a popup)."""
    with open_page(html, viewport=(width, height)) as (page, log):
        page.wait_for_timeout(800)
        if click:
            page.locator(click).first.click(force=True)
            page.wait_for_timeout(400)
        png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png))
    if log["errors"]:
        print("console errors:", *log["errors"], sep="\n  ", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--click", help="CSS selector to click before the shot, e.g. '.sp-role-core'")
    args = parser.parse_args()
    screenshot(args.html, args.png, width=args.width, height=args.height, click=args.click)


if __name__ == "__main__":
    main()
