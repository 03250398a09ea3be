"""A small client for Toxiproxy's HTTP API (v2), used against our fault proxy (``chaos/proxy``) and a real
Toxiproxy alike. Timeouts in seconds; latencies in milliseconds (Toxiproxy's units)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from .errors import Tier7Error

_MISSING = object()  # a 404 answered to a call made with missing_ok


class ToxiproxyError(Tier7Error):
    """The proxy answered with an error, or could not be reached; ``status`` is None when unreachable."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ToxiproxyClient:
    def __init__(self, url: str, timeout: float = 10.0, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self.http = client or httpx.Client(timeout=timeout)

    def _call(self, method: str, path: str, json: Any = None, missing_ok: bool = False) -> Any:
        try:
            response = self.http.request(method, self.url + path, json=json)
        except httpx.HTTPError as exc:
            raise ToxiproxyError(f"cannot reach the fault proxy at {self.url}: {exc.__class__.__name__}: {exc}") \
                from None
        if response.status_code == 404 and missing_ok:
            return _MISSING
        if response.status_code >= 400:
            try:
                message = response.json().get("error", response.text)
            except ValueError:
                message = response.text.strip()
            raise ToxiproxyError(f"fault proxy: {method} {path} -> {response.status_code} {message}",
                                 response.status_code)
        return response.json() if response.content else None

    # -- proxies --

    def version(self) -> str:
        answer = self._call("GET", "/version")
        return answer.get("version", str(answer)) if isinstance(answer, dict) else str(answer)

    def proxies(self) -> dict[str, dict[str, Any]]:
        return self._call("GET", "/proxies")

    def proxy(self, name: str) -> dict[str, Any] | None:
        answer = self._call("GET", f"/proxies/{quote(name, safe='')}", missing_ok=True)
        return None if answer is _MISSING else answer

    def create_proxy(self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True) -> dict:
        return self._call("POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream,
                                               "enabled": enabled})

    def populate(self, proxies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._call("POST", "/populate", proxies)["proxies"]

    def set_enabled(self, name: str, enabled: bool) -> dict[str, Any]:
        return self._call("POST", f"/proxies/{quote(name, safe='')}", {"enabled": enabled})

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{quote(name, safe='')}", missing_ok=True)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset")

    # -- toxics --

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/proxies/{quote(proxy, safe='')}/toxics")

    def add_toxic(self, proxy: str, kind: str, attributes: dict[str, float], name: str | None = None,
                  stream: str = "downstream", toxicity: float = 1.0) -> dict[str, Any]:
        body = {"type": kind, "stream": stream, "toxicity": toxicity, "attributes": attributes}
        if name:
            body["name"] = name
        return self._call("POST", f"/proxies/{quote(proxy, safe='')}/toxics", body)

    def set_toxic(self, proxy: str, kind: str, attributes: dict[str, float], name: str,
                  stream: str = "downstream") -> dict[str, Any]:
        """Add the toxic, or update its attributes when one of that name exists."""
        try:
            return self.add_toxic(proxy, kind, attributes, name, stream)
        except ToxiproxyError as exc:
            if exc.status != 409:
                raise
        return self._call("POST", f"/proxies/{quote(proxy, safe='')}/toxics/{quote(name, safe='')}",
                          {"attributes": attributes})

    def remove_toxic(self, proxy: str, name: str) -> bool:
        """Remove a toxic; False when there was none of that name."""
        path = f"/proxies/{quote(proxy, safe='')}/toxics/{quote(name, safe='')}"
        return self._call("DELETE", path, missing_ok=True) is not _MISSING

    def close(self) -> None:
        self.http.close()
