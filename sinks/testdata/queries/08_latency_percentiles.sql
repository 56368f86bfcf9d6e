-- Serving latency per model version over the last 24 hours: the worst
-- window's p99 and the median window's p50 and p95.
SELECT
    model_version,
    count() AS windows,
    sum(sample_size) AS requests,
    quantileExact(0.5)(p50_ms) AS median_p50_ms,
    quantileExact(0.5)(p95_ms) AS median_p95_ms,
    max(p99_ms) AS worst_p99_ms
FROM driftd.window_latency FINAL
WHERE model = 'fraud'
  AND window_start >= now() - INTERVAL 24 HOUR
  AND window_end = window_start + INTERVAL 1 HOUR
GROUP BY model_version
ORDER BY model_version
