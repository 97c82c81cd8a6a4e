"""Screenshots of the dashboard for the README, taken with Playwright in Debian's chromium from
a running Phoenix (e.g. `make demo`, after its month was processed):

    .venv/bin/python scripts/screenshots.py [--url http://127.0.0.1:8000] [--out docs/screenshots]

Logs in with the demo login, visits the pages in the order of the flow and saves one PNG each.
"""

import argparse
import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

PAGES = [  # (file name, path, what to wait for)
    ("phoenixmonitor", "/", "main table"),
    ("instance", "/i/NACO/", "main"),
    ("month", "/i/NACO/{month}/", "#lines"),
    ("ab-monitor", "/i/NACO/d/{night}/", "#ab-table"),
    ("ab", "/abs/{ab}/", "main"),
    ("product", "/products/{product}/", "main"),
    ("launch-preview", "/launch/?instance=NACO&date={night}", "main"),
    ("queues", "/queues/", "#queues-live"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--out", default="docs/screenshots", type=Path)
    parser.add_argument("--user", default="demo")
    parser.add_argument("--password", default="phoenix-demo")
    parser.add_argument("--night", default="2009-06-15")
    parser.add_argument("--ab", type=int, help="AB id for the AB page (default: a science AB)")
    parser.add_argument("--product", type=int, help="product id (default: one of that AB)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or sys.exit("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(args.url + "/accounts/login/")
        page.fill("input[name=username]", args.user)
        page.fill("input[name=password]", args.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        ab, product = args.ab, args.product
        if ab is None or product is None:
            page.goto(f"{args.url}/i/NACO/d/{args.night}/?category=SCIENCE&status=success")
            link = page.locator("#ab-table a[href^='/abs/']").first
            ab = ab or int(link.get_attribute("href").strip("/").split("/")[1])
            page.goto(f"{args.url}/abs/{ab}/")
            product = product or int(page.locator("a[href^='/products/']").first.get_attribute("href")
                                     .strip("/").split("/")[1])  # fmt: skip
        values = {"month": args.night[:7], "night": args.night, "ab": ab, "product": product}
        for name, path, ready in PAGES:
            page.goto(args.url + path.format(**values))
            page.locator(ready).first.wait_for()
            if name == "launch-preview":
                page.get_by_role("button", name="Preview (dry run)").click()
                page.locator("#preview").wait_for()
            page.wait_for_timeout(800)  # plots and thumbnails
            target = args.out / f"{name}.png"
            page.screenshot(path=str(target), full_page=False)
            print(target)
        browser.close()


if __name__ == "__main__":
    main()
