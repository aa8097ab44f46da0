"""Run a blocking call that starts its own asyncio loop (pyHanko's synchronous API does) from any thread.

pyHanko's ``sign_pdf`` and ``validate_pdf_signature`` call ``asyncio.run``, which refuses to start when the
calling thread already runs a loop: an ASGI or gevent-style server, a Jupyter kernel, Playwright's sync API.
In that case the call runs on a short-lived worker thread, which has no loop of its own.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")


def call_blocking(function: Callable[..., T], /, *args, **kwargs) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-blocking") as pool:
        return pool.submit(function, *args, **kwargs).result()
