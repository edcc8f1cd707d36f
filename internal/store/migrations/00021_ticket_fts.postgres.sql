-- +goose Up
-- The full-text vector of a ticket, kept current by PostgreSQL on every
-- write (adding the column fills it for the tickets already there); subject
-- words weigh more than description words. The queue's q= searches it.
ALTER TABLE sd_tickets ADD COLUMN search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', subject), 'A') || setweight(to_tsvector('english', description), 'B')) STORED;
CREATE INDEX sd_tickets_search ON sd_tickets USING GIN (search);

-- +goose Down
DROP INDEX sd_tickets_search;
ALTER TABLE sd_tickets DROP COLUMN search;
