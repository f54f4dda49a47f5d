"""Where the running rig lives: ports, paths and passwords, written to a JSON file by
`python -m tests.neon.rig up` and read back by the fault-scenario fixtures (`NEON_RIG`)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy.engine import URL

APP_USER = "todo_app"
ADMIN_USER = "rig_admin"
DATABASE = "todo"
STATE_FILE = "rig.json"


@dataclass(frozen=True, kw_only=True)
class RigState:
    root: Path
    pg_bin: Path
    pg_port: int
    bouncer_port: int
    bouncer_bin: str
    admin_password: str
    app_password: str

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def bouncer_ini(self) -> Path:
        return self.root / "pgbouncer.ini"

    @property
    def bouncer_pid_file(self) -> Path:
        return self.root / "pgbouncer.pid"

    def direct_url(self, *, database: str = DATABASE, port: int | None = None) -> URL:
        """The direct endpoint: TLS, SCRAM with channel binding, as Neon's console gives it."""
        return self._url(APP_USER, self.app_password, port or self.pg_port, database, "require")

    def pooled_url(self, *, database: str = DATABASE, port: int | None = None) -> URL:
        # PgBouncer 1.18 offers no SCRAM-SHA-256-PLUS, so channel binding can only be preferred.
        return self._url(APP_USER, self.app_password, port or self.bouncer_port, database, "prefer")

    def admin_url(self) -> URL:
        return self._url(ADMIN_USER, self.admin_password, self.pg_port, "postgres", "require")

    @staticmethod
    def _url(user: str, password: str, port: int, database: str, binding: str) -> URL:
        return URL.create(
            "postgresql+psycopg",
            username=user,
            password=password,
            host="127.0.0.1",
            port=port,
            database=database,
            query={"sslmode": "require", "channel_binding": binding},
        )

    def save(self) -> Path:
        path = self.root / STATE_FILE
        values = {key: str(value) for key, value in asdict(self).items()}
        path.write_text(json.dumps(values, indent=2))
        path.chmod(0o600)
        return path

    @classmethod
    def load(cls, path: Path) -> RigState:
        values = json.loads(path.read_text())
        return cls(
            root=Path(values["root"]),
            pg_bin=Path(values["pg_bin"]),
            pg_port=int(values["pg_port"]),
            bouncer_port=int(values["bouncer_port"]),
            bouncer_bin=values["bouncer_bin"],
            admin_password=values["admin_password"],
            app_password=values["app_password"],
        )
