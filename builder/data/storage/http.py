"""HTTP(S) stores: read-only, with the guards untrusted URLs need (addresses, redirects, CORS)."""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import urlsplit

from builder.core.errors import StorageAccessError
from builder.data.storage.base import CORS_PROBE_ORIGIN, Budget, ObjectInfo, StorageError, Store, _slice


def _is_public_address(text: str) -> bool:
    """Whether an address may be read from an untrusted URL: globally routable unicast only.

    This also refuses carrier-grade NAT (100.64.0.0/10), benchmarking, documentation and
    multicast ranges. An IPv6 scope id ("fe80::1%eth0") is dropped; IPv4-mapped IPv6 is judged
    as the IPv4 address it carries, so every Python version gives the same answer.
    """
    address = ipaddress.ip_address(text.split("%")[0])
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class PrivatePeerError(StorageAccessError):
    """An untrusted https connection reached a non-public address (DNS rebinding): SAF002.

    Deliberately not an OSError: urllib3 would then treat it as a broken connection (retry
    budget, MaxRetryError) and requests would turn it into a generic ConnectionError (NET001);
    as a plain Exception it passes both unchanged (urllib3 still closes the connection).
    """

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"host {host} connected to the non-public address {address}")
        self.host = host
        self.address = address


@functools.cache
def _guarded_https_classes() -> tuple[type, type, type]:
    """requests/urllib3 classes whose https connections refuse a non-public peer once connected.

    ``_refuse_private_host`` resolves the name once, before any request; urllib3 resolves it
    again when connecting, so a rebinding DNS server could answer a public address first and
    127.0.0.1 or 169.254.169.254 second. Checking ``getpeername()`` of the socket actually
    connected, before TLS or any byte of the request, closes that window.

    Not covered: requests through a proxy (HTTPS_PROXY). The proxy resolves the name and
    connects, so our socket's peer is the proxy; those go through requests' own
    ProxyManager with stock connections, and the proxy must enforce egress rules itself.

    Returns (adapter, connection pool, connection) classes; built on first use because
    requests is imported only when an HTTP store is opened.
    """
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPSConnection
    from urllib3.connectionpool import HTTPSConnectionPool
    from urllib3.exceptions import NewConnectionError

    class PublicPeerHTTPSConnection(HTTPSConnection):
        def _new_conn(self):
            sock = super()._new_conn()
            try:
                peer = sock.getpeername()[0]
            except OSError as exc:  # reset already: nothing verified, so nothing is read
                sock.close()
                raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc
            if not _is_public_address(peer):
                sock.close()
                raise PrivatePeerError(self.host, peer.split("%")[0])
            return sock

    class PublicPeerHTTPSConnectionPool(HTTPSConnectionPool):
        ConnectionCls = PublicPeerHTTPSConnection

    class PublicPeerAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kwargs):
            super().init_poolmanager(*args, **kwargs)
            # A copy: the module-level mapping is shared by every PoolManager.
            self.poolmanager.pool_classes_by_scheme = {
                **self.poolmanager.pool_classes_by_scheme, "https": PublicPeerHTTPSConnectionPool,
            }

    return PublicPeerAdapter, PublicPeerHTTPSConnectionPool, PublicPeerHTTPSConnection


