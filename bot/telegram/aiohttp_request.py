"""``AiohttpRequest``: python-telegram-bot's transport on aiohttp instead of httpx.

PTB's default ``HTTPXRequest`` costs 0.9–2 ms of event-loop CPU per ``send_message`` (more with
many requests in flight), most of it in httpx/httpcore; on aiohttp the whole call costs about
0.2–0.35 ms. This class is a drop-in ``telegram.request.BaseRequest`` that mirrors
``HTTPXRequest`` (PTB 22.8): the same constructor defaults, the same request (URL-encoded form, or
multipart when files are uploaded, file names escaped as httpx escapes them), no redirects
followed, and the same errors (``TimedOut``, with httpx's message for a full pool;
``NetworkError("aiohttp.<Class>: …")`` for other transport failures).

PTB needs two separate instances (one for ``getUpdates``, one for everything else);
``builder_requests`` makes the pair and ``use_aiohttp`` puts it on an ``ApplicationBuilder``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import ssl
from collections.abc import AsyncIterator
from typing import IO, Any, Final, TypeVar
from urllib.parse import urlencode

import aiohttp
from aiohttp.abc import AbstractStreamWriter
from multidict import CIMultiDict
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.ext import ApplicationBuilder
from telegram.request import BaseRequest, RequestData

__all__ = ["AiohttpRequest", "builder_requests", "use_aiohttp"]

POOL_TIMEOUT_MESSAGE: Final = (
    "Pool timeout: All connections in the connection pool are occupied. "
    "Request was *not* sent to Telegram. Consider adjusting the connection "
    "pool size or the pool timeout."
)  # word for word HTTPXRequest's
WRITE_CHUNK: Final = 64 * 1024  # httpx sends uploads in 64 KiB writes, each under the write timeout
FORM_TYPE: Final = "application/x-www-form-urlencoded"  # encoded here as httpx does; FormData costs more
KEEPALIVE_S: Final = 5.0  # httpx's keepalive_expiry

# httpx's escaping of multipart parameters (HTML5 form encoding); aiohttp then adds the
# backslash escape itself (FormData(quote_fields=False)), so only these are ours to replace.
_FORM_PARAM_REPLACEMENTS = {'"': "%22"} | {chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}
_FORM_PARAM_RE = re.compile("|".join(re.escape(c) for c in _FORM_PARAM_REPLACEMENTS))


class AiohttpRequest(BaseRequest):
    """A ``BaseRequest`` on one ``aiohttp.ClientSession``, made in :meth:`initialize` (or at the
    first request) inside the running loop and closed in :meth:`shutdown`.

    Args (as ``HTTPXRequest``'s):
        connection_pool_size: most requests in flight at once (= connections, HTTP/1.1); ``256``
            like PTB's default for the bot (``ApplicationBuilder`` uses ``1`` for getUpdates).
        read_timeout: seconds to wait for each read of the answer (aiohttp ``sock_read``: the
            time between two chunks, like httpx's read timeout). Default ``5``.
        write_timeout: seconds each 64 KiB write of an upload may wait for the socket. Default
            ``5``. aiohttp has no write timeout of its own: it is enforced for multipart (file)
            bodies only; a form body of a few KiB never waits for the socket (it goes into the
            transport's buffer at once), so there is nothing to time.
        connect_timeout: seconds for DNS, TCP and TLS setup (aiohttp ``connect`` and
            ``sock_connect``). Default ``5``.
        pool_timeout: seconds to wait for a free slot when ``connection_pool_size`` requests are
            in flight; then ``TimedOut`` with httpx's pool message and nothing is sent. Default
            ``1``. aiohttp counts that wait under ``ClientTimeout.connect`` and cannot tell it
            apart, so the pool is our own semaphore and aiohttp's connector is left unlimited.
        media_write_timeout: the write timeout for requests that upload files, unless the
            call passes ``write_timeout``. Default ``20``.
        trust_env: let aiohttp read ``HTTP(S)_PROXY``/``NO_PROXY`` and ``.netrc`` (httpx does by
            default). Off by default: this service talks to Telegram directly, and reading the
            environment costs time on every request.

    Not supported, unlike ``HTTPXRequest``: ``proxy``, ``socket_options``, ``http_version`` (always
    HTTP/1.1) and ``httpx_kwargs``. Cookies are not kept (the Bot API sets none). File handles
    passed for upload are read whole into memory (httpx reads them in the event loop too). In a
    multipart body the plain fields carry ``Content-Type: text/plain; charset=utf-8`` (aiohttp's
    way; httpx sends none); names, values, file names and file types are the same.
    """

    __slots__ = (
        "_closed",
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_read_timeout",
        "_session",
        "_slots",
        "_timeouts",
        "_trust_env",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = 256,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        *,
        trust_env: bool = False,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._trust_env = trust_env
        self._session: aiohttp.ClientSession | None = None
        self._slots: asyncio.Semaphore | None = None
        self._closed = False
        # (read, connect) -> ClientTimeout; few distinct values (getUpdates adds its poll time).
        self._timeouts: dict[tuple[float | None, float | None], aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout in seconds (``Bot.get_updates`` adds its poll time to it)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (again, after :meth:`shutdown`); a no-op while it is open."""
        self._closed = False
        if self._session is None or self._session.closed:
            self._session = self._build_session()

    async def shutdown(self) -> None:
        """Close the session and its connections; requests then fail until :meth:`initialize`."""
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()

    def _build_session(self) -> aiohttp.ClientSession:
        self._slots = asyncio.Semaphore(self._pool_size)
        connector = aiohttp.TCPConnector(
            limit=0,  # the pool limit is self._slots (see pool_timeout)
            keepalive_timeout=KEEPALIVE_S,
            ssl=_ssl_context(),
        )
        return aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=self._timeout(self._read_timeout, self._connect_timeout),
            trust_env=self._trust_env,
        )

    def _timeout(self, read: float | None, connect: float | None) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get((read, connect))
        if timeout is None:
            if len(self._timeouts) > 64:
                self._timeouts.clear()
            timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect, sock_read=read)
            self._timeouts[(read, connect)] = timeout
        return timeout

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """See :meth:`BaseRequest.do_request`: one HTTP request, answered as (status, body)."""
        session = self._session
        if session is None or session.closed:
            if self._closed:
                raise RuntimeError("This AiohttpRequest is not initialized!")
            await self.initialize()
            session = self._session
            assert session is not None
        slots = self._slots
        assert slots is not None

        # Timeouts the caller did not pass are this instance's (as HTTPXRequest does).
        if isinstance(read_timeout, DefaultValue):
            read_timeout = self._read_timeout
        if isinstance(connect_timeout, DefaultValue):
            connect_timeout = self._connect_timeout
        if isinstance(pool_timeout, DefaultValue):
            pool_timeout = self._pool_timeout
        files = request_data is not None and request_data.contains_files
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write_timeout if files else self._write_timeout

        body: Any = None  # no parameters (or a GET): no body, like httpx
        if files:
            assert request_data is not None
            body = _multipart(request_data, write_timeout)
        elif request_data is not None and (params := request_data.json_parameters):
            body = aiohttp.BytesPayload(urlencode(params, doseq=True).encode(), content_type=FORM_TYPE)

        if slots.locked():
            try:
                async with asyncio.timeout(pool_timeout):
                    await slots.acquire()
            except TimeoutError as err:
                raise TimedOut(message=POOL_TIMEOUT_MESSAGE) from err
        else:
            await slots.acquire()  # a free slot: returns without suspending
        try:
            async with session.request(
                method,
                url,
                data=body,
                timeout=self._timeout(read_timeout, connect_timeout),
                allow_redirects=False,  # httpx's AsyncClient does not follow them either
            ) as resp:
                return resp.status, await resp.read()
        except TimeoutError as err:  # aiohttp's connect/read timeouts, our write timeout
            raise TimedOut from err
        except aiohttp.ClientError as err:
            # The class name, as HTTPXRequest gives it: aiohttp's message alone can be empty.
            raise NetworkError(f"aiohttp.{err.__class__.__name__}: {err}") from err
        finally:
            slots.release()


def _ssl_context() -> ssl.SSLContext | bool:
    """httpx verifies against certifi's CA bundle; do the same where certifi is installed."""
    try:
        import certifi
    except ImportError:
        return True
    return ssl.create_default_context(cafile=certifi.where())


def _form_param(value: str) -> str:
    return _FORM_PARAM_RE.sub(lambda m: _FORM_PARAM_REPLACEMENTS[m.group(0)], value)


def _multipart(request_data: RequestData, write_timeout: float | None) -> aiohttp.Payload:
    """The fields, then the files (filename and MIME type as PTB gives them), as httpx sends."""
    form = aiohttp.FormData(quote_fields=False, default_to_multipart=True)
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in request_data.multipart_data.items():
        form.add_field(
            name,
            _read(content),
            filename=_form_param(filename) if filename else filename,
            content_type=mime,
        )
    payload = form()
    return payload if write_timeout is None else _WriteTimeoutPayload(payload, write_timeout)


def _read(content: bytes | IO[bytes]) -> io.BytesIO:
    """The file's bytes, in a BytesIO: aiohttp sends that in 64 KiB writes (raw bytes over 1 MiB
    get a ResourceWarning), and leaves the caller's own file handle open."""
    if isinstance(content, bytes | bytearray | memoryview):
        return io.BytesIO(content)
    if hasattr(content, "seek"):  # httpx rewinds too, so a second upload sends the whole file
        with contextlib.suppress(io.UnsupportedOperation):
            content.seek(0)
    return io.BytesIO(content.read())


class _WriteTimeoutPayload(aiohttp.Payload):
    """Another payload, written in 64 KiB writes that each raise ``TimeoutError`` when the socket
    takes more than ``timeout`` seconds to accept them (aiohttp has no write timeout)."""

    def __init__(self, inner: aiohttp.Payload, timeout: float) -> None:
        super().__init__(inner, headers=inner.headers)
        self._inner = inner
        self._timeout = timeout
        self._size = inner.size
        self._autoclose = inner.autoclose

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        return self._inner.decode(encoding, errors)

    async def write(self, writer: AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: AbstractStreamWriter, content_length: int | None) -> None:
        await self._inner.write_with_length(_TimedWriter(writer, self._timeout), content_length)

    def _close(self) -> None:
        self._inner._close()

    async def close(self) -> None:
        await self._inner.close()


class _TimedWriter(AbstractStreamWriter):
    """Passes everything to ``inner``; body writes go in 64 KiB pieces, each under a timeout."""

    def __init__(self, inner: AbstractStreamWriter, timeout: float) -> None:
        self._inner = inner
        self._timeout = timeout

    @property
    def buffer_size(self) -> int:  # type: ignore[override]
        return self._inner.buffer_size

    @property
    def output_size(self) -> int:  # type: ignore[override]
        return self._inner.output_size

    @property
    def transport(self) -> asyncio.WriteTransport | None:
        return self._inner.transport

    @contextlib.asynccontextmanager
    async def _timed(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self._timeout):
                yield
        except TimeoutError:
            # Drop the connection as httpx does: closed gently, it would keep the unsent rest
            # of the body buffered until the peer reads it or the kernel gives up.
            if (transport := self._inner.transport) is not None:
                transport.abort()
            raise

    async def write(self, chunk: bytes | bytearray | memoryview) -> None:
        view = memoryview(chunk)
        for start in range(0, len(view), WRITE_CHUNK):
            async with self._timed():
                await self._inner.write(view[start : start + WRITE_CHUNK])

    async def write_eof(self, chunk: bytes = b"") -> None:
        async with self._timed():
            await self._inner.write_eof(chunk)

    async def drain(self) -> None:
        async with self._timed():
            await self._inner.drain()

    def enable_compression(self, encoding: str = "deflate", strategy: int | None = None) -> None:
        self._inner.enable_compression(encoding, strategy)

    def enable_chunking(self) -> None:
        self._inner.enable_chunking()

    async def write_headers(self, status_line: str, headers: CIMultiDict[str]) -> None:
        await self._inner.write_headers(status_line, headers)

    def send_headers(self) -> None:
        self._inner.send_headers()


def builder_requests(
    pool_size: int = 256,
    *,
    get_updates_pool_size: int = 1,
    read_timeout: float | None = 5.0,
    write_timeout: float | None = 5.0,
    connect_timeout: float | None = 5.0,
    pool_timeout: float | None = 1.0,
    media_write_timeout: float | None = 20.0,
) -> tuple[AiohttpRequest, AiohttpRequest]:
    """``(request, get_updates_request)``: the two separate instances PTB requires, sized as
    ``ApplicationBuilder`` sizes its own (256 and 1 connections)."""

    def make(size: int) -> AiohttpRequest:
        return AiohttpRequest(
            size,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
            media_write_timeout=media_write_timeout,
        )

    return make(pool_size), make(get_updates_pool_size)


B = TypeVar("B", bound=ApplicationBuilder[Any, Any, Any, Any, Any, Any])


def use_aiohttp(builder: B, pool_size: int = 256, **kw: Any) -> B:
    """``builder.request(…).get_updates_request(…)`` with a fresh :func:`builder_requests` pair.
    Leave the builder's own timeout and pool settings unset: PTB refuses both at once."""
    request, get_updates = builder_requests(pool_size, **kw)
    return builder.request(request).get_updates_request(get_updates)
