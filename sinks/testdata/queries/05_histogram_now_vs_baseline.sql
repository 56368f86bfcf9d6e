-- Distribution of feature amount over the last 24 hours (histograms of the
-- hourly windows summed bin by bin) against the baseline, as shares per bin.
SELECT
    bin,
    if(bin = 1, -inf, edges[bin - 1]) AS lower_edge,
    if(bin > length(edges), inf, edges[bin]) AS upper_edge,
    baseline / arraySum(base_counts) AS baseline_share,
    current / arraySum(cur_counts) AS current_share
FROM
(
    SELECT
        edges,
        any(baseline_counts) AS base_counts,
        sumForEach(current_counts) AS cur_counts
    FROM driftd.feature_histograms FINAL
    WHERE model = 'fraud'
      AND model_version = 'v3'
      AND feature = 'amount'
      AND window_start >= now() - INTERVAL 24 HOUR
      AND window_end = window_start + INTERVAL 1 HOUR
    GROUP BY edges
)
ARRAY JOIN
    arrayEnumerate(cur_counts) AS bin,
    base_counts AS baseline,
    cur_counts AS current
ORDER BY bin
