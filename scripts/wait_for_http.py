"""Wait until a URL answers (any HTTP status below 500); exit 1 after a timeout."""

import sys
import time
import urllib.error
import urllib.request


def main(url, seconds):
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3) as response:
                if response.status < 500:
                    return 0
        except urllib.error.HTTPError as exc:
            if exc.code < 500:
                return 0
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    print(f"{url} did not answer within {seconds} s ({last})", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], float(sys.argv[2])))
