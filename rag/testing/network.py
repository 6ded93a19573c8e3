"""Network guards for tests: `no_network()` refuses anything but loopback; `free_port()` finds a port."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable, Iterator
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (for a server a test or benchmark starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])



class NetworkBlockedError(ConnectionRefusedError):
    """A test tried to reach the network while `no_network()` was active."""


_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_local(host: object, extra: set[str]) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local wildcard, used to bind
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip("[]").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost") or name in extra or name == "":
        return True
    try:
        addr = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    return addr.is_loopback or addr.is_unspecified


@contextlib.contextmanager
def no_network(allow: Iterable[str] = ()) -> Iterator[None]:
    """Make connections (and name look-ups) for anything but the loopback interface raise NetworkBlockedError.

    127.0.0.1, ::1 and localhost stay reachable, so servers a test starts itself still work; `allow` adds
    host names or addresses. Works as a context manager or a decorator; patches the socket module globally
    (all threads) until it exits.

    >>> with no_network():
    ...     socket.create_connection(("192.0.2.1", 80), timeout=1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rag.testing.network.NetworkBlockedError: network access to 192.0.2.1 blocked in tests (rag.testing.no_network); ...
    """
    extra = {h.lower() for h in allow}
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_sendto = socket.socket.sendto
    real_getaddrinfo = socket.getaddrinfo
    real_gethostbyname = socket.gethostbyname
    real_gethostbyname_ex = socket.gethostbyname_ex

    def refuse(host: object) -> NetworkBlockedError:
        return NetworkBlockedError(
            f"network access to {host} blocked in tests (rag.testing.no_network); "
            "start a server on 127.0.0.1 instead"
        )

    def check(sock: socket.socket, address: object) -> None:
        # Only IP sockets reach a network; Unix sockets and the like are local by construction.
        if (sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple)
                and not _is_local(address[0], extra)):
            raise refuse(address[0])

    def connect(self: socket.socket, address: Any) -> None:
        check(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        check(self, address)
        return real_connect_ex(self, address)

    def sendto(self: socket.socket, data: Any, *args: Any) -> int:
        if args:
            check(self, args[-1])
        return real_sendto(self, data, *args)  # type: ignore[arg-type]

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local(host, extra) and host != socket.gethostname():
            raise refuse(host)
        return real_getaddrinfo(host, *args, **kwargs)

    def gethostbyname(host: str) -> str:
        if not _is_local(host, extra) and host != socket.gethostname():
            raise refuse(host)
        return real_gethostbyname(host)

    def gethostbyname_ex(host: str) -> Any:
        if not _is_local(host, extra) and host != socket.gethostname():
            raise refuse(host)
        return real_gethostbyname_ex(host)

    socket.socket.connect = connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign,assignment]
    socket.socket.sendto = sendto  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = getaddrinfo
    socket.gethostbyname = gethostbyname
    socket.gethostbyname_ex = gethostbyname_ex
    try:
        yield
    finally:
        socket.socket.connect = real_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = real_sendto  # type: ignore[method-assign]
        socket.getaddrinfo = real_getaddrinfo
        socket.gethostbyname = real_gethostbyname
        socket.gethostbyname_ex = real_gethostbyname_ex
