"""A network task's URL, parsed once for the validator and the fetcher alike,
so the two cannot disagree: the twin of the reference's `parse_target`
(which uses the WHATWG parser of the `url` crate).

Allowed: `/path` (this server itself) and `http://` URLs whose host is
`localhost`, in `127.0.0.0/8` or `[::1]`, with any port. Refused with the
reference's codes: spaces and control characters anywhere, credentials and
URLs that do not parse (`invalid_url`), and everything else
(`loopback_only`). The WHATWG rules that decide where a request goes are
followed: the scheme and `localhost` in any case, slashes and backslashes
after `http:`, IPv4 hosts in their numeric forms (`127.1`, `0x7f.1`,
`2130706433`), the port's range, the fragment (never sent), dot segments
and the percent-encoding of paths and queries. Not followed: IDNA mapping
of non-ASCII host names (refused here as not loopback).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes


class UrlRefused(Exception):
    """Why a URL was refused: a machine code and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


LOOPBACK_ONLY_MESSAGE = (
    "network tasks may only reach this machine (http://127.0.0.1, http://localhost, "
    "http://[::1] or a /path of this server)")
_NOT_A_URL = "must be an http:// URL or a /path of this server"


@dataclass(frozen=True, slots=True)
class Target:
    """Where a network task's URL leads."""

    #: The host as the URL names it (`localhost`, `127.0.0.1`, `[::1]`);
    #: None for a path of this server.
    host: str | None
    #: The addresses to connect to, in order (empty for this server).
    addresses: tuple[str, ...]
    #: The port; None for 80 (or this server's).
    port: int | None
    #: The path and query sent (`/health?x=1`), normalized, without the
    #: fragment.
    path: str


def _loopback_only() -> UrlRefused:
    return UrlRefused("loopback_only", LOOPBACK_ONLY_MESSAGE)


def _invalid(message: str) -> UrlRefused:
    return UrlRefused("invalid_url", message)


