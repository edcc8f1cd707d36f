-- +goose Up
-- CI types: built-in ones are seeded by the cmdb service on start; admins
-- add their own. attributes is the JSON schema of the type's attributes.
CREATE TABLE ci_types (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    builtin     BOOLEAN NOT NULL DEFAULT FALSE,
    service     BOOLEAN NOT NULL DEFAULT FALSE,
    attributes  TEXT NOT NULL DEFAULT '[]',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- impact says which way a failure travels along a relationship:
-- target_to_source (B depends_on A: A failing hurts B), source_to_target,
-- both, or none.
CREATE TABLE ci_relationship_types (
    id           INTEGER PRIMARY KEY,
    key          TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    reverse_name TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    impact       TEXT NOT NULL,
    builtin      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

CREATE TABLE cis (
    id          INTEGER PRIMARY KEY,
    type_id     BIGINT NOT NULL REFERENCES ci_types(id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    owner_team  TEXT NOT NULL DEFAULT '',
    criticality TEXT NOT NULL,
    environment TEXT NOT NULL,
    status      TEXT NOT NULL,
    attributes  TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (type_id, name)
);
CREATE INDEX cis_name ON cis (lower(name), id);
CREATE INDEX cis_updated ON cis (updated_at, id);
CREATE INDEX cis_env_status ON cis (environment, status);

CREATE TABLE ci_tags (
    ci_id BIGINT NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    tag   TEXT NOT NULL,
    PRIMARY KEY (ci_id, tag)
);
CREATE INDEX ci_tags_tag ON ci_tags (tag, ci_id);

CREATE TABLE ci_relationships (
    id         INTEGER PRIMARY KEY,
    type_id    BIGINT NOT NULL REFERENCES ci_relationship_types(id),
    source_id  BIGINT NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    target_id  BIGINT NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    UNIQUE (source_id, target_id, type_id),
    CHECK (source_id <> target_id)
);
CREATE INDEX ci_relationships_target ON ci_relationships (target_id);
CREATE INDEX ci_relationships_type ON ci_relationships (type_id);

-- One row per changed field: attributes as "attributes.KEY", relationships
-- as "relationship" with the other end in the value.
CREATE TABLE ci_history (
    id        INTEGER PRIMARY KEY,
    ci_id     BIGINT NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    at        TIMESTAMP NOT NULL,
    actor     TEXT NOT NULL,
    source    TEXT NOT NULL,
    action    TEXT NOT NULL,
    field     TEXT NOT NULL DEFAULT '',
    old_value TEXT NOT NULL DEFAULT '',
    new_value TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ci_history_ci ON ci_history (ci_id, id);

-- Links from other domains' objects to CIs. No foreign key on object_id:
-- it points into the table of its kind.
CREATE TABLE ci_links (
    id         INTEGER PRIMARY KEY,
    ci_id      BIGINT NOT NULL REFERENCES cis(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('monitor', 'incident', 'ticket', 'change', 'asset')),
    object_id  BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by TEXT NOT NULL DEFAULT '',
    UNIQUE (ci_id, kind, object_id)
);
CREATE INDEX ci_links_object ON ci_links (kind, object_id);

-- +goose Down
DROP TABLE ci_links;
DROP TABLE ci_history;
DROP TABLE ci_relationships;
DROP TABLE ci_tags;
DROP TABLE cis;
DROP TABLE ci_relationship_types;
DROP TABLE ci_types;
