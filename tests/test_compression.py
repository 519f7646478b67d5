"""Text and the QR decoder's wasm travel compressed: a postman's first load is on a slow link."""

import pytest


@pytest.mark.parametrize(
    "path",
    ["/login", "/static/css/app.css", "/static/js/app.js", "/static/vendor/zxing_reader.wasm"],
)
def test_assets_are_sent_compressed_to_browsers_that_accept_it(client, path):
    plain = client.get(path)
    packed = client.get(path, headers={"Accept-Encoding": "br, gzip"})
    assert packed.status_code == 200
    assert packed.headers["Content-Encoding"] in ("br", "gzip")
    assert len(packed.get_data()) < len(plain.get_data()) / 2
