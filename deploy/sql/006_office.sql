-- The command office on reportd's HTTP API: staff tokens scoped to an area,
-- alert actions (acknowledge, assign to a team, resolve with an outcome) and
-- their audit log.

-- A token is shown once when issued (gridctl token issue); only its hash is
-- kept. It sees and acts on the alerts of its area (a code prefix) only.
CREATE TABLE staff_tokens (
    id          bigserial PRIMARY KEY,
    token_hash  text NOT NULL UNIQUE,
    area_code   text NOT NULL REFERENCES areas (code),
    role        text NOT NULL CHECK (role IN ('staff', 'viewer')),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    revoked_at  timestamptz
);

-- How an alert was resolved.
ALTER TABLE alerts
    ADD COLUMN outcome text CHECK (outcome IN ('home_observation', 'observation_centre',
                                               'fever_clinic', 'cleared')),
    ADD COLUMN updated_at timestamptz;

-- Every change of an alert's state: who, when, from what to what.
CREATE TABLE alert_audit (
    id          bigserial PRIMARY KEY,
    alert_id    bigint NOT NULL REFERENCES alerts (id),
    action      text NOT NULL CHECK (action IN ('ack', 'assign', 'resolve')),
    from_state  text NOT NULL,
    to_state    text NOT NULL,
    team        text,
    outcome     text,
    token_id    bigint NOT NULL REFERENCES staff_tokens (id),
    actor       text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_audit_alert ON alert_audit (alert_id);

-- Issuing and revoking tokens is an administrator's job.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridwall_admin') THEN
        CREATE ROLE gridwall_admin LOGIN;
    END IF;
END
$$;
GRANT SELECT, INSERT, UPDATE ON staff_tokens TO gridwall_admin;
GRANT USAGE ON SEQUENCE staff_tokens_id_seq TO gridwall_admin;
GRANT SELECT ON areas TO gridwall_admin;

-- reportd serves the office: it reads the alerts and the persons they name
-- (never in its public output), changes alert states and writes the audit.
GRANT SELECT ON staff_tokens, alerts, persons, households TO gridwall_report;
GRANT UPDATE (state, assigned_team, outcome, updated_at) ON alerts TO gridwall_report;
GRANT SELECT, INSERT ON alert_audit TO gridwall_report;
GRANT USAGE ON SEQUENCE alert_audit_id_seq TO gridwall_report;
GRANT SELECT ON alert_audit TO gridwall_office;
