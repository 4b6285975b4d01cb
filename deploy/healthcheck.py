"""Exit 0 when the app answers on its port, 1 otherwise: the image's HEALTHCHECK.

    python deploy/healthcheck.py [URL]

The URL defaults to the page at http://127.0.0.1:$GRADIO_SERVER_PORT/ (7860). Standard library only,
so it runs in the slim image without curl.
"""

from __future__ import annotations

import os
import sys
import urllib.request


def healthy(url: str, timeout: float = 4.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


def main(argv: list[str]) -> int:
    url = argv[0] if argv else f"http://127.0.0.1:{os.environ.get('GRADIO_SERVER_PORT', '7860')}/"
    return 0 if healthy(url) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
