-- Person and household matching at intake (one file per person).
--
-- A household code is scoped by its grid: a record's household must be in
-- the record's grid, or it is created there as a floating household.
ALTER TABLE households DROP CONSTRAINT households_code_key;
ALTER TABLE households ADD CONSTRAINT households_grid_code_key UNIQUE (grid_code, code);

-- A screening whose name or birth date disagrees with the registry for the
-- same document is stored, and listed here for a person to review.
CREATE TABLE person_reviews (
    id              bigserial PRIMARY KEY,
    screening_id    bigint NOT NULL REFERENCES screenings (id),
    person_id       bigint NOT NULL REFERENCES persons (id),
    field           text NOT NULL CHECK (field IN ('name', 'birth_date')),
    registry_value  text,
    record_value    text,
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'confirmed', 'corrected')),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX person_reviews_person ON person_reviews (person_id);

-- A person created without an identity document (a child, a visitor) who may
-- be someone already on file: same name, and the same phone or household.
-- Recorded for a later merge, never merged automatically.
CREATE TABLE person_duplicates (
    person_id       bigint NOT NULL REFERENCES persons (id),
    candidate_id    bigint NOT NULL REFERENCES persons (id),
    reason          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (person_id, candidate_id)
);

-- Matching persons without a document by name.
CREATE INDEX persons_name ON persons (name);

GRANT SELECT, INSERT ON person_reviews, person_duplicates TO gridwall_ingest;
GRANT USAGE ON SEQUENCE person_reviews_id_seq TO gridwall_ingest;
GRANT SELECT ON person_reviews, person_duplicates TO gridwall_office;
