-- Which features drifted most for model fraud in the last 24 hours.
SELECT
    feature,
    max(value) AS max_psi,
    avg(value) AS avg_psi,
    countIf(drifted = 1) AS drifted_windows
FROM driftd.window_metrics FINAL
WHERE model = 'fraud'
  AND metric = 'psi'
  AND window_start >= now() - INTERVAL 24 HOUR
  AND window_end = window_start + INTERVAL 1 HOUR
GROUP BY feature
ORDER BY max_psi DESC
LIMIT 10
