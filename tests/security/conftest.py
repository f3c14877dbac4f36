"""The AppTest fixtures of tests/app (a fresh SQLite file per test, role accounts, the demo registry)."""

from tests.app.conftest import (  # noqa: F401
    app_engine,
    app_url,
    demo_database,
    demo_registry,
    users_database,
    with_demo,
    with_users,
)
