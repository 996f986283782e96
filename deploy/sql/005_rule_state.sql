-- rulesd's state of each person and household, and the lifecycle alerts.
--
-- rulesd keeps these in memory and writes a change in the same transaction
-- as the assessments, alerts and watermark of the batch that caused it; on
-- start it reads them back.

-- Why a person is at their level (the rule, and the action it asks for),
-- their observation period, when a follow-up screening is due (and at what
-- pace), and their recent fevers.
ALTER TABLE person_states
    ADD COLUMN household_id      bigint REFERENCES households (id),
    ADD COLUMN grid_code         text REFERENCES areas (code),
    ADD COLUMN rule_id           text,
    ADD COLUMN action            text,
    ADD COLUMN observe_from      timestamptz,
    ADD COLUMN observe_until     timestamptz,
    ADD COLUMN follow_up_due     timestamptz,
    ADD COLUMN follow_up_hours   integer NOT NULL DEFAULT 0,
    ADD COLUMN overdue_alerted   boolean NOT NULL DEFAULT false,
    ADD COLUMN last_screened_at  timestamptz,
    ADD COLUMN fevers            timestamptz[] NOT NULL DEFAULT '{}',
    ADD COLUMN released_at       timestamptz;
CREATE INDEX person_states_household ON person_states (household_id);

-- When each household was last screened, for "no household missed".
CREATE TABLE household_states (
    household_id      bigint PRIMARY KEY REFERENCES households (id),
    last_screened_at  timestamptz,
    gap_alerted_at    timestamptz
);
INSERT INTO household_states (household_id, last_screened_at)
SELECT household_id, max(screened_at) FROM screenings
WHERE household_id IS NOT NULL GROUP BY household_id;

-- Alerts are of four kinds. A risk alert comes from a screening; the
-- others come from rulesd's clock: an observation that ended (released), a
-- follow-up screening not done in time, a household not screened for days.
ALTER TABLE alerts
    ADD COLUMN kind          text NOT NULL DEFAULT 'risk'
        CHECK (kind IN ('risk', 'released', 'follow_up_overdue', 'coverage_gap')),
    ADD COLUMN household_id  bigint REFERENCES households (id),
    ADD COLUMN assigned_team text,
    ALTER COLUMN screening_id DROP NOT NULL,
    ALTER COLUMN person_id DROP NOT NULL,
    DROP CONSTRAINT alerts_level_check,
    ADD CONSTRAINT alerts_level_check CHECK (level IN ('normal', 'attention', 'key', 'high'));
CREATE INDEX alerts_person ON alerts (person_id);

-- Teams assigned to grids: the daily follow-up list is split by team.
CREATE TABLE team_grids (
    team_id    text NOT NULL,
    grid_code  text NOT NULL REFERENCES areas (code),
    PRIMARY KEY (team_id, grid_code)
);
CREATE INDEX team_grids_grid ON team_grids (grid_code);

GRANT SELECT, INSERT, UPDATE ON household_states TO gridwall_rules;
GRANT SELECT ON team_grids TO gridwall_rules, gridwall_office;
GRANT SELECT ON person_states TO gridwall_office;

-- The rules rulesd runs: the text of every set it loaded (at start and on
-- each reload), so that a replay compares a candidate with the live rules.
CREATE TABLE rule_sets (
    id         bigserial PRIMARY KEY,
    loaded_at  timestamptz NOT NULL DEFAULT now(),
    path       text NOT NULL,
    rules      integer NOT NULL,
    source     text NOT NULL
);
GRANT SELECT, INSERT ON rule_sets TO gridwall_rules;
GRANT USAGE ON SEQUENCE rule_sets_id_seq TO gridwall_rules;
GRANT SELECT ON rule_sets TO gridwall_office;

-- What-if replays (gridctl rules replay) read every screening, which the
-- command office may not: they connect as this role, for analysts.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridwall_analyst') THEN
        CREATE ROLE gridwall_analyst LOGIN;
    END IF;
END
$$;
GRANT SELECT ON areas, risk_areas, screenings, persons, households, rule_sets TO gridwall_analyst;
