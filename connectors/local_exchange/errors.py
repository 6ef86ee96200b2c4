"""Binance's error answers: `{"code": N, "msg": "..."}` with the HTTP status Binance uses.

Only the codes the local exchange produces; the messages are Binance's own wording, which
matters: ccxt maps some errors by message (insufficient balance, post-only crossing) and
others by code.
"""
from __future__ import annotations


class BinanceError(Exception):
    """An error answer. `retry_after` (seconds) adds a Retry-After header (429, 418)."""

    def __init__(self, code: int, msg: str, status: int = 400, retry_after: int | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.retry_after = retry_after

    def body(self) -> dict:
        return {"code": self.code, "msg": self.msg}


def internal(msg: str = "An unknown error occurred while processing the request.") -> BinanceError:
    return BinanceError(-1000, msg, 500)


def too_many_requests(limit: int, retry_after: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
        429, retry_after)


def banned(until_ms: int, retry_after: int) -> BinanceError:
    return BinanceError(-1003, f"Way too much request weight used; IP banned until {until_ms}. "
                        "Please use WebSocket Streams for live updates to avoid bans.", 418, retry_after)


def timestamp_outside() -> BinanceError:
    return BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")


def bad_signature() -> BinanceError:
    return BinanceError(-1022, "Signature for this request is not valid.")


def bad_key_format() -> BinanceError:
    return BinanceError(-2014, "API-key format invalid.", 401)


def rejected_key() -> BinanceError:
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def illegal_chars(param: str) -> BinanceError:
    return BinanceError(-1100, f"Illegal characters found in parameter '{param}'; "
                        "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")


def mandatory(param: str) -> BinanceError:
    return BinanceError(-1102, f"Mandatory parameter '{param}' was not sent, was empty/null, or malformed.")


def either_id() -> BinanceError:
    return BinanceError(-1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")


def not_required(param: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{param}' sent when not required.")


def bad_time_in_force() -> BinanceError:
    return BinanceError(-1115, "Invalid timeInForce.")


def bad_order_type() -> BinanceError:
    return BinanceError(-1116, "Invalid orderType.")


def bad_side() -> BinanceError:
    return BinanceError(-1117, "Invalid side.")


def bad_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def bad_recv_window() -> BinanceError:
    return BinanceError(-1131, "recvWindow must be less than 60000")


def filter_failure(name: str) -> BinanceError:
    """name: PRICE_FILTER, LOT_SIZE, NOTIONAL, MARKET_LOT_SIZE."""
    return BinanceError(-1013, f"Filter failure: {name}")


def insufficient_balance() -> BinanceError:
    return BinanceError(-2010, "Account has insufficient balance for requested action.")


def would_match() -> BinanceError:
    return BinanceError(-2010, "Order would immediately match and take.")


def duplicate_order() -> BinanceError:
    return BinanceError(-2010, "Duplicate order sent.")


def new_order_rejected(msg: str) -> BinanceError:
    return BinanceError(-2010, msg)


def unknown_order() -> BinanceError:
    return BinanceError(-2011, "Unknown order sent.")


def no_such_order() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def not_found(path: str) -> BinanceError:
    return BinanceError(-1000, f"No such endpoint: {path}", 404)


def bad_interval() -> BinanceError:
    return BinanceError(-1120, "Invalid interval.")
