"""Conditional responses: a 304 instead of a body the client already holds.

On a phone's slow link every repeat load re-asks for the service worker and today's run; when
they are unchanged, a 304 of a few hundred bytes replaces kilobytes.
"""

from __future__ import annotations

from flask import Response, request

# Flask-Compress tags a compressed body's ETag "<tag>:<algorithm>": the client sends that back.
COMPRESSED_TAG_SEPARATOR = ":"


def conditional(response: Response, tag: str) -> Response:
    """Give `response` the strong ETag `tag`; a 304 when the request's If-None-Match holds it."""
    response.set_etag(tag)
    held = request.if_none_match
    matched = next(
        (
            etag
            for etag in held.as_set()
            if etag == tag or etag.startswith(tag + COMPRESSED_TAG_SEPARATOR)
        ),
        None,
    )
    if matched is None and not held.star_tag:
        return response
    not_modified = Response(status=304)
    for name in ("Cache-Control", "Vary", "Service-Worker-Allowed"):
        if name in response.headers:
            not_modified.headers[name] = response.headers[name]
    not_modified.set_etag(matched or tag)  # the tag the client holds, as it holds it
    return not_modified
