"""Static assets and compression: content-hashed URLs, long caching, gzip on the wire.

The checkout page must stay small on slow mobile links, so every text response of the
checkout and of `/static` is gzip-compressed when the client accepts it. Static files are
compressed once per file version and kept in memory (a handful of small files).
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from pathlib import Path

from quart import Response, request
from quart.wrappers.response import DataBody, FileBody
from werkzeug.datastructures import Headers

from app.resources import static_folder

_COMPRESSIBLE = (
    "text/",
    "application/javascript",
    "application/json",
    "image/svg+xml",
)
_COMPRESSED_STATUSES = frozenset((200, 400, 403, 404, 409, 429))
_MIN_COMPRESS_BYTES = 512
_YEAR = 365 * 24 * 3600


# Where each plugin blueprint's static files live, by URL prefix (`/static/plugins/NAME/…`,
# added by `add_plugin_static`); any other file is Kassa's own.
_PLUGIN_STATIC_ROOTS: dict[str, Path] = {}
PLUGIN_STATIC_PREFIX = "plugins/"


def add_plugin_static(name: str, folder: Path) -> None:
    _PLUGIN_STATIC_ROOTS[f"{PLUGIN_STATIC_PREFIX}{name}/"] = folder


def _static_path(filename: str) -> Path:
    for prefix, root in _PLUGIN_STATIC_ROOTS.items():
        if filename.startswith(prefix):
            return root / filename[len(prefix) :]
    return static_folder() / filename


@functools.cache
def _file_version(path: Path, mtime_ns: int) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(filename: str) -> str:
    """`/static/<file>?v=<content hash>`: the URL changes whenever the file does.

    `plugins/NAME/<file>` names a file of the plugin blueprint NAME.
    """
    path = _static_path(filename)
    version = _file_version(path, path.stat().st_mtime_ns)
    return f"/static/{filename}?v={version}"


@functools.lru_cache(maxsize=64)
def _gzip_static(path: str, etag: str, body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=9, mtime=0)


def _accepts_gzip() -> bool:
    accepted = request.headers.get("Accept-Encoding", "")
    return any(part.split(";", 1)[0].strip() == "gzip" for part in accepted.split(","))


def _vary_by_encoding(headers: Headers) -> None:
    vary = headers.get("Vary")
    if vary is None:
        headers["Vary"] = "Accept-Encoding"
    elif "accept-encoding" not in vary.lower():
        headers["Vary"] = f"{vary}, Accept-Encoding"


async def compress_response(response: Response) -> Response:
    """gzip a complete text response when the client accepts it (streams are left alone).

    Every answer passes here, the API's included: the checks go cheapest first and read the
    raw headers (werkzeug's parsed `mimetype` and `vary` cost more than the rest of the hook).
    """
    is_static = request.path.startswith("/static/")
    if is_static and response.status_code == 200:
        # Versioned URLs never change content; unversioned ones revalidate.
        response.headers["Cache-Control"] = (
            f"public, max-age={_YEAR}, immutable" if request.args.get("v") else "no-cache"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
    body = response.response
    # Streams (server-sent events) must reach the client as they are written.
    if response.status_code not in _COMPRESSED_STATUSES or not isinstance(
        body, DataBody | FileBody
    ):
        return response
    headers = response.headers
    content_type = headers.get("Content-Type", "").lower()
    if not content_type.startswith(_COMPRESSIBLE) or "Content-Encoding" in headers:
        return response
    if isinstance(body, DataBody) and len(body.data) < _MIN_COMPRESS_BYTES:
        return response  # never compressed at this size, so it does not vary by encoding
    _vary_by_encoding(headers)
    if request.method == "HEAD" or not _accepts_gzip():
        return response
    data = await response.get_data(as_text=False)
    if len(data) < _MIN_COMPRESS_BYTES:
        return response
    if is_static:
        compressed = _gzip_static(request.path, response.headers.get("ETag", ""), data)
    else:
        # Level 6: dynamic pages are small; the time matters more than the last bytes.
        compressed = gzip.compress(data, compresslevel=6, mtime=0)
    response.set_data(compressed)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(compressed))
    return response
