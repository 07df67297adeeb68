"""The basic category in FastAPI: plain text, JSON, path and query
parameters, echo, pydantic validation and chunked streams."""

from __future__ import annotations

from typing import Annotated, Optional

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from bench_shared import basic, http

from .common import json_body, new_app, query, read_json_bytes

MAX_BODY_BYTES = 1 << 20
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _short_words(words: Optional[list[str]]) -> Optional[list[str]]:
    if words is not None:
        for index, word in enumerate(words):
            if not 1 <= len(word) <= 50:
                raise ValueError(f"item {index} must have 1 to 50 characters")
    return words


class BenchmarkUser(BaseModel):
    model_config = ConfigDict(strict=True)

    id: int = Field(ge=1, le=1_000_000_000)
    name: str = Field(min_length=1, max_length=100)
    email: str = Field(pattern=EMAIL)
    age: Optional[int] = Field(None, ge=0, le=150)
    is_active: bool = True
    tags: Optional[list[str]] = Field(None, max_length=20)
    metadata: Optional[dict[str, str]] = Field(None, max_length=20)

    _tags = field_validator("tags")(_short_words)


class BenchmarkProduct(BaseModel):
    model_config = ConfigDict(strict=True)

    name: str = Field(min_length=1, max_length=200)
    price: float = Field(gt=0, le=1_000_000)
    category: str = Field(min_length=1, max_length=50)
    description: Optional[str] = Field(None, max_length=1000)
    in_stock: bool = True
    variants: Optional[list[str]] = Field(None, max_length=20)

    _variants = field_validator("variants")(_short_words)


def create_app() -> FastAPI:
    app = new_app("basic")
    uptime = http.Uptime()

    @app.get("/", response_class=PlainTextResponse)
    async def hello() -> str:
        return "Hello, World!"

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok", "category": "basic", "uptime_seconds": uptime.seconds()}

    @app.get("/json")
    async def message() -> dict:
        return {"message": "Hello, World!"}

    @app.get("/user/{user_id}")
    async def user(user_id: str) -> JSONResponse:
        uid = basic.known_user(http.path_uint("id", user_id))
        return JSONResponse(basic.user_record(uid))

    @app.get("/users")
    async def users(request: Request) -> Response:
        limit, offset = basic.page_params(query(request))
        return Response(basic.users_page_json(limit, offset), media_type="application/json")

    @app.get("/user/{user_id}/profile")
    async def user_profile(user_id: str) -> JSONResponse:
        uid = basic.known_user(http.path_uint("id", user_id))
        return JSONResponse(basic.profile(uid))

    @app.post("/echo")
    async def echo(request: Request) -> JSONResponse:
        body = await read_json_bytes(request, MAX_BODY_BYTES)
        return JSONResponse({"echo": http.parse_json(body), "received_bytes": len(body)})

    @app.post("/validate/user")
    async def validate_user(
        user: Annotated[BenchmarkUser, Depends(json_body(BenchmarkUser, MAX_BODY_BYTES))],
    ) -> dict:
        return {"valid": True, "user": user.model_dump()}

    @app.post("/validate/product")
    async def validate_product(
        product: Annotated[BenchmarkProduct, Depends(json_body(BenchmarkProduct, MAX_BODY_BYTES))],
    ) -> dict:
        return {"valid": True, "product": product.model_dump()}

    @app.get("/search/validate")
    async def search(request: Request) -> dict:
        return {"valid": True, "params": basic.search_params(query(request))}

    @app.get("/stream/json")
    async def stream_json(request: Request) -> StreamingResponse:
        count = basic.stream_count(query(request))
        return StreamingResponse(basic.json_stream_chunks(count), media_type="application/json")

    @app.get("/stream/csv")
    async def stream_csv(request: Request) -> StreamingResponse:
        count = basic.stream_count(query(request))
        return StreamingResponse(basic.csv_chunks(count), media_type="text/csv; charset=utf-8")

    return app
