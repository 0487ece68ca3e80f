"""Benchmark: first contentful paint on "Slow 3G" in Chromium, cold sign-in then the list.

Run with ``make bench-slow3g`` (or ``.venv/bin/python bench/slow3g.py``; ``--runs 3``,
``--source DIR`` to measure another checkout of the app, e.g. ``git archive`` of main,
for a before/after). A measurement, not a test: it always exits 0.

It serves the demo database with waitress (bench/serve.py), then, in a fresh headless
Chromium context (empty cache, no cookie) throttled through the DevTools protocol
(``Network.emulateNetworkConditions``: 2 s round trip, 400 kbit/s each way — DevTools'
"Slow 3G"), it measures:

1. the cold sign-in page: its first contentful paint (FCP, from the navigation's start);
2. signing in: from the click to the list's paint. With JavaScript, htmx posts the form
   and the answer is the list itself (auth/boosted.py), swapped into the same document:
   the time is that of the first frame painted once the list is in and its stylesheets
   (prefetched by the sign-in page) are loaded — the list styled. Without JavaScript
   (``--no-javascript``, or an older checkout), the form's POST, the redirect, the list:
   its FCP (the redirect after a POST costs a round trip of its own);
3. the list again (a link followed later): its FCP, with the cache the visit filled.

Goals (issue 14, item 5): 1 ≤ 2.5 s; the list ≤ 2.5 s after it, so 2 and 3 ≤ 2.5 s (one
round trip, nothing to fetch but the HTML). The bytes each step moved are printed too.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from mission_list import EMAIL, prepare_database, start_server

from imagin.demo import DEMO_PASSWORD

BENCH_DIR = Path(__file__).resolve().parent
SERVE = BENCH_DIR / "serve.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# DevTools' "Slow 3G" preset: 400 ms × 5 latency, 500 kbit/s × 0.8 each way.
SLOW_3G = {
    "offline": False,
    "latency": 2000,
    "downloadThroughput": 500 * 1000 / 8 * 0.8,
    "uploadThroughput": 500 * 1000 / 8 * 0.8,
}
GOAL_MS = 2500
FCP_ENTRY = "() => performance.getEntriesByName('first-contentful-paint').map(e => e.startTime)"


def first_contentful_paint(page) -> float:
    """The page's FCP, polled from here: with JavaScript off the page runs no observer."""
    while True:
        seen = page.evaluate(FCP_ENTRY)
        if seen:
            return seen[0]
        time.sleep(0.02)


NOW = "() => performance.timeOrigin + performance.now()"
# Set before the click: resolved at the first frame painted after htmx swapped the list in
# with its stylesheets loaded (rAF runs before the frame's paint, the timeout after it).
WATCH_SWAP = """() => {
  window.listPainted = new Promise(resolve => {
    document.addEventListener('htmx:afterSwap', () => {
      const links = [...document.querySelectorAll('link[rel=stylesheet]')];
      const unstyled = links.filter(link => !link.sheet).length;
      Promise.all(links.map(link => link.sheet || new Promise(loaded => {
        link.addEventListener('load', loaded);
        link.addEventListener('error', loaded);
      }))).then(() => requestAnimationFrame(() => setTimeout(() => resolve({
        at: performance.timeOrigin + performance.now(),
        unstyled,
      }))));
    }, {once: true});
  });
}"""


