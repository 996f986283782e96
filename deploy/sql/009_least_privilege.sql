-- Least privilege, tightened where a role could write more than its job
-- writes (tests/integration/security.sh checks every grant of every role).

-- An alert's state changes only through reportd's office API, which checks
-- the token's area and the state rules and writes the audit row in the same
-- transaction. The command office's role reads alerts (gridctl alerts) and
-- rulesd only raises them: neither may change one behind the audit's back.
REVOKE UPDATE (state) ON alerts FROM gridwall_office;
REVOKE UPDATE ON alerts FROM gridwall_rules;
-- rulesd writes an assessment once (ON CONFLICT DO NOTHING), never changes one.
REVOKE UPDATE ON assessments FROM gridwall_rules;

-- Watermarks: rulesd moves only its own, reportd only its three, and neither
-- may rename a row. Both still read every row (reportd counts only what
-- rulesd has assessed). The owner (the migrations) is not subject to this.
REVOKE UPDATE ON consumer_offsets FROM gridwall_rules, gridwall_report;
GRANT UPDATE (last_id, updated_at) ON consumer_offsets TO gridwall_rules, gridwall_report;
ALTER TABLE consumer_offsets ENABLE ROW LEVEL SECURITY;
CREATE POLICY consumer_offsets_read ON consumer_offsets FOR SELECT
    TO gridwall_rules, gridwall_report USING (true);
CREATE POLICY consumer_offsets_rulesd ON consumer_offsets FOR UPDATE
    TO gridwall_rules
    USING (consumer = 'rulesd') WITH CHECK (consumer = 'rulesd');
CREATE POLICY consumer_offsets_reportd ON consumer_offsets FOR UPDATE
    TO gridwall_report
    USING (consumer = 'reportd' OR consumer LIKE 'reportd.%')
    WITH CHECK (consumer = 'reportd' OR consumer LIKE 'reportd.%');

-- An administrator issues and revokes tokens (gridctl token): an issued
-- token's hash, area, role and name (the audit's actor) never change.
REVOKE UPDATE ON staff_tokens FROM gridwall_admin;
GRANT UPDATE (revoked_at) ON staff_tokens TO gridwall_admin;
