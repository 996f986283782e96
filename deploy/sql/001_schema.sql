-- gridwall schema v1: the system of record.
--
-- Areas nest by code prefix (city 4 digits, district 6, town 9, community 12,
-- grid 15), so "everything in Nanhai" is code LIKE '440605%'.

CREATE TABLE areas (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9]{4,15}$'),
    parent      text REFERENCES areas (code),
    level       text NOT NULL CHECK (level IN ('city', 'district', 'town', 'community', 'grid')),
    name        text NOT NULL
);
CREATE INDEX areas_parent ON areas (parent);

-- A household is registered (hukou) or floating (migrants, renters); tags
-- mark rentals and dormitories.
CREATE TABLE households (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    grid_code   text NOT NULL REFERENCES areas (code),
    kind        text NOT NULL DEFAULT 'registered' CHECK (kind IN ('registered', 'floating')),
    tags        text[] NOT NULL DEFAULT '{}',
    address     text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX households_grid ON households (grid_code);

-- One file per person, keyed by identity document.
CREATE TABLE persons (
    id              bigserial PRIMARY KEY,
    id_type         text NOT NULL CHECK (id_type IN ('none', 'resident_id', 'passport', 'other')),
    id_number       text,
    name            text NOT NULL,
    phone           text,
    sex             text CHECK (sex IN ('male', 'female')),
    birth_date      date,
    household_id    bigint REFERENCES households (id),
    new_resident    boolean NOT NULL DEFAULT false,   -- first seen by a screening, not in the registry
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id_type, id_number)
);
CREATE INDEX persons_household ON persons (household_id);

-- Risk areas by region-code prefix ('42' is all of Hubei, '4201' Wuhan).
CREATE TABLE risk_areas (
    id          serial PRIMARY KEY,
    region_code text NOT NULL CHECK (region_code ~ '^[0-9]{2,12}$'),
    name        text NOT NULL,
    level       text NOT NULL DEFAULT 'high' CHECK (level IN ('high', 'medium')),
    valid_from  date NOT NULL,
    valid_to    date,                       -- NULL: still a risk area
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);

-- Screening records as the field apps sent them. Only ingestd writes here,
-- and it commits one batch at a time under an advisory lock, so ids become
-- visible in increasing order: consumers can keep a simple watermark.
CREATE TABLE screenings (
    id              bigserial PRIMARY KEY,
    client_uuid     uuid NOT NULL UNIQUE,
    device_id       text,
    worker_id       text,
    team_id         text,
    channel         text NOT NULL,
    screened_at     timestamptz NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    grid_code       text NOT NULL REFERENCES areas (code),
    household_id    bigint REFERENCES households (id),
    person_id       bigint NOT NULL REFERENCES persons (id),
    temperature     numeric(3,1),           -- NULL: not measured
    symptoms        text[] NOT NULL DEFAULT '{}',
    origin_region   text,
    departed_on     date,
    arrived_on      date,
    contact         text NOT NULL DEFAULT 'none' CHECK (contact IN ('none', 'confirmed', 'suspected')),
    note            text
);
CREATE INDEX screenings_person ON screenings (person_id);
CREATE INDEX screenings_grid_day ON screenings (grid_code, screened_at);

-- What the rules concluded about a screening; written only when a rule fired.
CREATE TABLE assessments (
    screening_id    bigint PRIMARY KEY REFERENCES screenings (id),
    person_id       bigint NOT NULL REFERENCES persons (id),
    level           text NOT NULL CHECK (level IN ('normal', 'attention', 'key', 'high')),
    rule_ids        text[] NOT NULL,
    reasons         text[] NOT NULL,
    action          text,
    assessed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX assessments_person ON assessments (person_id);

-- Current risk state of each person the rules have flagged.
CREATE TABLE person_states (
    person_id       bigint PRIMARY KEY REFERENCES persons (id),
    level           text NOT NULL CHECK (level IN ('normal', 'attention', 'key', 'high')),
    since           timestamptz NOT NULL,
    last_screening  bigint NOT NULL REFERENCES screenings (id)
);

-- Alerts raised to the command office when a person's level rises.
CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    screening_id    bigint NOT NULL REFERENCES screenings (id),
    person_id       bigint NOT NULL REFERENCES persons (id),
    grid_code       text NOT NULL REFERENCES areas (code),
    level           text NOT NULL CHECK (level IN ('attention', 'key', 'high')),
    previous_level  text NOT NULL DEFAULT 'normal',
    rule_ids        text[] NOT NULL,
    reasons         text[] NOT NULL,
    action          text,
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged', 'assigned', 'resolved')),
    raised_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (screening_id)
);
CREATE INDEX alerts_grid ON alerts (grid_code text_pattern_ops);

-- How far each consumer got, written in the same transaction as its effects.
CREATE TABLE consumer_offsets (
    consumer    text PRIMARY KEY,
    last_id     bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO consumer_offsets (consumer) VALUES ('rulesd'), ('reportd');

-- Per area (every level) and per day counts, kept by reportd.
CREATE TABLE daily_aggregates (
    day             date NOT NULL,
    area_code       text NOT NULL REFERENCES areas (code),
    screened        bigint NOT NULL DEFAULT 0,
    fevers          bigint NOT NULL DEFAULT 0,
    key_persons     bigint NOT NULL DEFAULT 0,
    high_risk       bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, area_code)
);
CREATE INDEX daily_aggregates_area ON daily_aggregates (area_code text_pattern_ops, day);
