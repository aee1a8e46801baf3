"""A container's health check: `python -m services.entrypoints.http.probe /readyz` asks the
`serve` in this container and exits 0 on 200, 1 otherwise, saying why (Dockerfile and
compose.yaml, docs/contract.md section 11, "Added: running with Docker Compose"). The images
have no curl; this needs nothing but the standard library, so it costs a few milliseconds,
not the `followup` command's start-up."""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

PROBES = ("/healthz", "/readyz", "/health")


def probe(path: str, *, port: str, timeout: float = 4.0) -> tuple[bool, str]:
    """Whether `serve` on 127.0.0.1:`port` answers `path` with 200, and what it said. The
    Host is `localhost`, which FOLLOWUP_HTTP_ALLOWED_HOSTS allows unless it is set without it."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Host": "localhost"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status == 200, answer.read(300).decode(errors="replace")
    except urllib.error.HTTPError as error:
        return False, f"{error.code}: {error.read(300).decode(errors='replace')}"
    except OSError as error:
        return False, f"no answer: {error}"


def main(argv: list[str]) -> int:
    path = argv[0] if argv else "/readyz"
    if path not in PROBES:
        print(f"probe: {path!r} is not one of {', '.join(PROBES)}", file=sys.stderr)
        return 2
    healthy, said = probe(path, port=os.environ.get("FOLLOWUP_HTTP_PORT", "8040"))
    print(said.strip(), file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
