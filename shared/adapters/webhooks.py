"""Webhook delivery over HTTP with httpx: the same adapter locally and in Azure.

The service signs and decides retries; this only sends one POST and reports what came
back. Redirects are not followed (a signed alert goes to the address subscribed, nowhere
else) and the receiver's answer body is never read beyond its status.
"""

from __future__ import annotations

import threading

import httpx

from shared.ports import WebhookResult


class HttpWebhookSender:
    """Thread-safe: one pooled client shared by the delivery workers."""

    def __init__(self, *, user_agent: str = "Vigil-Webhooks/1"):
        self._user_agent = user_agent
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def _http(self) -> httpx.Client:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = httpx.Client(follow_redirects=False, headers={"User-Agent": self._user_agent})
        return self._client

    def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> WebhookResult:
        try:
            response = self._http().post(url, content=body, headers={"Content-Type": "application/json", **headers}, timeout=timeout)
        except httpx.TimeoutException:
            return WebhookResult(status=0, error="timeout")
        except httpx.HTTPError as exc:
            return WebhookResult(status=0, error=type(exc).__name__)
        return WebhookResult(status=response.status_code, error=None if response.is_success else f"HTTP {response.status_code}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
