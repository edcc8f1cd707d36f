-- +goose Up
-- Status pages: a public (or sign-in only) view of chosen monitors.
CREATE TABLE status_pages (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    title       TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    public      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- The monitors a page shows, in order. Deleting a monitor takes it off
-- every page; deleting a page takes its list with it.
CREATE TABLE status_page_monitors (
    page_id      BIGINT NOT NULL REFERENCES status_pages(id) ON DELETE CASCADE,
    monitor_id   BIGINT NOT NULL REFERENCES monitors(id) ON DELETE CASCADE,
    position     BIGINT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    section      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (page_id, monitor_id)
);
CREATE INDEX status_page_monitors_monitor ON status_page_monitors(monitor_id);

-- +goose Down
DROP TABLE status_page_monitors;
DROP TABLE status_pages;
