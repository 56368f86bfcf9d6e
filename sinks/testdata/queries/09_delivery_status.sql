-- How each notification ended, per target (the latest record wins).
SELECT
    notification_id,
    target,
    argMax(kind, version) AS current_kind,
    argMax(state, version) AS current_state,
    argMax(attempts, version) AS current_attempts,
    argMax(last_status, version) AS current_last_status,
    argMax(alert_ids, version) AS current_alert_ids
FROM driftd.alert_deliveries
WHERE model = 'fraud'
GROUP BY notification_id, target
ORDER BY notification_id, target