# Rust's `char::is_control` (Cc) or `char::is_whitespace` (White_Space).
_SPACE_OR_CONTROL = re.compile("[\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f"
                               "\u205f\u3000]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
#: The WHATWG special schemes (parsed with a host) and their default ports.
_SPECIAL = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# Bytes a path segment and a query percent-encode (the `url` crate's sets,
# besides controls and non-ASCII, which are always encoded).
_PATH_ENCODED = frozenset(b'"<>`{}#?')
_QUERY_ENCODED = frozenset(b"\"#<>'")
# Code points a host name may not hold once percent-decoded.
_FORBIDDEN_HOST = frozenset(b"\x00\t\n\r #/:<>?@[\\]^|%\x7f") | frozenset(range(0x20))
_SINGLE_DOT = frozenset((".", "%2e"))
_DOUBLE_DOT = frozenset(("..", ".%2e", "%2e.", "%2e%2e"))


def _encode(text: str, encoded: frozenset[int]) -> str:
    if text.isascii() and not any(ord(c) in encoded for c in text):
        return text
    return "".join(f"%{b:02X}" if b in encoded or b > 0x7E or b < 0x20 else chr(b)
                   for b in text.encode("utf-8", "surrogatepass"))


def _path_and_query(rest: str) -> str:
    """What follows a URL's authority (`/a/../b?q#f`) as the `url` crate
    serializes its path and query: backslashes as slashes, dot segments
    resolved, unsafe bytes percent-encoded, the fragment dropped."""
    rest = rest.split("#", 1)[0]
    path, mark, query = rest.partition("?")
    segments: list[str] = []
    parts = path.replace("\\", "/").split("/")[1:] if path else []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        lowered = part.lower()
        if lowered in _DOUBLE_DOT:
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif lowered in _SINGLE_DOT:
            if last:
                segments.append("")
        else:
            segments.append(_encode(part, _PATH_ENCODED))
    serialized = "/" + "/".join(segments)
    return serialized + mark + _encode(query, _QUERY_ENCODED) if mark else serialized


def _ipv4_number(part: str) -> int | None:
    """One part of a WHATWG IPv4 address: decimal, `0x` hex or `0` octal."""
    base = 10
    if part[:2] in ("0x", "0X"):
        part, base = part[2:], 16
        if not part:
            return 0
    elif len(part) > 1 and part[0] == "0":
        part, base = part[1:], 8
    digits = {10: "0123456789", 16: "0123456789abcdefABCDEF", 8: "01234567"}[base]
    if not part or any(c not in digits for c in part):
        return None
    return int(part, base)


def _ends_in_a_number(host: str) -> bool:
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    if last and all(c in "0123456789" for c in last):
        return True
    return last[:2] in ("0x", "0X") and all(c in "0123456789abcdefABCDEF" for c in last[2:])


def _ipv4(host: str) -> ipaddress.IPv4Address:
    """A host that ends in a number, as the WHATWG IPv4 parser reads it."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    numbers = [_ipv4_number(p) if p else None for p in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        raise _invalid(_NOT_A_URL)
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise _invalid(_NOT_A_URL)
    value = last
    for i, n in enumerate(head):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _host(text: str) -> tuple[str, tuple[str, ...], bool]:
    """(serialized host, addresses to connect to, loopback?) of a special
    URL's host; `invalid_url` when it does not parse."""
    if text.startswith("["):
        inner = text[1:-1] if text.endswith("]") else None
        if not inner or "%" in inner:
            raise _invalid(_NOT_A_URL)
        try:
            ip6 = ipaddress.IPv6Address(inner)
        except ValueError:
            raise _invalid(_NOT_A_URL) from None
        return f"[{ip6.compressed}]", (ip6.compressed,), int(ip6) == 1
    try:
        raw = unquote_to_bytes(text)
        host = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _invalid(_NOT_A_URL) from None
    if not host.isascii():
        return host, (), False  # an IDNA name: never loopback here
    if not host or any(b in _FORBIDDEN_HOST for b in raw):
        raise _invalid(_NOT_A_URL)
    host = host.lower()
    if _ends_in_a_number(host):
        ip4 = _ipv4(host)
        return str(ip4), (str(ip4),), ip4.is_loopback
    return host, (("127.0.0.1", "::1") if host == "localhost" else ()), host == "localhost"


def _port(text: str, scheme: str) -> int | None:
    """A special URL's port; None when absent or the scheme's default."""
    if not text:
        return None
    if not text.isdigit() or not text.isascii() or int(text) > 65_535:
        raise _invalid(_NOT_A_URL)
    port = int(text)
    return None if port == _SPECIAL[scheme] else port


def parse_target(raw: str) -> Target:
    """Parses a network task's URL; raises `UrlRefused` (`invalid_url` or
    `loopback_only`) unless it names this machine."""
    if _SPACE_OR_CONTROL.search(raw):
        raise _invalid("must not contain spaces or control characters")
    if raw.startswith("/"):
        # A path of this server; `//host/…` (and `/\host`, the same to a
        # WHATWG parser) would name another host.
        if raw.startswith("//") or "\\" in raw:
            raise _loopback_only()
        return Target(None, (), None, _path_and_query(raw))
    m = _SCHEME.match(raw)
    if m is None:
        raise _invalid(_NOT_A_URL)
    scheme = m.group(1).lower()
    if scheme not in _SPECIAL:
        raise _loopback_only()
    rest = raw[m.end():].lstrip("/\\")
    cut = min((i for i in (rest.find(c) for c in "/\\?#") if i >= 0), default=len(rest))
    authority, rest = rest[:cut], rest[cut:]
    userinfo, at, hostport = authority.rpartition("@")
    if hostport.startswith("["):
        close = hostport.find("]")
        host_text, after = (hostport, "") if close < 0 else (hostport[:close + 1],
                                                             hostport[close + 1:])
        if after and not after.startswith(":"):
            raise _invalid(_NOT_A_URL)
        port_text = after[1:]
    else:
        host_text, _, port_text = hostport.partition(":")
    if not host_text:
        raise _invalid(_NOT_A_URL)
    host, addresses, loopback = _host(host_text)
    port = _port(port_text, scheme)
    if scheme != "http":
        raise _loopback_only()
    user, _, password = userinfo.partition(":")
    if at and (user or password):
        raise _invalid("must not carry credentials")
    if not loopback:
        raise _loopback_only()
    return Target(host, addresses, port, _path_and_query(rest))


def is_loopback_url(url: str) -> bool:
    """Whether `url` is a network task's URL that `parse_target` accepts."""
    try:
        parse_target(url)
    except UrlRefused:
        return False
    return True
