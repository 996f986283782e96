-- Screening coverage on reportd's HTTP API (GET /v1/coverage): registered
-- households and those screened lately, per area. reportd reads when each
-- household was last screened, as rulesd keeps it; it already reads the
-- households and the areas (006_office.sql).
GRANT SELECT ON household_states TO gridwall_report;
