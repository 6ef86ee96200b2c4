"""API keys and request signing (HMAC-SHA256), as Binance checks them.

REST: the `X-MBX-APIKEY` header names the key; `signature` is the hex HMAC-SHA256, keyed by
the secret, of the exact query string and body as sent (without `&signature=...`): the
server hashes the raw bytes, never a re-encoded or re-sorted copy. Websocket API: the
payload is the request's params sorted by key, `k=v` joined by `&`, not percent-encoded,
signature excluded. Both carry `timestamp` (ms) and an optional `recvWindow` (default
5000, at most 60000): a request older than the window or more than 1 s in the future is
refused with -1021.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from connectors.local_exchange import errors

KEY_PATTERN = re.compile(r"^[A-Za-z0-9]{8,128}$")
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
FUTURE_TOLERANCE_MS = 1000


@dataclass(frozen=True)
class Credentials:
    api_key: str
    secret: str

    @classmethod
    def generate(cls) -> "Credentials":
        return cls(secrets.token_hex(32), secrets.token_hex(32))

    def __post_init__(self) -> None:
        for what, value in (("key", self.api_key), ("secret", self.secret)):
            if not KEY_PATTERN.match(value):
                raise ValueError(f"API {what} must be 8-128 letters and digits")


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_key(api_key: str | None, credentials: Credentials) -> None:
    if not api_key or not KEY_PATTERN.match(api_key):
        raise errors.bad_key_format()
    if not hmac.compare_digest(api_key, credentials.api_key):
        raise errors.rejected_key()


def split_signature(raw: str) -> tuple[str, str | None]:
    """`a=1&b=2&signature=xx` -> ('a=1&b=2', 'xx'); the rest is kept byte for byte."""
    kept, signature = [], None
    for part in raw.split("&") if raw else []:
        if part.startswith("signature="):
            signature = part[len("signature="):]
        else:
            kept.append(part)
    return "&".join(kept), signature


def check_signature(payload: str, signature: str | None, credentials: Credentials) -> None:
    if not signature:
        raise errors.mandatory("signature")
    if not hmac.compare_digest(sign(credentials.secret, payload), signature.lower()):
        raise errors.bad_signature()


def check_timestamp(params: dict, now_ms: int) -> None:
    raw_ts = params.get("timestamp")
    if raw_ts in (None, ""):
        raise errors.mandatory("timestamp")
    try:
        ts = int(str(raw_ts))
        window = int(str(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS)))
    except ValueError:
        raise errors.illegal_chars("timestamp" if not str(raw_ts).isdigit() else "recvWindow") from None
    if window <= 0 or window > MAX_RECV_WINDOW_MS:
        raise errors.bad_recv_window()
    if ts >= now_ms + FUTURE_TOLERANCE_MS or now_ms - ts > window:
        raise errors.timestamp_outside()


def ws_payload(params: dict) -> str:
    """The websocket API's signature payload: params sorted by key, raw `k=v` pairs."""
    return "&".join(f"{k}={_ws_value(v)}" for k, v in sorted(params.items()) if k != "signature")


def _ws_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
