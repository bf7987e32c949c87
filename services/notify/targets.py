"""Where a webhook goes: its host resolved, every address checked, the request pinned to one.

A webhook URL is chosen by whoever subscribes, so without a check drx would post (and report the
answer of) ``http://127.0.0.1:…/metrics`` or the cloud metadata service at
``http://169.254.169.254/``. The rule, :func:`services.notify.domain.webhook_target_refusal`, is
pure; this module is its edge, used twice:

- at subscribe time (:func:`check_webhook`: the notify worker's ``subscription.set`` and
  ``drx subscribe add``), so a bad address is refused with a reason at once;
- at each delivery (:func:`pin`), because DNS can change after the subscription was accepted.

**Pinning.** Checking a name and then letting the HTTP client resolve it again would leave a gap
(a DNS rebind answers a public address to the check and 127.0.0.1 to the connect). So the request
is built for the URL as given, which sets the ``Host`` header from it, and then its URL's host is
replaced by the checked IP address: httpx connects to exactly that address. For ``https`` the
original name goes in httpcore's ``sni_hostname`` request extension, which is both the TLS SNI
and the name the certificate is verified against, so TLS stays as strict as without pinning.
That is the whole mechanism: no custom transport or resolver, and the client's connection pool
keys connections by the pinned address.

Redirects are never followed (the client has ``follow_redirects=False``), so a receiver cannot
send drx on to an internal address either.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

import httpx

from services.notify.domain import Network, ip_literal, webhook_target_refusal

__all__ = ["RESOLVE_TIMEOUT_S", "Refused", "Unresolved", "check_webhook", "pin", "resolve"]

RESOLVE_TIMEOUT_S = 5.0
"""The longest a webhook host's name lookup may take, at subscribe time and per delivery."""


class Unresolved(Exception):  # noqa: N818 - a state of the world, not an error of drx's
    """The host's name did not resolve (now): at subscribe time a refusal, at delivery a retry."""


async def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now, in the resolver's order; raises :class:`Unresolved`."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        msg = f"the webhook host's name lookup took longer than {RESOLVE_TIMEOUT_S} s"
        raise Unresolved(msg) from None
    except (OSError, UnicodeError) as error:  # socket.gaierror is an OSError
        msg = f"the webhook host does not resolve ({error.strerror if isinstance(error, OSError) else error})"
        raise Unresolved(msg) from None
    addresses: list[str] = []
    for *_, sockaddr in infos:
        if str(sockaddr[0]) not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


async def check_webhook(address: str | None, allow: Iterable[Network]) -> str | None:
    """Why a subscription may not post webhooks to ``address``, or None if it may (resolves it)."""
    try:
        parts = urlsplit((address or "").strip())
        host, port = parts.hostname, parts.port
    except ValueError:
        return "the webhook address is not a URL"
    if not host:
        return "the webhook address needs http:// or https:// and a host"
    addresses: list[str] = []
    if ip_literal(host) is None:
        try:
            addresses = await resolve(host, port or (443 if parts.scheme == "https" else 80))
        except Unresolved as error:
            return str(error)
    return webhook_target_refusal(address or "", addresses, allow)


class Refused(Exception):  # noqa: N818 - a refusal, not an error of drx's
    """The webhook's host resolves (now) to an address drx does not send to; ``str`` is why."""


async def pin(request: httpx.Request, allow: Iterable[Network]) -> None:
    """Check where ``request`` would go and point it at the checked address (see the docstring).

    Raises :class:`Refused` for an internal address and :class:`Unresolved` when the name does
    not resolve now.
    """
    url = request.url
    host = url.raw_host.decode("ascii")
    literal = ip_literal(host)
    addresses = [] if literal is not None else await resolve(host, url.port or _default_port(url))
    if reason := webhook_target_refusal(str(url), addresses, allow):
        raise Refused(reason)
    if literal is not None:
        request.url = url.copy_with(host=str(literal))  # 0x7f.1 is 127.0.0.1: connect to what was checked
        return
    request.url = url.copy_with(host=addresses[0].split("%", 1)[0])
    if url.scheme == "https":
        request.extensions = {**request.extensions, "sni_hostname": host}


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80
