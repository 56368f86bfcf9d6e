-- Data quality per feature over the last 24 hours: worst missing and
-- out-of-baseline-range rates, and every category the baseline never saw.
SELECT
    feature,
    max(missing_rate) AS worst_missing_rate,
    max(out_of_range_rate) AS worst_out_of_range_rate,
    arraySort(groupUniqArrayArray(new_categories)) AS unseen_categories
FROM driftd.data_quality FINAL
WHERE model = 'fraud'
  AND model_version = 'v3'
  AND window_start >= now() - INTERVAL 24 HOUR
  AND window_end = window_start + INTERVAL 1 HOUR
GROUP BY feature
ORDER BY feature
