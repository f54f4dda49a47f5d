"""The baseline: the request path of the FastAPI full-stack template's items API, rebuilt here.

What issue 13 compares against ("throughput at least 5x the template's"), measured side by side
with the API on the same PostgreSQL. Written in our own words after reading
fastapi/full-stack-fastapi-template at commit 68adb40d37425f6f8668ec7e5a054500d045e43e
(2026-08-21, "Update release notes"): backend/app/api/routes/items.py, api/deps.py, core/db.py,
core/security.py, core/config.py, models.py, main.py. What each request does there, and here:

- uvicorn, FastAPI, `CORSMiddleware` for the frontend's origin; every endpoint and every
  dependency but the bearer scheme is a plain `def`, so FastAPI runs them in its threadpool.
- The database: `create_engine(DATABASE_URL)` with the `postgresql+psycopg` driver and
  SQLAlchemy's pool defaults (QueuePool 5 + 10 overflow, no pre-ping); one SQLModel `Session`
  per request from a generator dependency (`with Session(engine) as session: yield session`).
- The current user, per request: `OAuth2PasswordBearer` reads the bearer token, `jwt.decode`
  (PyJWT, HS256, the `exp` claim checked) into `TokenPayload`, then `session.get(User, sub)` and
  the `is_active` check (403 bad token, 404 no user, 400 inactive).
- Items: `GET /api/v1/items/` counts the owner's items and selects a page ordered by
  `created_at` desc with `offset(skip).limit(limit)`, validating each row into `ItemPublic`
  (`ItemsPublic{data, count}`); `GET /{id}` is `session.get(Item, id)` then the owner check;
  `POST /` is `Item.model_validate(item_in, update={"owner_id": ...})`, add, commit, refresh;
  `PUT /{id}` gets the item, checks the owner, `sqlmodel_update(model_dump(exclude_unset=True))`,
  add, commit, refresh. Endpoints return the table objects; `response_model` (`ItemPublic`,
  `ItemsPublic`) shapes the answer, serialised by FastAPI's default JSON response.
- The tables as its models declare them (`user` with a unique index on email, `item` with a
  cascading foreign key to it and no index on `owner_id`), made with `SQLModel.metadata
  .create_all`, the alternative its `init_db` documents to its Alembic migrations (same
  columns and indexes).

What differs, on purpose: only the items routes are mounted (no login, users, utils routes, no
frontend static files; Sentry is off in the template unless a DSN is set); settings come from
two environment variables instead of its pydantic-settings class (read once at start either
way); tokens are minted by the harness with the same claims (`exp`, `sub`) its login issues;
the same FastAPI, SQLModel, SQLAlchemy, psycopg and uvicorn versions as ours (our lock file),
and Python 3.11+ syntax (it targets 3.14). It runs like the API in the benchmark: one uvicorn
worker (uvloop + httptools, from uvicorn[standard], as `fastapi run` picks too), and like
`fastapi run` it logs an access line per request (so does the API, as in production).
"""

# No `from __future__ import annotations`: SQLModel reads the relationship annotations at
# class creation (the template relies on Python 3.14's deferred annotations; a string here).
import argparse
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

import jwt
from fastapi import APIRouter, Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer
from jwt.exceptions import InvalidTokenError
from pydantic import EmailStr, ValidationError
from sqlalchemy import DateTime
from sqlmodel import Field, Relationship, Session, SQLModel, col, create_engine, func, select
from starlette.middleware.cors import CORSMiddleware

API_PREFIX = "/api/v1"
ALGORITHM = "HS256"
FRONTEND_ORIGIN = "http://localhost:5173"


def _utc_now() -> datetime:
    return datetime.now(UTC)


# The template's models: users, items, and the request/response shapes of the items API.


class UserBase(SQLModel):
    email: EmailStr = Field(unique=True, index=True, max_length=255)
    is_active: bool = True
    is_superuser: bool = False
    full_name: str | None = Field(default=None, max_length=255)


class User(UserBase, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    hashed_password: str
    created_at: datetime | None = Field(
        default_factory=_utc_now,
        sa_type=DateTime(timezone=True),
    )
    items: list["Item"] = Relationship(back_populates="owner", cascade_delete=True)


class ItemBase(SQLModel):
    title: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=255)


class ItemCreate(ItemBase):
    pass


class ItemUpdate(SQLModel):
    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=255)


