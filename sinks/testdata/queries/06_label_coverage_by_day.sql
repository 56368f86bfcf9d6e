-- Label coverage by day: labelled predictions / predictions, summed over
-- the hourly windows only (a rolling view would count them again).
SELECT
    toDate(window_start) AS day,
    model,
    model_version,
    sum(events) AS predictions,
    sum(support) AS labelled,
    sum(support) / sum(events) AS coverage
FROM driftd.window_performance FINAL
WHERE class = ''
  AND window_end = window_start + INTERVAL 1 HOUR
GROUP BY day, model, model_version
ORDER BY day, model, model_version
