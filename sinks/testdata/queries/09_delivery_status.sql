-- Where each notification stands: the latest delivery record per target.
SELECT
    notification_id,
    target,
    argMax(kind, version) AS kind,
    argMax(state, version) AS state,
    argMax(attempts, version) AS attempts,
    argMax(last_status, version) AS last_status,
    argMax(alert_ids, version) AS alert_ids
FROM driftd.alert_deliveries
WHERE model = 'fraud'
GROUP BY notification_id, target
ORDER BY notification_id, target
