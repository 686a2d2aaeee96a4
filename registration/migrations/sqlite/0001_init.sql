-- +goose Up
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE events (
    id                     INTEGER PRIMARY KEY,
    slug                   TEXT NOT NULL UNIQUE,
    kind                   TEXT NOT NULL,
    title                  TEXT NOT NULL,
    organizer              TEXT NOT NULL DEFAULT '',
    summary                TEXT NOT NULL DEFAULT '',
    description            TEXT NOT NULL DEFAULT '',
    timezone               TEXT NOT NULL,
    registration_opens_at  TIMESTAMP NOT NULL,
    registration_closes_at TIMESTAMP,
    starts_at              TIMESTAMP,
    ends_at                TIMESTAMP,
    capacity               INTEGER CHECK (capacity IS NULL OR capacity >= 0),
    waitlist               BOOLEAN NOT NULL DEFAULT 1,
    join_url               TEXT NOT NULL DEFAULT '',
    location               TEXT NOT NULL DEFAULT '',
    replay_url             TEXT NOT NULL DEFAULT '',
    download_url           TEXT NOT NULL DEFAULT '',
    reminders              TEXT NOT NULL DEFAULT '["24h","1h"]',
    state                  TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published', 'cancelled')),
    sequence               INTEGER NOT NULL DEFAULT 0,
    confirmed              INTEGER NOT NULL DEFAULT 0,
    waitlisted             INTEGER NOT NULL DEFAULT 0,
    replay_planned_at      TIMESTAMP,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    -- The last line of defence of the capacity rule: the guarded UPDATE keeps
    -- it, and a bug that did not would fail here instead of over-booking.
    CHECK (confirmed >= 0 AND waitlisted >= 0),
    CHECK (capacity IS NULL OR confirmed <= capacity)
);

CREATE TABLE registrations (
    id            INTEGER PRIMARY KEY,
    event_id      INTEGER NOT NULL REFERENCES events (id),
    status        TEXT NOT NULL CHECK (status IN ('confirmed', 'waitlisted', 'cancelled')),
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    email_norm    TEXT NOT NULL,
    company       TEXT NOT NULL DEFAULT '',
    job_title     TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    question      TEXT NOT NULL DEFAULT '',
    locale        TEXT NOT NULL,
    consent       BOOLEAN NOT NULL DEFAULT 0,
    reminders_off BOOLEAN NOT NULL DEFAULT 0,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    confirmed_at  TIMESTAMP,
    cancelled_at  TIMESTAMP,
    checked_in_at TIMESTAMP,
    joined_at     TIMESTAMP,
    notified_at   TIMESTAMP
);
-- One live registration per (event, email).
CREATE UNIQUE INDEX registrations_live ON registrations (event_id, email_norm) WHERE status <> 'cancelled';
CREATE INDEX registrations_event_status ON registrations (event_id, status, id);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    event_id        INTEGER NOT NULL REFERENCES events (id),
    registration_id INTEGER NOT NULL REFERENCES registrations (id),
    kind            TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'cancelled')),
    due_at          TIMESTAMP NOT NULL,
    offset_seconds  INTEGER NOT NULL DEFAULT 0,
    position        INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    message_id      TEXT NOT NULL UNIQUE,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP
);
CREATE INDEX messages_due ON messages (status, due_at);
CREATE INDEX messages_event ON messages (event_id, status);
CREATE INDEX messages_registration ON messages (registration_id, kind, status);

CREATE TABLE idempotency_keys (
    event_id    INTEGER NOT NULL REFERENCES events (id),
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status_code INTEGER NOT NULL,
    response    TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (event_id, key)
);

CREATE TABLE organizer_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    hash         TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);

-- +goose Down
DROP TABLE organizer_tokens;
DROP TABLE idempotency_keys;
DROP TABLE messages;
DROP TABLE registrations;
DROP TABLE events;
DROP TABLE settings;
