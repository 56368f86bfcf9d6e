-- F1 trend per model version, one point per window, latest revision
-- (argMax instead of FINAL: same answer, no merge at read time).
SELECT
    model_version,
    window_start,
    argMax(f1, revision) AS latest_f1,
    argMax(support, revision) AS latest_support
FROM driftd.window_performance
WHERE model = 'fraud'
  AND class = ''
  AND window_start >= now() - INTERVAL 7 DAY
  AND window_end = window_start + INTERVAL 1 HOUR
GROUP BY model_version, window_start
ORDER BY model_version, window_start