def run_once(browser, base: str, javascript: bool = True) -> dict[str, float]:
    context = browser.new_context(base_url=base, locale="fr-FR", java_script_enabled=javascript)
    context.set_default_timeout(120_000)
    page = context.new_page()
    moved = {"bytes": 0}
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    cdp.on(
        "Network.loadingFinished",
        lambda e: moved.__setitem__("bytes", moved["bytes"] + e["encodedDataLength"]),
    )
    try:
        page.goto("/intervenant", wait_until="commit")
        sign_in_fcp = first_contentful_paint(page)
        # The visitor types meanwhile: the files fetched in the background arrive.
        page.wait_for_load_state("networkidle")
        sign_in_bytes = moved["bytes"]
        page.get_by_label("Adresse électronique").fill(EMAIL)
        page.get_by_label("Mot de passe").fill(DEMO_PASSWORD)
        page.evaluate(WATCH_SWAP)
        clicked = page.evaluate(NOW)
        moved["bytes"] = 0
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url("**/missions", wait_until="commit")
        if page.evaluate("() => window.listPainted !== undefined"):
            # The same document: htmx swapped the list in (one round trip).
            painted = page.evaluate("() => window.listPainted")
            after_click = painted["at"] - clicked
            after_redirect = float("nan")
            unstyled = painted["unstyled"]
        else:
            # A new document: the browser followed the redirect.
            fcp = first_contentful_paint(page)
            origin = page.evaluate("() => performance.timeOrigin")
            after_click = origin + fcp - clicked
            redirect_end = page.evaluate(
                "() => performance.getEntriesByType('navigation')[0].redirectEnd"
            )
            after_redirect = fcp - redirect_end if redirect_end else float("nan")
            unstyled = 0
        page.wait_for_load_state("networkidle")
        list_bytes = moved["bytes"]
        moved["bytes"] = 0
        page.goto("/missions", wait_until="commit")
        list_fcp = first_contentful_paint(page)
        page.wait_for_load_state("networkidle")
        again_bytes = moved["bytes"]
    finally:
        context.close()
    return {
        "sign-in page FCP (cold)": sign_in_fcp,
        "sign-in click → list painted": after_click,
        "  of which after the redirect (without JS)": after_redirect,
        "list FCP (link followed later)": list_fcp,
        "stylesheets still loading at the swap": unstyled,
        "bytes: sign-in page and its background files": sign_in_bytes,
        "bytes: POST and list (and redirect)": list_bytes,
        "bytes: list again": again_bytes,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--source", type=Path, default=None, help="another checkout to serve")
    parser.add_argument(
        "--no-javascript", action="store_true", help="sign in without JavaScript (POST, 303, GET)"
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    env = dict(os.environ)
    if args.source:
        env["PYTHONPATH"] = str(args.source.resolve())
    runs: list[dict[str, float]] = []
    with ExitStack() as stack:
        instance = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="imagin-3g-")))
        if args.source:
            # The other checkout's own schema and demo data.
            code = (
                "import sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(1, sys.argv[2]);"
                "from mission_list import prepare_database; from pathlib import Path;"
                "prepare_database(Path(sys.argv[3]))"
            )
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    code,
                    str(args.source.resolve()),
                    str(BENCH_DIR),
                    str(instance),
                ],
                check=True,
                env=env,
            )
        else:
            prepare_database(instance)
        _, base = start_server(stack, SERVE, "imagin", str(instance), env=env)
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        stack.callback(browser.close)
        for n in range(args.runs):
            print(f"run {n + 1}/{args.runs}…", flush=True)
            runs.append(run_once(browser, base, javascript=not args.no_javascript))
    print(
        f"\nSlow 3G (2 s RTT, 400 kbit/s), Chromium, {args.runs} runs, median (min–max)"
        + (f", source {args.source}" if args.source else "")
        + (", without JavaScript" if args.no_javascript else "")
    )
    for name in runs[0]:
        values = [run[name] for run in runs if not math.isnan(run[name])]
        if not values:
            print(f"  {name:<46} {'—':>8}")
            continue
        unit = "B" if name.startswith("bytes") else "" if name.startswith("style") else "ms"
        line = f"{statistics.median(values):8.0f} {unit} ({min(values):.0f}–{max(values):.0f})"
        goal = ""
        if unit == "ms" and "redirect" not in name:
            goal = "  goal ≤ 2500 ms: " + (
                "met" if statistics.median(values) <= GOAL_MS else "NOT met"
            )
        print(f"  {name:<46} {line}{goal}")


if __name__ == "__main__":
    main()
