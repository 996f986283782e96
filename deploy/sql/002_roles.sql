-- One role per daemon with only the grants it needs (least privilege).
-- Roles are cluster-wide, so they are created only when missing; LOGIN
-- passwords are set by the operator (docs/security.md).

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridwall_ingest') THEN
        CREATE ROLE gridwall_ingest LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridwall_rules') THEN
        CREATE ROLE gridwall_rules LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridwall_report') THEN
        CREATE ROLE gridwall_report LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gridwall_office') THEN
        CREATE ROLE gridwall_office LOGIN;
    END IF;
END
$$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM PUBLIC;

-- ingestd: reads the registry, stores screenings, creates persons and floating households.
GRANT SELECT ON areas, risk_areas TO gridwall_ingest;
GRANT SELECT, INSERT ON screenings, persons, households TO gridwall_ingest;
GRANT USAGE ON SEQUENCE screenings_id_seq, persons_id_seq, households_id_seq TO gridwall_ingest;

-- rulesd: reads screenings and the registry, writes assessments, states, alerts, its watermark.
GRANT SELECT ON areas, risk_areas, screenings, persons, households TO gridwall_rules;
GRANT SELECT, INSERT, UPDATE ON assessments, person_states, alerts TO gridwall_rules;
GRANT USAGE ON SEQUENCE alerts_id_seq TO gridwall_rules;
GRANT SELECT, UPDATE ON consumer_offsets TO gridwall_rules;

-- reportd: reads what it aggregates (no names, but it must join), writes aggregates and its watermark.
GRANT SELECT ON areas, screenings, assessments TO gridwall_report;
GRANT SELECT (consumer, last_id) ON consumer_offsets TO gridwall_report;
GRANT UPDATE ON consumer_offsets TO gridwall_report;
GRANT SELECT, INSERT, UPDATE ON daily_aggregates TO gridwall_report;

-- command office (gridctl alerts): reads alerts and the persons they name.
GRANT SELECT ON areas, alerts, persons, households TO gridwall_office;
GRANT UPDATE (state) ON alerts TO gridwall_office;
