-- Alert history with time to resolve (NULL while still firing).
SELECT
    alert_id,
    feature,
    metric,
    max(value) AS worst_value,
    minIf(at, state = 'firing') AS fired_at,
    countIf(state = 'resolved') > 0 AS resolved,
    if(resolved, toInt64(minIf(at, state = 'resolved')) - toInt64(fired_at), NULL) AS seconds_to_resolve
FROM driftd.alerts FINAL
WHERE model = 'fraud'
GROUP BY alert_id, feature, metric
HAVING countIf(state = 'firing') > 0
ORDER BY fired_at
