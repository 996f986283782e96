-- The aggregate figures city bodies read (docs/aggregates.md): per area and
-- local day, what happened that day (screenings, persons and households
-- screened, fevers, new alerts, releases) and the change that day of what
-- stands at a day's end (households registered, households screened within
-- the coverage window, key persons under observation, high-risk alerts
-- still open). A level at a day's end is the sum of its changes up to that
-- day, so a record counted late changes its own day's row only.
--
-- reportd recounts everything from the tables after this migration: its
-- watermarks start at 0.

ALTER TABLE daily_aggregates RENAME COLUMN screened TO screenings;
ALTER TABLE daily_aggregates
    DROP COLUMN key_persons,
    DROP COLUMN high_risk,
    ADD COLUMN persons_screened     bigint NOT NULL DEFAULT 0,
    ADD COLUMN households_screened  bigint NOT NULL DEFAULT 0,
    ADD COLUMN new_alerts           bigint NOT NULL DEFAULT 0,
    ADD COLUMN released             bigint NOT NULL DEFAULT 0,
    ADD COLUMN registered_change    bigint NOT NULL DEFAULT 0,
    ADD COLUMN covered_change       bigint NOT NULL DEFAULT 0,
    ADD COLUMN observed_change      bigint NOT NULL DEFAULT 0,
    ADD COLUMN high_open_change     bigint NOT NULL DEFAULT 0;
TRUNCATE daily_aggregates;

-- The observation an alert was raised under (rulesd writes it): a person is
-- a key person under observation from an alert whose observation runs past
-- its raising until the next alert that is not.
ALTER TABLE alerts ADD COLUMN observe_until timestamptz;

-- Whether a household was screened already on a day, and on which days
-- near a new screening (its coverage window), reportd asks the screenings.
CREATE INDEX screenings_household ON screenings (household_id) WHERE household_id IS NOT NULL;

-- Three watermarks: screenings (after rulesd assessed them), alerts, and
-- households (registrations).
UPDATE consumer_offsets SET last_id = 0, updated_at = now() WHERE consumer = 'reportd';
INSERT INTO consumer_offsets (consumer) VALUES ('reportd.alerts'), ('reportd.households')
ON CONFLICT (consumer) DO NOTHING;

-- A rebuild (gridctl report rebuild, run as gridwall_report) replaces a
-- day's rows; reportd reads the alerts' audit for resolutions.
GRANT DELETE ON daily_aggregates TO gridwall_report;
GRANT SELECT ON alert_audit TO gridwall_report;

-- The local day and the coverage window reportd counts with (its keys
-- day_utc_offset_min and coverage_days; it writes them here when it starts),
-- so that a rebuild counts the same way.
CREATE TABLE report_settings (
    only_row            boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    day_utc_offset_min  integer NOT NULL DEFAULT 480,
    coverage_days       integer NOT NULL DEFAULT 3 CHECK (coverage_days BETWEEN 1 AND 365)
);
INSERT INTO report_settings DEFAULT VALUES;
GRANT SELECT, UPDATE ON report_settings TO gridwall_report;