class Item(ItemBase, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    created_at: datetime | None = Field(
        default_factory=_utc_now,
        sa_type=DateTime(timezone=True),
    )
    owner_id: uuid.UUID = Field(foreign_key="user.id", nullable=False, ondelete="CASCADE")
    owner: User | None = Relationship(back_populates="items")


class ItemPublic(ItemBase):
    id: uuid.UUID
    owner_id: uuid.UUID
    created_at: datetime | None = None


class ItemsPublic(SQLModel):
    data: list[ItemPublic]
    count: int


class TokenPayload(SQLModel):
    sub: str | None = None


def database_url() -> str:
    """DATABASE_URL with the psycopg driver, as the template's settings validator makes it."""
    url = os.environ["DATABASE_URL"]
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return url.replace(scheme, "postgresql+psycopg://", 1)
    return url


# The engine and the dependencies: module level, made once per process, as in the template.

engine = create_engine(database_url()) if "DATABASE_URL" in os.environ else None
SECRET_KEY = os.environ.get("TEMPLATE_SECRET_KEY", "")
bearer = OAuth2PasswordBearer(tokenUrl=f"{API_PREFIX}/login/access-token")


def session_per_request() -> Iterator[Session]:
    with Session(engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(session_per_request)]
TokenDep = Annotated[str, Depends(bearer)]


def current_user(session: SessionDep, token: TokenDep) -> User:
    try:
        claims = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
        payload = TokenPayload(**claims)
    except (InvalidTokenError, ValidationError):
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN, detail="Could not validate credentials"
        ) from None
    user = session.get(User, payload.sub)
    if not user:
        raise HTTPException(status_code=404, detail="User not found")
    if not user.is_active:
        raise HTTPException(status_code=400, detail="Inactive user")
    return user


CurrentUser = Annotated[User, Depends(current_user)]

items = APIRouter(prefix="/items", tags=["items"])


@items.get("/", response_model=ItemsPublic)
def list_items(session: SessionDep, user: CurrentUser, skip: int = 0, limit: int = 100) -> Any:
    if user.is_superuser:
        count = session.exec(select(func.count()).select_from(Item)).one()
        page = select(Item).order_by(col(Item.created_at).desc()).offset(skip).limit(limit)
    else:
        count = session.exec(
            select(func.count()).select_from(Item).where(Item.owner_id == user.id)
        ).one()
        page = (
            select(Item)
            .where(Item.owner_id == user.id)
            .order_by(col(Item.created_at).desc())
            .offset(skip)
            .limit(limit)
        )
    rows = session.exec(page).all()
    return ItemsPublic(data=[ItemPublic.model_validate(row) for row in rows], count=count)


def _owned_item(session: Session, user: User, item_id: uuid.UUID) -> Item:
    item = session.get(Item, item_id)
    if not item:
        raise HTTPException(status_code=404, detail="Item not found")
    if not user.is_superuser and item.owner_id != user.id:
        raise HTTPException(status_code=403, detail="Not enough permissions")
    return item


@items.get("/{id}", response_model=ItemPublic)
def read_item(session: SessionDep, user: CurrentUser, id: uuid.UUID) -> Any:
    return _owned_item(session, user, id)


@items.post("/", response_model=ItemPublic)
def create_item(*, session: SessionDep, user: CurrentUser, item_in: ItemCreate) -> Any:
    item = Item.model_validate(item_in, update={"owner_id": user.id})
    session.add(item)
    session.commit()
    session.refresh(item)
    return item


@items.put("/{id}", response_model=ItemPublic)
def update_item(
    *, session: SessionDep, user: CurrentUser, id: uuid.UUID, item_in: ItemUpdate
) -> Any:
    item = _owned_item(session, user, id)
    item.sqlmodel_update(item_in.model_dump(exclude_unset=True))
    session.add(item)
    session.commit()
    session.refresh(item)
    return item


def create_template_app() -> FastAPI:
    app = FastAPI(title="template", openapi_url=f"{API_PREFIX}/openapi.json")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[FRONTEND_ORIGIN],
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
    )
    api = APIRouter()
    api.include_router(items)
    app.include_router(api, prefix=API_PREFIX)

    @app.get("/ready")  # the harness's readiness probe (no database)
    def ready() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--create-tables", action="store_true", help="create user and item")
    args = parser.parse_args()
    if args.create_tables:
        if engine is None:
            parser.error("DATABASE_URL is not set")
        SQLModel.metadata.create_all(engine)
        return
    import uvicorn

    uvicorn.run(
        create_template_app(),  # this module, not a second import of it under its own name
        host="127.0.0.1",
        port=args.port,
        workers=1,
        proxy_headers=True,
        # uvicorn's default logging, as `fastapi run` keeps it: an access line per request at
        # INFO (the API logs its own access line per request in the benchmark too).
        log_level="info",
    )


if __name__ == "__main__":
    main()
