-- Label coverage by day: labelled predictions / predictions.
SELECT
    toDate(window_start) AS day,
    model,
    model_version,
    sum(events) AS predictions,
    sum(support) AS labelled,
    sum(support) / sum(events) AS coverage
FROM driftd.window_performance FINAL
WHERE class = ''
GROUP BY day, model, model_version
ORDER BY day, model, model_version
