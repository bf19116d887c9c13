"""A stand-in web browser for the end-to-end login tests; `BROWSER` runs it with the login URL.

It does what a person's browser does against the emulator, which approves a login at once (see Login.py's
docstring for the protocol): it asks `/oauth/authorize` without following the redirect, then goes to the
address it is sent to, the tool's loopback listener. For the implicit grant, whose token travels in the
URL fragment that browsers never send, it first loads the page served at the redirect path and then does
what that page's script does: `GET <redirect path>?fragment=<encodeURIComponent(fragment)>`.

It prints nothing (the tool's stdout is for its summary) and appends one JSON object per visit to the
file named by `STAND_IN_BROWSER_LOG`: the login URL, the address it was sent to, and the final page's
HTTP status and text. Standard library only, so any Python runs it.
"""

import http.client
import json
import os
import sys
from urllib.parse import quote, urlsplit

# The characters encodeURIComponent leaves as they are.
URI_COMPONENT_SAFE = "-_.!~*'()"


def get(url: str) -> tuple[int, dict[str, str], str]:
    """One GET, redirects not followed: status, headers (lower-case names) and body text."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def visit(login_url: str) -> dict[str, object]:
    status, headers, page = get(login_url)
    redirect = headers.get("location", "")
    record: dict[str, object] = {"login_url": login_url, "redirect": redirect, "status": status, "page": page}
    if not redirect:
        return record
    address, _, fragment = redirect.partition("#")
    if fragment:
        status, _, page = get(address)
        record["script_page"] = page
        separator = "&" if "?" in address else "?"
        address += f"{separator}fragment={quote(fragment, safe=URI_COMPONENT_SAFE)}"
    record["status"], _, record["page"] = get(address)
    return record


def main() -> int:
    try:
        record = visit(sys.argv[1])
    except OSError as error:
        record = {"login_url": sys.argv[1], "error": str(error)}
    with open(os.environ["STAND_IN_BROWSER_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")
    return 0 if "error" not in record else 1


if __name__ == "__main__":
    sys.exit(main())
