-- terrane state, format 1, for PostgreSQL. The same tables as the SQLite store;
-- the workspace lock itself is an advisory lock, and `locks` says who holds it.
CREATE TABLE terrane_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO terrane_meta (key, value) VALUES ('format_version', '1');

CREATE TABLE workspaces (
    name       TEXT PRIMARY KEY,
    lineage    TEXT NOT NULL,
    serial     BIGINT NOT NULL,
    created_at TEXT NOT NULL
);

CREATE TABLE resources (
    workspace       TEXT NOT NULL REFERENCES workspaces(name) ON DELETE CASCADE,
    address         TEXT NOT NULL,
    provider        TEXT NOT NULL,
    schema_version  BIGINT NOT NULL,
    attributes      TEXT NOT NULL,
    sensitive_paths TEXT NOT NULL,
    dependencies    TEXT NOT NULL,
    status          TEXT NOT NULL,
    create_token    TEXT,
    serial          BIGINT NOT NULL,
    PRIMARY KEY (workspace, address)
);

CREATE TABLE outputs (
    workspace TEXT NOT NULL REFERENCES workspaces(name) ON DELETE CASCADE,
    name      TEXT NOT NULL,
    value     TEXT NOT NULL,
    sensitive BOOLEAN NOT NULL,
    PRIMARY KEY (workspace, name)
);

CREATE TABLE journal (
    workspace   TEXT NOT NULL,
    serial      BIGINT NOT NULL,
    run_id      TEXT NOT NULL,
    actor       TEXT NOT NULL,
    address     TEXT NOT NULL,
    action      TEXT NOT NULL,
    before      TEXT,
    after       TEXT,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (workspace, serial)
);

CREATE TABLE intents (
    workspace  TEXT NOT NULL,
    address    TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    action     TEXT NOT NULL,
    token      TEXT NOT NULL,
    provider   TEXT NOT NULL,
    planned    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (workspace, address)
);

CREATE TABLE locks (
    workspace  TEXT PRIMARY KEY,
    id         TEXT NOT NULL,
    operation  TEXT NOT NULL,
    who        TEXT NOT NULL,
    created_at TEXT NOT NULL
);
