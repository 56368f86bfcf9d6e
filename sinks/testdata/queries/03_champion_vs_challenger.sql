-- Champion (v3) and challenger (v4) side by side, for the windows where
-- both served traffic.
SELECT
    window_start,
    maxIf(f1, model_version = 'v3') AS champion_f1,
    maxIf(f1, model_version = 'v4') AS challenger_f1,
    maxIf(label_coverage, model_version = 'v3') AS champion_coverage,
    maxIf(label_coverage, model_version = 'v4') AS challenger_coverage
FROM driftd.window_performance FINAL
WHERE model = 'fraud'
  AND class = ''
  AND window_end = window_start + INTERVAL 1 HOUR
  AND model_version IN ('v3', 'v4')
GROUP BY window_start
HAVING countIf(model_version = 'v3') > 0 AND countIf(model_version = 'v4') > 0
ORDER BY window_start
