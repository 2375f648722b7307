"""The OpenAPI document describes every error as pixmill sends it (schemathesis holds the server to it)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from pixmill.pixtools import is_pixtools_path


def test_every_error_response_has_the_media_type_and_shape_pixmill_sends(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]  # FastAPI's 422 shape, never sent
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith(("4", "5")) or path == "/api/readyz" or path == "/api/health":
                    continue
                expected = "application/json" if is_pixtools_path(path) else "application/problem+json"
                assert list(response["content"]) == [expected], (method, path, status)
                required = response["content"][expected]["schema"]["required"]
                assert required == (["detail"] if is_pixtools_path(path) else ["type", "title", "status", "detail"])
            if "requestBody" in operation:
                assert "413" in operation["responses"], (method, path)
            if operation.get("tags") == ["storefront"] and "orders" in path:
                assert {"401", "403"} <= set(operation["responses"]), (method, path)  # behind the staff key
