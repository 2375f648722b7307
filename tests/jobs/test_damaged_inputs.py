"""Inputs whose header passes the upload check but whose body is damaged: a job says why, never "internal error"."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from PIL import Image

from tests import images
from tests.conftest import submit, upload, wait_for
from tests.imaging.test_decode import UNREADABLE_ICC, _avif_with_zeroed_data

RESIZE = [{"op": "resize", "params": {"width": 10}}]


def test_a_jpeg_with_an_unreadable_icc_profile_completes_without_it(client: TestClient) -> None:
    data = images.encode(Image.new("RGB", (20, 10), (200, 10, 10)), "JPEG", icc_profile=UNREADABLE_ICC)
    (asset,) = upload(client, ("icc.jpg", data))
    done = wait_for(client, submit(client, [asset["id"]], RESIZE)["id"])
    assert done["status"] == "COMPLETED", done["error"]
    (output,) = done["outputs"]
    result = Image.open(io.BytesIO(client.get(output["url"]).content))
    assert result.size == (10, 5) and "icc_profile" not in result.info


def test_a_corrupt_avif_fails_as_cannot_be_decoded(client: TestClient) -> None:
    (asset,) = upload(client, ("bad.avif", _avif_with_zeroed_data()), content_type="image/avif")
    done = wait_for(client, submit(client, [asset["id"]], RESIZE)["id"])
    assert done["status"] == "FAILED"
    assert "cannot be decoded" in done["error"] and "internal error" not in done["error"]