def _private_peer(exc: BaseException | None) -> PrivatePeerError | None:
    """The PrivatePeerError behind an exception, should requests or urllib3 ever wrap it."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, PrivatePeerError):
            return current
        todo.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        todo.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return None




class HttpStore(Store):
    """An http(s) prefix. Redirects are followed only on the same host; CORS is recorded.

    ``untrusted`` https stores (URLs from records) check the address each connection
    actually reached and refuse non-public ones (SAF002), see :func:`_guarded_https_classes`.
    """

    kind = "http"

    def __init__(self, url: str, budget: Budget, *, session=None, untrusted: bool = True) -> None:
        super().__init__(url, budget)
        import requests  # deferred: only HTTP stores need it

        self._requests = requests
        self.session = session or requests.Session()
        self.host = urlsplit(self.url).netloc
        self.untrusted = untrusted
        if untrusted:
            # Also on a session passed in: an untrusted store never reads without the guard.
            # Redirects stay on the same host and scheme, so they use this adapter too.
            adapter_cls = _guarded_https_classes()[0]
            self.session.mount("https://", adapter_cls())

    def _private_peer_error(self, peer: PrivatePeerError, url: str, key: str) -> StorageError:
        return StorageError(
            "SAF002",
            f"{url}: host {peer.host} connected to the non-public address {peer.address}; "
            "only public hosts are read",
            url=self.url, key=key,
        )

    def _request(self, key: str, headers: dict[str, str], method: str = "GET"):
        """(response, final url) after following same-host, same-scheme redirects; the guards apply to each hop."""
        requests = self._requests
        url = self.location(key)
        timeout = min(self.budget.request_timeout_s, self._time_left())
        for _hop in range(4):
            try:
                resp = self.session.request(
                    method, url, headers=headers, stream=True, allow_redirects=False, timeout=timeout
                )
            except PrivatePeerError as exc:
                raise self._private_peer_error(exc, url, key) from None
            except requests.exceptions.Timeout:
                raise StorageError(
                    "NET004", f"{url} did not answer within {timeout:g} s (limits.request_timeout_s)",
                    url=self.url, key=key,
                ) from None
            except requests.exceptions.ConnectionError as exc:
                peer = _private_peer(exc)
                if peer is not None:
                    raise self._private_peer_error(peer, url, key) from None
                raise StorageError(
                    "NET001", f"cannot connect to {urlsplit(url).netloc} for {url}: {_reason(exc)}",
                    url=self.url, key=key,
                ) from None
            if resp.is_redirect:
                target = requests.compat.urljoin(url, resp.headers.get("Location", ""))
                resp.close()
                target_host = urlsplit(target).netloc
                if urlsplit(target).scheme != urlsplit(url).scheme:
                    raise StorageError(
                        "NET005",
                        f"{url} redirects from {urlsplit(url).scheme}:// to {urlsplit(target).scheme}:// "
                        f"({target}); not followed",
                        url=self.url, key=key,
                    )
                if target_host != self.host:
                    raise StorageError(
                        "NET005",
                        f"{url} redirects from host {self.host} to another host {target_host} ({target}); "
                        "not followed",
                        url=self.url, key=key,
                    )
                url = target
                continue
            break
        else:
            raise StorageError("NET007", f"{url} redirects in a loop", url=self.url, key=key)
        return resp, url

    def _refuse_status(self, resp, url: str, key: str) -> None:
        """Errors for the answers that are neither data nor 'missing'."""
        if resp.status_code in (401, 403):
            raise StorageError(
                "NET003", f"{url} answered {resp.status_code} {resp.reason}: access denied",
                url=self.url, key=key,
            )
        if resp.status_code not in (200, 206, 404, 410, 416):
            raise StorageError(
                "NET007", f"{url} answered {resp.status_code} {resp.reason}", url=self.url, key=key
            )

    def _fetch(self, key, start, end, suffix, cap):
        requests = self._requests
        headers = {"Origin": CORS_PROBE_ORIGIN, "Accept-Encoding": "identity"}
        if suffix is not None:
            headers["Range"] = f"bytes=-{suffix}"
        elif start is not None:
            headers["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        resp, url = self._request(key, headers)
        with resp:
            if resp.status_code == 404 or resp.status_code == 410:
                return 404, None, None
            self._refuse_status(resp, url, key)
            if resp.status_code == 416:  # a range past the end of a short object
                return 206, b"", resp.headers.get("ETag")
            self._note_cors(resp.headers.get("Access-Control-Allow-Origin"))
            declared = resp.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap and resp.status_code == 200 and (
                start is None and suffix is None
            ):
                raise self._too_big(key, cap)
            chunks: list[bytes] = []
            total = 0
            try:
                for piece in resp.iter_content(64 * 1024):
                    total += len(piece)
                    if total > cap:
                        raise self._too_big(key, cap)
                    if self.elapsed > self.budget.max_seconds:
                        raise StorageError(
                            "NET004",
                            f"{url} sent data too slowly: over {self.budget.max_seconds:g} s "
                            "(limits.image_timeout_s)",
                            url=self.url, key=key,
                        )
                    chunks.append(piece)
            except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
                raise StorageError(
                    "NET004", f"{url} stopped sending data: {_reason(exc)}", url=self.url, key=key
                ) from None
            data = b"".join(chunks)
            if resp.status_code == 200 and (start is not None or suffix is not None):
                data = _slice(data, start, end, suffix)  # server ignored the Range header
                self.usage.bytes += total - len(data)  # the budget counts what came over the wire
            return resp.status_code, data, resp.headers.get("ETag")

    def _stream(self, key, block_size):
        requests = self._requests
        resp, url = self._request(key, {"Origin": CORS_PROBE_ORIGIN, "Accept-Encoding": "identity"})
        with resp:
            if resp.status_code in (404, 410):
                raise FileNotFoundError(key)
            self._refuse_status(resp, url, key)
            self._note_cors(resp.headers.get("Access-Control-Allow-Origin"))
            if key:
                self.etags[key] = resp.headers.get("ETag") or ""
            try:
                for piece in resp.iter_content(block_size):
                    if self.elapsed > self.budget.max_seconds:
                        raise StorageError(
                            "NET004", f"{url} sent data too slowly: over {self.budget.max_seconds:g} s",
                            url=self.url, key=key,
                        )
                    yield piece
            except (requests.exceptions.Timeout, requests.exceptions.ConnectionError) as exc:
                raise StorageError(
                    "NET004", f"{url} stopped sending data: {_reason(exc)}", url=self.url, key=key
                ) from None

    def _stat(self, key):
        resp, url = self._request(key, {"Origin": CORS_PROBE_ORIGIN, "Accept-Encoding": "identity"}, "HEAD")
        with resp:
            if resp.status_code in (404, 410):
                return None
            self._refuse_status(resp, url, key)
            length = resp.headers.get("Content-Length", "")
            if not length.isdigit():
                return None
            return ObjectInfo(key, int(length), resp.headers.get("ETag"))


def _reason(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker in text:
            return marker.lower()
    return type(exc).__name__


