"""Screenshot a built map in headless Chromium (Playwright driving Debian's chromium).

    python scripts/screenshot.py maps/360104.html docs/screenshot.png [--size 1400x900]
    python scripts/screenshot.py maps/360704.html docs/phone.png --size phone --click '.sp-role-core'

``--size`` takes WIDTHxHEIGHT or a name: ``laptop`` (1366x768), ``desktop`` (1920x1080),
``phone`` (390x844, opened as a phone: touch, mobile viewport, taps instead of clicks). The
map is opened from disk; CDN requests are served from the repository's node_modules (so
non-offline maps work without network) and any other request (tiles) is refused, so the
picture shows the vectors on the paper background. Waits until Leaflet has drawn, saves the
PNG and prints the layout as measured before any click: the share of the map no control
covers, pairs of overlapping controls and controls or buttons that cannot be clicked.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser_util import Layout, open_page  # noqa: E402

#: Named screen sizes (CSS px): the most common office laptop, a full-HD monitor, a phone.
SIZES = {"laptop": (1366, 768), "desktop": (1920, 1080), "phone": (390, 844)}
#: Below this width a size is shot as a phone (touch); the map folds its panels there too.
PHONE_BELOW = 900


def parse_size(text: str) -> tuple[int, int]:
    """``1366x768`` or a name in :data:`SIZES` -> (width, height)."""
    if text in SIZES:
        return SIZES[text]
    match = re.fullmatch(r"(\d{3,5})x(\d{3,5})", text)
    if not match:
        raise argparse.ArgumentTypeError(f"size {text!r} is not WIDTHxHEIGHT (e.g. 1366x768) "
                                         f"nor one of {', '.join(SIZES)}")
    return int(match[1]), int(match[2])


def screenshot(html: Path, png: Path, *, size: tuple[int, int] = (1400, 900), click: str | None = None) -> None:
    """Save a PNG of ``html``; ``click`` optionally names a CSS selector to click (tap) first."""
    touch = size[0] < PHONE_BELOW
    with open_page(html, viewport=size, touch=touch) as (page, log):
        page.wait_for_timeout(800)
        lay = Layout(page)
        print(f"{html.name} {size[0]}x{size[1]}: {lay.free_share():.1%} of the map free, "
              f"overlapping controls {lay.overlaps() or 'none'}, unreachable {lay.unreachable() or 'none'}")
        if click:
            target = page.locator(click).first
            (target.tap if touch else target.click)(force=True)
            page.wait_for_timeout(600)
        png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png))
    if log["errors"]:
        print("console errors:", *log["errors"], sep="\n  ", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--size", type=parse_size, default=(1400, 900),
                        help=f"WIDTHxHEIGHT or one of {', '.join(SIZES)} (default 1400x900)")
    parser.add_argument("--click", help="CSS selector to click before the shot, e.g. '.sp-role-core'")
    args = parser.parse_args()
    screenshot(args.html, args.png, size=args.size, click=args.click)


if __name__ == "__main__":
    main()
