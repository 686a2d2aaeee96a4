-- +goose Up
-- Reminders are planned when they fall due, for the registrants confirmed
-- before that moment: one row here per (event, offset, start) planned, so a
-- reminder is planned once, and planned again only for a new start time.
CREATE TABLE reminder_plans (
    event_id       INTEGER NOT NULL REFERENCES events (id),
    offset_seconds INTEGER NOT NULL,
    starts_at      TIMESTAMP NOT NULL,
    planned_at     TIMESTAMP NOT NULL,
    recipients     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, offset_seconds, starts_at)
);
DROP INDEX messages_registration;
CREATE INDEX messages_registration ON messages (registration_id, status);
-- Organizer reads of an event's mail go through its registrations: an index
-- by event would be one more place every sign-up of a rush writes to.
DROP INDEX messages_event;

-- +goose Down
CREATE INDEX messages_event ON messages (event_id, status);
DROP INDEX messages_registration;
CREATE INDEX messages_registration ON messages (registration_id, kind, status);
DROP TABLE reminder_plans;
